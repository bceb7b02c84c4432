"""The validate stage: run every schema lazily and turn pandera's failure cases into Problems.

pandera collects every failure in one pass (``lazy=True``) as a DataFrame;
this module joins those failures back to the rows and columns the clerk
sees, with a sentence and, where obvious, a suggestion.  Nothing is
re-parsed from error strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from importer.canonical import CanonicalTable
from importer.catalog import Catalog
from importer.normalise import suggest
from importer.outcome import Entity, Problem
from importer.schemas import RULES, build_schema


@dataclass
class Validation:
    """Problems found, and which canonical rows (by index) they make invalid."""

    problems: list[Problem] = field(default_factory=list)
    invalid: dict[Entity, pd.Index] = field(default_factory=dict)

    def invalid_rows(self, entity: Entity) -> pd.Index:
        return self.invalid.get(entity, pd.Index([]))


def _allowed(entity: Entity, column: str, catalog: Catalog) -> list[str]:
    if column == "gender":
        return catalog.genders
    if column == "kind":
        return list(catalog.group_kinds if entity is Entity.GROUP else catalog.membership_kinds)
    return []


def _problems_from(
    failures: pd.DataFrame, canon: CanonicalTable, catalog: Catalog
) -> tuple[list[Problem], pd.Index]:
    """One Problem per (rule, row): dataframe-wide rules are blamed on their rule's column."""
    frame = canon.frame
    failures = failures[failures["index"].notna()].copy()
    if failures.empty:
        return [], pd.Index([])
    failures["rule"] = failures["check"].astype(str)
    blamed = failures["rule"].map(lambda r: RULES[r].column if r in RULES else None)
    failures["column"] = blamed.where(blamed.notna(), failures["column"])
    failures = failures.drop_duplicates(["rule", "column", "index"])
    problems: list[Problem] = []
    for rule, column, index in failures[["rule", "column", "index"]].itertuples(index=False):
        row = frame.loc[index]
        value = str(row[column]) if column in frame.columns else ""
        if column in canon.written:
            value = str(canon.written[column].get(index, value))
        header = canon.columns.get(column, column)
        spec = RULES.get(rule)
        if spec is None:
            message = f"{header}: check '{rule}' failed"
        else:
            message = spec.message.format(value=value, column=header)
        hint = None
        if rule == "unknown_code":
            options = _allowed(canon.entity, column, catalog)
            guesses = [g for g in (suggest(v, options) for v in value.split(",")) if g]
            hint = (
                f"did you mean '{guesses[0]}'?"
                if guesses
                else ("allowed: " + ", ".join(options) if options else None)
            )
        problems.append(
            Problem(
                code=rule,
                message=message,
                file=str(row["_file"]),
                sheet=str(row["_sheet"]) or None,
                row=int(row["_row"]),
                column=header,
                value=value,
                suggestion=hint,
                entity=canon.entity.value,
                key=str(row["key"]),
            )
        )
    return problems, pd.Index(failures["index"].unique())


def validate_tables(
    tables: dict[Entity, CanonicalTable],
    catalog: Catalog,
    *,
    server_groups: set[str] | None = None,
    server_individuals: set[str] | None = None,
) -> Validation:
    """Validate every canonical table; memberships may point at the file or the server."""
    result = Validation()
    for entity in (Entity.GROUP, Entity.INDIVIDUAL, Entity.MEMBERSHIP):
        canon = tables.get(entity)
        if canon is None:
            continue
        result.problems.extend(canon.problems)
        known_groups = known_individuals = None
        if entity is Entity.MEMBERSHIP:
            known_groups = _known(tables.get(Entity.GROUP), server_groups)
            known_individuals = _known(tables.get(Entity.INDIVIDUAL), server_individuals)
        schema = build_schema(
            entity,
            canon.frame.columns,
            catalog,
            known_groups=known_groups,
            known_individuals=known_individuals,
        )
        try:
            schema.validate(canon.frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            problems, bad = _problems_from(exc.failure_cases, canon, catalog)
            result.problems.extend(problems)
            result.invalid[entity] = bad
    return result


def _known(canon: CanonicalTable | None, server: set[str] | None) -> pd.Series:
    """Keys a membership may point at: the file's records and the server's."""
    parts = [pd.Series(list(server or ()), dtype="str")]
    if canon is not None:
        parts.append(canon.frame["key"])
    return pd.concat(parts, ignore_index=True).drop_duplicates()
