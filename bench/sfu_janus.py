"""Janus's half of bench/sfu.py: Janus 1.x (Debian package ``janus``) with the VideoRoom plugin, over its HTTP API.

The bench writes a config of its own to a temp dir (VideoRoom and the HTTP transport only, HTTP on 127.0.0.1,
ICE candidates only on the dummy interface's address: Janus gathers none on ``lo``) and starts ``janus -F dir``
pinned to the server core. Signalling, per scenario: one Janus session; a room per publisher; the publisher's
handle sends ``joinandconfigure`` with our SDP offer and gets Janus's answer; each subscriber's handle sends
``join`` (ptype subscriber, the publisher's feed), answers Janus's offer with ``start``. Events come back on
the session's long poll. Janus is a full ICE agent: our endpoints (bench/sfu_peer.py) answer its checks and
send their own, controlling as offerer (publisher) and controlled as answerer (subscriber).
"""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sfu_pool import Pool, Scenario

WAIT_S = 30
SIGNAL_THREADS = 16


def _libdir() -> str:
    found = sorted(glob.glob("/usr/lib/*/janus")) + sorted(glob.glob("/usr/lib/janus"))
    if not found:
        raise RuntimeError("Janus plugins not found under /usr/lib/*/janus (apt-get install -y janus)")
    return found[0]


def _others(folder: str, keep: str) -> str:
    names = sorted(Path(p).name for p in glob.glob(f"{folder}/*.so"))
    return ",".join(n for n in names if n != keep)


def write_config(folder: Path, http_port: int, ice_ip: str, event_loops: int = 0) -> None:
    """Janus's own config; ``event_loops`` 0 is Janus's default (a thread per handle), N a pool of N loops."""
    lib = _libdir()
    loops = f"event_loops = {event_loops}" if event_loops > 0 else ""
    (folder / "janus.jcfg").write_text(f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{lib}/plugins"
    transports_folder = "{lib}/transports"
    events_folder = "{lib}/events"
    loggers_folder = "{lib}/loggers"
    debug_level = 3
    session_timeout = 0
    {loops}
    admin_secret = "{secrets.token_hex(16)}"
}}
media: {{
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ignore_mdns = true
    ice_enforce_list = "{ice_ip}"
}}
plugins: {{
    disable = "{_others(lib + "/plugins", "libjanus_videoroom.so")}"
}}
transports: {{
    disable = "{_others(lib + "/transports", "libjanus_http.so")}"
}}
loggers: {{
    disable = "{_others(lib + "/loggers", "")}"
}}
events: {{
    broadcast = false
    disable = "{_others(lib + "/events", "")}"
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
""")


def _free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SDP --------------------------------------------------------------------------------------------------


def offer_sdp(local: dict[str, Any], ssrc: int) -> str:
    """A publisher's offer: one bundled, rtcp-muxed, send-only VP8 m-line, candidates inline (no trickle)."""
    return _sdp(local, "actpass", "0", 96, "sendonly", [f"a=ssrc:{ssrc} cname:bench{ssrc}"])


def answer_sdp(local: dict[str, Any], mid: str, payload_type: int) -> str:
    return _sdp(local, "active", mid, payload_type, "recvonly", [])


def _sdp(local: dict[str, Any], setup: str, mid: str, pt: int, direction: str, extra: list[str]) -> str:
    lines = [
        "v=0", f"o=- {secrets.randbits(62)} 1 IN IP4 {local['host']}", "s=-", "t=0 0", f"a=group:BUNDLE {mid}",
        "a=msid-semantic: WMS", f"m=video 9 UDP/TLS/RTP/SAVPF {pt}", f"c=IN IP4 {local['host']}",
        "a=rtcp:9 IN IP4 0.0.0.0", f"a=ice-ufrag:{local['ufrag']}", f"a=ice-pwd:{local['password']}",
        f"a=fingerprint:sha-256 {local['fingerprint']}", f"a=setup:{setup}", f"a=mid:{mid}", f"a={direction}",
        "a=rtcp-mux", f"a=rtpmap:{pt} VP8/90000", f"a=rtcp-fb:{pt} nack", f"a=rtcp-fb:{pt} nack pli",
        f"a=rtcp-fb:{pt} ccm fir", *extra,
        f"a=candidate:1 1 udp 2130706431 {local['host']} {local['port']} typ host", "a=end-of-candidates",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def parse_remote(sdp: str, ice_ip: str, we_offered: bool) -> dict[str, Any]:
    """Janus's ICE/DTLS parameters from its SDP, as a load worker's ``remote`` dict (plus mid and VP8 type)."""
    values: dict[str, str] = {}
    candidates = []
    payload_type = None
    for raw in sdp.splitlines():
        line = raw.strip()
        for key in ("ice-ufrag", "ice-pwd", "fingerprint", "setup", "mid"):
            if line.startswith(f"a={key}:") and key not in values:
                values[key] = line.split(":", 1)[1]
        if line.startswith("a=candidate:"):
            candidates.append(line[len("a=") :])
        if line.startswith("a=rtpmap:") and "VP8/90000" in line and payload_type is None:
            payload_type = int(line[len("a=rtpmap:") :].split()[0])
    address = _candidate(candidates, ice_ip)
    setup = values.get("setup", "actpass")
    # Our DTLS role: Janus "active" makes us the server; otherwise (passive, or its actpass offer) the client.
    role = "server" if setup == "active" else "client"
    algorithm, _, fingerprint = values["fingerprint"].partition(" ")
    if algorithm.lower() != "sha-256":
        raise RuntimeError(f"Janus fingerprint is {algorithm}, not sha-256")
    return {"ufrag": values["ice-ufrag"], "password": values["ice-pwd"], "fingerprint": fingerprint.strip(),
            "ip": address[0] if address else None, "port": address[1] if address else None, "dtls_role": role,
            "controlling": we_offered, "mid": values.get("mid", "0"), "payload_type": payload_type or 96}  # fmt: skip


def _candidate(candidates: list[str], ice_ip: str) -> tuple[str, int] | None:
    for candidate in candidates:
        parts = candidate.split()  # candidate:F 1 udp PRIO IP PORT typ host
        if len(parts) >= 8 and parts[2].lower() == "udp" and parts[4] == ice_ip:
            return parts[4], int(parts[5])
    return None


# --- the HTTP API -------------------------------------------------------------------------------------------


class JanusApi:
    """One Janus session over HTTP, with a long-poll thread routing events to waiting transactions."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(timeout=WAIT_S)
        self.session = self._post(self.base, {"janus": "create"})["data"]["id"]
        self.waiting: dict[str, queue.Queue[dict[str, Any]]] = {}
        self.trickles: dict[int, list[str]] = {}
        self.lock = threading.Lock()
        self.closed = False
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.http.post(url, json={**body, "transaction": body.get("transaction", secrets.token_hex(8))})
        data = reply.json()
        if data.get("janus") == "error":
            raise RuntimeError(f"Janus {body.get('janus')}: {data['error']}")
        return data

    def _poll(self) -> None:
        http = httpx.Client(timeout=WAIT_S + 30)
        while not self.closed:
            try:
                events = http.get(f"{self.base}/{self.session}", params={"maxev": 50}).json()
            except (httpx.HTTPError, ValueError):
                if self.closed:
                    return
                time.sleep(0.1)
                continue
            for event in events if isinstance(events, list) else [events]:
                self._route(event)

    def _route(self, event: dict[str, Any]) -> None:
        if event.get("janus") == "trickle":
            candidate = event.get("candidate", {})
            if isinstance(candidate, dict) and candidate.get("candidate"):
                with self.lock:
                    self.trickles.setdefault(event["sender"], []).append(candidate["candidate"])
            return
        transaction = event.get("transaction")
        with self.lock:
            target = self.waiting.get(transaction) if transaction else None
        if target is not None and event.get("janus") == "event":
            target.put(event)

    def attach(self) -> int:
        url = f"{self.base}/{self.session}"
        return self._post(url, {"janus": "attach", "plugin": "janus.plugin.videoroom"})["data"]["id"]

    def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request: its plugin data."""
        reply = self._post(f"{self.base}/{self.session}/{handle}", {"janus": "message", "body": body})
        return reply["plugindata"]["data"]

    def message(self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> dict[str, Any]:
        """An asynchronous plugin request (ack now, event later): the event."""
        transaction = secrets.token_hex(8)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self.lock:
            self.waiting[transaction] = box
        payload: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            payload["jsep"] = jsep
        try:
            self._post(f"{self.base}/{self.session}/{handle}", payload)
            event = box.get(timeout=WAIT_S)
        finally:
            with self.lock:
                self.waiting.pop(transaction, None)
        data = event["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"VideoRoom {body.get('request')}: {data['error']}")
        return event

    def candidate_of(self, handle: int, ice_ip: str) -> tuple[str, int] | None:
        with self.lock:
            return _candidate(list(self.trickles.get(handle, [])), ice_ip)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(httpx.HTTPError, RuntimeError, ValueError):
            self._post(f"{self.base}/{self.session}", {"janus": "destroy"})
        self.http.close()


class JanusSide:
    name = "janus"

    def __init__(self, server_cpu: int | None, load_cpu: int | None, ice_ip: str, event_loops: int = 0) -> None:
        self.ice_ip = ice_ip
        self.tmp = tempfile.TemporaryDirectory(prefix="janus-bench-")
        folder = Path(self.tmp.name)
        port = _free_tcp_port()
        write_config(folder, port, ice_ip, event_loops)
        self.base = f"http://127.0.0.1:{port}/janus"
        self.log = open(folder / "janus.log", "w")  # noqa: SIM115 - closed in stop()
        if server_cpu is not None:
            os.sched_setaffinity(0, {server_cpu})
        try:
            janus = shutil.which("janus") or "janus"
            argv = [janus, "-F", str(folder), "-C", str(folder / "janus.jcfg")]
            self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            if load_cpu is not None:
                os.sched_setaffinity(0, {load_cpu})
        self._wait_ready()
        self.pool = ThreadPoolExecutor(SIGNAL_THREADS)
        self.api: JanusApi | None = None
        self.rooms: list[int] = []

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("janus exited:\n" + self.log_tail())
            try:
                if httpx.get(f"{self.base}/info", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("janus did not answer on its HTTP API:\n" + self.log_tail())

    def log_tail(self) -> str:
        self.log.flush()
        return "\n".join(Path(self.tmp.name, "janus.log").read_text(errors="replace").splitlines()[-30:])

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid]

    def setup(self, scenario: Scenario, pool: Pool) -> None:
        self.api = api = JanusApi(self.base)
        admin = api.attach()
        self.rooms = []
        for _ in range(scenario.rooms):
            room = secrets.randbelow(2**31) + 1
            api.request(admin, {"request": "create", "room": room, "publishers": 4, "videocodec": "vp8",
                                "bitrate": 0, "fir_freq": 0, "notify_joining": False})  # fmt: skip
            self.rooms.append(room)
        feeds = self._publish(api, pool, scenario)
        self._subscribe(api, pool, scenario, feeds)

    def _publish(self, api: JanusApi, pool: Pool, scenario: Scenario) -> list[int]:
        locals_ = pool.create_publishers(scenario.rooms, self.ice_ip)
        feeds, items = [], []
        for i, (room, local) in enumerate(zip(self.rooms, locals_, strict=True)):
            handle = api.attach()
            ssrc = 0x2000 + i
            event = api.message(handle, {"request": "joinandconfigure", "ptype": "publisher", "room": room,
                                         "display": f"pub{i}", "audio": False, "video": True},
                                {"type": "offer", "sdp": offer_sdp(local, ssrc)})  # fmt: skip
            feeds.append(event["plugindata"]["data"]["id"])
            remote = self._remote(api, handle, event["jsep"]["sdp"], we_offered=True)
            items.append((local, remote, ssrc, 96))
        pool.start(items)
        pool.connect()
        return feeds

    def _subscribe(self, api: JanusApi, pool: Pool, scenario: Scenario, feeds: list[int]) -> None:
        locals_ = pool.create_subscribers(scenario.streams, self.ice_ip)

        def one(i: int) -> tuple[dict[str, Any], dict[str, Any], None, int]:
            room, feed = self.rooms[i // scenario.subscribers], feeds[i // scenario.subscribers]
            handle = api.attach()
            event = api.message(handle, {"request": "join", "ptype": "subscriber", "room": room,
                                         "streams": [{"feed": feed}]})  # fmt: skip
            remote = self._remote(api, handle, event["jsep"]["sdp"], we_offered=False)
            answer = {"type": "answer", "sdp": answer_sdp(locals_[i], remote["mid"], remote["payload_type"])}
            api.message(handle, {"request": "start"}, answer)
            return (locals_[i], remote, None, 0)

        items = list(self.pool.map(one, range(scenario.streams)))
        pool.start(items)
        pool.connect()

    def _remote(self, api: JanusApi, handle: int, sdp: str, *, we_offered: bool) -> dict[str, Any]:
        remote = parse_remote(sdp, self.ice_ip, we_offered)
        deadline = time.monotonic() + 5
        while remote["ip"] is None and time.monotonic() < deadline:  # trickled after the SDP
            found = api.candidate_of(handle, self.ice_ip)
            if found:
                remote["ip"], remote["port"] = found
            else:
                time.sleep(0.02)
        if remote["ip"] is None:
            raise RuntimeError(f"Janus gave no candidate on {self.ice_ip}; its SDP:\n{sdp}")
        return remote

    def teardown(self) -> None:
        if self.api is not None:
            self.api.close()  # destroying the session hangs up every handle
            self.api = None

    def stop(self) -> None:
        self.teardown()
        self.pool.shutdown()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        self.tmp.cleanup()
