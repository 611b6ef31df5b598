"""Route declarations and the one wrapper every request goes through.

A handler is declared with :func:`endpoint`, which turns it into a frozen :class:`Route` carrying method,
path, authentication level, schemas, documented responses and audit action. Resource modules export
tuples of routes; :func:`mount` registers them on the Quart app, and ``openapi.py`` describes them. The
wrapper does, in order: authenticate, apply the route's own rate limit (``limits.routes``) and the write
limit, validate path, query and body, call the handler, and write the audit entry of an audited route,
whatever its outcome.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import trio
from quart import Quart, Response, g, request

from altegon_rt.api.body import parse_json_body
from altegon_rt.api.jsonio import dumps
from altegon_rt.api.schema import Field, Schema
from altegon_rt.api.services import Services
from altegon_rt.auth.principal import Principal
from altegon_rt.errors import ApiError, Forbidden, PayloadTooLarge

log = logging.getLogger(__name__)

PUBLIC, USER, ADMIN = "public", "user", "admin"
# RealtimeKit routes: a Bearer API token of the account named in the path (see altegon_rt/rtk/auth.py).
RTK = "rtk"
AUDIT_TIMEOUT_S = 5.0
_PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(slots=True)
class Call:
    """One request as a handler sees it: validated input, the caller, and the services."""

    services: Services
    request_id: str
    client_ip: str
    principal: Principal | None
    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]
    # Set by handlers so the audit entry names the object and, for sign-in routes, the actor.
    target: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "route declared without authentication"
        return self.principal

    def require_self_or_admin(self, user_id: str, what: str) -> None:
        if not self.user.may_act_for(user_id):
            raise Forbidden(f"you may not access another user's {what}")


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer: ``body`` is sent as JSON, or ``raw`` as is with ``content_type``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    stream: AsyncIterator[bytes] | None = None  # sent as it is read (file downloads)


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # OpenAPI form: /meetings/update/{meetingId}
    handler: Handler
    summary: str
    auth: str
    tag: str
    body: Schema | None
    params: Schema
    query: Schema
    responses: dict[int, str]
    example: Any
    audit: str | None
    # JSON Schemas of answers by status, for OpenAPI (errors always have the one error schema).
    schemas: dict[int, Any] = field(default_factory=dict)
    # The route is also served under each of these path prefixes (RealtimeKit's ``/client/v4``).
    prefixes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def quart_path(self) -> str:
        return _PATH_PARAM.sub(r"<\1>", self.path)


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    responses: dict[int, str],
    auth: str = USER,
    body: Schema | None = None,
    params: Iterable[Field] = (),
    query: Iterable[Field] = (),
    example: Any = None,
    audit: str | None = None,
    schemas: dict[int, Any] | None = None,
    prefixes: tuple[str, ...] = (),
) -> Callable[[Handler], Route]:
    """Declare a route; the decorated handler becomes the :class:`Route`.

    ``body`` is a :class:`Schema`, or any object with the same ``name``, ``validate`` and ``json_schema``.
    """
    assert auth in (PUBLIC, USER, ADMIN, RTK)
    params = tuple(params)
    assert {p.name for p in params} == set(_PATH_PARAM.findall(path)), path

    def wrap(handler: Handler) -> Route:
        return Route(
            method.upper(), path, handler, summary, auth, tag, body, Schema("path", params),
            Schema("query", tuple(query)), dict(responses), example, audit, dict(schemas or {}), prefixes,
        )  # fmt: skip

    return wrap


def client_ip(services: Services) -> str:
    if services.config.server.trust_proxy_headers:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.remote_addr or "unknown"


async def _read_body(schema: Schema, max_bytes: int) -> dict[str, Any]:
    length = request.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes")
    raw = await request.get_data(cache=False, as_text=False)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes")
    return schema.validate(parse_json_body(raw))


async def _build_call(route: Route, services: Services, path_values: dict[str, str]) -> Call:
    call = Call(services, g.request_id, client_ip(services), None, {}, {}, {})
    # A route's own limit (limits.routes) counts per caller: the principal once known, else the address. It
    # comes before the body is read, so a limited caller costs no upload.
    route_limit = services.limits.routes.get(route.name)
    if route.auth == PUBLIC and route_limit is not None:
        services.limits.check(route_limit, call.client_ip, f"requests to {route.name} from this address")
    if route.auth == RTK:
        assert services.rtk is not None, "RealtimeKit routes need services.rtk"
        call.principal = await services.rtk.authenticate(
            request.headers.get("Authorization"), path_values.get("account_id", "")
        )
    elif route.auth != PUBLIC:
        call.principal = await services.authenticator.authenticate(
            request.headers.get("Authorization"), request.headers.get("x-api-key")
        )
        if route.auth == ADMIN and not call.principal.is_admin:
            raise Forbidden("this route is for administrators")
    if call.principal is not None:
        if route_limit is not None:
            services.limits.check(route_limit, call.principal.user_id, f"requests to {route.name}")
        if route.method != "GET":
            services.limits.check(services.limits.writes_account, call.principal.user_id, "requests")
    call.path = route.params.validate(path_values)
    call.query = route.query.validate(dict(request.args.items()))
    if route.body is not None:
        call.body = await _read_body(route.body, services.config.server.max_body_bytes)
    return call


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "success"
    if isinstance(exc, ApiError):
        return f"failure:{exc.code}"
    if isinstance(exc, trio.Cancelled):
        return "cancelled"  # the client went away; a write already under way may still have happened
    return "error"


def _make_view(route: Route, services: Services) -> Callable[..., Awaitable[Response]]:
    async def view(**path_values: str) -> Response:
        call: Call | None = None
        error: BaseException | None = None
        try:
            call = await _build_call(route, services, path_values)
            reply = await route.handler(call)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if route.audit is not None and not isinstance(error, PayloadTooLarge):
                # Shielded: a client that disconnects cancels the handler, but a write it started in a worker
                # thread still completes, and must not go unaudited.
                with trio.CancelScope(shield=True), trio.move_on_after(AUDIT_TIMEOUT_S):
                    await _audit(route, services, call, error)
        return _respond(reply)

    view.__name__ = route.name
    return view


async def _audit(route: Route, services: Services, call: Call | None, error: BaseException | None) -> None:
    assert route.audit is not None
    try:
        actor: Principal | str | None = call.actor if call and call.actor else (call.principal if call else None)
        await services.audit(
            action=route.audit,
            outcome=_outcome(error),
            actor=actor,
            ip=call.client_ip if call else client_ip(services),
            request_id=g.request_id,
            target=call.target if call else {},
        )
    except Exception:
        # The request's own outcome stands; losing an audit line is logged loudly instead.
        log.exception("could not write audit entry for %s", route.audit)


def _respond(reply: Reply) -> Response:
    if reply.stream is not None:
        response = Response(reply.stream, status=reply.status, content_type=reply.content_type)
    elif reply.raw is not None:
        response = Response(reply.raw, status=reply.status, content_type=reply.content_type)
    elif reply.status == 204 or reply.body is None:
        response = Response(b"", status=reply.status)
    else:
        response = Response(dumps(reply.body), status=reply.status, content_type=reply.content_type)
    response.headers.update(reply.headers)
    return response


def mount(app: Quart, routes: Iterable[Route], services: Services) -> None:
    for route in routes:
        view = _make_view(route, services)
        for prefix in ("", *route.prefixes):
            app.add_url_rule(
                prefix + route.quart_path,
                endpoint=f"{route.method.lower()}_{route.name}{prefix.replace('/', '_')}",
                view_func=view,
                methods=[route.method],
            )
