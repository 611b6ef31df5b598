"""Per-route rate limits (``[limits.routes]``) on the real server, and how a bad route name is refused."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from altegon_rt.api.app import ROUTE_NAMES, ROUTES
from altegon_rt.api.services import Limits, route_limiters
from altegon_rt.config import DEFAULT_ROUTE_LIMITS, Config, LimitsSection, load
from altegon_rt.errors import ConfigError
from altegon_rt.testing.process import ServerProcess
from tests.api.test_storage import base, put, recording
from tests.conftest import HIGH_LIMITS, assert_error, make_user
from tests.test_lifecycle import run_cli


async def test_a_route_limit_answers_429_while_other_routes_and_callers_go_on(fresh_data_dir: Path) -> None:
    routes = {**{r: 100_000 for r, _ in DEFAULT_ROUTE_LIMITS}, "sas_url": 3, "signed_download": 2, "storage_info": 0}
    server = ServerProcess(fresh_data_dir, env={**HIGH_LIMITS, "ALTEGON_LIMITS_ROUTES": json.dumps(routes)})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            alice, bob = await make_user(c), await make_user(c)
            paths = {}
            for user in (alice, bob):
                room, rec = await recording(c, user)
                assert (await put(c, user, room, rec, "a.mp4", b"x" * 100)).status_code == 200
                paths[user.id] = base(user, room, rec) + "/file/a.mp4"
            sas = [await c.get(paths[alice.id] + "/sas-url", headers=alice.headers) for _ in range(3)]
            assert [r.status_code for r in sas] == [200, 200, 200]
            r = await c.get(paths[alice.id] + "/sas-url", headers=alice.headers)
            body = assert_error(r, 429, "rate_limited")
            assert body["error"]["message"].startswith("too many requests to sas_url; retry in ")
            assert 15 <= int(r.headers["Retry-After"]) <= 20  # at 3 a minute, a token comes back every 20 s
            # The same caller's other routes are not limited by it, nor is another caller of the same route.
            assert (await c.get(paths[alice.id], headers=alice.headers)).status_code == 200
            assert (await c.get(paths[bob.id] + "/sas-url", headers=bob.headers)).status_code == 200
            # 0 lifts the route's own limit (60 a minute by default).
            info = f"/recordings/user/{alice.id}/storage-info"
            assert {(await c.get(info, headers=alice.headers)).status_code for _ in range(65)} == {200}
            # A route that needs no login counts per client address.
            url = sas[0].json()["data"]["sasUrl"]
            assert [(await c.get(url)).status_code for _ in range(2)] == [200, 200]
            r = await c.get(url)
            assert_error(r, 429, "rate_limited")
            assert "requests to signed_download from this address" in r.json()["error"]["message"]
            assert "Retry-After" in r.headers
            # The limits are documented where they apply.
            doc = (await c.get("/openapi.json")).json()["paths"]
            sas_path = "/recordings/user/{userId}/room/{roomId}/recording/{recordingId}/file/{fileName}/sas-url"
            assert doc[sas_path]["get"]["responses"]["429"]["description"] == (
                "Too many requests: this route allows 3 a minute per caller"
            )
            assert "per address" in doc["/blob/{token}"]["get"]["responses"]["429"]["description"]
            assert "429" not in doc["/recordings/user/{userId}/storage-info"]["get"]["responses"]
    finally:
        assert server.terminate() == 0
    assert "Traceback" not in server.log_text()


async def test_an_upload_over_its_route_limit_is_refused_and_nothing_is_kept(fresh_data_dir: Path) -> None:
    routes = {**{r: 100_000 for r, _ in DEFAULT_ROUTE_LIMITS}, "upload_to_blob": 1}
    server = ServerProcess(fresh_data_dir, env={**HIGH_LIMITS, "ALTEGON_LIMITS_ROUTES": json.dumps(routes)})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            alice = await make_user(c)
            room, rec = await recording(c, alice)
            assert (await put(c, alice, room, rec, "a.mp4", b"x" * 100)).status_code == 200
            assert_error(await put(c, alice, room, rec, "b.mp4", b"y" * 2_000_000), 429, "rate_limited")
            files = (await c.get(f"/recordings/user/{alice.id}/storage-info", headers=alice.headers)).json()
            assert [f["fileName"] for f in files["data"]["recordings"]] == ["a.mp4"]
    finally:
        assert server.terminate() == 0


def test_route_names_are_unique_and_the_defaults_name_real_routes() -> None:
    assert len(ROUTE_NAMES) == len(ROUTES)  # operationIds are unique, so a name means one route
    assert {name for name, _ in DEFAULT_ROUTE_LIMITS} <= ROUTE_NAMES
    limits = Limits.from_config(Config(), ROUTE_NAMES)
    assert set(limits.routes) == {name for name, _ in DEFAULT_ROUTE_LIMITS}


def test_unknown_route_names_are_config_errors_naming_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        route_limiters(LimitsSection(routes=(("sas_urll", 3),)), ROUTE_NAMES)
    assert str(info.value) == ("limits.routes.sas_urll: no route is named 'sas_urll' (did you mean 'sas_url'?); "
                               "route names are the operationIds in /openapi.json")  # fmt: skip
    with pytest.raises(ConfigError, match=r"^limits\.routes\.storage\.sas_url: no route is named"):
        route_limiters(LimitsSection(routes=(("storage.sas_url", 3),)), ROUTE_NAMES)
    with pytest.raises(ConfigError, match=r"no route is named 'zzzzzz'; route names"):
        route_limiters(LimitsSection(routes=(("zzzzzz", 3),)), ROUTE_NAMES)
    # 0 is "no limit of its own": no limiter at all.
    config = load(None, environ={"ALTEGON_LIMITS_ROUTES": '{"sas_url": 0, "healthz": 5}'})
    expected = {name for name, _ in DEFAULT_ROUTE_LIMITS if name != "sas_url"} | {"healthz"}
    assert set(route_limiters(config.limits, ROUTE_NAMES)) == expected


def test_check_config_and_serve_exit_2_on_an_unknown_route(tmp_path: Path) -> None:
    result = run_cli("check-config", env={"ALTEGON_LIMITS_ROUTES": '{"sas_urll": 3}'})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "altegon-rt: config error: limits.routes.sas_urll: no route is named 'sas_urll' (did you mean 'sas_url'?); "
        "route names are the operationIds in /openapi.json"
    ]
    conf = tmp_path / "c.toml"
    conf.write_text("[limits.routes]\nuplod_file = 3\n")
    result = run_cli("serve", "--config", str(conf), "--data-dir", str(tmp_path / "d"), "--http-port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("altegon-rt: config error: limits.routes.uplod_file:")
    assert not (tmp_path / "d" / "db").exists()  # refused before storage started
    result = run_cli("check-config", "--print", env={"ALTEGON_LIMITS_ROUTES": '{"sas_url": 5}'})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["limits"]["routes"]["sas_url"] == 5
