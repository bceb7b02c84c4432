"""Mapping files: how a spreadsheet's own columns become registry fields.

A mapping (YAML, in ``mappings/``) says which sheet or file holds which
entity, which column feeds which field, how coded values translate, which
column is each entity's stable key, and how dates are written.  A flat
roster is just a mapping whose three entities read the same sheet.

The mapping is checked on its own (:func:`load_mapping`) and against the
files (:func:`bind`) before any row is processed, so a typo in a column
name is one clear message, not a thousand row errors.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from importer.fields import (
    FIELDS,
    TEXT,
    RegistryField,
    cell_kinds,
    find_server_field,
    looks_like_server_field,
    server_field,
)
from importer.outcome import Entity, ImportFailure, Problem
from importer.read import SourceTable

#: The fields each canonical table knows, with how each cell is read (declared in
#: importer.fields): ``coded`` values are resolved against the server's lookups; ``date``
#: values are parsed with the mapping's date order.
FIELD_KINDS: dict[Entity, dict[str, str]] = {entity: cell_kinds(entity) for entity in FIELDS}

DATE_ORDERS = ("iso", "day-first", "month-first")
#: What an empty cell does to a record already on the server: "keep" leaves the server's value,
#: "clear" empties it.  ``None`` on a field: the run's choice (``--empty-cells``, default keep).
EMPTY_CELLS = ("keep", "clear")
_SLUG = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One target field: the column that feeds it, or a constant default."""

    field: str
    column: str | None = None
    default: str | None = None
    date_order: str | None = None
    empty: str | None = None  # "keep" / "clear" for an empty cell on an update; None: the run's choice


@dataclass(frozen=True, slots=True)
class PhoneSpec:
    """One phone number column of a person, and the column saying when it was collected."""

    column: str
    collected: str | None = None


@dataclass(frozen=True, slots=True)
class BankSpec:
    """One bank account of a person: the account number's column and the bank's (BIC or name)."""

    account: str
    bank: str | None = None


@dataclass(frozen=True, slots=True)
class RelationSpec:
    """A relationship column of a person's row: the related registrant's key, and the type.

    The type is one fixed name for the whole column (``relation: Spouse``) or
    read from a column of its own (``relation: {column: guardian_kind}``).
    """

    related: str  # the column holding the related registrant's key
    relation: str | None = None  # a fixed type, as the server names it (or by its inverse name)
    relation_column: str | None = None  # ... or the column holding each row's type
    start_date: str | None = None
    end_date: str | None = None

    def columns(self) -> list[str]:
        return [c for c in (self.related, self.relation_column, self.start_date, self.end_date) if c]


@dataclass(frozen=True, slots=True)
class SourceSelector:
    """Which table an entity reads: a sheet name, a file-name pattern, or the only table."""

    sheet: str | None = None
    file: str | None = None

    def matches(self, table: SourceTable) -> bool:
        if self.sheet and (table.sheet or "").strip().casefold() != self.sheet.strip().casefold():
            return False
        return not (self.file and not fnmatch.fnmatch(table.path.name.casefold(), self.file.casefold()))

    def describe(self) -> str:
        if self.sheet:
            return f"sheet '{self.sheet}'"
        if self.file:
            return f"file '{self.file}'"
        return "the only table"


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """How one entity (individual, group, membership) is read."""

    entity: Entity
    source: SourceSelector
    key: str | None = None  # the column holding the stable key
    identity: tuple[str, ...] = ()  # fields a key is derived from when there is no key column
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # ID type name -> column
    phones: tuple[PhoneSpec, ...] = ()  # one g2p.phone.number per column (people only)
    banks: tuple[BankSpec, ...] = ()  # one res.partner.bank per account column (people only)
    #: one g2p.reg.rel per filled related cell of a person's row (people only)
    relations: tuple[RelationSpec, ...] = ()
    id_expiry: dict[str, str] = field(default_factory=dict)  # ID type name -> its expiry date column
    #: key -> column: cells gathered into the registrant's additional information (a JSON object)
    additional_info: dict[str, str] = field(default_factory=dict)
    group: str | None = None  # membership: column with the group's key
    rel_source: str | None = None  # relationship: column with one registrant's key
    rel_destination: str | None = None  # relationship: column with the other registrant's key
    individual: str | None = None  # membership, reg_id: column with the individual's key

    def columns(self) -> list[str]:
        """Every column this entity reads, for checking against the file's headers."""
        cols = [self.key, self.group, self.individual, self.rel_source, self.rel_destination]
        cols += [f.column for f in self.fields.values()]
        cols += list(self.ids.values()) + list(self.id_expiry.values()) + list(self.additional_info.values())
        cols += [c for p in self.phones for c in (p.column, p.collected)]
        cols += [c for b in self.banks for c in (b.account, b.bank)]
        cols += [c for r in self.relations for c in r.columns()]
        return [c for c in cols if c]


@dataclass(frozen=True, slots=True)
class Mapping:
    """A whole spreadsheet layout."""

    name: str
    description: str
    namespace: str
    date_order: str
    entities: dict[Entity, EntitySpec]
    values: dict[str, dict[str, str]]  # "gender" / "group.kind" / "membership.kind" -> {raw: server value}
    allowed: dict[str, list[str]]  # offline lists of coded values, for `validate` without a server
    match_by_id: str | None = None  # ID type used to find registrants already on the server
    path: Path | None = None
    #: Text beginning with = or @ is refused as a likely formula unless allowed here: True for
    #: every column, or the clerk's column names that may hold it (see importer.cell_guard).
    allow_formula_text: bool | frozenset[str] = False
    #: The deployment's own fields the mapping names (``x_cst_…``, or by their label), as the
    #: server describes them; filled by :meth:`with_server_fields` once the server is asked.
    server_fields: dict[Entity, dict[str, RegistryField]] = field(default_factory=dict)
    #: A tag name the server lacks is created (once, before the registrants) instead of refused.
    create_tags: bool = False

    def registry_field(self, entity: Entity, name: str) -> RegistryField:
        """What the registry says of one field the mapping names (standard, or the server's own).

        Before the server is asked (offline ``validate``) a deployment's field is read as text.
        """
        known = FIELDS[entity].get(name) or self.server_fields.get(entity, {}).get(name)
        return known or RegistryField(name, TEXT)

    def deferred_fields(self) -> list[tuple[Entity, str]]:
        """Fields only the server can describe, not yet looked up (:meth:`with_server_fields`)."""
        return [
            (entity, name)
            for entity, spec in self.entities.items()
            for name in spec.fields
            if name not in FIELDS[entity] and name not in self.server_fields.get(entity, {})
        ]

    def with_server_fields(self, partner_fields: dict[str, dict[str, Any]]) -> Mapping:
        """This mapping with the deployment's fields looked up in the server's ``fields_get``.

        A field named by its label is renamed to its technical name.  A name
        the server does not have, one that matches several labels, or a field
        the server computes (read-only) refuses the whole mapping, before any
        row is read: every row would fail the same way.
        """
        problems: list[str] = []
        entities = dict(self.entities)
        found: dict[Entity, dict[str, RegistryField]] = {}
        for entity, spec in self.entities.items():
            if entity not in (Entity.INDIVIDUAL, Entity.GROUP):
                continue
            renamed: dict[str, FieldSpec] = {}
            wanted = list(spec.fields) + (["additional_g2p_info"] if spec.additional_info else [])
            for name in wanted:
                if name in FIELDS[entity] and partner_fields and name not in partner_fields:
                    problems.append(
                        f"{entity.value}: the server has no field '{name}' (is its module installed?)"
                    )
            for name, fspec in spec.fields.items():
                if name in FIELDS[entity]:
                    renamed[name] = fspec
                    continue
                technical = find_server_field(name, partner_fields)
                if technical is None:
                    near = difflib.get_close_matches(name, list(partner_fields), n=1)
                    hint = f" (did you mean '{near[0]}'?)" if near else ""
                    problems.append(f"{entity.value}: the server has no field '{name}'{hint}")
                    continue
                described = server_field(technical, partner_fields[technical])
                if isinstance(described, str):
                    problems.append(f"{entity.value}: {described}")
                    continue
                found.setdefault(entity, {})[technical] = described
                renamed[technical] = replace(fspec, field=technical)
            entities[entity] = replace(spec, fields=renamed)
        if problems:
            raise _fail(
                self.path or self.name, "the mapping names fields it cannot write: " + "; ".join(problems)
            )
        return replace(self, entities=entities, server_fields=found)

    def allows_formula_text(self, column: str) -> bool:
        """Whether text in this column may begin with ``=``/``@`` (and ``+``/``-`` pass unremarked)."""
        if isinstance(self.allow_formula_text, frozenset):
            return column in self.allow_formula_text
        return self.allow_formula_text

    def value_map(self, entity: Entity, field_name: str) -> dict[str, str]:
        """Aliases for one coded field; ``entity.field`` entries win over bare ``field`` ones."""
        merged = dict(self.values.get(field_name, {}))
        merged.update(self.values.get(f"{entity.value}.{field_name}", {}))
        return merged

    def cleared_fields(self, entity: Entity, run_default: str = "keep") -> frozenset[str]:
        """Fields of ``entity`` whose empty cell empties the server's value on an update.

        A field's own ``empty:`` option wins; the others follow the run's
        choice (``--empty-cells``), which is "keep" unless asked otherwise.
        """
        spec = self.entities.get(entity)
        if spec is None:
            return frozenset()
        return frozenset(name for name, f in spec.fields.items() if (f.empty or run_default) == "clear")


def _fail(path: Path | str, message: str, column: str | None = None) -> ImportFailure:
    return ImportFailure(
        message, [Problem(code="bad_mapping", message=message, file=str(path), column=column)]
    )


def _field_spec(entity: Entity, name: str, raw: Any, path: Path, date_order: str) -> FieldSpec:
    deferred = entity in (Entity.INDIVIDUAL, Entity.GROUP) and looks_like_server_field(name)
    if name not in FIELD_KINDS[entity] and not deferred:
        near = difflib.get_close_matches(name, FIELD_KINDS[entity], n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        known = ", ".join(sorted(FIELD_KINDS[entity]))
        raise _fail(path, f"{entity.value}: unknown field '{name}'{hint}; known fields: {known}")
    if isinstance(raw, str):
        return FieldSpec(name, column=raw, date_order=date_order)
    if isinstance(raw, dict):
        unknown = set(raw) - {"column", "default", "date_order", "empty"}
        if unknown:
            raise _fail(path, f"{entity.value}.{name}: unknown option(s) {sorted(unknown)}")
        order = raw.get("date_order", date_order)
        if order not in DATE_ORDERS:
            raise _fail(path, f"{entity.value}.{name}: date_order must be one of {DATE_ORDERS}")
        default = raw.get("default")
        empty = raw.get("empty")
        if empty is not None and empty not in EMPTY_CELLS:
            raise _fail(path, f"{entity.value}.{name}: empty must be one of {EMPTY_CELLS}, not {empty!r}")
        if raw.get("column") is None and default is None:
            raise _fail(path, f"{entity.value}.{name}: give a column or a default")
        return FieldSpec(
            name,
            column=raw.get("column"),
            default=None if default is None else str(default),
            date_order=order,
            empty=empty,
        )
    raise _fail(path, f"{entity.value}.{name}: expected a column name or a table, got {raw!r}")


def _entity_spec(entity: Entity, raw: dict[str, Any], path: Path, date_order: str) -> EntitySpec:
    if not isinstance(raw, dict):
        raise _fail(path, f"entities.{entity.value} must be a table")
    known = {
        "sheet",
        "file",
        "key",
        "identity",
        "fields",
        "ids",
        "phones",
        "bank_accounts",
        "relationships",
        "additional_info",
        "group",
        "individual",
        "source",
        "destination",
    }
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, f"entities.{entity.value}: unknown option(s) {sorted(unknown)}")
    fields = {
        name: _field_spec(entity, name, spec, path, date_order)
        for name, spec in (raw.get("fields") or {}).items()
    }
    ids, id_expiry = _id_specs(raw.get("ids") or {}, path)
    if ids and entity is not Entity.INDIVIDUAL:
        raise _fail(path, f"entities.{entity.value}: only individuals carry ids")
    phones = _phone_specs(entity, raw.get("phones"), path)
    identity = tuple(raw.get("identity") or ())
    for name in identity:
        if name not in fields and name not in ids:
            raise _fail(path, f"entities.{entity.value}.identity: '{name}' is not a mapped field")
    spec = EntitySpec(
        entity=entity,
        source=SourceSelector(sheet=raw.get("sheet"), file=raw.get("file")),
        key=raw.get("key"),
        identity=identity,
        fields=fields,
        ids=ids,
        id_expiry=id_expiry,
        additional_info=_additional_info(entity, raw.get("additional_info"), fields, path),
        phones=phones,
        banks=_bank_specs(entity, raw.get("bank_accounts"), path),
        relations=_relation_specs(entity, raw.get("relationships"), path),
        group=raw.get("group"),
        rel_source=raw.get("source"),
        rel_destination=raw.get("destination"),
        individual=raw.get("individual"),
    )
    if entity is Entity.MEMBERSHIP and not (spec.group and spec.individual):
        raise _fail(path, "entities.membership needs 'group' and 'individual' key columns")
    if entity is Entity.RELATIONSHIP and not (
        spec.rel_source and spec.rel_destination and "relation" in spec.fields
    ):
        raise _fail(
            path, "entities.relationship needs 'source' and 'destination' key columns and a relation field"
        )
    if entity is Entity.REG_ID and not (spec.individual and {"id_type", "value"} <= set(spec.fields)):
        raise _fail(
            path,
            "entities.reg_id (a sheet of IDs, one per row) needs an 'individual' column with the person's "
            "key and the fields id_type and value (expiry_date optional)",
        )
    if entity not in LINKS and entity is not Entity.REG_ID and not spec.key and not spec.identity:
        raise _fail(path, f"entities.{entity.value} needs a 'key' column or an 'identity' list")
    if entity is Entity.INDIVIDUAL:
        _check_name_parts(spec, path)
    return spec


def _additional_info(entity: Entity, raw: Any, fields: dict[str, FieldSpec], path: Path) -> dict[str, str]:
    """``additional_info:`` key -> column, gathered into the registrant's JSON (people and households)."""
    if not raw:
        return {}
    if entity is Entity.MEMBERSHIP or not isinstance(raw, dict):
        raise _fail(path, f"entities.{entity.value}.additional_info must be a table of key: column")
    if "additional_g2p_info" in fields:
        raise _fail(
            path, f"entities.{entity.value}: give additional_info or the additional_g2p_info field, not both"
        )
    return {str(k): str(v) for k, v in raw.items()}


def _id_specs(raw: dict[str, Any], path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``ids:`` ID type -> a column, or ``{column: ..., expiry: ...}`` for an ID with an expiry date."""
    ids: dict[str, str] = {}
    expiry: dict[str, str] = {}
    for id_type, spec in raw.items():
        if (
            isinstance(spec, dict)
            and isinstance(spec.get("column"), str)
            and set(spec) <= {"column", "expiry"}
        ):
            ids[str(id_type)] = spec["column"]
            if spec.get("expiry"):
                expiry[str(id_type)] = str(spec["expiry"])
        elif isinstance(spec, str):
            ids[str(id_type)] = spec
        else:
            raise _fail(path, f"ids.{id_type}: expected a column or {{column, expiry}}, got {spec!r}")
    return ids, expiry


def _column_pairs(
    entity: Entity, raw: Any, path: Path, option: str, main: str, extra: str
) -> list[tuple[str, str | None]]:
    """A person's list option (``phones``, ``bank_accounts``): each a column, or ``{main:, extra:}``."""
    if not raw:
        return []
    if entity is not Entity.INDIVIDUAL:
        raise _fail(path, f"entities.{entity.value}: only individuals carry {option}")
    if not isinstance(raw, list):
        raise _fail(path, f"entities.individual.{option} must be a list of columns")
    pairs: list[tuple[str, str | None]] = []
    for item in raw:
        if isinstance(item, str):
            pairs.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get(main), str) and set(item) <= {main, extra}:
            pairs.append((item[main], item.get(extra)))
        else:
            raise _fail(
                path, f"entities.individual.{option}: expected a column or {{{main}, {extra}}}, got {item!r}"
            )
    return pairs


def _bank_specs(entity: Entity, raw: Any, path: Path) -> tuple[BankSpec, ...]:
    """``bank_accounts:`` a list of account columns, each a name or ``{account: ..., bank: ...}``."""
    pairs = _column_pairs(entity, raw, path, "bank_accounts", "account", "bank")
    return tuple(BankSpec(account, bank) for account, bank in pairs)


#: What a person's relationship column may say, besides the related registrant's column.
RELATION_OPTIONS = {"related", "relation", "start_date", "end_date"}


def _relation_specs(entity: Entity, raw: Any, path: Path) -> tuple[RelationSpec, ...]:
    """``relationships:`` a list of ``{related: column, relation: Type | {column: ...}, start_date: column}``.

    Read like ``phones:`` and ``bank_accounts:``: one item per column of the
    person's row that names a related registrant.
    """
    if not raw:
        return ()
    where = "entities.individual.relationships"
    if entity is not Entity.INDIVIDUAL:
        raise _fail(path, f"entities.{entity.value}: only individuals carry relationships")
    if not isinstance(raw, list):
        raise _fail(path, f"{where} must be a list of {{related: column, relation: type}}")
    specs: list[RelationSpec] = []
    for item in raw:
        shape = (
            "expected {related: column, relation: a type or {column: ...}, start_date: column}, "
            f"got {item!r}"
        )
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("related"), str)
            or set(item) - RELATION_OPTIONS
        ):
            raise _fail(path, f"{where}: {shape}")
        relation = item.get("relation")
        if isinstance(relation, dict) and set(relation) == {"column"} and isinstance(relation["column"], str):
            fixed, column = None, relation["column"]
        elif isinstance(relation, str) and relation.strip():
            fixed, column = relation.strip(), None
        else:
            raise _fail(path, f"{where}: each needs a relation (a type's name, or {{column: ...}}): {shape}")
        dates = {k: item.get(k) for k in ("start_date", "end_date")}
        if any(v is not None and not isinstance(v, str) for v in dates.values()):
            raise _fail(path, f"{where}: start_date and end_date name columns: {shape}")
        specs.append(RelationSpec(item["related"], fixed, column, dates["start_date"], dates["end_date"]))
    return tuple(specs)


def _phone_specs(entity: Entity, raw: Any, path: Path) -> tuple[PhoneSpec, ...]:
    """``phones:`` a list of columns, each a name or ``{column: ..., collected: ...}``."""
    pairs = _column_pairs(entity, raw, path, "phones", "column", "collected")
    return tuple(PhoneSpec(column, collected) for column, collected in pairs)


#: The entities a mapping may read from a sheet or file of their own, in the order they are bound.
SHEET_ENTITIES = (Entity.GROUP, Entity.INDIVIDUAL, Entity.REG_ID, Entity.MEMBERSHIP, Entity.RELATIONSHIP)

#: Entities that link two records (their key is made of the two ends): no key column of their own.
LINKS = (Entity.MEMBERSHIP, Entity.RELATIONSHIP)


#: The parts of a person's name the registry's own form requires (the API alone would accept fewer).
REQUIRED_NAME_PARTS = ("given_name", "family_name")


def _check_name_parts(spec: EntitySpec, path: Path) -> None:
    """Refuse a mapping whose people could never have a given and a family name.

    Every row would be refused for it (see ``missing_given_name`` in the
    schemas), so it is one mapping error instead of a thousand row errors.
    """
    missing = [name for name in REQUIRED_NAME_PARTS if name not in spec.fields]
    if missing:
        raise _fail(
            path,
            "entities.individual needs given_name and family_name fields (missing: "
            + ", ".join(missing)
            + "): the registry's form refuses a person without a given name and a family name",
        )


def slug(text: str) -> str:
    """A safe external-id fragment: lower case letters, digits and underscores."""
    return _SLUG.sub("_", text.casefold()).strip("_")


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; refuse it with a precise message if anything is off."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, f"mapping file not found: {path}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _fail(path, f"mapping {path.name} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or "entities" not in raw:
        raise _fail(path, f"mapping {path.name} needs an 'entities' table")
    date_order = raw.get("date_order", "iso")
    if date_order not in DATE_ORDERS:
        raise _fail(path, f"date_order must be one of {', '.join(DATE_ORDERS)}")
    entities: dict[Entity, EntitySpec] = {}
    for name, spec in (raw.get("entities") or {}).items():
        try:
            entity = Entity(name)
        except ValueError:
            raise _fail(
                path, f"unknown entity '{name}': use {', '.join(e.value for e in SHEET_ENTITIES)}"
            ) from None
        if entity not in SHEET_ENTITIES:
            raise _fail(path, f"unknown entity '{name}': use {', '.join(e.value for e in SHEET_ENTITIES)}")
        entities[entity] = _entity_spec(entity, spec, path, date_order)
    if not entities:
        raise _fail(path, "the mapping names no entity")
    values = {
        str(k): {str(a): "" if b is None else str(b) for a, b in (v or {}).items()}
        for k, v in (raw.get("values") or {}).items()
    }
    allowed = {str(k): [str(x) for x in v] for k, v in (raw.get("allowed") or {}).items()}
    allow_formula_text = _allow_formula_text(raw.get("allow_formula_text", False), entities, path)
    create_tags = raw.get("create_tags", False)
    if not isinstance(create_tags, bool):
        raise _fail(path, f"create_tags must be true or false, not {create_tags!r}")
    name = str(raw.get("name") or path.stem)
    return Mapping(
        name=name,
        description=str(raw.get("description") or ""),
        namespace=slug(str(raw.get("namespace") or f"spp_import_{name}")),
        date_order=date_order,
        entities=entities,
        values=values,
        allowed=allowed,
        match_by_id=raw.get("match_by_id"),
        path=path,
        allow_formula_text=allow_formula_text,
        create_tags=create_tags,
    )


def _allow_formula_text(raw: Any, entities: dict[Entity, EntitySpec], path: Path) -> bool | frozenset[str]:
    """``allow_formula_text``: true/false, or a list of columns the mapping reads."""
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise _fail(path, "allow_formula_text must be true, false or a list of column names")
    read = {c for spec in entities.values() for c in spec.columns()}
    unknown = [c for c in raw if c not in read]
    if unknown:
        raise _fail(
            path,
            f"allow_formula_text names column '{unknown[0]}', which the mapping does not read; "
            f"columns it reads: {', '.join(sorted(read))}",
            column=unknown[0],
        )
    return frozenset(raw)


@dataclass(frozen=True, slots=True)
class Binding:
    """An entity spec tied to the table that feeds it."""

    spec: EntitySpec
    table: SourceTable


def bind(mapping: Mapping, tables: Sequence[SourceTable]) -> list[Binding]:
    """Pair each entity with its table and check every column it names exists.

    Refuses (``ImportFailure``) with the missing column, the table, and the
    closest header, before any row is read.
    """
    bindings: list[Binding] = []
    problems: list[Problem] = []
    for entity in SHEET_ENTITIES:
        spec = mapping.entities.get(entity)
        if spec is None:
            continue
        candidates = [t for t in tables if spec.source.matches(t)]
        if not spec.source.sheet and not spec.source.file and len(tables) > 1:
            candidates = [t for t in candidates if set(spec.columns()) <= set(t.frame.columns)]
        if len(candidates) != 1:
            found = ", ".join(t.label for t in tables) or "nothing"
            what = "no table matches" if not candidates else "several tables match"
            problems.append(
                Problem(
                    code="table_not_found",
                    message=f"{entity.value}s: {what} {spec.source.describe()} (found: {found})",
                    file=str(tables[0].path.name if tables else mapping.path),
                )
            )
            continue
        table = candidates[0]
        headers = list(table.frame.columns)
        for column in dict.fromkeys(spec.columns()):
            if column not in headers:
                near = difflib.get_close_matches(column, headers, n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                problems.append(
                    Problem(
                        code="column_missing",
                        message=(
                            f"the mapping '{mapping.name}' reads column '{column}' for {entity.value}s, "
                            f"but {table.label} has no such column{hint}"
                        ),
                        file=table.path.name,
                        sheet=table.sheet,
                        row=table.header_row,
                        column=column,
                    )
                )
        bindings.append(Binding(spec, table))
    if problems:
        raise ImportFailure(problems[0].message, problems)
    return bindings
