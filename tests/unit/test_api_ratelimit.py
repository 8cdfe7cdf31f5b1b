"""Token buckets: a burst, then the rate; memory bounded however many callers come."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.api.ratelimit import RateLimiter


def test_a_burst_then_one_request_per_refill():
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.take("a", 10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", 10.0) == pytest.approx(0.5)
    assert limiter.take("a", 10.25) == pytest.approx(0.25)
    assert limiter.take("a", 10.5) == 0.0
    assert limiter.take("a", 10.5) == pytest.approx(0.5)


def test_callers_have_buckets_of_their_own():
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.take("a", 0.0) == 0.0
    assert limiter.take("a", 0.0) > 0
    assert limiter.take("b", 0.0) == 0.0


def test_an_idle_bucket_refills_only_up_to_the_burst():
    limiter = RateLimiter(rate=1.0, burst=2)
    limiter.take("a", 0.0)
    taken = [limiter.take("a", 1000.0) for _ in range(3)]
    assert taken[:2] == [0.0, 0.0] and taken[2] > 0


def test_wait_looks_without_taking():
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.wait("a", 0.0) == 0.0
    assert limiter.wait("a", 0.0) == 0.0
    assert limiter.take("a", 0.0) == 0.0
    assert limiter.wait("a", 0.0) == pytest.approx(1.0)


def test_a_clock_that_steps_back_does_not_drain_or_fill():
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.take("a", 100.0) == 0.0
    assert limiter.take("a", 50.0) == pytest.approx(1.0)
    assert limiter.take("a", 100.5) == pytest.approx(0.5)


def test_memory_is_bounded_and_the_idlest_caller_is_forgotten():
    limiter = RateLimiter(rate=1.0, burst=1, max_callers=3)
    for caller in ("a", "b", "c"):
        limiter.take(caller, 0.0)
    limiter.take("a", 0.0)  # a is now the most recent
    limiter.take("d", 0.0)
    assert len(limiter) == 3
    assert limiter.take("b", 0.0) == 0.0  # b was forgotten: a full bucket again
    assert limiter.take("a", 0.0) > 0  # a was kept, still empty


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(rate, burst):
    with pytest.raises(ValueError):
        RateLimiter(rate=rate, burst=burst)


@given(
    rate=st.floats(0.1, 100),
    burst=st.integers(1, 50),
    times=st.lists(st.floats(0, 60), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate, burst, times):
    limiter = RateLimiter(rate=rate, burst=burst)
    times = sorted(times)
    allowed = sum(limiter.take("a", t) == 0.0 for t in times)
    assert allowed <= burst + rate * (times[-1] - times[0]) + 1e-9
