"""Settings come from the environment, so the same code runs embedded (`pipegraph dev`) and distributed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipegraph.sandbox.config import SandboxSettings

# In a checkout (and an editable install) the build sits beside the sources: src/pipegraph/settings.py -> web/dist.
_SOURCE_WEB_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: `pipegraph dev` starts an embedded redis-server
    secret_key: str  # signs slug upload URLs
    # Where clients reach the API; upload URLs are built on it. "" (unset): each request's own scheme and host.
    public_url: str
    slug_max_bytes: int
    max_query_depth: int
    max_query_tokens: int
    max_query_nodes: int  # nodes a query may return, counted from `first` along each path (GitHub's node limit)
    max_body_bytes: int  # every route but slug uploads, which have slug_max_bytes
    metrics: bool  # serve /metrics (Prometheus)
    graphiql: bool
    introspection: bool
    default_stack: str
    release_phase_timeout: float
    upload_url_ttl: int
    # PostgreSQL connections each process (API or worker) may hold at most: every process's pool together must stay
    # under the server's max_connections (100 by default), or everything else gets "too many clients".
    db_pool_size: int
    web_dir: Path  # the dashboard's and GraphiQL's built assets (web/dist, `make web`)
    build_timeout: float  # a whole build: every buildpack's detect, compile and release
    source_max_bytes: int  # a source tarball, compressed, and each buildpack download
    fetch_timeout: float  # fetching a source or a buildpack over the network, or cloning one
    # A whole test run: its build, scripts.test-setup and scripts.test; past it the run is ERRORED.
    test_run_timeout: float = 3600.0
    sandbox: SandboxSettings = SandboxSettings()  # how commands from apps are isolated (PIPEGRAPH_SANDBOX*)
    github: GitHubSettings = field(default_factory=lambda: GitHubSettings())
    # A pipeline whose last app left is deleted this many seconds later, unless an app is added back (Heroku: < 1h).
    empty_pipeline_grace: float = 3600.0
    # `pipeline` and `pipelines` answered by compiled reads (pipegraph.reads) where they cover the selection; off, the
    # resolvers answer everything (the differential test compares the two).
    compiled_reads: bool = True
    # `POST /cli-logins` needs no credential (`pipegraph login` has none yet): the starts one client address may make
    # (the `limits` notation, several separated by ";"), and the logins pending at once from all addresses together.
    # Past either, a start is answered 429 with Retry-After and nothing is stored.
    cli_login_rate: str = "5/minute;30/hour"
    cli_login_max_pending: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("PIPEGRAPH_DATA_DIR", "data")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite://{data_dir / 'pipegraph.sqlite3'}"
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("PIPEGRAPH_SECRET_KEY") or _local_secret(data_dir),
            public_url=env.get("PIPEGRAPH_PUBLIC_URL", "").strip().rstrip("/"),
            slug_max_bytes=int(env.get("PIPEGRAPH_SLUG_MAX_BYTES", str(500 * 1024 * 1024))),
            max_query_depth=int(env.get("PIPEGRAPH_MAX_QUERY_DEPTH", "12")),
            max_query_tokens=int(env.get("PIPEGRAPH_MAX_QUERY_TOKENS", "2000")),
            max_query_nodes=int(env.get("PIPEGRAPH_MAX_QUERY_NODES", "50000")),
            max_body_bytes=int(env.get("PIPEGRAPH_MAX_BODY_BYTES", str(1024 * 1024))),
            metrics=_flag(env.get("PIPEGRAPH_METRICS", "false")),
            graphiql=_flag(env.get("PIPEGRAPH_GRAPHIQL", "true")),
            introspection=_flag(env.get("PIPEGRAPH_INTROSPECTION", "true")),
            default_stack=env.get("PIPEGRAPH_DEFAULT_STACK", "heroku-24"),
            release_phase_timeout=float(env.get("PIPEGRAPH_RELEASE_PHASE_TIMEOUT", "30")),
            upload_url_ttl=int(env.get("PIPEGRAPH_UPLOAD_URL_TTL", "3600")),
            db_pool_size=_positive(env, "PIPEGRAPH_DB_POOL_SIZE", "10"),
            web_dir=Path(env.get("PIPEGRAPH_WEB_DIR") or _SOURCE_WEB_DIR).resolve(),
            build_timeout=float(env.get("PIPEGRAPH_BUILD_TIMEOUT", "900")),
            source_max_bytes=int(env.get("PIPEGRAPH_SOURCE_MAX_BYTES", str(200 * 1024 * 1024))),
            fetch_timeout=float(env.get("PIPEGRAPH_FETCH_TIMEOUT", "60")),
            test_run_timeout=float(env.get("PIPEGRAPH_TEST_RUN_TIMEOUT", "3600")),
            sandbox=SandboxSettings.from_env(env),
            github=GitHubSettings.from_env(env),
            empty_pipeline_grace=float(env.get("PIPEGRAPH_EMPTY_PIPELINE_GRACE", "3600")),
            compiled_reads=_flag(env.get("PIPEGRAPH_COMPILED_READS", "true")),
            cli_login_rate=_rates(env, "PIPEGRAPH_CLI_LOGIN_RATE", "5/minute;30/hour"),
            cli_login_max_pending=_positive(env, "PIPEGRAPH_CLI_LOGIN_MAX_PENDING", "1000"),
        )

    @property
    def slug_dir(self) -> Path:
        return self.data_dir / "slugs"

    @property
    def source_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def repo_dir(self) -> Path:
        """One bare git repository per app, shared by the API replicas like the slug store."""
        return self.data_dir / "repos"

    @property
    def build_cache_dir(self) -> Path:
        """Per-app build caches and fetched buildpacks, kept between builds."""
        return self.data_dir / "cache"


@dataclass(frozen=True)
class GitHubSettings:
    """How pipegraph reaches GitHub: a GitHub App (its installation looked up per repository) or a token."""

    api_url: str = "https://api.github.com"  # GitHub Enterprise Server: https://HOST/api/v3
    token: str = ""
    app_id: str = ""
    app_private_key: str = ""  # PEM text
    # A waitForCi deploy whose commit got no commit status and no check suite this long after its push is skipped
    # (a repository without CI would hold it for ever); one whose CI reported looks at GitHub again this often.
    wait_for_ci_timeout: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitHubSettings:
        return cls(
            api_url=(env.get("PIPEGRAPH_GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            token=env.get("PIPEGRAPH_GITHUB_TOKEN", ""),
            app_id=env.get("PIPEGRAPH_GITHUB_APP_ID", ""),
            app_private_key=env.get("PIPEGRAPH_GITHUB_APP_PRIVATE_KEY", "").replace("\\n", "\n"),
            wait_for_ci_timeout=_positive_seconds(env, "PIPEGRAPH_WAIT_FOR_CI_TIMEOUT", "3600"),
        )

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.app_id and self.app_private_key))


def _positive(env: Mapping[str, str], name: str, default: str) -> int:
    value = env.get(name, default)
    # isascii too: str.isdigit() accepts "²", which int() then refuses with a message that names no setting.
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _positive_seconds(env: Mapping[str, str], name: str, default: str) -> float:
    value = env.get(name, default)
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{name} must be a number of seconds above 0, not {value!r}")
    return seconds


def _rates(env: Mapping[str, str], name: str, default: str) -> str:
    """Rate limits in the `limits` library's notation ("5/minute;30/hour"), checked at start rather than at the first
    request they would refuse."""
    from limits import parse_many

    value = env.get(name, default).strip()
    try:
        if all(item.amount >= 1 for item in parse_many(value)):
            return value
    except ValueError:
        pass
    raise ValueError(f"{name} must be rate limits such as '5/minute;30/hour', not {value!r}")


def _local_secret(data_dir: Path) -> str:
    """A secret kept in the data folder, so a single machine needs no configuration and restarts keep URLs valid."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return path.read_text().strip()
