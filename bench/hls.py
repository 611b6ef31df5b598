"""Live streaming to HLS: our pipeline's CPU against the ffmpeg CLI's, concurrent live streams, and lags.

One run, one input per size: a VP8 + Opus WebM like Chrome's MediaRecorder's (``bench/hls_clip.py``: a
moving test pattern with grain and a tone, 30 fps, 2.5 Mbit/s) at 854x480 and 1280x720. Three measurements:

1. **CPU per media second**, at each size and x264 preset. Ours: the stream worker
   (``python -m altegon_rt.media.worker``) run directly on the whole clip, as the server starts it (told the
   file's length, then ``end``). The comparator: the Debian ffmpeg CLI (used only here) on the same file with
   the same settings: one thread to decode and to encode, libx264 with the same preset, ``tune=zerolatency``,
   crf 23, no B-frames, no scene-cut keyframes, a keyframe forced every 2 s; AAC 128 kbit/s; its ``hls``
   muxer writing fMP4 segments of 2 s (it has no LL-HLS parts). CPU is user + system time of the process
   (``RUSAGE_CHILDREN``). "steady" is the marginal cost: (whole clip - its first 3 s) / (media difference),
   which leaves out process start (Python's imports, for ours) that a live stream pays once.
2. **Concurrent 720p live streams**: the real server (``altegon-rt serve``, ``hls.x264_preset`` set per
   row) with N broadcasters sending the 720p clip in real time, 1 s chunks, through python-socketio
   (``bench/hls_load.py``; their start spread over 1 s), and N LL-HLS viewers (blocking reload) noting when
   each part and segment is listed. A stream keeps up when the lag of its parts does not grow (the median of
   its last quarter of parts is within 0.5 s of its first quarter's). The ramp stops at the first N that does
   not keep up.
3. **Lags**: for each part (segment), the time it is listed in the playlist minus the time the chunk holding
   its last frame was sent; p50 and p99 over all streams, without the first chunk (worker start; its own
   column) and the last (closed by ``endStream``). Glass-to-glass with a browser is measured by the Chromium
   demo, not here.

Usage: ``.venv/bin/python bench/hls.py [--quick] [--json]`` (root, for the load's priority; needs
``apt-get install ffmpeg``). About 5 minutes; ``--quick`` is a smoke run of about a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hls_clip import make_clip, split_chunks  # bench/ modules import their siblings (bench/ is not a package)
from wrkrun import descendants, process_cpu_s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = {"480p": (854, 480), "720p": (1280, 720)}
PREFIX_S = 3  # the short run that "steady" subtracts


# -- 1. CPU per media second ------------------------------------------------------------------------------------
def _child_cpu(command: list[str], stdin: str = "", cwd: Path | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=900)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def ours(clip: Path, preset: str, out: Path) -> tuple[float, float]:
    out.mkdir(parents=True)
    settings = {"dir": str(out), "source": str(clip), "target_s": 2.0, "max_segment_s": 2.49, "part_s": 0.5,
                "x264_preset": preset, "first_msn": 0, "generation": 0, "resume_after_s": -1.0}  # fmt: skip
    command = [sys.executable, "-m", "altegon_rt.media.worker", json.dumps(settings)]
    return _child_cpu(command, f"grow {clip.stat().st_size}\nend\n")


def ffmpeg(clip: Path, preset: str, out: Path) -> tuple[float, float]:
    out.mkdir(parents=True)
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", str(clip),
        "-map", "0:v:0", "-map", "0:a:0", "-threads", "1",
        "-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-crf", "23", "-bf", "0", "-g", "10000",
        "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
        "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4", "-hls_list_size", "0",
        "-hls_playlist_type", "event", "-hls_segment_filename", str(out / "%d.m4s"), str(out / "index.m3u8"),
    ]  # fmt: skip
    return _child_cpu(command, cwd=out)


def cpu_rows(clips: dict[str, tuple[Path, Path, float]], presets: list[str], work: Path,
             repeat: int) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    for size, (clip, prefix, media_s) in clips.items():
        for preset in presets:
            best: dict[str, tuple[float, float, float]] = {}
            for attempt in range(repeat):
                for name, run in (("ours", ours), ("ffmpeg", ffmpeg)):
                    tag = f"{size}-{preset}-{name}-{attempt}"
                    cpu, wall = run(clip, preset, work / tag)
                    short, _ = run(prefix, preset, work / f"{tag}-prefix")
                    if name not in best or cpu < best[name][0]:
                        best[name] = (cpu, wall, short)
                    log(f"cpu {tag}: {cpu:.2f} s CPU ({short:.2f} s for the first {PREFIX_S} s), {wall:.1f} s wall")
            row: dict[str, Any] = {"size": size, "preset": preset, "media_s": media_s}
            for name, (cpu, wall, short) in best.items():
                row[name] = {"cpu_per_media_s": cpu / media_s, "steady": (cpu - short) / (media_s - PREFIX_S),
                             "x_real_time": media_s / wall}  # fmt: skip
            row["efficiency"] = row["ffmpeg"]["cpu_per_media_s"] / row["ours"]["cpu_per_media_s"]
            row["steady_efficiency"] = row["ffmpeg"]["steady"] / row["ours"]["steady"]
            rows.append(row)
    return rows


# -- 2 and 3. the real server -----------------------------------------------------------------------------------
def server_cpu_s(pid: int) -> float:
    """The server's CPU seconds with its children's: the ended workers it reaped (utime, stime, cutime,
    cstime of /proc/PID/stat) and the live ones (the embedded database, workers still running)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_s(child) for child in descendants(pid))


def machine_busy_s() -> float:
    """CPU seconds the whole machine was busy since boot (user, nice, system, irq, softirq)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def keeps_up(part_lags: list[float]) -> bool:
    if len(part_lags) < 4:
        return bool(part_lags)
    quarter = len(part_lags) // 4
    return statistics.median(part_lags[-quarter:]) - statistics.median(part_lags[:quarter]) < 0.5


def live_step(url: str, pid: int, clip: Path, streams: int, media_s: float) -> dict[str, Any]:
    cpu_before, busy_before, start = server_cpu_s(pid), machine_busy_s(), time.monotonic()
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = subprocess.Popen([sys.executable, str(HERE / "hls_load.py"), url, str(clip), "--streams", str(streams)],
                            stdout=subprocess.PIPE, text=True, preexec_fn=_raise_priority)  # fmt: skip
    out, _ = load.communicate(timeout=media_s + 120)
    if load.returncode != 0:
        raise RuntimeError(f"hls_load.py exited {load.returncode}")
    time.sleep(0.5)  # the last workers exit and are reaped after their playlists end
    wall, cpu = time.monotonic() - start, server_cpu_s(pid) - cpu_before
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_cpu = (load_after.ru_utime - load_before.ru_utime) + (load_after.ru_stime - load_before.ru_stime)
    others = (machine_busy_s() - busy_before - cpu - load_cpu) / wall
    results = json.loads(out)
    failed = [r for r in results if "lags" not in r or not r["ended"] or r["errors"]]
    parts = [x for r in results if "lags" in r for x in r["lags"]["part"]]
    segments = [x for r in results if "lags" in r for x in r["lags"]["segment"]]
    first = [x for r in results if "lags" in r for x in r["lags"]["first_part"]]
    late = [x for r in results if "late" in r for x in r["late"]]
    up = not failed and all(keeps_up(r["lags"]["part"]) for r in results)
    return {"streams": streams, "keeps_up": up, "failed": len(failed), "errors": [r.get("errors") for r in failed][:2],
            "part_p50": quantile(parts, 0.5), "part_p99": quantile(parts, 0.99), "part_max": max(parts, default=0),
            "segment_p50": quantile(segments, 0.5), "segment_p99": quantile(segments, 0.99),
            "first_part_p50": quantile(first, 0.5), "cores": cpu / wall,
            "cpu_per_stream_media_s": cpu / (streams * media_s), "sender_late_p99": quantile(late, 0.99),
            "load_cores": load_cpu / wall, "other_cores": max(0.0, others)}  # fmt: skip


def _raise_priority() -> None:
    """The broadcasters stand for browsers on other machines: a busy server must not delay their chunks."""
    with contextlib.suppress(PermissionError):
        os.nice(-5)


def live_rows(clip: Path, media_s: float, presets: list[str], ramp: list[int], work: Path) -> list[dict[str, Any]]:
    from altegon_rt.testing.process import ServerProcess

    rows = []
    for preset in presets:
        env = {"ALTEGON_HLS_X264_PRESET": preset, "ALTEGON_HLS_MAX_STREAMS": str(max(ramp) + 2)}
        server = ServerProcess(work / f"server-{preset}", env=env)
        try:
            for streams in ramp:
                row = {"preset": preset, **live_step(server.url, server.proc.pid, clip, streams, media_s)}
                rows.append(row)
                log(f"live {preset} x{streams}: keeps up {row['keeps_up']}, part lag p50/p99 "
                    f"{row['part_p50']:.2f}/{row['part_p99']:.2f} s, {row['cores']:.2f} cores")  # fmt: skip
                if not row["keeps_up"]:
                    break
        finally:
            server.terminate()
    return rows


# -- report -----------------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(cpu: list[dict[str, Any]], live: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"clip: VP8 + Opus WebM, {meta['seconds']:g} s, 30 fps, 2.5 Mbit/s; {meta['machine']}", "",
             "### CPU per media second: our worker vs the ffmpeg CLI (same settings, one thread)", "",
             "| size | preset | ours CPU s/s | ffmpeg CPU s/s | efficiency (ffmpeg/ours) | ours steady | ffmpeg steady "
             "| steady efficiency | ours x real time | ffmpeg x real time |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in cpu:
        o, f = r["ours"], r["ffmpeg"]
        lines.append(f"| {r['size']} | {r['preset']} | {o['cpu_per_media_s']:.3f} | {f['cpu_per_media_s']:.3f} | "
                     f"{r['efficiency']:.2f}x | {o['steady']:.3f} | {f['steady']:.3f} | "
                     f"{r['steady_efficiency']:.2f}x | "
                     f"{o['x_real_time']:.1f} | {f['x_real_time']:.1f} |")  # fmt: skip
    lines += ["", "### Concurrent 720p30 live streams through the real server (1 s chunks in real time)", "",
              "| x264 preset | streams | keeps up | part lag p50 / p99 / max s | segment lag p50 / p99 s "
              "| first part s | server + workers cores | CPU s per stream-media-s | sender late p99 ms "
              "| load process cores | other processes' cores | glass-to-glass |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in live:
        up = "yes" if r["keeps_up"] else f"**no**{' (' + str(r['failed']) + ' failed)' if r['failed'] else ''}"
        lines.append(f"| {r['preset']} | {r['streams']} | {up} | {r['part_p50']:.2f} / {r['part_p99']:.2f} / "
                     f"{r['part_max']:.2f} | {r['segment_p50']:.2f} / {r['segment_p99']:.2f} | "
                     f"{r['first_part_p50']:.2f} | {r['cores']:.2f} | {r['cpu_per_stream_media_s']:.3f} | "
                     f"{r['sender_late_p99'] * 1000:.0f} | {r['load_cores']:.2f} | {r['other_cores']:.2f} | "
                     "(Chromium demo) |")  # fmt: skip
    lines.append("")
    for preset in dict.fromkeys(r["preset"] for r in live):
        ok = [r["streams"] for r in live if r["preset"] == preset and r["keeps_up"]]
        fast = [r["streams"] for r in live if r["preset"] == preset and r["keeps_up"] and r["part_p99"] < 1.0]
        lines.append(f"- {preset}: {max(ok, default=0)} streams kept up; {max(fast, default=0)} with part lag "
                     "p99 < 1 s (aim: >= 8).")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 8 s clips, a short ramp")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument("--seconds", type=float, help="clip length (default 20, quick 8)")
    parser.add_argument("--presets", default="ultrafast,veryfast", help="x264 presets, for both measurements")
    parser.add_argument("--ramp", help="concurrent streams to try (default 1,4,6,8,10,12; quick 1,4)")
    parser.add_argument("--repeat", type=int, default=1, help="CPU runs per cell (the lowest counts)")
    parser.add_argument("--skip", choices=["cpu", "live"], help="leave one measurement out")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None and args.skip != "cpu":
        sys.exit("the comparator needs the ffmpeg CLI: apt-get install -y ffmpeg")
    seconds = args.seconds or (8.0 if args.quick else 20.0)
    ramp = [int(n) for n in (args.ramp or ("1,4" if args.quick else "1,4,6,8,10,12")).split(",")]
    presets = args.presets.split(",")
    # The worker and the server import the altegon_rt next to this script, as the bench does.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    meta = {"seconds": seconds, "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"}
    with tempfile.TemporaryDirectory(prefix="hls-bench-") as tmp:
        work = Path(tmp)
        clips: dict[str, tuple[Path, Path, float]] = {}
        for size, (width, height) in SIZES.items():
            if size != "720p" and args.skip == "cpu":
                continue  # the live streams are 720p
            start = time.monotonic()
            data = make_clip(width, height, seconds)
            chunks = split_chunks(data)
            (work / f"{size}.webm").write_bytes(data)
            (work / f"{size}-prefix.webm").write_bytes(b"".join(c.data for c in chunks[:PREFIX_S]))
            clips[size] = (work / f"{size}.webm", work / f"{size}-prefix.webm", seconds)
            made = time.monotonic() - start
            log(f"clip {size}: {len(data) / 1e6:.1f} MB, {len(chunks)} chunks, made in {made:.1f} s")
        cpu = [] if args.skip == "cpu" else cpu_rows(clips, presets, work, args.repeat)
        live = [] if args.skip == "live" else live_rows(clips["720p"][0], seconds, presets, ramp, work)
    meta["load_at_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"meta": meta, "cpu": cpu, "live": live}, indent=1))
    else:
        print(report(cpu, live, meta))
        print(f"\nload average at the end: {meta['load_at_end']:.1f}")


if __name__ == "__main__":
    main()
