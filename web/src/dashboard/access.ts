import type { Permission, PipelineRight } from "../gql/graphql";

/** What the viewer holds on a pipeline: `viewerRights` (owner, team) and `viewerPermissions` (its access tab). */
export type PipelineHold = { viewerRights: PipelineRight[]; viewerPermissions: Permission[] };

// The access tab's permissions that allow each CI action (access/rules.py EPHEMERAL_CAPABILITIES, the seed's table).
const CREATE_CI_APPS: Permission[] = ["OPERATE", "MANAGE"];
const ENABLE_CI: Permission[] = ["MANAGE"];
const CANCEL_CI_RUNS: Permission[] = ["MANAGE"];

function allows(held: Permission[], allowing: Permission[]): boolean {
  return held.some((permission) => allowing.includes(permission));
}

/** Turn CI on or off: pipeline admins, or access allowing "enable ci" (ci/service.py require_ci). */
export function mayEnableCi(pipeline: PipelineHold): boolean {
  return pipeline.viewerRights.includes("ADMIN") || allows(pipeline.viewerPermissions, ENABLE_CI);
}

/** Start or rerun a test run: pipeline admins and members, or access allowing "create ci apps". */
export function mayStartTestRun(pipeline: PipelineHold): boolean {
  return pipeline.viewerRights.includes("MEMBER") || allows(pipeline.viewerPermissions, CREATE_CI_APPS);
}

/** Cancel a test run: pipeline admins, or access allowing "cancel ci runs". */
export function mayCancelTestRun(pipeline: PipelineHold): boolean {
  return pipeline.viewerRights.includes("ADMIN") || allows(pipeline.viewerPermissions, CANCEL_CI_RUNS);
}

/** Promote into an app: deploy on it (the source needs only view, which seeing its card means). */
export function mayPromoteInto(app: { viewerPermissions: Permission[] }): boolean {
  return app.viewerPermissions.includes("DEPLOY");
}
