"""What every benchmark shares: inputs, a sandbox in its own process, timing, figures and verdicts.

Why a separate sandbox process: client and server in one interpreter would
share one GIL, so every figure would measure contention the real
deployment does not have.  Why interleaving and medians: the machine is
shared and noisy; A and B measured side by side, turn about, see the same
noise, so their ratio is honest even when the absolute figures wobble.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from importer.client import OdooClient
from importer.demo import start_sandbox, stop_sandbox
from importer.demo_data import roster
from importer.load import LoadOptions
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.settings import ConnectionSettings, Retry, Secret, Timeout

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"  # git-ignored: generated inputs, sandbox databases, reports
ROSTER_MAPPING = ROOT / "mappings" / "roster.yaml"
PEOPLE_PER_HOUSEHOLD = 4  # the 20,000 people in 5,000 households


# -- figures and verdicts ---------------------------------------------------------


@dataclass
class Figure:
    """One printed number, with its target and verdict (``None`` target: for information only)."""

    name: str
    value: float
    unit: str
    target: str | None = None  # human form, e.g. ">= 20x"
    passed: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "INFO"
        return "PASS" if self.passed else "MISS"

    def line(self) -> str:
        value = _fmt(self.value)
        target = f"target {self.target}" if self.target else ""
        text = f"  [{self.verdict:<4}] {self.name:<58} {value:>12} {self.unit:<8} {target}"
        if self.note:
            text += f"\n         {self.note}"
        return text.rstrip()


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Section:
    """One benchmark's output: its figures and free-text lines (how it was measured)."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kw: Any) -> Figure:
        fig = Figure(*args, **kw)
        self.figures.append(fig)
        print(fig.line(), flush=True)
        return fig

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  - {text}", flush=True)


# -- timing ----------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call (garbage collected first, so A does not pay for B's garbage)."""
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this process, all threads) of one call.

    On a shared, loaded machine the wall time of single-threaded work
    includes waiting for a core; its CPU time does not, and is what the
    same work takes on an idle machine.
    """
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def interleaved(pairs: dict[str, Callable[[], Any]], reps: int) -> dict[str, list[float]]:
    """Run each callable ``reps`` times, turn about (A B A B ...); wall times per name."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(reps):
        for name, fn in pairs.items():
            seconds, _ = timed(fn)
            times[name].append(seconds)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- inputs ----------------------------------------------------------------------


def roster_frame(people: int, seed: int = 7) -> pd.DataFrame:
    """The issue's roster shape: about four people a household, exactly one Head each."""
    households = max(1, people // PEOPLE_PER_HOUSEHOLD)
    return roster(households, seed=seed, people=people)


def roster_csv(people: int, seed: int = 7) -> Path:
    """A roster CSV under bench/out, generated once per size and seed and then reused."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"roster-{people}-s{seed}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        roster_frame(people, seed).to_csv(tmp, index=False)
        tmp.replace(path)
    return path


def import_options(mapping: Path = ROSTER_MAPPING, load: LoadOptions | None = None) -> ImportOptions:
    """How every benchmark imports: reports under bench/out/reports, no report files written.

    Writing the report's files is not what any benchmark measures; leaving it
    out of every one keeps their figures comparable.
    """
    return ImportOptions(
        mapping=mapping, out_dir=OUT / "reports", write_files=False, load=load or LoadOptions()
    )


# -- the sandbox, as its own process ----------------------------------------------


@dataclass
class Server:
    url: str
    db: str
    db_file: Path

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            url=self.url,
            db=self.db,
            login="admin",
            secret=Secret("admin"),
            timeout=Timeout(connect=5, read=600),
            retry=Retry(attempts=3, backoff=0.05, max_backoff=0.2),
        )


_counter = iter(range(1_000_000))


@contextlib.contextmanager
def sandbox_process(
    label: str, *, threads: int | None = None, options: Sequence[str] = ()
) -> Iterator[Server]:
    """A fresh sandbox registry in a child process (SQLite file under bench/out), stopped after.

    ``options``: more of the sandbox's command-line options (e.g. ``--workers 4``).
    """
    OUT.mkdir(parents=True, exist_ok=True)
    db_file = OUT / f"sandbox-{label}-{next(_counter)}.sqlite3"
    for stale in OUT.glob(db_file.name + "*"):
        stale.unlink()
    if threads is None and not options:
        proc, url, db = start_sandbox(db_file)
    else:
        proc, url, db = _start_with_threads(db_file, threads, options)
    try:
        yield Server(url, db, db_file)
    finally:
        stop_sandbox(proc)
        for stale in OUT.glob(db_file.name + "*"):
            stale.unlink()


def _start_with_threads(
    db_file: Path, threads: int | None, options: Sequence[str] = ()
) -> tuple[Any, str, str]:
    """Like importer.demo.start_sandbox, with a bounded pool of server threads and other options."""
    import re
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "importer.sandbox", "--port", "0", "--db", str(db_file)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    cmd += list(options)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    ready = re.compile(r"serving (http://\S+) \(database '([^']+)'\)")
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = ready.search(line)
        if match:
            return proc, match.group(1), match.group(2)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the sandbox did not start")


# -- the client, timed per call -------------------------------------------------------


class TimedClient(OdooClient):
    """An OdooClient that records when each call was in flight, for the client/server split.

    ``run_import`` replaces ``client.observer`` with its own, so the timing is
    taken around ``_call`` instead; forks (one per load worker) share the list.
    A call's interval covers encoding the request, the HTTP round trip,
    the server's work and decoding the answer.
    """

    def __init__(self, *args: Any, spans: list[tuple[float, float]] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.spans: list[tuple[float, float]] = spans if spans is not None else []
        self._spans_lock = threading.Lock()

    def fork(self) -> TimedClient:
        other = TimedClient(self.settings, observer=self.observer, sleep=self._sleep, spans=self.spans)
        other._uid = self._uid
        other._spans_lock = self._spans_lock
        return other

    def _call(self, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return super()._call(*args, **kw)
        finally:
            end = time.perf_counter()
            with self._spans_lock:
                self.spans.append((start, end))


def covered(spans: Sequence[tuple[float, float]]) -> float:
    """Seconds during which at least one call was in flight (overlapping workers counted once)."""
    total = 0.0
    cur_start = cur_end = None
    for start, end in sorted(spans):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


@dataclass
class TimedImport:
    """One import through a :class:`TimedClient`: its wall time, its result, and the client/server split."""

    seconds: float
    result: RunResult
    in_calls: float  # seconds during which at least one call was in flight
    calls: int


def timed_import(
    csv: Path,
    options: ImportOptions,
    label: str,
    *,
    server_options: Sequence[str] = (),
    prepare: Callable[[OdooClient], None] | None = None,
    profile: Path | None = None,
) -> TimedImport:
    """Import ``csv`` into a fresh sandbox process through a :class:`TimedClient`; only the import is timed.

    ``server_options``: the sandbox's (``--preset``...); ``prepare``: what an
    administrator sets up on it first (a deployment's own fields);
    ``profile``: where to write a cProfile of the import.
    """
    with sandbox_process(label, options=server_options) as server:
        if prepare is not None:
            with OdooClient(server.settings()) as admin:
                prepare(admin)
        client = TimedClient(server.settings())
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        seconds, result = timed(lambda: run_import([csv], options, client=client))
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    return TimedImport(seconds, result, covered(client.spans), len(client.spans))


def import_rate(
    people: int,
    label: str,
    load: LoadOptions,
    *,
    threads: int | None = None,
    server_options: Sequence[str] = (),
) -> tuple[float, RunResult]:
    """Records written per second of one ``people``-person roster import into a fresh sandbox process.

    The rate is of the whole ``run_import`` (what a clerk waits for), not of the
    load stage alone; ``threads`` and ``server_options`` go to the sandbox.
    """
    csv = roster_csv(people)
    options = import_options(load=load)
    with sandbox_process(label, threads=threads, options=server_options) as server:
        seconds, result = timed(lambda: run_import([csv], options, server.settings()))
    assert result.exit_code == 0, f"import failed: exit {result.exit_code}"
    return sent_records(result) / seconds, result


def sent_records(result: Any) -> int:
    """Records the run wrote (created or updated): groups, individuals, IDs and memberships."""
    counts = result.report.counts().drop(index="input rows", errors="ignore")
    total = 0
    for column in ("created", "updated"):
        if column in counts.columns:
            total += int(counts[column].sum())
    return total
