"""``GET /api/get-speech-token``: a short-lived Azure Speech token for the signed-in user's browser."""

from __future__ import annotations

from altegon_rt.api.routing import Call, Reply, endpoint


@endpoint(
    "GET", "/api/get-speech-token", tag="transcripts", audit="speech.token",
    summary="A short-lived Azure Speech token and its region, for transcription in the browser",
    responses={200: "The token", 401: "Not signed in", 502: "Azure Speech failed", 503: "Not configured",
               504: "Azure Speech timed out"},
    example={"token": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleTEiLCJ0eXAiOiJKV1QifQ...", "region": "eastus2"},
)  # fmt: skip
async def get_speech_token(call: Call) -> Reply:
    call.target = {"type": "speech-token"}
    return Reply(200, await call.services.speech.issue())


ROUTES = (get_speech_token,)
