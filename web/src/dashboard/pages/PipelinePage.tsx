import { useCallback, useEffect, useState } from "react";
import { useQuery } from "urql";

import type { Stage } from "../../gql/graphql";
import { useAction } from "../actions";
import { AppCard } from "../components/AppCard";
import { PromoteDialog } from "../components/PromoteDialog";
import { ActivePromotions, usePromotions } from "../components/Promotions";
import { Refusal } from "../components/Refusal";
import { ReviewApps } from "../components/ReviewApps";
import { ownerName, titleCase } from "../format";
import { AddAppToPipelineMutation } from "../mutations";
import { PipelineOverviewQuery } from "../operations";
import { STAGE_ORDER, type CardApp, type LooseApp, type Overview } from "../pipeline";
import { Link, navigate, useLocation } from "../router";
import { PipelineAccess } from "./PipelineAccess";
import { PipelineHistory } from "./PipelineHistory";
import { PipelineSettings } from "./PipelineSettings";
import { PipelineTests } from "./PipelineTests";
import { TestRunPage } from "./TestRunPage";

const TABS = [
  ["overview", "Overview"],
  ["history", "History"],
  ["tests", "Tests"],
  ["access", "Access"],
  ["settings", "Settings"],
] as const;

const RUN_NUMBER = /^[1-9][0-9]{0,8}$/;

/** "+ Add app" beside a stage: apps outside any pipeline that the viewer manages. */
function AddApp({ pipeline, stage, apps, onAdded }: { pipeline: string; stage: Stage; apps: LooseApp[]; onAdded: () => void }) {
  const [app, setApp] = useState(apps[0]?.name ?? "");
  const add = useAction(AddAppToPipelineMutation);
  return (
    <details className="add-app">
      <summary>+ Add app</summary>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void add.run({ input: { pipeline, app, stage } }).then((done) => done && onAdded());
        }}
      >
        <label>
          App to add to {stage.toLowerCase()}
          <select value={app} onChange={(event) => setApp(event.target.value)}>
            {apps.map((candidate) => (
              <option key={candidate.id}>{candidate.name}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={add.busy || !app}>
          Add
        </button>
        <Refusal message={add.message} />
      </form>
    </details>
  );
}

// Deploys and rollbacks made elsewhere reach the cards this often (promotions sooner: see usePromotions).
const OVERVIEW_POLL_MS = 10_000;

function Overview({ pipeline, looseApps, refetch }: { pipeline: Overview; looseApps: LooseApp[]; refetch: () => void }) {
  const location = useLocation();
  useEffect(() => {
    const timer = window.setInterval(refetch, OVERVIEW_POLL_MS);
    return () => window.clearInterval(timer);
  }, [refetch]);
  const { rows, loaded, refetch: refetchPromotions } = usePromotions(pipeline.name);
  const [source, setSource] = useState<CardApp | null>(null);
  const foreign = new Set(pipeline.foreignApps.map((app) => app.id));
  // A review app whose app has a card in the review column shows its pull request there; the others are listed.
  const reviewAppOf = new Map(pipeline.reviewApps.map((review) => [review.appName, review]));
  const carded = new Set(
    pipeline.stages.find((stage) => stage.name === "REVIEW")?.apps.map((app) => app.name).filter((name) => reviewAppOf.has(name)),
  );
  const addable = looseApps.filter((app) => app.viewerPermissions.includes("MANAGE"));
  const isMember = pipeline.viewerRights.includes("MEMBER");
  const onDone = useCallback(() => {
    refetch();
    refetchPromotions({ requestPolicy: "network-only" });
  }, [refetch, refetchPromotions]);
  function started(promotionId: string) {
    setSource(null);
    // In the address: a reload follows the same promotion (its subscription starts with the current state).
    navigate(`${location.pathname}?promotion=${encodeURIComponent(promotionId)}`, { replace: true });
    refetchPromotions({ requestPolicy: "network-only" });
  }
  return (
    <>
      <ActivePromotions rows={rows} loaded={loaded} startedId={location.searchParams.get("promotion")} onDone={onDone} />
      <div className="stages">
        {STAGE_ORDER.map((stageName) => {
          const stage = pipeline.stages.find((candidate) => candidate.name === stageName);
          const apps = stage?.apps ?? [];
          return (
            <section key={stageName} className="stage" aria-labelledby={`stage-${stageName}`}>
              <h2 id={`stage-${stageName}`}>
                {stageName === "REVIEW" ? "Review apps" : titleCase(stageName)} <span className="count">{apps.length}</span>
              </h2>
              {stageName === "REVIEW" && (
                <ReviewApps
                  pipeline={pipeline.name}
                  apps={pipeline.reviewApps.filter((review) => !carded.has(review.appName))}
                  onChange={refetch}
                />
              )}
              {apps.map((app) => (
                <AppCard
                  key={app.id}
                  pipeline={pipeline}
                  stage={stageName}
                  app={app}
                  foreign={foreign.has(app.id)}
                  reviewApp={stageName === "REVIEW" ? reviewAppOf.get(app.name) : undefined}
                  onPromote={setSource}
                  onChanged={refetch}
                />
              ))}
              {isMember && addable.length > 0 && (
                <AddApp pipeline={pipeline.name} stage={stageName} apps={addable} onAdded={refetch} />
              )}
            </section>
          );
        })}
      </div>
      {source && <PromoteDialog pipeline={pipeline} source={source} onClose={() => setSource(null)} onStarted={started} />}
    </>
  );
}

export function PipelinePage({ name, tab, detail }: { name: string; tab: string; detail?: string }) {
  const [{ data, error }, refetchQuery] = useQuery({ query: PipelineOverviewQuery, variables: { name } });
  const refetch = useCallback(() => refetchQuery({ requestPolicy: "network-only" }), [refetchQuery]);
  if (error) return <p role="alert" className="page refusal">{error.message}</p>;
  if (!data) return <p className="page">Loading…</p>;
  const pipeline = data.pipeline;
  if (!pipeline) {
    return (
      <main className="page">
        <h1>No pipeline {name}</h1>
        <p>
          It does not exist, or you cannot see it. <Link to="/">Your pipelines</Link>
        </p>
      </main>
    );
  }
  const base = `/pipelines/${encodeURIComponent(pipeline.name)}`;
  return (
    <main className="page wide">
      <div className="pipeline-head">
        <h1>{pipeline.name}</h1>
        <p className="muted">
          Owned by <strong>{ownerName(pipeline.owner)}</strong>
          {pipeline.foreignApps.length > 0 && ` · ${pipeline.foreignApps.length} foreign app(s)`}
        </p>
      </div>
      <nav aria-label="Pipeline" className="tabs">
        {TABS.map(([key, label]) => (
          <Link key={key} to={key === "overview" ? base : `${base}/${key}`} className="tab" current={key === tab}>
            {label}
          </Link>
        ))}
      </nav>
      {tab === "overview" && <Overview pipeline={pipeline} looseApps={data.looseApps.edges.map((e) => e.node)} refetch={refetch} />}
      {tab === "history" && <PipelineHistory name={pipeline.name} />}
      {tab === "tests" && !detail && <PipelineTests name={pipeline.name} />}
      {tab === "tests" &&
        detail &&
        (RUN_NUMBER.test(detail) ? (
          <TestRunPage pipeline={pipeline.name} number={Number(detail)} />
        ) : (
          <p>
            No test run {detail}. <Link to={`${base}/tests`}>All test runs</Link>
          </p>
        ))}
      {tab === "access" && <PipelineAccess name={pipeline.name} />}
      {tab === "settings" && <PipelineSettings name={pipeline.name} onChanged={refetch} />}
    </main>
  );
}
