"""The quart-trio application: routes from every resource module, request ids, and the one error mapper.

Every error leaves as ``{"success": false, "error": {"code", "message"}}``: our ``ApiError``s with their
status, Quart's own 404/405/413/400 translated, storage outages as 503, and anything unexpected as a 500
that carries the request id (also in ``X-Request-Id``) while the traceback goes only to the server log.
"""

from __future__ import annotations

import logging
import secrets

from quart import Response, g, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from altegon_rt.api import (
    accounts,
    admin,
    files,
    health,
    hls,
    meetings,
    not_built,
    openapi,
    recordings,
    reporting,
    rooms,
    speech,
    storage,
    summaries,
    transcripts,
)
from altegon_rt.api.jsonio import error_body
from altegon_rt.api.routing import Route, mount
from altegon_rt.api.services import Services
from altegon_rt.demo import ROUTES as DEMO_ROUTES
from altegon_rt.errors import ApiError, StorageUnavailable
from altegon_rt.rtk import ROUTES as RTK_ROUTES

log = logging.getLogger(__name__)

ROUTES: tuple[Route, ...] = (
    *health.ROUTES,
    *openapi.ROUTES,
    *accounts.ROUTES,
    *rooms.ROUTES,
    *meetings.ROUTES,
    *recordings.ROUTES,
    *transcripts.ROUTES,
    *files.ROUTES,
    *storage.ROUTES,
    *reporting.ROUTES,
    *summaries.ROUTES,
    *speech.ROUTES,
    *hls.ROUTES,
    *admin.ROUTES,
    *DEMO_ROUTES,
    *not_built.ROUTES,
    *RTK_ROUTES,
)

# Every route's name (its operationId): what ``limits.routes`` may name.
ROUTE_NAMES = frozenset(route.name for route in ROUTES)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(error_body(code, message), status=status, content_type="application/json")
    if headers:
        response.headers.update(headers)
    return response


def create_app(services: Services) -> QuartTrio:
    app = QuartTrio("altegon_rt")
    # Per-route limits are enforced by BodyLimit in front of the app; Quart's own one must admit uploads.
    app.config["MAX_CONTENT_LENGTH"] = max(
        services.config.server.max_body_bytes, services.config.files.max_upload_bytes
    )
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = True
    # Quart cuts every response at 60 s by default, which cut multi-gigabyte recording downloads halfway.
    # Streams are paced by the client's reading (back-pressure), so there is no total deadline.
    app.config["RESPONSE_TIMEOUT"] = None
    mount(app, ROUTES, services)
    route_limits = {name: per_minute for name, per_minute in services.config.limits.routes if per_minute > 0}
    services.openapi = openapi.build_document(ROUTES, route_limits)
    services.docs_html = openapi.render_html(services.openapi)

    @app.before_request
    async def assign_request_id() -> None:
        g.request_id = secrets.token_hex(8)

    @app.after_request
    async def add_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(StorageUnavailable)
    async def storage_error(exc: StorageUnavailable) -> Response:
        return _error(503, "storage_unavailable", "storage is not reachable; try again shortly", {"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = {}
        if status == 405:
            valid = getattr(exc, "valid_methods", None) or []
            headers["Allow"] = ", ".join(sorted(valid))
            message = f"method {request.method} is not allowed here"
        elif status == 404:
            message = f"no route for {request.path}"
        else:
            message = exc.description or exc.name
        return _error(status, _HTTP_CODES.get(status, "http_error"), message, headers)

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        request_id = getattr(g, "request_id", "")
        log.error("unhandled error in %s %s [%s]", request.method, request.path, request_id, exc_info=exc)
        return Response(
            error_body("internal_error", "internal server error; quote the request id", request_id),
            status=500,
            content_type="application/json",
        )

    return app
