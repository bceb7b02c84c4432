"""Make every text cell we write safe to open in a spreadsheet program.

A report echoes back what the clerk (or anyone who touched the file) typed.
A cell such as ``=HYPERLINK("http://x", "click")`` or ``@SUM(A1)`` would be
run as a formula by Excel or LibreOffice when the report is opened ("CSV
injection", OWASP).  Every writer (CSV and XLSX) therefore passes every
string cell through :func:`neutralise` / :func:`neutralise_series`, which
prefix a single quote ``'`` to any value starting with one of the characters
OWASP lists: ``=``, ``+``, ``-``, ``@``, tab and carriage return.

The rule is deliberately blunt: text such as ``-5`` or ``+256 700 000 000``
in a report also gets the quote (``'-5``).  That is acceptable for a report
meant to be read by people — the value is still recognisable — and a smarter
rule ("let numbers through") is exactly the kind of cleverness that payloads
like ``-2+3`` or ``+cmd|' /C calc'!A0`` slip past.

For XLSX the writer must additionally store the value as a string (never a
formula); :func:`xlsx_text` gives a value openpyxl will store as text and
that contains no character XML forbids.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Leading characters that make a spreadsheet program evaluate a cell (OWASP "CSV Injection").
DANGEROUS_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_DANGEROUS_RE = r"^[=+\-@\t\r]"

#: Control characters that XML 1.0 (and therefore XLSX) cannot hold at all.
_ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ILLEGAL_XML_PATTERN = "[\x00-\x08\x0b\x0c\x0e-\x1f]"

#: Excel's limit on the length of one cell's text.
XLSX_MAX_CELL_CHARS = 32767


def neutralise(value: str) -> str:
    """Return ``value`` with a leading ``'`` if a spreadsheet would treat it as a formula.

    Non-strings are returned unchanged (numbers written as numbers are not
    formulas); ``None`` stays ``None``.
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def to_arrow_text(values: Any) -> pa.Array:
    """Any column (pandas Series, numpy array, list, Arrow array) as Arrow text; missing -> ``""``.

    Strings go straight to Arrow (C++ speed); anything else is first turned
    into its text, so nothing escapes the check by not being a ``str``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = (
            values
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
            else (pc.cast(values, pa.large_string()))
        )
        return pc.fill_null(arr.cast(pa.large_string()), "")
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    try:
        if isinstance(series.dtype, pd.StringDtype) or series.dtype == object:
            arr = pa.array(series, type=pa.large_string(), from_pandas=True)
            if isinstance(arr, pa.ChunkedArray):  # an Arrow-backed column made of several chunks
                arr = arr.combine_chunks()
            return pc.fill_null(arr, "")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    text = series.astype(object).where(series.notna(), "").map(str)
    return pa.array(text.to_numpy(dtype=object), type=pa.large_string())


def neutralise_arrow(values: Any) -> pa.Array:
    """Vectorised :func:`neutralise` returning Arrow text (what the fast CSV writer takes)."""
    arr = to_arrow_text(values)
    dangerous = pc.match_substring_regex(arr, _DANGEROUS_RE)
    if not pc.any(dangerous).as_py():
        return arr
    quoted = pc.binary_join_element_wise(_large("'"), arr, _large(""))
    return pc.if_else(dangerous, quoted, arr)


def neutralise_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`neutralise` for a column: object dtype text, missing values as ``""``."""
    out = neutralise_arrow(series)
    return pd.Series(out.to_numpy(zero_copy_only=False), index=series.index, dtype=object)


def xlsx_text(value: str) -> str:
    """Text safe to put in an openpyxl cell: neutralised, XML-legal, within Excel's length limit."""
    text = _ILLEGAL_XML_RE.sub("", value)
    text = neutralise(text)
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[: XLSX_MAX_CELL_CHARS - 1] + "…"
    return text


def xlsx_text_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`xlsx_text` for a whole column (used to copy input sheets quickly)."""
    arr = to_arrow_text(series)
    if pc.any(pc.match_substring_regex(arr, _ILLEGAL_XML_PATTERN)).as_py():
        arr = pc.replace_substring_regex(arr, _ILLEGAL_XML_PATTERN, "")
    arr = neutralise_arrow(arr)
    too_long = pc.greater(pc.utf8_length(arr), XLSX_MAX_CELL_CHARS)
    if pc.any(too_long).as_py():
        cut = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(arr, 0, XLSX_MAX_CELL_CHARS - 1), _large("…"), _large("")
        )
        arr = pc.if_else(too_long, cut, arr)
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=series.index, dtype=object)


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, type=pa.large_string())
