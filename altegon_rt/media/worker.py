"""The worker process of one live stream: ``python -m altegon_rt.media.worker '<json settings>'``.

Protocol over its pipes (the server's side is ``media/workers.py``):

- standard input, one command a line: ``grow <length>`` (the source file holds that many bytes now), ``end``
  (no more will come); end of input means ``end``.
- standard output, one JSON event a line: ``init`` {uri}, ``part`` {msn, index, uri, start, duration,
  independent}, ``segment`` {msn, uri, start, duration}, ``error`` {code, message} (a packet that did not
  decode: the worker goes on), ``fatal`` {code, message} (the stream cannot be processed; exit status 3),
  ``end`` (everything was written).

Files go to the stream's directory, each written under a temporary name and renamed, so a reader never sees
half of one: ``init<generation>.mp4``, ``<msn>.<part>.m4s`` and ``<msn>.m4s``. A crash of the codec
libraries ends this process only; the server starts another (the next generation), which re-reads the
source from byte 0 and drops what was already published (``resume_after_s``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import av.error
import av.logging

from altegon_rt.media import FATAL_EXIT
from altegon_rt.media.fmp4 import Sample
from altegon_rt.media.ingest import GrowingFile
from altegon_rt.media.segmenter import Output, PartReady, Segmenter
from altegon_rt.media.transcode import Encoded, MediaError, Transcoder, TranscodeSettings, open_input

MAX_REPORTED_ERRORS = 5  # per worker: the first few decode errors, then every hundredth


class Events:
    """JSON lines to the server, flushed one by one."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._out.write(json.dumps({"type": kind, **fields}) + "\n")
            self._out.flush()


def read_commands(commands: TextIO, source: GrowingFile) -> None:
    """Feed ``grow``/``end`` from standard input into the reader (a daemon thread)."""
    try:
        for line in commands:
            word, _, arg = line.strip().partition(" ")
            if word == "grow" and arg.isdigit():
                source.grow(int(arg))
            elif word == "end":
                break
    finally:
        source.finish()


def _write(directory: Path, name: str, data: bytes) -> None:
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, directory / name)


class StreamWorker:
    """One run over the source: transcode, segment, write, report."""

    def __init__(self, settings: dict[str, Any], events: Events) -> None:
        self.directory = Path(settings["dir"])
        self.settings = settings
        self.events = events
        self.errors = 0
        self._logged_errors = 0
        self._segmenter: Segmenter | None = None
        self.demuxer = settings.get("format", "matroska")  # FFmpeg's: "matroska" or "mp4" (source.py)
        self.container = "MP4" if self.demuxer == "mp4" else "WebM"

    def on_wait(self) -> None:
        """The reader has given FFmpeg every byte sent so far and waits for more (called in the reading thread,
        between two packets): report damage the demuxer found, and publish the parts that waited for audio."""
        self.check_demuxer()
        if self._segmenter is not None:
            self._publish(self._segmenter.idle())

    def check_demuxer(self) -> None:
        """Before waiting for more bytes: did FFmpeg find the bytes so far damaged? (It skips damaged parts
        and looks for the next cluster, which could otherwise go unnoticed until the sender timeout.)"""
        count, last = av.logging.get_last_error() or (0, None)
        if count > self._logged_errors and last is not None:
            self._logged_errors = count
            self._decode_error(ValueError(f"damaged {self.container} data: {str(last[2]).strip()}"))

    def run(self, source: GrowingFile) -> int:
        s = self.settings
        source.on_wait = self.on_wait
        try:
            transcoder = Transcoder(open_input(source, self.demuxer), TranscodeSettings(
                target_s=s["target_s"], x264_preset=s["x264_preset"], resume_after_s=s["resume_after_s"]))  # fmt: skip
        except MediaError as exc:
            self.events.send("fatal", code=exc.code, message=exc.message)
            return FATAL_EXIT
        init_name = f"init{s['generation']}.mp4"
        _write(self.directory, init_name, transcoder.init_section())
        self.events.send(
            "init", uri=init_name, passthrough=transcoder.passthrough, audio_passthrough=transcoder.audio_passthrough
        )
        segmenter = Segmenter(
            video=transcoder.video_track, audio=transcoder.audio_track, target_s=s["target_s"],
            max_segment_s=s["max_segment_s"], part_s=s["part_s"], first_msn=s["first_msn"],
        )  # fmt: skip
        self._segmenter = segmenter
        packets = transcoder.packets()
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.error.FFmpegError, EOFError) as exc:
                self.events.send("fatal", code="invalid_media", message=f"the {self.container} stream is broken: {exc}")
                return FATAL_EXIT
            try:
                encoded = transcoder.process(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                self._decode_error(exc)
                continue
            self._segment(segmenter, encoded)
        try:
            self._segment(segmenter, transcoder.finish())
        except (av.error.FFmpegError, ValueError) as exc:
            self._decode_error(exc)
        self._publish(segmenter.flush())
        self.events.send("end")
        return 0

    def _decode_error(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= MAX_REPORTED_ERRORS or self.errors % 100 == 0:
            self.events.send("error", code="invalid_media",
                             message=f"a chunk did not decode ({self.errors} so far): {exc}")  # fmt: skip

    def _segment(self, segmenter: Segmenter, encoded: list[Encoded]) -> None:
        for item in encoded:
            sample: Sample = item.sample
            push = segmenter.push_video if item.kind == "video" else segmenter.push_audio
            self._publish(push(sample))

    def _publish(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, PartReady):
                name = f"{out.msn}.{out.index}.m4s"
                _write(self.directory, name, out.data)
                self.events.send("part", msn=out.msn, index=out.index, uri=name, start=out.start_s,
                                 duration=out.duration_s, independent=out.independent)  # fmt: skip
            else:
                name = f"{out.msn}.m4s"
                _write(self.directory, name, out.data)
                self.events.send("segment", msn=out.msn, uri=name, start=out.start_s, duration=out.duration_s)


def main(argv: list[str]) -> int:
    settings = json.loads(argv[1])
    # FFmpeg's errors are counted (check_demuxer) and reported as events, not printed to the server's log.
    logging.getLogger("libav").addHandler(logging.NullHandler())
    logging.getLogger("libav").propagate = False
    av.logging.set_level(av.logging.ERROR)
    events = Events(sys.stdout)
    source = GrowingFile(Path(settings["source"]), idle_timeout_s=settings.get("idle_timeout_s", 3600.0))
    threading.Thread(target=read_commands, args=(sys.stdin, source), daemon=True).start()
    try:
        return StreamWorker(settings, events).run(source)
    finally:
        source.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
