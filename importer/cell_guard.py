"""Cells that look filled but must not reach the registry as they are: no-value cells and formulas.

Run once per import, after the mapping is bound to the files
(:func:`check_cells`), because whether a cell matters depends on the mapping:

- **No value** (found by the read stage, :attr:`SourceTable.cell_errors`): an
  Excel error (``#N/A``, ``#REF!``…) or a formula saved without a result. In a
  column the mapping reads it is an error of its row: written as it reads it
  would erase or garble a value (a given name would silently become empty).
  In a column nothing reads it is only a warning: nothing of it is written.
- **Formula-like text** in a column the mapping reads: text beginning with
  ``=`` or ``@`` is an error (``formula_text``) unless the mapping says
  ``allow_formula_text``. It is almost always a formula pasted as text, or one
  a CSV kept as text, and once in the registry any export opened in a
  spreadsheet would run it (CSV injection, OWASP). Text beginning with ``+``
  or ``-`` that is neither a number nor a phone number is a warning
  (``sign_start``): it is written, but worth a look. Number, phone, date,
  yes/no and coded columns are left to validation, which refuses a malformed
  value there anyway.

Leading spaces are ignored, as the mapping stage strips them before writing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from importer.cells import to_arrow_text
from importer.mapping import FIELD_KINDS, Binding, EntitySpec, Mapping
from importer.outcome import Problem
from importer.read import SourceTable

__all__ = ["check_cells"]

#: Kinds whose values are free text: only there does a ``+``/``-`` start deserve a warning.
_TEXT_KINDS = frozenset({"text", "key", "id", "email"})
_NUMBER = re.compile(r"[+-]\s*(?:\d[\d\s,']*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PHONE = re.compile(r"\+[\d\s().\-/]+")
_PHONE_DIGITS = 6


def _column_kinds(spec: EntitySpec) -> dict[str, set[str]]:
    """Each column an entity reads, with the kinds of value it feeds."""
    kinds: dict[str, set[str]] = {}
    for column in (spec.key, spec.group, spec.individual, *spec.ids.values()):
        if column:
            kinds.setdefault(column, set()).add("key")
    for name, field_spec in spec.fields.items():
        if field_spec.column:
            kinds.setdefault(field_spec.column, set()).add(FIELD_KINDS[spec.entity].get(name, "text"))
    return kinds


def _read_columns(bindings: Sequence[Binding]) -> dict[int, dict[str, set[str]]]:
    """id(table) -> column -> kinds, over every entity that reads that table."""
    read: dict[int, dict[str, set[str]]] = {}
    for binding in bindings:
        columns = read.setdefault(id(binding.table), {})
        for column, kinds in _column_kinds(binding.spec).items():
            columns.setdefault(column, set()).update(kinds)
    return read


def _no_value_problems(table: SourceTable, read: dict[str, set[str]]) -> list[Problem]:
    """The read stage's no-value cells: errors where the mapping reads the column, else warnings."""
    problems: list[Problem] = []
    for problem in table.cell_errors:
        if problem.column in read:
            problems.append(problem)
        else:
            note = " The column is not imported, so the row is still written."
            problems.append(replace(problem, severity="warning", message=problem.message + note))
    return problems


def _is_number_or_phone(text: str) -> bool:
    if _NUMBER.fullmatch(text):
        return True
    return bool(_PHONE.fullmatch(text)) and sum(ch.isdigit() for ch in text) >= _PHONE_DIGITS


def _formula_like(table: SourceTable, column: str, kinds: set[str], mapping: Mapping) -> list[Problem]:
    """``=``/``@`` starts (errors) and ``+``/``-`` starts that are not numbers (warnings) in one column."""
    if mapping.allows_formula_text(column):
        return []
    series = table.frame[column]
    first = pc.utf8_slice_codeunits(pc.utf8_ltrim_whitespace(to_arrow_text(series)), 0, 1)
    formula = pc.is_in(first, value_set=pa.array(["=", "@"], type=first.type)).to_numpy(zero_copy_only=False)
    signed = np.zeros(len(series), dtype=bool)
    if kinds <= _TEXT_KINDS:
        sign_set = pa.array(["+", "-"], type=first.type)
        signed = pc.is_in(first, value_set=sign_set).to_numpy(zero_copy_only=False)
    if not (formula.any() or signed.any()):
        return []
    rows = series.index
    problems: list[Problem] = []
    for i in np.flatnonzero(formula | signed):
        value = str(series.iat[i])
        if formula[i]:
            problems.append(_formula_text(table, int(rows[i]), column, value))
        elif not _is_number_or_phone(value.strip()):
            problems.append(_sign_start(table, int(rows[i]), column, value))
    return problems


def _formula_text(table: SourceTable, row: int, column: str, value: str) -> Problem:
    return Problem(
        code="formula_text",
        message=(
            f"The text begins with '{value.strip()[0]}' like a formula, so the row is refused: a "
            "spreadsheet opening it later would run it. Type the value itself, not a formula; if "
            "this column really holds such text, add 'allow_formula_text' to the mapping."
        ),
        file=table.path.name,
        sheet=table.sheet,
        row=row,
        column=column,
        value=value,
    )


def _sign_start(table: SourceTable, row: int, column: str, value: str) -> Problem:
    return Problem(
        code="sign_start",
        message=(
            f"The text begins with '{value.strip()[0]}' but is not a number or a phone number; "
            "a spreadsheet may read it as a formula. It was written as typed: check it is meant."
        ),
        file=table.path.name,
        sheet=table.sheet,
        row=row,
        column=column,
        value=value,
        severity="warning",
    )


def check_cells(
    mapping: Mapping, sources: Sequence[SourceTable], bindings: Sequence[Binding]
) -> list[Problem]:
    """Every no-value and formula-like cell of the files, judged by whether the mapping reads it.

    Each problem names the file, sheet, row (as Excel shows it) and the
    clerk's column, so the report can join it to its row; an error stops that
    row from being written.
    """
    read = _read_columns(bindings)
    problems: list[Problem] = []
    for table in sources:
        columns = read.get(id(table), {})
        found = _no_value_problems(table, columns)
        for column, kinds in columns.items():
            if column in table.frame.columns:
                found += _formula_like(table, column, kinds, mapping)
        position = {name: i for i, name in enumerate(table.frame.columns)}
        problems += sorted(found, key=lambda p: (p.row or 0, position.get(p.column, 0)))
    return problems
