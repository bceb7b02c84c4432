"""The load stage: send each plan stage with ``load`` in batches, a bad row costing one row.

Why ``load``: it creates a record and its external id in one transaction,
and updates the record when the external id already exists, so re-sending
a batch after a crash or a lost answer never duplicates anyone
(DESIGN.md §3.1).  Every call carries external ids only, so the client may
retry a lost answer (``idempotent=True``).

A refused batch is resent without the rows the server named; when the
server names none (an exception instead of messages), the batch is split in
halves until the bad rows are alone.  Records whose parent failed are
skipped, with the parent's reason.

A run can be asked to stop (Ctrl-C on the command line, the page's Stop
button) through :attr:`LoadOptions.stop`: the batches already sent finish
and are reported, nothing more is sent, and every row left is reported as
not sent, so re-running the same file finishes the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from importer.client import IMPORT_CONTEXT, ClientPool, OdooClient
from importer.errors import AccessError, AuthenticationError, OdooError, SppError, TransportError
from importer.outcome import STOPPED_ON_REQUEST, Entity, Status
from importer.plan import StagePlan

ProgressCallback = Callable[[Entity, int, int], None]


@dataclass
class LoadOptions:
    """How the load stage sends batches."""

    batch_size: int = 500
    workers: int = 2
    track_history: bool = False  # False: tracking_disable + mail_create_nolog, as Odoo's import screen
    # Set by whoever runs the import to stop it between batches (Ctrl-C, the page's Stop button).
    stop: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


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


class Loader:
    """Runs plan stages against one server with a pool of workers, one HTTP session each."""

    def __init__(
        self,
        client: OdooClient,
        options: LoadOptions,
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.progress = progress
        self.context = {} if options.track_history else dict(IMPORT_CONTEXT)
        self._clients = ClientPool(client, options.workers)
        self._stop = threading.Event()
        self._stopped_by: RunStopped | None = None
        self._lock = threading.Lock()

    @property
    def stopped(self) -> RunStopped | None:
        return self._stopped_by

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
        jobs: list[tuple[StagePlan, pd.DataFrame, StageResult]] = []
        todos: dict[Entity, pd.DataFrame] = {}
        for stage in stages:
            rows = stage.rows
            result = results[stage.entity] = StageResult(stage.entity, rows.index)
            blocked = stage.blocked_by(failed_parents)
            result.mark(
                blocked.index,
                Status.SKIPPED,
                "not sent: " + blocked["what"] + " was not written (" + blocked["why"] + ")",
            )
            held = rows.index.isin(blocked.index)
            unchanged = (rows["action"] == "unchanged").to_numpy() & ~held
            result.mark(rows.index[unchanged], Status.UNCHANGED)
            known = rows.loc[unchanged, "key"].map(existing.get(stage.entity, {}))
            result.server_id.loc[rows.index[unchanged]] = known.astype("float64").to_numpy()
            todo = todos[stage.entity] = rows[~held & ~unchanged]
            size = self.options.batch_size
            jobs += [(stage, batch, result) for batch in stage.batches(todo, size)]
        if jobs and not self._stopping():
            done = dict.fromkeys(results, 0)
            with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
                futures = {pool.submit(self._send, *job): job for job in jobs}
                for future in as_completed(futures):
                    future.result()
                    stage, batch, _ = futures[future]
                    done[stage.entity] += len(batch)
                    if self.progress:
                        self.progress(stage.entity, done[stage.entity], len(todos[stage.entity]))
            self._clients.close()  # the wave's threads are gone: so are their sessions
        why = str(self._stopped_by) if self._stopped_by else "the run stopped"
        for entity, todo in todos.items():
            left = results[entity].status.loc[todo.index].isna().to_numpy()
            if left.any():
                results[entity].mark(todo.index[left], Status.SKIPPED, f"not sent: {why}")
        return results

    def _send(self, stage: StagePlan, batch: pd.DataFrame, result: StageResult) -> None:
        """Send one batch, peeling off the rows the server refuses, until the rest commits."""
        pending = [batch]
        while pending:
            if self._stopping():
                return
            part = pending.pop()
            if part.empty:
                continue
            try:
                fields = stage.load_fields(part)  # an update leaves its empty cells out
                answer = self._clients.current().load(
                    stage.model,
                    fields,
                    stage.payload(part)[fields].to_numpy().tolist(),
                    context=self.context,
                    idempotent=True,
                )
            except (AuthenticationError, AccessError, TransportError) as exc:
                self._halt(exc)
                return
            except OdooError as exc:
                if len(part) == 1:
                    self._fail(result, part.index, _plain(exc.server_message))
                else:
                    half = len(part) // 2
                    pending += [part.iloc[half:], part.iloc[:half]]
                continue
            ids = answer.get("ids")
            with self._lock:
                result.calls += 1
                if ids and len(ids) == len(part):
                    created = (part["action"] == "create").to_numpy()
                    result.mark(part.index[created], Status.CREATED)
                    result.mark(part.index[~created], Status.UPDATED)
                    result.server_id.loc[part.index] = np.asarray(ids, dtype="float64")
                    continue
            denied = _access_refusal(answer.get("messages") or [])
            if denied:  # real Odoo reports lost rights row by row inside load: the run cannot go on
                self._halt(AccessError(denied, name="odoo.exceptions.AccessError"))
                return
            refused = _refused_rows(answer.get("messages") or [], len(part))
            if refused:
                for pos, message in refused.items():
                    self._fail(result, [part.index[pos]], message)
                keep = [p for p in range(len(part)) if p not in refused]
                pending.append(part.iloc[keep])
            elif len(part) == 1:
                self._fail(result, part.index, _first_message(answer) or "refused by the server")
            else:
                half = len(part) // 2
                pending += [part.iloc[half:], part.iloc[:half]]

    def _fail(self, result: StageResult, index, message: str) -> None:
        with self._lock:
            result.mark(index, Status.FAILED, f"refused by the server: {message}")

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
