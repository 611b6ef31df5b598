"""Accounts: ``POST /auth/register`` and ``POST /auth/login`` as the Altegon documents give them."""

from __future__ import annotations

from altegon_rt.api.routing import PUBLIC, Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema
from altegon_rt.auth.passwords import MAX_PASSWORD_BYTES
from altegon_rt.errors import BadRequest, Conflict, Unauthorized
from altegon_rt.store.users import EmailTaken

REGISTER = Schema(
    "RegisterRequest",
    (
        Field("email", "email", description="Valid e-mail not already registered", example="ada@example.com"),
        Field("fName", "string", max_length=100, description="First name", example="Ada"),
        Field("lName", "string", max_length=100, description="Last name", example="Lovelace"),
        Field("phoneNumber", "string", max_length=32, description="Contact number", example="441234567890"),
        Field("country", "string", max_length=100, description="Country of residence", example="UK"),
        Field("password", "string", max_length=MAX_PASSWORD_BYTES, description="Password for login"),
    ),
)

LOGIN = Schema(
    "LoginRequest",
    (
        Field("userName", "string", aliases=("email",), description="The account's e-mail", example="ada@example.com"),
        Field("password", "string", max_length=MAX_PASSWORD_BYTES, description="The account's password"),
    ),
)


@endpoint(
    "POST", "/auth/register", tag="auth", auth=PUBLIC, body=REGISTER, audit="auth.register",
    summary="Create a user account",
    responses={201: "User created", 400: "Missing or invalid field", 409: "E-mail already registered",
               429: "Too many registrations from this address"},
    example={"success": True, "message": "User created successfully",
             "data": {"user": {"fName": "Ada", "lName": "Lovelace", "email": "ada@example.com",
                               "_id": "68afea5f8ed95fae8f7f6d86"}}},
)  # fmt: skip
async def register(call: Call) -> Reply:
    s = call.services
    s.limits.check(s.limits.register_ip, call.client_ip, "registrations from this address")
    body = dict(call.body)
    password = body.pop("password")
    if len(password) < s.config.auth.password_min_length:
        raise BadRequest(
            f"field 'password' must be at least {s.config.auth.password_min_length} characters",
            code="invalid_field",
        )
    call.target = {"type": "user", "email": body["email"]}
    try:
        user = await s.store.users.create(body, await s.hash_password(password))
    except EmailTaken:
        raise Conflict("an account with this e-mail already exists", code="email_taken") from None
    call.actor = user["_id"]
    call.target["id"] = user["_id"]
    public = {k: user[k] for k in ("fName", "lName", "email", "_id")}
    return Reply(201, {"success": True, "message": "User created successfully", "data": {"user": public}})


@endpoint(
    "POST", "/auth/login", tag="auth", auth=PUBLIC, body=LOGIN, audit="auth.login",
    summary="Sign in and receive a JWT (claims: sub = user id, role, iat, exp)",
    responses={200: "Signed in", 400: "Missing or invalid field", 401: "Wrong e-mail or password",
               429: "Too many attempts"},
    example={"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."},
)  # fmt: skip
async def login(call: Call) -> Reply:
    s = call.services
    email = call.body["userName"].lower()
    call.target = {"type": "user", "email": email}
    s.limits.check(s.limits.login_ip, call.client_ip, "login attempts from this address")
    s.limits.check(s.limits.login_account, email, "login attempts for this account")
    user = await s.store.users.by_email(email)
    # Verify against a dummy hash when there is no such user, so timing does not reveal registered e-mails.
    ok = await s.verify_password(call.body["password"], user["passwordHash"] if user else s.dummy_hash)
    if user is None or not ok:
        raise Unauthorized("wrong e-mail or password", code="invalid_credentials")
    call.actor = user["_id"]
    call.target["id"] = user["_id"]
    return Reply(200, {"token": s.tokens.issue(user["_id"], user["role"])})


ROUTES = (register, login)
