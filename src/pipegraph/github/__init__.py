"""GitHub: connected repositories, signed webhooks in (verify, record, enqueue, answer), REST calls out.

The seams other domains (CI) use, by name:
- `github.service.connection_of(pipeline_id)` → the pipeline's `RepositoryConnection` (`.full_name`) or None;
  `connections_for(full_name)` → every pipeline connected to a repository;
- `github.client.post_commit_status(settings.github, full_name, sha, state=, context=, description=, target_url=)`;
- `github.client.fetch_commit_tarball(settings.github, full_name, sha, into, max_bytes=)` → the tar.gz on disk, or
  `github.tarballs.fetch_commit_source(settings, app=, full_name=, sha=)` → a stored `Source` a build can name, and
  `github.tarballs.build_source(...)` → that build and its job;
- `github.client.GitHubClient.for_repository(settings.github, full_name)` for anything else (`combined_ci`, …);
- `github.events.on_push` (a `PushEvent`: `branch`, `sha`, `message`, `event.connections`), `on_pull_request`,
  `on_ci_status`, or `on("event")`: handlers run in the delivery's arq job and return `Handled(note, jobs)`; the
  module holding them must be imported by the worker (workers/jobs.py).
"""
