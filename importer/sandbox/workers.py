"""Server workers: at most N calls served at once, each costing server time, as a multi-worker Odoo does.

A production Odoo runs N worker processes; each serves one call at a time, and
the time of a ``load`` goes in the ORM and PostgreSQL, in proportion to its
rows.  Calls beyond N wait for a free worker (Odoo's listen queue), or, behind
a proxy with a bounded queue, are answered 503.  The sandbox's own work is a
few microseconds a row in one Python process (its SQLite writes are serialised
by one lock), so by itself it shows nothing of a server's parallelism; with
:class:`ServerWorkers` each call also *waits* its server time, in parallel
with the other workers' calls, which Python's GIL does not hinder.

Where the wait goes (``rpc.Dispatcher.execute``): after a ``load`` takes its
snapshot and before it writes, as a real transaction spends its time between
its first query and its commit, so two calls in flight at once that write the
same household conflict as they would on PostgreSQL (concurrency.py).

``python -m importer.sandbox --workers 4 --latency-per-row 0.0002`` serves
like a 4-worker server doing 5,000 rows a second per worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class ServerWorkers:
    """A bounded set of workers (``workers=None``: unbounded), and what each call costs them."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        per_row: float = 0.0,
        per_call: float = 0.0,
        per_login: float = 0.0,
        queue: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``queue``: how many calls may wait for a worker; one more is turned away (None: no bound).

        ``per_login``: what a login costs beyond a call.  Odoo 17 hashes the password at every
        login (PBKDF2-SHA512, 600,000 rounds at least: 0.58-0.84 s measured on this machine's
        real server); a call checks it once per worker process, then remembers it (``check`` is
        cached), so only the login is charged here.
        """
        if workers is not None and workers < 1:
            raise ValueError(f"server workers must be at least 1, not {workers}")
        self.workers = workers
        self.per_row = per_row
        self.per_call = per_call
        self.per_login = per_login
        self.queue = queue
        self._sleep = sleep
        self._cond = threading.Condition()
        self._active = 0
        self._waiting = 0
        self.peak = 0  # the most calls served at once (for tests and benchmarks)
        self.turned_away = 0  # calls answered 503 because the queue was full

    def enter(self) -> bool:
        """Wait for a free worker; False when the queue is full and the call must be answered 503."""
        with self._cond:
            if self.workers is not None and self._active >= self.workers:
                if self.queue is not None and self._waiting >= self.queue:
                    self.turned_away += 1
                    return False
                self._waiting += 1
                self._cond.wait_for(lambda: self._active < self.workers)  # type: ignore[operator]
                self._waiting -= 1
            self._active += 1
            self.peak = max(self.peak, self._active)
        return True

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify()

    @property
    def active(self) -> int:
        with self._cond:
            return self._active

    @property
    def waiting(self) -> int:
        with self._cond:
            return self._waiting

    def spend(self, rows: int) -> None:
        """The server time of one call of ``rows`` rows (nothing when no latency is set)."""
        cost = self.per_call + rows * self.per_row
        if cost > 0:
            self._sleep(cost)

    def spend_login(self) -> None:
        """The server time of one login: a call's, and the password's hash."""
        cost = self.per_call + self.per_login
        if cost > 0:
            self._sleep(cost)


def call_rows(method: str, args: list, kwargs: dict[str, Any]) -> int:
    """How many records a call writes (what its server time grows with); 0 for reads."""
    if method == "load":
        data = args[1] if len(args) > 1 else kwargs.get("data")
        return len(data) if isinstance(data, list) else 0
    if method in ("create", "write", "unlink"):
        first = args[0] if args else kwargs.get("vals_list", kwargs.get("ids"))
        return len(first) if isinstance(first, list) else 1
    return 0
