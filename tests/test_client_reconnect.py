"""Following a promotion survives the API restarting: the CLI subscribes again and misses nothing.

The distributed shape (`pipegraph serve` and `pipegraph worker` sharing a database and Redis) lets the API go away
while the worker goes on with the promotion.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from pipegraph.redis import EmbeddedRedis
from tests.support.client_scene import PIPEGRAPH, LiveApi, free_port, server_env, spawn, stop, wait_healthy

SET_VARS = "mutation($i: SetConfigVarsInput!) { setConfigVars(input: $i) { userErrors { message } } }"


def test_following_a_promotion_survives_an_api_restart(tmp_path: Path) -> None:
    # given an API and a separate worker on one SQLite database and one Redis
    redis = EmbeddedRedis(tmp_path / "redis").start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **server_env(tmp_path / "data"),
        "DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis.url,
        "PIPEGRAPH_SECRET_KEY": "reconnect-test",
        "PIPEGRAPH_PUBLIC_URL": url,
    }
    log = tmp_path / "servers.log"
    subprocess.run([PIPEGRAPH, "migrate"], env=env, check=True, capture_output=True)
    made = subprocess.run([PIPEGRAPH, "tokens", "create", "--email", "dev@localhost"], env=env, capture_output=True)
    serve_command = [PIPEGRAPH, "serve", "--port", str(port)]
    api = spawn(serve_command, env=env, log=log)
    worker = spawn([PIPEGRAPH, "worker"], env=env, log=log)
    (tmp_path / "home").mkdir()
    live = LiveApi(url=url, token=made.stdout.decode().strip(), data_dir=tmp_path / "data", home=tmp_path / "home")
    follower = None
    try:
        wait_healthy(url, api, log)
        live.pipeline("shop", {"shop-staging": "staging", "shop-prod": "production"})
        live.gql(SET_VARS, {"i": {"app": "shop-prod", "vars": {"SLOW": "2"}}})
        live.deploy("shop-staging", commit="a" * 40, release_script='sleep "${SLOW:-0}"\necho "slept ${SLOW:-0}"\n')
        live.wait_released("shop-staging", 1)

        # when a promotion is followed, and the API restarts during its release phase
        follower, seen = live.start_cli(
            "pipelines:promote", "-a", "shop-staging", "--verbose", until="⬢ shop-prod: release phase"
        )
        stop(api, signal.SIGTERM)
        api = spawn(serve_command, env=env, log=log)
        stdout, stderr = follower.communicate(timeout=60)

        # then the CLI said it was reconnecting, and followed the promotion to its end, each log line once
        assert follower.returncode == 0, stderr
        assert "reconnecting..." in stderr
        lines = "".join(seen).splitlines() + stdout.splitlines()
        assert lines.count("shop-prod | slept 2") == 1
        assert lines.count("⬢ shop-prod: succeeded, v1") == 1
        assert lines[-1] == "shop-prod: succeeded"
    finally:
        if follower and follower.poll() is None:
            follower.kill()
        stop(api)
        stop(worker, signal.SIGTERM)
        redis.stop()
