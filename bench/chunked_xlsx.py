"""Benchmark 10: what the XLSX report costs a chunked run: peak RSS and seconds, with and without it.

A chunked run gathers what its workbook needs from each chunk's report as it
finishes and writes the workbook at the end, reading the input once more for
the copies (importer/report_xlsx_stream.py).  Each size runs
``spp-import validate`` twice in child processes, with the workbook and with
``--no-xlsx``, side by side, and prints the ratio of their peaks (the
workbook must not raise the run's peak) and the seconds it adds:

- the roster as generated (a few dozen rows need attention: the copy holds
  only those);
- the same roster with every date of birth unreadable (every row needs
  attention: the worst case; the copy holds them all, with comments on the
  first ``report_xlsx.MAX_COMMENTS`` marked cells only).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.common import OUT, Section, roster_csv
from bench.memory import peak_rss, validate_command

TARGET_RATIO = 1.05  # the workbook may add at most 5 % to the run's peak


def _all_invalid(rows: int) -> Path:
    """The generated roster with every date of birth unreadable (every row invalid), made once."""
    path = OUT / f"roster-{rows}-s7-bad-dates.csv"
    if not path.exists():
        frame = pd.read_csv(roster_csv(rows), dtype=str, keep_default_na=False)
        frame["date_of_birth"] = "someday"
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    return path


def run(rows: int, invalid_rows: int) -> Section:
    section = Section(f"10. Chunked XLSX report: peak RSS and seconds with and without it ({rows:,} rows)")
    section.note("spp-import validate, chunked (--chunk-rows 50,000), each run a child process (os.wait4)")
    out = OUT / "reports-xlsx"
    for label, csv, n in (
        ("roster", roster_csv(rows), rows),
        ("every row invalid", _all_invalid(invalid_rows), invalid_rows),
    ):
        measured: dict[str, tuple[float, float]] = {}
        for name, extra in (("without", ["--no-xlsx"]), ("with", [])):
            child = peak_rss([*validate_command(csv, out, 50_000), *extra])
            mib, wall, cpu, code = child.mib, child.seconds, child.cpu, child.code
            measured[name] = (mib, cpu)
            section.note(
                f"{label}, {n:,} rows, {name} the workbook: {mib:,.0f} MiB, {wall:.0f} s ({cpu:.0f} s CPU), "
                f"exit {code}"
            )
            for stale in out.glob("*"):
                stale.unlink()
        ratio = measured["with"][0] / measured["without"][0]
        section.add(
            f"{label}, {n:,} rows: peak with / without the workbook",
            ratio,
            "x",
            f"<= {TARGET_RATIO}x",
            ratio <= TARGET_RATIO,
        )
        section.add(
            f"{label}, {n:,} rows: CPU seconds the workbook adds",
            measured["with"][1] - measured["without"][1],
            "s",
        )
    return section
