import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient } from "graphql-ws";

import { graphqlHttpUrl, graphqlWsUrl } from "../shared/endpoints";

/** One client for the page. The session cookie authenticates both transports: the browser sends it with same-origin
 * POSTs and with the WebSocket's upgrade request, and the server checks that socket's Origin. */
export function makeClient(): Client {
  const ws = createWsClient({ url: graphqlWsUrl(), lazy: true, retryAttempts: 5 });
  return new Client({
    url: graphqlHttpUrl(),
    // Only POST: the API runs nothing over GET (so a link can never act for a signed-in user).
    preferGetMethod: false,
    fetchOptions: { credentials: "same-origin" },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
