"""Benchmark 3: reading an XLSX through openpyxl and through calamine.

The workbook (the roster's 11 columns plus a registration date: 12 columns,
text cells as a clerk's file has them) is written once with openpyxl's
write-only mode and cached under bench/out.  Each engine reads it through
``read_source`` (the whole READ stage: cells to text, header, row numbers),
turn about, and the medians are compared.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import OUT, Section, interleaved, median, roster_frame
from importer.read import read_source


def workbook(rows: int) -> Path:
    """A ``rows`` × 12 roster workbook under bench/out, written once and reused."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"roster-{rows}x12.xlsx"
    if path.exists():
        return path
    from openpyxl import Workbook

    frame = roster_frame(rows)
    frame["registered_on"] = "2025-12-02"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Roster")
    sheet.append(list(frame.columns))
    for values in frame.itertuples(index=False):
        sheet.append(list(values))
    tmp = path.with_suffix(".tmp.xlsx")
    book.save(tmp)
    tmp.replace(path)
    return path


def run(rows: int, reps: int) -> Section:
    section = Section(f"3. Reading an XLSX of {rows:,} rows x 12 columns: openpyxl vs calamine")
    path = workbook(rows)
    times = interleaved(
        {engine: (lambda e=engine: read_source(path, engine=e)) for engine in ("openpyxl", "calamine")},
        reps,
    )
    slow, fast = median(times["openpyxl"]), median(times["calamine"])
    section.note(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB; median of {reps}, engines in turn")
    section.add("openpyxl (read-only mode) through read_source", slow, "s")
    section.add("calamine through read_source", fast, "s")
    section.add("calamine speed-up over openpyxl", slow / fast, "x")
    return section
