import { useState } from "react";
import { useMutation, type AnyVariables, type TypedDocumentNode } from "urql";

type Payload = { userErrors?: { message: string }[] | null } | null | undefined;

/** A mutation whose refusals (userErrors, or a transport error) become a message to show as the API wrote it. */
export function useAction<Data extends Record<string, unknown>, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
) {
  const [state, execute] = useMutation<Data, Variables>(document);
  const [message, setMessage] = useState<string | null>(null);
  async function run(variables: Variables): Promise<Data | null> {
    setMessage(null);
    const result = await execute(variables);
    if (result.error) {
      setMessage(result.error.graphQLErrors[0]?.message ?? result.error.message);
      return null;
    }
    const payload = Object.values(result.data ?? {})[0] as Payload;
    const refusals = payload?.userErrors ?? [];
    if (refusals.length) {
      setMessage(refusals.map((refusal) => refusal.message).join("; "));
      return null;
    }
    return result.data ?? null;
  }
  return { run, message, busy: state.fetching, clear: () => setMessage(null) };
}
