"""Turning clerks' text into canonical text: dates, numbers, and lookup-friendly spellings.

All functions work on whole columns and touch each *distinct* value once,
because a roster of a million people has only a few thousand distinct
birthdates and a handful of distinct genders.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"

_FORMATS: dict[str, tuple[str, ...]] = {
    "iso": ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%Y%m%d"),
    "day-first": (
        "%d/%m/%Y",
        "%d-%m-%Y",
        "%d.%m.%Y",
        "%d/%m/%y",
        "%d %b %Y",
        "%d %B %Y",
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
    ),
    "month-first": (
        "%m/%d/%Y",
        "%m-%d-%Y",
        "%m/%d/%y",
        "%b %d %Y",
        "%B %d %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
    ),
}


def isin(series: pd.Series, values: Iterable[str] | pd.Series) -> pd.Series:
    """``series.isin(values)`` for text, in Arrow: pandas' own isin on Arrow strings builds a
    Python object per value and is several times slower on a million keys."""
    if not isinstance(values, pd.Series):
        values = pd.Series(list(values), dtype="str")
    haystack = pa.array(values.astype("str"))
    found = pc.is_in(pa.array(series.astype("str")), value_set=haystack.cast(pa.large_string()))
    return pd.Series(found.to_numpy(zero_copy_only=False), index=series.index, dtype=bool)


def fold(text: str) -> str:
    """Compare-friendly form: case, surrounding spaces and accents ignored ("  Fémale " == "female")."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value and broadcast the result."""
    uniques = series.unique()
    table = {u: func(u) for u in uniques}
    return series.map(table).astype("str")


def parse_dates(series: pd.Series, order: str) -> pd.Series:
    """ISO ``YYYY-MM-DD`` where the text is a date in the given order; the original text otherwise.

    Empty stays empty.  Text that is not a date is kept as written so the
    validator can quote it back to the clerk.
    """
    uniques = pd.Series(series.unique(), dtype="str")
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[s]")
    todo = uniques != ""
    for fmt in _FORMATS[order]:
        if not todo.any():
            break
        attempt = pd.to_datetime(uniques[todo], format=fmt, errors="coerce")
        parsed[todo] = attempt
        todo = todo & parsed.isna()
    iso = parsed.dt.strftime("%Y-%m-%d")
    result = iso.where(parsed.notna(), uniques)
    return series.map(dict(zip(uniques, result, strict=True))).astype("str")


#: A time of day after a date, as clerks and spreadsheets write it.
_TIMES = (" %H:%M:%S", " %H:%M", "T%H:%M:%S", "T%H:%M", " %I:%M %p", " %I:%M:%S %p", "")


def parse_datetimes(series: pd.Series, order: str) -> pd.Series:
    """``YYYY-MM-DD HH:MM:SS`` where the text is a date in the given order and a time (midnight if none).

    As :func:`parse_dates`: empty stays empty and other text is kept as
    written, for the validator to quote back.
    """
    uniques = pd.Series(series.unique(), dtype="str")
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[s]")
    todo = uniques != ""
    for day in dict.fromkeys(f.removesuffix(" %H:%M:%S") for f in _FORMATS[order]):
        for time in _TIMES:
            if not todo.any():
                break
            attempt = pd.to_datetime(uniques[todo], format=day + time, errors="coerce")
            parsed[todo] = attempt
            todo = todo & parsed.isna()
    text = parsed.dt.strftime("%Y-%m-%d %H:%M:%S")
    result = text.where(parsed.notna(), uniques)
    return series.map(dict(zip(uniques, result, strict=True))).astype("str")


def parse_json(series: pd.Series) -> pd.Series:
    """A JSON object in one normal spelling (keys sorted), so a re-run compares alike; other text as is."""

    def one(text: str) -> str:
        if not text:
            return ""
        try:
            value = json.loads(text)
        except ValueError:
            return text  # the validator says it is not JSON
        return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict) else text

    return _map_distinct(series, one)


def gather_json(columns: dict[str, pd.Series]) -> pd.Series:
    """Several columns gathered into one JSON object per row (empty cells left out)."""
    frame = pd.DataFrame(columns)
    records = [
        json.dumps(
            {k: v for k, v in zip(frame.columns, row, strict=True) if v}, sort_keys=True, ensure_ascii=False
        )
        for row in frame.itertuples(index=False, name=None)
    ]
    return pd.Series(records, index=frame.index, dtype="str").replace("{}", "")


def parse_numbers(series: pd.Series) -> pd.Series:
    """Plain decimal text ("1 234,5" stays as written; "1,234.50" → "1234.5"); empty stays empty."""

    def one(text: str) -> str:
        if text == "":
            return ""
        cleaned = text.replace(" ", "").replace("\u00a0", "")
        if cleaned.count(",") and cleaned.count("."):
            cleaned = cleaned.replace(",", "")
        try:
            number = float(cleaned)
        except ValueError:
            return text
        if number != number or number in (float("inf"), float("-inf")):
            return text
        return repr(number).removesuffix(".0") if number.is_integer() else repr(number)

    return _map_distinct(series, one)


def canonical_codes(
    series: pd.Series, known: Iterable[str], aliases: dict[str, str] | None = None
) -> pd.Series:
    """Spell each coded value as the server does, via the mapping's aliases and a folded match.

    ``known`` is the server's own list (e.g. gender values).  Values that
    match nothing are returned unchanged, for the validator to report.
    """
    by_fold = {fold(k): k for k in known}
    alias_fold = {fold(a): t for a, t in (aliases or {}).items()}

    def one(text: str) -> str:
        if text == "":
            return ""
        f = fold(text)
        if f in alias_fold:
            target = alias_fold[f]
            return by_fold.get(fold(target), target) if target else ""
        return by_fold.get(f, text)

    return _map_distinct(series, one)


def canonical_code_lists(
    series: pd.Series, known: Iterable[str], aliases: dict[str, str] | None = None
) -> pd.Series:
    """Like :func:`canonical_codes` for comma-separated lists (membership kinds)."""
    known = list(known)
    single = {}

    def one(text: str) -> str:
        if text == "":
            return ""
        parts = [p for p in (s.strip() for s in text.split(",")) if p]
        resolved = []
        for part in parts:
            if part not in single:
                single[part] = canonical_codes(pd.Series([part], dtype="str"), known, aliases).iloc[0]
            if single[part]:
                resolved.append(single[part])
        return ",".join(dict.fromkeys(resolved))

    return _map_distinct(series, one)


def suggest(value: str, known: Iterable[str]) -> str | None:
    """The closest known spelling, for "did you mean" hints ("Femal" → "Female")."""
    known = list(known)
    by_fold = {fold(k): k for k in known}
    match = difflib.get_close_matches(fold(value), list(by_fold), n=1, cutoff=0.6)
    return by_fold[match[0]] if match else None
