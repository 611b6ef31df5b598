"""The composer's grid layout (``media/grid.py``): its geometry and mixing, then a whole job on WebM tracks made
by PyAV — tracks of different sizes, colours and tones that overlap for part of the time — probed back with PyAV."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.media.compose import TrackInfo
from altegon_rt.media.grid import HOLD_MS, KNEE, GridTrack, Mixer, Rect, fit, grid_shape, soft_clip, tile_cells
from altegon_rt.media.recording import ComposeJob
from tests.media.recording_clips import clip


def test_grid_shapes_grow_by_rows_and_columns() -> None:
    shapes = {n: grid_shape(n) for n in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 16, 25)}
    assert shapes == {0: (0, 0), 1: (1, 1), 2: (2, 1), 3: (2, 2), 4: (2, 2), 5: (3, 2), 6: (3, 2), 7: (3, 3),
                      9: (3, 3), 10: (4, 3), 16: (4, 4), 25: (5, 5)}  # fmt: skip


@given(st.integers(1, 25), st.integers(16, 960).map(lambda n: n * 2), st.integers(16, 540).map(lambda n: n * 2))
def test_cells_are_even_inside_the_picture_and_never_overlap(n: int, width: int, height: int) -> None:
    cells = tile_cells(n, width, height)
    assert len(cells) == n
    for c in cells:
        assert c.x % 2 == c.y % 2 == c.width % 2 == c.height % 2 == 0
        assert c.x >= 0 and c.y >= 0 and c.x + c.width <= width and c.y + c.height <= height
    for a in cells:
        for b in cells:
            if a is not b:
                assert a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y


def test_two_tiles_side_by_side_and_a_short_last_row_centred() -> None:
    assert tile_cells(1, 640, 360) == [Rect(0, 0, 640, 360)]
    assert tile_cells(2, 640, 360) == [Rect(0, 0, 320, 360), Rect(320, 0, 320, 360)]
    assert tile_cells(3, 640, 360) == [Rect(0, 0, 320, 180), Rect(320, 0, 320, 180), Rect(160, 180, 320, 180)]


def test_fit_keeps_the_aspect_ratio_centred_in_the_cell() -> None:
    assert fit(320, 240, Rect(0, 0, 480, 180)) == Rect(120, 0, 240, 180)  # pillarbox
    assert fit(256, 144, Rect(240, 0, 240, 180)) == Rect(240, 22, 240, 134)  # letterbox
    assert fit(1280, 720, Rect(10, 20, 64, 36)) == Rect(10, 20, 64, 36)


@given(st.lists(st.floats(-4, 4, width=32), min_size=1, max_size=50))
def test_soft_clip_never_passes_full_scale_and_leaves_quiet_samples(values: list[float]) -> None:
    samples = np.array(values, np.float32)
    limited = soft_clip(samples.copy())
    assert np.all(np.abs(limited) <= 1.0)
    quiet = np.abs(samples) <= KNEE
    assert np.array_equal(limited[quiet], samples[quiet])
    assert np.all(np.sign(limited) == np.sign(samples))


def test_mixer_sums_where_samples_sit_and_drops_what_comes_too_late() -> None:
    mixer = Mixer()
    mixer.add(2, np.full((2, 4), 0.25, np.float32))
    mixer.add(4, np.full((2, 4), 0.25, np.float32))
    first = np.concatenate([f.to_ndarray() for f in mixer.take(6)], axis=1)
    assert first[0].tolist() == [0, 0, 0.25, 0.25, 0.5, 0.5]
    mixer.add(3, np.full((2, 5), 0.5, np.float32))  # samples 3-5 were taken already: only 6 and 7 count
    rest = np.concatenate([f.to_ndarray() for f in mixer.take(10)], axis=1)
    assert rest[0].tolist() == [0.75, 0.75, 0, 0]
    assert list(mixer.take(10)) == []


def test_a_tile_shows_from_the_first_frame_to_the_last_and_through_short_gaps_only() -> None:
    # The file's media runs 200-9200 ms, its video until 8000 ms; the track joins the meeting at 4000 ms.
    track = GridTrack(TrackInfo("cam", "/cam.webm", 320, 240, 200, 9200, 8000), begin_ms=4000)
    assert track.at(200) == 4000 and track.video_end_ms == 11_800
    assert not track.shows(4100, 33)  # no frame yet
    track.frame, track.frame_ms = av.VideoFrame(320, 240, "yuv420p"), 4100
    assert track.shows(4100, 33) and track.shows(4100 + HOLD_MS, 33)  # a short gap holds the last frame
    assert not track.shows(4101 + HOLD_MS, 33)  # a long one (camera off) takes the tile away
    track.frame_ms = 11_790
    assert track.shows(11_833, 33) and not track.shows(11_834, 33)  # gone one output frame after its last


# -- a whole job ----------------------------------------------------------------------------------------------
RED = (82, 90, 240)  # Y, U, V
BLUE = (41, 240, 110)
SIZE = (480, 180)


def _yuv_at(frame: av.VideoFrame, x: int, y: int) -> tuple[int, int, int]:
    planes = [np.frombuffer(p, np.uint8).reshape(-1, p.line_size) for p in frame.planes]
    return int(planes[0][y, x]), int(planes[1][y // 2, x // 2]), int(planes[2][y // 2, x // 2])


def _near(colour: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def _read(mp4: bytes) -> dict[str, Any]:
    """Duration, streams, video frames by time, and audio RMS per 100 ms window."""
    with av.open(io.BytesIO(mp4)) as container:
        assert container.duration is not None
        video = container.streams.video[0]
        info = {"duration": container.duration / 1e6, "size": (video.codec_context.width, video.codec_context.height),
                "codecs": sorted(s.codec_context.name for s in container.streams)}  # fmt: skip
        info["frames"] = [(float(f.time), f) for f in container.decode(video=0)]
    with av.open(io.BytesIO(mp4)) as container:
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    windows = samples[: len(samples) // 4800 * 4800].reshape(-1, 4800)
    info["rms"] = np.sqrt((windows**2).mean(axis=1))
    info["peak"] = float(np.abs(samples).max())
    return info


def _frame_at(info: dict[str, Any], t: float) -> av.VideoFrame:
    """The frame shown at ``t`` (the last one that starts at or before it)."""
    return [f for time, f in info["frames"] if time <= t][-1]  # type: ignore[no-any-return]


def _compose(tmp_path: Path, job: ComposeJob) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run([sys.executable, "-m", "altegon_rt.media.compose"], input=job.to_json(),
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_overlapping_tracks_are_tiled_while_both_play_and_their_audio_is_mixed(tmp_path: Path) -> None:
    # A: 4:3, red, 440 Hz, from 0 to 3 s; B: 16:9, blue, 660 Hz, from 1.5 s to 3.5 s (files start at 0).
    a, b = tmp_path / "a.webm", tmp_path / "b.webm"
    a.write_bytes(clip("libvpx", 320, 240, 3.0, shade=RED[0], chroma=RED[1:], tone=(440, 0.5)))
    b.write_bytes(clip("libvpx", 256, 144, 2.0, shade=BLUE[0], chroma=BLUE[1:], tone=(660, 0.5)))
    out = tmp_path / "grid.mp4"
    job = ComposeJob([("a", str(a)), ("b", str(b))], str(out), width=SIZE[0], height=SIZE[1], preset="ultrafast",
                     threads=1, layout="grid", starts_ms=[10_000, 11_500], fps=15)  # fmt: skip
    status, reports = _compose(tmp_path, job)
    assert status == 0, reports
    started, done = reports[0], reports[-1]
    assert [t["startMs"] for t in started["tracks"]] == [0, 1500]
    assert done["event"] == "done" and (done["width"], done["height"]) == SIZE
    assert 3450 <= done["durationMs"] <= 3600, done
    info = _read(out.read_bytes())
    assert info["codecs"] == ["aac", "h264"] and info["size"] == SIZE
    assert abs(info["duration"] - 3.5) < 0.15, info["duration"]
    assert out.read_bytes().find(b"moov") < out.read_bytes().find(b"mdat")  # faststart

    alone = _frame_at(info, 0.7)  # A fills the height, centred, black at the sides
    assert _near(_yuv_at(alone, 240, 90), RED) and _near(_yuv_at(alone, 40, 90), (16, 128, 128))
    both = _frame_at(info, 2.2)  # A in the left cell, B letterboxed in the right one
    assert _near(_yuv_at(both, 120, 90), RED) and _near(_yuv_at(both, 360, 90), BLUE)
    assert _near(_yuv_at(both, 360, 6), (16, 128, 128))  # B's bar
    late = _frame_at(info, 3.3)  # A has left: B alone, the whole height (320x180), centred
    assert _near(_yuv_at(late, 240, 90), BLUE) and _near(_yuv_at(late, 90, 90), BLUE)
    assert _near(_yuv_at(late, 40, 90), (16, 128, 128))

    rms = info["rms"]  # 100 ms windows: one tone (~0.35), then both (~0.5), then one again
    assert 0.25 < rms[7] < 0.45 and 0.25 < rms[33] < 0.45, rms
    assert rms[22] > 0.45, rms
    assert info["peak"] <= 1.05
