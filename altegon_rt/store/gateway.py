"""The Store: one pymongo client, the thread pool that runs its blocking calls, and the repositories.

pymongo is a blocking library, so every call goes through :meth:`Store.call`, which runs it in a trio
worker thread under one shared :class:`trio.CapacityLimiter`; the event loop never waits on the network
to the database. Which server the client talks to is the only thing that differs between MongoDB and the
embedded default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pymongo
import trio
from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, PyMongoError
from pymongo.write_concern import WriteConcern

from altegon_rt.config import StorageSection
from altegon_rt.errors import StorageUnavailable
from altegon_rt.store.api_keys import ApiKeyRepository
from altegon_rt.store.audit import AuditRepository
from altegon_rt.store.blobs import BlobRepository, StorageLimitRepository
from altegon_rt.store.chat import ChatRepository
from altegon_rt.store.embedded import EmbeddedServer
from altegon_rt.store.files import FileRepository
from altegon_rt.store.meetings import MeetingRepository
from altegon_rt.store.recordings import RecordingRepository
from altegon_rt.store.rooms import RoomRepository
from altegon_rt.store.rtk import (
    RtkAppRepository,
    RtkParticipantRepository,
    RtkPresetRepository,
    RtkTokenRepository,
)
from altegon_rt.store.rtk_media import (
    RtkLivestreamRepository,
    RtkLivestreamSessionRepository,
    RtkRecordingRepository,
)
from altegon_rt.store.rtk_meeting_index import IndexedMeetingRepository
from altegon_rt.store.rtk_sessions import RtkChatRepository, RtkSessionPeerRepository, RtkSessionRepository
from altegon_rt.store.rtk_webhooks import RtkDeliveryRepository, RtkWebhookRepository
from altegon_rt.store.sessions import SessionRepository
from altegon_rt.store.summaries import SummaryRepository
from altegon_rt.store.transcripts import TranscriptRepository
from altegon_rt.store.users import UserRepository

log = logging.getLogger(__name__)
T = TypeVar("T")

# Data a user would miss is written with j:true: acknowledged only once it is in the journal.
DURABLE = WriteConcern(w=1, j=True)


class Store:
    """Owns the database client; repositories reach the database only through :meth:`call`."""

    def __init__(self, config: StorageSection, data_dir: Path) -> None:
        self._config = config
        self._data_dir = data_dir
        self._limiter = trio.CapacityLimiter(config.threads)
        self._client: pymongo.MongoClient[dict[str, Any]] | None = None
        self._client_uri = ""
        self.embedded: EmbeddedServer | None = None
        self.users = UserRepository(self)
        self.meetings = MeetingRepository(self)
        self.rooms = RoomRepository(self)
        self.audit = AuditRepository(self)
        self.api_keys = ApiKeyRepository(self)
        self.recordings = RecordingRepository(self)
        self.transcripts = TranscriptRepository(self)
        self.files = FileRepository(self)
        self.sessions = SessionRepository(self)
        self.summaries = SummaryRepository(self)
        self.blobs = BlobRepository(self)
        self.storage_limits = StorageLimitRepository(self)
        self.chat = ChatRepository(self)
        # RealtimeKit (altegon_rt/rtk/)
        self.rtk_tokens = RtkTokenRepository(self)
        self.rtk_apps = RtkAppRepository(self)
        self.rtk_meetings = IndexedMeetingRepository(self)
        self.rtk_participants = RtkParticipantRepository(self)
        self.rtk_presets = RtkPresetRepository(self)
        self.rtk_webhooks = RtkWebhookRepository(self)
        self.rtk_deliveries = RtkDeliveryRepository(self)
        self.rtk_recordings = RtkRecordingRepository(self)
        self.rtk_livestreams = RtkLivestreamRepository(self)
        self.rtk_livestream_sessions = RtkLivestreamSessionRepository(self)
        self.rtk_sessions = RtkSessionRepository(self)
        self.rtk_session_peers = RtkSessionPeerRepository(self)
        self.rtk_chat = RtkChatRepository(self)

    @property
    def kind(self) -> str:
        return "mongodb" if self._config.mongodb_uri else "embedded"

    def collection(self, name: str, *, durable: bool = False) -> Collection[dict[str, Any]]:
        """The named collection (called inside worker threads only)."""
        client = self._current_client()
        db = client.get_database(self._config.database)
        return db.get_collection(name, write_concern=DURABLE) if durable else db.get_collection(name)

    def _current_client(self) -> pymongo.MongoClient[dict[str, Any]]:
        uri = self._config.mongodb_uri or (self.embedded.uri if self.embedded else "")
        if not uri:
            raise StorageUnavailable("storage is not open")
        if self._client is None or uri != self._client_uri:
            # The embedded server restarts on the same port, so this swap only happens if that port
            # was taken meanwhile.
            old, self._client = self._client, self._make_client(uri)
            self._client_uri = uri
            if old is not None:
                old.close()
        return self._client

    def _make_client(self, uri: str) -> pymongo.MongoClient[dict[str, Any]]:
        timeout_ms = int(self._config.timeout_s * 1000)
        # The embedded server is a standalone with no failover to retry across, and it keeps every retryable
        # write in a registry it scans on each write: with retryable writes on, each insert got slower as
        # writes accumulated (send-transcript: 26/s after 5,000 lines, against 181/s on a fresh database).
        # A configured MongoDB URI keeps its own setting.
        extra = {} if self._config.mongodb_uri else {"retryWrites": False}
        return pymongo.MongoClient(
            uri,
            **extra,
            appname="altegon-rt",
            tz_aware=True,
            maxPoolSize=self._config.threads + 2,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms * 6,
        )

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one blocking database function in a worker thread; connection trouble → StorageUnavailable."""
        try:
            return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)
        except ConnectionFailure as exc:
            log.warning("database unreachable: %s", exc)
            raise StorageUnavailable("database unreachable") from exc

    async def ping(self) -> bool:
        """True when the database answers a ping within the storage timeout."""
        if self.embedded is not None and not self.embedded.running:
            return False

        def _ping() -> bool:
            self._current_client().admin.command("ping")
            return True

        try:
            with trio.fail_after(self._config.timeout_s + 1):
                return await self.call(_ping)
        except (StorageUnavailable, PyMongoError, trio.TooSlowError):
            return False

    async def run(self, *, task_status: trio.TaskStatus[Store] = trio.TASK_STATUS_IGNORED) -> None:
        """Open storage (starting the embedded server if needed), make indexes, and keep it open.

        On cancellation the client closes first and the embedded server stops after it: pymongo's close
        talks to the server, and waits out its timeout if the server is already gone.
        """
        database_scope = trio.CancelScope(shield=True)

        async def run_embedded(embedded: EmbeddedServer, *, task_status: trio.TaskStatus[None]) -> None:
            with database_scope:
                await embedded.run(task_status=task_status)

        async with trio.open_nursery() as nursery:
            try:
                if not self._config.mongodb_uri:
                    self.embedded = EmbeddedServer(self._data_dir / "db")
                    await nursery.start(run_embedded, self.embedded)
                await self._create_indexes()
                log.info("storage ready (%s)", self.kind)
                task_status.started(self)
                await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True):
                    await self._close_client()
                database_scope.cancel()
                log.info("storage closing")

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with trio.move_on_after(self._config.timeout_s + 1):
                await trio.to_thread.run_sync(client.close, abandon_on_cancel=True)

    async def _create_indexes(self) -> None:
        repos = (
            self.users, self.meetings, self.rooms, self.audit, self.api_keys, self.recordings, self.transcripts,
            self.files, self.sessions, self.summaries, self.blobs, self.storage_limits, self.chat,
            self.rtk_tokens, self.rtk_apps, self.rtk_meetings, self.rtk_participants, self.rtk_presets,
            self.rtk_webhooks, self.rtk_deliveries, self.rtk_recordings, self.rtk_livestreams,
            self.rtk_livestream_sessions, self.rtk_sessions, self.rtk_session_peers, self.rtk_chat,
        )  # fmt: skip
        for repo in repos:
            for keys, options in repo.INDEXES:
                coll = repo.COLLECTION

                def _make(coll: str = coll, keys: Any = keys, options: Any = options) -> None:
                    self.collection(coll).create_index(keys, **options)

                try:
                    await self.call(_make)
                except PyMongoError as exc:
                    raise StorageUnavailable(f"cannot create index on {coll}: {exc}") from exc
