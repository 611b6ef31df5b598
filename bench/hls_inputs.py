"""Live streaming to HLS by what the browser records: the stream worker's CPU per media second for each input.

MediaRecorder gives WebM (Chrome, Firefox) or fragmented MP4 (Safari, newer Chrome); the worker
(``python -m altegon_rt.media.worker``, run directly on the whole file as the server starts it: told its
length, then ``end``) transcodes what it must and passes the rest through. Inputs, 1280x720 at 30 fps:

- ``webm vp8+opus``: ``bench/hls_clip.py``'s clip (Chrome's default): VP8 → libx264, Opus → AAC.
- ``webm h264+opus``: H.264 passed through, Opus → AAC (Chrome with ``video/webm;codecs=h264,opus``).
- ``mp4 h264+opus``: the same through the mp4 demuxer (Chromium with ``video/mp4;codecs=avc1,opus``).
- ``mp4 h264+aac``: both passed through (Safari with ``video/mp4;codecs=avc1,mp4a.40.2``).

The H.264 inputs hold the same packets: ``testsrc2`` with grain and a 440 Hz tone (as ``hls_clip.py``),
encoded once with libx264 (veryfast, 2.5 Mbit/s, no B-frames, a keyframe every 2 s) with Opus and AAC
(128 kbit/s) into Matroska, then remuxed unchanged: WebM with 1 s clusters, MP4 with
``frag_keyframe+empty_moov+default_base_moof`` (a fragment per keyframe, as Chromium writes). CPU is user +
system time of the worker process; "steady" is (whole clip - a 3 s clip) / (media difference), which leaves out
the process start that a live stream pays once.

Usage: ``.venv/bin/python bench/hls_inputs.py [--seconds 20] [--repeat 2] [--json]``; about a minute.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from hls import PREFIX_S, ROOT, _child_cpu, log  # bench/ modules import their siblings (bench/ is not a package)
from hls_clip import FPS, VIDEO_BITRATE, _graph, _pull, make_clip

WIDTH, HEIGHT = 1280, 720
MP4_FRAGMENTS = "frag_keyframe+empty_moov+default_base_moof"
# name: (container, FFmpeg demuxer the worker uses, audio codec kept) for the H.264 inputs
REMUXES = {"webm h264+opus": ("matroska", "matroska", "opus"), "mp4 h264+opus": ("mp4", "mp4", "opus"),
           "mp4 h264+aac": ("mp4", "mp4", "aac")}  # fmt: skip


def _audio(out: Any, codec: str) -> Any:
    stream = out.add_stream(codec, rate=48000)
    stream.layout = "stereo"
    stream.codec_context.bit_rate = 128_000
    return stream


def make_h264_master(seconds: float) -> bytes:
    """H.264 + Opus + AAC in one Matroska file (see the module docstring)."""
    pictures = _graph([("testsrc2", f"size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}"),
                       ("noise", "alls=6:allf=t"), ("format", "yuv420p")], "buffersink")  # fmt: skip
    tone = _graph([("sine", f"frequency=440:sample_rate=48000:duration={seconds}:samples_per_frame=1024"),
                   ("aformat", "sample_fmts=fltp:channel_layouts=stereo")], "abuffersink")  # fmt: skip
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        ctx = video.codec_context
        ctx.gop_size, ctx.max_b_frames, ctx.bit_rate = 2 * FPS, 0, VIDEO_BITRATE
        ctx.options = {"preset": "veryfast", "tune": "zerolatency", "sc_threshold": "0"}
        audio = [_audio(out, "libopus"), _audio(out, "aac")]
        sample = 0
        while (frame := _pull(pictures)) is not None:
            out.mux(video.encode(frame))
            while sample <= frame.pts * 48000 // FPS and (sound := _pull(tone)) is not None:
                for stream in audio:
                    copy = av.AudioFrame.from_ndarray(sound.to_ndarray(), format="fltp", layout="stereo")
                    copy.sample_rate, copy.pts, copy.time_base = 48000, sample, Fraction(1, 48000)
                    out.mux(stream.encode(copy))
                sample += sound.samples
        out.mux(video.encode(None))
        for stream in audio:
            out.mux(stream.encode(None))
    return buffer.getvalue()


def remux(master: bytes, container: str, audio_codec: str) -> bytes:
    """The master's H.264 and one of its audio tracks, unchanged, in ``container`` written as a live recorder's."""
    options = {"movflags": MP4_FRAGMENTS} if container == "mp4" else {"cluster_time_limit": "1000"}
    buffer = io.BytesIO()
    with av.open(io.BytesIO(master)) as source, av.open(buffer, "w", format=container, options=options) as out:
        keep = [source.streams.video[0], *(s for s in source.streams.audio if s.codec_context.name == audio_codec)]
        outs = {s.index: out.add_stream_from_template(s) for s in keep}
        for packet in source.demux(keep):
            if packet.dts is not None:
                packet.stream = outs[packet.stream.index]
                out.mux(packet)
    return buffer.getvalue()


def worker_cpu(clip: Path, demuxer: str, media_s: float, out: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a stream worker over ``clip``."""
    out.mkdir(parents=True)
    settings = {"dir": str(out), "source": str(clip), "format": demuxer, "target_s": 2.0, "max_segment_s": 2.49,
                "part_s": 0.5, "x264_preset": "veryfast", "first_msn": 0, "generation": 0,
                "resume_after_s": -1.0}  # fmt: skip
    command = [sys.executable, "-m", "altegon_rt.media.worker", json.dumps(settings)]
    cpu, wall = _child_cpu(command, f"grow {clip.stat().st_size}\nend\n")
    segments = [p for p in out.iterdir() if p.suffix == ".m4s" and p.stem.isdigit()]
    if len(segments) < media_s / 2 - 1:  # the worker did the whole job
        raise RuntimeError(f"{clip.name}: {len(segments)} segments for {media_s:g} s")
    return cpu, wall


def inputs(seconds: float, work: Path) -> dict[str, tuple[Path, str]]:
    """Every input as a file: name → (path, demuxer)."""
    files: dict[str, tuple[Path, str]] = {}
    master = make_h264_master(seconds)
    vp8 = work / f"vp8-{seconds:g}.webm"
    vp8.write_bytes(make_clip(WIDTH, HEIGHT, seconds))
    files["webm vp8+opus"] = (vp8, "matroska")
    for name, (container, demuxer, audio) in REMUXES.items():
        path = work / f"{name.replace(' ', '-').replace('+', '-')}-{seconds:g}.{'mp4' if container == 'mp4' else 'mkv'}"
        path.write_bytes(remux(master, container, audio))
        files[name] = (path, demuxer)
    return files


def measure(seconds: float, repeat: int, work: Path) -> list[dict[str, Any]]:
    start = time.monotonic()
    whole, short = inputs(seconds, work), inputs(PREFIX_S, work)
    log(f"inputs made in {time.monotonic() - start:.1f} s")
    rows = []
    for name, (clip, demuxer) in whole.items():
        runs = [worker_cpu(clip, demuxer, seconds, work / f"out-{len(rows)}-{i}") for i in range(repeat)]
        cpu, wall = min(runs)
        prefix = min(
            worker_cpu(short[name][0], demuxer, PREFIX_S, work / f"out-{len(rows)}-{i}-short")[0] for i in range(repeat)
        )
        log(f"{name}: {cpu:.2f} s CPU ({prefix:.2f} s for {PREFIX_S} s), {wall:.1f} s wall")
        rows.append({"input": name, "bytes": clip.stat().st_size, "cpu_per_media_s": cpu / seconds,
                     "steady": (cpu - prefix) / (seconds - PREFIX_S), "x_real_time": seconds / wall})  # fmt: skip
    return rows


def report(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"inputs: {WIDTH}x{HEIGHT} {FPS} fps, {meta['seconds']:g} s; {meta['machine']}", "",
             "| input | CPU s per media s | steady | x real time | vs webm vp8+opus (steady) |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    base = rows[0]["steady"]
    for r in rows:
        lines.append(f"| {r['input']} | {r['cpu_per_media_s']:.3f} | {r['steady']:.3f} | {r['x_real_time']:.1f} | "
                     f"{r['steady'] / base:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length (default 20)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per input (the lowest counts)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args()
    # The worker imports the altegon_rt next to this script.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    meta = {
        "seconds": args.seconds,
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
    }
    with tempfile.TemporaryDirectory(prefix="hls-inputs-") as tmp:
        rows = measure(args.seconds, args.repeat, Path(tmp))
    print(json.dumps({"meta": meta, "rows": rows}, indent=1) if args.json else report(rows, meta))


if __name__ == "__main__":
    main()
