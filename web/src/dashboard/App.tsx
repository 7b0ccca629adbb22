import { useEffect } from "react";
import { useQuery } from "urql";

import { ViewerQuery } from "./operations";
import { AppReleases } from "./pages/AppReleases";
import { CliLogin } from "./pages/CliLogin";
import { PipelineList } from "./pages/PipelineList";
import { PipelinePage } from "./pages/PipelinePage";
import { rememberReturn, takeReturn } from "./returnTo";
import { Link, navigate, useLocation } from "./router";

async function signOut() {
  // JSON, like every cookie-authenticated POST: the server refuses a cross-site form's.
  await fetch("/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  window.location.assign("/");
}

function SignIn() {
  useEffect(() => rememberReturn(window.location.pathname + window.location.search), []);
  return (
    <main className="page narrow">
      <h1>Sign in to pipegraph</h1>
      <p>
        Open the <strong>dashboard</strong> link that <code>pipegraph dev</code> printed in its terminal. It works once
        and signs this browser in; restart <code>pipegraph dev</code> for a new one.
      </p>
      {window.location.pathname.startsWith("/cli-login/") && (
        <p>
          <code>pipegraph login</code> sent you here: sign in first, and this browser brings you back to its request.
        </p>
      )}
      <p>
        Programs keep using API tokens (<code>pipegraph tokens create</code>) in an <code>Authorization</code> header.
      </p>
    </main>
  );
}

function Routes({ location }: { location: URL }) {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "pipelines" && parts[1]) return <PipelinePage name={parts[1]} tab={parts[2] ?? "overview"} detail={parts[3]} />;
  if (parts[0] === "apps" && parts[1]) return <AppReleases name={parts[1]} />;
  if (parts[0] === "cli-login" && parts[1]) return <CliLogin code={parts[1]} />;
  if (parts.length) {
    return (
      <main className="page">
        <h1>Not found</h1>
        <p>
          Nothing lives at <code>{location.pathname}</code>. <Link to="/">Back to your pipelines</Link>.
        </p>
      </main>
    );
  }
  return <PipelineList />;
}

export function App() {
  const location = useLocation();
  const [{ data, error, fetching }] = useQuery({ query: ViewerQuery });
  const signedIn = Boolean(data);
  useEffect(() => {
    if (!signedIn) return;
    // Signed in: back to where the sign-in page was shown, when the sign-in link landed here (at "/").
    const back = takeReturn();
    if (back && window.location.pathname === "/") navigate(back, { replace: true });
  }, [signedIn]);
  if (fetching && !data) return <p className="page">Loading…</p>;
  const unauthenticated = error?.response?.status === 401 || error?.graphQLErrors.some(
    (e) => e.extensions?.code === "UNAUTHENTICATED",
  );
  if (unauthenticated) return <SignIn />;
  if (error || !data) return <p role="alert" className="page refusal">{error?.message ?? "No answer"}</p>;
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          pipegraph
        </Link>
        <nav aria-label="Account">
          <span className="who">{data.viewer.email}</span>
          <a href="/graphql">GraphiQL</a>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </nav>
      </header>
      <div id="main">
        <Routes location={location} />
      </div>
    </>
  );
}

export { navigate };
