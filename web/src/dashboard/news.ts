import { useEffect } from "react";
import { useSubscription, type AnyVariables, type TypedDocumentNode } from "urql";

/** Calls `refetch` on each event of a `pipelineEvents` subscription: the page reads what changed again (events say
 * that something changed, the query says how it stands). */
export function useRefetchOnNews<Data, Variables extends AnyVariables>(
  query: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  refetch: () => void,
): void {
  const [events] = useSubscription<Data, number, Variables>({ query, variables }, (count: number = 0) => count + 1);
  useEffect(() => {
    if (events.data) refetch();
  }, [events.data, refetch]);
}
