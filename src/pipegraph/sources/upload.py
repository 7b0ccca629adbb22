"""The HTTP PUT endpoint behind a source's `uploadUrl`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.relay import NO_ROW_ID, db_id
from pipegraph.settings import Settings
from pipegraph.sources import service
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore

_STATUS = {ErrorCode.SOURCE_ALREADY_UPLOADED: 409, ErrorCode.SOURCE_TOO_LARGE: 413}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def put_source_blob(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    # The bounded parse every id goes through: str.isdigit() lets "²" through to int(), a 500.
    source_id = db_id(request.path_params["source_id"])
    if source_id == NO_ROW_ID:
        return _error(404, "not_found", "no such source")
    if not service.verify_upload(
        settings,
        source_id,
        expires=request.query_params.get("expires", ""),
        signature=request.query_params.get("signature", ""),
    ):
        return _error(403, "invalid_signature", "upload URL is invalid or expired: ask createSource for a new one")
    source = await Source.get_or_none(id=source_id)
    if source is None:
        return _error(404, "not_found", f"source {source_id} not found")
    try:
        source = await service.receive_blob(
            source,
            request.stream(),
            store=LocalSourceStore(settings.source_dir),
            max_bytes=settings.source_max_bytes,
        )
    except DomainError as error:
        return _error(_STATUS.get(error.code, 400), error.code.value, error.message)
    return JSONResponse({"checksum": source.checksum, "size": source.size})
