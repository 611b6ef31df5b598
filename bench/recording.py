"""What composing a recording costs: the worker the recording server starts, on clips made here.

For each size (480p, 720p) makes a VP8 + Opus WebM clip of ``--seconds`` with moving content (a diagonal
gradient that slides every frame, so the encoders have motion to work on), then runs
``python -m altegon_rt.media.compose`` on two copies of it (two tracks, scale + concat) with each x264
preset; then the grid layout (RealtimeKit meetings) on ``--peers`` copies of the 480p clip playing at once,
tiled into 1280x720 with their audio mixed. One markdown table: media seconds, wall seconds, CPU seconds of
the worker (``RUSAGE_CHILDREN``), CPU seconds per media second, real-time factor, and the MP4's size.

Usage: ``.venv/bin/python bench/recording.py [--seconds 10] [--presets veryfast,ultrafast] [--peers 2,4]``.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

from altegon_rt.media.recording import ComposeJob

SIZES = ((854, 480), (1280, 720))
FPS = 30


def moving_clip(width: int, height: int, seconds: float) -> bytes:
    pattern = bytes(range(256)) * (width // 256 + 3)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=FPS, options={"deadline": "realtime", "cpu-used": "8", "b": "2M"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("libopus", rate=48000)
        sent = 0
        for i in range(int(seconds * FPS)):
            frame = av.VideoFrame(width, height, "yuv420p")
            luma = b"".join(pattern[(y + 3 * i) % 256 : (y + 3 * i) % 256 + width] for y in range(height))
            frame.planes[0].update(luma.ljust(frame.planes[0].buffer_size, b"\x80"))
            for plane in frame.planes[1:]:
                plane.update(b"\x80" * plane.buffer_size)
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
            while sent < (i + 1) * 48000 // FPS:
                tone = av.AudioFrame(format="s16", layout="stereo", samples=960)
                tone.planes[0].update(bytes(tone.planes[0].buffer_size))
                tone.sample_rate, tone.pts, tone.time_base = 48000, sent, Fraction(1, 48000)
                sent += 960
                for packet in audio.encode(tone):
                    out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return buffer.getvalue()


def run(job: ComposeJob) -> tuple[float, float, dict[str, object]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "altegon_rt.media.compose"], input=job.to_json(),
                          capture_output=True, check=True, timeout=3600)  # fmt: skip
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--presets", default="veryfast,ultrafast")
    parser.add_argument("--threads", type=int, default=2, help="encoder threads per job (recording.encoder_threads)")
    parser.add_argument("--peers", default="2,4", help="grid rows: this many simultaneous 480p tracks ('' for none)")
    args = parser.parse_args()
    print("| layout | tracks → output | preset | media s | wall s | CPU s | CPU s / media s | x real time | MP4 MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        tracks = {}
        for width, height in SIZES:
            track = tracks[height] = Path(tmp) / f"{height}p.webm"
            track.write_bytes(moving_clip(width, height, args.seconds))
            for preset in args.presets.split(","):
                out = Path(tmp) / f"{height}p-{preset}.mp4"
                job = ComposeJob([("a", str(track)), ("b", str(track))], str(out), preset=preset,
                                 threads=args.threads)  # fmt: skip
                report("concat", f"2 x {width}x{height}", job, out)
        for peers in [int(n) for n in args.peers.split(",") if n]:
            for preset in args.presets.split(","):
                out = Path(tmp) / f"grid-{peers}-{preset}.mp4"
                job = ComposeJob([(f"p{i}", str(tracks[480])) for i in range(peers)], str(out), width=1280,
                                 height=720, preset=preset, threads=args.threads, layout="grid")  # fmt: skip
                report("grid", f"{peers} x 854x480 → 1280x720", job, out)


def report(layout: str, shape: str, job: ComposeJob, out: Path) -> None:
    wall, cpu, done = run(job)
    media = float(done["durationMs"]) / 1000  # type: ignore[arg-type]
    print(f"| {layout} | {shape} | {job.preset} | {media:.1f} | {wall:.1f} | {cpu:.1f} | {cpu / media:.2f} "
          f"| {media / wall:.1f} | {out.stat().st_size / 1e6:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
