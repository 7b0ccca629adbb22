/**
 * Where a signed-out visitor was going (a `pipegraph login` link, a pipeline's page), kept in this browser until
 * signing in brings them back. localStorage, not the tab's sessionStorage: the sign-in link is opened from a terminal,
 * often in another tab. Only a path of this dashboard is kept or followed, never another origin: no open redirect.
 */
const KEY = "pipegraph.returnTo";
const KEPT_MS = 10 * 60 * 1000; // as long as a CLI login waits to be answered

/** `path` when it is a path of this origin: one leading slash, no second one (`//host` is another origin), no
 * backslash (browsers read it as a slash), no whitespace; else null. */
export function samePath(path: string): string | null {
  if (!/^\/(?![/\\])[^\\\s]*$/.test(path)) return null;
  const url = new URL(path, window.location.origin);
  return url.origin === window.location.origin ? url.pathname + url.search : null;
}

export function rememberReturn(path: string): void {
  const safe = samePath(path);
  if (safe === null || safe === "/") return;
  try {
    localStorage.setItem(KEY, JSON.stringify({ path: safe, until: Date.now() + KEPT_MS }));
  } catch {
    // Storage refused (a private window's quota): the visitor opens the link again, as before.
  }
}

/** The path to go back to, once: it is forgotten as it is read. */
export function takeReturn(): string | null {
  let stored: string | null;
  try {
    stored = localStorage.getItem(KEY);
    localStorage.removeItem(KEY);
  } catch {
    return null;
  }
  if (!stored) return null;
  try {
    const { path, until } = JSON.parse(stored) as { path?: unknown; until?: unknown };
    if (typeof path !== "string" || typeof until !== "number" || until < Date.now()) return null;
    return samePath(path);
  } catch {
    return null;
  }
}
