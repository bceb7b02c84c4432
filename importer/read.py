"""READ stage: turn a clerk's CSV or XLSX file into tables of text, every cell as typed.

``read_source(path)`` returns one :class:`SourceTable` per CSV file or per
non-empty worksheet.  Everything is text (ids keep leading zeros, phone numbers
stay phone numbers; the schema decides later what is a date or a number), and
every row keeps the number the clerk sees in Excel or a text editor, so the
report can point back at it.

Decisions that apply to CSV and XLSX alike:

- The header is the first non-empty row.  Header texts are stripped and their
  inner runs of whitespace (line breaks included) collapsed to one space.
- A column with a blank header and no values is padding and is dropped
  silently; one with values is named after its letter ("Column F") with a
  warning.  Duplicate headers become "Name", "Name (2)" with a warning.
- Fully empty rows (anywhere, not only at the end) are dropped; the other rows
  keep their original numbers, so nothing shifts.
- A cell that holds an Excel error (``#N/A``, ``#REF!``: a typed error cell in
  a workbook, or a cell that is exactly such a token in a CSV) keeps that text,
  and a formula saved without a result (a workbook written by a script, never
  opened in Excel) reads as empty; neither is a value, so each is recorded in
  ``SourceTable.cell_errors`` ("error_cell", "formula_no_value").  Whether it
  stops its row depends on whether the mapping reads that column:
  :mod:`importer.cell_guard` decides, with the mapping in hand.
- Anything unreadable raises :class:`~importer.outcome.ImportFailure` whose
  Problem names the file (and sheet/row when known) in a sentence for a clerk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from importer.outcome import ImportFailure, Problem
from importer.read_csv import read_csv_grid
from importer.read_xlsx import ENGINES, WorkbookError, column_letter, read_xlsx_grids

__all__ = ["CSV_SUFFIXES", "XLSX_SUFFIXES", "SourceTable", "read_source"]

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#REF!",
        "#VALUE!",
        "#DIV/0!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#UNKNOWN!",
        "#BUSY!",
        "#GETTING_DATA",
    }
)
_SPACES = re.compile(r"\s+")


@dataclass
class SourceTable:
    """One table of text read from a file: a CSV file or one worksheet."""

    path: Path
    sheet: str | None
    frame: pd.DataFrame
    header_row: int
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[Problem] = field(default_factory=list)
    #: Cells that hold no value though they look filled (Excel errors, formulas without a
    #: saved result), one error each, every one of them: each must stop its own row.
    cell_errors: list[Problem] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How the clerk names it: ``people.csv`` or ``roster.xlsx [People]``."""
        return self.path.name if self.sheet is None else f"{self.path.name} [{self.sheet}]"


def _failure(path: Path, code: str, message: str, sheet: str | None = None) -> ImportFailure:
    return ImportFailure(message, [Problem(code=code, message=message, file=path.name, sheet=sheet)])


def _clean_headers(
    path: Path,
    sheet: str | None,
    header: list[str],
    body: pd.DataFrame,
    header_row: int,
    first_col: int,
    marked: frozenset[int] = frozenset(),
) -> tuple[list[str], list[int], list[Problem]]:
    """Name every kept column; return (names, positions kept, warnings).

    ``marked`` positions hold a formula without a result: they have a value the
    file failed to save, so a blank-headed one is named rather than dropped.
    """
    warnings: list[Problem] = []
    names: list[str] = []
    keep: list[int] = []
    stripped = [_SPACES.sub(" ", h).strip() for h in header]
    taken = {h for h in stripped if h}
    first_seen: dict[str, str] = {}
    for position, text in enumerate(stripped):
        letter = column_letter(first_col + position)
        if not text:
            unfilled = position >= body.shape[1] or not (body[position] != "").any()
            if unfilled and position not in marked:
                continue
            text = f"Column {letter}"
            n = 2
            while text in taken:
                text, n = f"Column {letter} ({n})", n + 1
            taken.add(text)
            warnings.append(
                Problem(
                    code="blank_header",
                    message=(
                        f"Column {letter} has values but no header; it was named '{text}'. "
                        "Give it a header so it can be mapped."
                    ),
                    file=path.name,
                    sheet=sheet,
                    row=header_row,
                    column=text,
                    severity="warning",
                )
            )
        elif text in first_seen:
            original, n = text, 2
            while f"{original} ({n})" in taken:
                n += 1
            text = f"{original} ({n})"
            taken.add(text)
            warnings.append(
                Problem(
                    code="duplicate_header",
                    message=(
                        f"Columns {first_seen[original]} and {letter} are both headed "
                        f"'{original}'; column {letter} was renamed '{text}'. Only one of them "
                        "can be mapped: rename or remove the other."
                    ),
                    file=path.name,
                    sheet=sheet,
                    row=header_row,
                    column=text,
                    value=original,
                    severity="warning",
                )
            )
        else:
            first_seen[text] = letter
        names.append(text)
        keep.append(position)
    return names, keep, warnings


def _error_cells(path: Path, sheet: str | None, frame: pd.DataFrame) -> list[Problem]:
    """One error per cell holding an Excel error (#N/A, #REF!...), found column by column."""
    problems: list[Problem] = []
    for column in frame.columns:
        hits = frame.index[frame[column].isin(EXCEL_ERRORS).to_numpy(dtype=bool)]
        for row in hits:
            value = str(frame.at[row, column])
            problems.append(
                Problem(
                    code="error_cell",
                    message=(
                        f"The cell holds the Excel error {value}, not a value: fix the formula or "
                        "type the value in the file, then import it again."
                    ),
                    file=path.name,
                    sheet=sheet,
                    row=int(row),
                    column=str(column),
                    value=value,
                )
            )
    return problems


def _unsaved_formula_errors(
    path: Path, sheet: str | None, unsaved: dict[tuple[int, int], str], columns: dict[int, str]
) -> list[Problem]:
    """One error per formula cell saved without a result (read as empty by both engines)."""
    problems: list[Problem] = []
    for (row, position), formula in sorted(unsaved.items()):
        if position not in columns:
            continue
        shown = f" ({formula})" if formula else ""
        problems.append(
            Problem(
                code="formula_no_value",
                message=(
                    f"formula with no saved result{shown}: open and save the file in Excel, "
                    "then import it again (the program that wrote the file did not calculate "
                    "it, so the cell reads as empty)."
                ),
                file=path.name,
                sheet=sheet,
                row=row,
                column=columns[position],
                value=formula or None,
            )
        )
    return problems


def finish_table(
    path: Path,
    sheet: str | None,
    header: list[str],
    body: pd.DataFrame,
    header_row: int,
    first_col: int,
    warnings: list[Problem],
    encoding: str | None = None,
    delimiter: str | None = None,
    unsaved: dict[tuple[int, int], str] | None = None,
) -> SourceTable:
    """Name the columns, drop padding columns and empty rows, and wrap it all up.

    ``unsaved`` maps (row, column position) to a formula saved without a
    result: such a row is kept even when every other cell is empty.

    Public because a chunked run (``importer.chunked``) reads a CSV block by
    block and must turn each block into the very table a whole-file read makes
    (same names, same blank-row and error-cell rules), or the chunked and
    whole-file reports would differ.
    """
    unsaved = unsaved or {}
    marked = frozenset(position for _, position in unsaved)
    names, keep, header_warnings = _clean_headers(path, sheet, header, body, header_row, first_col, marked)
    frame = body[keep] if keep != list(body.columns) else body
    frame.columns = pd.Index(names, dtype=object)
    if len(frame) and len(keep):
        # A cell holding only spaces is blank to a clerk, and the two XLSX engines disagree on
        # it (calamine drops an unpreserved " ", openpyxl keeps it): read it as blank everywhere.
        frame = frame.apply(lambda col: col.where(col.str.strip() != "", ""))
        filled = (frame != "").any(axis=1).to_numpy(dtype=bool)
        if unsaved:
            filled = filled | frame.index.isin([row for row, _ in unsaved])
        if not filled.all():
            frame = frame[filled]
    elif not keep:
        frame = frame.iloc[0:0]
    frame.index.name = "row"
    cell_errors = _unsaved_formula_errors(path, sheet, unsaved, dict(zip(keep, names, strict=True)))
    cell_errors += _error_cells(path, sheet, frame)
    order = {name: i for i, name in enumerate(names)}
    cell_errors.sort(key=lambda p: (p.row or 0, order.get(p.column or "", 0)))
    return SourceTable(
        path, sheet, frame, header_row, encoding, delimiter, warnings + header_warnings, cell_errors
    )


def _read_csv(path: Path) -> list[SourceTable]:
    raw = path.read_bytes()
    if raw.startswith(_ZIP_MAGIC) or raw.startswith(_OLE2_MAGIC):
        raise _failure(
            path,
            "not_csv",
            f"{path.name} is named like a text file but holds an Excel workbook; rename it "
            "to .xlsx, or save it from Excel as CSV.",
        )
    grid = read_csv_grid(path, raw)
    table = finish_table(
        path,
        None,
        grid.header,
        grid.body,
        grid.header_row,
        0,
        grid.warnings,
        encoding=grid.encoding,
        delimiter=grid.delimiter,
    )
    return [table]


def _read_xlsx(path: Path, head: bytes, engine: str) -> list[SourceTable]:
    if head.startswith(_OLE2_MAGIC):
        if path.suffix.lower() in XLSX_SUFFIXES and _ENCRYPTED_MARK in path.read_bytes():
            raise _failure(
                path,
                "encrypted_workbook",
                f"{path.name}: the workbook is password-protected; open it in Excel and save "
                "it without a password (File > Info > Protect Workbook > Encrypt with "
                "Password, clear it), then try again.",
            )
        raise _failure(
            path,
            "old_excel_format",
            f"{path.name} is in the old Excel 97-2003 format (.xls), which spp-import does "
            "not read; open it in Excel and save it as .xlsx (Excel Workbook).",
        )
    if not head.startswith(_ZIP_MAGIC):
        raise _failure(
            path,
            "not_a_workbook",
            f"{path.name} is not an Excel workbook: its contents are not in the .xlsx format "
            "(it may be another kind of file renamed, or damaged). Save the data from Excel "
            "as .xlsx or .csv.",
        )
    try:
        grids = read_xlsx_grids(path, engine)
    except WorkbookError as exc:
        raise _failure(path, exc.code, exc.message, exc.sheet) from None
    if not grids:
        raise _failure(path, "empty_file", f"{path.name} has no data: every sheet is empty.")
    tables = []
    for grid in grids:
        warnings = list(grid.warnings)
        if grid.hidden:
            warnings.insert(
                0,
                Problem(
                    code="hidden_sheet",
                    message=(
                        f"Sheet '{grid.name}' is hidden in Excel but was read like the others; "
                        "delete it if its rows should not be imported."
                    ),
                    file=path.name,
                    sheet=grid.name,
                    severity="warning",
                ),
            )
        tables.append(
            finish_table(
                path,
                grid.name,
                grid.header,
                grid.body,
                grid.header_row,
                grid.first_col,
                warnings,
                unsaved=grid.unsaved,
            )
        )
    return tables


def read_source(path: str | Path, *, engine: str = "calamine") -> list[SourceTable]:
    """Read a CSV (one table) or an XLSX workbook (one table per non-empty worksheet).

    ``engine`` chooses the XLSX reader: ``"calamine"`` (fast, default) or
    ``"openpyxl"``; both give identical tables.  A file with a header and no
    rows gives a table with zero rows (the caller decides whether that is an
    error).  Raises ImportFailure, never anything else, for unreadable input.
    """
    path = Path(path)
    if engine not in ENGINES:
        raise _failure(
            path,
            "unknown_engine",
            f"Unknown spreadsheet engine '{engine}'; use one of: {', '.join(ENGINES)}.",
        )
    if not path.exists():
        raise _failure(path, "file_not_found", f"{path.name} was not found (looked for {path}).")
    if path.is_dir():
        raise _failure(path, "not_a_file", f"{path} is a folder, not a file; choose the file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        reason = exc.strerror or "it cannot be opened"
        raise _failure(path, "unreadable_file", f"{path.name} cannot be read: {reason}.") from None
    if not head:
        raise _failure(path, "empty_file", f"{path.name} is empty (0 bytes).")
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return _read_csv(path)
        if suffix in XLSX_SUFFIXES or suffix == ".xls":
            return _read_xlsx(path, head, engine)
    except ImportFailure:
        raise
    except MemoryError:
        raise _failure(
            path, "too_large", f"{path.name} is too large to read with the memory available."
        ) from None
    except Exception as exc:  # never a traceback for the clerk; say which file and what kind
        raise _failure(
            path,
            "unreadable_file",
            f"{path.name} could not be read ({type(exc).__name__}); it may be damaged. "
            "Open it in Excel and save it again as .xlsx or CSV UTF-8.",
        ) from exc
    raise _failure(
        path,
        "unknown_file_type",
        f"{path.name}: spp-import reads .csv and .xlsx files; '{suffix or 'no extension'}' is "
        "neither. Save the data as .xlsx or CSV UTF-8.",
    )
