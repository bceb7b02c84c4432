"""The clerk's workbook: their own sheets back, with every bad cell marked and explained.

A clerk fixes a spreadsheet fastest when the errors sit on the cells they
typed.  So besides a *Summary* (counts, run details, legend) and a filterable
*Errors* sheet, the workbook holds a copy of every input sheet with a leading
*Status* column; each cell a problem points at is filled (light red for
errors, yellow for warnings) and carries a comment with the reason(s).
Problems that name a row but no column land on that row's Status cell.

openpyxl's write-only mode streams rows to disk, but it still costs about
0.2 ms a row: a clerk's upload (up to ``max_copy_rows`` rows per sheet) is
copied whole; a migration's sheet gets only the rows that need attention
(every row is in the CSV report anyway), and the Summary says so.  Every text cell
goes through :func:`importer.cells.xlsx_text` (formula-injection neutralised,
stored as a string, XML-legal).
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from importer.cells import xlsx_text, xlsx_text_series
from importer.report import (
    EMPTY_ROW_REASON,
    ERROR_REPORT_COLUMNS,
    MODE_TITLES,
    NO_ROWS,
    OK_STATUSES,
    RunReport,
    SourceLike,
    errors_table,
    headline,
    source_key,
)

__all__ = [
    "CHANGED_FILL",
    "DEFAULT_MAX_COPY_ROWS",
    "ERROR_FILL",
    "MAX_COMMENTS",
    "WARNING_FILL",
    "CopyNote",
    "DraftStopped",
    "XlsxDraft",
    "append_copy",
    "append_errors",
    "cell_marks",
    "changed_cells",
    "finish_copy",
    "finish_errors",
    "needing_attention",
    "sheet_names",
    "source_label",
    "start_copy",
    "start_errors",
    "write_summary",
    "write_xlsx",
]

#: Above this many rows in one input sheet, only rows needing attention are copied
#: (a full copy of a 20,000-row sheet took 4 s here, as long as importing it).
DEFAULT_MAX_COPY_ROWS = 10_000
#: Excel's hard limit on rows per sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Longest comment text we attach; a comment is a hint, the Errors sheet has everything.
MAX_COMMENT_CHARS = 2_000
#: A sheet too long to copy whole gets comments on its first this many marked cells only (the rest
#: are filled, their reasons in the Errors sheet and the CSV report): openpyxl keeps every comment
#: in memory until the workbook is saved, about 5 KB each (200,000 comments: 1 GB more at the peak).
MAX_COMMENTS = 10_000

ERROR_FILL = PatternFill(fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
WARNING_FILL = PatternFill(fill_type="solid", start_color="FFFFEB9C", end_color="FFFFEB9C")
#: A value an update changes (or, in a dry run, would change): its comment holds the server's old value.
CHANGED_FILL = PatternFill(fill_type="solid", start_color="FFBDD7EE", end_color="FFBDD7EE")
OK_FILL = PatternFill(fill_type="solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
COMMENT_AUTHOR = "spp-import"

ERRORS_SHEET_COLUMNS = ERROR_REPORT_COLUMNS[: ERROR_REPORT_COLUMNS.index("suggestion") + 1]
_RESERVED_TITLES = ("Summary", "Errors")
_INVALID_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")

STATUS_LEGEND: list[tuple[str, str]] = [
    ("created", "a new record was written to the registry"),
    ("updated", "an existing record (same external id) was changed"),
    ("unchanged", "already in the registry exactly as in the file: nothing was sent"),
    ("valid", "dry run / validation: would be written"),
    ("invalid", "dry run / validation: would be refused; see the reason"),
    ("failed", "refused (by the checks or by the server); nothing from this row was kept"),
    ("skipped", "not sent because something it depends on failed, or the row was empty"),
]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def sheet_names(sources: Sequence[SourceLike]) -> list[str]:
    """The copy-sheet title for each source: its sheet name (or file stem), ≤31 chars, unique.

    Excel forbids ``[]:*?/\\`` in titles and compares them case-insensitively;
    ``Summary`` and ``Errors`` are taken by the report itself.
    """
    taken = {t.lower() for t in _RESERVED_TITLES}
    names: list[str] = []
    for source in sources:
        base = source.sheet or Path(source.path).stem
        base = _INVALID_TITLE_CHARS.sub("_", base).strip("' ") or "Sheet"
        title = base[:31]
        n = 2
        while title.lower() in taken:
            suffix = f" ({n})"
            title = base[: 31 - len(suffix)] + suffix
            n += 1
        taken.add(title.lower())
        names.append(title)
    return names


def _text_cell(ws: WriteOnlyWorksheet, value: str, **style: Any) -> WriteOnlyCell:
    """A cell that is certainly stored as text (never a formula), with optional style."""
    cell = WriteOnlyCell(ws, value=xlsx_text(value))
    cell.data_type = "s"
    for name, attr in style.items():
        setattr(cell, name, attr)
    return cell


def _header(ws: WriteOnlyWorksheet, titles: Sequence[str]) -> list[WriteOnlyCell]:
    return [_text_cell(ws, t, font=HEADER_FONT) for t in titles]


def _comment(text: str) -> Comment:
    """A comment sized so its text is readable without resizing."""
    if len(text) > MAX_COMMENT_CHARS:
        text = text[: MAX_COMMENT_CHARS - 1] + "…"
    comment = Comment(xlsx_text(text), COMMENT_AUTHOR)
    comment.width = 320
    comment.height = min(60 + 15 * (len(text) // 45 + text.count("\n")), 400)
    return comment


def _cell_value(value: Any) -> Any:
    """A non-text value for the Summary (ints stay numbers); text is neutralised."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (dict, list, tuple)):
        return xlsx_text(json.dumps(value, default=str, ensure_ascii=False))
    return xlsx_text(str(value))


def _flatten(meta: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested run meta as ``a.b`` / ``files[0].sha256`` keys, for a two-column table."""
    for key, value in meta.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, name + ".")
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                yield from _flatten(item, f"{name}[{i}].")
        else:
            yield name, value


# --------------------------------------------------------------------------------------------
# Planning the copy of one input sheet
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyNote:
    """What the Summary says of one copied input sheet: how many of its rows the copy holds, and why."""

    title: str
    source_label: str
    total_rows: int
    copied: int
    truncated: bool  # over max_copy_rows: only the rows needing attention are copied
    clipped: bool  # more rows than Excel holds: cut at EXCEL_MAX_ROWS
    stopped: bool = False  # a chunked run that stopped: only the rows it reached are in the reports
    uncommented: int = 0  # marked cells past MAX_COMMENTS: filled, with no comment


class _SheetPlan:
    """What to write for one source: its rows' statuses, the marks on cells, which rows to copy."""

    def __init__(
        self,
        source: SourceLike,
        title: str,
        rows: pd.DataFrame,
        problems: pd.DataFrame,
        max_copy_rows: int,
        changes: pd.DataFrame | None = None,
    ) -> None:
        self.source = source
        self.title = title
        frame = source.frame
        self.columns = [str(c) for c in frame.columns]
        self.row_numbers = np.asarray(frame.index, dtype=np.int64)
        self.status = rows["status"].to_numpy(dtype=object)
        self.reasons = rows["reasons"].to_numpy(dtype=object)
        # (position, column index or -1 for Status) -> (is_error, text)
        self.marks = cell_marks(problems, self.row_numbers, self.columns, self.status, self.reasons)
        # (position, column index) -> the server's old value, for cells an update changes
        self.changed = changed_cells(changes, self.row_numbers, self.columns)
        self.total_rows = len(frame)
        self.truncated = self.total_rows > max_copy_rows
        if self.truncated:
            self.positions = needing_attention(self.status, self.reasons, self.marks, self.changed)
        else:
            self.positions = np.arange(self.total_rows)
        self.clipped = len(self.positions) > EXCEL_MAX_ROWS - 1
        if self.clipped:
            self.positions = self.positions[: EXCEL_MAX_ROWS - 1]


Marks = dict[tuple[int, int], tuple[bool, str]]


def cell_marks(
    problems: pd.DataFrame,
    row_numbers: np.ndarray,
    columns: Sequence[str],
    status: np.ndarray,
    reasons: np.ndarray,
) -> Marks:
    """(position, column index or -1 for Status) -> (is_error, text) for rows ``row_numbers`` of a sheet.

    ``problems``: at least row, column, severity, message, suggestion; those of rows not among
    ``row_numbers`` are ignored, so a chunked run's report marks a sheet block by block.
    """
    marks: Marks = {}
    if len(problems):
        position = pd.Index(row_numbers).get_indexer(problems["row"].astype("int64").to_numpy())
        column = _column_indexes(columns, problems["column"])
        is_error = (problems["severity"] == "error").to_numpy()
        message = problems["message"].where(problems["message"].notna(), "").map(str)
        suggestion = problems["suggestion"]
        has_hint = suggestion.notna() & (suggestion.astype("object").map(str) != "")
        text = message.where(~has_hint, message + " (" + suggestion.astype("object").map(str) + ")")
        text = text.where(is_error, "warning: " + text)
        # A column we cannot find in the sheet: say which one, on the Status cell.
        named = problems["column"].astype("object").map(lambda c: isinstance(c, str) and c != "")
        lost = named.to_numpy() & (column < 0)
        if lost.any():
            label = "column '" + problems["column"].astype("object").map(str) + "': "
            text = text.where(~lost, label + text)
        found = position >= 0
        grouped = (
            pd.DataFrame(
                {
                    "p": position[found],
                    "c": column[found],
                    "e": is_error[found],
                    "t": text.to_numpy(dtype=object)[found],
                }
            )
            .drop_duplicates()
            .groupby(["p", "c"], sort=False)
            .agg(e=("e", "max"), t=("t", "\n".join))
        )
        for (p, c), e, t in zip(grouped.index, grouped["e"], grouped["t"], strict=True):
            marks[(int(p), int(c))] = (bool(e), t)
    # Bad rows with nothing pointing at them still get their reason on the Status cell.
    bad = ~pd.Series(status).isin(OK_STATUSES).to_numpy() & (reasons != "")
    bad &= reasons != EMPTY_ROW_REASON
    for p in np.flatnonzero(bad):
        key = (int(p), -1)
        if key not in marks:
            is_error = status[p] in ("failed", "invalid")
            marks[key] = (is_error, str(reasons[p]).replace("; ", "\n"))
    return marks


def changed_cells(
    changes: pd.DataFrame | None, row_numbers: np.ndarray, columns: Sequence[str]
) -> dict[tuple[int, int], str]:
    """Cells an update changes, with the comment that says what the server held before."""
    if changes is None or not len(changes):
        return {}
    position = pd.Index(row_numbers).get_indexer(changes["row"].astype("int64").to_numpy())
    column = _column_indexes(columns, changes["column"])
    out: dict[tuple[int, int], str] = {}
    for p, c, before, cleared in zip(
        position, column, changes["before"], changes["cleared"].astype(bool), strict=True
    ):
        if p < 0 or c < 0:
            continue
        was = f"'{before}'" if before else "(empty)"
        out[(int(p), int(c))] = (
            f"cleared: the server held {was}" if cleared else f"changed: the server held {was}"
        )
    return out


def needing_attention(
    status: np.ndarray, reasons: np.ndarray, marks: Marks, changed: Mapping[tuple[int, int], str]
) -> np.ndarray:
    """Positions of the rows a sheet too long to copy whole still shows: not OK, or a cell marked."""
    attention = ~pd.Series(status).isin(OK_STATUSES).to_numpy() & (reasons != EMPTY_ROW_REASON)
    marked = np.zeros(len(status), dtype=bool)
    for cells in (marks, changed):
        if cells:
            marked[np.fromiter((p for p, _ in cells), dtype=np.int64)] = True
    return np.flatnonzero(attention | marked)


def _column_indexes(columns: Sequence[str], names: pd.Series) -> np.ndarray:
    """Header text -> column index in the source (exact, then case/space-insensitive); -1 if none."""
    exact = {name: i for i, name in enumerate(columns)}
    loose: dict[str, int] = {}
    for i, name in enumerate(columns):
        loose.setdefault(name.strip().casefold(), i)
    out = np.full(len(names), -1, dtype=np.int64)
    for j, name in enumerate(names.to_numpy(dtype=object)):
        if isinstance(name, str) and name:
            out[j] = exact.get(name, loose.get(name.strip().casefold(), -1))
    return out


def _plans(report: RunReport, sources: Sequence[SourceLike], max_copy_rows: int) -> list[_SheetPlan]:
    """One plan per source, pairing it with its slice of the rows table and its problems."""
    titles = sheet_names(sources)
    problems = report.problems
    with_row = problems[problems["row"].notna()] if len(problems) else problems
    by_source = with_row.groupby(["file", "sheet"], sort=False).indices if len(with_row) else {}
    plans = []
    offset = 0
    seen: set[tuple[str, str]] = set()
    for source, title in zip(sources, titles, strict=True):
        key = source_key(source)
        n = len(source.frame)
        rows = report.rows.iloc[offset : offset + n]
        expected = np.asarray(source.frame.index, dtype=np.int64)
        if (
            len(rows) != n
            or not (rows["row"].to_numpy() == expected).all()
            or not ((rows["file"] == key[0]) & (rows["sheet"] == key[1])).all()
        ):
            raise ValueError(
                f"the report was not built from these sources (at {key[0]} {key[1]!r}); "
                "pass the same sources, in the same order, to build_report and write_xlsx"
            )
        offset += n
        # A (file, sheet) seen twice only gets its problems once, on the first copy.
        positions = by_source.get(key) if key not in seen else None
        seen.add(key)
        source_problems = with_row.iloc[positions] if positions is not None else with_row.iloc[0:0]
        changes = report.changes
        mine = changes[(changes["file"] == key[0]) & (changes["sheet"] == key[1])] if len(changes) else None
        plans.append(_SheetPlan(source, title, rows, source_problems, max_copy_rows, mine))
    return plans


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_xlsx(
    report: RunReport,
    sources: Sequence[SourceLike],
    path: str | Path,
    *,
    max_copy_rows: int | None = None,
    drafts: Sequence[XlsxDraft] = (),
) -> Path:
    """Write the Summary, Errors and per-input-sheet copies to ``path``; return ``path``.

    ``sources`` must be the ones the report was built from, in the same order;
    ``max_copy_rows``: :data:`DEFAULT_MAX_COPY_ROWS` unless given.  ``drafts``: the
    Errors sheet and copies written ahead (:class:`XlsxDraft`); the first that this
    report gives exactly is kept, the others dropped.
    """
    if max_copy_rows is None:
        max_copy_rows = DEFAULT_MAX_COPY_ROWS
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plans = _plans(report, sources, max_copy_rows)
    errors = _errors_lines(report)
    kept = next((d for d in drafts if d.fits(plans, errors, max_copy_rows)), None)
    for draft in drafts:
        if draft is not kept:
            draft.drop()
    body = kept.body if kept is not None else _write_body(plans, errors)
    write_summary(body.summary, report, body.notes, max_copy_rows)
    body.book.save(path)
    return path


@dataclass
class _Body:
    """A write-only workbook with its Errors sheet and copies written, and its Summary sheet still empty."""

    book: Workbook
    summary: WriteOnlyWorksheet
    notes: list[CopyNote]


def _write_body(
    plans: Sequence[_SheetPlan], errors: pd.DataFrame, stop: threading.Event | None = None
) -> _Body:
    """The Errors sheet and copies; ``stop`` set: :class:`DraftStopped` between blocks of rows."""
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")  # written last: it says what the copies hold
    try:
        _write_errors(book.create_sheet("Errors"), errors, stop)
        notes = [_write_copy(book.create_sheet(plan.title), plan, stop) for plan in plans]
    except DraftStopped:
        book.save(io.BytesIO())  # closes each sheet's stream and removes its temporary file
        raise
    return _Body(book, summary, notes)


#: Rows appended between two looks at a draft's ``stop`` (docs/architecture.md §9)
BLOCK_ROWS = 2_000


class DraftStopped(Exception):
    """The run that wanted this draft ended without it (a second Ctrl-C); no sheet is left half-written."""


def _go_on(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise DraftStopped


@dataclass
class XlsxDraft:
    """The workbook's Errors sheet and copies, written before the run ends from the report it expects.

    Copying a clerk's sheet cell by cell is most of the time an import spends
    after its last call.  An import knows, before its first write, the report it
    will have if the server writes every row as planned; it drafts these sheets
    from that report on a thread while its rows are in flight
    (docs/architecture.md §9).  :func:`write_xlsx` keeps the draft only if the
    real report gives the very same sheets (statuses, marks, changes, error
    lines); otherwise it drops it and writes afresh.  So the workbook never says
    anything the real report does not.
    """

    plans: list[_SheetPlan]
    errors: pd.DataFrame
    max_copy_rows: int
    body: _Body

    @classmethod
    def write(
        cls,
        report: RunReport,
        sources: Sequence[SourceLike],
        max_copy_rows: int | None = None,
        stop: threading.Event | None = None,
    ) -> XlsxDraft:
        """Write the Errors sheet and copies of ``report`` (the one expected) into temporary files.

        ``stop`` set: raise :class:`DraftStopped` (between blocks of rows), the files removed.
        """
        _go_on(stop)
        limit = DEFAULT_MAX_COPY_ROWS if max_copy_rows is None else max_copy_rows
        plans, errors = _plans(report, sources, limit), _errors_lines(report)
        return cls(plans, errors, limit, _write_body(plans, errors, stop))

    def fits(self, plans: Sequence[_SheetPlan], errors: pd.DataFrame, max_copy_rows: int) -> bool:
        """Whether the real report's sheets are exactly the ones drafted."""
        return (
            max_copy_rows == self.max_copy_rows
            and len(plans) == len(self.plans)
            and all(_same_copy(a, b) for a, b in zip(plans, self.plans, strict=True))
            and errors.equals(self.errors)
        )

    def drop(self) -> None:
        """Let go of the draft's temporary files (saving is what removes them; to memory, then discarded)."""
        self.body.book.save(io.BytesIO())


def _same_copy(a: _SheetPlan, b: _SheetPlan) -> bool:
    """Whether two copy plans append the very same rows: same sheet, rows, statuses, marks and changes."""
    return (
        a.source is b.source
        and a.title == b.title
        and (a.truncated, a.clipped) == (b.truncated, b.clipped)
        and np.array_equal(a.positions, b.positions)
        and np.array_equal(a.status, b.status)
        and a.marks == b.marks
        and a.changed == b.changed
    )


def write_summary(
    ws: WriteOnlyWorksheet, report: RunReport, notes: Sequence[CopyNote], max_copy_rows: int
) -> None:
    """The Summary sheet: the headline, counts by entity, what each sheet holds, run details, legend."""
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 70
    for letter in "CDEFGHI":
        ws.column_dimensions[letter].width = 12
    ws.append([_text_cell(ws, "spp-import report", font=TITLE_FONT)])
    ws.append(["Mode", _cell_value(MODE_TITLES.get(report.mode, report.mode))])
    ws.append(["Rows", _cell_value(headline(report))])
    good = report.exit_code() == 0
    result = "everything went through" if good else "some rows need attention (see Errors)"
    if not report.has_rows:
        result = NO_ROWS
    ws.append(["Result", _text_cell(ws, result, fill=OK_FILL if good else ERROR_FILL)])
    ws.append(["Problems", f"{report.error_count} error(s), {report.warning_count} warning(s)"])
    ws.append([])

    counts = report.counts()
    ws.append(_header(ws, ["Records by entity", *map(str, counts.columns)]))
    for entity, values in counts.iterrows():
        ws.append([_cell_value(entity), *(int(v) for v in values)])
    ws.append([])

    ws.append(_header(ws, ["Sheets in this workbook", "What they hold"]))
    ws.append(["Errors", "every problem found: one line each, filter by any column"])
    for note in notes:
        label = f"copy of {note.source_label} with a Status column"
        if note.truncated:
            label += (
                f"; ONLY the {note.copied:,} row(s) needing attention are copied, out of "
                f"{note.total_rows:,} (sheets over {max_copy_rows:,} rows are not copied whole)"
            )
        else:
            label += f"; all {note.total_rows:,} row(s)"
        if note.clipped:
            label += f"; cut at Excel's limit of {EXCEL_MAX_ROWS - 1:,} rows (see the CSV report)"
        if note.uncommented:
            label += (
                f"; comments on the first {MAX_COMMENTS:,} marked cells only ({note.uncommented:,} more "
                "are filled without one: see the Errors sheet and the CSV report)"
            )
        if note.stopped:
            label += "; the run stopped: the rows it did not reach are in neither report"
        ws.append([_cell_value(note.title), _cell_value(label)])
    ws.append([])

    ws.append(_header(ws, ["Run details", ""]))
    for key, value in _flatten(report.meta):
        ws.append([_cell_value(key), _cell_value(value)])
    ws.append([])

    ws.append(_header(ws, ["Legend", ""]))
    ws.append([_text_cell(ws, "light red cell", fill=ERROR_FILL), "an error: hover for the reason"])
    ws.append([_text_cell(ws, "yellow cell", fill=WARNING_FILL), "a warning: written, but check it"])
    ws.append(
        [
            _text_cell(ws, "blue cell", fill=CHANGED_FILL),
            "a value this run changes on the server (a dry run: would change): hover for the old value",
        ]
    )
    ws.append(["Status column", "what happened to the row; a marked Status cell explains why"])
    ws.append(["Row column", "the row number in your original file (as Excel shows it)"])
    for status, meaning in STATUS_LEGEND:
        ws.append([status, meaning])


def source_label(source: SourceLike) -> str:
    label = getattr(source, "label", None)
    if isinstance(label, str) and label:
        return label
    file, sheet = source_key(source)
    return f"{file} [{sheet}]" if sheet else file


ERRORS_WIDTHS = (22, 16, 8, 18, 22, 9, 22, 60, 40)


def _errors_lines(report: RunReport) -> pd.DataFrame:
    """The Errors sheet's lines: the errors CSV's, less the columns only a machine needs."""
    return errors_table(report)[ERRORS_SHEET_COLUMNS]


def _write_errors(ws: WriteOnlyWorksheet, table: pd.DataFrame, stop: threading.Event | None = None) -> None:
    limit = EXCEL_MAX_ROWS - 2  # header, and one line to say the list was cut
    start_errors(ws)
    for start in range(0, min(len(table), limit), BLOCK_ROWS):
        _go_on(stop)
        append_errors(ws, table.iloc[start : min(start + BLOCK_ROWS, limit)])
    finish_errors(ws, min(len(table), limit), len(table))


def start_errors(ws: WriteOnlyWorksheet) -> None:
    """The Errors sheet's widths, frozen header and header line (before any line is appended)."""
    for i, width in enumerate(ERRORS_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append(_header(ws, ERRORS_SHEET_COLUMNS))


def append_errors(ws: WriteOnlyWorksheet, table: pd.DataFrame) -> None:
    """Append error lines (ERRORS_SHEET_COLUMNS; ``row`` a nullable integer), severity filled."""
    text = {
        c: xlsx_text_series(table[c]).replace("", None).to_numpy(dtype=object)
        for c in ERRORS_SHEET_COLUMNS
        if c != "row"
    }
    rows = table["row"].astype("object").where(table["row"].notna(), None).to_numpy(dtype=object)
    is_error = (table["severity"] == "error").to_numpy()
    severity_col = ERRORS_SHEET_COLUMNS.index("severity")
    for i in range(len(table)):
        line: list[Any] = [text[c][i] if c != "row" else rows[i] for c in ERRORS_SHEET_COLUMNS]
        if line[2] is not None:
            line[2] = int(line[2])
        line[severity_col] = _text_cell(
            ws, line[severity_col] or "", fill=ERROR_FILL if is_error[i] else WARNING_FILL
        )
        ws.append(line)


def finish_errors(ws: WriteOnlyWorksheet, written: int, total: int) -> None:
    """Say when the list was cut at Excel's limit (the errors CSV has every line); set the filter."""
    if total > written:
        ws.append([f"… cut at Excel's row limit; the errors CSV has all {total:,}"])
    ws.auto_filter.ref = f"A1:{get_column_letter(len(ERRORS_SHEET_COLUMNS))}{written + 1}"


def _write_copy(ws: WriteOnlyWorksheet, plan: _SheetPlan, stop: threading.Event | None = None) -> CopyNote:
    start_copy(ws, plan.columns)
    budget, withheld = (MAX_COMMENTS if plan.truncated else None), 0
    for start in range(0, len(plan.positions), BLOCK_ROWS):
        _go_on(stop)
        given, held = append_copy(
            ws,
            plan.source.frame,
            plan.positions[start : start + BLOCK_ROWS],
            plan.status,
            plan.row_numbers,
            plan.marks,
            plan.changed,
            budget,
        )
        withheld += held
        budget = None if budget is None else budget - given
    finish_copy(ws, len(plan.columns), len(plan.positions))
    copied = len(plan.positions)
    label = source_label(plan.source)
    return CopyNote(
        plan.title, label, plan.total_rows, copied, plan.truncated, plan.clipped, uncommented=withheld
    )


def start_copy(ws: WriteOnlyWorksheet, columns: Sequence[str]) -> None:
    """A copy sheet's frozen panes, widths and header line: Status, Row, then the sheet's own columns."""
    ws.freeze_panes = "C2"
    ws.column_dimensions["A"].width = 11
    ws.column_dimensions["B"].width = 7
    ws.append(_header(ws, ["Status", "Row", *columns]))


def append_copy(
    ws: WriteOnlyWorksheet,
    frame: pd.DataFrame,
    positions: np.ndarray,
    status: np.ndarray,
    row_numbers: np.ndarray,
    marks: Marks,
    changed: Mapping[tuple[int, int], str],
    comments: int | None = None,
) -> tuple[int, int]:
    """Append the rows at ``positions`` of ``frame`` (status, row number, cells), marked cells filled.

    ``status``, ``row_numbers``, ``marks`` and ``changed`` are by position in ``frame``.
    ``comments``: how many more comments the sheet may take (None: any number), see
    :data:`MAX_COMMENTS`.  Returns (comments given, marked cells left without one).
    """
    given = withheld = 0

    def comment(cell: WriteOnlyCell, text: str) -> WriteOnlyCell:
        nonlocal given, withheld
        if comments is None or given < comments:
            cell.comment = _comment(text)
            given += 1
        else:
            withheld += 1
        return cell

    # Text for every copied cell, computed column by column (vectorised), "" stored as empty.
    columns = [
        xlsx_text_series(frame.iloc[positions, j]).replace("", None).to_numpy(dtype=object)
        for j in range(frame.shape[1])
    ]
    marked_rows: dict[int, list[tuple[int, bool, str]]] = {}
    for (p, c), (is_error, text) in marks.items():
        marked_rows.setdefault(p, []).append((c, is_error, text))
    changed_rows: dict[int, list[tuple[int, str]]] = {}
    for (p, c), text in changed.items():
        if (p, c) not in marks:  # a problem on the same cell speaks first
            changed_rows.setdefault(p, []).append((c, text))
    lines = zip(status[positions], row_numbers[positions].tolist(), *columns, strict=True)
    for k, line in enumerate(lines):
        values = list(line)
        annotations = marked_rows.get(int(positions[k]))
        if annotations:
            for c, is_error, text in annotations:
                at = 0 if c < 0 else c + 2
                cell = _text_cell(ws, values[at] or "") if at != 1 else WriteOnlyCell(ws, values[at])
                cell.fill = ERROR_FILL if is_error else WARNING_FILL
                values[at] = comment(cell, text)
        for c, text in changed_rows.get(int(positions[k]), ()):
            values[c + 2] = comment(_text_cell(ws, values[c + 2] or "", fill=CHANGED_FILL), text)
        ws.append(values)
    return given, withheld


def finish_copy(ws: WriteOnlyWorksheet, n_columns: int, n_rows: int) -> None:
    """The copy's filter over its header and ``n_rows`` rows."""
    if n_columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(n_columns + 2)}{n_rows + 1}"
