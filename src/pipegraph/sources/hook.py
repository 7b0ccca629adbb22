"""The pre-receive hook's program, run by `git receive-pack` under `git http-backend` under the API.

It checks the pushed branch, archives the pushed commit (visible to it through git's quarantine environment, so a
refused push stores nothing), hands the archive to the API's push endpoint, and prints the build's output as it
comes. It starts once per push, so it starts fast: run as a script with `python -I -S`, standard library only, and
HTTP spoken over a plain socket (importing urllib or http.client costs more than the rest of the hook).

Its narrow channel to pipegraph is its environment, set by the API for this one push: the endpoint's URL and a
signed, expiring grant naming the app and the pusher (PIPEGRAPH_PUSH_*). It holds no token, no database or Redis
settings, and can do nothing but start a build of this app as this user.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import BinaryIO

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
    _, new, ref = updates[0]
    if new == ZERO:
        return refuse("the deployed branch cannot be deleted")
    archive = subprocess.run(["git", "archive", "--format=tar.gz", new], capture_output=True, check=False)
    if archive.returncode != 0:
        return refuse(f"could not archive {new[:8]}: {archive.stderr.decode(errors='replace').strip()}")
    subject = subprocess.run(["git", "log", "-1", "--format=%s", new], capture_output=True, check=False)
    headers = {
        "Content-Type": "application/gzip",
        "X-Pipegraph-Push-App": os.environ["PIPEGRAPH_PUSH_APP"],
        "X-Pipegraph-Push-User": os.environ["PIPEGRAPH_PUSH_USER"],
        "X-Pipegraph-Push-Expires": os.environ["PIPEGRAPH_PUSH_EXPIRES"],
        "X-Pipegraph-Push-Signature": os.environ["PIPEGRAPH_PUSH_SIGNATURE"],
        "X-Pipegraph-Commit": new,
        "X-Pipegraph-Branch": ref.removeprefix("refs/heads/"),
        "X-Pipegraph-Commit-Subject": subject.stdout.decode(errors="replace").strip().encode().hex(),
    }
    try:
        status, lines = post(os.environ["PIPEGRAPH_PUSH_URL"], headers, archive.stdout)
        if status != 200:
            return refuse(" ".join(lines).strip() or f"pipegraph answered HTTP {status}")
        for line in lines:
            if line.startswith(RESULT_PREFIX):
                return 0 if line.removeprefix(RESULT_PREFIX) == "succeeded" else 1
            say(line)
    except (OSError, ValueError) as error:
        return refuse(f"could not reach pipegraph to build: {error}")
    return refuse("the build's output ended without a result")


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, Iterator[str]]:
    """POST `body` to an http:// URL; the status, and the response's lines as they arrive (chunked or not)."""
    hostport, _, path = url.removeprefix("http://").partition("/")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
    connection = socket.create_connection((host, int(port)), timeout=3600)
    head = [f"POST /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    reader = connection.makefile("rb")
    status = int(reader.readline().split()[1])
    chunked = False
    while (header := reader.readline().strip()) != b"":
        name, _, value = header.decode("latin-1").partition(":")
        chunked |= name.strip().lower() == "transfer-encoding" and "chunked" in value.lower()
    return status, _lines(_chunks(reader) if chunked else iter(lambda: reader.read1(65536), b""))


def _chunks(reader: BinaryIO) -> Iterator[bytes]:
    while (size := int(reader.readline().split(b";")[0].strip() or b"0", 16)) > 0:
        yield reader.read(size)
        reader.readline()  # the CRLF after each chunk


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw.decode(errors="replace")
    if pending:
        yield pending.decode(errors="replace")


if __name__ == "__main__":
    sys.exit(main())
