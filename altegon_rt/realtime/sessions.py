"""Starting a recorded session: the one place a session gets its location from the client's address.

The reporting routes count the ``sessions`` collection (``store/sessions.py``). The realtime layer starts a
session when a live stream, webinar or conference begins, counts who joins
(:meth:`~altegon_rt.store.sessions.SessionRepository.participant_joined`) and ends it
(:meth:`~altegon_rt.store.sessions.SessionRepository.end`). Starting goes through :func:`start_session`,
so that no caller can forget the location: it is the host's address as the server saw it (the first
``X-Forwarded-For`` entry behind a trusted proxy, see ``server.trust_proxy_headers``), looked up by the
:class:`~altegon_rt.geo.locator.GeoLocator` the server built from ``[geo]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from altegon_rt.geo.locator import Location
from altegon_rt.store.sessions import SessionRepository

Locate = Callable[[str], Awaitable[Location]]


async def start_session(
    sessions: SessionRepository,
    locate: Locate,
    *,
    host_id: str,
    session_type: str,
    domain: str | None,
    client_ip: str,
    room_id: str | None = None,
    started_at: dt.datetime | None = None,
) -> str:
    """Record a session started by ``host_id`` from ``client_ip``, with that address's location; its id.

    ``locate`` is ``GeoLocator.locate`` (passed in, not the locator: this needs nothing else of it). It
    never fails for a bad or unknown address, it answers "Unknown", so a session always starts.
    """
    location = await locate(client_ip)
    return await sessions.start(host_id, session_type, domain, location.as_fields(), started_at=started_at,
                                room_id=room_id)  # fmt: skip
