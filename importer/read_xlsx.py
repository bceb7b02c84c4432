"""Read every worksheet of an XLSX workbook into a grid of text cells, with either engine.

Two engines give the same grid: ``calamine`` (Rust, the default, several times
faster) and ``openpyxl`` (read-only mode, pure Python, the reference).  Both
hand back Python values (float, bool, datetime, str...); :func:`cell_text`
turns each into the text the clerk typed, so ids keep their digits
(1234567890.0 -> "1234567890"), dates become ISO and booleans TRUE/FALSE.

Three things neither engine reports (or reports the same way) are read from
the sheet XML itself, once per sheet, for both engines: error cells (calamine
hands back '' for ``#N/A``; openpyxl the text), formulas saved without a result
(a script such as openpyxl writes ``=A1&B1`` without computing it; both engines
then hand back an empty cell, which must not pass for an empty value) and
merged ranges (openpyxl's read-only mode does not expose them).  Reading the
XML is a C-speed scan, not a parse.

Row numbers are absolute: grid row *i* is Excel row *i + 1*.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from importer.outcome import Problem

ENGINES: tuple[str, ...] = ("calamine", "openpyxl")

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_ERROR_ATTR = re.compile(rb"""\bt=["']e["']""")
_CELL_REF_ATTR = re.compile(rb"""\br=["']([A-Z]+)(\d+)["']""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_TYPE_ATTR = re.compile(rb"""\bt=["'](\w+)["']""")
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b")
_MERGE = re.compile(rb"""<(?:\w+:)?mergeCell\b[^>]*\bref=["']([A-Z]+\d+(?::[A-Z]+\d+)?)["']""")
_ONE_SECOND = dt.timedelta(seconds=1)
_HALF_SECOND = dt.timedelta(microseconds=500_000)


@dataclass(slots=True)
class SheetGrid:
    """One worksheet's non-empty cells as text, before header names are cleaned.

    ``body`` has positional columns 0..n-1 (column *j* is Excel column
    ``first_col + j``, 0-based) and an index of Excel row numbers.
    """

    name: str
    hidden: bool
    header: list[str]
    body: pd.DataFrame
    header_row: int
    first_col: int = 0
    warnings: list[Problem] = field(default_factory=list)
    #: Formula cells below the header saved without a result: (Excel row, body column) -> formula.
    unsaved: dict[tuple[int, int], str] = field(default_factory=dict)


class WorkbookError(Exception):
    """The file is not a workbook we can read; the message is for a clerk."""

    def __init__(self, code: str, message: str, sheet: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sheet = sheet


def column_letter(index: int) -> str:
    """Excel column letters for a 0-based index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    value = 0
    for ch in letters:
        value = value * 26 + ord(ch) - 64
    return value - 1


def _number_text(value: float | int) -> str:
    """A number as the digits the clerk typed: no '.0' on whole numbers, shortest repr otherwise.

    Beyond 2**53 a float no longer holds every digit, so we print what it does
    hold ('1.234567890123457e+19') rather than invent digits; integers that big
    go through float first so both engines agree (calamine only has floats,
    openpyxl parses '123' as int).
    """
    if isinstance(value, int):
        if abs(value) < 2**53:
            return str(value)
        value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _round_seconds(value: dt.datetime) -> dt.datetime:
    """Excel stores times as fractions of a day; the engines round them differently below a second."""
    if value.microsecond:
        value = (value + _HALF_SECOND).replace(microsecond=0)
    return value


def cell_text(value: Any) -> str:
    """The text of one cell value as either engine returns it."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is float or kind is int:
        return _number_text(value)
    if kind is dt.datetime:
        value = _round_seconds(value)
        if value.hour == value.minute == value.second == 0:
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if kind is dt.date:
        return value.strftime("%Y-%m-%d")
    if kind is dt.time:
        full = _round_seconds(dt.datetime.combine(dt.date(2000, 1, 1), value))
        return full.strftime("%H:%M:%S")
    if kind is dt.timedelta:
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return str(value)


def _number_texts(cells: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_number_text` for a column of numbers and blanks."""
    missing = pd.isna(cells)
    values = np.where(missing, 0.0, cells).astype(np.float64)
    whole = (np.mod(values, 1.0) == 0) & (np.abs(values) < 2**53)
    out = np.full(len(values), "", dtype=object)
    out[whole] = values[whole].astype(np.int64).astype(str)
    fraction = ~whole
    out[fraction] = [repr(float(v)) for v in values[fraction]]
    out[missing] = ""
    return out


def _column_texts(cells: np.ndarray) -> pd.Series:
    """Convert one column of raw values to text.

    Text and number columns (ids, phones) are converted with array operations;
    only columns mixing kinds (dates, booleans, errors) take the per-cell path.
    """
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    if kind in ("string", "empty"):
        return pd.Series(np.where(pd.isna(cells), "", cells), dtype="str")
    if kind in ("floating", "integer", "mixed-integer-float"):
        return pd.Series(_number_texts(cells), dtype="str")
    return pd.Series([cell_text(v) for v in cells], dtype="str")


# --- the sheet XML: error cells and merged ranges, for both engines -------------------------


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Map worksheet name -> its XML part inside the zip, from workbook.xml and its rels."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        if not target:
            continue
        part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        parts[sheet.get("name", "")] = posixpath.normpath(part)
    return parts


def _scan_sheet_xml(xml: bytes) -> tuple[dict[tuple[int, int], str], list[str]]:
    """Error cells ((row0, col0) -> '#N/A') and merged ranges ('A5:C5') of one sheet's XML."""
    errors: dict[tuple[int, int], str] = {}
    # A literal search first: the regexes below would otherwise try every '<' of the sheet.
    first_error = min((i for i in (xml.find(b't="e"'), xml.find(b"t='e'")) if i >= 0), default=-1)
    for match in _ERROR_ATTR.finditer(xml, max(first_error - 1, 0)) if first_error >= 0 else ():
        start = xml.rfind(b"<", 0, match.start())
        tag_end = xml.find(b">", match.end())
        ref = _CELL_REF_ATTR.search(xml, start, tag_end)
        if start < 0 or tag_end < 0 or ref is None:
            continue
        close = xml.find(b"c>", tag_end)
        value = _VALUE.search(xml, tag_end, close if close > 0 else len(xml))
        if value is None:
            continue
        row, col = int(ref.group(2)) - 1, _column_index(ref.group(1).decode())
        errors[(row, col)] = value.group(1).decode("utf-8", errors="replace")
    merge_at = xml.find(b"mergeCell")
    merged = [] if merge_at < 0 else [m.group(1).decode() for m in _MERGE.finditer(xml, merge_at - 8)]
    return errors, merged


def _unsaved_formula_patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    """(any formula, a closed formula with no result after it, a shared one with none).

    Tags may be written ``<f>`` or ``<x:f>``. Each pattern starts with a literal,
    so the regex engine skips to the next formula at C speed instead of trying
    every ``<`` of the sheet.
    """
    p = re.escape(prefix)
    no_result = rb"\s*(?:(</" + p + rb"c>)|<" + p + rb"v\s*/>|<" + p + rb"v>\s*</" + p + rb"v>)"
    return (
        re.compile(rb"<" + p + rb"f[\s/>]"),
        re.compile(rb"</" + p + rb"f>" + no_result),
        re.compile(rb"<" + p + rb"f\b[^>]*/>" + no_result),
    )


def _unsaved_formulas(xml: bytes) -> dict[tuple[int, int], str]:
    """Formula cells saved without a result: (row0, col0) -> the formula ('=A2&B2'; '' if shared).

    Excel and LibreOffice save each formula's last result in ``<v>``; a program
    that writes formulas without computing them leaves ``<v>`` out or empty. An
    empty ``<v>`` is a real result only for a text formula (``t="str"``) whose
    answer is "". A sheet with no formula costs one search.
    """
    sheet_data = _SHEET_DATA.search(xml)
    prefix = (sheet_data.group(1) or b"") if sheet_data else b""
    any_formula, closed, shared = _unsaved_formula_patterns(prefix)
    first = any_formula.search(xml, sheet_data.end() if sheet_data else 0)
    if first is None:
        return {}
    found: dict[tuple[int, int], str] = {}
    cell_open = b"<" + prefix + b"c "
    matches = [*closed.finditer(xml, first.start()), *shared.finditer(xml, first.start())]
    for match in matches:
        start = xml.rfind(cell_open, 0, match.start())
        tag_end = xml.find(b">", start)
        ref = _CELL_REF_ATTR.search(xml, start, tag_end) if start >= 0 else None
        if ref is None:
            continue
        kind = _TYPE_ATTR.search(xml, start, tag_end)
        if match.group(1) is None and kind is not None and kind.group(1) == b"str":
            continue  # a text formula whose saved answer is the empty text
        formula = b""
        if xml.startswith(b"</", match.start()):
            f_open = xml.rfind(b"<" + prefix + b"f", tag_end, match.start())
            formula = xml[xml.find(b">", f_open) + 1 : match.start()]
        text = html.unescape(formula.decode("utf-8", errors="replace")).strip()
        row, col = int(ref.group(2)) - 1, _column_index(ref.group(1).decode())
        found[(row, col)] = f"={text}" if text else ""
    return found


def _parse_range(ref: str) -> tuple[int, int, int, int]:
    """'B3:D4' -> (row0, col0, row1, col1), 0-based inclusive."""
    first, _, last = ref.partition(":")
    last = last or first
    out: list[int] = []
    for cell in (first, last):
        letters = cell.rstrip("0123456789")
        out.extend((int(cell[len(letters) :]) - 1, _column_index(letters)))
    return out[0], out[1], out[2], out[3]


# --- engines: each returns (name, hidden, rows as lists of raw values from A1) ---------------


def _calamine_sheets(path: Path) -> list[tuple[str, bool, list[list[Any]]]]:
    import python_calamine as calamine

    workbook = calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheets = []
        for meta in workbook.sheets_metadata:
            if meta.typ != calamine.SheetTypeEnum.WorkSheet:
                continue
            hidden = meta.visible != calamine.SheetVisibleEnum.Visible
            sheet = workbook.get_sheet_by_name(meta.name)
            sheets.append((meta.name, hidden, sheet.to_python(skip_empty_area=False)))
        return sheets
    finally:
        workbook.close()


def _openpyxl_sheets(path: Path) -> list[tuple[str, bool, list[list[Any]]]]:
    import openpyxl

    with warnings.catch_warnings():
        # "Workbook contains no default style": harmless, and not the clerk's business.
        warnings.simplefilter("ignore", UserWarning)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        sheets = []
        for sheet in workbook.worksheets:
            # The stored <dimension> can lie (some writers never update it); ask for every row.
            sheet.reset_dimensions()
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            width = max((len(r) for r in rows), default=0)
            for r in rows:
                if len(r) < width:
                    r.extend([None] * (width - len(r)))
            sheets.append((sheet.title, sheet.sheet_state != "visible", rows))
        return sheets
    finally:
        workbook.close()


def _grid(
    path: Path,
    name: str,
    hidden: bool,
    rows: list[list[Any]],
    errors: dict[tuple[int, int], str],
    merged: list[str],
    unsaved: dict[tuple[int, int], str] | None = None,
) -> SheetGrid | None:
    """Turn raw rows (from A1) into a SheetGrid; None for a sheet with no values at all.

    A formula saved without a result reads as an empty cell, but it is not
    one: below the header it keeps its row and column, so the reader can say
    which cell of which row has no value instead of dropping the row.
    """
    unsaved = unsaved or {}
    height = max([len(rows), *(r + 1 for r, _ in unsaved)])
    width = max([len(rows[0]) if rows else 0, *(c + 1 for _, c in unsaved)])
    if not height or not width:
        return None
    cells = np.empty((height, width), dtype=object)
    if rows and rows[0]:
        cells[: len(rows), : len(rows[0])] = rows
    for (r, c), text in errors.items():
        if r < cells.shape[0] and c < cells.shape[1]:
            cells[r, c] = text
    # Vectorised emptiness: a million blank rows at the bottom cost no Python loop.
    empty = pd.isna(cells) | (cells == "")
    filled_rows = np.flatnonzero(~empty.all(axis=1))
    if filled_rows.size == 0:
        return None
    header_at = int(filled_rows[0])
    below = {(r, c): f for (r, c), f in unsaved.items() if r > header_at}
    if below:
        for r, c in below:
            empty[r, c] = False
        filled_rows = np.flatnonzero(~empty.all(axis=1))
    body_rows = filled_rows[1:]
    filled_cols = np.flatnonzero(~empty[header_at:].all(axis=0))
    first_col, last_col = int(filled_cols[0]), int(filled_cols[-1])
    header = [cell_text(v) for v in cells[header_at, first_col : last_col + 1]]
    columns = {j: _column_texts(cells[body_rows, first_col + j]) for j in range(last_col - first_col + 1)}
    body = pd.DataFrame(columns)
    body.index = pd.Index(body_rows.astype(np.int64) + 1, name="row")
    problems = []
    for ref in merged:
        r0, c0, r1, c1 = _parse_range(ref)
        if r1 < header_at or (r0 == r1 and c0 == c1):
            continue
        top_left = f"{column_letter(c0)}{r0 + 1}"
        problems.append(
            Problem(
                code="merged_cells",
                message=(
                    f"Cells {ref} are merged; only the value in {top_left} was read, the other "
                    "cells count as empty. Unmerge them and fill each cell if they all need it."
                ),
                file=path.name,
                sheet=name,
                row=r0 + 1,
                value=ref,
                severity="warning",
            )
        )
    marks = {(r + 1, c - first_col): f for (r, c), f in below.items()}
    return SheetGrid(name, hidden, header, body, header_at + 1, first_col, problems, marks)


def read_xlsx_grids(path: Path, engine: str = "calamine") -> list[SheetGrid]:
    """Every worksheet with at least one value, in workbook order, as text grids."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise WorkbookError(
            "damaged_workbook",
            f"{path.name} is damaged or incomplete (perhaps cut short while copying or "
            "downloading); open it in Excel and save it again.",
        ) from None
    with archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise WorkbookError(
                "not_a_workbook",
                f"{path.name} is not an Excel workbook (it is a zip file of another kind); "
                "save the data from Excel as .xlsx or .csv.",
            )
        try:
            parts = _sheet_parts(archive)
        except (KeyError, ElementTree.ParseError):
            raise WorkbookError(
                "damaged_workbook",
                f"{path.name} is damaged: its list of sheets cannot be read; open it in Excel "
                "and save it again.",
            ) from None
        raw = _calamine_sheets(path) if engine == "calamine" else _openpyxl_sheets(path)
        grids = []
        for name, hidden, rows in raw:
            part = parts.get(name)
            xml = archive.read(part) if part in names else b""
            errors, merged = _scan_sheet_xml(xml)
            grid = _grid(path, name, hidden, rows, errors, merged, _unsaved_formulas(xml))
            if grid is not None:
                grids.append(grid)
        return grids
