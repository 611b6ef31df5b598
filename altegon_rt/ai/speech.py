"""Azure Speech tokens: the subscription key stays here, browsers get a ten-minute token.

``POST {token_url}`` with header ``Ocp-Apim-Subscription-Key`` and an empty body answers the token as
text. The key is never logged nor put in an error message.
"""

from __future__ import annotations

from altegon_rt.ai import upstream
from altegon_rt.config import SpeechSection
from altegon_rt.errors import BadGateway, ServiceUnavailable

MAX_TOKEN_BYTES = 16 * 1024


class SpeechTokens:
    """Issues speech tokens from the configured Azure Speech resource."""

    def __init__(self, config: SpeechSection) -> None:
        self._config = config

    @property
    def configured(self) -> bool:
        return bool(self._config.azure_key and (self._config.azure_region or self._config.token_url))

    @property
    def token_url(self) -> str:
        c = self._config
        return c.token_url or f"https://{c.azure_region}.api.cognitive.microsoft.com/sts/v1.0/issueToken"

    async def issue(self) -> dict[str, str]:
        """``{"token", "region"}``; 503 when not configured, 502/504 when Azure fails."""
        if not self.configured:
            raise ServiceUnavailable(
                "speech transcription is not configured on this server (speech.azure_key)",
                code="transcription_not_configured",
            )
        raw = await upstream.post(self.token_url, what="the speech token service",
                                  headers={"Ocp-Apim-Subscription-Key": self._config.azure_key},
                                  timeout_s=self._config.timeout_s, max_bytes=MAX_TOKEN_BYTES)  # fmt: skip
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise BadGateway("the speech token service answered something that is not a token") from None
        if not token or any(c.isspace() for c in token):
            raise BadGateway("the speech token service answered something that is not a token")
        return {"token": token, "region": self._config.azure_region}
