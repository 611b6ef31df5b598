"""Documented routes this build does not have yet: each answers 501 with a JSON message naming the feature.

They are declared (so they appear in OpenAPI, marked) rather than left to 404, so that a client of the
documented API learns that the route is known and not built, and never receives an answer that looks real.
Each entry moves to its own module when its feature is built (issue 4).
"""

from __future__ import annotations

import re

from altegon_rt.api.routing import PUBLIC, Call, Reply, Route, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotImplementedYet

TAG = "not built yet"

_PENDING: tuple[tuple[str, str, str], ...] = ()


def _route(method: str, path: str, feature: str) -> Route:
    async def handler(call: Call) -> Reply:
        raise NotImplementedYet(f"{feature} is not built in this version of Altegon RT ({method} {path})")

    handler.__name__ = "not_built_" + re.sub(r"\W+", "_", f"{method}_{path}").strip("_").lower()
    params = [Field(name, "string", max_length=256) for name in re.findall(r"\{(\w+)\}", path)]
    return endpoint(
        method, path, tag=TAG, auth=PUBLIC, params=params, summary=f"Not built yet: {feature} (answers 501)",
        responses={501: f"{feature} is not built yet"},
    )(handler)  # fmt: skip


ROUTES = tuple(_route(*entry) for entry in _PENDING)
