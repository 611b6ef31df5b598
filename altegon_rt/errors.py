"""The project's exception roots.

``ApiError`` and its children are what request handlers raise; the API layer turns each into the one error
body of the platform, ``{"success": false, "error": {"code", "message"}}`` with its HTTP status. Storage
and configuration have their own roots so a caller can tell "the user sent something wrong" from "our
side is not working".
"""

from __future__ import annotations


class AltegonError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(AltegonError):
    """The configuration is invalid; the message is one line naming the key."""


class StorageUnavailable(AltegonError):
    """The database cannot be reached right now."""


class CannotListen(AltegonError):
    """A listening socket could not be bound (port in use, no permission, no such address)."""


class DataDirLocked(AltegonError):
    """Another process (a running server) holds the data directory."""


class BrokenStream(AltegonError):
    """A streamed answer lost its source after its status line went out; the connection is cut instead.

    Nothing else is honest at that point: the client sees a body shorter than its Content-Length.
    """


class ApiError(AltegonError):
    """An error answered to an HTTP client."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = retry_after_s


class NotImplementedYet(ApiError):
    """A documented feature that this build does not have; answered 501, never faked."""

    status = 501
    code = "not_implemented"


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


class BadGateway(ApiError):
    """An upstream service (AI, speech) failed or answered something unusable."""

    status = 502
    code = "upstream_error"


class GatewayTimeout(ApiError):
    """An upstream service did not answer in time."""

    status = 504
    code = "upstream_timeout"


class InsufficientStorage(ApiError):
    """The user's storage limit leaves no room for this upload; nothing was kept."""

    status = 507
    code = "storage_limit_exceeded"
