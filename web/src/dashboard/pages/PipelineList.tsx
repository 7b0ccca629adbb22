import { useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { useAction } from "../actions";
import { Refusal } from "../components/Refusal";
import { ownerName, titleCase } from "../format";
import { CreatePipelineMutation } from "../mutations";
import { PipelinesQuery } from "../operations";
import { Link, navigate } from "../router";

const STAGES = ["DEVELOPMENT", "STAGING", "PRODUCTION", "REVIEW"] as const;

/** Create a pipeline around an app outside any pipeline that the viewer manages (Heroku's "New pipeline"). */
function CreatePipeline({ apps }: { apps: { id: string; name: string }[] }) {
  const [name, setName] = useState("");
  const [app, setApp] = useState(apps[0]?.name ?? "");
  const [stage, setStage] = useState("");
  const create = useAction(CreatePipelineMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await create.run({ input: { name, app, stage: stage || null } });
    if (done?.createPipeline.pipeline) navigate(`/pipelines/${encodeURIComponent(done.createPipeline.pipeline.name)}`);
  }
  if (!apps.length) return null;
  return (
    <section aria-labelledby="new-pipeline" className="panel">
      <h2 id="new-pipeline">New pipeline</h2>
      <form onSubmit={(event) => void submit(event)} className="inline-form">
        <label>
          Name
          <input value={name} onChange={(event) => setName(event.target.value)} required />
        </label>
        <label>
          From app
          <select value={app} onChange={(event) => setApp(event.target.value)}>
            {apps.map((candidate) => (
              <option key={candidate.id}>{candidate.name}</option>
            ))}
          </select>
        </label>
        <label>
          Its stage
          <select value={stage} onChange={(event) => setStage(event.target.value)}>
            <option value="">guess from the name</option>
            {STAGES.map((value) => (
              <option key={value} value={value}>
                {titleCase(value)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={create.busy}>
          Create pipeline
        </button>
      </form>
      <Refusal message={create.message} />
    </section>
  );
}

export function PipelineList() {
  const [{ data, error }] = useQuery({ query: PipelinesQuery, requestPolicy: "cache-and-network" });
  if (error) return <p role="alert" className="page refusal">{error.message}</p>;
  if (!data) return <p className="page">Loading…</p>;
  const pipelines = data.pipelines.edges.map((edge) => edge.node);
  const manageable = data.looseApps.edges
    .map((edge) => edge.node)
    .filter((app) => app.viewerPermissions.includes("MANAGE"));
  return (
    <main className="page">
      <h1>Pipelines</h1>
      {pipelines.length === 0 && <p>You see no pipeline yet.</p>}
      <ul className="pipeline-list">
        {pipelines.map((pipeline) => (
          <li key={pipeline.id}>
            <Link to={`/pipelines/${encodeURIComponent(pipeline.name)}`} className="pipeline-link">
              {pipeline.name}
            </Link>
            <span className="muted"> · owned by {ownerName(pipeline.owner)} · </span>
            <span className="muted">
              {pipeline.stages
                .filter((stage) => stage.apps.length)
                .map((stage) => `${stage.apps.length} in ${stage.name.toLowerCase()}`)
                .join(", ") || "no apps"}
            </span>
          </li>
        ))}
      </ul>
      <CreatePipeline apps={manageable} />
    </main>
  );
}
