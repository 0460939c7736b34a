"""Per-user question limit: a sliding one-minute window, one polite warning per burst.

A check costs O(1), however many users are active: users are kept in the order they last asked, and those
idle past the window are let go from the front as checks come, a few at a time (the old limiter rescanned
every user on each check once 10,000 were known, on the event loop: 20,000 active users took 40 s).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from enum import Enum

WINDOW_SECONDS = 60.0
# Idle users let go per check: more than the one each check can add, so memory follows active users.
FORGET_PER_CHECK = 2


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # still over it: stay quiet, a flood gets no echo


class UserRateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: OrderedDict[int, deque[float]] = OrderedDict()  # least recently seen first
        self._warned: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        self._forget_idle(now)
        asked = self._asked.setdefault(user_id, deque())
        self._asked.move_to_end(user_id)
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
        """Let go of the least recently seen users whose last question left the window."""
        for _ in range(FORGET_PER_CHECK):
            if not self._asked:
                return
            user_id, asked = next(iter(self._asked.items()))
            if asked and now - asked[-1] < WINDOW_SECONDS:
                return
            del self._asked[user_id]
            self._warned.discard(user_id)

    def seconds_until_free(self, user_id: int) -> int:
        asked = self._asked.get(user_id)
        if not asked:
            return 0
        return max(1, int(WINDOW_SECONDS - (self._clock() - asked[0])) + 1)

    def __len__(self) -> int:
        """Users held: those who asked within the window, and a few not yet let go."""
        return len(self._asked)
