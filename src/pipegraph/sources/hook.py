"""The pre-receive hook's program, run by `git receive-pack` under `git http-backend` under the API.

It checks the pushed branch, archives the pushed commit (visible to it through git's quarantine environment, so a
refused push stores nothing), hands the archive to the API's push endpoint, and prints the build's output as it
comes. Standard library only: it starts once per push and must start fast.

Its narrow channel to pipegraph is its environment, set by the API for this one push: the endpoint's URL and a
signed, expiring grant naming the app and the pusher (PIPEGRAPH_PUSH_*). It holds no token, no database or Redis
settings, and can do nothing but start a build of this app as this user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

DEPLOY_BRANCHES = ("refs/heads/main", "refs/heads/master")
ZERO = "0" * 40
RESULT_PREFIX = "@@pipegraph-result "


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def refuse(message: str) -> int:
    say(f" !     {message}")
    return 1


def main() -> int:
    updates = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
    if not updates:
        return 0
    for _, _, ref in updates:
        if ref not in DEPLOY_BRANCHES:
            branch = ref.removeprefix("refs/heads/")
            return refuse(
                f"pipegraph deploys only main or master, not {branch}: push it with `git push <remote> {branch}:main`"
            )
    if len(updates) > 1:
        return refuse("push main or master, not both at once")
    _, new, _ = updates[0]
    if new == ZERO:
        return refuse("the deployed branch cannot be deleted")
    archive = subprocess.run(["git", "archive", "--format=tar.gz", new], capture_output=True, check=False)
    if archive.returncode != 0:
        return refuse(f"could not archive {new[:8]}: {archive.stderr.decode(errors='replace').strip()}")
    subject = subprocess.run(["git", "log", "-1", "--format=%s", new], capture_output=True, check=False)
    request = urllib.request.Request(
        os.environ["PIPEGRAPH_PUSH_URL"],
        data=archive.stdout,
        method="POST",
        headers={
            "Content-Type": "application/gzip",
            "X-Pipegraph-Push-App": os.environ["PIPEGRAPH_PUSH_APP"],
            "X-Pipegraph-Push-User": os.environ["PIPEGRAPH_PUSH_USER"],
            "X-Pipegraph-Push-Expires": os.environ["PIPEGRAPH_PUSH_EXPIRES"],
            "X-Pipegraph-Push-Signature": os.environ["PIPEGRAPH_PUSH_SIGNATURE"],
            "X-Pipegraph-Commit": new,
            "X-Pipegraph-Commit-Subject": subject.stdout.decode(errors="replace").strip().encode().hex(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            for raw in response:
                line = raw.decode(errors="replace").rstrip("\n")
                if line.startswith(RESULT_PREFIX):
                    return 0 if line.removeprefix(RESULT_PREFIX) == "succeeded" else 1
                say(line)
    except urllib.error.HTTPError as error:
        return refuse(error.read().decode(errors="replace").strip() or f"pipegraph answered HTTP {error.code}")
    except OSError as error:
        return refuse(f"could not reach pipegraph to build: {error}")
    return refuse("the build's output ended without a result")


if __name__ == "__main__":
    sys.exit(main())
