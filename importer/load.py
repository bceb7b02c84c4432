"""The load stage: send each plan stage with ``load`` in batches, a bad row costing one row.

Why ``load``: it creates a record and its external id in one transaction,
and updates the record when the external id already exists, so re-sending
a batch after a crash or a lost answer never duplicates anyone
(docs/architecture.md §3).  Every call carries external ids only, so the client may
retry a lost answer (``idempotent=True``).

A refused batch is resent without the rows the server named; when the
server names none (an exception instead of messages), the batch is split in
halves until the bad rows are alone.  Records whose parent failed are
skipped, with the parent's reason.

Transient is not failed.  A row refused because another transaction was
writing the same record (PostgreSQL's serialization failure, lock not
available, deadlock: :data:`TRANSIENT_MESSAGES`) is nothing wrong with the
row: it is sent again, alone with the other such rows, once the rest of its
batch has committed, after a backoff, a bounded number of times (the
client's :class:`~importer.settings.Retry`), and only then reported failed
with the server's message.  Odoo retries such conflicts for a whole call,
but inside ``load`` each row's savepoint catches them, so they come back as
row messages.  The cause is removed upstream: batches are cut so that one
household's rows are never in two calls in flight at once
(:func:`households_written`, :func:`cut_batches`, :meth:`Loader._send_all`).

How many calls are in flight is the concurrency controller's choice
(:mod:`importer.concurrency`): adaptive by default, it starts at two and
grows while the server's rows a second grow, backs off when latency rises
or the server answers 502/503/504 or times out, never above
:attr:`LoadOptions.workers`; the household rule holds whatever it chooses.

A run can be asked to stop (Ctrl-C on the command line, the page's Stop
button) through :attr:`LoadOptions.stop`: the batches already sent finish
and are reported, nothing more is sent, and every row left is reported as
not sent, so re-running the same file finishes the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from importer.client import IMPORT_CONTEXT, CallRecord, ClientPool, OdooClient, backoff_delay
from importer.concurrency import (
    DEFAULT_WORKERS,
    OVERLOAD_OUTCOMES,
    AdaptiveLimit,
    Change,
    ConcurrencyChoice,
    Controller,
    FixedLimit,
    Observation,
)
from importer.defaults import BATCH_SIZE
from importer.errors import AccessError, AuthenticationError, OdooError, SppError, TransportError
from importer.outcome import STOPPED_ON_REQUEST, Entity, ImportFailure, Status
from importer.plan import StagePlan

ProgressCallback = Callable[[Entity, int, int], None]
ConcurrencyCallback = Callable[[Change], None]
#: Record statuses that mean the server confirmed the write (what progress counts).
WRITTEN = (Status.CREATED, Status.UPDATED)

#: How a record the server refused begins its reason (the server's own message follows).
REFUSED_BY_SERVER = "refused by the server: "

#: What PostgreSQL says, through Odoo, when a row met another transaction writing the same
#: record: nothing is wrong with the row, and sent again once that transaction is over it
#: goes through (matched case-insensitively, anywhere in the server's message).
TRANSIENT_MESSAGES = (
    "could not serialize access due to concurrent update",
    "could not serialize access due to read/write dependencies",
    "could not obtain lock",
    "lock not available",
    "deadlock detected",
)


def is_transient(message: str) -> bool:
    """Whether the server refused a row only because a concurrent transaction held its record."""
    text = message.casefold()
    return any(t in text for t in TRANSIENT_MESSAGES)


@dataclass
class LoadOptions:
    """How the load stage sends batches."""

    batch_size: int = BATCH_SIZE
    workers: int = DEFAULT_WORKERS  # most calls in flight (adaptive: the ceiling; fixed: always this many)
    adaptive: bool = True  # False: always ``workers`` calls in flight
    track_history: bool = False  # False: tracking_disable + mail_create_nolog, as Odoo's import screen
    # Set by whoever runs the import to stop it between batches (Ctrl-C, the page's Stop button).
    stop: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


def controller_for(options: LoadOptions) -> Controller:
    """The run's concurrency controller, as the options ask: adaptive or fixed, ``workers`` the ceiling.

    Made once per run (docs/architecture.md §6): a chunked run hands the same one
    to every chunk's :class:`Loader`, so it neither starts again from two calls in
    flight at each chunk nor forgets the levels that overloaded the server.
    """
    workers = max(1, options.workers)
    return AdaptiveLimit(workers) if options.adaptive else FixedLimit(workers)


class StopRequested(SppError):
    """The person running the import asked it to stop; nothing went wrong on the server."""


class RunStopped(SppError):
    """The run cannot go on (credentials refused, rights lost, server unreachable)."""

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        self.cause = cause


class StageResult:
    """Per planned row of one stage (index = the plan's index): status, server id and reason.

    Kept as three Series, not dicts of Python objects: a million-row stage is
    filled batch by batch with vectorised assignments.
    """

    def __init__(self, entity: Entity, index: pd.Index) -> None:
        self.entity = entity
        self.status = pd.Series(None, index=index, dtype=object)
        self.reason = pd.Series(None, index=index, dtype=object)
        self.server_id = pd.Series(np.nan, index=index, dtype="float64")
        self.calls = 0

    def mark(self, index, status: Status, reason: str | pd.Series | None = None) -> None:
        self.status.loc[index] = status
        if reason is not None:
            self.reason.loc[index] = reason

    def failed_keys(self, rows: pd.DataFrame) -> dict[str, str]:
        """Keys of records that did not make it, with why (for their dependants)."""
        bad = self.status.isin([Status.FAILED, Status.SKIPPED])
        if not bad.any():
            return {}
        why = "row " + rows.loc[bad, "_row"].astype(str) + ": " + self.reason[bad].fillna("").astype(str)
        frame = pd.DataFrame({"key": rows.loc[bad, "key"], "why": why}).drop_duplicates("key")
        return dict(zip(frame["key"], frame["why"], strict=True))


def settled_before_sending(
    stage: StagePlan, existing: dict[str, int], failed_parents: dict[Entity, dict[str, str]]
) -> tuple[StageResult, pd.DataFrame]:
    """A stage's result before any call, and the rows left to send.

    Rows whose parent was not written are skipped, rows already as in the file
    are unchanged: neither needs the server.
    """
    rows = stage.rows
    result = StageResult(stage.entity, rows.index)
    blocked = stage.blocked_notes(failed_parents, "not sent: ", "was not written")
    result.mark(blocked.index, Status.SKIPPED, blocked)
    held = rows.index.isin(blocked.index)
    unchanged = (rows["action"] == "unchanged").to_numpy() & ~held
    result.mark(rows.index[unchanged], Status.UNCHANGED)
    known = rows.loc[unchanged, "key"].map(existing)
    result.server_id.loc[rows.index[unchanged]] = known.astype("float64").to_numpy()
    return result, rows[~held & ~unchanged]


def expected_result(
    stage: StagePlan, existing: dict[str, int], failed_parents: dict[Entity, dict[str, str]]
) -> StageResult:
    """The result a stage will have if the server writes every row sent as planned (the common case).

    What the XLSX report is drafted from while the rows are in flight
    (docs/architecture.md §9); the server ids of new records are not known yet.
    """
    result, todo = settled_before_sending(stage, existing, failed_parents)
    create = (todo["action"] == "create").to_numpy()
    result.mark(todo.index[create], Status.CREATED)
    result.mark(todo.index[~create], Status.UPDATED)
    return result


def households_written(stage: StagePlan, memberships: StagePlan | None = None) -> pd.Series:
    """The households whose own record each row's write updates on the server, by household key.

    Indexed by the stage's rows, a row repeated for each household it touches
    (a person in two households), rows that touch none left out.  Read from
    OpenG2P's registry (``g2p_registry_membership``, 17.0):

    - creating, changing or removing a membership recomputes its group's stored
      ``force_recompute_canary`` (``_recompute_parent_groups``): the household's
      ``res.partner`` row is updated, by every membership row;
    - writing an individual does the same for the groups the person is already
      in: a person being *updated* touches their households (the file's
      memberships say which); a person being created belongs to none yet
      (memberships are sent in the next wave);
    - a household being updated writes its own row;
    - an ID (``g2p.reg.id``) has no override and no stored field on its person:
      it touches no household.

    Two transactions updating one household row at once is what makes the later
    one fail with a serialization error, hence the cut of :func:`cut_batches`.
    """
    rows = stage.rows
    if stage.entity is Entity.MEMBERSHIP:
        return rows["group_key"].astype(object)
    updated = rows[(rows["action"] == "update").to_numpy()]
    if stage.entity is Entity.GROUP:
        return updated["key"].astype(object)
    if stage.entity is Entity.INDIVIDUAL and memberships is not None and len(updated):
        where = memberships.rows[["individual_key", "group_key"]].drop_duplicates()
        lives = pd.DataFrame({"key": updated["key"].to_numpy(), "row": updated.index})
        joined = lives.merge(where, left_on="key", right_on="individual_key", sort=False)
        return pd.Series(joined["group_key"].to_numpy(dtype=object), index=pd.Index(joined["row"]))
    return pd.Series([], dtype=object)


def cut_batches(rows: pd.DataFrame, households: pd.Series, size: int) -> list[tuple[pd.DataFrame, frozenset]]:
    """``rows`` in batches of at most ``size``, one household's rows never in two; with each one's households.

    ``households`` is :func:`households_written` for these rows.  The rows of
    one household are gathered where its first row stands (the rest keep the
    file's order) and batches are cut between households only.  A household
    bigger than ``size`` gets batches of its own, which the loader sends one
    after the other since they share it.
    """
    size = max(1, size)
    if households.empty:
        return [(rows.iloc[i : i + size], frozenset()) for i in range(0, len(rows), size)]
    n = len(rows)
    primary = households[~households.index.duplicated()].reindex(rows.index)
    codes, uniques = pd.factorize(primary)  # -1: the row writes no household
    positions = np.arange(n)
    first = np.full(len(uniques), n, dtype=np.int64)
    np.minimum.at(first, codes[codes >= 0], positions[codes >= 0])
    sort_key = np.where(codes >= 0, first[np.maximum(codes, 0)], positions)
    order = np.argsort(sort_key, kind="stable")
    ordered = sort_key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    lengths = np.diff(np.r_[starts, n])
    cuts = {0, n}
    filled = 0
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        if filled and filled + length > size:
            cuts.add(start)
            filled = 0
        if length > size:  # batches of its own, sent one after the other (they share the household)
            cuts.update(range(start, start + length, size))
            cuts.add(start + length)
            filled = 0
            continue
        filled += length
    bounds = sorted(cuts)
    batch_of = pd.Series(np.searchsorted(bounds, positions, side="right") - 1, index=rows.index[order])
    pairs = pd.DataFrame(
        {"batch": batch_of.reindex(households.index).to_numpy(), "key": households.to_numpy()}
    )
    touched = {int(b): frozenset(keys) for b, keys in pairs.groupby("batch")["key"]}
    sorted_rows = rows.iloc[order]
    return [
        (sorted_rows.iloc[bounds[b] : bounds[b + 1]], touched.get(b, frozenset()))
        for b in range(len(bounds) - 1)
    ]


@dataclass(frozen=True)
class LoadBatch:
    """One ``load`` call's worth of one stage's rows, and the households its write updates."""

    stage: StagePlan
    rows: pd.DataFrame
    result: StageResult
    households: frozenset


class Loader:
    """Runs plan stages against one server with a pool of workers, one HTTP session each."""

    def __init__(
        self,
        client: OdooClient,
        options: LoadOptions,
        *,
        progress: ProgressCallback | None = None,
        memberships: StagePlan | None = None,
        controller: Controller | None = None,
        on_concurrency: ConcurrencyCallback | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``memberships``: the plan's membership stage, which says which people live in which
        household (so updates of people are batched household-whole, see :func:`households_written`).
        ``controller`` decides how many calls are in flight (by default from the options);
        ``on_concurrency`` is told of each of its decisions (the audit log).
        """
        self.client = client
        self.options = options
        self.progress = progress
        self.memberships = memberships
        self.context = {} if options.track_history else dict(IMPORT_CONTEXT)
        # load reads a date-time in the context's time zone (else the user's): the file's times
        # are sent, stored and read back as UTC, so a re-run compares like with like.
        self.context["tz"] = "UTC"
        workers = max(1, options.workers)
        self.controller: Controller = controller or controller_for(options)
        self.on_concurrency = on_concurrency
        self._clock = clock
        self._control_lock = threading.Lock()
        self._clients = ClientPool(client, workers, observer=self._observe_call)
        self._stop = threading.Event()
        self._stopped_by: RunStopped | None = None
        self._lock = threading.Lock()

    @property
    def stopped(self) -> RunStopped | None:
        return self._stopped_by

    @property
    def concurrency(self) -> ConcurrencyChoice:
        """What the controller chose so far (for the report and the audit log)."""
        with self._control_lock:
            return self.controller.choice()

    def run_stage(
        self,
        stage: StagePlan,
        existing: dict[str, int],
        failed_parents: dict[Entity, dict[str, str]],
    ) -> StageResult:
        """Send one entity's rows; returns every row's status."""
        return self.run_wave([stage], {stage.entity: existing}, failed_parents)[stage.entity]

    def run_wave(
        self,
        stages: list[StagePlan],
        existing: dict[Entity, dict[str, int]],
        failed_parents: dict[Entity, dict[str, str]],
    ) -> dict[Entity, StageResult]:
        """Send stages that do not depend on each other together, on one pool of workers.

        Their batches interleave, so no worker idles at the end of one
        entity while another still has rows to send.
        """
        results: dict[Entity, StageResult] = {}
        batches: list[LoadBatch] = []
        todos: dict[Entity, pd.DataFrame] = {}
        for stage in stages:
            result, todo = settled_before_sending(stage, existing.get(stage.entity, {}), failed_parents)
            results[stage.entity], todos[stage.entity] = result, todo
            households = households_written(stage, self.memberships)
            households = households[households.index.isin(todo.index)]
            size = self.options.batch_size
            batches += [  # whole households, then one field list per call (StagePlan.batches)
                LoadBatch(stage, part, result, touched)
                for cut, touched in cut_batches(todo, households, size)
                for part in stage.batches(cut, size)
            ]
        if batches and not self._stopping():
            self._send_all(batches, todos)
            self._clients.close()  # the wave's threads are gone: so are their sessions
        why = str(self._stopped_by) if self._stopped_by else "the run stopped"
        for entity, todo in todos.items():
            left = results[entity].status.loc[todo.index].isna().to_numpy()
            if left.any():
                results[entity].mark(todo.index[left], Status.SKIPPED, f"not sent: {why}")
        return results

    def _send_all(self, batches: list[LoadBatch], todos: dict[Entity, pd.DataFrame]) -> None:
        """Send the batches, as many at once as the controller says, never two that write the same household.

        A batch waits while another one writing one of its households is in
        flight; later batches writing other households go ahead meanwhile, so
        no worker idles.  The limit is read again each time a batch finishes:
        when it falls, the batches in flight finish and fewer follow.
        """
        done = dict.fromkeys(todos, 0)
        waiting = list(batches)
        running: dict[Future, LoadBatch] = {}
        busy: set = set()
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            while waiting or running:
                if self._stopping():
                    waiting.clear()  # rows never sent are reported "not sent" by run_wave
                i, limit = 0, self._limit()
                while len(running) < limit and i < len(waiting):
                    batch = waiting[i]
                    if busy.isdisjoint(batch.households):
                        del waiting[i]
                        busy |= batch.households
                        running[pool.submit(self._send_batch, batch, len(running) + 1)] = batch
                    else:
                        i += 1
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch = running.pop(future)
                    busy -= batch.households
                    future.result()
                    entity = batch.stage.entity
                    # Progress counts what the server confirmed, never rows skipped after a stop.
                    confirmed = batch.result.status.loc[batch.rows.index].isin(WRITTEN)
                    done[entity] += int(confirmed.sum())
                    if self.progress:
                        self.progress(entity, done[entity], len(todos[entity]))

    def _send_batch(self, batch: LoadBatch, in_flight: int) -> None:
        """Send one batch, then tell the controller how long its rows took with ``in_flight`` calls out."""
        started = self._clock()
        self._send(batch.stage, batch.rows, batch.result)
        if not self._stopping():
            self._tell(Observation(started, self._clock(), len(batch.rows), in_flight))

    def _observe_call(self, record: CallRecord) -> None:
        """Every attempt of a worker's call: a ``load`` turned away (502/503/504) or timed out is overload."""
        signal = OVERLOAD_OUTCOMES.get(record.outcome)
        if signal is not None and record.method == "load":
            now = self._clock()
            self._tell(Observation(now - record.duration_s, now, record.rows, 0, signal))

    def _tell(self, observation: Observation) -> None:
        with self._control_lock:
            change = self.controller.observe(observation)
            if change is not None and self.on_concurrency is not None:
                self.on_concurrency(change)

    def _limit(self) -> int:
        with self._control_lock:
            return max(1, min(self.controller.limit, self.options.workers))

    def _send(self, stage: StagePlan, batch: pd.DataFrame, result: StageResult) -> None:
        """Send one batch until each row is written or refused; rows that met a concurrent writer go again.

        Those rows (:func:`is_transient`) are sent again once the rest of the
        batch has committed, after a backoff, until the client's
        :class:`~importer.settings.Retry` runs out of attempts; only then are
        they failed, with the server's message.
        """
        retry = self.client.settings.retry
        part, attempt = batch, 1
        while True:
            again = self._send_once(stage, part, result, attempt)
            if not again:
                return
            if attempt >= retry.attempts:
                for index, message in again.items():
                    self._fail(result, [index], message)
                return
            self.options.stop.wait(backoff_delay(retry, attempt))
            if self._stopping():
                return
            attempt += 1
            part = batch[batch.index.isin(list(again))]

    def _send_once(
        self, stage: StagePlan, batch: pd.DataFrame, result: StageResult, attempt: int
    ) -> dict[Any, str]:
        """Send rows, peeling off the ones the server refuses, until the rest commits.

        Returns the rows refused only for a concurrent writer (index -> the
        server's message), for :meth:`_send` to send again.
        """
        again: dict[Any, str] = {}
        pending = [batch]
        while pending:
            if self._stopping():
                return {}
            part = pending.pop()
            if part.empty:
                continue
            newest = self._newest_id(stage, part)
            try:
                fields = stage.load_fields(part)  # an update leaves its empty cells out
                answer = self._clients.current().load(
                    stage.model,
                    fields,
                    stage.payload(part)[fields].to_numpy().tolist(),
                    context=self.context,
                    idempotent=True,
                    attempt=attempt,
                )
            except (AuthenticationError, AccessError, TransportError) as exc:
                self._halt(exc)
                return {}
            except OdooError as exc:
                message = _plain(exc.server_message)
                if is_transient(message):  # the whole call met a concurrent writer: all of it again
                    again.update(dict.fromkeys(part.index, message))
                elif len(part) == 1:
                    self._fail(result, part.index, message)
                else:
                    half = len(part) // 2
                    pending += [part.iloc[half:], part.iloc[:half]]
                continue
            ids = answer.get("ids")
            with self._lock:
                result.calls += 1
                if ids and len(ids) == len(part):
                    # "created" only for a record newer than the call: one another run made since the
                    # plan read the server was there already, and this call updated it.
                    created = (part["action"] == "create").to_numpy() & (np.asarray(ids) > newest)
                    result.mark(part.index[created], Status.CREATED)
                    result.mark(part.index[~created], Status.UPDATED)
                    result.server_id.loc[part.index] = np.asarray(ids, dtype="float64")
                    continue
            denied = _access_refusal(answer.get("messages") or [])
            if denied:  # real Odoo reports lost rights row by row inside load: the run cannot go on
                self._halt(AccessError(denied, name="odoo.exceptions.AccessError"))
                return {}
            refused = _refused_rows(answer.get("messages") or [], len(part))
            if refused:
                for pos, message in refused.items():
                    if is_transient(message):
                        again[part.index[pos]] = message
                    else:
                        self._fail(result, [part.index[pos]], message)
                keep = [p for p in range(len(part)) if p not in refused]
                pending.append(part.iloc[keep])
            elif len(part) == 1:
                message = _first_message(answer) or "refused by the server"
                if is_transient(message):
                    again[part.index[0]] = message
                else:
                    self._fail(result, part.index, message)
            else:
                half = len(part) // 2
                pending += [part.iloc[half:], part.iloc[:half]]
        return again

    def _fail(self, result: StageResult, index, message: str) -> None:
        with self._lock:
            result.mark(index, Status.FAILED, REFUSED_BY_SERVER + message)

    def _newest_id(self, stage: StagePlan, part: pd.DataFrame) -> int:
        """The model's highest id just before a call that creates records (0: no check).

        Ids only grow, so a record the call answers with at or below it existed
        before the call.  One small ``search`` per batch with rows to create.
        """
        if not (part["action"] == "create").any():
            return 0
        try:
            found = self._clients.current().search(stage.model, [], limit=1, order="id desc")
        except SppError:
            return 0  # the load itself will meet the same trouble and say so
        return int(found[0]) if found else 0

    def _stopping(self) -> bool:
        """Whether to send nothing more: the server stopped the run, or its user asked to stop."""
        if self.options.stop.is_set() and not self._stop.is_set():
            self._halt(StopRequested("stop requested"))
        return self._stop.is_set()

    def _halt(self, exc: Exception) -> None:
        with self._lock:
            if self._stopped_by is None:
                self._stopped_by = RunStopped(_stop_reason(exc), exc)
            self._stop.set()


def _refused_rows(messages: list[dict[str, Any]], size: int) -> dict[int, str]:
    """Batch positions the server named as refused, with its message."""
    refused: dict[int, str] = {}
    for message in messages:
        if message.get("type", "error") != "error":
            continue
        rows = message.get("rows") or {}
        start, end = rows.get("from"), rows.get("to")
        if start is None:
            continue
        end = start if end is None else end
        for pos in range(int(start), min(int(end), size - 1) + 1):
            refused.setdefault(pos, _plain(str(message.get("message", "refused"))))
    return refused


def _access_refusal(messages: list[dict[str, Any]]) -> str | None:
    """The server's "you are not allowed" message, when ``load`` refused rows for lack of rights."""
    for message in messages:
        text = str(message.get("message", ""))
        if message.get("type", "error") == "error" and text.startswith("You are not allowed to"):
            return text.split("\n", 1)[0]
    return None


def _first_message(answer: dict[str, Any]) -> str | None:
    for message in answer.get("messages") or []:
        if message.get("type", "error") == "error":
            return _plain(str(message.get("message", "")))
    return None


def _plain(text: str) -> str:
    return " ".join(text.split())


def _stop_reason(exc: Exception) -> str:
    if isinstance(exc, StopRequested):
        return STOPPED_ON_REQUEST
    if isinstance(exc, AuthenticationError):
        return "the server no longer accepts the login (password or API key changed or expired)"
    if isinstance(exc, AccessError):
        return "the server does not let this user write (" + _plain(exc.server_message).rstrip(".") + ")"
    return f"the server could not be reached ({exc})"


def link_matched(client: OdooClient, links: dict[str, tuple[str, int]]) -> None:
    """Give registrants found by ID (and their ID records) our external ids, before any ``load``.

    Then ``load`` updates them instead of adding a second person.  A write, so it
    lives with the Loader's, not in the orchestrator.
    """
    values = [
        {"module": xid.split(".", 1)[0], "name": xid.split(".", 1)[1], "model": model, "res_id": res_id}
        for xid, (model, res_id) in links.items()
    ]
    people = sum(model == "res.partner" for model, _ in links.values())
    try:
        for start in range(0, len(values), 1000):
            client.create("ir.model.data", values[start : start + 1000])
    except AccessError:  # Odoo 17: only "Administration / Access Rights" may create external ids
        raise ImportFailure(
            f"{people} people in the file are already in the registry (found by their ID number), "
            "and linking them to this file needs a right this user does not have (creating external "
            "ids: Odoo's 'Administration / Access Rights'). Nothing was written. Ask an administrator "
            "to run this import once; after that, this user can re-run it."
        ) from None
