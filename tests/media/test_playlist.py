"""The sans-IO media playlist: exact text, RFC 8216 rules on every render, sliding window, blocking reload."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.media.playlist import MediaPlaylist, PlaylistError, Reload, format_date_time
from tests.media.hls_rules import check, check_reload

T0 = 1_700_000_000.0


def _segment(playlist: MediaPlaylist, parts: int = 4, part_s: float = 0.5, *, pdt: float | None = None) -> None:
    msn = playlist.next_msn
    for i in range(parts):
        playlist.add_part(f"s{msn}.{i}.m4s", part_s, independent=i == 0, program_date_time=pdt)
    playlist.add_segment(f"s{msn}.m4s", parts * part_s)


def test_exact_low_latency_text() -> None:
    playlist = MediaPlaylist(target_duration=2, window=3, part_target=0.5, map_uri="init0.mp4")
    _segment(playlist, pdt=T0)
    playlist.add_part("s1.0.m4s", 0.5, independent=True, program_date_time=T0 + 2)
    playlist.hint("s1.1.m4s")
    assert playlist.render() == (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n#EXT-X-PART-INF:PART-TARGET=0.500\n"
        '#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="init0.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n'
        '#EXT-X-PART:DURATION=0.500,URI="s0.0.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.500,URI="s0.1.m4s"\n'
        '#EXT-X-PART:DURATION=0.500,URI="s0.2.m4s"\n#EXT-X-PART:DURATION=0.500,URI="s0.3.m4s"\n'
        "#EXTINF:2.000,\ns0.m4s\n#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z\n"
        '#EXT-X-PART:DURATION=0.500,URI="s1.0.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s1.1.m4s"\n'
    )
    parsed = check(playlist.render())
    assert parsed.can_block_reload and parsed.preload_hint == "s1.1.m4s"
    assert [s.uri for s in parsed.segments] == ["s0.m4s"] and [p.uri for p in parsed.open_parts] == ["s1.0.m4s"]


def test_plain_playlist_without_parts_or_map() -> None:
    playlist = MediaPlaylist(target_duration=4, window=2)
    playlist.add_segment("a.ts", 3.9)
    playlist.end()
    assert playlist.render() == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:3.900,\na.ts\n"
        "#EXT-X-ENDLIST\n"
    )
    check(playlist.render())


def test_sliding_window_media_sequence_and_removed_files() -> None:
    playlist = MediaPlaylist(target_duration=2, window=3, part_target=0.5, map_uri="init0.mp4")
    renders = []
    for _ in range(6):
        _segment(playlist)
        renders.append(check(playlist.render()))
    for before, after in itertools.pairwise(renders):
        check_reload(before, after)
    last = renders[-1]
    assert last.media_sequence == 3 and [s.uri for s in last.segments] == ["s3.m4s", "s4.m4s", "s5.m4s"]
    removed = playlist.take_removed()
    assert "s0.m4s" in removed and "s2.m4s" in removed and "s3.m4s" not in removed
    assert {f"s{m}.{i}.m4s" for m in range(3) for i in range(4)} <= set(removed)
    assert "init0.mp4" not in removed  # still the map of the listed segments
    assert playlist.take_removed() == []


def test_parts_are_listed_only_near_the_live_edge() -> None:
    playlist = MediaPlaylist(target_duration=2, window=10, part_target=0.5, map_uri="i.mp4")
    for _ in range(8):
        _segment(playlist)
    parsed = check(playlist.render())
    with_parts = [s.msn for s in parsed.segments if s.parts]
    assert with_parts == [5, 6, 7]  # three target durations (6 s) of 2 s segments
    assert "s4.0.m4s" in playlist.take_removed()


def test_discontinuity_and_new_map_after_a_restart() -> None:
    playlist = MediaPlaylist(target_duration=2, window=2, part_target=0.5, map_uri="init0.mp4")
    _segment(playlist)
    playlist.discontinuity()
    playlist.set_map("init1.mp4")
    _segment(playlist)
    text = playlist.render()
    assert text.index('#EXT-X-MAP:URI="init0.mp4"') < text.index("#EXT-X-DISCONTINUITY\n")
    assert text.index("#EXT-X-DISCONTINUITY\n") < text.index('#EXT-X-MAP:URI="init1.mp4"')
    first = check(text)
    _segment(playlist)
    _segment(playlist)  # the discontinuous segment leaves the window
    second = check(playlist.render())
    check_reload(first, second)
    assert second.discontinuity_sequence == 1 and second.segments[0].map_uri == "init1.mp4"
    assert "init0.mp4" in playlist.take_removed()


def test_end_drops_open_parts_and_lists_endlist() -> None:
    playlist = MediaPlaylist(target_duration=2, window=3, part_target=0.5, map_uri="i.mp4")
    _segment(playlist)
    playlist.add_part("s1.0.m4s", 0.5, independent=True)
    playlist.hint("s1.1.m4s")
    playlist.end()
    parsed = check(playlist.render())
    assert parsed.ended and parsed.preload_hint is None and parsed.open_parts == []
    assert playlist.take_removed() == ["s1.0.m4s"]
    with pytest.raises(PlaylistError, match="ended"):
        playlist.add_part("x", 0.5, independent=True)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda p: p.add_segment("s", 2.5), "does not fit the target duration 2"),
        (lambda p: p.add_segment("s", 0), "does not fit"),
        (lambda p: p.add_segment("s", 1.0), "not the sum of its parts (0.000 s)"),
        (lambda p: p.add_part("p", 0.6, independent=True), "at most 0.5 s"),
        (lambda p: (p.add_part("p", 0.5, independent=True), p.discontinuity()), "can only start a segment"),
        (lambda p: (p.add_part("p", 0.5, independent=True), p.set_map("m")), "only change between segments"),
    ],
)
def test_refused_operations(action: object, message: str) -> None:
    playlist = MediaPlaylist(target_duration=2, window=3, part_target=0.5, map_uri="i.mp4")
    with pytest.raises(PlaylistError, match=re.escape(message)):
        action(playlist)  # type: ignore[operator]


def test_segment_of_two_and_a_half_rounds_up_and_is_refused_but_two_point_four_fits() -> None:
    playlist = MediaPlaylist(target_duration=2)
    playlist.add_segment("ok", 2.49)
    with pytest.raises(PlaylistError):
        playlist.add_segment("too long", 2.5)  # RFC rounding: 2.5 → 3, not Python's banker's 2


def test_blocking_reload_states() -> None:
    playlist = MediaPlaylist(target_duration=2, window=3, part_target=0.5, map_uri="i.mp4")
    _segment(playlist)  # msn 0 complete; msn 1 open
    assert playlist.reload_status(0) is Reload.READY
    assert playlist.reload_status(1) is Reload.WAIT
    assert playlist.reload_status(1, 0) is Reload.WAIT
    playlist.add_part("s1.0.m4s", 0.5, independent=True)
    assert playlist.reload_status(1, 0) is Reload.READY
    assert playlist.reload_status(1, 1) is Reload.WAIT
    assert playlist.reload_status(2, 0) is Reload.WAIT  # the next segment's first part: may be two ahead
    assert playlist.reload_status(3) is Reload.TOO_FAR
    playlist.end()
    assert playlist.reload_status(1, 3) is Reload.READY


def test_program_date_time_format() -> None:
    assert format_date_time(T0 + 0.0456) == "2023-11-14T22:13:20.045Z"


operations = st.lists(
    st.one_of(
        st.tuples(st.just("part"), st.floats(0.1, 0.5), st.booleans()),
        st.tuples(st.just("segment"), st.floats(0.1, 2.49), st.booleans()),
        st.tuples(st.just("restart"), st.just(0.0), st.booleans()),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(2, 5))
def test_any_sequence_renders_valid_playlists(ops: list[tuple[str, float, bool]], window: int) -> None:
    playlist = MediaPlaylist(target_duration=2, window=window, part_target=0.5, map_uri="init0.mp4")
    previous = check(playlist.render())
    written: set[str] = {"init0.mp4"}
    restarts = 0
    for kind, duration, flag in ops:
        msn = playlist.next_msn
        if kind == "part":
            index = len(playlist.open.parts)
            playlist.add_part(f"s{msn}.{index}.m4s", duration, independent=flag, program_date_time=T0 + msn * 2)
            written.add(f"s{msn}.{index}.m4s")
            playlist.hint(f"s{msn}.{index + 1}.m4s")
        elif kind == "segment":
            total = sum(p.duration for p in playlist.open.parts)
            if not playlist.open.parts or total >= 2.5:
                continue
            playlist.add_segment(f"s{msn}.m4s", total)
            written.add(f"s{msn}.m4s")
        elif not playlist.open.parts:
            restarts += 1
            playlist.discontinuity()
            playlist.set_map(f"init{restarts}.mp4")
            written.add(f"init{restarts}.mp4")
        current = check(playlist.render())
        check_reload(previous, current)
        previous = current
    listed = {s.uri for s in previous.segments} | {p.uri for s in previous.segments for p in s.parts}
    listed |= {p.uri for p in previous.open_parts} | {s.map_uri for s in previous.segments if s.map_uri}
    listed.add(playlist.open.map_uri or "")
    removed = set(playlist.take_removed())
    assert not removed & listed, "a listed file was handed out for deletion"
    assert written - listed <= removed, "a file that left the playlist was never handed out for deletion"
