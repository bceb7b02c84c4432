"""A run's report as the page shows it: plain words, the clerk's own column names, a few tables.

The report object speaks in statuses and entities; a clerk wants "238 people
ready to import, 3 rows with problems, row 8 column 'Gender': 'Femal' is not
one of the registry's Gender values".  This module does that translation and
nothing else, so templates stay free of pandas.

The headline is the sentence a clerk trusts, so it counts only what the
rows' statuses prove: a row "went through" when every record made from it
is on the server as in the file (created, updated or unchanged); a row
partly written is counted apart, never as through; and a run that wrote
nothing never says that anything went through.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from importer.outcome import ENTITIES, ENTITY_PLURALS, STOPPED_ON_REQUEST
from importer.report import EMPTY_ROW_REASON, RunReport
from importer.report import headline as report_headline

#: At most this many problems are listed on the page; the downloads hold them all.
MAX_PROBLEMS_SHOWN = 1000
#: Rows per page of the row table (the downloads hold every row).
ROWS_PER_PAGE = 100

ENTITY_LABELS = {
    **{entity: words[:1].upper() + words[1:] for entity, words in ENTITY_PLURALS.items()},
    "input rows": "Rows in your file",
}
#: One record of each entity, as the row table says what a row holds.
ENTITY_WORDS = {entity.value: info.word for entity, info in ENTITIES.items()}
PARTLY = "partly written"
STATUS_LABELS = {
    "created": "created",
    "updated": "updated",
    "unchanged": "already there, unchanged",
    PARTLY: "partly written",
    "valid": "ready to write",
    "invalid": "has problems",
    "failed": "not written",
    "skipped": "skipped",
}
#: A row "went through": every record made from it is on the server as the file has it.
THROUGH = frozenset({"created", "updated", "unchanged"})
#: Dry run: a row that needs no fixing.
READY = frozenset({"valid", "unchanged"})


def is_partly(status: str) -> bool:
    """Whether a row status means "some of its records were written, not all" (any spelling)."""
    return status.replace("_", " ").replace("-", " ").strip().casefold() in {
        PARTLY,
        "partial",
        "partially written",
    }


def status_label(status: str) -> str:
    """A status in the clerk's words ("valid" is "ready to write")."""
    return STATUS_LABELS[PARTLY] if is_partly(status) else STATUS_LABELS.get(status, status)


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
    written_by_entity: dict[str, dict[str, int]]  # entity label -> {"created": n, "updated": n}
    show_sheet: bool
    headline: str
    tone: str  # "good", "warn", "bad" or "none"
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    #: the report's own count line: "12 new, 3 to update (7 values change, 1 cleared), 223 already there"
    in_numbers: str = ""  # why an import stopped before the end (the Stop button, lost rights...)

    @property
    def no_rows(self) -> bool:
        """The file has a header but no data row: there is nothing to check or import."""
        return self.rows_total == 0

    @property
    def nothing_new(self) -> bool:
        """A dry run in which every record is already on the server as it is in the file."""
        return self.mode == "dry-run" and self.to_write == 0 and self.errors == 0 and self.rows_total > 0

    @property
    def rows_through(self) -> int:
        """Rows whose every record is on the server as in the file (created, updated, unchanged)."""
        return sum(n for s, n in self.rows_by_status.items() if s in THROUGH)

    @property
    def rows_written(self) -> int:
        """Rows this run wrote in full (created or updated): unchanged ones were already there."""
        return sum(n for s, n in self.rows_by_status.items() if s in ("created", "updated"))

    @property
    def rows_partly(self) -> int:
        """Rows of which some records were written and some were not."""
        return sum(n for s, n in self.rows_by_status.items() if is_partly(s))


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
    view = ReportView(
        mode=report.mode,
        statuses=[(s, status_label(s)) for s in statuses],
        counts=count_rows,
        problems=shown,
        problems_total=len(problems),
        errors=report.error_count,
        warnings=report.warning_count,
        rows_total=len(data_rows),
        rows_by_status=by_status,
        to_write=int(records.get("valid", 0)),
        written=int(records.get("created", 0)) + int(records.get("updated", 0)),
        written_by_entity=_written_by_entity(report.records),
        show_sheet=any(p["sheet"] for p in shown),
        headline="",
        tone="good",
        stopped=report.meta.get("stopped"),
        in_numbers=report_headline(report) if report.has_rows else "",
    )
    view.headline, view.tone = _headline(view)
    return view


def _written_by_entity(records: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Records created and updated per entity, in load order: what the server now holds from this run."""
    if not len(records):
        return {}
    wrote = records[records["status"].isin(["created", "updated"])]
    table = pd.crosstab(wrote["entity"], wrote["status"]) if len(wrote) else pd.DataFrame()
    out: dict[str, dict[str, int]] = {}
    for entity in ENTITY_PLURALS:
        if entity in table.index:
            row = table.loc[entity]
            out[ENTITY_PLURALS[entity]] = {s: int(row.get(s, 0)) for s in ("created", "updated")}
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def written_sentence(view: ReportView) -> str:
    """ "Written to the registry: 12 households created, 40 people created, 3 people updated."."""
    parts = [
        f"{n} {what} {status}" for what, by in view.written_by_entity.items() for status, n in by.items() if n
    ]
    return "Written to the registry: " + ", ".join(parts) + "." if parts else ""


def _headline(view: ReportView) -> tuple[str, str]:
    if view.no_rows:
        return (
            "No rows to import: the file has a header row but no data below it. "
            "Nothing was checked and nothing was written.",
            "none",
        )
    if view.mode != "import":
        return _dry_run_headline(view)
    return _import_headline(view)


def _dry_run_headline(view: ReportView) -> tuple[str, str]:
    bad_rows = sum(n for s, n in view.rows_by_status.items() if s not in READY)
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


def _rows_sentence(view: ReportView) -> str:
    """ "150 of 536 rows fully written, 40 partly written (…)": fully written never counts partial rows."""
    text = f"{view.rows_through} of {view.rows_total} rows fully written"
    unchanged = view.rows_by_status.get("unchanged", 0)
    if unchanged:
        text += f" ({unchanged} of them already there, unchanged)"
    if view.rows_partly:
        text += (
            f", {view.rows_partly} partly written (some of their records are in the registry, "
            "not all: see the row table)"
        )
    return text


def _import_headline(view: ReportView) -> tuple[str, str]:
    wrote = written_sentence(view)
    if view.stopped and view.written == 0:
        already = view.rows_through
        there = ""
        if already:
            there = f" {already} of {view.rows_total} rows were already in the registry as in the file."
        why = view.stopped
        if view.stopped == STOPPED_ON_REQUEST:
            why = "you asked it to stop before anything was sent"
        return (
            f"Nothing was written: the import stopped because {why}.{there} "
            "Once that is put right, import the same file again: nothing is duplicated.",
            "bad",
        )
    if view.stopped == STOPPED_ON_REQUEST:
        return (
            f"Import stopped, as you asked: {_rows_sentence(view)}; "
            f"the rest were not written in full. {wrote} "
            "Import the same file again at any time to finish: nothing is duplicated.",
            "warn",
        )
    if view.stopped:
        return (
            f"Import stopped before the end: {view.stopped}. {_rows_sentence(view)}. {wrote} "
            "Once that is put right, import the same file again to finish: nothing is duplicated.",
            "bad",
        )
    not_through = view.rows_total - view.rows_through
    if not_through == 0:
        return f"Import finished: all {_plural(view.rows_total, 'row')} went through. {wrote}".strip(), "good"
    return (
        f"Import finished: {view.rows_through} of {view.rows_total} rows went through"
        + (f", {view.rows_partly} partly written" if view.rows_partly else "")
        + f"; {_plural(not_through - view.rows_partly, 'row')} not written (see below). {wrote}".rstrip(),
        "warn",
    )


# -- the row table -------------------------------------------------------------------------


@dataclass
class RowTable:
    """One page of the per-row table, after the clerk's filters, with what the filters offer."""

    rows: list[dict[str, Any]]
    matching: int  # rows that pass the filters (all pages)
    total: int  # rows in the report
    page: int
    pages: int
    status: str  # "" = any
    problem: str  # "" = any
    statuses: list[tuple[str, str, int]]  # (status, label, rows) for the filter
    problems: list[tuple[str, str, int]]  # (code, label, rows) for the filter
    show_file: bool
    show_sheet: bool


def _problem_codes_by_row(problems: pd.DataFrame) -> pd.DataFrame:
    """(file, sheet, row) -> the row's problem codes, joined: one line per input row with problems."""
    if not len(problems):
        return pd.DataFrame(columns=["file", "sheet", "row", "codes"])
    tied = problems[problems["row"].notna()][["file", "sheet", "row", "code"]].copy()
    tied["sheet"] = tied["sheet"].fillna("").astype(str)
    tied["file"] = tied["file"].fillna("").astype(str)
    tied["code"] = tied["code"].fillna("").astype(str)
    tied = tied.drop_duplicates()
    grouped = tied.groupby(["file", "sheet", "row"], sort=False)["code"].agg(" ".join)
    return grouped.rename("codes").reset_index()


def code_label(code: str) -> str:
    """``unknown_code`` -> ``unknown code``: the filter's words, not an identifier."""
    return code.replace("_", " ")


def row_table(report: RunReport, *, status: str = "", problem: str = "", page: int = 1) -> RowTable:
    """Every input row (skipped ones too) with its status, reasons and problem codes, filtered and paged.

    Filters come from the page's query string, so a filtered view is a link a
    clerk can share or reload; a big file is shown a page at a time.
    """
    rows = report.rows.copy()
    rows["sheet"] = rows["sheet"].fillna("").astype(str)
    rows["file"] = rows["file"].fillna("").astype(str)
    codes = _problem_codes_by_row(report.problems)
    if len(codes):
        rows = rows.merge(codes, on=["file", "sheet", "row"], how="left", sort=False)
    else:
        rows["codes"] = ""
    rows["codes"] = rows["codes"].fillna("").astype(str)
    status_counts = rows["status"].value_counts()
    statuses = [(str(s), status_label(str(s)), int(n)) for s, n in status_counts.items()]
    code_counts = rows["codes"].str.split().explode().dropna()
    code_counts = code_counts[code_counts != ""].value_counts()
    problems = [(str(c), code_label(str(c)), int(n)) for c, n in code_counts.items()]
    chosen = rows
    if status:
        chosen = chosen[chosen["status"] == status]
    if problem:
        chosen = chosen[chosen["codes"].str.contains(rf"(?:^| ){re.escape(problem)}(?: |$)", regex=True)]
    pages = max(1, math.ceil(len(chosen) / ROWS_PER_PAGE))
    page = min(max(1, page), pages)
    window = chosen.iloc[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
    shown = [
        {
            "file": _text(r.get("file")),
            "sheet": _text(r.get("sheet")),
            "row": _int(r.get("row")),
            "status": _text(r.get("status")),
            "label": status_label(_text(r.get("status"))),
            "entities": ", ".join(ENTITY_WORDS.get(e, e) for e in _text(r.get("entities")).split("; ") if e),
            "reasons": _text(r.get("reasons")),
            "changes": _text(r.get("changes")),
            "codes": [code_label(c) for c in _text(r.get("codes")).split()],
        }
        for r in window.to_dict("records")
    ]
    return RowTable(
        rows=shown,
        matching=len(chosen),
        total=len(rows),
        page=page,
        pages=pages,
        status=status,
        problem=problem,
        statuses=statuses,
        problems=problems,
        show_file=rows["file"].nunique() > 1,
        show_sheet=bool((rows["sheet"] != "").any()),
    )
