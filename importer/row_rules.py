"""A row is all or nothing: what is refused in any part of an input row holds back the rest of it.

One spreadsheet row often makes several records: a roster row is a person,
the person's IDs, a membership and (on a household's first row) the
household.  Validation judges each record on its own, so without this step a
row whose membership is refused (a second Head, no household number) would
still write its person: a registrant in no household, whom nobody will look
for.  This stage runs after validation and before the plan, and decides,
for the whole file at once:

- every record made from a row that carries an error (a validation error of
  any of its records, or a cell error found while reading) is *held back*:
  not sent, reported ``skipped`` with the reason;
- a membership whose household or person is refused or held back is held
  back too, and so, in turn, is the rest of its row; so is a relationship
  stated on a person's row (a roster's relationship column) whose related
  registrant is refused: it is part of that row, like the person's phones;
- a household is the exception: several rows share it, so a household whose
  first row is held back is still written when another row that is written
  needs it, and that row claims it in the report (every record on the server
  is claimed by exactly one row that was written).  A household whose own
  cells are wrong is never written.

It hands the plan new tables (a household may change the row that claims it)
and the held-back records with their reasons; the validation it was given is
left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from importer.canonical import ON_PERSON_ROW, CanonicalTable
from importer.normalise import isin
from importer.outcome import Entity, Problem
from importer.validate import Validation

#: What the report says of a record held back because another part of its row is refused.
ROW_REFUSED = "not sent: another part of this row is refused, and a row is written whole or not at all"
ROW_REFUSED_DRY = (
    "would not be sent: another part of this row is refused, and a row is written whole or not at all"
)
PARENT_WORDS = {Entity.GROUP: "household", Entity.INDIVIDUAL: "person"}


@dataclass(frozen=True)
class RowVerdict:
    """What the plan may send: the tables (origins settled) and the records held back, with why."""

    tables: dict[Entity, CanonicalTable]
    #: entity -> canonical index -> why the record is not sent (its row or its parent is refused)
    held: dict[Entity, pd.Series]

    def held_rows(self, entity: Entity) -> pd.Index:
        series = self.held.get(entity)
        return series.index if series is not None else pd.Index([])


class _Origins:
    """Input rows as int64 codes ((file, sheet) pair number << 32 | row), for vectorised set tests."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], int] = {}

    def pair(self, file: str, sheet: str | None) -> int:
        return self._pairs.setdefault((Path(str(file)).name, str(sheet or "")), len(self._pairs))

    def of_frame(self, frame: pd.DataFrame) -> np.ndarray:
        if not len(frame):
            return np.zeros(0, dtype=np.int64)
        file_codes, files = pd.factorize(frame["_file"])  # categoricals: a handful of values
        sheet_codes, sheets = pd.factorize(frame["_sheet"])
        combined = file_codes.astype(np.int64) * len(sheets) + sheet_codes
        pair_ids = np.zeros(len(files) * len(sheets), dtype=np.int64)
        for code in np.unique(combined):
            pair_ids[code] = self.pair(str(files[code // len(sheets)]), str(sheets[code % len(sheets)]))
        return (pair_ids[combined] << 32) | frame["_row"].to_numpy(dtype=np.int64)

    def of_problem(self, problem: Problem) -> int:
        return (self.pair(problem.file or "", problem.sheet) << 32) | int(problem.row or 0)


def hold_back(
    tables: dict[Entity, CanonicalTable],
    validation: Validation,
    problems: Iterable[Problem],
    *,
    dry_run: bool = False,
) -> RowVerdict:
    """Decide which records are held back so that every row is written whole or not at all.

    ``problems`` are every problem found so far (the reader's and the
    validation's): any error tied to a row marks that row refused.
    """
    origins = _Origins()
    errors = [p for p in problems if p.severity == "error" and p.row is not None]
    refused_rows = {origins.of_problem(p) for p in errors}
    codes = {entity: origins.of_frame(canon.frame) for entity, canon in tables.items()}
    gone: dict[Entity, np.ndarray] = {  # refused by validation, or held back here
        entity: _in_index(canon.frame.index, validation.invalid_rows(entity))
        for entity, canon in tables.items()
    }
    why: dict[Entity, pd.Series] = {entity: pd.Series(dtype=object) for entity in tables}
    row_refused = ROW_REFUSED_DRY if dry_run else ROW_REFUSED

    def hold(entity: Entity, mask: np.ndarray, reason: str | pd.Series) -> bool:
        new = mask & ~gone[entity]
        if not new.any():
            return False
        gone[entity] = gone[entity] | new
        index = tables[entity].frame.index[new]
        texts = reason[new] if isinstance(reason, pd.Series) else pd.Series(reason, index=index)
        why[entity] = pd.concat([why[entity], pd.Series(np.asarray(texts, dtype=object), index=index)])
        return True

    group_own_errors = _own_cell_errors(tables.get(Entity.GROUP), errors, origins)
    if Entity.GROUP in tables:  # a household whose own cells are wrong is never written
        hold(Entity.GROUP, np.isin(codes[Entity.GROUP], list(group_own_errors)), row_refused)

    changed = True
    while changed:  # each pass can only hold more back, so this ends
        changed = False
        for entity in tables:
            refused_rows.update(codes[entity][gone[entity]].tolist())
        refused = np.array(sorted(refused_rows), dtype=np.int64)
        members = tables.get(Entity.MEMBERSHIP)
        if members is not None:
            frame = members.frame
            for parent, column in ((Entity.GROUP, "group"), (Entity.INDIVIDUAL, "individual")):
                lost = _lost(tables.get(parent), gone.get(parent))
                if lost.empty:
                    continue
                hit = isin(frame[column], lost).to_numpy()
                reason = (
                    ("would not be sent: " if dry_run else "not sent: ")
                    + f"its {PARENT_WORDS[parent]} '"
                    + frame[column].astype(str)
                    + "' is refused"
                )
                changed |= hold(Entity.MEMBERSHIP, hit, reason)
            changed |= hold(Entity.MEMBERSHIP, np.isin(codes[Entity.MEMBERSHIP], refused), row_refused)
        relations = tables.get(Entity.RELATIONSHIP)
        if relations is not None and ON_PERSON_ROW in relations.frame.columns:
            frame = relations.frame
            stated = (frame[ON_PERSON_ROW] == "1").to_numpy()
            for parent in (Entity.INDIVIDUAL, Entity.GROUP):  # the related registrant is refused
                lost = _lost(tables.get(parent), gone.get(parent))
                if lost.empty:
                    continue
                hit = stated & isin(frame["destination"], lost).to_numpy()
                reason = (
                    ("would not be sent: " if dry_run else "not sent: ")
                    + f"its related {PARENT_WORDS[parent]} '"
                    + frame["destination"].astype(str)
                    + "' is refused"
                )
                changed |= hold(Entity.RELATIONSHIP, hit, reason)
        if Entity.INDIVIDUAL in tables:
            changed |= hold(Entity.INDIVIDUAL, np.isin(codes[Entity.INDIVIDUAL], refused), row_refused)
        for entity in (Entity.REG_ID, Entity.RELATIONSHIP):  # rows of their own sheets: a cell error
            if entity in tables:  # the validator does not see (a formula, #N/A) holds the row back
                changed |= hold(entity, np.isin(codes[entity], refused), row_refused)
        if Entity.GROUP in tables:
            needed = _needed_groups(tables, gone)
            group = tables[Entity.GROUP].frame
            unneeded = ~isin(group["key"], needed).to_numpy()
            changed |= hold(Entity.GROUP, np.isin(codes[Entity.GROUP], refused) & unneeded, row_refused)

    out = dict(tables)
    if Entity.GROUP in tables and Entity.MEMBERSHIP in tables:
        out[Entity.GROUP] = _claimed_by_written_rows(tables, gone, codes, refused_rows)
    held = {entity: series for entity, series in why.items() if len(series)}
    return RowVerdict(tables=out, held=held)


def _lost(source: CanonicalTable | None, gone: np.ndarray | None) -> pd.Series:
    """Keys of records refused or held back, and not also sent from another row."""
    if source is None or gone is None:
        return pd.Series([], dtype="str")
    keys = source.frame["key"]
    lost = keys[gone]
    return lost[~isin(lost, keys[~gone])]


def _own_cell_errors(group: CanonicalTable | None, errors: list[Problem], origins: _Origins) -> set[int]:
    """Rows whose errors are in the household's own cells (not another record's on the same row)."""
    if group is None:
        return set()
    headers = set(group.columns.values())
    return {
        origins.of_problem(p)
        for p in errors
        if p.entity == Entity.GROUP.value or (p.entity is None and p.column in headers)
    }


def _needed_groups(tables: dict[Entity, CanonicalTable], gone: dict[Entity, np.ndarray]) -> pd.Series:
    """Households some membership that is still to be sent points at."""
    members = tables.get(Entity.MEMBERSHIP)
    if members is None:
        return pd.Series([], dtype="str")
    return members.frame["group"][~gone[Entity.MEMBERSHIP]]


def _in_index(index: pd.Index, among: pd.Index) -> np.ndarray:
    """``index.isin(among)`` without a Python object per label when both are integers."""
    if not len(among):
        return np.zeros(len(index), dtype=bool)
    if index.dtype.kind in "iu" and among.dtype.kind in "iu":
        return np.isin(index.to_numpy(), among.to_numpy())
    return index.isin(among)


def _claimed_by_written_rows(
    tables: dict[Entity, CanonicalTable],
    gone: dict[Entity, np.ndarray],
    codes: dict[Entity, np.ndarray],
    refused_rows: set[int],
) -> CanonicalTable:
    """The household table, each written household claimed by a row that is written.

    A roster names a household on every member's row and keeps the first; when
    that first row is refused but other rows still need the household, the
    first of those rows claims it instead, so no refused row claims a record.
    """
    group = tables[Entity.GROUP]
    frame = group.frame
    moved = ~gone[Entity.GROUP] & np.isin(codes[Entity.GROUP], list(refused_rows))
    if not moved.any():
        return group
    members = tables[Entity.MEMBERSHIP].frame.loc[~gone[Entity.MEMBERSHIP]]
    firsts = members.drop_duplicates("group").set_index("group")
    keys = frame.loc[moved, "key"]
    frame = frame.copy()
    for column in ("_file", "_sheet", "_row"):
        values = keys.map(firsts[column])
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
        frame.loc[moved, column] = values.to_numpy()
    frame["_row"] = frame["_row"].astype("int64")
    return replace(group, frame=frame)
