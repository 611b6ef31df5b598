"""When each session's next ping and pong deadline fall due, for one server's thousands of sessions.

Every session of a server has the same ping interval and timeout, so deadlines are appended in time order
and two FIFO queues replace a heap or a timer per session: O(1) to schedule, O(due) to collect, and one
sleeping task per server instead of one per connection (a timer per idle connection costs memory). Entries
are invalidated lazily: the caller checks the session still exists and still awaits that pong.
"""

from __future__ import annotations

from collections import deque


class HeartbeatSchedule:
    def __init__(self, interval_s: float, timeout_s: float) -> None:
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._pings: deque[tuple[float, str]] = deque()
        self._pongs: deque[tuple[float, str]] = deque()

    def ping_later(self, sid: str, now: float) -> None:
        """Schedule ``sid``'s next ping one interval after ``now`` (at open, and on each pong)."""
        self._pings.append((now + self.interval_s, sid))

    def pong_deadline(self, sid: str, now: float) -> None:
        """Check ``sid``'s pong one timeout after the ping sent at ``now``."""
        self._pongs.append((now + self.timeout_s, sid))

    def due_pings(self, now: float) -> list[str]:
        return _pop_due(self._pings, now)

    def due_pong_checks(self, now: float) -> list[str]:
        return _pop_due(self._pongs, now)

    def next_due(self) -> float | None:
        heads = [q[0][0] for q in (self._pings, self._pongs) if q]
        return min(heads) if heads else None

    def __len__(self) -> int:
        return len(self._pings) + len(self._pongs)


def _pop_due(queue: deque[tuple[float, str]], now: float) -> list[str]:
    due: list[str] = []
    while queue and queue[0][0] <= now:
        due.append(queue.popleft()[1])
    return due
