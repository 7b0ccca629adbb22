"""GitHub: connected repositories, signed webhooks in (verify, record, enqueue, answer), REST calls out.

The seams other domains (CI) use, by name:
- `github.service.connection_of(pipeline_id)` / `connections_for(full_name)`: a pipeline's connected repository;
- `github.client.GitHubClient.for_repository(settings, full_name)`: the REST client, with `commit_tarball`,
  `combined_ci`, `post_commit_status`, `create_deployment` and `post_deployment_status`;
- `github.tarballs.fetch_commit_source(...)`: a commit's tarball stored as a `Source` that a build can name;
- `github.events.on_push` / `on_pull_request` / `on_ci_status`: subscribe to processed webhook events.
"""
