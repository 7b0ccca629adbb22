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

/** The next stage's apps that have a release, with their deployed commit. */
function downstreamCommits(pipeline: Overview, stage: Stage): { name: string; commit: string }[] {
  const next = nextStage(stage);
  if (!next) return [];
  return (pipeline.stages.find((candidate) => candidate.name === next)?.apps ?? []).flatMap((other) => {
    const commit = other.currentRelease?.slug.commit;
    return commit ? [{ name: other.name, commit }] : [];
  });
}

/**
 * Whether an app runs other code than the next stage's apps, from slug commits ("is production running different code
 * than staging?"). Null when there is nothing to compare: no next stage, or no release on either side.
 */
export function differsFromNext(pipeline: Overview, stage: Stage, app: CardApp): boolean | null {
  const commit = app.currentRelease?.slug.commit;
  const downstream = downstreamCommits(pipeline, stage);
  if (!commit || !downstream.length) return null;
  return downstream.some((other) => other.commit !== commit);
}

/** The first app of the next stage that runs other code than `app`, to count the commits between them. */
export function differingDownstreamApp(pipeline: Overview, stage: Stage, app: CardApp): string | null {
  const commit = app.currentRelease?.slug.commit;
  return downstreamCommits(pipeline, stage).find((other) => other.commit !== commit)?.name ?? null;
}

/** "2 commits ahead", "1 commit behind", "2 ahead, 1 behind", or "" when git finds nothing between them. */
export function aheadBehind(ahead: number, behind: number): string {
  const commits = (count: number) => `${count} commit${count === 1 ? "" : "s"}`;
  if (ahead && behind) return `${ahead} ahead, ${behind} behind`;
  if (ahead) return `${commits(ahead)} ahead`;
  if (behind) return `${commits(behind)} behind`;
  return "";
}
