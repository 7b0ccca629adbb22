"""What one API process knows of its open WebSockets' access: revoked tokens, ended sessions, and each viewer's rights,
kept current by access notices (streams/notices.py) instead of database look-ups per event.

Only while `live` (subscribed to the notices, and every open socket re-checked since): otherwise the sockets and the
subscriptions read the database before each event, as they did before notices existed. A notice is applied here
before the process confirms it, and the revoke or rights change that sent it returns only after that confirmation:
a socket's check before each send (api/websocket.py) therefore sees every revocation that has returned.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

from pipegraph.access.policy import read_rights
from pipegraph.access.rights import Rights
from pipegraph.accounts.models import User
from pipegraph.accounts.service import live_tokens
from pipegraph.accounts.sessions import live_sessions
from pipegraph.streams.notices import AccessNotice, NoticeListener


class Socket(Protocol):
    """An open WebSocket's handler, as far as access goes (api/websocket.py)."""

    def credential(self) -> tuple[int | None, int | None]:
        """Its token's id and its browser session's id (either may be None)."""

    async def close_revoked(self) -> None:
        """Stop delivering at once, and close."""


class LiveAccess:
    def __init__(self, redis_url: str) -> None:
        self.listener = NoticeListener(redis_url, self._apply, self._recheck, self._forget_rights)
        self._sockets: weakref.WeakSet[Socket] = weakref.WeakSet()
        self.revoked_tokens: set[int] = set()
        self.ended_sessions: set[int] = set()
        self._rights: dict[int, Rights] = {}
        # Bumped by every rights notice: rights read while one arrived are used once, not kept.
        self._generation = 0
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def live(self) -> bool:
        return self.listener.live

    def listening_since(self) -> int | None:
        """The current stretch of listening, or None when notices are not heard: pass it to `watch`."""
        return self.listener.epoch if self.listener.live else None

    def start(self) -> None:
        self.listener.start()

    async def close(self) -> None:
        await self.listener.close()

    def watch(self, socket: Socket, checked_since: int | None) -> bool:
        """Close `socket` as soon as a notice names its credential (it is forgotten when it is gone), provided its
        credential was read from the database while listening (`checked_since`, from `listening_since` before the
        read) and still is: a revocation announced before may have missed it. Whether it is watched now."""
        if checked_since is None or self.listening_since() != checked_since:
            return False
        self._sockets.add(socket)
        return True

    def credential_revoked(self, token_id: int | None, session_id: int | None) -> bool:
        return token_id in self.revoked_tokens or session_id in self.ended_sessions

    async def rights_of(self, viewer: User) -> Rights:
        """The viewer's rights: kept per process while notices keep them current, else read every time."""
        if not self.live:
            return await read_rights(viewer.id)
        cached = self._rights.get(viewer.id)
        if cached is not None:
            return cached
        generation = self._generation
        rights = await read_rights(viewer.id)
        if self.live and generation == self._generation:
            self._rights[viewer.id] = rights
        return rights

    async def _apply(self, notice: AccessNotice) -> None:
        self.revoked_tokens |= notice.tokens
        self.ended_sessions |= notice.sessions
        if notice.users:
            self._generation += 1
            for user_id in notice.users:
                self._rights.pop(user_id, None)
        if notice.tokens or notice.sessions:
            for socket in list(self._sockets):
                if self.credential_revoked(*socket.credential()):
                    # The socket refuses to send from now on (close_revoked marks it first); closing may wait.
                    task = asyncio.create_task(socket.close_revoked())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)

    async def _recheck(self) -> None:
        """After (re)subscribing: whatever was revoked while this process did not listen, from the database."""
        self._forget_rights()
        sockets = list(self._sockets)
        tokens = {token for token, _ in (socket.credential() for socket in sockets) if token is not None}
        sessions = {session for _, session in (socket.credential() for socket in sockets) if session is not None}
        alive = await live_tokens(tokens) if tokens else set()
        open_sessions = await live_sessions(sessions) if sessions else {}
        await self._apply(
            AccessNotice(tokens=frozenset(tokens - alive), sessions=frozenset(sessions - set(open_sessions)))
        )

    def _forget_rights(self) -> None:
        self._generation += 1
        self._rights.clear()
