"""``GET /openapi.json`` and ``GET /docs``: generated from the route declarations, never written by hand."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from altegon_rt import __version__
from altegon_rt.api.routing import ADMIN, PUBLIC, RTK, Call, Reply, Route, endpoint

ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "requestId": {"type": "string"},
            },
        },
    },
}


def _operation(route: Route, per_minute: int | None) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "tags": [route.tag]}
    parameters = [
        {"name": f.name, "in": "path", "required": True, "schema": f.json_schema(), "description": f.description}
        for f in route.params.fields
    ] + [
        {"name": f.name, "in": "query", "required": f.required, "schema": f.json_schema(),
         "description": f.description}
        for f in route.query.fields
    ]  # fmt: skip
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.body.name}"}}},
        }
    if route.auth == RTK:
        op["security"] = [{"rtkApiToken": []}]
    elif route.auth != PUBLIC:
        op["security"] = [{"bearerAuth": []}, {"apiKey": []}]
        if route.auth == ADMIN:
            op["description"] = "Administrators only."
    documented = dict(route.responses)
    if per_minute is not None:
        caller = "address" if route.auth == PUBLIC else "caller"
        documented.setdefault(429, f"Too many requests: this route allows {per_minute} a minute per {caller}")
    responses: dict[str, Any] = {}
    for status, description in sorted(documented.items()):
        entry: dict[str, Any] = {"description": description}
        if status >= 400:
            entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        elif status in route.schemas:
            entry["content"] = {"application/json": {"schema": route.schemas[status]}}
            if route.example is not None:
                entry["content"]["application/json"]["example"] = route.example
        elif status != 204 and route.example is not None:
            entry["content"] = {"application/json": {"example": route.example}}
        responses[str(status)] = entry
    op["responses"] = responses
    return op


def build_document(routes: Iterable[Route], route_limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The OpenAPI document; routes with a limit of their own (``limits.routes``) document their 429."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in routes:
        per_minute = (route_limits or {}).get(route.name)
        item = paths.setdefault(route.path, {})
        item[route.method.lower()] = _operation(route, per_minute)
        if route.prefixes:
            # Served at the path as written and under each prefix (RealtimeKit's /client/v4).
            item["servers"] = [{"url": "/"}, *({"url": prefix} for prefix in route.prefixes)]
        if route.body is not None:
            schemas[route.body.name] = route.body.json_schema()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Altegon RT",
            "version": __version__,
            "description": "Conference, webinar and live-streaming server. Errors are always "
            '{"success": false, "error": {"code", "message"}}.',
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "rtkApiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A RealtimeKit API token of the account in the path (POST /admin/api-tokens)",
                },
            },
        },
    }


def render_html(document: dict[str, Any]) -> str:
    """A self-contained page (no scripts, no CDN: the server may have no internet) listing every route."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Altegon RT API</title><style>"
        "body{font:15px/1.45 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "h2{border-bottom:1px solid #ccc}.m{display:inline-block;width:5em;font-weight:bold}"
        "pre{background:#f4f4f4;padding:.6em;overflow:auto}td,th{padding:2px 8px;text-align:left}"
        "</style></head><body>",
        f"<h1>{esc(document['info']['title'])} {esc(document['info']['version'])}</h1>",
        f"<p>{esc(document['info']['description'])}</p><p><a href='/openapi.json'>openapi.json</a></p>",
    ]
    schemas = document["components"]["schemas"]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if method == "servers":
                continue
            auth = "public" if "security" not in op else "Bearer JWT or x-api-key"
            parts.append(f"<h2><span class='m'>{method.upper()}</span>{esc(path)}</h2>")
            parts.append(f"<p>{esc(op['summary'])} <em>({esc(auth)})</em> {esc(op.get('description', ''))}</p>")
            rows = [(p["in"], p["name"], p["schema"].get("type", ""), p["required"]) for p in op.get("parameters", [])]
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                body = schemas[ref]
                rows += [("body", n, s.get("type", ""), n in body["required"]) for n, s in body["properties"].items()]
            if rows:
                parts.append("<table><tr><th>in</th><th>name</th><th>type</th><th>required</th></tr>")
                parts += [f"<tr><td>{a}</td><td>{esc(b)}</td><td>{c}</td><td>{d}</td></tr>" for a, b, c, d in rows]
                parts.append("</table>")
            answers = ", ".join(f"{s} {esc(r['description'])}" for s, r in op["responses"].items())
            parts.append(f"<p>Responses: {answers}</p>")
            for r in op["responses"].values():
                example = r.get("content", {}).get("application/json", {}).get("example")
                if example is not None:
                    parts.append(f"<pre>{esc(json.dumps(example, indent=2))}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


@endpoint(
    "GET", "/openapi.json", tag="docs", auth=PUBLIC, summary="This API described in OpenAPI 3.1",
    responses={200: "The OpenAPI document"},
)  # fmt: skip
async def openapi_json(call: Call) -> Reply:
    return Reply(200, call.services.openapi)


@endpoint(
    "GET", "/docs", tag="docs", auth=PUBLIC, summary="This API as a page for people",
    responses={200: "HTML page"},
)  # fmt: skip
async def docs_page(call: Call) -> Reply:
    return Reply(200, raw=call.services.docs_html.encode(), content_type="text/html; charset=utf-8")


ROUTES = (openapi_json, docs_page)
