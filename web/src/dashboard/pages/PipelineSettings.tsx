import { useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { useAction } from "../actions";
import { Refusal } from "../components/Refusal";
import { ago, exact, ownerName } from "../format";
import {
  DestroyPipelineMutation,
  RenamePipelineMutation,
  TransferAppsMutation,
  TransferPipelineMutation,
} from "../mutations";
import { PipelineAdminQuery } from "../operations";
import { navigate } from "../router";

function Rename({ name }: { name: string }) {
  const [value, setValue] = useState(name);
  const rename = useAction(RenamePipelineMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await rename.run({ input: { pipeline: name, name: value } });
    const renamed = done?.renamePipeline.pipeline;
    if (renamed) navigate(`/pipelines/${encodeURIComponent(renamed.name)}/settings`, { replace: true });
  }
  return (
    <form onSubmit={(event) => void submit(event)} className="inline-form">
      <label>
        Pipeline name
        <input value={value} onChange={(event) => setValue(event.target.value)} required />
      </label>
      <button type="submit" disabled={rename.busy || value === name}>
        Rename
      </button>
      <Refusal message={rename.message} />
    </form>
  );
}

function Destroy({ name }: { name: string }) {
  const [typed, setTyped] = useState("");
  const destroy = useAction(DestroyPipelineMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await destroy.run({ input: { pipeline: name } })) navigate("/");
  }
  return (
    <form onSubmit={(event) => void submit(event)} className="inline-form danger-zone">
      <label>
        <span>
          Type <strong>{name}</strong> to destroy the pipeline (its apps stay)
        </span>
        <input value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" />
      </label>
      <button type="submit" className="danger" disabled={typed !== name || destroy.busy}>
        Destroy pipeline
      </button>
      <Refusal message={destroy.message} />
    </form>
  );
}

function Transfer({ name, onDone }: { name: string; onDone: () => void }) {
  const [kind, setKind] = useState<"team" | "user">("team");
  const [to, setTo] = useState("");
  const transfer = useAction(TransferPipelineMutation);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const newOwner = kind === "team" ? { team: to } : { user: to };
    if (await transfer.run({ input: { pipeline: name, newOwner } })) onDone();
  }
  return (
    <form onSubmit={(event) => void submit(event)} className="inline-form">
      <label>
        New owner is a
        <select value={kind} onChange={(event) => setKind(event.target.value as "team" | "user")}>
          <option value="team">team</option>
          <option value="user">person</option>
        </select>
      </label>
      <label>
        {kind === "team" ? "Team name" : "Their email"}
        <input value={to} onChange={(event) => setTo(event.target.value)} required />
      </label>
      <button type="submit" disabled={transfer.busy}>
        Transfer pipeline
      </button>
      <Refusal message={transfer.message} />
    </form>
  );
}

export function PipelineSettings({ name, onChanged }: { name: string; onChanged: () => void }) {
  const [{ data, error }, refetch] = useQuery({ query: PipelineAdminQuery, variables: { name } });
  const transferApps = useAction(TransferAppsMutation);
  if (error) return <p role="alert" className="refusal">{error.message}</p>;
  const pipeline = data?.pipeline;
  if (!pipeline) return <p>Loading…</p>;
  const admin = pipeline.viewerRights.includes("ADMIN");
  const reload = () => {
    refetch({ requestPolicy: "network-only" });
    onChanged();
  };
  return (
    <div className="settings">
      <section className="panel" aria-labelledby="ownership">
        <h2 id="ownership">Ownership</h2>
        <p>
          Owned by <strong>{ownerName(pipeline.owner)}</strong>.
        </p>
        {pipeline.foreignApps.length > 0 && (
          <>
            <h3>Foreign apps (not owned by the pipeline owner)</h3>
            <ul>
              {pipeline.foreignApps.map((app) => (
                <li key={app.id}>
                  {app.name} <span className="muted">owned by {ownerName(app.owner)}</span>
                </li>
              ))}
            </ul>
            {admin && (
              <button
                type="button"
                disabled={transferApps.busy}
                onClick={() => void transferApps.run({ input: { pipeline: name } }).then((done) => done && reload())}
              >
                Transfer them to {ownerName(pipeline.owner)}
              </button>
            )}
            <Refusal message={transferApps.message} />
          </>
        )}
        {admin && <Transfer name={name} onDone={reload} />}
        {pipeline.transfers.length > 0 && (
          <>
            <h3>Transfers</h3>
            <ul>
              {pipeline.transfers.map((transfer) => (
                <li key={transfer.createdAt}>
                  <time dateTime={transfer.createdAt} title={exact(transfer.createdAt)}>
                    {ago(transfer.createdAt)}
                  </time>
                  : {transfer.previousOwner ? ownerName(transfer.previousOwner) : "—"} →{" "}
                  {transfer.newOwner ? ownerName(transfer.newOwner) : "—"}
                  {transfer.transferredBy && ` by ${transfer.transferredBy.email}`}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      {admin ? (
        <section className="panel" aria-labelledby="name-and-removal">
          <h2 id="name-and-removal">Name and removal</h2>
          <Rename name={name} />
          <Destroy name={name} />
        </section>
      ) : (
        <p className="muted">Only the pipeline's owner or an admin of its team renames, transfers or destroys it.</p>
      )}
    </div>
  );
}
