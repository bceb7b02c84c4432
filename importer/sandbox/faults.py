"""Fault injection: make the sandbox fail the way networks and busy servers do.

Kinds:
- "latency": sleep before processing; the call still runs and commits.
- "http_502" / "http_503": answer that HTTP status; the call is not run.
- "drop_before": close the connection without running the call.
- "drop_after": run and commit the call, then close without answering (the answer
  is lost: the client cannot know whether it happened).
- "conflict": the call runs as if another transaction had written every household
  it touches just before (concurrency.py): a ``load`` gets PostgreSQL's "could not
  serialize access due to concurrent update" on each such row; other calls are
  retried by Odoo itself and never show it.

A plan has per-kind rates (seeded RNG, so a run is reproducible) and/or rules that
pick exact calls (by model/method and the nth matching call). By default only
"object" service calls are faulted: authentication always goes through.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("latency", "http_502", "http_503", "drop_before", "drop_after", "conflict")
TERMINAL = ("http_502", "http_503", "drop_before", "drop_after")


@dataclass
class FaultRule:
    """Fault exactly the calls this selects.

    `model`/`method` (None = any) select matching calls; `nth` lists which matching
    calls (1-based) are hit; None hits every match. `times` bounds the total hits.
    """

    kind: str
    model: str | None = None
    method: str | None = None
    nth: tuple[int, ...] | None = (1,)
    times: int | None = None
    seen: int = field(default=0, compare=False)
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; kinds: {', '.join(KINDS)}")

    def matches(self, model: str | None, method: str | None) -> bool:
        return (self.model is None or self.model == model) and (self.method is None or self.method == method)


@dataclass
class FaultPlan:
    """Which calls fail and how. Thread-safe; assign a new plan to a running Sandbox."""

    rates: dict[str, float] = field(default_factory=dict)
    rules: list[FaultRule] = field(default_factory=list)
    seed: int | None = 0
    latency_seconds: float = 0.2
    services: frozenset[str] = frozenset({"object"})

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(KINDS)}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate for {kind} must be between 0 and 1, not {rate}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def at_rate(
        cls,
        rate: float,
        kinds: tuple[str, ...] | list[str] = TERMINAL,
        seed: int | None = 0,
        latency_seconds: float = 0.2,
    ) -> FaultPlan:
        """Each listed kind at `rate` (e.g. 0.05 each)."""
        return cls(rates=dict.fromkeys(kinds, rate), seed=seed, latency_seconds=latency_seconds)

    @classmethod
    def on_call(
        cls,
        kind: str,
        model: str | None = None,
        method: str | None = None,
        nth: int | tuple[int, ...] | None = 1,
        latency_seconds: float = 0.2,
    ) -> FaultPlan:
        """Fault the nth (1-based; tuple for several; None for all) call matching model/method."""
        picks = (nth,) if isinstance(nth, int) else nth
        return cls(rules=[FaultRule(kind, model, method, picks)], latency_seconds=latency_seconds)

    def decide(self, service: str | None, model: str | None, method: str | None) -> list[str]:
        """The faults for one call: maybe "latency", maybe "conflict", then at most one terminal kind."""
        if service not in self.services:
            return []
        chosen: list[str] = []
        with self._lock:
            for rule in self.rules:
                if not rule.matches(model, method):
                    continue
                rule.seen += 1
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if rule.nth is None or rule.seen in rule.nth:
                    rule.hits += 1
                    chosen.append(rule.kind)
            for kind in KINDS:
                rate = self.rates.get(kind, 0.0)
                if rate and self._rng.random() < rate:
                    chosen.append(kind)
        out = [k for k in ("latency", "conflict") if k in chosen]
        terminal = [k for k in chosen if k in TERMINAL]
        return out + terminal[:1]
