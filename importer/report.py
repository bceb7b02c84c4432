"""The last stage: tell the clerk, row by row, what happened and why.

Every earlier stage speaks in :class:`~importer.outcome.RecordOutcome` (the
fate of one canonical record) and :class:`~importer.outcome.Problem` (one
thing wrong, with a code, a place and a sentence).  A clerk, however, thinks
in *input rows*: "what happened to row 12 of my sheet?".  This module joins
the two views, in the spirit of Frictionless reports: every problem has a
code, a row, a field and a plain message, and everything flattens to tables a
person can filter.

The one promise it keeps: **every input row of every source table gets
exactly one status** — the worst (``STATUS_SEVERITY``) of the records made
from it; a row that made no record is ``invalid``/``failed`` if something
was wrong with it and ``skipped`` otherwise (usually a blank row).

Everything is vectorised (numpy/pandas): a million-row report is built in
seconds, so the report never becomes the slow stage of a migration.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from importer.audit import jsonable
from importer.cells import neutralise_arrow, to_arrow_text
from importer.load import REFUSED_BY_SERVER, is_transient
from importer.outcome import (
    ENTITIES,
    ENTITY_PLURALS,
    STATUS_SEVERITY,
    STOPPED_ON_REQUEST,
    Entity,
    Problem,
    RecordOutcome,
    Status,
)

if TYPE_CHECKING:  # openpyxl only loads when a workbook is written
    from importer.report_xlsx import XlsxDraft

__all__ = [
    "EMPTY_ROW_REASON",
    "NO_RECORD_REASON",
    "OK_STATUSES",
    "RowFacts",
    "RunReport",
    "SourceLike",
    "build_report",
    "has_data_rows",
    "scrub_meta",
    "source_key",
    "summary_json",
    "summary_text",
    "write_csv",
    "write_reports",
]


class SourceLike(Protocol):
    """What the report needs of a ``importer.read.SourceTable`` (duck-typed, so tests need no reader)."""

    path: Path
    sheet: str | None
    frame: pd.DataFrame
    header_row: int


#: Row statuses that mean "nothing to worry about"; anything else makes the exit code 1.
OK_STATUSES: frozenset[str] = frozenset(
    {Status.CREATED.value, Status.UPDATED.value, Status.UNCHANGED.value, Status.VALID.value}
)
EMPTY_ROW_REASON = "empty row"
NO_RECORD_REASON = "no record was made from this row"

#: Display order of statuses in tables: good news first, then what needs attention.
STATUS_ORDER: tuple[str, ...] = (
    Status.CREATED.value,
    Status.UPDATED.value,
    Status.UNCHANGED.value,
    Status.VALID.value,
    Status.INVALID.value,
    Status.PARTLY_WRITTEN.value,
    Status.FAILED.value,
    Status.SKIPPED.value,
)
_SEVERITY_BY_NAME: dict[str, int] = {s.value: n for s, n in STATUS_SEVERITY.items()}
_NAME_BY_SEVERITY: dict[int, str] = {n: name for name, n in _SEVERITY_BY_NAME.items()}

RECORD_COLUMNS = [
    "entity",
    "key",
    "file",
    "sheet",
    "row",
    "status",
    "external_id",
    "server_id",
    "reasons",
    "action",  # what the plan meant to do: create / update / unchanged ("" when not planned)
    "changes",  # an update's changes in words: "given_name: 'Ana' → 'Anna'; phone: '0701' → (cleared)"
]
ROW_COLUMNS = [
    "file",
    "sheet",
    "row",
    "status",
    "entities",
    "external_ids",
    "server_ids",
    "reasons",
    "changes",
]
#: One line per field an update changes (or would change): where in the file, and before → after.
CHANGE_REPORT_COLUMNS = ["file", "sheet", "row", "column", "field", "before", "after", "cleared"]
NO_ROWS = "no rows to import"
PROBLEM_COLUMNS = [
    "code",
    "message",
    "file",
    "sheet",
    "row",
    "column",
    "value",
    "suggestion",
    "severity",
    "entity",
    "key",
]
#: Column order of the errors CSV / Errors sheet: where first, then what, then how to fix.
ERROR_REPORT_COLUMNS = [
    "file",
    "sheet",
    "row",
    "column",
    "value",
    "severity",
    "code",
    "message",
    "suggestion",
    "entity",
    "key",
]

MODE_TITLES = {
    "import": "Import",
    "dry-run": "Dry run (nothing was written to the server)",
    "validate": "Validation only (the server was not asked to write anything)",
}

#: Meta keys whose *values* are secrets whatever they contain.
_SECRET_KEY_RE = re.compile(
    r"pass(word|wd)?|secret|api[_-]?key|token|credential|authori[sz]ation|cookie|session",
    re.IGNORECASE,
)
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# The report object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowFacts:
    """What the exit code and the summaries need of the input rows: a few numbers.

    A whole-file run counts them from its ``rows`` table; a chunked run
    (``importer.chunked``) adds up each chunk's, so its summary costs the same
    whatever the file's size instead of a byte or more per line.  Blank rows
    (skipped, reason ``empty row``) carry no data: they neither count as rows
    with data nor against the run.
    """

    #: input rows per status, in :data:`STATUS_ORDER` (then by name); every row has one status
    by_status: dict[str, int] = field(default_factory=dict)
    #: rows that hold data
    with_data: int = 0
    #: rows that hold data and did not go through (status not in :data:`OK_STATUSES`)
    not_through: int = 0

    @classmethod
    def of(cls, rows: pd.DataFrame) -> RowFacts:
        """The facts of a report's ``rows`` table (status and reasons columns)."""
        if not len(rows):
            return cls()
        blank = (rows["reasons"] == EMPTY_ROW_REASON).to_numpy(dtype=bool)
        skipped = (rows["status"] == Status.SKIPPED.value).to_numpy(dtype=bool)
        ok = rows["status"].isin(OK_STATUSES).to_numpy(dtype=bool)
        return cls(_status_counts(rows["status"]), int((~skipped | ~blank).sum()), int((~ok & ~blank).sum()))

    def __add__(self, other: RowFacts) -> RowFacts:
        by_status = dict(self.by_status)
        for status, n in other.by_status.items():
            by_status[status] = by_status.get(status, 0) + n
        return RowFacts(
            _in_status_order(by_status),
            self.with_data + other.with_data,
            self.not_through + other.not_through,
        )

    @property
    def total(self) -> int:
        """Every input row, blank ones too."""
        return sum(self.by_status.values())


@dataclass
class RunReport:
    """Everything a run has to say, as three filterable tables and the run's metadata.

    ``records``: one row per canonical record; ``rows``: one row per input row
    (exactly one status each); ``problems``: one row per :class:`Problem`;
    ``meta``: when, where, with what (never a secret).  ``files`` is filled by
    :func:`write_reports` so summaries can say where the reports are.
    """

    mode: str
    records: pd.DataFrame
    rows: pd.DataFrame
    problems: pd.DataFrame
    meta: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    #: one line per changed field (CHANGE_REPORT_COLUMNS): the XLSX marks these cells
    changes: pd.DataFrame = field(default_factory=lambda: _empty_changes())
    #: input rows by fate: new, to_update, unchanged, attention; values_change, cleared (see :func:`headline`)
    fates: dict[str, int] = field(default_factory=dict)

    def problem_totals(self) -> tuple[int, int, int]:
        """(errors, of which refused by the server, warnings): what the summaries count."""
        table = errors_table(self)
        errors = int((table["severity"] == "error").sum()) if len(table) else 0
        return errors, errors - self.error_count, self.warning_count

    def counts(self) -> pd.DataFrame:
        """Records per entity and status, plus an ``input rows`` line; a ``total`` column.

        Statuses that occur nowhere in the run are left out so the table stays
        readable; entities come in load order.
        """
        present = set(self.records["status"].unique()) | set(self.rows["status"].unique())
        statuses = [s for s in STATUS_ORDER if s in present]
        statuses += sorted(present - set(statuses))
        if len(self.records):
            table = pd.crosstab(self.records["entity"], self.records["status"])
        else:
            table = pd.DataFrame(columns=statuses, dtype="int64")
        table = table.reindex(columns=statuses, fill_value=0)
        load_order = [e.value for e in Entity]
        entities = [e for e in load_order if e in table.index]
        entities += sorted(str(e) for e in table.index if e not in load_order)
        table = table.reindex(index=entities, fill_value=0)
        row_counts = self.rows["status"].value_counts().reindex(statuses, fill_value=0)
        table.loc["input rows"] = row_counts.to_numpy()
        table = table.astype("int64")
        table["total"] = table.sum(axis=1)
        table.index.name = "entity"
        table.columns.name = None
        return table

    def exit_code(self) -> int:
        """0: every row created/updated/unchanged/valid; 1: some rows were not; 2: the run stopped.

        Blank input rows (``skipped`` with reason ``empty row``) carry no data
        and do not count against the run; any error problem does, even one
        that could not be tied to a row (belt and braces).
        """
        if self.meta.get("stopped"):
            return 2
        facts = self.row_facts()
        if not facts.with_data:
            return 2  # a header-only file: nothing to import is not "everything went through"
        if facts.not_through or self.records_not_through() or self.error_count:
            return 1
        return 0

    def row_facts(self) -> RowFacts:
        """The input rows in numbers: per status, with data, not through."""
        return RowFacts.of(self.rows)

    def records_not_through(self) -> int:
        """How many records were not written, unchanged or valid."""
        if not len(self.records):
            return 0
        return int((~self.records["status"].isin(OK_STATUSES)).sum())

    @property
    def has_rows(self) -> bool:
        """Whether any input row holds data (a header-only or blank file has none)."""
        return self.row_facts().with_data > 0

    @property
    def error_count(self) -> int:
        """How many error problems (not warnings) the run found."""
        if not len(self.problems):
            return 0
        return int((self.problems["severity"] == "error").sum())

    @property
    def warning_count(self) -> int:
        """How many warnings the run found (written, but worth a look)."""
        if not len(self.problems):
            return 0
        return int((self.problems["severity"] != "error").sum())


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def source_key(source: SourceLike) -> tuple[str, str]:
    """The ``(file, sheet)`` pair under which a source's rows appear in the report.

    The file is shown by its name (what the clerk recognises), the sheet as
    ``""`` for CSV so tables never hold NaN in a key column.
    """
    return (Path(source.path).name, source.sheet or "")


def _file_aliases(sources: Sequence[SourceLike]) -> dict[str, str]:
    """Every spelling of a source's file an upstream stage might use -> the report's file name.

    Stages may record ``people.csv``, ``data/people.csv`` or an absolute path;
    all must land on the same rows.
    """
    aliases: dict[str, str] = {}
    for source in sources:
        path = Path(source.path)
        name = path.name
        for alias in (str(source.path), str(path), path.as_posix(), name):
            aliases.setdefault(alias, name)
        label = getattr(source, "label", None)
        if isinstance(label, str):
            aliases.setdefault(label, name)
        with contextlib.suppress(OSError):  # unresolvable path: the other aliases still work
            aliases.setdefault(str(path.resolve()), name)
    return aliases


def _pluck(items: Sequence[Any], name: str) -> list[Any]:
    """One attribute of every item, at C speed (``map`` + ``attrgetter``)."""
    return list(map(attrgetter(name), items))


def _recode(values: list[Any], convert: Any) -> np.ndarray:
    """Apply ``convert`` to each *distinct* value only (files, sheets, statuses: a handful)."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    converted = [convert(u) for u in uniques]
    if (codes < 0).any():
        converted.append(convert(None))  # code -1 (missing) picks this trailing entry
    return np.array(converted, dtype=object)[codes]


def _text_column(values: list[Any]) -> pd.Series:
    """Text values (``None`` -> ``""``) as an Arrow-backed ``str`` column: no per-value Python objects."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # ints or other objects as keys: say them as text
        arr = pa.array([None if v is None else str(v) for v in values], type=pa.large_string())
    return pd.Series(pc.fill_null(arr, ""), dtype="str")


def _joined_lists(values: list[list[Any]], sep: str = "; ") -> pd.Series:
    """Lists of reasons joined with ``sep``, as one Arrow operation when they are all text."""
    try:
        lists = pa.array(values, type=pa.large_list(pa.large_string()), from_pandas=True)
        joined = pc.fill_null(pc.binary_join(lists, _large(sep)), "")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        joined = pa.array([sep.join(map(str, v)) if v else "" for v in values], type=pa.large_string())
    return pd.Series(joined, dtype="str")


def _nullable_ints(values: list[Any]) -> pd.arrays.IntegerArray:
    """Row numbers / server ids (ints or None) as a nullable Int64 array, vectorised."""
    floats = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    missing = np.isnan(floats)
    return pd.arrays.IntegerArray(np.where(missing, 0, floats).astype(np.int64), missing)


def _file_converter(aliases: Mapping[str, str]) -> Any:
    """Map file spellings onto report file names; unknown files keep their own name."""

    def convert(value: Any) -> str:
        text = "" if value is None else str(value)
        return aliases.get(text, text)

    return convert


def _sheet_text(value: Any) -> str:
    return "" if value is None else str(value)


def _recode_series(values: pd.Series, convert: Any) -> np.ndarray:
    """:func:`_recode` for a column already in a table."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = [convert(u) for u in uniques]
    if (codes < 0).any():
        converted.append(convert(None))
    return np.array(converted, dtype=object)[codes]


def _records_from_table(table: pd.DataFrame, aliases: Mapping[str, str]) -> pd.DataFrame:
    """Outcomes given as a table (one row per record, RecordOutcome's fields as columns; ``reasons``
    already joined): the pipeline's fast path, with no Python object per record."""
    if table.empty:
        return _empty_records()

    def text(name: str) -> pd.Series:
        column = table[name] if name in table.columns else pd.Series("", index=table.index)
        # stays in Arrow: a to_numpy() here would make a Python object per record
        return column.astype("str").fillna("").reset_index(drop=True)

    def ints(name: str) -> pd.arrays.IntegerArray:
        floats = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(floats)
        return pd.arrays.IntegerArray(np.where(missing, 0, floats).astype(np.int64), missing)

    columns = {
        "entity": _recode_series(table["entity"], _sheet_text),
        "key": text("key"),
        "file": _recode_series(table["file"], _file_converter(aliases)),
        "sheet": _recode_series(table["sheet"].replace("", None), _sheet_text),
        "row": ints("row"),
        "status": _recode_series(table["status"], _status_name),
        "external_id": text("external_id"),
        "server_id": ints("server_id"),
        "reasons": text("reasons"),
        # a few texts (create / update / unchanged): one shared object each, not one per record
        "action": (
            _recode_series(table["action"], _sheet_text)
            if "action" in table.columns
            else np.full(len(table), "", dtype=object)
        ),
        "changes": text("changes"),
    }
    return pd.DataFrame({k: _as_column(v) for k, v in columns.items()})


def _records_frame(
    outcomes: Sequence[RecordOutcome] | pd.DataFrame | None, aliases: Mapping[str, str]
) -> pd.DataFrame:
    """Outcomes as a table, one vectorised column at a time (object dtype: no string re-encoding)."""
    if isinstance(outcomes, pd.DataFrame):
        return _records_from_table(outcomes, aliases)
    if not outcomes:
        return _empty_records()
    columns = {
        "entity": _recode(_pluck(outcomes, "entity"), _sheet_text),
        "key": _text_column(_pluck(outcomes, "key")),
        "file": _recode(_pluck(outcomes, "file"), _file_converter(aliases)),
        "sheet": _recode(_pluck(outcomes, "sheet"), _sheet_text),
        "row": _nullable_ints(_pluck(outcomes, "row")),
        "status": _recode(_pluck(outcomes, "status"), _status_name),
        "external_id": _text_column(_pluck(outcomes, "external_id")),
        "server_id": _nullable_ints(_pluck(outcomes, "server_id")),
        "reasons": _joined_lists(_pluck(outcomes, "reasons")),
        "action": np.full(len(outcomes), "", dtype=object),
        "changes": np.full(len(outcomes), "", dtype=object),
    }
    return pd.DataFrame({k: _as_column(v) for k, v in columns.items()})


def _as_column(values: Any) -> Any:
    """Keep Arrow-backed / nullable columns as they are; plain arrays become object columns."""
    if isinstance(values, (pd.Series, pd.api.extensions.ExtensionArray)):
        return values
    return pd.Series(values, dtype=object)


def _status_name(value: object) -> str:
    """A status as its plain name, refusing anything that is not a :class:`Status`."""
    name = value.value if isinstance(value, Enum) else str(value)
    if name not in _SEVERITY_BY_NAME:
        raise ValueError(f"unknown record status {value!r}")
    return name


def _empty_records() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in RECORD_COLUMNS})
    frame["row"] = frame["row"].astype("Int64")
    frame["server_id"] = frame["server_id"].astype("Int64")
    return frame


def _empty_changes() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in CHANGE_REPORT_COLUMNS})
    return frame.astype({"row": "Int64", "cleared": bool})


def _changes_frame(changes: pd.DataFrame | None, aliases: Mapping[str, str]) -> pd.DataFrame:
    """The plan's changed fields with file names as in the rows table (see CHANGE_REPORT_COLUMNS)."""
    if changes is None or not len(changes):
        return _empty_changes()
    frame = changes.reindex(columns=CHANGE_REPORT_COLUMNS).reset_index(drop=True)
    frame["file"] = _recode_series(frame["file"], _file_converter(aliases))
    frame["sheet"] = frame["sheet"].fillna("").astype(str)
    frame["row"] = pd.to_numeric(frame["row"], errors="coerce").astype("Int64")
    frame["cleared"] = frame["cleared"].fillna(False).astype(bool)
    for column in ("column", "field", "before", "after"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def _problems_frame(problems: Sequence[Problem], aliases: Mapping[str, str]) -> pd.DataFrame:
    """Problems as a table: Problem's own fields as columns, file names as in the rows table.

    Missing optional texts stay ``None`` (one spelling of "missing" for people filtering).
    """
    columns: dict[str, Any] = {}
    for name in PROBLEM_COLUMNS:
        values = _pluck(problems, name)
        if name == "row":
            columns[name] = _nullable_ints(values)
        elif name == "file":
            columns[name] = _recode(values, _file_converter(aliases))
        elif name == "sheet":
            columns[name] = _recode(values, _sheet_text)
        elif name == "severity":
            columns[name] = _recode(values, lambda v: "error" if v is None else str(v))
        else:
            columns[name] = np.array(values, dtype=object)
    return pd.DataFrame({k: _as_column(v) for k, v in columns.items()})


def _row_ids(
    frame: pd.DataFrame,
    spans: Mapping[tuple[str, str], tuple[int, pd.Index]],
) -> np.ndarray:
    """For each record/problem, the position of its input row in the rows table (-1 if none).

    One vectorised lookup per source table instead of a merge on three
    columns; sorted row numbers (the usual case) use ``searchsorted``.
    """
    rid = np.full(len(frame), -1, dtype=np.int64)
    if not len(frame):
        return rid
    row_values = frame["row"].array
    has_row = ~np.asarray(row_values.isna())
    rows = np.asarray(row_values.to_numpy(dtype=np.int64, na_value=-1))
    file_codes, files = pd.factorize(frame["file"].to_numpy(dtype=object))
    sheet_codes, sheets = pd.factorize(frame["sheet"].to_numpy(dtype=object))
    combined = file_codes.astype(np.int64) * max(len(sheets), 1) + sheet_codes
    for code in np.unique(combined):
        file, sheet = files[code // max(len(sheets), 1)], sheets[code % max(len(sheets), 1)]
        span = spans.get((file, sheet))
        if span is None:
            continue
        offset, index = span
        take = np.flatnonzero((combined == code) & has_row)
        if not len(take):
            continue
        rid[take] = _positions(index, rows[take]) + offset
        rid[take[rid[take] < offset]] = -1
    return rid


def _positions(index: pd.Index, rows: np.ndarray) -> np.ndarray:
    """Position of each row number in ``index`` (-1 when absent)."""
    if index.is_monotonic_increasing and len(index):
        values = index.to_numpy()
        at = np.searchsorted(values, rows)
        at_clipped = np.minimum(at, len(values) - 1)
        return np.where(values[at_clipped] == rows, at_clipped, -1)
    return index.get_indexer(rows)


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, type=pa.large_string())


def _join_by_row(
    rid: np.ndarray, text: Any, n_rows: int, *, sep: str = "; ", unique: bool = False
) -> np.ndarray:
    """Join the texts that belong to each input row, in their given order, without a Python loop.

    Items are stably sorted by row id; each row's items are then one slice of
    the sorted values, so an Arrow list array built from the slice offsets is
    joined with ``sep`` in C++.  Empty texts and items with no row (-1) are
    dropped; ``unique`` drops repeats ("x; x").
    """
    out = np.full(n_rows, "", dtype=object)
    values = to_arrow_text(text)
    keep = (rid >= 0) & pc.not_equal(values, "").to_numpy(zero_copy_only=False)
    if not keep.any():
        return out
    rid = rid[keep]
    values = values.filter(pa.array(keep))
    if unique:  # keep the first of each (row, text) pair, on integer keys
        codes = pc.dictionary_encode(values).indices.to_numpy()
        _, first = np.unique(rid * (int(codes.max()) + 1) + codes, return_index=True)
        first.sort()
        rid, values = rid[first], values.take(pa.array(first))
    order = np.argsort(rid, kind="stable")
    rid, values = rid[order], values.take(pa.array(order))
    starts = np.flatnonzero(np.r_[True, rid[1:] != rid[:-1]])
    offsets = pa.array(np.r_[starts, len(rid)], type=pa.int64())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(offsets, values), _large(sep))
    out[rid[starts]] = joined.to_numpy(zero_copy_only=False)
    return out


def _join_few(rid: np.ndarray, values: np.ndarray, n_rows: int, sep: str = "; ") -> np.ndarray:
    """Like ``_join_by_row(..., unique=True)`` for columns with a handful of distinct values.

    Each row's set of values is a bit mask (one bit per distinct value, in
    order of first appearance), so joining is one ``bitwise_or.at`` and one
    lookup per distinct *combination*; entity names take microseconds per row.
    """
    codes, uniques = pd.factorize(values)
    keep = (rid >= 0) & (codes >= 0)
    if len(uniques) > 62:
        return _join_by_row(rid, values, n_rows, sep=sep, unique=True)
    masks = np.zeros(n_rows, dtype=np.int64)
    np.bitwise_or.at(masks, rid[keep], np.left_shift(1, codes[keep].astype(np.int64)))
    combos, inverse = np.unique(masks, return_inverse=True)
    labels = np.array(
        [sep.join(str(u) for b, u in enumerate(uniques) if combo >> b & 1) for combo in combos],
        dtype=object,
    )
    return labels[inverse.reshape(-1)] if n_rows else np.zeros(0, dtype=object)


def has_data_rows(frame: pd.DataFrame) -> bool:
    """Whether a source table holds any row with something in it (a header-only sheet does not)."""
    return bool(len(frame)) and not bool(_blank_rows(frame).all())


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """True where every cell of an input row is empty or whitespace (column-wise, vectorised)."""
    blank = np.ones(len(frame), dtype=bool)
    for column in range(len(frame.columns)):
        values = frame.iloc[:, column]
        if values.dtype == object:
            values = values.where(values.notna(), "").astype(str)
        blank &= (values.fillna("").str.strip() == "").to_numpy(dtype=bool)
    return blank


def build_report(
    sources: Sequence[SourceLike],
    outcomes: Sequence[RecordOutcome] | pd.DataFrame | None,
    problems: Sequence[Problem],
    *,
    mode: str,
    meta: dict[str, Any],
    secrets: Iterable[str] = (),
    changes: pd.DataFrame | None = None,
) -> RunReport:
    """Join records and problems back to every input row and give each row one status.

    ``mode`` is ``"import"``, ``"dry-run"`` or ``"validate"``; it decides
    whether a row with errors and no record is ``failed`` (a real run) or
    ``invalid`` (nothing was sent).  ``meta`` is scrubbed of anything that
    looks like a secret (by key name, URL user-info, and any value in
    ``secrets``).
    """
    if mode not in MODE_TITLES:
        raise ValueError(f"mode must be one of {sorted(MODE_TITLES)}, not {mode!r}")
    # Millions of short-lived lists would make the cyclic GC rescan every outcome object
    # again and again; nothing built here has cycles, so pause it for the duration.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        report = _build(sources, outcomes, problems, mode=mode, meta=meta, secrets=secrets)
        report.changes = _changes_frame(changes, _file_aliases(sources))
        cleared = int(report.changes["cleared"].sum())
        report.fates.update(values_change=len(report.changes) - cleared, cleared=cleared)
        return report
    finally:
        if was_enabled:
            gc.enable()


def _build(
    sources: Sequence[SourceLike],
    outcomes: Sequence[RecordOutcome] | pd.DataFrame | None,
    problems: Sequence[Problem],
    *,
    mode: str,
    meta: dict[str, Any],
    secrets: Iterable[str],
) -> RunReport:
    aliases = _file_aliases(sources)

    # The skeleton: one line per input row, sources in the order given.
    spans: dict[tuple[str, str], tuple[int, pd.Index]] = {}
    pieces: list[pd.DataFrame] = []
    blank_parts: list[np.ndarray] = []
    offset = 0
    for source in sources:
        file, sheet = source_key(source)
        index = pd.Index(pd.to_numeric(np.asarray(source.frame.index), errors="coerce"))
        index = index.astype("int64") if len(index) else pd.Index([], dtype="int64")
        lookup = index if index.is_unique else index.drop_duplicates()
        # A repeated (file, sheet) pair (same name in two folders) keeps its first table's rows.
        spans.setdefault((file, sheet), (offset, lookup))
        pieces.append(
            pd.DataFrame(
                {
                    "file": np.full(len(index), file, dtype=object),
                    "sheet": np.full(len(index), sheet, dtype=object),
                    "row": index.to_numpy(dtype="int64"),
                }
            )
        )
        blank_parts.append(_blank_rows(source.frame))
        offset += len(index)
    n_rows = offset
    rows = (
        pd.concat(pieces, ignore_index=True)
        if pieces
        else pd.DataFrame({"file": [], "sheet": [], "row": pd.Series([], dtype="int64")})
    )
    blank = np.concatenate(blank_parts) if blank_parts else np.zeros(0, dtype=bool)

    records = _records_frame(outcomes, aliases)
    problem_frame = _problems_frame(problems, aliases)
    rec_rid = _row_ids(records, spans)
    prob_rid = _row_ids(problem_frame, spans)

    # Worst record status per row.
    severity = np.full(n_rows, -1, dtype=np.int64)
    linked = rec_rid >= 0
    if linked.any():
        codes, names = pd.factorize(records["status"].to_numpy(dtype=object))
        rec_sev = np.array([_SEVERITY_BY_NAME[n] for n in names], dtype=np.int64)[codes]
        np.maximum.at(severity, rec_rid[linked], rec_sev[linked])

    # Rows that produced no record: invalid/failed if something was wrong, else skipped.
    has_error = np.zeros(n_rows, dtype=bool)
    if len(problem_frame):
        is_error = (problem_frame["severity"] == "error").to_numpy() & (prob_rid >= 0)
        has_error[prob_rid[is_error]] = True
    no_record = severity < 0
    bad_status = Status.FAILED if mode == "import" else Status.INVALID
    # A row with an error is refused, whatever its records say (they were held back: row_rules).
    severity[has_error] = np.maximum(severity[has_error], STATUS_SEVERITY[bad_status])
    skipped_rows = no_record & ~has_error
    severity[skipped_rows] = STATUS_SEVERITY[Status.SKIPPED]
    status_lookup = np.array([_NAME_BY_SEVERITY[i] for i in range(max(_NAME_BY_SEVERITY) + 1)])
    rows["status"] = status_lookup[severity].astype(object) if n_rows else np.array([], dtype=object)
    partly = _partly_written(records, rec_rid, n_rows) if mode == "import" else np.zeros(n_rows, dtype=bool)
    if partly.any():
        rows.loc[partly, "status"] = Status.PARTLY_WRITTEN.value

    # What came from each row, joined in record order.
    rows["entities"] = _join_few(rec_rid, records["entity"].to_numpy(dtype=object), n_rows)
    rows["external_ids"] = _join_by_row(rec_rid, records["external_id"], n_rows)
    server_text = pc.cast(pa.array(records["server_id"].array), pa.large_string())
    rows["server_ids"] = _join_by_row(rec_rid, server_text, n_rows)

    rows["changes"] = _join_by_row(rec_rid, records["changes"], n_rows, unique=True)

    # Why: the records' reasons, then the problems' errors, then warnings (marked).
    reason_rid, reason_text = _reason_items(records, rec_rid, problem_frame, prob_rid)
    reasons = _join_by_row(reason_rid, reason_text, n_rows, unique=True)
    skipped_no_reason = skipped_rows & (reasons == "")
    reasons[skipped_no_reason & blank] = EMPTY_ROW_REASON
    reasons[skipped_no_reason & ~blank] = NO_RECORD_REASON
    if partly.any():
        reasons[partly] = _partly_written_reasons(records, rec_rid, np.flatnonzero(partly), reasons[partly])
    rows["reasons"] = reasons

    clean_meta = scrub_meta(dict(meta), secrets=secrets)
    clean_meta.setdefault("mode", mode)
    return RunReport(
        mode=mode,
        records=records,
        rows=rows[ROW_COLUMNS],
        problems=problem_frame,
        meta=clean_meta,
        fates=_fates(rows, records, rec_rid),
    )


_WRITTEN = (Status.CREATED.value, Status.UPDATED.value, Status.UNCHANGED.value)
_NOT_WRITTEN = (Status.FAILED.value, Status.SKIPPED.value, Status.INVALID.value)


def _partly_written(records: pd.DataFrame, rec_rid: np.ndarray, n_rows: int) -> np.ndarray:
    """Rows some of whose records are in the registry while others are not."""
    written = np.zeros(n_rows, dtype=bool)
    missing = np.zeros(n_rows, dtype=bool)
    if len(records):
        status = records["status"].astype(str).to_numpy(dtype=object)
        linked = rec_rid >= 0
        written[rec_rid[linked & np.isin(status, _WRITTEN)]] = True
        missing[rec_rid[linked & np.isin(status, _NOT_WRITTEN)]] = True
    return written & missing


def _partly_written_reasons(
    records: pd.DataFrame, rec_rid: np.ndarray, rows: np.ndarray, reasons: np.ndarray
) -> np.ndarray:
    """ "in the registry: …; not written: …" before the row's own reasons, joined without a loop."""
    n_rows = int(rec_rid.max()) + 1 if len(rec_rid) else 0
    wanted = np.isin(rec_rid, rows)
    words = _record_words(records.loc[wanted, "entity"], records.loc[wanted, "key"])
    rid = rec_rid[wanted]
    done = records.loc[wanted, "status"].astype(str).isin(_WRITTEN).to_numpy()
    there = _join_by_row(np.where(done, rid, -1), words, n_rows, sep=", ", unique=True)[rows]
    missing = _join_by_row(np.where(done, -1, rid), words, n_rows, sep=", ", unique=True)[rows]
    head = "partly written: in the registry: " + pd.Series(there, dtype=object) + "; not written: "
    tail = " (fix the cause below, then import the same file again to complete the row); "
    return (head + pd.Series(missing, dtype=object) + tail + pd.Series(reasons, dtype=object)).to_numpy()


def _record_words(entities: pd.Series, keys: pd.Series) -> np.ndarray:
    """ "person 'P1'", "an ID number of person 'P1'", "the membership" for each record."""
    entities = entities.astype(str).to_numpy(dtype=object)
    keys = keys.astype(str)
    word = pd.Series(entities).map({e.value: info.word for e, info in ENTITIES.items()}).fillna("record")
    words = (word + " '" + keys.reset_index(drop=True) + "'").to_numpy(dtype=object)
    owner = ("of person '" + keys.str.split("__").str[0] + "'").to_numpy()  # key: <person>__…
    for entity in (Entity.REG_ID, Entity.PHONE, Entity.BANK):
        mine = entities == entity.value
        noun = ENTITIES[entity].word
        article = "an" if noun[:1].lower() in "aeiou" else "a"
        words[mine] = (f"{article} {noun} " + owner)[mine]
    words[entities == Entity.MEMBERSHIP.value] = "the membership"
    return words


def _fates(rows: pd.DataFrame, records: pd.DataFrame, rec_rid: np.ndarray) -> dict[str, int]:
    """Input rows by what happens to them: new (a record made), to update, unchanged, need attention.

    A row that makes a record is "new" (a new person in an existing
    household too); one that only changes records is "to update".  In a
    dry run the records are all "valid": their planned ``action`` tells.
    """
    n_rows = len(rows)
    status = records["status"].to_numpy(dtype=object)
    action = records["action"].to_numpy(dtype=object)
    valid = status == Status.VALID.value
    makes = (status == Status.CREATED.value) | (valid & ~np.isin(action, ["update", "unchanged"]))
    changes = (status == Status.UPDATED.value) | (valid & (action == "update"))
    flags = np.zeros(n_rows, dtype=np.int64)
    linked = rec_rid >= 0
    np.bitwise_or.at(flags, rec_rid[linked], (makes.astype(np.int64) | changes.astype(np.int64) << 1)[linked])
    ok = rows["status"].isin(OK_STATUSES).to_numpy()
    empty = (rows["status"] == Status.SKIPPED.value).to_numpy() & (
        rows["reasons"] == EMPTY_ROW_REASON
    ).to_numpy()
    return {
        "new": int((ok & (flags & 1 == 1)).sum()),
        "to_update": int((ok & (flags == 2)).sum()),
        "unchanged": int((ok & (flags == 0)).sum()),
        "attention": int((~ok & ~empty).sum()),
    }


def _reason_items(
    records: pd.DataFrame, rec_rid: np.ndarray, problems: pd.DataFrame, prob_rid: np.ndarray
) -> tuple[np.ndarray, pa.Array]:
    """(row id, reason text) pairs: record reasons split into items, then errors, then warnings."""
    rids: list[np.ndarray] = []
    texts: list[pa.Array] = []
    if len(records):
        lists = pc.split_pattern(to_arrow_text(records["reasons"]), "; ")
        rids.append(rec_rid[pc.list_parent_indices(lists).to_numpy()])
        texts.append(pc.list_flatten(lists))
    if len(problems):
        message = to_arrow_text(problems["message"])
        is_warning = (problems["severity"] != "error").to_numpy(dtype=bool)
        marked = pc.binary_join_element_wise(_large("warning: "), message, _large(""))
        text = pc.if_else(pa.array(is_warning), marked, message)
        order = np.argsort(is_warning, kind="stable")  # a row's errors come before its warnings
        rids.append(prob_rid[order])
        texts.append(text.take(pa.array(order)))
    if not rids:
        return np.zeros(0, dtype=np.int64), pa.array([], type=pa.large_string())
    return np.concatenate(rids), pa.concat_arrays(texts)


# --------------------------------------------------------------------------------------------
# Secrets and JSON safety
# --------------------------------------------------------------------------------------------


def scrub_meta(meta: Any, *, secrets: Iterable[str] = ()) -> Any:
    """Return a copy of ``meta`` fit to print: secret-named keys dropped, secret values masked.

    Belt and braces: the CLI should never put a secret in meta, but a report
    lives on disk for years, so anything keyed like a password/API key/token
    is removed, user-info in URLs (``https://u:p@host``) is cut, and any known
    secret string is replaced by ``***`` wherever it appears.
    """
    known = [s for s in secrets if isinstance(s, str) and s]

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                k: clean(v) for k, v in value.items() if not (isinstance(k, str) and _SECRET_KEY_RE.search(k))
            }
        if isinstance(value, (list, tuple)):
            return type(value)(clean(v) for v in value)
        if isinstance(value, str):
            text = _URL_USERINFO_RE.sub(r"\g<scheme>", value)
            for secret in known:
                text = text.replace(secret, "***")
            return text
        return value

    return clean(meta)


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _status_counts(series: pd.Series) -> dict[str, int]:
    return _in_status_order({str(s): int(n) for s, n in series.value_counts().items() if n})


def _in_status_order(counts: dict[str, int]) -> dict[str, int]:
    ordered = [s for s in STATUS_ORDER if s in counts]
    ordered += sorted(set(counts) - set(ordered))
    return {s: counts[s] for s in ordered}


def _describe_problem(problem: Mapping[str, Any]) -> str:
    """One problem as a sentence with its place: ``people.csv, row 12, column 'Sex': ...``."""
    parts = [str(problem.get("file") or "")]
    if problem.get("sheet"):
        parts.append(f"sheet '{problem['sheet']}'")
    row = problem.get("row")
    if row is not None and row is not pd.NA and not (isinstance(row, float) and math.isnan(row)):
        parts.append(f"row {int(row)}")
    if isinstance(problem.get("column"), str) and problem["column"]:
        parts.append(f"column '{problem['column']}'")
    text = ", ".join(p for p in parts if p) + ": " + str(problem.get("message") or "")
    suggestion = problem.get("suggestion")
    if isinstance(suggestion, str) and suggestion:
        text += f" ({suggestion})"
    return text


def _written_before_the_stop(report: RunReport) -> str:
    """What reached the registry before a stop, by entity.

    A stopped run's rows are mostly 'skipped' (a row is as bad as its worst
    record: a person written without their membership), so the clerk is told
    plainly what was written.
    """
    counts = report.counts()  # records per entity and status (a chunked run keeps no records)
    done = [s for s in (Status.CREATED.value, Status.UPDATED.value) if s in counts.columns]
    by_entity = counts[done].sum(axis=1) if done else pd.Series(dtype="int64")
    parts = [f"{by_entity[e]} {ENTITY_PLURALS.get(e, e)}" for e in ENTITY_PLURALS if by_entity.get(e)]
    return "Written before the stop: " + (", ".join(parts) if parts else "nothing") + "."


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def headline(report: RunReport) -> str:
    """The run in one line, in the clerk's words, counting input rows.

    Dry run: "12 new, 3 to update (7 values change, 1 cleared), 223 already
    there"; an import says the same in the past tense.  "values change"
    counts the fields whose value changes, "cleared" those emptied on
    purpose (``--empty-cells clear``); each is counted once per record.
    """
    if not report.has_rows:
        return NO_ROWS
    fates = report.fates
    attention = fates.get("attention", 0)
    tail = f", {attention} {'needs' if attention == 1 else 'need'} attention" if attention else ""
    if report.mode == "validate":  # offline: nothing is known of what the server holds
        ok = fates.get("new", 0) + fates.get("to_update", 0) + fates.get("unchanged", 0)
        return f"{ok} valid{tail}"
    done = report.mode == "import"
    values, cleared = fates.get("values_change", 0), fates.get("cleared", 0)
    detail = []
    if values:
        detail.append(
            _plural(
                values,
                "value changed" if done else "value changes",
                "values changed" if done else "values change",
            )
        )
    if cleared:
        detail.append(f"{cleared} cleared")
    update = f"{fates.get('to_update', 0)} {'updated' if done else 'to update'}"
    if detail:
        update += " (" + ", ".join(detail) + ")"
    new = f"{fates.get('new', 0)} {'added' if done else 'new'}"
    return f"{new}, {update}, {fates.get('unchanged', 0)} already there{tail}"


def summary_text(report: RunReport, *, max_errors: int = 5) -> str:
    """What the terminal shows at the end of a run: the headline, counts, first errors, report files."""
    lines = [MODE_TITLES.get(report.mode, report.mode), headline(report)]
    if not report.has_rows:
        lines += ["", "The file has a header but no rows: nothing was checked or sent (exit code 2)."]
        if report.files:
            lines += ["", "Reports:"] + [f"  {kind}: {path}" for kind, path in report.files.items()]
        return "\n".join(lines)
    counts = report.counts()
    if len(counts):
        lines += ["", counts.to_string()]
    facts = report.row_facts()
    row_counts, total = facts.by_status, facts.total
    detail = ", ".join(f"{n} {s}" for s, n in row_counts.items())
    lines += ["", f"Input rows: {total}" + (f" ({detail})" if detail else "")]
    table = errors_table(report)  # validation problems, then what the server refused
    all_errors = table[table["severity"] == "error"] if len(table) else table
    errors, refused, warnings = report.problem_totals()
    by_server = f" ({refused} refused by the server)" if refused else ""
    lines.append(f"Problems: {errors} error(s){by_server}, {warnings} warning(s)")
    for key, words in (("tags_created", "Tags created"), ("tags_to_create", "Tags a real run would create")):
        if report.meta.get(key):  # create_tags: the clerk sees every tag the run added to the registry
            lines.append(f"{words}: " + ", ".join(report.meta[key]))
    chosen = report.meta.get("concurrency")
    if chosen:  # how many load calls were in flight (docs/architecture.md §6)
        lines.append(f"Load calls in flight: {chosen['summary']}")
    if errors:
        first = all_errors.head(max_errors)
        lines.append("")
        lines.append(f"First {len(first)} error(s):" if errors > len(first) else "Errors:")
        for record in first.to_dict("records"):
            lines.append(f"  - {_describe_problem(record)}")
        if errors > len(first):
            lines.append(f"  ... and {errors - len(first)} more (see the report)")
    if report.files:
        lines += ["", "Reports:"]
        lines += [f"  {kind}: {path}" for kind, path in report.files.items()]
    stopped = report.meta.get("stopped")
    if stopped:  # the exit code is 2, whatever the rows say
        again = "run the same command again to finish."
        if stopped != STOPPED_ON_REQUEST:
            again = "once that is put right, " + again
        lines += [
            "",
            f"The run STOPPED before the end (exit code 2): {stopped}.",
            _written_before_the_stop(report),
            "Nothing written is lost or doubled: " + again,
        ]
        return "\n".join(lines)
    elif report.exit_code() == 0:
        result = "everything went through"
    else:
        result = "some rows need attention (exit code 1)"
    lines += ["", "Result: " + result]
    return "\n".join(lines)


def summary_json(report: RunReport) -> dict[str, Any]:
    """The machine-readable summary for ``--json``: counts, exit code, files, meta; json.dumps-able."""
    counts = report.counts()
    facts = report.row_facts()
    per_entity = {
        str(entity): {str(k): int(v) for k, v in row.items() if k != "total" and v}
        for entity, row in counts.drop(index="input rows", errors="ignore").iterrows()
    }
    return jsonable(
        {
            "mode": report.mode,
            "exit_code": report.exit_code(),
            "counts": per_entity,
            "input_rows": {"total": facts.total, **facts.by_status},
            # input rows by fate, and the values an update changes or clears (see headline())
            "changes": {**report.fates, "headline": headline(report)},
            "errors": report.error_count,
            "warnings": report.warning_count,
            "files": {k: str(v) for k, v in report.files.items()},
            "meta": report.meta,
        }
    )


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def errors_table(report: RunReport) -> pd.DataFrame:
    """Problems, then every record the server refused, in the column order a person reads them.

    A row the server refused is an error of that row as much as a validation
    problem is: a clerk working through the errors file must find it there,
    with the server's message, not only in the per-row status CSV.
    """
    problems = report.problems.reindex(columns=ERROR_REPORT_COLUMNS)
    refused = _server_refusals(report.records)
    if not len(refused):
        return problems
    if not len(problems):
        return refused
    return pd.concat([problems, refused], ignore_index=True)


#: What to do about a refused row, by whether the server was only busy with the same household.
REFUSED_SUGGESTION = "correct the row as the server's message says, then import the same file again"
TRANSIENT_SUGGESTION = (
    "another import was writing the same household at the time: import the same file again "
    "(rows already written are not written twice)"
)


def _server_refusals(records: pd.DataFrame) -> pd.DataFrame:
    """One error line per record the server refused (code ``server_refused``, the server's message)."""
    if not len(records):
        return pd.DataFrame(columns=ERROR_REPORT_COLUMNS)
    # the failed records first: texts for millions of records cost tens of bytes each (a chunked run)
    failed = records[(records["status"] == Status.FAILED.value).to_numpy(dtype=bool)]
    reasons = failed["reasons"].astype(object).fillna("").astype(str)
    refused = failed[reasons.str.startswith(REFUSED_BY_SERVER).to_numpy(dtype=bool)]
    if not len(refused):
        return pd.DataFrame(columns=ERROR_REPORT_COLUMNS)
    messages = reasons[refused.index]
    transient = messages.map(is_transient).to_numpy(dtype=bool)
    n = len(refused)
    return pd.DataFrame(
        {
            "file": refused["file"].to_numpy(dtype=object),
            "sheet": refused["sheet"].to_numpy(dtype=object),
            "row": refused["row"].to_numpy(),
            "column": np.full(n, None, dtype=object),
            "value": np.full(n, None, dtype=object),
            "severity": np.full(n, "error", dtype=object),
            "code": np.full(n, "server_refused", dtype=object),
            "message": messages.to_numpy(dtype=object),
            "suggestion": np.where(transient, TRANSIENT_SUGGESTION, REFUSED_SUGGESTION).astype(object),
            "entity": refused["entity"].to_numpy(dtype=object),
            "key": refused["key"].to_numpy(dtype=object),
        }
    ).astype({"row": "Int64"})


def write_csv(report: RunReport, path: str | Path) -> Path:
    """Write the per-input-row CSV at ``path`` and the problems beside it as ``<stem>-errors.csv``.

    UTF-8 with a byte-order mark, because clerks open these in Excel, which
    mangles accented names in BOM-less UTF-8.  Every text cell is neutralised
    against formula injection; Arrow's C++ writer keeps a million rows to
    about a second.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safe_csv(report.rows[ROW_COLUMNS], path)
    write_safe_csv(errors_table(report), errors_csv_path(path))
    return path


def write_safe_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV: integers as numbers, everything else as neutralised text."""
    path = Path(path)
    with path.open("wb") as handle:
        handle.write(codecs.BOM_UTF8)
        append_safe_csv(frame, handle, header=True)
    return path


def append_safe_csv(frame: pd.DataFrame, handle: Any, *, header: bool) -> None:
    """Write ``frame``'s lines (and its header line when ``header``) to an open binary file.

    A chunked run (``importer.chunked``) appends each chunk's rows as it goes, so
    a run that is stopped still leaves the report of what it did.
    """
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_integer_dtype(column.dtype):
            columns[str(name)] = pa.array(column.array, type=pa.int64())
        else:
            columns[str(name)] = neutralise_arrow(column)
    table = pa.table(columns) if columns else pa.table({})
    options = pa_csv.WriteOptions(quoting_style="needed", include_header=header)
    pa_csv.write_csv(table, handle, options)


def errors_csv_path(csv_path: str | Path) -> Path:
    """Where :func:`write_csv` puts the problems CSV for a given rows CSV."""
    csv_path = Path(csv_path)
    return csv_path.with_name(f"{csv_path.stem}-errors.csv")


def write_reports(
    report: RunReport,
    sources: Sequence[SourceLike],
    out_dir: str | Path,
    stem: str,
    *,
    xlsx: bool = True,
    drafts: Sequence[XlsxDraft] = (),
) -> dict[str, Path]:
    """Write ``<stem>.csv``, ``<stem>-errors.csv`` and (unless not ``xlsx``) ``<stem>.xlsx`` into ``out_dir``.

    Returns the paths by kind (``csv``, ``errors_csv``, ``xlsx``) and records
    them on ``report.files`` so the summaries can point at them.  ``drafts``: the
    workbook's sheets written ahead from reports the run expected
    (:class:`importer.report_xlsx.XlsxDraft`), one kept only if it is this report's.
    """
    from importer.report_xlsx import write_xlsx  # local: openpyxl only loads when needed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = write_csv(report, out_dir / f"{stem}.csv")
    files = {"csv": csv_path, "errors_csv": errors_csv_path(csv_path)}
    if xlsx:
        files["xlsx"] = write_xlsx(report, sources, out_dir / f"{stem}.xlsx", drafts=drafts)
    report.files.update(files)
    return files
