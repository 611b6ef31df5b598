"""Storage: MongoDB through pymongo, or the embedded MongoDB-compatible server under the data dir.

Owns the database connection, the child process of the embedded default, the data-dir lock, and one
repository class per collection. Nothing outside this package imports pymongo; repositories take and give
plain values (ids as 24-hex strings).
"""

from altegon_rt.store.gateway import Store

__all__ = ["Store"]
