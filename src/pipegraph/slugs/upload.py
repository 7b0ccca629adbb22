"""The HTTP PUT endpoint behind a slug's `uploadUrl`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.settings import Settings
from pipegraph.slugs import service
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore

_STATUS = {
    ErrorCode.SLUG_ALREADY_UPLOADED: 409,
    ErrorCode.SLUG_TOO_LARGE: 413,
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def put_slug_blob(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    store: SlugStore = request.app.state.slug_store
    try:
        slug_id = int(request.path_params["slug_id"])
    except ValueError:
        return _error(404, "not_found", "no such slug")
    if not service.verify_upload_signature(
        secret_key=settings.secret_key,
        slug_id=slug_id,
        expires=request.query_params.get("expires", ""),
        signature=request.query_params.get("signature", ""),
    ):
        return _error(403, "invalid_signature", "upload URL is invalid or expired: ask createSlug for a new one")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.slug_max_bytes:
        return _error(413, "slug_too_large", f"slug is larger than the limit of {settings.slug_max_bytes} bytes")
    slug = await Slug.get_or_none(id=slug_id)
    if slug is None:
        return _error(404, "not_found", f"slug {slug_id} not found")
    try:
        slug = await service.receive_blob(slug, request.stream(), store=store, max_bytes=settings.slug_max_bytes)
    except DomainError as error:
        return _error(_STATUS.get(error.code, 400), error.code.value, error.message)
    return JSONResponse({"id": slug.id, "checksum": slug.checksum, "size": slug.size})
