"""Recording tracks on disk, and the job format of the composing worker (``compose.py``). No ``av`` here.

The recording server socket (``realtime/recording.py``) appends each track's MediaRecorder chunks to
``<data dir>/recordings/<recording>/<track>.webm`` as they arrive. Folder and file names are derived from
the client's ids but never are them: a plain id (``[A-Za-z0-9_-]``, at most 64 characters) is used as is,
anything else is replaced by its SHA-256 (recordings) or made plain and suffixed with a hash (tracks).

``tracks.json`` in the folder lists the files in the order they were created (the order in which the tracks
are concatenated) with their videoIds; it is replaced atomically (write, fsync, rename, fsync the folder),
so a crash leaves the old or the new list, never half of one. Appends are fsynced by :class:`FsyncPolicy`'s
rule (every ``interval_s`` or ``max_bytes``, whichever comes first), so a crash of the server or the machine
loses at most the last seconds of each track, and a restarted server finds every track where it was.

Blocking calls (:class:`TrackFile`, :func:`read_manifest`, :func:`add_to_manifest`) are meant for worker
threads; :class:`FsyncPolicy` and :class:`ReportReader` are sans-IO.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # every WebM/Matroska stream starts with an EBML header
MANIFEST = "tracks.json"
OUTPUT_PART = "composed.mp4.part"
_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9_-]+")
MAX_REPORT_LINE = 64 * 1024
LAYOUTS = ("concat", "grid")  # the composing worker's layouts (compose.py, grid.py)


def recording_folder(root: Path, recording_id: str) -> Path:
    """``root/<recordingId>``, or ``root/<sha256 of it>`` when it is not plain text."""
    name = recording_id if _PLAIN.match(recording_id) else hashlib.sha256(recording_id.encode()).hexdigest()
    return root / name


def track_stem(video_id: str) -> str:
    """A file stem for a videoId: itself when plain, else its plain characters and a hash (so two ids never meet)."""
    if _PLAIN.match(video_id):
        return video_id
    plain = _NOT_PLAIN.sub("_", video_id).strip("_")[:40] or "track"
    return f"{plain}-{hashlib.sha256(video_id.encode()).hexdigest()[:12]}"


# -- the manifest ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrackEntry:
    """One file of a recording: which videoId it carries and when it was created (epoch seconds)."""

    video_id: str
    file: str
    created: float

    def as_json(self) -> dict[str, Any]:
        return {"videoId": self.video_id, "file": self.file, "created": self.created}


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(folder: Path) -> list[TrackEntry]:
    """The folder's tracks in creation order; [] when there is no folder or list. Entries naming odd files are
    skipped (the list is ours, but a file on disk is never trusted to name a path)."""
    try:
        raw = json.loads((folder / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        return []
    except ValueError:
        raise ValueError(f"{folder / MANIFEST} is not valid JSON") from None
    entries = []
    for item in raw.get("tracks", []) if isinstance(raw, dict) else []:
        name = item.get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}(\.\d+)?\.webm", name):
            entries.append(TrackEntry(str(item.get("videoId", "")), name, float(item.get("created", 0))))
    return entries


def add_to_manifest(folder: Path, entry: TrackEntry) -> list[TrackEntry]:
    """Append ``entry`` to the folder's list (creating the folder), atomically; the new list."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = [*read_manifest(folder), entry]
    tmp = folder / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"tracks": [e.as_json() for e in entries]}, out)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(folder / MANIFEST)
    _fsync_dir(folder)
    return entries


def next_file_name(entries: list[TrackEntry], video_id: str) -> str:
    """The name of a new file for ``video_id``: ``<stem>.webm``, then ``<stem>.2.webm``, ``<stem>.3.webm``..."""
    stem = track_stem(video_id)
    taken = {e.file for e in entries}
    name, n = f"{stem}.webm", 1
    while name in taken:
        n += 1
        name = f"{stem}.{n}.webm"
    return name


def folder_size(folder: Path) -> int:
    """Bytes of every track file in the folder (what counts against ``recording.max_recording_bytes``)."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for item in folder.iterdir():
            if item.suffix == ".webm" and item.is_file():
                total += item.stat().st_size
    return total


# -- appending ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class FsyncPolicy:
    """When to fsync an appended file: ``max_bytes`` written or ``interval_s`` passed since the last sync."""

    interval_s: float
    max_bytes: int
    unsynced: int = 0
    first_unsynced_at: float | None = None

    def wrote(self, n: int, now: float) -> None:
        if n and self.first_unsynced_at is None:
            self.first_unsynced_at = now
        self.unsynced += n

    def due(self, now: float) -> bool:
        if not self.unsynced:
            return False
        assert self.first_unsynced_at is not None
        return self.unsynced >= self.max_bytes or now - self.first_unsynced_at >= self.interval_s

    def synced(self) -> None:
        self.unsynced, self.first_unsynced_at = 0, None


@dataclass(slots=True)
class TrackFile:
    """One track file opened for append (blocking: call from a worker thread, one call at a time)."""

    path: Path
    policy: FsyncPolicy
    fd: int = -1
    size: int = 0
    syncs: int = field(default=0)

    def open(self) -> int:
        """Open (creating it and fsyncing the folder when new); the size it has."""
        created = not self.path.exists()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if created:
            _fsync_dir(self.path.parent)
        self.size = os.fstat(self.fd).st_size
        return self.size

    def append(self, data: bytes) -> int:
        """Write all of ``data``, fsync when the policy says so; the file's new size."""
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)
        now = time.monotonic()
        self.policy.wrote(len(data), now)
        if self.policy.due(now):
            self.sync()
        return self.size

    def sync_if_due(self) -> None:
        if self.fd >= 0 and self.policy.due(time.monotonic()):
            self.sync()

    def sync(self) -> None:
        if self.fd >= 0 and self.policy.unsynced:
            os.fsync(self.fd)
            self.syncs += 1
        self.policy.synced()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                self.sync()
            finally:
                os.close(self.fd)
                self.fd = -1


# -- the composing worker's job and reports ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ComposeJob:
    """What ``python -m altegon_rt.media.compose`` reads as JSON on stdin.

    ``tracks`` are (videoId, path), in concatenation order (``layout="concat"``) or in the order their tiles take
    (``"grid"``). ``starts_ms`` (grid only; one per track, or none) place each track's first frame on the common
    timeline; without them the tracks' own timestamps are that timeline. ``width``/``height`` 0 mean "the largest
    track's" (concat) or 1280x720 (grid), bounded by ``max_width``/``max_height``. ``fps``: the frame rate of
    the grid's picture (concat keeps the tracks' frame times).
    """

    tracks: list[tuple[str, str]]
    output: str
    width: int = 0
    height: int = 0
    max_width: int = 1920
    max_height: int = 1080
    preset: str = "veryfast"
    crf: int = 23
    audio_bitrate: int = 128_000
    threads: int = 2
    layout: str = "concat"
    starts_ms: list[int] = field(default_factory=list)
    fps: int = 30

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if self.starts_ms and len(self.starts_ms) != len(self.tracks):
            raise ValueError(f"starts_ms has {len(self.starts_ms)} entries for {len(self.tracks)} tracks")
        if not 1 <= self.fps <= 60:
            raise ValueError("fps must be 1-60")

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> ComposeJob:
        data = json.loads(raw)
        data["tracks"] = [(str(v), str(p)) for v, p in data["tracks"]]
        data["starts_ms"] = [int(ms) for ms in data.get("starts_ms", [])]
        return cls(**data)


class ReportReader:
    """The worker's stdout, split into JSON-object lines (sans-IO). Lines that are not one are skipped and
    counted; a line longer than :data:`MAX_REPORT_LINE` is dropped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False
        self.skipped = 0

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        reports = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            reports.extend(self._parse(line))
        if len(self._buffer) > MAX_REPORT_LINE:
            self._buffer.clear()
            self._skipping, self.skipped = True, self.skipped + 1
        return reports

    def _parse(self, line: bytes) -> list[dict[str, Any]]:
        if not line.strip():
            return []
        try:
            report = json.loads(line)
        except ValueError:
            report = None
        if not isinstance(report, dict) or not isinstance(report.get("event"), str):
            self.skipped += 1
            return []
        return [report]
