"""Reconnect timing as a pure function of the attempt number: no clock, no sleeping."""

from __future__ import annotations

import math

import pytest

from sse_nb.protocol import DEFAULT_DELAY, MAX_RETRY, ReconnectPolicy


def test_browser_policy_waits_the_same_delay_forever() -> None:
    browser = ReconnectPolicy(backoff=1.0, jitter=0.0)
    assert [browser.delay_for(n) for n in range(5)] == [DEFAULT_DELAY] * 5
    assert all(browser.allows(n) for n in (0, 10, 10_000))


def test_server_retry_replaces_the_default_delay() -> None:
    browser = ReconnectPolicy(backoff=1.0, jitter=0.0)
    assert browser.delay_for(0, 250) == 0.25
    assert browser.delay_for(9, 250) == 0.25


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (50, 10.0), (10_000, 10.0)],
)
def test_backoff_doubles_up_to_max_delay(attempt: int, delay: float) -> None:
    policy = ReconnectPolicy(delay=1.0, backoff=2.0, max_delay=10.0, jitter=0.0)
    assert policy.delay_for(attempt) == delay


def test_server_retry_above_max_delay_is_honoured() -> None:
    policy = ReconnectPolicy(delay=1.0, max_delay=10.0, jitter=0.0)
    assert policy.delay_for(0, 60_000) == 60.0
    assert policy.delay_for(5, 60_000) == 60.0  # and never grows past it


def test_huge_retry_or_attempt_gives_a_finite_delay() -> None:
    policy = ReconnectPolicy()
    assert math.isfinite(policy.delay_for(10**6, MAX_RETRY, rand=0.5))
    assert policy.delay_for(10**9, rand=0.5) == policy.max_delay


def test_zero_retry_means_reconnect_at_once() -> None:
    assert ReconnectPolicy().delay_for(7, 0, rand=1.0) == 0.0


@pytest.mark.parametrize(("rand", "delay"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_spreads_the_delay_by_its_fraction(rand: float, delay: float) -> None:
    policy = ReconnectPolicy(delay=1.0, jitter=0.1)
    assert policy.delay_for(0, rand=rand) == pytest.approx(delay)


def test_random_jitter_stays_within_bounds() -> None:
    policy = ReconnectPolicy(delay=1.0, jitter=0.5)
    delays = [policy.delay_for(0) for _ in range(200)]
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(("max_attempts", "allowed"), [(0, []), (1, [0]), (3, [0, 1, 2])])
def test_max_attempts_bounds_reconnects(max_attempts: int, allowed: list[int]) -> None:
    policy = ReconnectPolicy(max_attempts=max_attempts)
    assert [n for n in range(10) if policy.allows(n)] == allowed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delay": -1.0},
        {"max_delay": -0.1},
        {"backoff": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"max_attempts": -1},
        {"delay": math.nan},
        {"max_delay": math.inf},
    ],
)
def test_invalid_policy_raises_value_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("retry_ms", "rand"), [(-1, None), (None, 1.5), (None, -0.1)])
def test_invalid_delay_arguments_raise_value_error(
    retry_ms: int | None, rand: float | None
) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy().delay_for(0, retry_ms, rand=rand)


def test_policy_is_immutable() -> None:
    policy = ReconnectPolicy()
    with pytest.raises(AttributeError):
        policy.delay = 1.0  # type: ignore[misc]


def test_schedule_is_reproducible_by_seed_and_stays_in_its_jitter_band() -> None:
    from sse_nb.protocol.reconnect import Wait

    policy = ReconnectPolicy(delay=1.0, backoff=2.0, max_delay=5.0, jitter=0.2, max_attempts=6)
    plan = policy.schedule(10, seed=7)
    assert plan == policy.schedule(10, seed=7) != policy.schedule(10, seed=8)
    assert [w.attempt for w in plan] == [0, 1, 2, 3, 4, 5]  # max_attempts stops it
    assert [w.base for w in plan] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    for w in plan:
        assert isinstance(w, Wait) and w.low <= w.delay <= w.high
        assert w.low == pytest.approx(0.8 * w.base) and w.high == pytest.approx(1.2 * w.base)
    assert policy.schedule(2, retry_ms=100, seed=1)[0].base == pytest.approx(0.1)
