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

import pandas as pd

#: Leading characters that make a spreadsheet program evaluate a cell (OWASP "CSV Injection").
DANGEROUS_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_DANGEROUS_RE = r"^[=+\-@\t\r]"

#: Control characters that XML 1.0 (and therefore XLSX) cannot hold at all.
_ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ILLEGAL_XML_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"

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


def neutralise_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`neutralise` for a column of text.

    Missing values become ``""`` (a report cell is either text or empty); any
    non-string value is turned into its text first so nothing escapes the
    check by being, say, an object that prints as ``=1+1``.
    """
    text = series.astype("object").where(series.notna(), "").astype(str)
    text = pd.Series(text, index=series.index, dtype="object")
    mask = text.str.match(_DANGEROUS_RE)
    if mask.any():
        text = text.where(~mask, "'" + text)
    return text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column of ``frame`` as neutralised text (for CSV writers)."""
    return frame.apply(neutralise_series) if len(frame.columns) else frame.copy()


def xlsx_text(value: str) -> str:
    """Text safe to put in an openpyxl cell: neutralised, XML-legal, within Excel's length limit."""
    text = _ILLEGAL_XML_RE.sub("", value)
    text = neutralise(text)
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[: XLSX_MAX_CELL_CHARS - 1] + "…"
    return text


def xlsx_text_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`xlsx_text` for a whole column (used to copy input sheets quickly)."""
    text = series.astype("object").where(series.notna(), "").astype(str)
    text = pd.Series(text, index=series.index, dtype="object")
    if text.str.contains(_ILLEGAL_XML_PATTERN, regex=True).any():
        text = text.str.replace(_ILLEGAL_XML_PATTERN, "", regex=True)
    text = neutralise_series(text)
    too_long = text.str.len() > XLSX_MAX_CELL_CHARS
    if too_long.any():
        text = text.where(~too_long, text.str.slice(0, XLSX_MAX_CELL_CHARS - 1) + "…")
    return text
