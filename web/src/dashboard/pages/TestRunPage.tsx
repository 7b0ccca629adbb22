import { useCallback, useEffect, useRef } from "react";
import { useQuery, useSubscription } from "urql";

import { mayCancelTestRun } from "../access";
import { useAction } from "../actions";
import { duration, finished, mark, testsPath, useTestRunNews } from "../ci";
import { Refusal } from "../components/Refusal";
import { ago, exact } from "../format";
import { CancelTestRunMutation } from "../mutations";
import { PipelineTestRunQuery, TestRunLogSubscription } from "../operations";
import { Link } from "../router";

type Line = { number: number; text: string };

/** The run's output: what it printed so far, then each line as it is printed, until it ends (`testRunLog`). */
function Output({ runId }: { runId: string }) {
  const [{ data, error }] = useSubscription(
    { query: TestRunLogSubscription, variables: { id: runId } },
    // A reconnection starts again from line 1: keep each line once.
    (lines: Line[] = [], event) =>
      lines.some((line) => line.number === event.testRunLog.number) ? lines : [...lines, event.testRunLog],
  );
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    // Follow the end of the output, as a terminal does.
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [data]);
  return (
    <>
      {error && <p role="alert" className="refusal">{error.message}</p>}
      <pre className="log test-output" role="log" aria-label="Test output" ref={box} tabIndex={0}>
        {data?.length ? data.map((line) => line.text).join("\n") : "Waiting for output…"}
      </pre>
    </>
  );
}

function Cancel({ runId, onDone }: { runId: string; onDone: () => void }) {
  const cancel = useAction(CancelTestRunMutation);
  return (
    <div className="inline-form">
      <button
        type="button"
        className="danger"
        disabled={cancel.busy}
        onClick={() => void cancel.run({ input: { id: runId } }).then((done) => done && onDone())}
      >
        Cancel test run
      </button>
      <Refusal message={cancel.message} />
    </div>
  );
}

/** One test run: its facts and its output, live (its status follows the pipeline's test-run news); Cancel where the
 * viewer may (pipeline admins, and those the access tab lets cancel runs). */
export function TestRunPage({ pipeline: name, number }: { pipeline: string; number: number }) {
  const [{ data, error }, refetchQuery] = useQuery({ query: PipelineTestRunQuery, variables: { name, number } });
  const refetch = useCallback(() => refetchQuery({ requestPolicy: "network-only" }), [refetchQuery]);
  useTestRunNews(name, refetch);
  if (error) return <p role="alert" className="refusal">{error.message}</p>;
  if (!data?.pipeline) return <p>Loading…</p>;
  const run = data.pipeline.testRun;
  const back = <Link to={testsPath(name)}>All test runs</Link>;
  if (!run) {
    return (
      <p>
        There is no test run #{number} in {name}. {back}
      </p>
    );
  }
  const node = run.nodes[0];
  const mayCancel = mayCancelTestRun(data.pipeline) && !finished(run.status);
  return (
    <section aria-labelledby="run-title" className="test-run" data-run={run.number} data-status={run.status}>
      <p className="muted">{back}</p>
      <h2 id="run-title">
        Test run #{run.number} <span aria-hidden="true">{mark(run.status)}</span>
        <span className={`status status-${run.status.toLowerCase()}`} aria-live="polite">
          {run.status}
        </span>
      </h2>
      <dl className="release facts">
        <dt>Branch</dt>
        <dd>{run.commitBranch}</dd>
        <dt>Commit</dt>
        <dd>
          <code>{run.commitSha}</code> {run.commitMessage}
        </dd>
        <dt>Started by</dt>
        <dd>{run.actor?.email ?? "—"}</dd>
        <dt>Asked for</dt>
        <dd>
          <time dateTime={run.createdAt} title={exact(run.createdAt)}>
            {ago(run.createdAt)}
          </time>
        </dd>
        {run.startedAt && (
          <>
            <dt>{run.finishedAt ? "Took" : "Running for"}</dt>
            <dd>{duration(run.startedAt, run.finishedAt)}</dd>
          </>
        )}
        {node?.exitCode !== null && node?.exitCode !== undefined && (
          <>
            <dt>Exit code</dt>
            <dd>{node.exitCode}</dd>
          </>
        )}
      </dl>
      {run.message && (
        <p className={run.status === "SUCCEEDED" ? "muted" : "refusal"} role={finished(run.status) ? "status" : undefined}>
          {run.message}
        </p>
      )}
      {mayCancel && <Cancel runId={run.id} onDone={refetch} />}
      <h3>Output</h3>
      <Output runId={run.id} />
    </section>
  );
}
