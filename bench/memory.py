"""Benchmark 4: peak memory of a dry run of a 1,000,000-row CSV roster.

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
import time
from pathlib import Path

from bench.common import OUT, ROOT, ROSTER_MAPPING, Section, roster_csv, sandbox_process

TARGET_MB = 2048.0


def peak_rss(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run ``cmd``; (peak RSS in MiB, wall seconds, exit code) of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or os.environ.copy()
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        if proc.returncode not in (0, 1) and err:
            print(f"    (child said: {err[-300:]})")
    return usage.ru_maxrss / 1024, seconds, proc.returncode


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "importer.cli", *args]


def run(rows: int, dry_run: bool) -> Section:
    section = Section(f"4. Memory: peak RSS of a {rows:,}-row CSV roster")
    csv = roster_csv(rows)
    out = OUT / "reports-memory"
    section.note(f"input {csv.name}: {csv.stat().st_size / 1e6:.0f} MB; peak RSS of the child process alone")
    validate = _cli("validate", str(csv), "--mapping", str(ROSTER_MAPPING), "--out", str(out), "--quiet")
    mib, seconds, code = peak_rss(validate)
    section.add(
        f"`spp-import validate` offline ({seconds:.0f} s, exit {code})",
        mib,
        "MiB",
        f"<= {TARGET_MB:,.0f} MiB",
        mib <= TARGET_MB,
    )
    if dry_run:
        with sandbox_process("memory") as server:
            env = os.environ.copy()
            env["BENCH_SANDBOX_SECRET"] = "admin"
            cmd = _cli(
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
            mib, seconds, code = peak_rss(cmd, env)
        section.add(
            f"`spp-import import --dry-run` vs sandbox ({seconds:.0f} s, exit {code})",
            mib,
            "MiB",
            f"<= {TARGET_MB:,.0f} MiB",
            mib <= TARGET_MB,
        )
    else:
        section.note("dry run against a sandbox skipped (use --full or --dry-run-memory)")
    for stale in Path(out).glob("*"):
        stale.unlink()
    return section
