"""Authentication and authorization: password hashes, JWTs, API keys, who the caller is, rate limits.

Everything here is pure or takes its I/O as a passed-in callable, so it is tested without a server.
"""
