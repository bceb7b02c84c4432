"""The resolve stage: coded values spelled the way the server expects.

"M", "m", "male" and " Mâle " all become the server's ``Male`` when the
mapping or the server's own list says so; values that match nothing are
left as written for the validator to report with a suggestion (quoting the
cell from the source table, so no copy of the column is kept).  Matching
ignores case, surrounding spaces and accents; aliases come from the
mapping.  Each distinct value is resolved once.
"""

from __future__ import annotations

import pandas as pd

from importer.canonical import (
    ECHO,
    ON_PERSON_ROW,
    RELATION_SIDES,
    REVERSED,
    CanonicalTable,
    reg_id_keys,
    relationship_keys,
)
from importer.catalog import PARTNER, SIDE_WORDS, Catalog
from importer.mapping import Mapping
from importer.normalise import canonical_code_lists, canonical_codes, fold
from importer.outcome import Entity

#: entity, column, the catalog list it resolves against, report label
CODED = (
    (Entity.INDIVIDUAL, "gender", "gender"),
    (Entity.GROUP, "kind", "group.kind"),
    (Entity.MEMBERSHIP, "kind", "membership.kind"),
    (Entity.REG_ID, "id_type", "id_type"),  # an IDs sheet: the type by its name on the server
)


def _known(catalog: Catalog, label: str) -> list[str]:
    if label == "gender":
        return catalog.genders
    if label == "group.kind":
        return list(catalog.group_kinds)
    if label == "id_type":
        return list(catalog.id_types)
    return list(catalog.membership_kinds)


def resolve_codes(
    tables: dict[Entity, CanonicalTable], catalog: Catalog, mapping: Mapping
) -> dict[str, set[str]]:
    """Rewrite coded columns in place; return the distinct values the file uses per field."""
    used: dict[str, set[str]] = {}
    for entity, column, label in CODED:
        canon = tables.get(entity)
        if canon is None or column not in canon.frame.columns:
            continue
        aliases = mapping.value_map(entity, column)
        known = _known(catalog, label)
        series = canon.frame[column]  # messages quote the clerk's own spelling from the source table
        if entity is Entity.MEMBERSHIP:
            canon.frame[column] = canonical_code_lists(series, known, aliases)
            values = {v for text in canon.frame[column].unique() for v in text.split(",") if v}
        else:
            canon.frame[column] = canonical_codes(series, known, aliases)
            values = {v for v in canon.frame[column].unique() if v}
        used[label] = values
    _resolve_selections(tables, catalog, mapping)
    _resolve_linked(tables, catalog)
    if Entity.REG_ID in tables:  # the key follows the type's name as the server spells it
        ids = tables[Entity.REG_ID]
        ids.frame["key"] = reg_id_keys(ids.frame)
    if Entity.RELATIONSHIP in tables and catalog.relation_types:
        aliases = mapping.value_map(Entity.RELATIONSHIP, "relation")
        _resolve_relations(tables[Entity.RELATIONSHIP], catalog, aliases)
    return used


def _resolve_relations(canon: CanonicalTable, catalog: Catalog, aliases: dict[str, str]) -> None:
    """Relationship types by name or by inverse name, and the direction each row is sent in.

    "B Child A" is "A Parent B" (OpenG2P's ``name_inverse``): the type is
    spelled by its name and the ends are sent swapped, under the same key, so
    writing both is one record (``duplicate_relationship``).  A type that
    reads the same both ways (``bidirectional``: "Spouse") puts its ends in
    one order, so "A Spouse B" and "B Spouse A" are one record too.  A text
    naming no type (or naming one by name and another by inverse: the name
    wins) is left for the validator.  ``relation_sides`` says, in the
    clerk's own column order, which end must be a person or a household.
    ``aliases``: the mapping's ``values: relationship.relation`` (``Épouse: Spouse``,
    ``Enfant: Child``), read first, whatever their case and accents.
    """
    frame = canon.frame
    frame["relation"] = canonical_codes(frame["relation"], (), aliases)
    types = catalog.relation_types
    by_name = {fold(name): name for name in types}
    by_inverse: dict[str, list[str]] = {}
    for rtype in types.values():
        if rtype.inverse and fold(rtype.inverse) not in by_name:
            by_inverse.setdefault(fold(rtype.inverse), []).append(rtype.name)

    def one(text: str) -> tuple[str, bool]:
        folded = fold(text)
        if folded in by_name:
            return by_name[folded], False
        named = by_inverse.get(folded, [])
        return (named[0], True) if len(named) == 1 else (text, False)

    uniques = frame["relation"].unique()
    found = {u: one(u) for u in uniques}
    inverse = frame["relation"].map({u: "1" if rev else "" for u, (_n, rev) in found.items()})
    frame["relation"] = frame["relation"].map({u: name for u, (name, _r) in found.items()}).astype("str")
    both_ways = frame["relation"].isin([name for name, rtype in types.items() if rtype.symmetric])
    in_order = frame["source"] <= frame["destination"]
    one_order = pd.Series("", index=frame.index, dtype="str").where(in_order, "1")
    frame[REVERSED] = inverse.where(~both_ways, one_order).astype("str")
    frame["key"] = relationship_keys(frame)
    if ON_PERSON_ROW in frame.columns:
        frame[ECHO] = _echoes(frame, both_ways)

    def sides(pair: str, source: str, destination: str) -> str:
        name, _sep, reversed_ = pair.rpartition("\x1f")
        rtype = types.get(name)
        if rtype is None:
            return ""
        first, second = rtype.source_type, rtype.destination_type
        if reversed_ == "1":
            first, second = second, first
        return (
            f"{SIDE_WORDS.get(first, 'anyone')} (column '{source}') to "
            f"{SIDE_WORDS.get(second, 'anyone')} (column '{destination}')"
        )

    pairs = frame["relation"] + "\x1f" + frame[REVERSED]
    words = pd.Series("", index=frame.index, dtype="str")
    for part, index in canon.by_part(frame.index):  # each table's rows in its own headers
        ends = part.columns.get("source", "source"), part.columns.get("destination", "destination")
        mine = pairs[index]
        words[index] = mine.map({p: sides(p, *ends) for p in mine.unique()}).astype("str")
    frame[RELATION_SIDES] = words


def _echoes(frame: pd.DataFrame, both_ways: pd.Series) -> pd.Series:
    """ "1" where a person's row repeats a two-way relationship an earlier person's row states from
    the other end, with the same dates: a roster names spouses on both their rows, and that is one
    record.  The same person stating it twice, or other dates, stays a ``duplicate_relationship``.
    """
    stated = frame[ON_PERSON_ROW] == "1"
    on_rows = frame[stated]
    dates = [c for c in ("start_date", "end_date") if c in frame.columns]
    repeat = on_rows.duplicated(["key", *dates], keep="first") & ~on_rows.duplicated(["key", "source"])
    echo = pd.Series("", index=frame.index, dtype="str")
    echo[on_rows.index[(repeat & both_ways[stated]).to_numpy()]] = "1"
    return echo


def linked_field_of(column: str) -> str:
    """The relational field a canonical column names records of: ``bank_id:2`` -> ``bank_id``."""
    return column.split(":", 1)[0]


def _resolve_linked(tables: dict[Entity, CanonicalTable], catalog: Catalog) -> None:
    """Areas, tags and the deployment's relational fields named by code, name or external id
    become the record's name as the server shows it.

    A text that names no record, or several, is left as written: the
    validator reports it (``unknown_code``, ``ambiguous_code``), never guesses.
    """
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        canon = tables.get(entity)
        if canon is None:
            continue
        for column in canon.frame.columns:
            name = linked_field_of(column)
            records = catalog.linked.get(name)
            if records is None:
                continue
            many = records.many  # several in a cell (tags)

            def one(text: str, by_text: dict[str, str] = records.by_text, many: bool = many) -> str:
                parts = [p.strip() for p in text.split(",")] if many else [text]
                return ",".join(by_text.get(fold(p), p) for p in parts if p)

            uniques = canon.frame[column].unique()
            table = {u: one(u) if u else "" for u in uniques}
            canon.frame[column] = canon.frame[column].map(table).astype("str")


def _resolve_selections(tables: dict[Entity, CanonicalTable], catalog: Catalog, mapping: Mapping) -> None:
    """A deployment's own selection fields: the server's value, by value or by label ("Severe")."""
    described = catalog.fields.get(PARTNER, {})
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        canon = tables.get(entity)
        if canon is None:
            continue
        for name, field in mapping.server_fields.get(entity, {}).items():
            if not field.selection or name not in canon.frame.columns or name not in described:
                continue
            labels = {label: value for value, label in field.selection}
            aliases = {**labels, **mapping.value_map(entity, name)}
            canon.frame[name] = canonical_codes(canon.frame[name], [v for v, _ in field.selection], aliases)
