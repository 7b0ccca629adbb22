"""The pre-receive hook's program, run by `git receive-pack` under `git http-backend` under the API.

It checks the pushed branch, archives the pushed commit (visible to it through git's quarantine environment, so a
refused push stores nothing), hands the archive to the API's push endpoint, and prints the build's output as it
comes. It starts once per push, so it starts fast: run as a script with `python -I -S`, and it imports only modules
written in C (`_socket`, `select`): `subprocess`, `socket`, `typing` and the like cost more to import than the rest of
the hook takes on a loaded machine. git runs through `os.posix_spawnp`, HTTP is spoken over a plain socket.

Its narrow channel to pipegraph is its environment, set by the API for this one push: the endpoint's URL and a
signed, expiring grant naming the app and the pusher (PIPEGRAPH_PUSH_*). It holds no token, no database or Redis
settings, and can do nothing but start a build of this app as this user.
"""

from __future__ import annotations

import _socket
import os
import select
import sys

TYPE_CHECKING = False  # typing itself is not imported: see above
if TYPE_CHECKING:
    from collections.abc import Iterator

DEPLOY_BRANCHES = ("refs/heads/main", "refs/heads/master")
ZERO = "0" * 40
RESULT_PREFIX = "@@pipegraph-result "
READ_CHUNK = 65536


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
    # Both at once: each is a process start, the longest part of either.
    archive, subject = git("archive", "--format=tar.gz", new), git("log", "-1", "--format=%s", new)
    (archived, archive_error), (said, _) = drain(archive), drain(subject)
    if wait(archive) != 0:
        return refuse(f"could not archive {new[:8]}: {archive_error.decode(errors='replace').strip()}")
    wait(subject)
    headers = {
        "Content-Type": "application/gzip",
        "X-Pipegraph-Push-App": os.environ["PIPEGRAPH_PUSH_APP"],
        "X-Pipegraph-Push-User": os.environ["PIPEGRAPH_PUSH_USER"],
        "X-Pipegraph-Push-Expires": os.environ["PIPEGRAPH_PUSH_EXPIRES"],
        "X-Pipegraph-Push-Signature": os.environ["PIPEGRAPH_PUSH_SIGNATURE"],
        "X-Pipegraph-Commit": new,
        "X-Pipegraph-Branch": ref.removeprefix("refs/heads/"),
        "X-Pipegraph-Commit-Subject": said.decode(errors="replace").strip().encode().hex(),
    }
    try:
        status, lines = post(os.environ["PIPEGRAPH_PUSH_URL"], headers, archived)
        if status != 200:
            return refuse(" ".join(lines).strip() or f"pipegraph answered HTTP {status}")
        for line in lines:
            if line.startswith(RESULT_PREFIX):
                return 0 if line.removeprefix(RESULT_PREFIX) == "succeeded" else 1
            say(line)
    except (OSError, ValueError) as error:
        return refuse(f"could not reach pipegraph to build: {error}")
    return refuse("the build's output ended without a result")


Started = tuple[int, int, int]  # a child's pid, and the read ends of its stdout and stderr


def git(*args: str) -> Started:
    """Start `git *args` (in the quarantine environment git gave the hook) with its output on pipes."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    # os.pipe's ends are close-on-exec: the child keeps only the two it gets as stdout and stderr.
    actions = [(os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)]
    try:
        pid = os.posix_spawnp("git", ["git", *args], os.environ, file_actions=actions)
    finally:
        os.close(out_write)
        os.close(err_write)
    return pid, out_read, err_read


def drain(started: Started) -> tuple[bytes, bytes]:
    """All of a child's stdout and stderr, read together so neither pipe fills while the other is read."""
    _, *fds = started
    received: dict[int, list[bytes]] = {fd: [] for fd in fds}
    open_fds = list(fds)
    while open_fds:
        ready, _, _ = select.select(open_fds, [], [])
        for fd in ready:
            chunk = os.read(fd, READ_CHUNK)
            if chunk:
                received[fd].append(chunk)
            else:
                os.close(fd)
                open_fds.remove(fd)
    return b"".join(received[fds[0]]), b"".join(received[fds[1]])


def wait(started: Started) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(started[0], 0)[1])


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, Iterator[str]]:
    """POST `body` to an http:// URL; the status, and the response's lines as they arrive (chunked or not)."""
    hostport, _, path = url.removeprefix("http://").partition("/")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
    connection = connect(host.strip("[]"), int(port))
    head = [f"POST /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    reader = Reader(connection)
    status = int(reader.readline().split()[1])
    chunked = False
    while (header := reader.readline().strip()) != b"":
        name, _, value = header.decode("latin-1").partition(":")
        chunked |= name.strip().lower() == "transfer-encoding" and "chunked" in value.lower()
    return status, _lines(_chunks(reader) if chunked else iter(reader.read1, b""))


def connect(host: str, port: int) -> _socket.socket:
    """`socket.create_connection` without the `socket` module: each address of `host` in turn."""
    error: OSError = OSError(f"no address for {host}")
    # A str name is encoded with the idna codec, whose import alone (re, unicodedata) costs tens of milliseconds: an
    # ASCII name is handed over as the same bytes.
    name = host.encode() if host.isascii() else host
    for family, kind, protocol, _, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        connection = _socket.socket(family, kind, protocol)
        try:
            connection.settimeout(3600)
            connection.connect(address)
            return connection
        except OSError as failure:
            connection.close()
            error = failure
    raise error


class Reader:
    """Buffered reads of a socket: lines, exact sizes, or whatever arrived (`makefile` lives in `socket`)."""

    def __init__(self, connection: _socket.socket) -> None:
        self.connection, self.buffer = connection, b""

    def _fill(self) -> bool:
        chunk = self.connection.recv(READ_CHUNK)
        self.buffer += chunk
        return bool(chunk)

    def readline(self) -> bytes:
        while b"\n" not in self.buffer and self._fill():
            pass
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size and self._fill():
            pass
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read1(self) -> bytes:
        if not self.buffer:
            self._fill()
        data, self.buffer = self.buffer, b""
        return data


def _chunks(reader: Reader) -> Iterator[bytes]:
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
