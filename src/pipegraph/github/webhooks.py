"""POST /webhooks/github: verify the signature before anything is parsed, record the delivery once, enqueue it.

The handler never does the work: it answers within GitHub's 10 s, and the arq job (events.process_delivery) runs
the handlers. Which connection's secret signed a delivery is found by trying each (constant-time HMAC, through
gidgethub): one repository may feed several pipelines, and a delivery names its repository only in its (not yet
trusted) body.
"""

from __future__ import annotations

from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.exceptions import IntegrityError

from pipegraph.github.events import delivery_job
from pipegraph.github.models import DeliveryOutcome, RepositoryConnection, WebhookDelivery
from pipegraph.jobs.queue import JobQueue


def _verified(request: Request, body: bytes, secrets: list[str]) -> Event | None:
    for secret in secrets:
        try:
            return Event.from_http(request.headers, body, secret=secret)
        except ValidationFailure:
            continue
    return None


async def receive_webhook(request: Request) -> Response:
    body = await request.body()
    secrets: list[str] = await RepositoryConnection.all().values_list("webhook_secret", flat=True)  # type: ignore[assignment]
    try:
        event = _verified(request, body, list(dict.fromkeys(secrets)))
    except BadRequest as error:
        return JSONResponse({"error": str(error) or "unsupported content type"}, status_code=int(error.status_code))
    if event is None:
        return JSONResponse({"error": "bad or missing X-Hub-Signature-256"}, status_code=401)
    if not event.delivery_id:
        return JSONResponse({"error": "X-GitHub-Delivery is missing"}, status_code=400)
    data = event.data if isinstance(event.data, dict) else {}
    repository = str((data.get("repository") or {}).get("full_name", "")).lower() or None
    action = data.get("action") if isinstance(data.get("action"), str) else None
    try:
        delivery = await WebhookDelivery.create(
            delivery_id=event.delivery_id[:100],
            event=event.event[:60],
            action=action[:60] if action else None,
            repository=repository,
            payload=data,
        )
    except IntegrityError:
        return JSONResponse({"ok": True, "duplicate": True})  # a redelivery: handled once already
    if event.event == "ping":
        await WebhookDelivery.filter(id=delivery.id).update(outcome=DeliveryOutcome.PROCESSED, message="pong")
        return JSONResponse({"ok": True, "zen": data.get("zen", "")})
    if repository is None or not await RepositoryConnection.exists(full_name=repository):
        await WebhookDelivery.filter(id=delivery.id).update(
            outcome=DeliveryOutcome.IGNORED, message=f"no pipeline is connected to {repository or 'this repository'}"
        )
        return JSONResponse({"ok": True, "ignored": True})
    queue: JobQueue = request.app.state.jobs
    await queue.enqueue([delivery_job(delivery.id)])
    return JSONResponse({"ok": True, "queued": True}, status_code=202)
