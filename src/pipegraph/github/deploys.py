"""Automatic deploys from GitHub: a push to an app's branch builds that commit from GitHub's tarball and releases it;
with `waitForCi`, only once every commit status and check suite on it succeeded (Heroku's rule since 2018), and
never if one failed. A newer push supersedes a deploy still waiting. `deployBranch` is the manual button.

A deploy's job (`advance_deploy`) runs on the push and again on each CI event for its commit; it is a no-op unless
the deploy still waits, and only one run claims it (a conditional update), so repeats are harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime

from strawberry import relay

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.text import validate_text
from pipegraph.github.ci_wait import duration, from_now, no_ci_reported, wait_or_give_up
from pipegraph.github.client import CiState, GitHubClient, GitHubUnavailable
from pipegraph.github.events import GitHubEvent, Handled, PushEvent, ci_sha, on_ci_status, on_push
from pipegraph.github.models import AutomaticDeploy, Deploy, DeployStatus
from pipegraph.github.service import connection_of, require_connection
from pipegraph.github.tarballs import build_source, fetch_commit_source
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.jobs.runtime import Runtime
from pipegraph.pipelines.models import Pipeline, PipelineCoupling
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.streams.pipeline import NewsKind, announce

logger = logging.getLogger(__name__)

ADVANCE_DEPLOY = JobKind("advance_github_deploy", "github-deploy")


def deploy_job(deploy_id: int) -> Job:
    return ADVANCE_DEPLOY.job(deploy_id)


async def _pipeline_of(app: App) -> Pipeline:
    coupling = await PipelineCoupling.get_or_none(app_id=app.id).select_related("pipeline")
    if coupling is None:
        raise DomainError(
            ErrorCode.NOT_CONNECTED,
            f"app {app.name} is in no pipeline: deploys from GitHub need its pipeline connected to a repository",
            field="app",
        )
    return coupling.pipeline


def _branch(branch: str) -> str:
    value = validate_text(branch.strip(), what="branch", field="branch", max_length=255)
    if not value or value.startswith("refs/") or ".." in value:
        raise DomainError(ErrorCode.INVALID, f"branch {branch!r} is not a branch name", field="branch")
    return value


async def enable_automatic_deploys(app: App, *, branch: str, wait_for_ci: bool) -> AutomaticDeploy:
    await require_connection(await _pipeline_of(app), field="app")
    chosen, _ = await AutomaticDeploy.update_or_create(
        defaults={"branch": _branch(branch), "wait_for_ci": wait_for_ci}, app_id=app.id
    )
    return chosen


async def disable_automatic_deploys(app: App) -> None:
    await AutomaticDeploy.filter(app_id=app.id).delete()


async def deploy_branch(app: App, *, branch: str, user: User | None) -> tuple[Deploy, list[Job]]:
    """Deploy the tip of `branch` now (resolved by the job), without waiting for CI."""
    connection = await require_connection(await _pipeline_of(app), field="app")
    deploy = await Deploy.create(
        app_id=app.id,
        repository=connection.full_name,
        branch=_branch(branch),
        wait_for_ci=False,
        created_by_id=user.id if user else None,
        message="queued",
    )
    return deploy, [deploy_job(deploy.id)]


@on_push
async def deploy_pushed_branch(push: PushEvent) -> Handled:
    """Each app of the connected pipelines deploying this branch gets a deploy; older ones still waiting are
    superseded."""
    handled = Handled()
    pipeline_ids = [connection.pipeline_id for connection in push.event.connections]
    app_ids = await PipelineCoupling.filter(pipeline_id__in=pipeline_ids).values_list("app_id", flat=True)
    autos = await AutomaticDeploy.filter(app_id__in=list(app_ids), branch=push.branch).order_by("app_id")
    timeout = push.event.settings.github.wait_for_ci_timeout
    for auto in autos:
        await Deploy.filter(app_id=auto.app_id, status=DeployStatus.WAITING_FOR_CI).update(
            status=DeployStatus.SUPERSEDED, message=f"superseded by a newer push ({push.sha[:7]})"
        )
        deploy = await Deploy.create(
            app_id=auto.app_id,
            repository=push.event.repository,
            branch=push.branch,
            sha=push.sha,
            wait_for_ci=auto.wait_for_ci,
            actor_login=push.pusher,
            message="waiting for CI" if auto.wait_for_ci else "queued",
            ci_deadline=from_now(timeout) if auto.wait_for_ci else None,
        )
        handled.jobs.append(deploy_job(deploy.id))
    if autos:
        handled.note = f"{len(autos)} automatic deploy(s) of {push.branch} at {push.sha[:7]}"
        if any(auto.wait_for_ci for auto in autos):
            handled.note += f" (waiting for CI: skipped if none reports within {duration(timeout)})"
    return handled


async def overdue_deploys(now: datetime) -> list[Job]:
    """Deploys waiting for CI past their deadline look at GitHub again: each is skipped if CI has still reported
    nothing on its commit, or else given a new deadline (a missed status event delays it, never holds it for ever)."""
    overdue = await Deploy.filter(status=DeployStatus.WAITING_FOR_CI, ci_deadline__lte=now).order_by("id")
    return [deploy_job(deploy.id) for deploy in overdue]


async def waiting_deploys(repository: str, sha: str) -> list[Job]:
    """The jobs of the deploys waiting for CI on `sha`: each looks at the commit's CI again."""
    waiting = await Deploy.filter(repository=repository.lower(), sha=sha, status=DeployStatus.WAITING_FOR_CI)
    return [deploy_job(deploy.id) for deploy in waiting]


@on_ci_status
async def recheck_waiting_deploys(event: GitHubEvent) -> Handled:
    sha = ci_sha(event)
    if sha is None:
        return Handled()
    jobs = await waiting_deploys(event.repository, sha)
    return Handled(f"{len(jobs)} deploy(s) waiting for CI on {sha[:7]} look again" if jobs else "", jobs)


async def _set(deploy: Deploy, runtime: Runtime, status: DeployStatus, message: str, **more: object) -> None:
    await Deploy.filter(id=deploy.id).update(status=status, message=message, **more)
    await _announce(deploy, runtime)


async def _announce(deploy: Deploy, runtime: Runtime) -> None:
    coupling = await PipelineCoupling.get_or_none(app_id=deploy.app_id)
    await announce(runtime.redis, coupling.pipeline_id if coupling else None, NewsKind.DEPLOY, deploy.id)


async def advance_deploy(deploy_id: int, runtime: Runtime) -> list[Job]:
    """Look at a waiting deploy: resolve its commit, check CI, and build it once it may go."""
    deploy = await Deploy.get_or_none(id=deploy_id)
    if deploy is None or deploy.status != DeployStatus.WAITING_FOR_CI:
        return []
    app = await App.get(id=deploy.app_id)
    coupling = await PipelineCoupling.get_or_none(app_id=app.id)
    if coupling is None or await connection_of(coupling.pipeline_id) is None:
        await _set(deploy, runtime, DeployStatus.SKIPPED, "the app's pipeline is no longer connected to GitHub")
        return []
    settings = runtime.settings
    try:
        async with GitHubClient.for_repository(settings.github, deploy.repository) as github:
            sha, subject = deploy.sha, None
            if sha is None:
                sha, subject = await github.branch_head(deploy.branch)
                await Deploy.filter(id=deploy.id).update(sha=sha)
            if deploy.wait_for_ci:
                ci = await github.combined_ci(sha)
                if ci.failed:
                    await _set(
                        deploy, runtime, DeployStatus.SKIPPED, f"not deployed: CI failed on {sha[:7]}: {ci.reason}"
                    )
                    return []
                if not ci.succeeded:
                    await _still_waiting(deploy, runtime, sha, ci)
                    return []
            claimed = await Deploy.filter(id=deploy.id, status=DeployStatus.WAITING_FOR_CI).update(
                status=DeployStatus.BUILDING, message=f"building {sha[:7]}"
            )
            if not claimed:
                return []  # superseded meanwhile, or another run took it
            source, _ = await fetch_commit_source(
                settings, app=app, full_name=deploy.repository, sha=sha, user_id=deploy.created_by_id
            )
            build, jobs = await build_source(
                settings, app=app, source=source, sha=sha, description=subject, user_id=deploy.created_by_id
            )
            deployment_id = await start_deployment(github, sha, app.name)
    except DomainError as error:
        await _set(deploy, runtime, DeployStatus.FAILED, error.message)
        return []
    await _set(
        deploy,
        runtime,
        DeployStatus.BUILDING,
        f"building {sha[:7]}",
        build_id=build.id,
        github_deployment_id=deployment_id,
    )
    await announce(runtime.redis, coupling.pipeline_id, NewsKind.BUILD, build.id)
    return jobs


async def _still_waiting(deploy: Deploy, runtime: Runtime, sha: str, ci: CiState) -> None:
    timeout = runtime.settings.github.wait_for_ci_timeout
    waiting = Deploy.filter(id=deploy.id, status=DeployStatus.WAITING_FOR_CI)
    skip = {
        "status": DeployStatus.SKIPPED,
        "message": f"not deployed: {no_ci_reported(sha, timeout, 'the push')}; with waitForCi a deploy needs CI on "
        "the repository: set CI up, turn waitForCi off, or deploy by hand with deployBranch",
    }
    if await wait_or_give_up(waiting, ci, timeout, deadline=deploy.ci_deadline, give_up=skip):
        await _announce(deploy, runtime)


async def start_deployment(github: GitHubClient, sha: str, environment: str, *, transient: bool = False) -> int | None:
    """A GitHub deployment, in progress; None when GitHub would not take it (the deploy goes on regardless)."""
    try:
        deployment_id = await github.create_deployment(sha, environment=environment, transient=transient)
        await github.post_deployment_status(deployment_id, state="in_progress", description="building")
    except GitHubUnavailable as error:
        logger.warning("could not report the deploy of %s to GitHub: %s", environment, error.message)
        return None
    return deployment_id


async def build_outcome(build: Build) -> tuple[bool, str] | None:
    """(succeeded, message) once a build and its release phase ended; None while either still runs."""
    if not build.status.terminal:
        return None
    if build.status == BuildStatus.FAILED:
        return False, f"build failed: {build.error_message or 'see its output'} ({build_log_hint(build.id)})"
    release = await Release.get_or_none(id=build.release_id) if build.release_id else None
    if release is None or release.status == ReleaseStatus.PENDING:
        return None if release is not None else (False, "the build made no release")
    if release.status == ReleaseStatus.FAILED:
        return False, f"release v{release.version} failed: {release.error_message} ({build_log_hint(build.id)})"
    return True, f"deployed v{release.version}"


def build_log_hint(build_id: int) -> str:
    """Where its log is: the build's ID, for `build(id:) { output }` and `buildLog(buildId:)`."""
    return f'build log: build(id: "{relay.to_base64("Build", build_id)}") {{ output }}'


async def report_outcome(
    full_name: str, deployment_id: int | None, settings_runtime: Runtime, *, ok: bool, message: str
) -> None:
    if deployment_id is None:
        return
    try:
        async with GitHubClient.for_repository(settings_runtime.settings.github, full_name) as github:
            await github.post_deployment_status(
                deployment_id, state="success" if ok else "failure", description=message
            )
    except GitHubUnavailable as error:
        logger.warning("could not report a deploy's outcome to GitHub: %s", error.message)


async def mark_inactive(
    full_name: str, deployment_ids: list[int | None], runtime: Runtime, *, description: str = ""
) -> None:
    """GitHub is to show these deployments no longer active: a transient environment's newer deployment does not
    make the older ones inactive (GitHub's auto_inactive spares them), nor does the environment going."""
    ids = list(dict.fromkeys(deployment_id for deployment_id in deployment_ids if deployment_id is not None))
    if not ids:
        return
    try:
        async with GitHubClient.for_repository(runtime.settings.github, full_name) as github:
            for deployment_id in ids:
                await github.post_deployment_status(deployment_id, state="inactive", description=description)
    except GitHubUnavailable as error:
        logger.warning("could not mark deployments %s inactive on GitHub: %s", ids, error.message)


async def after_build(build_id: int, runtime: Runtime) -> None:
    """A deploy's build (or its release phase) ended: record the outcome and post it to GitHub."""
    deploy = await Deploy.get_or_none(build_id=build_id, status=DeployStatus.BUILDING)
    build = await Build.get_or_none(id=build_id)
    if deploy is None or build is None:
        return
    outcome = await build_outcome(build)
    if outcome is None:
        return
    ok, message = outcome
    await _set(deploy, runtime, DeployStatus.SUCCEEDED if ok else DeployStatus.FAILED, message)
    await report_outcome(deploy.repository, deploy.github_deployment_id, runtime, ok=ok, message=message)
