"""``/demo/meet`` over HTTP: the page, its stylesheet and its bundle with their content types and a strict
Content-Security-Policy; unknown files are 404; without a built bundle the page says how to build it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from altegon_rt.testing.process import ServerProcess
from tests.conftest import assert_error


async def test_the_page_and_its_files_are_served_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    r = await client.get("/demo/meet", params={"room": "0a1b2c3d"})
    assert r.status_code == 200, r.text  # 503 demo_not_built: run `npm run build` (done by .ci/install)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    host = httpx.URL(str(client.base_url)).netloc.decode()
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == f"'self' ws://{host} wss://{host}"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert "camera=(self)" in r.headers["permissions-policy"]
    scripts = re.findall(r"<script\b[^>]*>", r.text)
    assert scripts == ['<script src="/demo/static/meet.js" defer>']  # no inline script: CSP would refuse it
    assert 'href="/demo/static/meet.css"' in r.text

    js = await client.get("/demo/static/meet.js")
    assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert js.headers["cache-control"] == "no-cache" and "content-security-policy" in js.headers
    # socket.io-client and mediasoup-client bundled from npm, with our page code.
    assert b"mediasoup-client" in js.content and b"/sfu/socket.io/" in js.content and b"__altegon" in js.content
    css = await client.get("/demo/static/meet.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    source_map = await client.get("/demo/static/meet.js.map")
    assert source_map.status_code == 200 and source_map.headers["content-type"] == "application/json"
    assert source_map.json()["version"] == 3


async def test_only_the_demo_files_are_served(client: httpx.AsyncClient) -> None:
    for name in ("nope.js", "meet.html", "pages.py", "meet.JS", ".meet.js", "meet", "x.exe"):
        assert_error(await client.get(f"/demo/static/{name}"), 404, "not_found")
    for path in ("/demo/static/..%2Fpages.py", "/demo/static/%2e%2e%2f__init__.py", "/demo/static/src/meet.js"):
        r = await client.get(path)
        assert r.status_code == 404 and b"import" not in r.content, path
    r = await client.post("/demo/meet")
    assert_error(r, 405, "method_not_allowed")


def test_without_the_bundle_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"ALTEGON_DEMO_BUNDLE_DIR": str(tmp_path / "not-built")})
    try:
        body = assert_error(httpx.get(f"{server.url}/demo/meet", timeout=10), 503, "demo_not_built")
        assert "npm run build" in body["error"]["message"]  # type: ignore[index]
        assert_error(httpx.get(f"{server.url}/demo/static/meet.js", timeout=10), 404, "demo_not_built")
        assert httpx.get(f"{server.url}/demo/static/meet.css", timeout=10).status_code == 200
    finally:
        assert server.terminate() == 0, server.log_text()
