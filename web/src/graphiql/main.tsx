import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";

import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { graphqlHttpUrl, graphqlWsUrl } from "../shared/endpoints";

// Same origin as the page: a signed-in browser's session cookie goes along by itself; a program's token goes in the
// Headers tab as {"Authorization": "Bearer pgt_…"}, and the fetcher sends those headers both with each POST and in
// the WebSocket's connection_init (graphql-ws), where pipegraph reads it for subscriptions.
const fetcher = createGraphiQLFetcher({ url: graphqlHttpUrl(), subscriptionUrl: graphqlWsUrl() });
const plugins = [explorerPlugin()];

const DEFAULT_QUERY = `# Welcome to pipegraph's GraphiQL.
# Signed in to the dashboard, requests carry your session; otherwise put
# {"Authorization": "Bearer pgt_…"} in the Headers tab below.
query Viewer {
  viewer {
    email
  }
  pipelines(first: 10) {
    edges { node { name stages { name apps { name } } } }
  }
}
`;

const container = document.getElementById("graphiql");
if (container) {
  createRoot(container).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} plugins={plugins} defaultQuery={DEFAULT_QUERY} defaultEditorToolsVisibility="headers" />
    </StrictMode>,
  );
}
