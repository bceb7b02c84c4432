"""Two calls writing one household at once, as PostgreSQL shows it to Odoo's ``load``.

On a real server every RPC call is one PostgreSQL transaction at REPEATABLE READ
(Odoo's isolation level), its snapshot taken at the call's first query, and
several calls run at once.  OpenG2P's registry (g2p_registry_membership, 17.0)
updates a household's own row in writes that do not name it:

- ``g2p.group.membership`` create, write and unlink recompute the group's stored
  ``force_recompute_canary`` (``_recompute_parent_groups``): an UPDATE of the
  household's ``res_partner`` row;
- ``res.partner`` write of an individual does the same for the groups the person
  already belongs to (a person being created belongs to none yet);
- a household's own write updates its row.

``g2p.reg.id`` has no such override: an ID never writes its person's row, and a
foreign key alone takes a lock that does not conflict.

When two calls in flight at once update the same household row, the one that
writes it after the other committed fails with "could not serialize access due
to concurrent update".  Inside ``load`` the row's savepoint catches it, so it
comes back as that row's message (Odoo retries serialization failures only for a
whole call) while the other rows go through, and then, as for any row message,
``load`` rolls its call back.

The sandbox runs calls one at a time (one SQLite writer), so it keeps the clock
PostgreSQL would: a commit counter, the counter at which each household row was
last written, and each ``load`` call's snapshot, taken when the call arrives,
before it waits for the database.  A call that then touches a household written
by a commit after its snapshot fails the same way.  Other calls never see the
failure (Odoo retries the whole call, and the retry succeeds) but their commits
count.

Test controls: :meth:`Households.forced` (the ``conflict`` fault: every household
the call touches counts as written after its snapshot) and
:attr:`Households.rendezvous` (each ``load`` waits for another to arrive, so two
calls always overlap as they do under load on a real server).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import SerializationFailure

if TYPE_CHECKING:
    from .models import Model
    from .orm import Env

#: The snapshot of a call told to conflict: older than any commit.
FORCED = -1


class Rendezvous:
    """Holds each arriving call until ``size`` calls have arrived, or ``timeout`` seconds pass.

    Two workers sending batches meet here in pairs, so each pair's snapshots
    both predate both commits: whether their batches conflict then depends only
    on what they write, never on timing.
    """

    def __init__(self, size: int = 2, timeout: float = 2.0) -> None:
        self.size = size
        self.timeout = timeout
        self._cond = threading.Condition()
        self._waiting = 0
        self._generation = 0

    def meet(self) -> None:
        with self._cond:
            generation = self._generation
            self._waiting += 1
            if self._waiting >= self.size:
                self._generation += 1
                self._waiting = 0
                self._cond.notify_all()
                return
            if not self._cond.wait_for(lambda: self._generation != generation, self.timeout):
                self._waiting -= 1  # nobody came: go alone


class Households:
    """Which commit last wrote each household's row, and each ``load`` call's snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = 0
        self._written: dict[int, int] = {}
        self._local = threading.local()
        self.rendezvous: Rendezvous | None = None
        self.refused_rows = 0  # rows ``load`` reported as serialization failures (for tests)

    @contextlib.contextmanager
    def forced(self, conflict: bool = True) -> Iterator[None]:
        """Calls made by this thread inside the block conflict on every household they touch."""
        before = getattr(self._local, "forced", False)
        self._local.forced = conflict
        try:
            yield
        finally:
            self._local.forced = before

    def arrive(self) -> int:
        """A ``load`` call's snapshot, taken as it arrives (and after the rendezvous, if any)."""
        if getattr(self._local, "forced", False):
            return FORCED
        rendezvous = self.rendezvous
        with self._lock:
            snapshot = self._clock
        if rendezvous is not None:
            rendezvous.meet()
        return snapshot

    def check(self, snapshot: int | None, ids: set[int]) -> None:
        """Refuse the write when a commit after ``snapshot`` wrote one of these households."""
        if snapshot is None:
            return
        with self._lock:
            stale = any(self._written.get(i, 0) > snapshot for i in ids)
        if stale:
            raise SerializationFailure()

    def commit(self, ids: Iterable[int]) -> None:
        """A transaction that wrote these households committed (call with the database lock held)."""
        ids = set(ids)
        if not ids:
            return
        with self._lock:
            self._clock += 1
            for i in ids:
                self._written[i] = self._clock

    def count_refusal(self) -> None:
        with self._lock:
            self.refused_rows += 1


def touched(env: Env, model: Model, ids: list[int], rows: list[dict[str, Any]] | None = None) -> set[int]:
    """The households whose rows this write updates on an OpenG2P server (see the module's docstring).

    ``rows`` are the values of records being created (None for a write or an unlink).
    """
    if model.name == "g2p.group.membership":
        if rows is not None:
            return {r["group"] for r in rows if r.get("group")}
        return _column(env, 'SELECT DISTINCT "group" FROM g2p_group_membership WHERE id IN ({})', ids)
    if model.name == "res.partner" and rows is None:
        return _column(
            env,
            "SELECT id FROM res_partner WHERE is_group = 1 AND id IN ({0}) UNION "
            'SELECT m."group" FROM g2p_group_membership m WHERE m.individual IN ({0})',
            ids,
            repeat=2,
        )
    return set()


def _column(env: Env, sql: str, ids: list[int], repeat: int = 1) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 400):
        part = ids[start : start + 400]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in env.execute(sql.format(marks), part * repeat) if r[0])
    return found
