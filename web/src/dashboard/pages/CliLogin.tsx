import { useEffect, useState } from "react";

import { ago, exact } from "../format";

type Request = { host: string; createdAt: string; expiresAt: string; email: string };
type State =
  | { kind: "loading" }
  | { kind: "asking"; request: Request }
  | { kind: "refused"; message: string }
  | { kind: "answered"; confirmed: boolean };

/** A JSON POST with the session cookie, as /logout: the server answers only pages of its own origin. */
async function post(path: string, code: string): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ code }),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { ok: response.ok, body };
}

function reason(body: Record<string, unknown>): string {
  const error = body.error as { message?: string } | undefined;
  return error?.message ?? "The server did not answer.";
}

/** `pipegraph login`'s page: names the CLI's request and lets the signed-in user log it in, or refuse it. */
export function CliLogin({ code }: { code: string }) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void post("/cli-logins/show", code).then(({ ok, body }) =>
      setState(ok ? { kind: "asking", request: body as unknown as Request } : { kind: "refused", message: reason(body) }),
    );
  }, [code]);

  async function answer(confirm: boolean) {
    setBusy(true);
    const { ok, body } = await post(confirm ? "/cli-logins/confirm" : "/cli-logins/refuse", code);
    setBusy(false);
    setState(ok ? { kind: "answered", confirmed: confirm } : { kind: "refused", message: reason(body) });
  }

  if (state.kind === "loading") return <p className="page">Loading…</p>;
  if (state.kind === "refused") {
    return (
      <main className="page narrow">
        <h1>This login request cannot be answered</h1>
        <p role="alert" className="refusal">
          {state.message}
        </p>
      </main>
    );
  }
  if (state.kind === "answered") {
    return (
      <main className="page narrow">
        <h1>{state.confirmed ? "The CLI is logged in" : "Login refused"}</h1>
        <p>
          {state.confirmed
            ? "Go back to your terminal: pipegraph login is done there. You may close this tab."
            : "The CLI was told no, and got no token. You may close this tab."}
        </p>
      </main>
    );
  }
  const { request } = state;
  return (
    <main className="page narrow">
      <h1>Log in the pipegraph CLI?</h1>
      <p>
        A <code>pipegraph login</code> on <strong>{request.host || "an unnamed host"}</strong> asked{" "}
        <time dateTime={request.createdAt} title={exact(request.createdAt)}>
          {ago(request.createdAt)}
        </time>{" "}
        to log in as <strong>{request.email}</strong>. It gets an API token of yours, listed as “CLI login on{" "}
        {request.host}”, which you can revoke at any time.
      </p>
      <p className="muted">Confirm only if you started it yourself, just now: anyone with this link could have.</p>
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => void answer(true)}>
          Log in
        </button>
        <button type="button" disabled={busy} onClick={() => void answer(false)}>
          Refuse
        </button>
      </div>
    </main>
  );
}
