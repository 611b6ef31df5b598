"""Webhook delivery: a bounded queue of events, one task that sends them, signed, with retries and a log.

Any subsystem calls :meth:`WebhookDispatcher.emit` (``app_id``, one of :data:`EVENTS`, a JSON payload); it only
queues the event and returns at once, so a caller never waits on a receiver. When the queue
(``rtk.webhook_queue_size``) is full the event is dropped, counted and logged. The dispatcher task, started in
the server's nursery, looks up the app's enabled webhooks that subscribed to the event and POSTs the JSON
body to each, at most ``rtk.webhook_concurrency`` deliveries at a time.

Each request carries ``X-Altegon-Signature: t=<unix seconds>,v1=<hex>``, where ``hex`` is
HMAC-SHA256(key = the webhook's secret, message = ``"<t>." + raw body``); :func:`verify_signature` is how a
receiver checks it (reject a ``t`` too far from now, to stop replays). Also sent: ``X-Altegon-Event``,
``X-Altegon-Webhook-Id``, ``X-Altegon-Delivery-Id`` (the same on every retry of one delivery, to de-duplicate)
and ``X-Altegon-Attempt``. An attempt fails if no 2xx answer arrives within ``rtk.webhook_timeout_s``; it is
retried after ``rtk.webhook_backoff_s``, then twice that, and so on, up to ``rtk.webhook_max_attempts``
attempts. Every delivery, with each attempt's status, is kept in the bounded delivery log. Deliveries still
pending when the server stops are abandoned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

from altegon_rt.config import RtkSection

log = logging.getLogger(__name__)

EVENTS = (
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
)
SIGNATURE_HEADER = "X-Altegon-Signature"
SIGNATURE_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Altegon-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, now: float, tolerance_s: float = SIGNATURE_TOLERANCE_S
) -> bool:
    """A receiver's check: the header signs exactly ``body`` with ``secret``, and was made recently."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class Event:
    app_id: str
    name: str
    payload: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def body(self) -> bytes:
        created = self.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc = {
            "event": self.name,
            "event_id": self.event_id,
            "created_at": created,
            "app_id": self.app_id,
            **self.payload,
        }
        return json.dumps(doc, separators=(",", ":"), default=str).encode()


class WebhookDispatcher:
    """Owns the event queue and the task that delivers it; see the module docstring."""

    def __init__(self, config: RtkSection, store: Any, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._store = store
        self._transport = transport
        self._send, self._receive = trio.open_memory_channel[Event](config.webhook_queue_size)
        self.dropped = 0
        self.delivered = 0
        self.failed = 0

    def emit(self, app_id: str, name: str, payload: dict[str, Any]) -> bool:
        """Queue one event for the app's webhooks; never blocks. False when the queue is full (dropped)."""
        assert name in EVENTS, name
        try:
            self._send.send_nowait(Event(app_id, name, payload))
        except trio.WouldBlock:
            self.dropped += 1
            log.warning("webhook queue full (%d): dropped %s of app %s", self._config.webhook_queue_size, name, app_id)
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        return True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        timeout = httpx.Timeout(self._config.webhook_timeout_s)
        limiter = trio.CapacityLimiter(self._config.webhook_concurrency)
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=self._transport) as client,
            trio.open_nursery() as nursery,
        ):
            task_status.started()
            async for event in self._receive:
                try:
                    hooks = await self._store.rtk_webhooks.subscribed(event.app_id, event.name)
                except Exception:
                    log.exception(
                        "webhooks: cannot look up the webhooks of app %s; %s dropped", event.app_id, event.name
                    )
                    continue
                for hook in hooks:
                    slot = object()
                    await limiter.acquire_on_behalf_of(slot)
                    nursery.start_soon(self._deliver, client, event, hook, limiter, slot)

    async def _deliver(
        self, client: httpx.AsyncClient, event: Event, hook: dict[str, Any], limiter: trio.CapacityLimiter, slot: object
    ) -> None:
        try:
            delivery = await self._attempts(client, event, hook)
            await self._store.rtk_deliveries.record(delivery, self._config.webhook_log_size)
        except Exception:
            log.exception("webhooks: delivery of %s to webhook %s failed unexpectedly", event.name, hook["_id"])
        finally:
            limiter.release_on_behalf_of(slot)

    async def _attempts(self, client: httpx.AsyncClient, event: Event, hook: dict[str, Any]) -> dict[str, Any]:
        body = event.body()
        delivery_id = str(uuid.uuid4())
        attempts: list[dict[str, Any]] = []
        delivered = False
        for number in range(1, self._config.webhook_max_attempts + 1):
            outcome = await self._post(client, hook, event, body, delivery_id, number)
            attempts.append(outcome)
            status = outcome.get("status_code")
            if status is not None and 200 <= status < 300:
                delivered = True
                break
            if number < self._config.webhook_max_attempts:
                await trio.sleep(self._config.webhook_backoff_s * 2 ** (number - 1))
        if delivered:
            self.delivered += 1
        else:
            self.failed += 1
            log.warning("webhook %s: %s not delivered after %d attempts", hook["_id"], event.name, len(attempts))
        return {
            "_id": delivery_id,
            "webhook_id": hook["_id"],
            "app_id": event.app_id,
            "event": event.name,
            "event_id": event.event_id,
            "url": hook["url"],
            "delivered": delivered,
            "attempts": attempts,
            "created_at": event.created_at,
        }

    async def _post(
        self, client: httpx.AsyncClient, hook: dict[str, Any], event: Event, body: bytes, delivery_id: str, number: int
    ) -> dict[str, Any]:
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "altegon-rt-webhooks",
            SIGNATURE_HEADER: sign(hook["secret"], stamp, body),
            "X-Altegon-Event": event.name,
            "X-Altegon-Webhook-Id": hook["_id"],
            "X-Altegon-Delivery-Id": delivery_id,
            "X-Altegon-Attempt": str(number),
        }
        started = time.monotonic()
        outcome: dict[str, Any] = {"attempt": number, "at": dt.datetime.now(dt.UTC), "status_code": None}
        try:
            with trio.fail_after(self._config.webhook_timeout_s):
                response = await client.post(hook["url"], content=body, headers=headers)
            outcome["status_code"] = response.status_code
        except trio.TooSlowError:
            outcome["error"] = f"no answer within {self._config.webhook_timeout_s} s"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:300]
        outcome["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        return outcome
