"""Benchmark 4: peak memory and time per row of CSV rosters of 100,000 to 5,000,000 rows.

Each run is the real command line (``python -m importer.cli ...``) in a
child process; its peak resident set size comes from ``os.wait4``'s
rusage of that one child (``ru_maxrss``, KiB on Linux), so neither this
process nor the sandbox is counted.

- ``spp-import validate`` (offline: read, map, validate, plan nothing,
  write the reports): the cheapest proxy, always run;
- ``spp-import import --dry-run`` against a sandbox process (adds the
  catalog, the server's external ids and the dry-run plan): with ``--full``
  or ``--dry-run-memory``, as it takes minutes at this size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, ROSTER_MAPPING, Section, roster_csv, sandbox_process

TARGET_MB = 1536.0  # 1.5 GB, whatever the size (issue 12)
FLAT = 1.15  # peak RSS of the largest file vs the reference size: flat within 15 %
FLAT_REFERENCE = 1_000_000  # 20 chunks: a run in its steady state (100,000 rows is only two)


@dataclass(frozen=True)
class Child:
    """What one child process cost, measured from outside it (``os.wait4``'s rusage of that child alone)."""

    mib: float  # peak resident set size
    seconds: float  # wall time
    cpu: float  # user + system seconds: what the work costs on a quiet machine
    code: int  # exit code
    out: str = ""  # what it printed on stdout
    said: str = ""  # what it printed on stderr


def peak_rss(cmd: list[str], env: dict[str, str] | None = None) -> Child:
    """Run ``cmd`` and measure it; what it said on stderr is printed when it could not run (exit 2+).

    Its stdout goes to a temporary file, read back once it has ended: only
    stderr is a pipe, read before waiting, so the child can never block on a
    full pipe.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, env=env or os.environ.copy()
        )
        assert proc.stderr is not None
        err = proc.stderr.read()  # before waiting: a child that fills the pipe would never end
        proc.stderr.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stdout.seek(0)
        out = stdout.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    said = err.decode(errors="replace").strip()
    if code not in (0, 1) and said:
        print(f"    (child said: {said[-300:]})")
    return Child(usage.ru_maxrss / 1024, seconds, usage.ru_utime + usage.ru_stime, code, out, said)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "importer.cli", *args]


def validate_command(csv: Path, out: Path, chunk_rows: int | None = None) -> list[str]:
    extra = [] if chunk_rows is None else ["--chunk-rows", str(chunk_rows)]
    return _cli("validate", str(csv), "--mapping", str(ROSTER_MAPPING), "--out", str(out), "--quiet", *extra)


def _dry_run(csv: Path, out: Path, server: Any) -> list[str]:
    return _cli(
        "import",
        str(csv),
        "--mapping",
        str(ROSTER_MAPPING),
        "--out",
        str(out),
        "--dry-run",
        "--url",
        server.url,
        "--db",
        server.db,
        "--login",
        "admin",
        "--password-env",
        "BENCH_SANDBOX_SECRET",
        "--quiet",
    )


def run(sizes: Sequence[int], dry_run: bool, whole_file: int = 100_000) -> Section:
    """Peak RSS and seconds per row of ``validate`` (and ``import --dry-run``) at each size.

    Runs are chunked (the CLI's default ``--chunk-rows``) above 50,000 rows: the
    peak must stay flat, and the time per row too (linear).  At ``whole_file``
    rows the unchunked run (``--chunk-rows 0``) is measured beside it.
    """
    section = Section(f"4. Memory: peak RSS by file size ({', '.join(f'{n:,}' for n in sizes)} rows)")
    out = OUT / "reports-memory"
    section.note("peak RSS of the child process alone; chunked runs above 50,000 rows (--chunk-rows)")
    per_row: dict[str, list[float]] = {}
    peaks: dict[str, list[float]] = {}
    for rows in sizes:
        csv = roster_csv(rows)
        section.note(f"input {csv.name}: {csv.stat().st_size / 1e6:.0f} MB")
        if rows == whole_file:
            whole = peak_rss(validate_command(csv, out, 0))
            section.add(
                f"`validate` {rows:,} rows, whole file "
                f"(--chunk-rows 0; {whole.seconds:.0f} s, exit {whole.code})",
                whole.mib,
                "MiB",
            )
        child = peak_rss(validate_command(csv, out))
        mib, seconds, code = child.mib, child.seconds, child.code
        per_row.setdefault("validate", []).append(seconds / rows)
        peaks.setdefault("validate", []).append(mib)
        section.add(
            f"`validate` {rows:,} rows ({seconds:.0f} s, {seconds / rows * 1e6:.0f} µs/row, exit {code})",
            mib,
            "MiB",
            f"<= {TARGET_MB:,.0f} MiB",
            mib <= TARGET_MB,
        )
        if dry_run:
            with sandbox_process("memory") as server:
                env = os.environ.copy()
                env["BENCH_SANDBOX_SECRET"] = "admin"
                child = peak_rss(_dry_run(csv, out, server), env)
            mib, seconds, code = child.mib, child.seconds, child.code
            per_row.setdefault("dry-run", []).append(seconds / rows)
            peaks.setdefault("dry-run", []).append(mib)
            section.add(
                f"`import --dry-run` {rows:,} rows vs sandbox ({seconds:.0f} s, {seconds / rows * 1e6:.0f} "
                f"µs/row, exit {code})",
                mib,
                "MiB",
                f"<= {TARGET_MB:,.0f} MiB",
                mib <= TARGET_MB,
            )
        for stale in Path(out).glob("*"):
            stale.unlink()
    if not dry_run:
        section.note("dry run against a sandbox skipped (use --full or --dry-run-memory)")
    # flat: the largest file's peak against the reference size's (or the smallest size's)
    ref = sizes.index(FLAT_REFERENCE) if FLAT_REFERENCE in sizes[:-1] else 0
    for name, mibs in peaks.items():
        if len(mibs) > 1 and ref < len(mibs) - 1:
            ratio = mibs[-1] / mibs[ref]
            section.add(
                f"`{name}` peak RSS, {sizes[-1]:,} rows vs {sizes[ref]:,} (flat)",
                ratio,
                "x",
                f"<= {FLAT}x",
                ratio <= FLAT,
            )
    for name, seconds in per_row.items():
        if len(seconds) > 1:  # linear: the time per row of the largest file against the smallest's
            ratio = seconds[-1] / seconds[0]
            section.add(
                f"`{name}` time per row, {sizes[-1]:,} rows vs {sizes[0]:,}",
                ratio,
                "x",
                "<= 1.5x",
                ratio <= 1.5,
            )
    return section
