"""``GET /demo/meet``, ``GET /demo/live`` and ``GET /demo/static/{name}``: the demo pages, their stylesheets
and their script bundles.

The pages and stylesheets live in ``static/``; the bundles (``meet.js``, ``live.js`` and their source maps)
in the directory ``demo.bundle_dir`` names, by default ``static/dist`` where ``npm run build`` writes them.
Without its bundle a page answers 503 ``demo_not_built`` with the command that builds it, rather than a page
that cannot work. ``/demo/live`` carries the server's HLS segment length (``data-segment-s``), which the
broadcaster uses as its H.264 keyframe interval.

Every answer carries a strict Content-Security-Policy: scripts, styles and connections only to this origin
(plus its WebSocket form, for socket.io's upgrade); media elements may play ``blob:``/``mediastream:``
sources. WebRTC itself is not governed by CSP; camera, microphone and screen capture are allowed to this
origin only (Permissions-Policy).
"""

from __future__ import annotations

import re
from pathlib import Path

import trio
from quart import request

from altegon_rt.api.routing import PUBLIC, Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotFound, ServiceUnavailable

TAG = "demo"
STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_BUNDLE_DIR = STATIC_DIR / "dist"
BUNDLES = frozenset({"meet", "live"})  # <name>.js (and .js.map) in the bundle directory, one per page
BUILD_HINT = "run `bash .ci/install` (or `npm ci && npm run build`) in the checkout, then reload"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json",
}
# Files served from static/ itself; everything else under /demo/static/ comes from the bundle directory.
PAGE_ASSETS = frozenset({"meet.css", "live.css"})
_ASSET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}(\.[a-z0-9]{1,8}){1,3}$")
_HOST = re.compile(r"^[A-Za-z0-9.\-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$")


def bundle_dir(call: Call) -> Path:
    configured = call.services.config.demo.bundle_dir
    return Path(configured).expanduser() if configured else DEFAULT_BUNDLE_DIR


def content_security_policy(host: str | None) -> str:
    """Self only; ``connect-src`` names this host's ws/wss form too (older browsers' ``'self'`` lacks it)."""
    connect = "'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob: mediastream:; connect-src {connect}; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _headers(cache: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(request.host),
        "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": cache,
    }


async def _read(path: Path) -> bytes | None:
    try:
        return await trio.Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


@endpoint(
    "GET", "/demo/meet", tag=TAG, auth=PUBLIC,
    summary="The demo meeting page: join a room (?room=<id>, or create one), video tiles, mute, screen, chat",
    query=[Field("room", "string", required=False, max_length=128, description="the SFU room id to join")],
    responses={200: "The page (HTML)", 503: "The page's script bundle is not built (demo_not_built)"},
)  # fmt: skip
async def demo_meet(call: Call) -> Reply:
    return Reply(200, raw=await _page(call, "meet"), content_type=CONTENT_TYPES[".html"],
                 headers=_headers("no-store"))  # fmt: skip


@endpoint(
    "GET", "/demo/live", tag=TAG, auth=PUBLIC,
    summary="The demo live streaming page: broadcast the camera to HLS, or watch a stream (?watch=<streamId>)",
    query=[Field("watch", "string", required=False, max_length=64, description="the streamId to play")],
    responses={200: "The page (HTML)", 503: "The page's script bundle is not built (demo_not_built)"},
)  # fmt: skip
async def demo_live(call: Call) -> Reply:
    page = await _page(call, "live")
    segment_s = f"{call.services.config.hls.target_duration_s:g}".encode()
    page = page.replace(b"__SEGMENT_S__", segment_s)
    return Reply(200, raw=page, content_type=CONTENT_TYPES[".html"], headers=_headers("no-store"))


async def _page(call: Call, name: str) -> bytes:
    """``static/<name>.html``, if its bundle is built."""
    if not await trio.Path(bundle_dir(call) / f"{name}.js").is_file():
        raise ServiceUnavailable(f"the demo page's script bundle ({name}.js) is not built: {BUILD_HINT}",
                                 code="demo_not_built")  # fmt: skip
    page = await _read(STATIC_DIR / f"{name}.html")
    assert page is not None, f"{name}.html ships with the package"
    return page


@endpoint(
    "GET", "/demo/static/{name}", tag=TAG, auth=PUBLIC, summary="The demo pages' stylesheets and script bundles",
    params=[Field("name", "string", max_length=80, description="meet.css, meet.js, live.js, live.js.map, ...")],
    responses={200: "The file", 404: "No such file (demo_not_built names a bundle file not built yet)"},
)  # fmt: skip
async def demo_static(call: Call) -> Reply:
    name = call.path["name"]
    suffix = Path(name).suffix
    if not _ASSET_NAME.match(name) or suffix not in CONTENT_TYPES or name.endswith(".html"):
        raise NotFound(f"the demo has no file named {name!r}")
    in_page = name in PAGE_ASSETS
    data = await _read((STATIC_DIR if in_page else bundle_dir(call)) / name)
    if data is None:
        if name.split(".", 1)[0] in BUNDLES:
            raise NotFound(f"{name} is not built: {BUILD_HINT}", code="demo_not_built")
        raise NotFound(f"the demo has no file named {name!r}")
    # Revalidated on each load (no ETag: the files are small), so a rebuilt bundle is picked up at once.
    return Reply(200, raw=data, content_type=CONTENT_TYPES[suffix], headers=_headers("no-cache"))


ROUTES = (demo_meet, demo_live, demo_static)
