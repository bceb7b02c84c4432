"""How many ``load`` calls to keep in flight: more while the server answers faster, fewer when overloaded.

Why adapt at all: an Odoo server runs as many calls at once as it has
workers (one process in a small install, a dozen in production), and the
client cannot know which.  Too few calls in flight leave workers idle; too
many only queue behind them (every call slower, nothing faster), and a
proxy in front answers 502/503 or the calls time out.  So the loader starts
with two calls in flight (one built while the other is written: what a
one-process server needs) and lets :class:`AdaptiveLimit` decide, within
``--workers`` as a ceiling (docs/architecture.md §6):

- **increase while it pays**: at each level it measures the throughput, in
  rows a second, and goes higher while that grows by at least
  :attr:`AdaptiveLimit.gain`: doubling at first (1, 2, 4, 8: "slow start",
  as TCP does, so a big server is reached in a few steps), then, once a
  doubling did not pay, one at a time from the level before it; when one
  more call in flight did not pay, it steps back and settles there (every
  :attr:`AdaptiveLimit.reprobe` windows it tries one higher again: the
  server's load changes);
- **backs off when latency rises**: settled, two windows running whose rows
  take much longer (:attr:`AdaptiveLimit.slower`) for no more throughput step
  one down;
- **multiplicative decrease**: a 502/503/504 or a timed-out call halves the
  limit at once, and the level that overloaded the server is not tried again
  for the rest of the run.

Throughput is measured with Little's law: ``calls in flight × rows / seconds
a call takes``, over the calls that ran with the pipe full at the current
level.  A wall-clock window would also count the end of a wave, where fewer
calls are left than the level allows, and batches of different sizes.

The controller is pure: it never reads a clock or sleeps.  The loader tells
it what happened (:class:`Observation`, with the times it read), and asks
for :attr:`limit`; tests feed it observations of a simulated server.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The default ceiling (``--workers``): a production Odoo runs a handful to a dozen workers; the
#: controller finds how many of these the server actually takes.
DEFAULT_WORKERS = 8


class Signal(enum.Enum):
    """What one call said about the server's load."""

    OK = "ok"  # answered (whatever the rows' fate: a refused row is no sign of load)
    OVERLOADED = "overloaded"  # HTTP 502, 503 or 504: a proxy or the server turned the call away
    TIMEOUT = "timeout"  # no answer in time


#: Client outcomes (``CallRecord.outcome``) that say the server is overloaded.
OVERLOAD_OUTCOMES = {
    "http_502": Signal.OVERLOADED,
    "http_503": Signal.OVERLOADED,
    "http_504": Signal.OVERLOADED,
}
OVERLOAD_OUTCOMES["outcome_unknown"] = Signal.TIMEOUT  # sent, no answer: a read timeout or a dropped call


@dataclass(frozen=True, slots=True)
class Observation:
    """One finished call (or batch): when it ran, its rows, how many calls were in flight as it started."""

    started: float
    finished: float
    rows: int
    in_flight: int = 1
    signal: Signal = Signal.OK

    @property
    def seconds(self) -> float:
        return max(self.finished - self.started, 1e-9)


@dataclass(frozen=True, slots=True)
class Change:
    """One decision: the limit went from ``before`` to ``after``, at ``at``, because of ``reason``."""

    at: float
    before: int
    after: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after, "reason": self.reason}


@dataclass(frozen=True)
class ConcurrencyChoice:
    """What the run chose, for the report and the audit log."""

    mode: str  # "adaptive" | "fixed"
    ceiling: int
    start: int
    peak: int
    settled: int
    changes: tuple[Change, ...] = ()
    backoffs: int = 0  # halvings on 502/503/504 or timeouts

    def describe(self) -> str:
        """One line: "adaptive, 1→4, settled at 3 (ceiling 8)" or "fixed at 2"."""
        if self.mode == "fixed":
            return f"fixed at {self.settled}"
        text = f"adaptive, {self.start}→{self.peak}, settled at {self.settled} (ceiling {self.ceiling})"
        if self.backoffs:
            times = "once" if self.backoffs == 1 else f"{self.backoffs} times"
            text += f"; backed off {times} on 502/503/504 or timeouts"
        return text

    def as_dict(self) -> dict[str, Any]:
        """For the report's run details: the choice, not every decision (a long run makes thousands)."""
        return {
            "summary": self.describe(),
            "mode": self.mode,
            "ceiling": self.ceiling,
            "start": self.start,
            "peak": self.peak,
            "settled": self.settled,
            "backoffs": self.backoffs,
            "decisions": len(self.changes),  # each one is in the audit log, with its reason
        }


class Controller(Protocol):
    """What the loader asks of a concurrency policy."""

    @property
    def limit(self) -> int: ...

    def observe(self, observation: Observation) -> Change | None: ...

    def choice(self) -> ConcurrencyChoice: ...


class FixedLimit:
    """Always ``workers`` calls in flight (``--concurrency fixed``): the old way, the benchmark's baseline."""

    def __init__(self, workers: int) -> None:
        self._limit = max(1, workers)

    @property
    def limit(self) -> int:
        return self._limit

    def observe(self, observation: Observation) -> Change | None:
        return None

    def choice(self) -> ConcurrencyChoice:
        n = self._limit
        return ConcurrencyChoice("fixed", n, n, n, n)


@dataclass
class _Window:
    """Calls that ran at one level with the pipe full."""

    calls: int = 0
    rows: int = 0
    seconds: float = 0.0
    in_flight: int = 0

    def add(self, obs: Observation) -> None:
        self.calls += 1
        self.rows += obs.rows
        self.seconds += obs.seconds
        self.in_flight += obs.in_flight

    @property
    def rate(self) -> float:
        """Rows a second with this many calls in flight (Little's law)."""
        return (self.in_flight / self.calls) * self.rows / self.seconds if self.calls else 0.0

    @property
    def per_row(self) -> float:
        """Seconds a row's call takes."""
        return self.seconds / self.rows if self.rows else 0.0


@dataclass
class AdaptiveLimit:
    """AIMD on measured throughput, within ``ceiling``: see the module's docstring."""

    ceiling: int
    start: int = 2  # two in flight: the client builds a batch while the server writes another
    gain: float = 0.10  # one more call in flight must bring at least 10 % more rows a second
    slower: float = 1.5  # settled: rows taking 1.5× as long, for no more throughput, is the server choking
    reprobe: int = 10  # settled windows between tries one higher
    warmup: int = 1  # calls, per call in flight, let go by after a change before measuring
    _limit: int = field(init=False)
    _cap: int = field(init=False)  # below the ceiling once a level overloaded the server
    _since: float = field(init=False, default=float("-inf"))  # when the limit last changed
    _window: _Window = field(init=False, default_factory=_Window)
    _skip: int = field(init=False, default=0)  # warm-up calls still to let go by
    _rates: dict[int, float] = field(init=False, default_factory=dict)
    _from: int | None = field(init=False, default=None)  # the level a probe came from
    _settled: bool = field(init=False, default=False)
    _doubling: bool = field(init=False, default=True)  # slow start: double until it stops paying
    _baseline: _Window | None = field(init=False, default=None)
    _settled_windows: int = field(init=False, default=0)
    _slow_windows: int = field(init=False, default=0)  # settled windows in a row slower than the baseline
    _peak: int = field(init=False)
    _changes: list[Change] = field(init=False, default_factory=list)
    _backoffs: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.ceiling = max(1, self.ceiling)
        self.start = min(max(1, self.start), self.ceiling)
        self._limit = self._peak = self.start
        self._skip = self.warmup * self.start  # the first calls meet an empty server: not its pace
        self._cap = self.ceiling
        self._settled = self.ceiling == 1

    @property
    def limit(self) -> int:
        return self._limit

    def observe(self, obs: Observation) -> Change | None:
        """Take one finished call into account; returns the decision it led to, if any."""
        if obs.started < self._since:
            return None  # it ran at the previous level: it says nothing of this one
        if obs.signal is not Signal.OK:
            return self._back_off(obs)
        if obs.in_flight < self._limit:
            return None  # the pipe was not full (the end of a wave, households waiting): not this level
        if self._skip:
            self._skip -= 1  # the queue the previous level left is still draining or filling
            return None
        self._window.add(obs)
        if self._window.calls < self._limit + 1:
            return None
        window, self._window = self._window, _Window()
        if self._settled:
            return self._check_settled(obs.finished, window)
        return self._probe(obs.finished, window)

    def choice(self) -> ConcurrencyChoice:
        return ConcurrencyChoice(
            "adaptive",
            self.ceiling,
            self.start,
            self._peak,
            self._limit,
            tuple(self._changes),
            self._backoffs,
        )

    # -- decisions ------------------------------------------------------------------------

    def _probe(self, now: float, window: _Window) -> Change:
        level, rate = self._limit, window.rate
        self._rates[level] = rate
        below = self._from
        if below is not None and rate < self._rates[below] * (1 + self.gain):
            said = (
                f"{level} in flight: {rate:,.0f} rows/s, no better than {self._rates[below]:,.0f} at {below}"
            )
            if self._doubling and level > below + 1:  # doubling overshot: one above where it came from
                self._doubling = False
                return self._set(now, below + 1, f"{said}; trying {below + 1}")
            return self._settle(now, below, said)
        if level >= self._cap:
            top = "the ceiling" if self._cap == self.ceiling else "the most the server took"
            return self._settle(now, level, f"{level} in flight: {rate:,.0f} rows/s, at {top}")
        self._from = level
        higher = min(self._cap, 2 * level) if self._doubling else level + 1
        return self._set(now, higher, f"{level} in flight: {rate:,.0f} rows/s; trying {higher}")

    def _settle(self, now: float, level: int, reason: str) -> Change:
        self._settled, self._from, self._baseline, self._settled_windows = True, None, None, 0
        return self._set(now, level, "settled: " + reason)

    def _check_settled(self, now: float, window: _Window) -> Change | None:
        level = self._limit
        if self._baseline is None:
            self._baseline = window
            return None
        base = self._baseline
        slower = window.per_row > base.per_row * self.slower and window.rate < base.rate * (1 + self.gain)
        # Two windows running: one alone may be the small batches at the end of a stage.
        self._slow_windows = self._slow_windows + 1 if slower else 0
        if self._slow_windows >= 2 and level > 1:
            self._settled_windows = self._slow_windows = 0
            self._baseline = None
            return self._set(
                now,
                level - 1,
                f"latency rose {window.per_row / base.per_row:.1f}× at {level} in flight, no more throughput",
            )
        self._settled_windows += 1
        if self._settled_windows >= self.reprobe and level < self._cap:
            self._settled, self._from, self._slow_windows = False, level, 0
            self._rates[level] = window.rate
            return self._set(
                now, level + 1, f"trying {level + 1} again ({window.rate:,.0f} rows/s at {level})"
            )
        return None

    def _back_off(self, obs: Observation) -> Change | None:
        level = self._limit
        what = "a timeout" if obs.signal is Signal.TIMEOUT else "502/503/504"
        self._backoffs += 1
        self._cap = max(1, min(self._cap, level - 1))
        self._settled, self._from, self._baseline, self._window = False, None, None, _Window()
        self._doubling = False  # from here on, one more at a time
        lower = max(1, level // 2)
        if lower == level:
            return self._set(obs.finished, level, f"the server answered {what}; already at 1")
        return self._set(obs.finished, lower, f"the server answered {what} at {level} in flight: halved")

    def _set(self, now: float, level: int, reason: str) -> Change:
        """Record a decision (the same level, when it only settles there) and measure afresh from ``now``."""
        change = Change(now, self._limit, level, reason)
        self._changes.append(change)
        self._limit, self._since, self._window = level, now, _Window()
        self._skip = self.warmup * level
        self._peak = max(self._peak, level)
        return change
