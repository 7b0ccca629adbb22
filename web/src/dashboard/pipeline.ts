import type { PipelineOverviewQuery as OverviewData, Stage } from "../gql/graphql";

export type Overview = NonNullable<OverviewData["pipeline"]>;
export type CardApp = Overview["stages"][number]["apps"][number];
export type ReviewAppSummary = Overview["reviewApps"][number];
export type LooseApp = OverviewData["looseApps"]["edges"][number]["node"];

export const STAGE_ORDER: Stage[] = ["REVIEW", "DEVELOPMENT", "STAGING", "PRODUCTION"];

/** The stage a promotion from `stage` goes to by default (Heroku's downstream), if any. */
export function nextStage(stage: Stage): Stage | null {
  if (stage === "DEVELOPMENT") return "STAGING";
  if (stage === "STAGING") return "PRODUCTION";
  return null;
}

/**
 * Whether an app runs other code than the next stage's apps, from slug commits ("is production running different code
 * than staging?"). Null when there is nothing to compare: no next stage, or no release on either side.
 */
export function differsFromNext(pipeline: Overview, stage: Stage, app: CardApp): boolean | null {
  const next = nextStage(stage);
  const commit = app.currentRelease?.slug.commit;
  if (!next || !commit) return null;
  const downstream = pipeline.stages
    .find((candidate) => candidate.name === next)
    ?.apps.map((other) => other.currentRelease?.slug.commit)
    .filter((other): other is string => Boolean(other));
  if (!downstream?.length) return null;
  return downstream.some((other) => other !== commit);
}
