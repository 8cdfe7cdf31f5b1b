"""Token buckets per caller, in process memory: pure logic, the clock is a parameter.

Each API process keeps its own buckets, so N processes behind a balancer let a caller through
at up to N times the configured rate; the limit is a guard against floods and runaway
clients, not a billing meter."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: Callers remembered at most; the one idle longest is forgotten first. An idle caller's
#: bucket refills anyway, so forgetting it only gives back what time would have.
MAX_CALLERS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` tokens a second up to `burst`; each request takes one. Memory is bounded by
    `max_callers`, however many distinct callers come."""

    def __init__(self, rate: float, burst: int, max_callers: int = MAX_CALLERS) -> None:
        if rate <= 0 or burst < 1 or max_callers < 1:
            raise ValueError("rate must be > 0, burst and max_callers >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, caller: str, now: float) -> _Bucket:
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[caller] = bucket
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            # max(): a clock that steps back must not drain the bucket
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = max(now, bucket.updated)
        return bucket

    def take(self, caller: str, now: float) -> float:
        """Take a token for `caller` at time `now` (seconds, monotonic): 0.0 when the request
        may go ahead, else the seconds until a token is free (nothing is taken)."""
        bucket = self._refilled(caller, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def wait(self, caller: str, now: float) -> float:
        """Like `take`, but only looks: the seconds until `caller` has a token, 0.0 if now."""
        bucket = self._refilled(caller, now)
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)
