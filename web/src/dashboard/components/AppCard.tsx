import { useState } from "react";
import { useQuery } from "urql";

import type { Stage } from "../../gql/graphql";
import { mayPromoteInto } from "../access";
import { useAction } from "../actions";
import { ago, exact, ownerName, shortCommit, titleCase } from "../format";
import { MoveAppToStageMutation, RemoveAppFromPipelineMutation } from "../mutations";
import { AppCompareQuery } from "../operations";
import {
  aheadBehind,
  differingDownstreamApp,
  differsFromNext,
  nextStage,
  STAGE_ORDER,
  type CardApp,
  type Overview,
  type ReviewAppSummary,
} from "../pipeline";
import { Link } from "../router";
import { Refusal } from "./Refusal";

type Props = {
  pipeline: Overview;
  stage: Stage;
  app: CardApp;
  foreign: boolean;
  /** The review app this app is, if it is one: its pull request shows on the card. */
  reviewApp?: ReviewAppSummary;
  onPromote: (app: CardApp) => void;
  onChanged: () => void;
};

function ReleaseLines({ app }: { app: CardApp }) {
  const release = app.currentRelease;
  if (!release) return <p className="muted">No release yet</p>;
  return (
    <dl className="release">
      <dt>Release</dt>
      <dd>
        v{release.version} <span className={`status status-${release.status.toLowerCase()}`}>{release.status}</span>
      </dd>
      <dt>Commit</dt>
      <dd>
        <code>{shortCommit(release.slug.commit)}</code> {release.slug.commitDescription || release.description}
      </dd>
      <dt>When</dt>
      <dd>
        <time dateTime={release.createdAt} title={exact(release.createdAt)}>
          {ago(release.createdAt)}
        </time>
        {release.createdBy ? ` by ${release.createdBy.email}` : ""}
      </dd>
    </dl>
  );
}

/** "Differs from production: 2 commits ahead", counted by the API from the apps' git history, with the newest
 * commits in its title. Where either app was never built from git, the API cannot count: the badge stays plain, and
 * its title says why. */
function DiffBadge({ app, next, downstream }: { app: string; next: Stage; downstream: string | null }) {
  const [result] = useQuery({
    query: AppCompareQuery,
    variables: { app, with: downstream ?? "" },
    pause: !downstream,
    requestPolicy: "cache-and-network",
  });
  const comparison = result.data?.app?.comparison;
  const compare = comparison?.__typename === "AppComparison" ? comparison : undefined;
  const counted = compare ? aheadBehind(compare.ahead, compare.behind) : "";
  const title =
    comparison?.__typename === "NotComparable"
      ? `Not counted: ${comparison.reason}`
      : compare?.commits.map((commit) => `${shortCommit(commit.sha)} ${commit.message}`).join("\n");
  return (
    <span className="badge badge-diff" title={title || undefined}>
      Differs from {next.toLowerCase()}
      {counted ? `: ${counted}` : ""}
    </span>
  );
}

/** The card's menu: move to another stage or take the app out, for viewers who manage the app. */
function CardMenu({ app, stage, onChanged }: { app: CardApp; stage: Stage; onChanged: () => void }) {
  const [target, setTarget] = useState<Stage>(stage);
  const move = useAction(MoveAppToStageMutation);
  const remove = useAction(RemoveAppFromPipelineMutation);
  return (
    <details className="card-menu">
      <summary aria-label={`Manage ${app.name}`}>⋯</summary>
      <div className="menu-body">
        <label>
          Stage
          <select value={target} onChange={(event) => setTarget(event.target.value as Stage)}>
            {STAGE_ORDER.map((value) => (
              <option key={value} value={value}>
                {titleCase(value)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          disabled={target === stage || move.busy}
          onClick={() => void move.run({ input: { app: app.name, stage: target } }).then((done) => done && onChanged())}
        >
          Move
        </button>
        <button
          type="button"
          className="danger"
          disabled={remove.busy}
          onClick={() => void remove.run({ input: { app: app.name } }).then((done) => done && onChanged())}
        >
          Remove from pipeline
        </button>
        <Refusal message={move.message ?? remove.message} />
      </div>
    </details>
  );
}

export function AppCard({ pipeline, stage, app, foreign, reviewApp, onPromote, onChanged }: Props) {
  const differs = differsFromNext(pipeline, stage, app);
  const next = nextStage(stage);
  const others = pipeline.stages.flatMap((candidate) => candidate.apps).filter((other) => other.id !== app.id);
  // Promoting needs view on the source (its card) and deploy on a target: offered only with a target to deploy to.
  const canPromote =
    (stage === "DEVELOPMENT" || stage === "STAGING") && others.some(mayPromoteInto) && !!app.currentRelease;
  return (
    <article className="card" aria-label={app.name} data-app={app.name}>
      <header className="card-head">
        <h3>
          <Link to={`/apps/${encodeURIComponent(app.name)}`}>{app.name}</Link>
        </h3>
        {app.viewerPermissions.includes("MANAGE") && <CardMenu app={app} stage={stage} onChanged={onChanged} />}
      </header>
      <div className="badges">
        {reviewApp && (
          <span className="badge" data-review-app={reviewApp.prNumber} data-status={reviewApp.status}>
            PR #{reviewApp.prNumber} · {reviewApp.status.toLowerCase()}
          </span>
        )}
        {differs === true && next && (
          <DiffBadge
            key={app.currentRelease?.slug.commit}
            app={app.name}
            next={next}
            downstream={differingDownstreamApp(pipeline, stage, app)}
          />
        )}
        {differs === false && next && <span className="badge badge-same">Same code as {next.toLowerCase()}</span>}
        {foreign && (
          <span className="badge badge-foreign" title="Not owned by the pipeline owner">
            Foreign: {ownerName(app.owner)}
          </span>
        )}
      </div>
      <ReleaseLines app={app} />
      {canPromote && (
        <button type="button" className="primary" onClick={() => onPromote(app)}>
          Promote{next ? ` to ${next.toLowerCase()}` : ""}…
        </button>
      )}
    </article>
  );
}
