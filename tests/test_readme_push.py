"""The README's first deploy, run as written: its shell commands against a live server, its printed output checked."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pipegraph.sandbox.host import WARNING
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import create_app
from tests.support.git_scene import git_env

README = Path(__file__).resolve().parent.parent / "README.md"


def _first_deploy() -> tuple[str, list[str]]:
    """The shell block that ends with `git push pipegraph main`, and the output block that follows it."""
    text = README.read_text()
    script = re.search(r"```sh\n(mkdir shop.*?git push pipegraph main\n)```", text, flags=re.DOTALL)
    shown = re.search(r"git push pipegraph main\n```\n.*?```\n(remote: .*?)```", text, flags=re.DOTALL)
    assert script, "the README's first deploy is a git push"
    assert shown, "the README shows what the first push prints"
    return script.group(1), [line for line in shown.group(1).splitlines() if line.startswith("remote:")]


async def test_the_readme_first_deploy_works_as_written(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    script, shown = _first_deploy()
    await create_app(gql, name="shop-staging")
    env = {**git_env(tmp_path), "TOKEN": viewer.token}
    process = await asyncio.create_subprocess_shell(
        "set -e\n" + script.replace("127.0.0.1:8000", git_server),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    output = out.decode()
    assert process.returncode == 0, output
    printed = [line.rstrip() for line in output.splitlines() if line.startswith("remote:") and WARNING not in line]
    # The slug's size is the one line that depends on the machine's gzip.
    assert [re.sub(r"Done: .*", "Done: …", line) for line in printed] == [
        re.sub(r"Done: .*", "Done: …", line) for line in shown
    ]
