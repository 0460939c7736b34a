"""Per-user question limit: a sliding one-minute window, one polite warning per burst."""

from __future__ import annotations

import time
from collections import deque
from enum import Enum

WINDOW_SECONDS = 60.0
FORGET_AFTER_USERS = 10_000


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # still over it: stay quiet, a flood gets no echo


class UserRateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        if len(self._asked) > FORGET_AFTER_USERS:
            self._forget_idle(now)
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= WINDOW_SECONDS:
            asked.popleft()
        if len(asked) < self.per_minute:
            asked.append(now)
            self._warned.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._warned:
            return Verdict.DROP
        self._warned.add(user_id)
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the window, so memory follows active users, not all users ever seen."""
        for user_id in [u for u, asked in self._asked.items() if not asked or now - asked[-1] >= WINDOW_SECONDS]:
            del self._asked[user_id]
            self._warned.discard(user_id)

    def seconds_until_free(self, user_id: int) -> int:
        asked = self._asked.get(user_id)
        if not asked:
            return 0
        return max(1, int(WINDOW_SECONDS - (self._clock() - asked[0])) + 1)
