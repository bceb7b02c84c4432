"""The validate stage: run every schema lazily and turn pandera's failure cases into Problems.

pandera collects every failure in one pass (``lazy=True``) as a DataFrame;
this module joins those failures back to the rows and columns the clerk
sees, with a sentence and, where obvious, a suggestion.  Nothing is
re-parsed from error strings.

Each sentence quotes the cell as the clerk wrote it (``'15/06/2031'``, looked
up in the source table, not the ISO date the map stage made of it) and says
the form expected there in words (:mod:`importer.forms`); a problem is
reported once per cell even when the cell feeds two records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd
import pandera.pandas as pa

from importer.canonical import CanonicalTable, column_id_keys, id_column, shared_id_numbers
from importer.catalog import PARTNER, Catalog
from importer.fields import RegistryField, server_field
from importer.forms import (
    BOOLEAN_FORM,
    EMAIL_FORM,
    NUMBER_FORM,
    PHONE_FORM,
    date_form,
    date_reading,
    datetime_form,
    pattern_form,
)
from importer.mapping import FIELD_KINDS, SHEET_ENTITIES
from importer.normalise import suggest
from importer.outcome import Entity, Problem
from importer.schemas import (
    ID_EXPIRY_PREFIX,
    PHONE_DATE_PREFIX,
    PHONE_PREFIX,
    SAME_PROBLEM,
    UNKNOWN_PART,
    UNKNOWN_PARTS,
    build_schema,
)
from importer.schemas import rule as rule_for

ID_PREFIX = id_column("")  # an ID type's canonical column is this prefix and the type's name


@dataclass
class Validation:
    """Problems found, and which canonical rows (by index) they make invalid.

    ``problems`` holds each record's own problems, so every refused record
    can say why.  On a roster one cell can feed two records (the person_id is
    the person's key and the membership's pointer): :meth:`reported` keeps one
    message per problem per cell, for the report.
    """

    problems: list[Problem] = field(default_factory=list)
    invalid: dict[Entity, pd.Index] = field(default_factory=dict)

    def invalid_rows(self, entity: Entity) -> pd.Index:
        return self.invalid.get(entity, pd.Index([]))

    def reported(self) -> list[Problem]:
        """The problems a report lists: one per problem per cell, the first one found."""
        seen: set[tuple[object, ...]] = set()
        kept: list[Problem] = []
        for problem in self.problems:
            cell = _cell_problem(problem)
            if cell is not None:
                if cell in seen:
                    continue
                seen.add(cell)
            kept.append(problem)
        return kept


def _cell_problem(problem: Problem) -> tuple[object, ...] | None:
    """What makes two problems the same: their cell and the fact they state (None: not a cell's)."""
    if problem.row is None:
        return None
    code = SAME_PROBLEM.get(problem.code, problem.code)
    return (problem.file, problem.sheet, problem.row, problem.column, code, problem.severity)


def _one_message_per_cell(problems: list[Problem]) -> list[Problem]:
    """A problem repeating one already found on its cell takes that one's words.

    The repeat stays (its record must still say why it is refused), but a
    row's reasons then read the same sentence once, not two wordings of it.
    Only codes of :data:`SAME_PROBLEM` can repeat in other words, so only they
    are looked at (a million other problems cost no lookup table).
    """
    related = set(SAME_PROBLEM) | set(SAME_PROBLEM.values())
    first: dict[tuple[object, ...], Problem] = {}
    out: list[Problem] = []
    for problem in problems:
        cell = _cell_problem(problem) if problem.code in related else None
        if cell is None:
            out.append(problem)
            continue
        kept = first.setdefault(cell, problem)
        if kept is not problem and kept.message != problem.message:
            problem = replace(problem, message=kept.message, suggestion=kept.suggestion)
        out.append(problem)
    return out


def _allowed(entity: Entity, column: str, catalog: Catalog) -> list[str]:
    if column == "gender":
        return catalog.genders
    if column == "kind":
        return list(catalog.group_kinds if entity is Entity.GROUP else catalog.membership_kinds)
    if entity is Entity.REG_ID and column == "id_type":  # an IDs sheet's types
        return list(catalog.id_types)
    if column in catalog.linked:  # areas, tags: the names the server shows
        return list(catalog.linked[column].names)
    selection = catalog.fields.get(PARTNER, {}).get(column, {}).get("selection") or []
    return [str(value) for value, _label in selection]  # a deployment's own selection field


def expected_form(canon: CanonicalTable, column: str, catalog: Catalog) -> str:
    """The form a value of this column should take, in words ("10 digits", "a date like ...")."""
    if column.startswith(ID_PREFIX):
        regex = catalog.id_types.get(column.removeprefix(ID_PREFIX), (None, None))[1]
        return pattern_form(regex) if regex else "an ID number"
    if column.startswith(PHONE_PREFIX):
        return pattern_form(catalog.phone_regex) if catalog.phone_regex else PHONE_FORM
    if column.startswith((PHONE_DATE_PREFIX, ID_EXPIRY_PREFIX)):
        return date_form(canon.date_orders.get(column, "iso"))
    kind = FIELD_KINDS[canon.entity].get(column) or _server_cell(column, catalog)
    if kind == "date":
        return date_form(canon.date_orders.get(column, "iso"))
    if kind == "datetime":
        return datetime_form(canon.date_orders.get(column, "iso"))
    if kind == "phone":
        return pattern_form(catalog.phone_regex) if catalog.phone_regex else PHONE_FORM
    return {"email": EMAIL_FORM, "number": NUMBER_FORM, "bool": BOOLEAN_FORM}.get(kind or "", "")


def _server_cell(column: str, catalog: Catalog) -> str | None:
    """How a deployment's own field's cell is read (its kind as the server describes it), if it is one."""
    described = catalog.fields.get(PARTNER, {}).get(column)
    field = server_field(column, described) if described else None
    return field.kind.cell if isinstance(field, RegistryField) else None


def _forms(canon: CanonicalTable, column: str, index: pd.Index, catalog: Catalog) -> list[str]:
    """The expected form at each of these rows: one per column, or per row on an IDs sheet.

    An IDs sheet holds every type in one column, so an ID's form is its own
    row's type's pattern ("10 digits" for a National ID, not for a passport).
    """
    if canon.entity is Entity.REG_ID and column == "value":
        patterns = {name: regex for name, (_id, regex) in catalog.id_types.items()}
        types = canon.frame.loc[index, "id_type"]
        forms = {t: pattern_form(patterns[t]) if patterns.get(t) else "an ID number" for t in types.unique()}
        return types.map(forms).astype("str").to_list()
    return [expected_form(canon, column, catalog)] * len(index)


def _hint(value: str, options: list[str]) -> str | None:
    """ "did you mean 'Female'?" for a coded value, else the allowed values."""
    guesses = [g for g in (suggest(v, options) for v in value.split(",")) if g]
    if guesses:
        return f"did you mean '{guesses[0]}'?"
    return "allowed: " + ", ".join(options) if options else None


def _cached_hint(cache: dict[str, str | None], value: str, options: list[str]) -> str | None:
    if value not in cache:
        cache[value] = _hint(value, options)
    return cache[value]


def _problems_from(
    failures: pd.DataFrame, canon: CanonicalTable, catalog: Catalog
) -> tuple[list[Problem], pd.Index]:
    """One Problem per (rule, row): dataframe-wide rules are blamed on their rule's column."""
    failures = failures[failures["index"].notna()].copy()
    if failures.empty:
        return [], pd.Index([])
    failures["rule"] = failures["check"].astype(str)
    rules = {r: rule_for(canon.entity, r) for r in failures["rule"].unique()}
    blamed = failures["rule"].map(lambda r: rules[r].column if rules[r] else None)
    failures["column"] = blamed.where(blamed.notna(), failures["column"])
    failures = failures.drop_duplicates(["rule", "column", "index"])
    problems: list[Problem] = []
    for (rule, column), group in failures.groupby(["rule", "column"], sort=False):
        problems += _problems_of_rule(
            str(rule), str(column), pd.Index(group["index"].to_list()), canon, catalog
        )
    return problems, pd.Index(failures["index"].unique())


def _problems_of_rule(
    rule: str, column: str, index: pd.Index, canon: CanonicalTable, catalog: Catalog
) -> list[Problem]:
    """The Problems of one rule on one column, each quoting its cell as written.

    Cells are looked up in the source table per rule (a column operation),
    not copied alongside the canonical values for every row.  Rows read from
    several tables (relationships from a sheet and from people's rows) are
    said in the words of the table each comes from.
    """
    if canon.parts:
        return [
            problem
            for part, rows in canon.by_part(index)
            for problem in _problems_of_rule(rule, column, rows, part, catalog)
        ]
    frame = canon.frame
    header = canon.columns.get(column, column)
    spec = rule_for(canon.entity, rule)
    template = (
        spec.message if spec else f"{header}: check '{rule}' failed".replace("{", "{{").replace("}", "}}")
    )
    values = canon.as_written(column, index)
    words = {"column": header}
    others = readings = None
    if spec and spec.other:
        others = canon.as_written(spec.other, index)
        words["other_column"] = canon.columns.get(spec.other, spec.other)
    if "{reading}" in template:
        order = canon.date_orders.get(column, "iso")
        readings = frame.loc[index, column].astype("str").map(lambda iso: date_reading(iso, order))
    options = _allowed(canon.entity, column, catalog) if rule == "unknown_code" else []
    hints: dict[str, str | None] = {}  # one suggestion per distinct value, however many rows have it
    n = len(index)
    columns = {
        "value": values.to_list(),
        "other": others.to_list() if others is not None else [""] * n,
        "reading": readings.to_list() if readings is not None else [""] * n,
        "form": _forms(canon, column, index, catalog) if "{form}" in template else [""] * n,
        "file": frame.loc[index, "_file"].astype("str").to_list(),
        "sheet": frame.loc[index, "_sheet"].astype("str").to_list(),
        "row": frame.loc[index, "_row"].astype("int64").to_list(),
        "key": frame.loc[index, "key"].astype("str").to_list(),
    }
    unknown = _unknown_parts(canon, column, index, options, values) if _many(canon, column, catalog) else None
    problems: list[Problem] = []
    code = spec.code if spec and spec.code else rule
    for i, (value, other, reading, form, file, sheet, row, key) in enumerate(
        zip(*columns.values(), strict=True)
    ):
        message = template.format(**words, value=value, other=other, reading=reading, form=form)
        lacking = value
        if unknown is not None and unknown[i]:  # name what the registry lacks within the cell
            lacking = ",".join(unknown[i])
            parts = " and ".join(f"'{p}'" for p in unknown[i])
            many = UNKNOWN_PARTS if len(unknown[i]) > 1 else UNKNOWN_PART
            message = many.format(**words, parts=parts, value=value)
        problems.append(
            Problem(
                code=code,
                message=message,
                file=file,
                sheet=sheet or None,
                row=row,
                column=header,
                value=value,
                suggestion=_cached_hint(hints, lacking, options) if options else None,
                entity=canon.entity.value,
                key=key,
            )
        )
    return problems


def _many(canon: CanonicalTable, column: str, catalog: Catalog) -> bool:
    """Whether a cell of this column holds several comma-separated values (tags, membership roles)."""
    if canon.entity is Entity.MEMBERSHIP and column == "kind":
        return True
    records = catalog.linked.get(column.split(":", 1)[0])
    return records is not None and records.many


def _unknown_parts(
    canon: CanonicalTable, column: str, index: pd.Index, options: list[str], written: pd.Series
) -> list[list[str]]:
    """Per row, the values of a several-valued cell the registry lacks, when the cell names others too.

    The resolver left those values as written and gave the others the
    server's name; a cell written with one value only gets [] (the usual
    message quotes it whole).
    """
    known = set(options)
    found: dict[tuple[str, bool], list[str]] = {}
    out = []
    resolved = canon.frame.loc[index, column].astype("str").to_list()
    for text, as_written in zip(resolved, written.astype("str").to_list(), strict=True):
        several = sum(1 for p in as_written.split(",") if p.strip()) > 1
        if (text, several) not in found:
            lacking = [p for p in text.split(",") if p and p not in known]
            found[(text, several)] = lacking if several else []
        out.append(found[(text, several)])
    return out


def validate_tables(
    tables: dict[Entity, CanonicalTable],
    catalog: Catalog,
    *,
    server_groups: set[str] | None = None,
    server_individuals: set[str] | None = None,
) -> Validation:
    """Validate every canonical table; memberships may point at the file or the server."""
    result = Validation()
    people, sheet = tables.get(Entity.INDIVIDUAL), tables.get(Entity.REG_ID)
    shared_ids = (  # one number given to two people, by ID columns and an IDs sheet
        shared_id_numbers(people.frame if people is not None else None, sheet.frame)
        if sheet is not None
        else None
    )
    for entity in SHEET_ENTITIES:
        canon = tables.get(entity)
        if canon is None:
            continue
        result.problems.extend(canon.problems)
        known_groups = known_individuals = column_ids = None
        if entity is Entity.REG_ID:  # an IDs sheet: its people, and the IDs their own columns give
            known_individuals = _known(tables.get(Entity.INDIVIDUAL), server_individuals)
            column_ids = column_id_keys(people.frame) if people is not None else None
        if entity is Entity.MEMBERSHIP:
            known_groups = _known(tables.get(Entity.GROUP), server_groups)
            known_individuals = _known(tables.get(Entity.INDIVIDUAL), server_individuals)
        if entity is Entity.RELATIONSHIP:  # either end may be a person or a household
            known_groups = _known(tables.get(Entity.GROUP), server_groups)
            known_individuals = pd.concat(
                [
                    _known(tables.get(Entity.GROUP), server_groups),
                    _known(tables.get(Entity.INDIVIDUAL), server_individuals),
                ],
                ignore_index=True,
            )
        schema = build_schema(
            entity,
            canon.frame.columns,
            catalog,
            known_groups=known_groups,
            known_individuals=known_individuals,
            column_ids=column_ids,
            shared_ids=shared_ids,
        )
        try:
            schema.validate(canon.frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            problems, bad = _problems_from(exc.failure_cases, canon, catalog)
            result.problems.extend(problems)
            result.invalid[entity] = bad
    result.problems = _one_message_per_cell(result.problems)
    return result


def _known(canon: CanonicalTable | None, server: set[str] | None) -> pd.Series:
    """Keys a membership may point at: the file's records and the server's."""
    parts = [pd.Series(list(server or ()), dtype="str")]
    if canon is not None:
        parts.append(canon.frame["key"])
    return pd.concat(parts, ignore_index=True).drop_duplicates()
