"""A run's report as the page shows it: plain words, the clerk's own column names, a few tables.

The report object speaks in statuses and entities; a clerk wants "238 people
ready to import, 3 rows with problems, row 8 column 'Gender': 'Femal' is not
a Gender the registry knows".  This module does that translation and
nothing else, so templates stay free of pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from importer.outcome import ENTITY_PLURALS, STOPPED_ON_REQUEST
from importer.report import EMPTY_ROW_REASON, RunReport

#: At most this many problems are listed on the page; the downloads hold them all.
MAX_PROBLEMS_SHOWN = 1000

ENTITY_LABELS = {
    **{entity: words[:1].upper() + words[1:] for entity, words in ENTITY_PLURALS.items()},
    "input rows": "Rows in your file",
}
STATUS_LABELS = {
    "created": "created",
    "updated": "updated",
    "unchanged": "already there, unchanged",
    "valid": "ready to write",
    "invalid": "has problems",
    "failed": "not written",
    "skipped": "skipped",
}
GOOD = {"created", "updated", "unchanged", "valid"}


@dataclass
class ReportView:
    """Everything the result part of the job page needs, ready to render."""

    mode: str
    statuses: list[tuple[str, str]]  # (status, label) in the counts table's column order
    counts: list[dict[str, Any]]  # {"label", "values": {status: n}, "total"}
    problems: list[dict[str, Any]]
    problems_total: int
    errors: int
    warnings: int
    rows_total: int
    rows_by_status: dict[str, int]
    to_write: int  # dry run: records that an import would send
    written: int  # import: records created or updated
    show_sheet: bool
    headline: str
    tone: str  # "good", "warn" or "bad"
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None  # why an import stopped before the end (the Stop button, lost rights...)

    @property
    def nothing_new(self) -> bool:
        """A dry run in which every record is already on the server as it is in the file."""
        return self.mode == "dry-run" and self.to_write == 0 and self.errors == 0 and self.rows_total > 0


def _int(value: Any) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if isinstance(value, float) and math.isnan(value):
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def report_view(report: RunReport) -> ReportView:
    """Translate a :class:`RunReport` into a :class:`ReportView`."""
    counts = report.counts()
    statuses = [c for c in counts.columns if c != "total"]
    count_rows = [
        {
            "label": ENTITY_LABELS.get(str(entity), str(entity)),
            "values": {s: int(row[s]) for s in statuses},
            "total": int(row["total"]),
            "is_rows": entity == "input rows",
        }
        for entity, row in counts.iterrows()
    ]
    problems = report.problems
    if len(problems):
        problems = problems.sort_values(["severity", "sheet", "row"], na_position="first", kind="stable")
    shown = [
        {
            "sheet": _text(p.get("sheet")),
            "row": _int(p.get("row")),
            "column": _text(p.get("column")),
            "value": _text(p.get("value")),
            "message": _text(p.get("message")),
            "suggestion": _text(p.get("suggestion")),
            "severity": _text(p.get("severity")) or "error",
        }
        for p in problems.head(MAX_PROBLEMS_SHOWN).to_dict("records")
    ]
    records = report.records["status"].value_counts() if len(report.records) else pd.Series(dtype=int)
    rows = report.rows
    data_rows = rows[rows["reasons"] != EMPTY_ROW_REASON] if len(rows) else rows
    by_status = {str(k): int(v) for k, v in data_rows["status"].value_counts().items()} if len(rows) else {}
    to_write = int(records.get("valid", 0))
    written = int(records.get("created", 0)) + int(records.get("updated", 0))
    view = ReportView(
        mode=report.mode,
        statuses=[(s, STATUS_LABELS.get(s, s)) for s in statuses],
        counts=count_rows,
        problems=shown,
        problems_total=len(problems),
        errors=report.error_count,
        warnings=report.warning_count,
        rows_total=len(data_rows),
        rows_by_status=by_status,
        to_write=to_write,
        written=written,
        show_sheet=any(p["sheet"] for p in shown),
        headline="",
        tone="good",
        stopped=report.meta.get("stopped"),
    )
    view.headline, view.tone = _headline(view)
    return view


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _headline(view: ReportView) -> tuple[str, str]:
    bad_rows = sum(n for s, n in view.rows_by_status.items() if s not in GOOD)
    if view.mode == "dry-run":
        if view.nothing_new:
            return (
                f"Nothing new would be written: all {_plural(view.rows_total, 'row')} of this file "
                "are already in the registry, unchanged.",
                "good",
            )
        if bad_rows == 0:
            ready_all = f"All {_plural(view.rows_total, 'row')} are ready to import."
            return f"{ready_all} Nothing has been written yet.", "good"
        ready = view.rows_total - bad_rows
        return (
            f"{_plural(bad_rows, 'row')} of {view.rows_total} have problems "
            f"({_plural(view.errors, 'error')}); "
            f"{ready} are ready. Nothing has been written yet.",
            "bad" if ready == 0 else "warn",
        )
    through = f"{view.rows_total - bad_rows} of {view.rows_total} rows went through"
    if view.stopped == STOPPED_ON_REQUEST:
        return (
            f"Import stopped, as you asked: {through}; the rest were not sent. "
            "Import the same file again at any time to finish: nothing is duplicated.",
            "warn",
        )
    if view.stopped:
        return (
            f"Import stopped before the end: {view.stopped}. {through}. Once that is put right, "
            "import the same file again to finish: nothing is duplicated.",
            "bad",
        )
    if bad_rows == 0:
        return f"Import finished: all {_plural(view.rows_total, 'row')} went through.", "good"
    return (
        f"Import finished: {view.rows_total - bad_rows} of {view.rows_total} rows went through; "
        f"{_plural(bad_rows, 'row')} did not (see below).",
        "warn",
    )
