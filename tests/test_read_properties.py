"""Property: any grid of text written to CSV or XLSX reads back as the same text frame.

Cells mix unicode, quotes, line breaks, delimiters and leading zeros.  Left out on
purpose, because the reader changes them by design: CR (normalised to LF), NUL
(removed), control characters XML cannot hold, '_xHHHH_' (an XLSX escape).
Fully empty rows are expected to vanish; every other row keeps its line number.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.read import read_source

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"), blacklist_characters="_\ufeff"),
        st.sampled_from(list(",;\t|\"\n' 0123456789=")),
    ),
    max_size=12,
)
_CELL = st.one_of(st.just(""), _TEXT, st.from_regex(r"0[0-9]{1,11}", fullmatch=True))
_HEADER = st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,8}[A-Za-z0-9]", fullmatch=True).map(
    lambda h: " ".join(h.split())
)


@st.composite
def grids(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    headers = draw(st.lists(_HEADER, min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(_CELL, min_size=len(headers), max_size=len(headers)), max_size=8))
    return headers, rows


def _expected(headers: list[str], rows: list[list[str]], line_numbers: list[int]) -> pd.DataFrame:
    # whitespace-only cells read as blank (both formats, both engines)
    rows = [[c if c.strip() != "" else "" for c in r] for r in rows]
    kept = [(n, r) for n, r in zip(line_numbers, rows, strict=True) if any(c != "" for c in r)]
    frame = pd.DataFrame({h: pd.Series([r[j] for _, r in kept], dtype="str") for j, h in enumerate(headers)})
    frame.index = pd.Index([n for n, _ in kept], dtype="int64", name="row")
    frame.columns = pd.Index(headers, dtype=object)
    return frame


def _compare(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert actual.index.tolist() == expected.index.tolist()
    assert actual.index.name == "row"
    assert actual.to_numpy().tolist() == expected.to_numpy().tolist()


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(grids(), st.sampled_from(["\n", "\r\n"]))
def test_csv_round_trips_to_the_same_text_frame(
    grid: tuple[list[str], list[list[str]]], newline: str
) -> None:
    headers, rows = grid
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grid.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator=newline).writerows([headers, *rows])
        lines, line = [], 2
        for row in rows:
            lines.append(line)
            line += 1 + sum(c.count("\n") for c in row)
        _compare(read_source(path)[0].frame, _expected(headers, rows, lines))


@_SETTINGS
@given(grids())
def test_xlsx_round_trips_to_the_same_text_frame_with_both_engines(
    grid: tuple[list[str], list[list[str]]],
) -> None:
    headers, rows = grid
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grid.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        for r, values in enumerate([headers, *rows], start=1):
            for c, value in enumerate(values, start=1):
                if value == "":
                    continue
                cell = sheet.cell(row=r, column=c, value=value)
                cell.data_type = "s"  # '=1+1' typed as text stays text
        book.save(path)
        expected = _expected(headers, rows, list(range(2, len(rows) + 2)))
        for engine in ("calamine", "openpyxl"):
            _compare(read_source(path, engine=engine)[0].frame, expected)
