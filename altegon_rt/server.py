"""The root of a running process: one nursery that starts every subsystem in order and stops them in reverse.

Order of start: lock the data dir → the GeoIP database, if configured → storage (and the embedded database)
→ the SFU's media UDP socket (``sfu.udp_port``) → live streaming's workers (``media/live.py``) → the RTMP
ingest (``rtk.rtmp_port``) → the recording server's compose jobs → the HTTP app on hypercorn (HTTP/1.1 and
HTTP/2; HTTP/3 over QUIC when TLS is configured). On SIGTERM or SIGINT: hypercorn stops accepting, in-flight
requests get ``server.shutdown_grace_s`` to finish, then storage closes and the process exits 0. A second
signal skips the grace period."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator

import trio
from hypercorn.config import Config as HyperConfig
from hypercorn.config import Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from altegon_rt.ai.provider import build_provider
from altegon_rt.ai.speech import SpeechTokens
from altegon_rt.api.app import ROUTE_NAMES, create_app
from altegon_rt.api.body_limit import BodyLimit
from altegon_rt.api.downloads import CutBrokenStreams
from altegon_rt.api.services import Limits, Services
from altegon_rt.api.storage import BLOB_UPLOAD_PATTERN
from altegon_rt.auth.passwords import dummy_hash
from altegon_rt.auth.principal import Authenticator
from altegon_rt.auth.secrets_file import ENCRYPTION_SECRET_FILE, load_or_create_secret
from altegon_rt.auth.tokens import TokenIssuer
from altegon_rt.config import Config
from altegon_rt.crypto.transcript_cipher import TranscriptCipher
from altegon_rt.errors import CannotListen
from altegon_rt.files.azure import AzureBlobStore
from altegon_rt.files.blobs import BlobDisk
from altegon_rt.files.blobstore import BlobStores
from altegon_rt.files.disk import FileDisk
from altegon_rt.files.signing import SAS_SECRET_FILE, UrlSigner
from altegon_rt.geo.locator import open_locator
from altegon_rt.media.live import LiveStreams
from altegon_rt.realtime.art import ArtSocket
from altegon_rt.realtime.meet import MeetDeps, MeetSocket
from altegon_rt.realtime.presence import Bans
from altegon_rt.realtime.recording import RecordingSocket
from altegon_rt.realtime.recording_jobs import ComposeJobs
from altegon_rt.realtime.sfu import SfuSocket
from altegon_rt.realtime.sfu_rooms import SfuRooms
from altegon_rt.realtime.sockets import build_socket_servers
from altegon_rt.realtime.stream import StreamSocket
from altegon_rt.rtc.dtls import generate_certificate
from altegon_rt.rtk.ingest import IndependentLivestreams, ingest_url
from altegon_rt.rtk.media import RtkMedia
from altegon_rt.rtk.on_start import StartOfSession
from altegon_rt.rtk.service import RtkServices
from altegon_rt.rtk.session_files import SessionFiles
from altegon_rt.rtmp.server import RtmpServer
from altegon_rt.sfu.udp import UdpServer
from altegon_rt.sio import fast_send
from altegon_rt.sio.asgi import SocketMounts
from altegon_rt.sio.server import SocketServer
from altegon_rt.store import Store
from altegon_rt.store.datadir import hold_data_dir

log = logging.getLogger(__name__)


def _bind(host: str, port: int, kind: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        kind_name = "TCP" if kind == socket.SOCK_STREAM else "UDP"
        raise CannotListen(f"cannot listen on {host}:{port} ({kind_name}): {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _loopback_address(sock: socket.socket) -> tuple[str, int]:
    """Where this process can reach ``sock``: its own address, or loopback when it is bound to a wildcard."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        host = "::1" if sock.family == socket.AF_INET6 else "127.0.0.1"
    return host, port


def _url(scheme: str, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class Server:
    """Owns every task of the process; :meth:`run` returns once all of them have stopped."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._stopping = trio.Event()
        self.urls: list[str] = []

    def stop(self) -> None:
        """Begin a graceful stop (what SIGTERM does)."""
        if not self._stopping.is_set():
            log.info("stopping: draining requests for up to %.1f s", self.config.server.shutdown_grace_s)
            self._stopping.set()

    async def run(self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        data_dir = self.config.data_dir
        with hold_data_dir(data_dir):
            secret = load_or_create_secret(self.config.auth.jwt_secret, data_dir)
            cipher = TranscriptCipher(
                load_or_create_secret(self.config.encryption.secret, data_dir, ENCRYPTION_SECRET_FILE)
            )
            # Before storage starts, so that a limit naming no route, or an unusable GeoIP file, stops the start
            # at once (exit 2).
            limits = Limits.from_config(self.config, ROUTE_NAMES)
            geo = await trio.to_thread.run_sync(open_locator, self.config.geo)
            log.info("geo: %s", geo.describe())
            try:
                async with trio.open_nursery() as root:
                    # Signals are ours from the first moment: a SIGTERM while storage starts must still stop the
                    # embedded database (it runs in its own session and would otherwise outlive us).
                    root.start_soon(self._watch_signals, root.cancel_scope)
                    async with trio.open_nursery() as backend:
                        store: Store = await backend.start(Store(self.config.storage, data_dir).run)
                        signer = UrlSigner(
                            load_or_create_secret(self.config.storage_quota.sas_secret, data_dir, SAS_SECRET_FILE)
                        )
                        async with self._blob_stores(signer) as blobs:
                            services = await self._services(store, secret, cipher, limits)
                            services.blobs, services.signer = blobs, signer  # recording storage, built above
                            services.geo = geo
                            await self._serve_http(services, task_status)
                        log.info("HTTP stopped; closing storage")
                        backend.cancel_scope.cancel()
                    root.cancel_scope.cancel()
            finally:
                geo.close()  # every request, hence every lookup, has finished by now
        log.info("stopped; storage closed")

    async def _services(self, store: Store, secret: str, cipher: TranscriptCipher, limits: Limits) -> Services:
        tokens = TokenIssuer(secret, self.config.auth.token_lifetime_s)
        authenticator = Authenticator(tokens, store.api_keys.by_prefix, store.users.by_id)
        services = Services(
            self.config,
            store,
            tokens,
            authenticator,
            limits,
            cipher,
            FileDisk(self.config.data_dir),
        )
        services.summarizer = build_provider(self.config.ai)
        services.speech = SpeechTokens(self.config.speech)
        log.info("summaries: %s provider; speech tokens %s", services.summarizer.name,
                 "configured" if services.speech.configured else "not configured")  # fmt: skip
        services.dummy_hash = await trio.to_thread.run_sync(dummy_hash, self.config.auth.scrypt_n)
        services.rtk = RtkServices(self.config.rtk, store, secret)
        return services

    @contextlib.asynccontextmanager
    async def _blob_stores(self, signer: UrlSigner) -> AsyncIterator[BlobStores]:
        """Recording blobs go to Azure when it is configured; the data dir stays readable for older blobs."""
        disk = BlobDisk(self.config.data_dir, signer)
        q = self.config.storage_quota
        if not q.azure_account:
            log.info("recording blobs: under %s", self.config.data_dir / "blobs")
            yield BlobStores(disk)
            return
        azure = AzureBlobStore(q)
        log.info("recording blobs: Azure Blob Storage container %s", azure.container_url)
        if not azure.container_url.startswith("https://"):
            log.warning("recording blobs: the Azure endpoint is plain http; use https outside of tests")
        try:
            yield BlobStores(azure, disk)
        finally:
            with trio.CancelScope(shield=True):
                await azure.aclose()

    def _hypercorn_config(self) -> tuple[HyperConfig, Sockets]:
        cfg = self.config
        hc = HyperConfig()
        hc.graceful_timeout = cfg.server.shutdown_grace_s
        hc.include_server_header = False
        hc.accesslog = None
        hc.errorlog = logging.getLogger("hypercorn.error")
        hc.keep_alive_timeout = 5
        # wsproto refuses bigger frames itself (close 1009) before buffering them; ours check the exact limit.
        hc.websocket_max_message_size = max(cfg.realtime.max_payload_bytes, cfg.realtime.media_max_payload_bytes) + 1024
        tcp = _bind(cfg.server.host, cfg.server.http_port, socket.SOCK_STREAM)
        tcp.listen(hc.backlog)
        if not cfg.tls_enabled:
            return hc, Sockets([], [tcp], [])
        hc.certfile, hc.keyfile = cfg.tls.cert, cfg.tls.key
        # QUIC on the port the TCP listener got, so that alt-svc advertises HTTP/3 where HTTPS already is.
        udp = _bind(cfg.server.host, tcp.getsockname()[1], socket.SOCK_DGRAM)
        hc._set_quic_addresses([udp])  # what hypercorn's own create_sockets does for alt-svc
        return hc, Sockets([tcp], [], [udp])

    async def _serve_http(self, services: Services, task_status: trio.TaskStatus[list[str]]) -> None:
        hc, sockets = self._hypercorn_config()
        max_body = self.config.server.max_body_bytes
        uploads = (
            ("POST", r"/room/[^/]+/upload", self.config.files.max_upload_bytes),
            ("POST", BLOB_UPLOAD_PATTERN, self.config.storage_quota.max_upload_bytes),
        )
        # A download whose source breaks after it started is cut, not logged as a crash (CutBrokenStreams).
        limited = BodyLimit(CutBrokenStreams(create_app(services)), max_body, drain_cap=16 * max_body,
                            overrides=uploads)  # fmt: skip
        rtk: RtkServices = services.rtk
        # The SFU socket also admits RealtimeKit participants by their participant tokens.
        verify = services.authenticator.authenticate
        sockets_by_path = build_socket_servers(self.config.realtime, verify, sfu_verify=rtk.gate.sfu_verify(verify))
        bans = Bans()  # a host's removals, shared by the Meet and ART sockets
        meet_deps = MeetDeps(services.store, services.cipher, services.crypto_limiter, services.geo.locate, bans)
        MeetSocket(sockets_by_path["/socket.io/"], meet_deps)
        ArtSocket(sockets_by_path["/erizocontroller/socket.io/"], services.store, bans)
        udp, sfu = await self._sfu(sockets_by_path["/sfu/socket.io/"])
        assert services.signer is not None, "built in run()"
        files = SessionFiles(services.store, services.cipher, services.crypto_limiter, services.summarizer,
                             services.signer, rtk.webhooks, self.config.storage_quota.sas_ttl_s)  # fmt: skip
        sessions = rtk.attach(sfu, files)  # RealtimeKit meetings' sessions in the SFU's rooms
        recording = self._recording(sockets_by_path["/recording/socket.io/"], services)
        live = services.live = LiveStreams(self.config.hls, self.config.data_dir / "hls")
        StreamSocket(sockets_by_path["/stream/socket.io/"], live)
        rtk.media = self._rtk_media(services, live)
        sessions.on_started = StartOfSession(rtk.media)  # a meeting's record_on_start / live_stream_on_start
        rtk.ingest = IndependentLivestreams(services.store, rtk.webhooks, live)
        rtmp = RtmpServer(_bind(self.config.server.host, self.config.rtk.rtmp_port, socket.SOCK_STREAM),
                          rtk.ingest.authorize)  # fmt: skip
        app = wrap_app(SocketMounts(limited, sockets_by_path), hc.wsgi_max_body_size, "asgi")
        fast_send.install()
        async with trio.open_nursery() as front:
            # The SFU's media socket, cancelled with the front nursery once hypercorn has returned.
            host, port = await front.start(udp.run)
            log.info("altegon-rt SFU media on udp %s:%d", host, port)
            await front.start(live.run)  # live streams' workers, ended with the front nursery
            host, port = await front.start(rtmp.run)  # encoders publishing RealtimeKit livestreams
            log.info("altegon-rt RTMP ingest on tcp %s:%d", host, port)
            await rtk.ingest.start(ingest_url(self._ingest_host(), port))
            await front.start(rtk.webhooks.run)  # RealtimeKit webhook deliveries
            await front.start(rtk.media.run)  # RealtimeKit recordings and livestreams (SFU taps)
            await front.start(sessions.run)  # RealtimeKit sessions' keep-alive timers and writes
            for socket_server in sockets_by_path.values():
                await front.start(socket_server.run)
            await front.start(recording.run)  # compose jobs and the tracks' fsync timer
            front.start_soon(self._close_sockets_on_stop, list(sockets_by_path.values()))

            async def serve(task_status: trio.TaskStatus[list[str]]) -> None:
                await worker_serve(app, hc, sockets=sockets, shutdown_trigger=self._stopping.wait,
                                   task_status=task_status)  # fmt: skip
                # Listeners are closed and in-flight requests done (or cut at the deadline).
                front.cancel_scope.cancel()

            if sockets.quic_sockets:
                front.start_soon(self._wake_quic_on_stop, sockets.quic_sockets)
            await front.start(serve)
            scheme = "https" if self.config.tls_enabled else "http"
            self.urls = [_url(scheme, s) for s in (*sockets.secure_sockets, *sockets.insecure_sockets)]
            for url in self.urls:
                log.info("altegon-rt listening on %s", url)
            if sockets.quic_sockets:
                log.info("altegon-rt HTTP/3 on %s", _url("https", sockets.quic_sockets[0]))
            task_status.started(self.urls)

    def _ingest_host(self) -> str:
        """The host written in livestreams' ``ingest_server``: ``rtk.rtmp_host``, ``sfu.announced_ip``, else
        ``server.host`` (a wildcard host names no address: loopback, with a warning to set ``rtk.rtmp_host``)."""
        cfg = self.config
        host = cfg.rtk.rtmp_host or cfg.sfu.announced_ip or cfg.server.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
            log.warning("rtk: ingest_server URLs say 127.0.0.1; set rtk.rtmp_host to the name encoders reach")
            host = "127.0.0.1"
        return host

    async def _sfu(self, socket_server: SocketServer) -> tuple[UdpServer, SfuSocket]:
        """The SFU: one UDP server shared by every room's Router, and its signalling socket."""
        rooms = self._sfu_rooms = SfuRooms()
        udp = UdpServer(self.config.server.host, self.config.sfu.udp_port, after_datagram=rooms.take_outgoing,
                        on_closed=rooms.handle_transport_closed, on_tick=rooms.tick)  # fmt: skip
        certificate = await trio.to_thread.run_sync(generate_certificate)
        sfu = SfuSocket(socket_server, rooms, register=udp.register, address=lambda: udp.address,
                  announced_ip=self.config.sfu.announced_ip or "127.0.0.1", certificate=certificate,
                  screen_shares_per_room=self.config.sfu.screen_shares_per_room,
                  connect_timeout_s=self.config.sfu.connect_timeout_s)  # fmt: skip
        return udp, sfu

    def _rtk_media(self, services: Services, live: LiveStreams) -> RtkMedia:
        """RealtimeKit recordings and livestreams: taps on the SFU's rooms, our composer and HLS pipeline."""
        assert services.blobs is not None, "built in run()"
        cfg = self.config
        jobs = ComposeJobs(cfg.recording, cfg.storage_quota, services.store, services.blobs, lambda *a, **k: None)
        return RtkMedia(services.store, services.rtk.webhooks, self._sfu_rooms, live, jobs,
                        cfg.data_dir / "rtk-recordings")  # fmt: skip

    def _recording(self, socket_server: SocketServer, services: Services) -> RecordingSocket:
        """The recording server socket: tracks under ``<data dir>/recordings``, composed by worker processes."""
        assert services.blobs is not None, "built in run()"
        cfg = self.config
        jobs = ComposeJobs(cfg.recording, cfg.storage_quota, services.store, services.blobs, socket_server.emit)
        return RecordingSocket(socket_server, services.store, jobs, cfg.recording, cfg.data_dir / "recordings")

    async def _close_sockets_on_stop(self, servers: list[SocketServer]) -> None:
        """On stop, end every Socket.IO session (clients get a close packet) so hypercorn's drain is quick."""
        await self._stopping.wait()
        for socket_server in servers:
            socket_server.close_all()

    async def _wake_quic_on_stop(self, quic_sockets: list[socket.socket]) -> None:
        """Let hypercorn's QUIC listener notice the stop without waiting out the grace period.

        hypercorn's trio ``UDPServer`` checks for shutdown only after ``recvfrom`` returns, so with no QUIC
        traffic it sits in ``recvfrom`` until the ``graceful_timeout`` deadline cancels it: every stop took
        the full ``shutdown_grace_s``. After the stop, send it an empty datagram now and then (QUIC drops it:
        no valid header) so that it re-checks and returns as soon as no QUIC connection is left. This task is
        cancelled with the front nursery once hypercorn has returned.
        """
        await self._stopping.wait()
        targets = [(sock.family, _loopback_address(sock)) for sock in quic_sockets]
        nudgers = [trio.socket.socket(family, socket.SOCK_DGRAM) for family, _ in targets]
        try:
            while True:
                for nudger, (_, address) in zip(nudgers, targets, strict=True):
                    with contextlib.suppress(OSError):
                        await nudger.sendto(b"", address)
                await trio.sleep(0.05)
        finally:
            for nudger in nudgers:
                nudger.close()

    async def _watch_signals(self, root: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if not self._stopping.is_set():
                    log.info("received %s", signal.Signals(signum).name)
                    self.stop()
                else:
                    log.warning("second signal: stopping now")
                    root.cancel()
                    return
