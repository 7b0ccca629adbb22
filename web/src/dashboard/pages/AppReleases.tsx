import { useState } from "react";
import { useQuery } from "urql";

import type { AppReleasesQuery as ReleasesData } from "../../gql/graphql";
import { useAction } from "../actions";
import { Refusal } from "../components/Refusal";
import { ago, exact, ownerName, shortCommit, titleCase } from "../format";
import { RollbackMutation } from "../mutations";
import { AppReleasesQuery } from "../operations";
import { Link } from "../router";

type Release = NonNullable<ReleasesData["app"]>["releases"]["edges"][number]["node"];

/** Roll back asks first: it makes a new release of an earlier slug, running its release phase again. */
function Rollback({ app, release, onDone }: { app: string; release: Release; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  const rollback = useAction(RollbackMutation);
  if (!asking) {
    return (
      <button type="button" onClick={() => setAsking(true)}>
        Roll back to v{release.version}…
      </button>
    );
  }
  return (
    <div role="group" aria-label={`Confirm rollback to v${release.version}`} className="confirm">
      <span>
        Release v{release.version}'s slug again on {app}?
      </span>
      <button
        type="button"
        className="danger"
        autoFocus // the question just appeared: keyboard users answer it from here
        disabled={rollback.busy}
        onClick={() =>
          void rollback.run({ input: { app, version: release.version } }).then((done) => {
            if (done) {
              setAsking(false);
              onDone();
            }
          })
        }
      >
        Roll back
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
      <Refusal message={rollback.message} />
    </div>
  );
}

export function AppReleases({ name }: { name: string }) {
  const [{ data, error }, refetch] = useQuery({ query: AppReleasesQuery, variables: { name } });
  if (error) return <p role="alert" className="page refusal">{error.message}</p>;
  if (!data) return <p className="page">Loading…</p>;
  const app = data.app;
  if (!app) return <main className="page"><h1>No app {name}</h1><p>It does not exist, or you cannot see it.</p></main>;
  const canDeploy = app.viewerPermissions.includes("DEPLOY");
  const releases = app.releases.edges.map((edge) => edge.node);
  return (
    <main className="page">
      <h1>{app.name}</h1>
      <p className="muted">
        Owned by {ownerName(app.owner)}
        {app.pipeline && (
          <>
            {" · "}
            {app.stage ? titleCase(app.stage) : ""} in{" "}
            <Link to={`/pipelines/${encodeURIComponent(app.pipeline.name)}`}>{app.pipeline.name}</Link>
          </>
        )}
      </p>
      <h2>Releases</h2>
      {!releases.length && <p>No release yet.</p>}
      <ol className="releases" reversed>
        {releases.map((release) => (
          <li key={release.id} aria-label={`v${release.version}`} className={release.current ? "current" : undefined}>
            <div className="release-line">
              <strong>v{release.version}</strong>{" "}
              <span className={`status status-${release.status.toLowerCase()}`}>{release.status}</span>
              {release.current && <span className="badge badge-same">Current</span>}{" "}
              {release.description || release.slug.commitDescription}{" "}
              <code>{shortCommit(release.slug.commit)}</code>{" "}
              <span className="muted">
                <time dateTime={release.createdAt} title={exact(release.createdAt)}>
                  {ago(release.createdAt)}
                </time>
                {release.createdBy && ` by ${release.createdBy.email}`}
                {release.sourceRelease &&
                  ` · from ${release.sourceRelease.app.name} v${release.sourceRelease.version}`}
              </span>
            </div>
            {release.errorMessage && <p className="refusal">{release.errorMessage}</p>}
            {release.log && (
              <details>
                <summary>Release phase output</summary>
                <pre className="log">{release.log}</pre>
              </details>
            )}
            {canDeploy && !release.current && release.status === "SUCCEEDED" && (
              <Rollback app={app.name} release={release} onDone={() => refetch({ requestPolicy: "network-only" })} />
            )}
          </li>
        ))}
      </ol>
    </main>
  );
}
