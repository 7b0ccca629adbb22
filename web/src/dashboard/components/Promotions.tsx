import { useEffect, useRef, useState } from "react";
import { useQuery, useSubscription } from "urql";

import type { PipelinePromotionsQuery as PromotionsData, PromotionProgressSubscription as Progress } from "../../gql/graphql";
import { ago, exact, titleCase } from "../format";
import {
  PipelineEventsSubscription,
  PipelinePromotionsQuery,
  PromotionProgressSubscription,
  ReleaseLogSubscription,
} from "../operations";

export type PromotionRow = NonNullable<PromotionsData["pipeline"]>["promotions"]["edges"][number]["node"];
type Event = Progress["promotionProgress"];

// `pipelineEvents` tells an open page of each promotion that starts or completes, wherever it was started; the page
// then reads the list again and follows each new one with `promotionProgress`. News can be lost while Redis is away,
// so the list is also read again this often.
export const POLL_MS = 15_000;

/** The pipeline's recent promotions, read again on each of the pipeline's events (and now and then). */
export function usePromotions(name: string) {
  const [result, refetch] = useQuery({ query: PipelinePromotionsQuery, variables: { name } });
  const [events] = useSubscription(
    { query: PipelineEventsSubscription, variables: { pipeline: name } },
    (count: number = 0) => count + 1,
  );
  useEffect(() => {
    if (events.data) refetch({ requestPolicy: "network-only" });
  }, [events.data, refetch]);
  useEffect(() => {
    const timer = window.setInterval(() => refetch({ requestPolicy: "network-only" }), POLL_MS);
    return () => window.clearInterval(timer);
  }, [refetch]);
  const rows = result.data?.pipeline?.promotions.edges.map((edge) => edge.node) ?? [];
  return { rows, loaded: result.data !== undefined, error: result.error, refetch };
}

function ReleaseLog({ releaseId }: { releaseId: string }) {
  const [{ data }] = useSubscription(
    { query: ReleaseLogSubscription, variables: { id: releaseId } },
    (lines: { number: number; text: string }[] = [], event) =>
      lines.some((line) => line.number === event.releaseLog.number) ? lines : [...lines, event.releaseLog],
  );
  if (!data?.length) return null;
  return (
    <pre className="log" role="log" aria-label="Release phase output">
      {data.map((line) => line.text).join("\n")}
    </pre>
  );
}

function merge(targets: Record<string, Event> = {}, event: { promotionProgress: Event }): Record<string, Event> {
  const incoming = event.promotionProgress;
  const known = targets[incoming.target.id];
  if (known && known.sequence >= incoming.sequence) return targets;
  return { ...targets, [incoming.target.id]: incoming };
}

/** One promotion, target by target, live; a reload subscribes again and gets the same state first. */
export function PromotionPanel({ id, row, onDone }: { id: string; row?: PromotionRow; onDone: () => void }) {
  const [{ data, error }] = useSubscription({ query: PromotionProgressSubscription, variables: { id } }, merge);
  const targets = Object.values(data ?? {}).sort((a, b) => a.target.app.name.localeCompare(b.target.app.name));
  const finished = targets.length > 0 && targets.every((target) => target.status === "SUCCEEDED" || target.status === "FAILED");
  const reported = useRef(false);
  useEffect(() => {
    if (finished && !reported.current) {
      reported.current = true;
      onDone();
    }
  }, [finished, onDone]);
  const title = row?.source
    ? `Promotion of ${row.source.name}${row.sourceRelease ? ` v${row.sourceRelease.version}` : ""}`
    : "Promotion";
  return (
    <section className="panel promotion" aria-label={title} data-promotion={id} aria-live="polite">
      <h3>
        {title}
        {row && (
          <span className="muted">
            {" "}
            · <time dateTime={row.createdAt} title={exact(row.createdAt)}>{ago(row.createdAt)}</time>
            {row.createdBy ? ` by ${row.createdBy.email}` : ""}
          </span>
        )}
        <span className={`status status-${finished ? "completed" : "pending"}`}>{finished ? "Completed" : "In progress"}</span>
      </h3>
      {error && <p role="alert" className="refusal">{error.message}</p>}
      <ul className="targets">
        {targets.map((target) => (
          <li key={target.target.id} data-target={target.target.app.name} data-status={target.status}>
            <strong>{target.target.app.name}</strong>{" "}
            <span className={`status status-${target.status.toLowerCase()}`}>{target.status}</span>{" "}
            <span className="muted">{titleCase(target.step.replace(/_/g, " "))}</span>
            {target.release && <span className="muted"> · v{target.release.version}</span>}
            {target.errorMessage && (
              <p className="refusal" role="alert">
                {target.errorMessage}
              </p>
            )}
            {target.release && target.step !== "QUEUED" && <ReleaseLog releaseId={target.release.id} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Promotions to follow on this page: the one started here (in the address, so a reload keeps it), those the first
 * poll found unfinished, and every one the poll finds later, wherever it was started and however fast it ended.
 * Once shown, a promotion stays until the page is left. */
export function ActivePromotions({
  rows,
  loaded,
  startedId,
  onDone,
}: {
  rows: PromotionRow[];
  loaded: boolean;
  startedId: string | null;
  onDone: () => void;
}) {
  const [followed, setFollowed] = useState<string[]>([]);
  const [known, setKnown] = useState<Set<string> | null>(null);
  // Remembered during render (React's pattern for state derived from props), not in an effect.
  if (loaded && known === null) setKnown(new Set(rows.filter((row) => row.status !== "PENDING").map((row) => row.id)));
  const fresh = known ? rows.filter((row) => !known.has(row.id)).map((row) => row.id) : [];
  const wanted = [...(startedId ? [startedId] : []), ...fresh];
  const missing = wanted.filter((id) => !followed.includes(id));
  if (missing.length) setFollowed([...new Set([...missing, ...followed])]);
  const shown = [...new Set([...missing, ...followed])];
  const last = rows[0];
  return (
    <div className="promotions">
      {loaded && (
        <p className="muted last-promotion">
          {last ? (
            <>
              Last promotion: {last.source?.name ?? "an app"}
              {last.sourceRelease ? ` v${last.sourceRelease.version}` : ""} to {last.targets.length} app
              {last.targets.length === 1 ? "" : "s"},{" "}
              <time dateTime={last.createdAt} title={exact(last.createdAt)}>
                {ago(last.createdAt)}
              </time>
            </>
          ) : (
            "No promotion yet."
          )}
        </p>
      )}
      {shown.map((id) => (
        <PromotionPanel key={id} id={id} row={rows.find((row) => row.id === id)} onDone={onDone} />
      ))}
    </div>
  );
}
