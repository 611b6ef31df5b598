"""How RealtimeKit routes are declared and answered: paths, path and query fields, envelopes and paging.

Every RealtimeKit route lives under ``/accounts/{account_id}/realtime/kit`` and is also served under
``/client/v4`` (Cloudflare's API prefix). It takes an API token of that account (:mod:`altegon_rt.rtk.auth`),
answers ``{success: true, data}`` (lists add ``paging``), and errors in the platform's one shape
``{success: false, error: {code, message}}``. Lists are paged with ``page_no`` (from 1) and ``per_page``
(1-100, default 20); ``paging`` gives the 1-based positions of the first and last object answered
(``end_offset`` < ``start_offset`` for an empty page) and how many match in all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from altegon_rt.api.routing import RTK, Call, Handler, Reply, Route, endpoint
from altegon_rt.api.schema import Field, parse_query_date
from altegon_rt.errors import BadRequest
from altegon_rt.rtk.jsonschema import UUID, envelope

BASE = "/accounts/{account_id}/realtime/kit"
PREFIXES = ("/client/v4",)
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
ERRORS = {
    401: "No, a malformed, unknown or revoked API token",
    403: "The API token is another account's",
    429: "Too many requests",
}


class UuidField(Field):
    """A path parameter that must be a UUID."""

    __slots__ = ()

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not UUID.match(value):
            raise BadRequest(f"field '{self.name}' must be a UUID", code="invalid_field")
        return value.lower()

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "uuid", "description": self.description}


class IntQuery(Field):
    """An integer query parameter (query values arrive as text)."""

    __slots__ = ()

    def check(self, value: Any) -> int:
        text = str(value).strip()
        low, high = int(self.minimum or 0), int(self.maximum or 0)
        if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
            raise BadRequest(f"query '{self.name}' must be an integer from {low} to {high}", code="invalid_field")
        return int(text)

    def json_schema(self) -> dict[str, Any]:
        out = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "description": self.description}
        if self.example is not None:
            out["default"] = self.example
        return out


class DateQuery(Field):
    """An ISO 8601 date-time query parameter."""

    __slots__ = ()

    def check(self, value: Any) -> dt.datetime | None:
        return parse_query_date(self.name, str(value), end_of_day=self.name == "end_time")

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "description": self.description}


class BoolQuery(Field):
    __slots__ = ()

    def check(self, value: Any) -> bool:
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise BadRequest(f"query '{self.name}' must be true or false", code="invalid_field")
        return text == "true"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean", "description": self.description}


ACCOUNT_ID = Field("account_id", "string", max_length=64, description="The account's id")
APP_ID = UuidField("app_id", "id", description="The app's id")
PAGE_NO = IntQuery(
    "page_no",
    "integer",
    required=False,
    minimum=1,
    maximum=100_000,
    example=1,
    description="The page to answer, from 1",
)
PER_PAGE = IntQuery(
    "per_page",
    "integer",
    required=False,
    minimum=1,
    maximum=MAX_PER_PAGE,
    example=DEFAULT_PER_PAGE,
    description="Objects per page",
)
PAGE_QUERY = (PAGE_NO, PER_PAGE)


def uuid_param(name: str, what: str) -> UuidField:
    return UuidField(name, "id", description=f"The {what}'s id")


def rtk_route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    ok: tuple[int, dict[str, Any]],
    responses: dict[int, str],
    params: Iterable[Field] = (),
    query: Iterable[Field] = (),
    body: Any = None,
    audit: str | None = None,
) -> Callable[[Handler], Route]:
    """Declare a RealtimeKit route: API-token auth, ``/client/v4`` alias, the success schema and the errors."""
    status, schema = ok
    return endpoint(
        method,
        BASE + path,
        summary=summary,
        tag=tag,
        auth=RTK,
        body=body,
        audit=audit,
        params=(ACCOUNT_ID, *params),
        query=query,
        responses={**ERRORS, **responses},
        schemas={status: schema},
        prefixes=PREFIXES,
    )


def ok(data: Any, status: int = 200) -> Reply:
    return Reply(status, {"success": True, "data": data})


def page_window(call: Call) -> tuple[int, int, int]:
    """``(page_no, per_page, skip)`` of a list request."""
    page_no = call.query.get("page_no", 1)
    per_page = call.query.get("per_page", DEFAULT_PER_PAGE)
    return page_no, per_page, (page_no - 1) * per_page


def paged(items: list[Any], skip: int, total: int) -> Reply:
    paging = {"start_offset": skip + 1, "end_offset": skip + len(items), "total_count": total}
    return Reply(200, {"success": True, "data": items, "paging": paging})


def list_of(item: dict[str, Any]) -> dict[str, Any]:
    return envelope({"type": "array", "items": item}, paged=True)
