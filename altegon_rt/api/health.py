"""Liveness and readiness: ``GET /healthz`` (the process answers) and ``GET /readyz`` (storage answers)."""

from __future__ import annotations

from altegon_rt.api.routing import PUBLIC, Call, Reply, endpoint
from altegon_rt.errors import ServiceUnavailable


@endpoint(
    "GET", "/healthz", tag="health", auth=PUBLIC, summary="The process is alive",
    responses={200: "Alive"}, example={"status": "ok"},
)  # fmt: skip
async def healthz(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


@endpoint(
    "GET", "/readyz", tag="health", auth=PUBLIC, summary="Storage is reachable",
    responses={200: "Ready", 503: "Storage unreachable"}, example={"status": "ready", "storage": "embedded"},
)  # fmt: skip
async def readyz(call: Call) -> Reply:
    store = call.services.store
    if not await store.ping():
        raise ServiceUnavailable(f"storage ({store.kind}) is not reachable", code="not_ready")
    return Reply(200, {"status": "ready", "storage": store.kind})


ROUTES = (healthz, readyz)
