import { useCallback, useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { mayEnableCi, mayStartTestRun } from "../access";
import { useAction } from "../actions";
import { duration, mark, testsPath, useTestRunNews } from "../ci";
import { Refusal } from "../components/Refusal";
import { ago, exact, shortCommit } from "../format";
import { CreateTestRunMutation, EnableCiMutation } from "../mutations";
import { PipelineTestRunsQuery } from "../operations";
import { Link, navigate } from "../router";

/** "Start a test run": a branch's tip or a commit pushed to one of the pipeline's apps (or on its repository). */
function StartRun({ pipeline }: { pipeline: string }) {
  const [kind, setKind] = useState<"branch" | "commit">("branch");
  const [value, setValue] = useState("main");
  const start = useAction(CreateTestRunMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const input = kind === "branch" ? { pipeline, branch: value.trim() } : { pipeline, commit: value.trim() };
    const done = await start.run({ input });
    const run = done?.createTestRun.testRun;
    if (run) navigate(testsPath(pipeline, run.number));
  }
  return (
    <form onSubmit={(event) => void submit(event)} className="inline-form" aria-label="Start a test run">
      <label>
        Test a
        <select
          aria-label="What to test"
          value={kind}
          onChange={(event) => {
            setKind(event.target.value as "branch" | "commit");
            setValue("");
          }}
        >
          <option value="branch">branch</option>
          <option value="commit">commit</option>
        </select>
      </label>
      <label>
        {kind === "branch" ? "Branch" : "Commit"}
        <input
          value={value}
          onChange={(event) => setValue(event.target.value)}
          required
          autoComplete="off"
          placeholder={kind === "branch" ? "main" : "1a2b3c4"}
        />
      </label>
      <button type="submit" className="primary" disabled={start.busy || !value.trim()}>
        Start test run
      </button>
      <Refusal message={start.message} />
    </form>
  );
}

function EnableCi({ pipeline, onDone }: { pipeline: string; onDone: () => void }) {
  const enable = useAction(EnableCiMutation);
  return (
    <>
      <button
        type="button"
        disabled={enable.busy}
        onClick={() => void enable.run({ input: { pipeline } }).then((done) => done && onDone())}
      >
        Enable CI
      </button>
      <Refusal message={enable.message} />
    </>
  );
}

/** The Tests tab: the pipeline's test runs, newest first, live; start one where the viewer may. */
export function PipelineTests({ name }: { name: string }) {
  const [{ data, error }, refetchQuery] = useQuery({ query: PipelineTestRunsQuery, variables: { name } });
  const refetch = useCallback(() => refetchQuery({ requestPolicy: "network-only" }), [refetchQuery]);
  useTestRunNews(name, refetch);
  if (error) return <p role="alert" className="refusal">{error.message}</p>;
  if (!data?.pipeline) return <p>Loading…</p>;
  const pipeline = data.pipeline;
  const runs = pipeline.testRuns.edges.map((edge) => edge.node);
  // Members may start runs, admins turn CI on; the access tab may give either to others (access.ts).
  const mayStart = mayStartTestRun(pipeline);
  return (
    <section aria-labelledby="tests-title">
      <h2 id="tests-title">Tests</h2>
      {pipeline.ci.enabled ? (
        <p className="muted">Every push to the pipeline's apps is tested with app.json's test environment.</p>
      ) : (
        <div className="inline-form">
          <p className="muted">CI is off: pushes to this pipeline are not tested.</p>
          {mayEnableCi(pipeline) && <EnableCi pipeline={pipeline.name} onDone={refetch} />}
        </div>
      )}
      {mayStart && pipeline.ci.enabled && <StartRun pipeline={pipeline.name} />}
      {runs.length === 0 ? (
        <p>No test run yet.</p>
      ) : (
        <table className="history test-runs">
          <caption>Test runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Branch</th>
              <th scope="col">Commit</th>
              <th scope="col">Started by</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.id} data-run={run.number} data-status={run.status}>
                <td>
                  <Link to={testsPath(pipeline.name, run.number)}>#{run.number}</Link>
                </td>
                <td>
                  <span aria-hidden="true">{mark(run.status)} </span>
                  <span className={`status status-${run.status.toLowerCase()}`}>{run.status}</span>
                </td>
                <td>{run.commitBranch}</td>
                <td>
                  <code>{shortCommit(run.commitSha)}</code> {run.commitMessage}
                </td>
                <td>{run.actor?.email ?? "—"}</td>
                <td>
                  <time dateTime={run.createdAt} title={exact(run.createdAt)}>
                    {ago(run.createdAt)}
                  </time>
                  {run.startedAt && (
                    <span className="muted">
                      {" "}
                      · {run.finishedAt ? "took" : "running for"} {duration(run.startedAt, run.finishedAt)}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
