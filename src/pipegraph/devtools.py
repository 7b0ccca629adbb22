"""Conveniences for `pipegraph dev`: a reusable local token, a sign-in link and an optional demo pipeline."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import AsyncIterator

from pipegraph.accounts.service import authenticate, create_token, get_or_create_user
from pipegraph.accounts.sessions import create_login_link_token
from pipegraph.apps.models import App
from pipegraph.apps.service import create_app
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.service import add_app, create_pipeline
from pipegraph.releases.service import create_release
from pipegraph.settings import Settings
from pipegraph.slugs.service import create_slug, receive_blob
from pipegraph.slugs.store import LocalSlugStore


async def dev_login_url(base_url: str, email: str) -> str:
    """A one-time sign-in link for the dashboard (like Jupyter's), new on every start; it sets a session cookie."""
    user = await get_or_create_user(email, name="Local developer")
    return f"{base_url}/login?token={await create_login_link_token(user)}"


async def dev_token(settings: Settings, email: str) -> str:
    """The local user's token, kept in the data folder so restarts print the same one."""
    path = settings.data_dir / "dev-token"
    if path.exists():
        secret = path.read_text().strip()
        if await authenticate(secret):
            return secret
    user = await get_or_create_user(email, name="Local developer")
    _, secret = await create_token(user, description="pipegraph dev")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return secret


def demo_tarball(message: str) -> bytes:
    """A tiny slug: ./app/Procfile-like content, enough to deploy and promote."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in {"app/README": message, "app/bin/web": "#!/bin/sh\necho web\n"}.items():
            data = content.encode()
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def seed_demo(settings: Settings, email: str) -> None:
    """Pipeline `shop`: shop-dev, shop-staging, shop-prod and shop-admin, each with a release or two."""
    if await Pipeline.exists(name="shop"):
        return
    owner = await get_or_create_user(email)
    store = LocalSlugStore(settings.slug_dir)
    apps: dict[str, App] = {}
    for name in ("shop-dev", "shop-staging", "shop-prod", "shop-admin"):
        apps[name] = await App.get_or_none(name=name) or await create_app(
            owner=owner, name=name, stack=None, default_stack=settings.default_stack
        )
    pipeline, _ = await create_pipeline(owner=owner, name="shop", app=apps["shop-dev"], stage=None)
    await add_app(pipeline, apps["shop-staging"], "staging")
    await add_app(pipeline, apps["shop-prod"], "production")
    await add_app(pipeline, apps["shop-admin"], "production")
    for number, (name, commits) in enumerate(
        {"shop-dev": 2, "shop-staging": 2, "shop-prod": 1, "shop-admin": 1}.items()
    ):
        for commit in range(commits):
            data = demo_tarball(f"demo build {number}.{commit}")
            slug = await create_slug(
                app=apps[name],
                checksum=f"SHA256:{hashlib.sha256(data).hexdigest()}",
                process_types={"web": "./bin/web"},
                stack=None,
                commit=hashlib.sha1(data).hexdigest(),
                commit_description=f"Demo change {commit + 1}",
            )
            slug = await receive_blob(slug, _chunks(data), store=store, max_bytes=settings.slug_max_bytes)
            await create_release(app=apps[name], slug=slug, description="", user=owner)
