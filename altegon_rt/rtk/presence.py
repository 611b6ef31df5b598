"""Participants arriving and leaving on the SFU socket, told to the app's webhooks.

A socket that CONNECTs with a participant token (:mod:`altegon_rt.rtk.participant_tokens`) is that participant
in its meeting: ``meeting.participantJoined`` is emitted then, and ``meeting.participantLeft`` when the socket
goes. This wraps the SFU namespace's own connect and disconnect handlers, which still run first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from altegon_rt.rtk.participant_tokens import ParticipantPrincipal
from altegon_rt.rtk.webhooks import WebhookDispatcher
from altegon_rt.sio.server import SocketServer
from altegon_rt.sio.socket import Socket


def _payload(principal: ParticipantPrincipal, sock: Socket, stamp_name: str) -> dict[str, Any]:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "meeting": {"id": principal.meeting_id},
        "participant": {
            "id": principal.participant_id,
            "peer_id": sock.sid,
            "custom_participant_id": principal.custom_participant_id,
            "display_name": principal.name,
            "preset_name": principal.preset_name,
            stamp_name: stamp,
        },
    }


def watch_participants(server: SocketServer, webhooks: WebhookDispatcher, namespace: str = "/") -> None:
    """Emit participant joined/left events for participant-token sockets of ``server``."""
    ns = server.namespace(namespace)
    previous_connect, previous_disconnect = ns.connect_handler, ns.disconnect_handler

    async def connected(sock: Socket, auth: dict[str, Any]) -> None:
        if previous_connect is not None:
            await previous_connect(sock, auth)
        principal = sock.principal
        if isinstance(principal, ParticipantPrincipal):
            webhooks.emit(principal.app_id, "meeting.participantJoined", _payload(principal, sock, "joined_at"))

    async def disconnected(sock: Socket, reason: str) -> None:
        if previous_disconnect is not None:
            await previous_disconnect(sock, reason)
        principal = sock.principal
        if isinstance(principal, ParticipantPrincipal):
            webhooks.emit(principal.app_id, "meeting.participantLeft", _payload(principal, sock, "left_at"))

    ns.connect_handler, ns.disconnect_handler = connected, disconnected
