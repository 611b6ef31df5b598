"""RealtimeKit API tokens: created by admins, shown once, stored hashed, scoped to one account, revocable."""

from __future__ import annotations

import hashlib

import httpx

from altegon_rt.testing.process import ServerProcess
from tests.conftest import assert_error, database, make_user
from tests.rtk.conftest import Account, make_account


async def test_token_lifecycle_and_refusals(
    client: httpx.AsyncClient, admin_headers: dict[str, str], rtk_server: ServerProcess
) -> None:
    account = await make_account(client, admin_headers)
    apps = f"{account.base}/apps"
    r = await client.get(apps, headers=account.headers)
    assert r.status_code == 200 and r.json()["success"] is True
    assert [a["id"] for a in r.json()["data"]] == [account.app_id]
    # The same routes under Cloudflare's /client/v4 prefix.
    r = await client.get("/client/v4" + apps, headers=account.headers)
    assert r.status_code == 200 and r.json()["data"][0]["id"] == account.app_id

    # No token, a malformed one, an unknown one, a user JWT: 401.
    assert_error(await client.get(apps), 401, "missing_credentials")
    assert_error(await client.get(apps, headers={"Authorization": "Basic abc"}), 401, "invalid_token")
    assert_error(await client.get(apps, headers={"Authorization": f"Bearer {account.token}x"}), 401, "invalid_token")
    assert_error(await client.get(apps, headers={"Authorization": "Bearer rtk_000000000000_nope"}), 401)
    assert_error(await client.get(apps, headers=admin_headers), 401, "invalid_token")
    # A token of another account: 403, for reading and for writing.
    other = await make_account(client, admin_headers)
    assert_error(await client.get(apps, headers=other.headers), 403, "wrong_account")
    assert_error(await client.post(apps, json={"name": "x"}, headers=other.headers), 403, "wrong_account")
    assert_error(await client.get(account.app("/meetings"), headers=other.headers), 403)
    # The other account cannot reach this account's app through its own path either.
    assert_error(await client.get(f"{other.base}/{account.app_id}/meetings", headers=other.headers), 404)

    # Listing never shows the token; only a SHA-256 digest is stored.
    listed = (await client.get("/admin/api-tokens", params={"account_id": account.id}, headers=admin_headers)).json()
    assert len(listed["data"]) == 1 and account.token not in str(listed)
    token_id = listed["data"][0]["id"]
    assert listed["data"][0]["revoked_at"] is None
    with database(rtk_server) as db:
        stored = db.rtk_api_tokens.find_one({"_id": token_id})
    assert stored["digest"] == hashlib.sha256(account.token.encode()).hexdigest()
    assert account.token not in str(stored)

    # Revoked: refused from then on; revoking twice is a 404.
    assert (await client.delete(f"/admin/api-tokens/{token_id}", headers=admin_headers)).status_code == 204
    assert_error(await client.get(apps, headers=account.headers), 401, "invalid_token")
    assert_error(await client.delete(f"/admin/api-tokens/{token_id}", headers=admin_headers), 404)
    listed = (await client.get("/admin/api-tokens", params={"account_id": account.id}, headers=admin_headers)).json()
    assert listed["data"][0]["revoked_at"] is not None


async def test_only_admins_manage_tokens(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    user = await make_user(client)
    body = {"name": "x", "account_id": "acc1"}
    assert_error(await client.post("/admin/api-tokens", json=body, headers=user.headers), 403)
    assert_error(await client.post("/admin/api-tokens", json=body), 401)
    assert_error(await client.get("/admin/api-tokens", headers=user.headers), 403)
    bad = {"name": "x", "account_id": "has space"}
    body_err = assert_error(await client.post("/admin/api-tokens", json=bad, headers=admin_headers), 400)
    assert "account_id" in str(body_err["error"]["message"])
    assert_error(
        await client.post("/admin/api-tokens", json={"name": "x"}, headers=admin_headers), 400, "missing_field"
    )
    assert_error(await client.delete("/admin/api-tokens/not-a-uuid", headers=admin_headers), 400)


async def test_apps_are_per_account(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.post(f"{account.base}/apps", json={"name": "second"}, headers=account.headers)
    assert r.status_code == 201
    app = r.json()["data"]["app"]
    assert set(app) == {"id", "created_at", "name"} and app["name"] == "second"
    assert app["created_at"].endswith("Z")
    names = [a["name"] for a in (await client.get(f"{account.base}/apps", headers=account.headers)).json()["data"]]
    assert names == ["app", "second"]
    assert_error(await client.post(f"{account.base}/apps", json={"name": ""}, headers=account.headers), 400)
