"""The resolve stage: coded values spelled the way the server expects.

"M", "m", "male" and " Mâle " all become the server's ``Male`` when the
mapping or the server's own list says so; values that match nothing are
left as written for the validator to report with a suggestion (quoting the
cell from the source table, so no copy of the column is kept).  Matching
ignores case, surrounding spaces and accents; aliases come from the
mapping.  Each distinct value is resolved once.
"""

from __future__ import annotations

from importer.canonical import CanonicalTable
from importer.catalog import PARTNER, Catalog
from importer.mapping import Mapping
from importer.normalise import canonical_code_lists, canonical_codes, fold
from importer.outcome import Entity

#: entity, column, the catalog list it resolves against, report label
CODED = (
    (Entity.INDIVIDUAL, "gender", "gender"),
    (Entity.GROUP, "kind", "group.kind"),
    (Entity.MEMBERSHIP, "kind", "membership.kind"),
)


def _known(catalog: Catalog, label: str) -> list[str]:
    if label == "gender":
        return catalog.genders
    if label == "group.kind":
        return list(catalog.group_kinds)
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
    return used


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
