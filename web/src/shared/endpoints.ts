/** The API lives on the page's own origin: same host, same port, no configuration. */
export function graphqlHttpUrl(): string {
  return new URL("/graphql", window.location.href).toString();
}

export function graphqlWsUrl(): string {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
