"""Register and login against the real server: status codes, bodies, tokens, 401s."""

from __future__ import annotations

import time

import httpx
import jwt

from altegon_rt.testing.process import TEST_SECRET, ServerProcess
from tests.conftest import User, assert_error, database, make_user, token_claims

REGISTER = {"fName": "Ada", "lName": "Lovelace", "phoneNumber": "923085000453", "country": "Pakistan"}


async def test_register_answers_documented_shape(client: httpx.AsyncClient) -> None:
    body = {**REGISTER, "email": "Ada.Register@Example.com", "password": "AB1239001"}
    r = await client.post("/auth/register", json=body)
    assert r.status_code == 201
    data = r.json()
    assert data["success"] is True
    assert data["message"] == "User created successfully"
    user = data["data"]["user"]
    assert user["email"] == "ada.register@example.com"
    assert (user["fName"], user["lName"]) == ("Ada", "Lovelace")
    assert len(user["_id"]) == 24 and int(user["_id"], 16) >= 0
    assert "password" not in r.text and "passwordHash" not in r.text


async def test_register_same_email_twice_is_409(client: httpx.AsyncClient, alice: User) -> None:
    body = {**REGISTER, "email": alice.email.upper(), "password": "another pass 9"}
    assert_error(await client.post("/auth/register", json=body), 409, "email_taken")


async def test_register_names_the_missing_or_bad_field(client: httpx.AsyncClient) -> None:
    body = {**REGISTER, "password": "AB1239001"}
    err = assert_error(await client.post("/auth/register", json=body), 400, "missing_field")
    assert "'email'" in err["error"]["message"]
    bad = {**body, "email": "not-an-email"}
    err = assert_error(await client.post("/auth/register", json=bad), 400, "invalid_field")
    assert "'email'" in err["error"]["message"]
    short = {**body, "email": "short@example.com", "password": "abc"}
    err = assert_error(await client.post("/auth/register", json=short), 400, "invalid_field")
    assert "'password'" in err["error"]["message"]
    typed = {**body, "email": "typed@example.com", "fName": 42}
    err = assert_error(await client.post("/auth/register", json=typed), 400, "invalid_field")
    assert "'fName'" in err["error"]["message"]


async def test_documented_sample_with_trailing_comma_is_accepted(client: httpx.AsyncClient) -> None:
    raw = (
        b'{"email": "comma@example.com", "fName": "Haseeb", "lName": "Asif", "phoneNumber": "923085000453",'
        b' "country": "Pakistan", "password": "AB1239001",\n}'
    )
    r = await client.post("/auth/register", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text


async def test_login_returns_jwt_with_claims(client: httpx.AsyncClient, alice: User) -> None:
    claims = token_claims(alice.token)
    assert claims["sub"] == alice.id
    assert claims["role"] == "user"
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int)
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert abs(claims["iat"] - time.time()) < 60
    assert jwt.get_unverified_header(alice.token)["alg"] == "HS256"


async def test_login_accepts_email_alias_and_any_case(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.post("/auth/login", json={"email": alice.email.upper(), "password": alice.password})
    assert r.status_code == 200
    assert set(r.json()) == {"token"}


async def test_login_wrong_password_or_unknown_user_is_401(client: httpx.AsyncClient, alice: User) -> None:
    wrong = await client.post("/auth/login", json={"userName": alice.email, "password": "wrong password"})
    unknown = await client.post("/auth/login", json={"userName": "nobody@example.com", "password": "whatever1"})
    # Same answer either way: the response must not reveal which e-mails are registered.
    assert assert_error(wrong, 401, "invalid_credentials")["error"] == {
        **assert_error(unknown, 401, "invalid_credentials")["error"]
    }


async def test_protected_route_without_token_is_401(client: httpx.AsyncClient, alice: User) -> None:
    assert_error(await client.get(f"/meetings/list/{alice.id}"), 401, "missing_credentials")
    bad_scheme = {"Authorization": f"Basic {alice.token}"}
    assert_error(await client.get(f"/meetings/list/{alice.id}", headers=bad_scheme), 401, "invalid_token")


async def test_expired_token_is_401(client: httpx.AsyncClient, alice: User) -> None:
    past = int(time.time()) - 7200
    token = jwt.encode(
        {"sub": alice.id, "role": "user", "iat": past, "exp": past + 60, "iss": "altegon-rt"}, TEST_SECRET, "HS256"
    )
    r = await client.get(f"/meetings/list/{alice.id}", headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 401, "token_expired")


async def test_tampered_or_forged_token_is_401(client: httpx.AsyncClient, alice: User) -> None:
    head, payload, sig = alice.token.split(".")
    # Claim admin by swapping the payload but keeping the old signature.
    admin_payload = jwt.encode({**token_claims(alice.token), "role": "admin"}, TEST_SECRET, "HS256").split(".")[1]
    for token in (
        f"{head}.{admin_payload}.{sig}",
        f"{head}.{payload}.{sig[:-2]}AA",
        jwt.encode({**token_claims(alice.token), "role": "admin"}, "another secret of enough length!!", "HS256"),
        jwt.encode({**token_claims(alice.token)}, None, "none"),
        "not-a-jwt",
    ):
        r = await client.get(f"/meetings/list/{alice.id}", headers={"Authorization": f"Bearer {token}"})
        assert_error(r, 401, "invalid_token")


async def test_passwords_are_stored_as_salted_scrypt(client: httpx.AsyncClient, server: ServerProcess) -> None:
    first = await make_user(client, password="same password 1")
    second = await make_user(client, password="same password 1")
    with database(server) as db:
        stored = [db.users.find_one({"email": u.email}) for u in (first, second)]
    hashes = [doc["passwordHash"] for doc in stored]
    assert all(h.startswith("scrypt$") for h in hashes)
    salts = {h.split("$")[4] for h in hashes}
    assert len(salts) == 2 and hashes[0] != hashes[1]
    assert all("same password" not in str(doc) for doc in stored)
