"""Structured logs: one JSON object a line when not on a terminal, each carrying the request id, the GraphQL operation
and the viewer's id of the request it was written in, so that one request can be followed through every line."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_fields: ContextVar[dict[str, Any] | None] = ContextVar("pipegraph_log_fields", default=None)
# The attributes every LogRecord has: anything else on a record was passed in `extra=` and belongs in the line.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# A caller's request id is kept only when it cannot forge a log line or grow without bound.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
REQUEST_ID_HEADER = "x-request-id"


def log_context(**fields: Any) -> None:
    """Add fields to every line logged from here on in this request (or task)."""
    _fields.set({**(_fields.get() or {}), **fields})


def current_log_context() -> dict[str, Any]:
    return dict(_fields.get() or {})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_fields.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: the usual line, with the context fields after it."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{key}={value}" for key, value in vars(record).items() if key not in _STANDARD)
        return f"{text}  {extra}" if extra else text


class _PipegraphHandler(logging.StreamHandler[IO[str]]):
    """The one handler `configure_logging` installs: known by its class, so configuring again replaces it."""


def configure_logging(
    *, stream: IO[str] | None = None, json_lines: bool | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send every logger's records to `stream` (stderr): JSON lines unless it is a terminal (or `json_lines` says).

    For a process's entry point (`pipegraph serve`, `worker`, `dev`), never on import. Idempotent: a second call
    replaces the handler of the first rather than adding one, and handlers others installed (pytest's) are left in
    place. Returns the handler, for `stop_logging`."""
    stream = stream or sys.stderr
    as_json = not stream.isatty() if json_lines is None else json_lines
    handler = _PipegraphHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JSONFormatter() if as_json else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for previous in [each for each in root.handlers if isinstance(each, _PipegraphHandler)]:
        stop_logging(previous)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def capture_stray_output() -> None:
    """Send warnings, exceptions Python can only report (a connection collected unclosed, say) and the one that stops
    the process through logging, so that every line a process writes is one of ours: JSON off a terminal. For a
    process's entry point only."""
    logging.captureWarnings(True)

    def log_unraisable(unraisable: Any) -> None:
        error = unraisable.exc_value
        logging.getLogger("pipegraph.unraisable").warning(
            "%s: %r",
            unraisable.err_msg or "Exception ignored in",
            unraisable.object,
            exc_info=(type(error), error, unraisable.exc_traceback) if error is not None else None,
        )

    def log_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        logging.getLogger("pipegraph.uncaught").critical(
            "the process stops: %r", error, exc_info=(kind, error, traceback)
        )

    sys.unraisablehook = log_unraisable
    sys.excepthook = log_uncaught


def stop_logging(handler: logging.Handler) -> None:
    """Take a handler `configure_logging` installed off the root logger again, and close it."""
    logging.getLogger().removeHandler(handler)
    handler.close()


class RequestIds:
    """Gives each HTTP request and WebSocket an id (the caller's `X-Request-Id` when well-formed), logs with it and
    answers with it, so a client's report and the server's lines meet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        _fields.set({"request_id": request_id})

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
