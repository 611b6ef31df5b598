"""``/demo/live`` over HTTP: the page, its stylesheet and its bundle (hls.js and socket.io-client from npm) with
their content types and the demo pages' strict Content-Security-Policy; the page carries the server's HLS
segment length; without a built bundle it says how to build it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from altegon_rt.config import HlsSection
from altegon_rt.testing.process import ServerProcess
from tests.conftest import assert_error


async def test_the_live_page_and_its_files_are_served_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    r = await client.get("/demo/live", params={"watch": "0f8fad5b-d9cb-469f-a165-70867728950e"})
    assert r.status_code == 200, r.text  # 503 demo_not_built: run `npm run build` (done by .ci/install)
    assert r.headers["content-type"] == "text/html; charset=utf-8" and r.headers["cache-control"] == "no-store"
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    host = httpx.URL(str(client.base_url)).netloc.decode()
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"  # so no blob: worker for hls.js
    assert csp["connect-src"] == f"'self' ws://{host} wss://{host}" and "blob:" in csp["media-src"]
    assert "camera=(self)" in r.headers["permissions-policy"] and "microphone=(self)" in r.headers["permissions-policy"]
    assert re.findall(r"<script\b[^>]*>", r.text) == ['<script src="/demo/static/live.js" defer>']
    assert 'href="/demo/static/live.css"' in r.text
    assert f'data-segment-s="{HlsSection().target_duration_s:g}"' in r.text and "__SEGMENT_S__" not in r.text

    js = await client.get("/demo/static/live.js")
    assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    # hls.js and socket.io-client bundled from npm, with the page's code.
    for marker in (b"lowLatencyMode", b"/stream/socket.io/", b"videoKeyFrameIntervalDuration", b"__altegon"):
        assert marker in js.content, marker
    css = await client.get("/demo/static/live.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    source_map = await client.get("/demo/static/live.js.map")
    assert source_map.status_code == 200 and source_map.json()["version"] == 3
    assert any("hls.js" in source for source in source_map.json()["sources"])
    assert_error(await client.post("/demo/live"), 405, "method_not_allowed")


def test_without_the_bundle_the_live_page_says_how_to_build_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"ALTEGON_DEMO_BUNDLE_DIR": str(tmp_path / "not-built")})
    try:
        body = assert_error(httpx.get(f"{server.url}/demo/live", timeout=10), 503, "demo_not_built")
        assert "live.js" in body["error"]["message"] and "npm run build" in body["error"]["message"]  # type: ignore[index]
        for name in ("live.js", "live.js.map"):
            assert_error(httpx.get(f"{server.url}/demo/static/{name}", timeout=10), 404, "demo_not_built")
        assert httpx.get(f"{server.url}/demo/static/live.css", timeout=10).status_code == 200
    finally:
        assert server.terminate() == 0, server.log_text()
