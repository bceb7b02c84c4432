"""The concurrency controller's decisions, fed observations of a simulated server (no clock, no sleep).

The simulated server has ``workers`` that each serve one call at a time, a
row costing ``per_row`` seconds, behind an optional proxy that answers 503
to calls beyond ``proxy``; the client spends ``prep`` seconds building each
call.  The client keeps ``controller.limit`` calls in flight, as the loader
does, and reports each finished call.  Everything is computed, nothing
waits: the decisions are the same on any machine.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import pytest

from importer.concurrency import AdaptiveLimit, FixedLimit, Observation, Signal


@dataclass
class Run:
    """What the simulated client saw: the limit at each submission, the decisions, rows a second."""

    limits: list[int] = field(default_factory=list)
    rate: float = 0.0
    overloaded: int = 0


def simulate(
    controller: AdaptiveLimit | FixedLimit,
    *,
    workers: int,
    calls: int = 400,
    rows: int = 100,
    per_row: float = 0.001,
    prep: float = 0.002,
    proxy: int | None = None,
    workers_after: tuple[int, int] | None = None,
) -> Run:
    """Send ``calls`` calls of ``rows`` rows, ``controller.limit`` at a time, to the simulated server.

    ``workers_after=(n, w)``: the server has ``w`` workers from the n-th call on (it was scaled up).
    """
    run = Run()
    free = [0.0] * workers  # when each server worker is next free
    flying: list[tuple[float, int, float, int, Signal]] = []  # (finish, seq, start, in_flight, signal)
    now, sent, seq = 0.0, 0, 0
    while sent < calls or flying:
        while len(flying) < controller.limit and sent + _pending(flying) < calls:
            if workers_after and sent >= workers_after[0] and len(free) < workers_after[1]:
                free += [now] * (workers_after[1] - len(free))
            run.limits.append(controller.limit)
            in_flight = len(flying) + 1
            seq += 1
            if proxy is not None and in_flight > proxy:
                heapq.heappush(flying, (now + 0.0005, seq, now, in_flight, Signal.OVERLOADED))
                continue
            arrival = now + prep
            worker = min(range(len(free)), key=free.__getitem__)
            end = max(arrival, free[worker]) + rows * per_row
            free[worker] = end
            heapq.heappush(flying, (end, seq, now, in_flight, Signal.OK))
        finish, _, start, in_flight, signal = heapq.heappop(flying)
        now = finish
        if signal is Signal.OK:
            sent += 1
        else:
            run.overloaded += 1
        controller.observe(Observation(start, finish, rows, in_flight, signal))
    run.rate = calls * rows / now
    return run


def _pending(flying: list[tuple[float, int, float, int, Signal]]) -> int:
    return sum(1 for f in flying if f[4] is Signal.OK)


# -- growing, and stopping where it stops paying --------------------------------------------


def test_it_grows_while_throughput_grows_and_settles_at_the_servers_workers() -> None:
    ctl = AdaptiveLimit(ceiling=8)
    simulate(ctl, workers=4)
    choice = ctl.choice()
    # Doubling while it pays (2, 4, 8), then one above the level before the doubling that did not pay.
    assert [(c.before, c.after) for c in choice.changes[:4]] == [(2, 4), (4, 8), (8, 5), (5, 4)]
    assert "no better than" in choice.changes[3].reason
    # Every while (reprobe) it tries 5 again, and comes back.
    assert {c.after for c in choice.changes if c.reason.startswith("settled")} == {4}
    assert choice.peak == 8


def test_the_choice_reads_as_where_it_started_how_high_it_went_and_where_it_settled() -> None:
    ctl = AdaptiveLimit(ceiling=8, reprobe=1000)
    simulate(ctl, workers=4)
    assert ctl.choice().describe() == "adaptive, 2→8, settled at 4 (ceiling 8)"
    choice = ctl.choice()
    assert choice.changes[0].as_dict() == {"from": 2, "to": 4, "reason": choice.changes[0].reason}
    assert choice.as_dict()["decisions"] == len(choice.changes) == 4
    assert choice.as_dict()["summary"] == choice.describe()


def test_against_one_server_worker_and_a_fast_client_one_call_in_flight_is_enough() -> None:
    ctl = AdaptiveLimit(ceiling=8, start=1)
    simulate(ctl, workers=1)
    assert ctl.choice().peak == 2
    assert {c.after for c in ctl.choice().changes if c.reason.startswith("settled")} == {1}


def test_a_client_slower_than_one_server_worker_keeps_two_in_flight_to_overlap_its_work() -> None:
    ctl = AdaptiveLimit(ceiling=8, start=1)
    simulate(ctl, workers=1, prep=0.1)  # the client takes as long to build a call as the server to run it
    assert [(c.before, c.after) for c in ctl.choice().changes[:4]] == [(1, 2), (2, 4), (4, 3), (3, 2)]
    assert {c.after for c in ctl.choice().changes if c.reason.startswith("settled")} == {2}


@pytest.mark.parametrize("ceiling", [1, 2, 4])
def test_it_never_exceeds_the_ceiling(ceiling: int) -> None:
    ctl = AdaptiveLimit(ceiling=ceiling)
    run = simulate(ctl, workers=16)
    assert max(run.limits) == ceiling
    assert ctl.limit == ceiling
    start = min(2, ceiling)
    assert ctl.choice().describe() == f"adaptive, {start}→{ceiling}, settled at {ceiling} (ceiling {ceiling})"


def test_the_adaptive_client_is_as_fast_as_the_best_fixed_setting_of_the_simulated_server() -> None:
    for workers in (1, 2, 4):
        best = max(simulate(FixedLimit(n), workers=workers, calls=2000).rate for n in (1, 2, 4, 8))
        adaptive = simulate(AdaptiveLimit(ceiling=8), workers=workers, calls=2000).rate
        assert adaptive >= 0.9 * best, (workers, adaptive, best)


def test_settled_it_tries_higher_again_and_follows_a_server_given_more_workers() -> None:
    ctl = AdaptiveLimit(ceiling=8, reprobe=5)
    simulate(ctl, workers=2, calls=1500, workers_after=(300, 6))
    settled = [c.after for c in ctl.choice().changes if c.reason.startswith("settled")]
    assert settled[0] == 2 and settled[-1] == 6


# -- backing off ----------------------------------------------------------------------------


def test_a_503_halves_the_limit_and_the_level_that_overloaded_is_not_tried_again() -> None:
    ctl = AdaptiveLimit(ceiling=8)
    run = simulate(ctl, workers=8, proxy=4)  # a proxy lets 4 calls through, answers 503 to a 5th
    choice = ctl.choice()
    assert run.overloaded >= 1 and choice.backoffs >= 1
    halvings = [c for c in choice.changes if "halved" in c.reason]
    assert len(halvings) == choice.backoffs
    assert (halvings[0].before, halvings[0].after) == (8, 4)
    assert all(c.after == c.before // 2 for c in halvings)
    last = choice.changes.index(halvings[-1])
    assert all(c.after <= 4 for c in choice.changes[last:])
    assert ctl.limit == 4
    assert "backed off" in choice.describe() and "on 502/503/504 or timeouts" in choice.describe()


def _at(ctl: AdaptiveLimit, level: int) -> float:
    """Drive ``ctl`` up to ``level`` with a server whose every call takes a second whatever the load."""
    t = 0.0
    for _ in range(1000):
        if ctl.limit >= level:
            return t
        n = ctl.limit
        ctl.observe(Observation(t, t + 1.0, 100, n))
        t += 1.0
    raise AssertionError(f"never reached {level}")


def test_a_timeout_halves_the_limit() -> None:
    ctl = AdaptiveLimit(ceiling=8)
    t = _at(ctl, 4)
    change = ctl.observe(Observation(t, t + 30.0, 100, 4, Signal.TIMEOUT))
    assert change is not None and (change.before, change.after) == (4, 2)
    assert "timeout" in change.reason
    assert ctl.limit == 2


def test_what_ran_at_an_earlier_level_says_nothing_of_this_one() -> None:
    ctl = AdaptiveLimit(ceiling=8)
    t = _at(ctl, 4)  # the limit became 4 at t
    assert ctl.observe(Observation(t - 0.5, t + 1.0, 100, 3, Signal.OVERLOADED)) is None
    for _ in range(10):
        assert ctl.observe(Observation(t - 0.5, t + 1.0, 1, 3)) is None
    assert ctl.limit == 4


def test_calls_made_with_the_pipe_not_full_do_not_measure_the_level() -> None:
    ctl = AdaptiveLimit(ceiling=8)
    t = _at(ctl, 4)
    for i in range(50):  # the end of a wave: only one call left in flight
        assert ctl.observe(Observation(t + i, t + i + 0.1, 100, 1)) is None
    assert ctl.limit == 4


def test_settled_a_rise_in_latency_for_no_more_throughput_steps_down() -> None:
    ctl = AdaptiveLimit(ceiling=4)
    t = _at(ctl, 4)
    for _ in range(20):  # a second a call at 4 in flight: settles at the ceiling, takes a baseline
        ctl.observe(Observation(t, t + 1.0, 100, 4))
        t += 1.0
    assert ctl.limit == 4
    changes = []
    for _ in range(10):  # then every call takes twice as long
        changes.append(ctl.observe(Observation(t, t + 2.0, 100, 4)))
        t += 2.0
    change = next(c for c in changes if c is not None)
    assert (change.before, change.after) == (4, 3)
    assert change.reason.startswith("latency rose")


# -- fixed ----------------------------------------------------------------------------------


def test_fixed_never_changes_whatever_the_server_says() -> None:
    ctl = FixedLimit(3)
    for signal in (Signal.OK, Signal.OVERLOADED, Signal.TIMEOUT):
        assert ctl.observe(Observation(0.0, 1.0, 100, 3, signal)) is None
    assert ctl.limit == 3
    assert ctl.choice().describe() == "fixed at 3"
    assert ctl.choice().as_dict()["mode"] == "fixed"
