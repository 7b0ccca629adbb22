"""One computation per burst of events, shared by every subscriber of the process that needs the same thing.

A burst (the batch a stream's reader hands to all its followers at once: pipegraph/streams/hub.py) reaches a thousand
sockets in the same moment, and each would read or compute the same thing for it. The first to ask computes it
(while it runs, the others wait for it); the others, within `seconds`, are handed the same value. A failed or
cancelled computation is not shared: whoever asks next computes it themselves, as they always did.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")
# Long enough for every socket of a burst to take what was made for it, short enough that the next burst makes its own.
BURST_SECONDS = 0.5


@dataclass
class _Entry(Generic[V]):
    keep: object  # kept alive with the value, so that no other object can take its id meanwhile (callers key by id)
    result: asyncio.Future[V]
    until: float = math.inf


class BurstShare(Generic[V]):
    def __init__(self, seconds: float = BURST_SECONDS) -> None:
        self.seconds = seconds
        self._entries: dict[Hashable, _Entry[V]] = {}

    async def get(self, key: Hashable, make: Callable[[], Awaitable[V]], *, keep: object = None) -> tuple[V, bool]:
        """`make()`'s value for `key`, or the one another caller got for it; and whether this call computed it.
        `keep`: an object whose id is part of `key` (it must still be the same object for the value to be shared)."""
        loop = asyncio.get_running_loop()
        shared = self._entries.get(key)
        if shared is not None and shared.keep is keep and shared.until > loop.time():
            try:
                return await asyncio.shield(shared.result), False
            except Exception:  # the first one failed: this one computes itself
                pass
            except asyncio.CancelledError:
                if not shared.result.cancelled():
                    raise  # this caller is going away; the shared computation carries on for the others
        shared = self._entries[key] = _Entry(keep, loop.create_future())
        try:
            value = await make()
        except BaseException as error:
            if self._entries.get(key) is shared:
                del self._entries[key]
            if isinstance(error, asyncio.CancelledError):
                shared.result.cancel()
            else:
                shared.result.set_exception(error)
                shared.result.exception()  # retrieved: a failure nobody waited for is not logged as "never retrieved"
            raise
        shared.result.set_result(value)
        shared.until = loop.time() + self.seconds
        loop.call_later(self.seconds, self._forget, key, shared)
        return value, True

    async def for_burst(self, burst: object | None, key: Hashable, make: Callable[[], Awaitable[V]]) -> V:
        """`make()`'s value, shared by the callers handed the same `burst` (what a stream's reader delivered to all
        its followers), or made for this caller alone when there is none (a read of its own: a snapshot, a
        catch-up)."""
        if burst is None:
            return await make()
        value, _ = await self.get((key, burst), make)
        return value

    def made(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept for `key`, or `make()`'s, made here and now and kept: for a value made without waiting,
        which no caller can find half made."""
        loop = asyncio.get_running_loop()
        shared = self._entries.get(key)
        if shared is not None and shared.keep is None and shared.until > loop.time() and shared.result.done():
            return shared.result.result()
        value = make()
        shared = self._entries[key] = _Entry(None, loop.create_future(), loop.time() + self.seconds)
        shared.result.set_result(value)
        loop.call_later(self.seconds, self._forget, key, shared)
        return value

    def _forget(self, key: Hashable, shared: _Entry[V]) -> None:
        if self._entries.get(key) is shared:
            del self._entries[key]
