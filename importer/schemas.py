"""pandera schemas for the canonical tables: every rule a row must pass before anything is written.

Each rule is a named check; its name is the problem code the report shows,
and :data:`RULES` says which column it blames and how to say it to a clerk.
Static rules live on the ``DataFrameModel`` classes; rules that depend on
the server (allowed genders, kinds, ID-type patterns) are added by
:func:`build_schema` from the catalog fetched once per run.

All checks are vectorised and treat ``""`` as "not given": whether a value
is required is its own rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from importer.canonical import (
    ECHO,
    RELATION_SIDES,
    bank_account_column,
    directed_ends,
    id_column,
    id_expiry_column,
    phone_column,
    phone_date_column,
)
from importer.catalog import PARTNER, Catalog
from importer.fields import FIELDS, server_field
from importer.normalise import ISO_DATE, fold, isin
from importer.outcome import Entity

PHONE_PREFIX = phone_column(0).removesuffix("0")  # "phone:1", "phone:2", ...
PHONE_DATE_PREFIX = phone_date_column(0).removesuffix("0")
ID_EXPIRY_PREFIX = id_expiry_column("")
BANK_ACCOUNT_PREFIX = bank_account_column(0).removesuffix("0")
MAX_AGE_YEARS = 120
PHONE = r"^\+?[0-9][0-9 ()./-]{3,24}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NUMBER = r"^-?\d+(\.\d+)?$"


@dataclass(frozen=True, slots=True)
class Rule:
    """How to blame and explain one failed check.

    A message may use ``{value}`` (the cell as the clerk wrote it), ``{column}``
    (the clerk's header), ``{form}`` (the expected form in words, see
    :mod:`importer.forms`), ``{reading}`` (a date as the importer read it) and,
    for rules comparing two columns, ``{other}`` / ``{other_column}``.
    """

    column: str | None  # canonical column the problem is shown on (None: the check's own column)
    message: str
    other: str | None = None  # the canonical column a cross-column rule compares with
    #: The code the report shows, when it is not the check's name: two checks of one entity that
    #: state different facts a clerk knows by one code (an IDs sheet's ``duplicate_id``)
    code: str | None = None


#: Why a person needs both name parts, said the same way on every row.
NAME_PARTS_WHY = "the registry refuses a person without a given name and a family name"

RULES: dict[str, Rule] = {
    "missing_key": Rule(None, "the {column} is empty: every row needs its own identifier"),
    "duplicate_key": Rule(None, "{column} '{value}' appears on more than one row (each must be unique)"),
    "missing_name": Rule("name", "no name: the registry refuses a household without a name"),
    "missing_given_name": Rule(None, f"no given name: {NAME_PARTS_WHY}"),
    "missing_family_name": Rule(None, f"no family name: {NAME_PARTS_WHY}"),
    "bad_date": Rule(None, "'{value}' is not a date: expected {form}"),
    "date_in_future": Rule(None, "'{value}' is in the future: it reads as {reading}"),
    "too_old": Rule(None, f"'{{value}}' reads as {{reading}}, more than {MAX_AGE_YEARS} years ago"),
    "registration_before_birth": Rule(
        "registration_date",
        "the registration date '{value}' is before the birthdate '{other}' (column '{other_column}')",
        other="birthdate",
    ),
    "ended_before_start": Rule(
        "ended_date",
        "the end date '{value}' is before the start date '{other}' (column '{other_column}')",
        other="start_date",
    ),
    "bad_phone": Rule(None, "'{value}' is not a phone number: expected {form}"),
    "bad_email": Rule(None, "'{value}' is not an e-mail address: expected {form}"),
    "bad_number": Rule(None, "'{value}' is not a number: expected {form}"),
    "bad_boolean": Rule(None, "'{value}' is not yes or no: expected {form}"),
    "bad_integer": Rule(None, "'{value}' is not a whole number: expected digits only, like 42"),
    "too_long": Rule(None, "'{value}' is longer than the registry keeps for {column}"),
    "duplicate_account": Rule(
        bank_account_column(2), "bank account '{value}' is given twice for this person (once is enough)"
    ),
    "duplicate_relationship": Rule(
        "destination", "this relationship between these two registrants is already on an earlier row"
    ),
    "related_to_self": Rule("destination", "a registrant cannot be related to themself ('{value}')"),
    "unknown_registrant": Rule(None, "registrant '{value}' is neither in this file nor on the server"),
    "wrong_side": Rule(
        "relation",
        "'{value}' relates {other} in the registry, and this row's registrants are not of those kinds "
        "(the registry refuses such a relationship)",
        other=RELATION_SIDES,
    ),
    "bad_json": Rule(
        None,
        '\'{value}\' is not additional information the registry can keep: expected {{"key": "value", ...}}',
    ),
    "ambiguous_code": Rule(None, "'{value}' names several records in the registry: write its code instead"),
    "unknown_code": Rule(None, "'{value}' is not one of the registry's {column} values"),
    "bad_id": Rule(None, "'{value}' is not a valid {column}: expected {form}"),
    "duplicate_id": Rule(None, "{column} '{value}' is given to more than one person in this file"),
    "missing_reference": Rule(None, "the {column} is empty"),
    "unknown_group": Rule("group", "household '{value}' is neither in this file nor on the server"),
    "unknown_individual": Rule("individual", "person '{value}' is neither in this file nor on the server"),
    "second_head": Rule("kind", "this household already has a Head on an earlier row (only one is allowed)"),
    "duplicate_member": Rule("individual", "this person is listed twice in the same household"),
}

#: ``unknown_code`` in a cell of several values (tags, roles): the values the registry lacks,
#: quoted within the cell as the clerk wrote it.
UNKNOWN_PART = "{parts} (in '{value}') is not one of the registry's {column} values"
UNKNOWN_PARTS = "{parts} (in '{value}') are not among the registry's {column} values"

#: The same code said of another entity's record, where the general sentence would not fit: a
#: row of an IDs sheet (one ID of one type, its type and its person in cells of their own).
ENTITY_RULES: dict[tuple[Entity, str], Rule] = {
    (Entity.REG_ID, "bad_id"): Rule(
        "value", "'{value}' is not a valid {other}: expected {form}", other="id_type"
    ),
    (Entity.REG_ID, "unknown_code"): Rule(None, "'{value}' is not an ID type the registry knows"),
    (Entity.REG_ID, "duplicate_id"): Rule(
        "id_type",
        "person '{other}' is given a {value} more than once (on an earlier row or in an ID column of "
        "their own): the registry keeps one ID of each type per person",
        other="individual",
    ),
    (Entity.REG_ID, "shared_id"): Rule(
        "value",
        "{other} '{value}' is given to more than one person in this file",
        other="id_type",
        code="duplicate_id",
    ),
}


def rule(entity: Entity, code: str) -> Rule | None:
    """How a failed check of this entity is blamed and said (:data:`ENTITY_RULES`, then :data:`RULES`)."""
    return ENTITY_RULES.get((entity, code)) or RULES.get(code)


#: Codes that state the same fact as another code when both land on one cell: a roster's
#: person_id cell is both the person's key and the membership's pointer to that person.
SAME_PROBLEM: dict[str, str] = {"missing_reference": "missing_key", "duplicate_member": "duplicate_key"}

BOOLEAN = {"", "1", "0", "true", "false", "yes", "no", "y", "n", "x"}


def _given(s: pd.Series) -> pd.Series:
    return s != ""


def iso_or_empty(s: pd.Series) -> pd.Series:
    return ~_given(s) | s.str.match(ISO_DATE)


def not_future(s: pd.Series) -> pd.Series:
    return ~s.str.match(ISO_DATE) | (s <= date.today().isoformat())


def not_too_old(s: pd.Series) -> pd.Series:
    today = date.today()
    limit = today.replace(year=today.year - MAX_AGE_YEARS, day=min(today.day, 28)).isoformat()
    return ~s.str.match(ISO_DATE) | (s >= limit)


def _date_checks() -> list[pa.Check]:
    return [pa.Check(iso_or_empty, name="bad_date"), pa.Check(not_future, name="date_in_future")]


def _pattern(regex: str, name: str) -> pa.Check:
    compiled = re.compile(regex)
    return pa.Check(lambda s: ~_given(s) | s.str.match(compiled), name=name)


def _text_field(**kw) -> object:
    return pa.Field(nullable=False, **kw)


class RegistrantSchema(pa.DataFrameModel):
    """A person or a household (both res.partner registrants): its own key, once, and a name.

    One class for both: pandera renames checks inherited by subclasses, and
    the check names are the report's problem codes.
    """

    key: Series[str] = _text_field()
    name: Series[str] = _text_field()

    class Config:
        strict = False
        coerce = False

    @pa.check("key", name="missing_key")
    def _key_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("key", name="duplicate_key")
    def _key_unique(cls, s: Series[str]) -> Series[bool]:
        return ~s.duplicated(keep=False) | ~_given(s)

    @pa.check("name", name="missing_name")
    def _name_given(cls, s: Series[str]) -> Series[bool]:
        # a composed name of blanks is ", " at most: that is no name
        return _given(s.str.strip(" ,"))


class MembershipSchema(pa.DataFrameModel):
    """Who belongs to which household, one canonical row per pair."""

    group: Series[str] = _text_field()
    individual: Series[str] = _text_field()
    key: Series[str] = _text_field()

    class Config:
        strict = False
        coerce = False

    @pa.check("group", name="missing_reference")
    def _group_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("individual", name="missing_reference")
    def _individual_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("key", name="duplicate_member")
    def _once_per_group(cls, s: Series[str]) -> Series[bool]:
        # The first listing is kept; later ones are the duplicates.
        return ~s.duplicated(keep="first")


class RelationshipSchema(pa.DataFrameModel):
    """Who is related to whom, one canonical row per (registrant, type, registrant)."""

    source: Series[str] = _text_field()
    destination: Series[str] = _text_field()
    key: Series[str] = _text_field()

    class Config:
        strict = False
        coerce = False

    @pa.check("source", name="missing_reference")
    def _source_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("destination", name="missing_reference")
    def _destination_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.dataframe_check(name="duplicate_relationship")
    def _once(cls, df: pd.DataFrame) -> Series[bool]:
        # The server refuses the same relationship twice over the same time: the first is kept. A
        # spouse's row repeating the other spouse's (an echo, see resolve._echoes) is that record.
        again = df["key"].duplicated(keep="first")
        if ECHO in df.columns:
            again &= df[ECHO] != "1"
        return ~again

    @pa.dataframe_check(name="related_to_self")
    def _two_registrants(cls, df: pd.DataFrame) -> Series[bool]:
        return ~_given(df["source"]) | (df["source"] != df["destination"])


class RegIdSchema(pa.DataFrameModel):
    """One ID of one person per row of an IDs sheet: whose, which type, which number."""

    individual: Series[str] = _text_field()
    id_type: Series[str] = _text_field()
    value: Series[str] = _text_field()
    key: Series[str] = _text_field()

    class Config:
        strict = False
        coerce = False

    @pa.check("individual", name="missing_reference")
    def _person_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("id_type", name="missing_reference")
    def _type_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)

    @pa.check("value", name="missing_reference")
    def _value_given(cls, s: Series[str]) -> Series[bool]:
        return _given(s)


_MODELS: dict[Entity, type[pa.DataFrameModel]] = {
    Entity.REG_ID: RegIdSchema,
    Entity.INDIVIDUAL: RegistrantSchema,
    Entity.GROUP: RegistrantSchema,
    Entity.MEMBERSHIP: MembershipSchema,
    Entity.RELATIONSHIP: RelationshipSchema,
}


def _lists_within(series: pd.Series, allowed: set[str]) -> pd.Series:
    """Whether every part of each comma-separated value is allowed (decided once per distinct value)."""
    verdict = {v: set(v.split(",")) <= allowed for v in series.unique()}
    return series.map(verdict).astype(bool)


def _has_code(series: pd.Series, code: str) -> pd.Series:
    """Whether a comma-separated list holds ``code`` (vectorised)."""
    return series.str.contains(rf"(?:^|,){re.escape(code)}(?:,|$)", regex=True)


def _column(checks: list[pa.Check]) -> pa.Column:
    return pa.Column(checks=checks, nullable=False, required=False)


def build_schema(
    entity: Entity,
    columns: Iterable[str],
    catalog: Catalog,
    *,
    known_groups: pd.Series | None = None,
    known_individuals: pd.Series | None = None,
    column_ids: pd.Series | None = None,
    shared_ids: pd.MultiIndex | None = None,
) -> pa.DataFrameSchema:
    """The full schema for one entity: static rules plus the server-dependent ones.

    ``column_ids``: for an IDs sheet, the keys of the IDs the people's own ID
    columns already give (``<person>__<type>``), which a sheet row may not repeat.
    ``shared_ids``: (type, number) pairs given to more than one person across the
    people's ID columns and an IDs sheet (``canonical.shared_id_numbers``).
    """
    columns = set(columns)
    schema = _MODELS[entity].to_schema()
    extra: dict[str, pa.Column] = {}
    for name in ("birthdate", "registration_date", "start_date", "ended_date"):
        if name in columns:
            checks = _date_checks()
            if name == "birthdate":
                checks.append(pa.Check(not_too_old, name="too_old"))
            extra[name] = _column(checks)
    for name in ("phone", "mobile"):
        if name in columns:
            extra[name] = _column([_pattern(catalog.phone_regex or PHONE, "bad_phone")])
    if "email" in columns:
        extra["email"] = _column([_pattern(EMAIL, "bad_email")])
    if "income" in columns:
        extra["income"] = _column([_pattern(NUMBER, "bad_number")])
    if "additional_g2p_info" in columns:
        extra["additional_g2p_info"] = _column([pa.Check(_json_objects, name="bad_json")])
    if "birthdate_not_exact" in columns:
        extra["birthdate_not_exact"] = _column(
            [pa.Check(lambda s: s.str.casefold().isin(BOOLEAN), name="bad_boolean")]
        )
    _server_field_checks(entity, columns, catalog, extra)
    _linked_checks(columns, catalog, extra)
    coded = {
        Entity.INDIVIDUAL: {"gender": catalog.genders},
        Entity.GROUP: {"kind": list(catalog.group_kinds)},
        Entity.MEMBERSHIP: {"kind": list(catalog.membership_kinds)},
    }.get(entity, {})
    for name, allowed in coded.items():
        if name not in columns:
            continue
        allowed_set = set(allowed) | {""}
        if entity is Entity.MEMBERSHIP:
            check = pa.Check(lambda s, a=allowed_set: _lists_within(s, a), name="unknown_code")
        else:
            check = pa.Check(lambda s, a=allowed_set: s.isin(a), name="unknown_code")
        extra[name] = _column([check])
    if entity is Entity.INDIVIDUAL:
        for id_type, (_, regex) in catalog.id_types.items():
            col = id_column(id_type)
            if col not in columns:
                continue
            shared = _numbers_of(shared_ids, id_type)  # held by another person on an IDs sheet
            checks = [
                pa.Check(
                    lambda s, shared=shared: ~_given(s) | ~(s.duplicated(keep=False) | s.isin(shared)),
                    name="duplicate_id",
                )
            ]
            if regex:
                checks.append(_pattern(_anchored(regex), "bad_id"))
            extra[col] = _column(checks)
    for name in columns:  # a person's phone numbers, and when each was collected
        if name.startswith(PHONE_PREFIX):
            extra[name] = _column([_pattern(catalog.phone_regex or PHONE, "bad_phone")])
        elif name.startswith(PHONE_DATE_PREFIX):
            extra[name] = _column(_date_checks())
        elif name.startswith(ID_EXPIRY_PREFIX):  # an expiry date is a date, and may lie ahead
            extra[name] = _column([pa.Check(iso_or_empty, name="bad_date")])
    if entity is Entity.INDIVIDUAL:
        schema = _with_name_parts(schema, columns, extra)
    if entity is Entity.RELATIONSHIP and known_individuals is not None:  # both ends: the file's or ours
        for end in ("source", "destination"):
            extra[end] = _column(
                [pa.Check(lambda s: ~_given(s) | isin(s, known_individuals), name="unknown_registrant")]
            )
    if entity is Entity.REG_ID:
        _id_sheet_checks(columns, catalog, known_individuals, extra)
    if entity is Entity.MEMBERSHIP:
        if known_groups is not None:
            extra["group"] = _column(
                [pa.Check(lambda s: ~_given(s) | isin(s, known_groups), name="unknown_group")]
            )
        if known_individuals is not None:
            extra["individual"] = _column(
                [pa.Check(lambda s: ~_given(s) | isin(s, known_individuals), name="unknown_individual")]
            )
    schema = schema.add_columns({k: v for k, v in extra.items() if k not in schema.columns})
    for k, v in extra.items():
        if k in schema.columns and k not in {"key", "name"}:
            schema = schema.update_column(k, checks=list(schema.columns[k].checks) + list(v.checks))
    schema = _with_cross_checks(schema, entity, catalog, columns)
    if entity is Entity.REG_ID:
        schema = _with_id_sheet_rules(schema, catalog, column_ids, shared_ids)
    if entity is Entity.RELATIONSHIP and catalog.relation_types and known_groups is not None:
        schema = _with_side_check(schema, catalog, known_groups, known_individuals)
    return schema


def _id_sheet_checks(
    columns: set[str], catalog: Catalog, people: pd.Series | None, extra: dict[str, pa.Column]
) -> None:
    """An IDs sheet's cells: a type the server has, a person in the file or ours, an expiry date."""
    if catalog.online or catalog.id_types_listed:  # offline, only when the mapping lists the types
        known = set(catalog.id_types) | {""}
        extra["id_type"] = _column([pa.Check(lambda s: s.isin(known), name="unknown_code")])
    if people is not None:
        extra["individual"] = _column(
            [pa.Check(lambda s: ~_given(s) | isin(s, people), name="unknown_registrant")]
        )
    if "expiry_date" in columns:  # an expiry date is a date, and may lie ahead
        extra["expiry_date"] = _column([pa.Check(iso_or_empty, name="bad_date")])


def _numbers_of(shared: pd.MultiIndex | None, id_type: str) -> set[str]:
    """The numbers of one ID type that more than one person is given."""
    if shared is None or not len(shared):
        return set()
    return set(shared[shared.get_level_values(0) == id_type].get_level_values(1))


def _with_id_sheet_rules(
    schema: pa.DataFrameSchema,
    catalog: Catalog,
    column_ids: pd.Series | None,
    shared_ids: pd.MultiIndex | None = None,
) -> pa.DataFrameSchema:
    """Rules across an IDs sheet's cells: each number fits its type's pattern, one of each type per
    person, one person per number.

    The server enforces the first two (``id_validation`` on the value, "ID Type
    must be unique."); a sheet row repeating an ID its person's own column gives
    would be the same record (the same external id), so it is refused too.  One
    number given to two people (on the sheet, or by an ID column and the sheet)
    is refused on every row giving it, as an ID column refuses it (``duplicate_id``).
    """
    patterns = {
        name: re.compile(_anchored(regex)) for name, (_id, regex) in catalog.id_types.items() if regex
    }

    def fits_pattern(df: pd.DataFrame) -> pd.Series:
        ok = pd.Series(True, index=df.index)
        for name, compiled in patterns.items():
            mine = (df["id_type"] == name) & _given(df["value"])
            if mine.any():
                ok[mine] = df.loc[mine, "value"].str.match(compiled).astype(bool)
        return ok

    def once_per_person(df: pd.DataFrame) -> pd.Series:
        given = _given(df["individual"]) & _given(df["id_type"])
        again = df["key"].duplicated(keep="first")
        if column_ids is not None and len(column_ids):
            again |= isin(df["key"], column_ids)
        return ~(given & again)

    def one_person_per_number(df: pd.DataFrame) -> pd.Series:
        if shared_ids is None or not len(shared_ids):
            return pd.Series(True, index=df.index)
        pairs = pd.MultiIndex.from_frame(df[["id_type", "value"]])
        return pd.Series(~pairs.isin(shared_ids), index=df.index)

    checks = [
        pa.Check(fits_pattern, name="bad_id"),
        pa.Check(once_per_person, name="duplicate_id"),
        pa.Check(one_person_per_number, name="shared_id"),
    ]
    return pa.DataFrameSchema(
        columns=schema.columns, checks=[*schema.checks, *checks], strict=False, coerce=False
    )


def _with_side_check(
    schema: pa.DataFrameSchema, catalog: Catalog, groups: pd.Series, registrants: pd.Series | None
) -> pa.DataFrameSchema:
    """Each end of a relationship is a person or a household as its type says (``wrong_side``).

    The server refuses the rest ("This registrant is not applicable for this
    relation type."), and one refused row would void its whole ``load`` call.
    An end is a household when its key is a household's (the file's or one
    of ours on the server), as the plan sends it; an unknown end is left to
    ``unknown_registrant``.
    """
    types = catalog.relation_types
    wanted = {
        side: {name: getattr(rtype, f"{side}_type") for name, rtype in types.items()}
        for side in ("source", "destination")
    }

    def fits(df: pd.DataFrame) -> pd.Series:
        ok = pd.Series(True, index=df.index)
        for side, end in zip(("source", "destination"), directed_ends(df), strict=True):
            need = df["relation"].map(wanted[side]).fillna("")
            group = isin(end, groups)
            known = group | (isin(end, registrants) if registrants is not None else True)
            ok &= ~(known & (((need == "i") & group) | ((need == "g") & ~group)))
        return ok

    return pa.DataFrameSchema(
        columns=schema.columns,
        checks=[*schema.checks, pa.Check(fits, name="wrong_side")],
        strict=False,
        coerce=False,
    )


INTEGER = r"^-?\d+$"
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


def _sanitised(series: pd.Series) -> pd.Series:
    """An account number as the server compares it: letters and digits only, capitals."""
    return series.str.replace(r"\W+", "", regex=True).str.upper()


def _json_objects(series: pd.Series) -> pd.Series:
    """Whether each cell is empty or a JSON object (decided once per distinct value)."""

    def ok(text: str) -> bool:
        if not text:
            return True
        try:
            return isinstance(json.loads(text), dict)
        except ValueError:
            return False

    return series.map({v: ok(v) for v in series.unique()}).astype(bool)


def _linked_checks(columns: set[str], catalog: Catalog, extra: dict[str, pa.Column]) -> None:
    """Areas and tags: each name must be one record the server has (the resolver named it so)."""
    for name in columns:
        records = catalog.linked.get(name.split(":", 1)[0])  # area_id, tags_ids, bank_id:<n>
        if records is None:
            continue
        known = set(records.names) | {""}
        ambiguous = set(records.ambiguous)
        extra[name] = _column(
            [
                pa.Check(lambda s, a=ambiguous: ~_any_part(s, lambda p: fold(p) in a), name="ambiguous_code"),
                pa.Check(lambda s, k=known: _lists_within(s, k), name="unknown_code"),
            ]
        )


def _any_part(series: pd.Series, test) -> pd.Series:
    """Whether any comma-separated part of each value passes ``test`` (decided once per value)."""
    verdict = {v: any(test(p.strip()) for p in v.split(",") if p.strip()) for v in series.unique()}
    return series.map(verdict).astype(bool)


def _server_field_checks(
    entity: Entity, columns: set[str], catalog: Catalog, extra: dict[str, pa.Column]
) -> None:
    """Checks for the deployment's own fields, from their kind as the server describes them."""
    described = catalog.fields.get(PARTNER, {})
    for name in sorted(columns - set(FIELDS[entity])):
        if name not in described:
            continue
        field = server_field(name, described[name])
        if isinstance(field, str):
            continue
        checks: list[pa.Check] = []
        cell = field.kind.cell
        if cell == "date":
            checks = _date_checks()
        elif cell == "datetime":  # parsed to "YYYY-MM-DD HH:MM:SS" (canonical), or left as written
            checks = [_pattern(ISO_DATETIME, "bad_date")]
        elif cell == "integer":
            checks = [_pattern(INTEGER, "bad_integer")]
        elif cell == "number":
            checks = [_pattern(NUMBER, "bad_number")]
        elif cell == "bool":
            checks = [pa.Check(lambda s: s.str.casefold().isin(BOOLEAN), name="bad_boolean")]
        elif field.selection:
            allowed = {v for v, _label in field.selection} | {""}
            checks = [pa.Check(lambda s, a=allowed: s.isin(a), name="unknown_code")]
        if field.size:
            checks.append(pa.Check(lambda s, n=field.size: s.str.len() <= n, name="too_long"))
        if checks:
            extra[name] = _column(checks)


def _with_name_parts(
    schema: pa.DataFrameSchema, columns: set[str], extra: dict[str, pa.Column]
) -> pa.DataFrameSchema:
    """A person needs a given name and a family name, each refused on its own cell.

    The registry's form refuses a person without either (the API alone
    accepts one).  When both parts are mapped, the composed name can never be
    blank, so "no name" would only repeat them on the same cell: it is dropped.
    """
    parts = {"given_name": "missing_given_name", "family_name": "missing_family_name"}
    for name, code in parts.items():
        if name in columns:
            extra[name] = _column([pa.Check(_given, name=code)])
    if not set(parts) <= columns:
        return schema
    checks = [c for c in schema.columns["name"].checks if c.name != "missing_name"]
    return schema.update_column("name", checks=checks)


def _anchored(regex: str) -> str:
    """Odoo validates with ``re.match``... but a pattern meant for the whole value should hold for it."""
    regex = regex if regex.startswith("^") else "^(?:" + regex + ")"
    return regex if regex.endswith("$") else regex + "$"


def _with_cross_checks(
    schema: pa.DataFrameSchema, entity: Entity, catalog: Catalog, columns: set[str]
) -> pa.DataFrameSchema:
    """Rules that compare columns: named so the report can say which rule failed."""
    checks: list[pa.Check] = []
    if {"birthdate", "registration_date"} <= columns:
        checks.append(
            pa.Check(
                lambda df: (
                    ~(
                        df["registration_date"].str.match(ISO_DATE)
                        & df["birthdate"].str.match(ISO_DATE)
                        & (df["registration_date"] < df["birthdate"])
                    )
                ),
                name="registration_before_birth",
            )
        )
    if {"start_date", "ended_date"} <= columns:
        checks.append(
            pa.Check(
                lambda df: (
                    ~(
                        df["start_date"].str.match(ISO_DATE)
                        & df["ended_date"].str.match(ISO_DATE)
                        & (df["ended_date"] < df["start_date"])
                    )
                ),
                name="ended_before_start",
            )
        )
    accounts = sorted(c for c in columns if c.startswith(BANK_ACCOUNT_PREFIX))
    if len(accounts) > 1:  # the server refuses one account twice for a person

        def accounts_differ(df: pd.DataFrame) -> pd.Series:
            ok = pd.Series(True, index=df.index)
            seen = [_sanitised(df[accounts[0]])]
            for column in accounts[1:]:
                mine = _sanitised(df[column])
                for other in seen:
                    ok &= (mine == "") | (mine != other)
                seen.append(mine)
            return ok

        checks.append(pa.Check(accounts_differ, name="duplicate_account"))
    if entity is Entity.MEMBERSHIP and "kind" in columns and catalog.unique_kinds:
        unique = sorted(catalog.unique_kinds)

        def one_head(df: pd.DataFrame) -> pd.Series:
            ok = pd.Series(True, index=df.index)
            for kind in unique:
                has = _has_code(df["kind"], kind)
                dup = df.loc[has, "group"].duplicated(keep="first")
                ok.loc[dup[dup].index] = False
            return ok

        checks.append(pa.Check(one_head, name="second_head"))
    if not checks:
        return schema
    return pa.DataFrameSchema(
        columns=schema.columns, checks=list(schema.checks) + checks, strict=False, coerce=False
    )
