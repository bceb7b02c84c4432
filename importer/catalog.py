"""What the server knows, asked once per run: field types and lookup records.

Ask the server, don't assume (docs/architecture.md §2).  One ``fields_get``
per model the import writes and one ``search_read`` per lookup model, kept
for the run.  Dry runs use exactly the same catalog as real runs.

Without a server (``spp-import validate``) the catalog is built from the
lists the mapping declares, so structure and codes can still be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from importer.client import ClientPool, OdooClient
from importer.errors import OdooError
from importer.fields import FIELDS, RegistryField, linked_fields
from importer.mapping import Mapping
from importer.normalise import fold
from importer.outcome import ENTITIES, Entity, ImportFailure, Problem

PARTNER = ENTITIES[Entity.INDIVIDUAL].model
MEMBERSHIP = ENTITIES[Entity.MEMBERSHIP].model
REG_ID = ENTITIES[Entity.REG_ID].model
BANK_FIELD = "bank_id"  # a bank account's bank, looked up like an area (catalog.linked)
MODELS_WRITTEN = (PARTNER, MEMBERSHIP, REG_ID)


@dataclass
class Catalog:
    """The server's lookups for one run (a LookupCache, filled up front)."""

    genders: list[str] = field(default_factory=list)  # the values sent / shown
    gender_type: str = "selection"  # "selection" (OpenSPP 17) or "many2one"
    gender_ids: dict[str, int] = field(default_factory=dict)  # many2one servers: value -> id
    group_kinds: dict[str, int] = field(default_factory=dict)
    membership_kinds: dict[str, int] = field(default_factory=dict)
    unique_kinds: set[str] = field(default_factory=set)
    id_types: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)  # name -> (id, regex)
    phone_regex: str | None = None
    fields: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # model -> fields_get
    online: bool = False
    #: registrant field (area_id, tags_ids) -> the records a cell may name (fetch_linked_records)
    linked: dict[str, LinkedRecords] = field(default_factory=dict)
    #: whether ``id_types`` lists every ID type there is (the server's, or the mapping's ``allowed``
    #: list offline), so a type not in it may be refused
    id_types_listed: bool = True
    #: relationship types (g2p.relationship) by their name: sides, inverse name, both ways or not
    relation_types: dict[str, RelationType] = field(default_factory=dict)


#: A relationship type's side ("i" / "g", False: either), as a clerk calls it.
SIDE_WORDS = {"i": "a person", "g": "a household"}


@dataclass(frozen=True)
class RelationType:
    """One relationship type (``g2p.relationship``) as the registry defines it.

    ``source_type`` / ``destination_type`` say which ends must be a person
    (``i``) or a household (``g``), ``""`` when either may be; the server
    refuses a relationship whose ends do not fit ("This registrant is not
    applicable for this relation type.").  ``inverse`` names the type read
    from the other end ("Child" for "Parent"); ``bidirectional`` types read
    the same from both ends (docs/architecture.md §2).
    """

    id: int
    name: str
    inverse: str
    source_type: str
    destination_type: str
    bidirectional: bool

    @property
    def symmetric(self) -> bool:
        """It reads the same from both ends, which take the same kind of registrant ("Spouse")."""
        return self.bidirectional and self.source_type == self.destination_type


@dataclass(frozen=True)
class LinkedRecords:
    """The records one relational field may point at, by every text a cell may name them with.

    ``names`` maps each record's name as the server shows it (the value the
    resolver writes into the table) to its id; ``by_text`` maps a folded code
    or name to that name when it names one record only, ``ambiguous`` to the
    names of every record it names when it names several (never guessed).
    """

    label: str
    names: dict[str, int]
    by_text: dict[str, str]
    ambiguous: dict[str, list[str]]
    many: bool = False  # several, comma-separated, in one cell (tags)


def _values(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {str(r[key]): int(r["id"]) for r in rows if r.get(key)}


#: How many of the catalog's calls are in flight at once: none depends on another, and a run's
#: first write waits for all of them (one round trip instead of seven).
CATALOG_CALLS = 4


def fetch_catalog(client: OdooClient) -> Catalog:
    """Ask the server for field types and every lookup list the import needs (one call each)."""
    asks: dict[str, Callable[[OdooClient], Any]] = {
        **{model: (lambda c, m=model: c.fields_get(m)) for model in MODELS_WRITTEN},
        "group_kinds": lambda c: c.search_read("g2p.group.kind", [], ["name"]),
        "membership_kinds": lambda c: c.search_read("g2p.group.membership.kind", [], ["name", "is_unique"]),
        "id_types": lambda c: c.search_read("g2p.id.type", [], ["name", "id_validation"]),
        "phone_regex": _phone_regex,
    }
    with ClientPool(client, CATALOG_CALLS) as pool:
        answers = dict(zip(asks, pool.map(lambda c, ask: ask(c), list(asks.values())), strict=True))
    cat = Catalog(online=True)
    cat.fields = {model: answers[model] for model in MODELS_WRITTEN}
    gender = cat.fields[PARTNER].get("gender", {})
    cat.gender_type = gender.get("type", "selection")
    if cat.gender_type == "many2one":
        rows = client.search_read(gender.get("relation", "gender.type"), [], ["code", "value", "name"])
        cat.gender_ids = {str(r.get("value") or r.get("name") or r.get("code")): r["id"] for r in rows}
        cat.genders = list(cat.gender_ids)
    else:
        cat.genders = [str(v) for v, _label in gender.get("selection") or []]
    cat.group_kinds = _values(answers["group_kinds"], "name")
    kinds = answers["membership_kinds"]
    cat.membership_kinds = _values(kinds, "name")
    cat.unique_kinds = {str(k["name"]) for k in kinds if k.get("is_unique")}
    cat.unique_kinds.add("Head")  # the registry's rule, whatever the flag says (docs/architecture.md §2)
    cat.unique_kinds &= set(cat.membership_kinds) | {"Head"}
    types = answers["id_types"]
    cat.id_types = {str(r["name"]): (int(r["id"]), r.get("id_validation") or None) for r in types}
    cat.phone_regex = answers["phone_regex"]
    return cat


def _phone_regex(client: OdooClient) -> str | None:
    """The registry's phone number pattern, if the deployment set one."""
    try:
        key = [["key", "=", "g2p_registry.phone_regex"]]
        params = client.search_read("ir.config_parameter", key, ["value"])
    except OdooError:
        return None  # the parameter model is not readable by every user
    return (params[0].get("value") or None) if params else None


def fetch_linked_records(client: OdooClient, catalog: Catalog, mapping: Mapping) -> None:
    """Read once the records the mapping's relational fields may name (areas, tags, banks).

    A field the server does not have (its module is not installed) refuses
    the run before any row is read.
    """
    described = catalog.fields.get(PARTNER, {})
    wanted: dict[str, RegistryField] = {}
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        spec = mapping.entities.get(entity)
        for name, linked in linked_fields(entity).items():
            if spec is not None and name in spec.fields:
                wanted[name] = linked
    missing = [name for name in wanted if name not in described]
    if missing:
        raise ImportFailure(
            f"the server has no field {', '.join(missing)} on registrants (is its module installed?): "
            "remove it from the mapping or ask an administrator"
        )
    for found in mapping.server_fields.values():  # the deployment's own relational fields
        wanted.update((name, f) for name, f in found.items() if f.relation)
    people = mapping.entities.get(Entity.INDIVIDUAL)
    if Entity.RELATIONSHIP in mapping.entities or (people is not None and people.relations):
        wanted["relation"] = FIELDS[Entity.RELATIONSHIP]["relation"]  # relationship types by name
    if people is not None and any(b.bank for b in people.banks):  # banks named by BIC or name
        wanted[BANK_FIELD] = FIELDS[Entity.BANK][BANK_FIELD]
    for name, linked in wanted.items():
        extra = RELATION_TYPE_FIELDS if name == "relation" else ()
        if linked.match:  # a registry field we know: its records by name and by their codes
            rows = client.search_read(linked.relation, [], ["name", *linked.match, *extra])
            match = linked.match
        else:  # a deployment's field to any model: by the name the server shows, and the record's own
            rows, match = _display_rows(client, linked.relation, extra)
        label = described.get(name, {}).get("string") or linked.label or name  # the server's, or ours
        xids = _external_ids(client, linked.relation, [int(r["id"]) for r in rows])
        many = linked.kind.cell == "coded_list"
        catalog.linked[name] = _linked_records(str(label), rows, match, xids, many)
        if name == "relation":
            catalog.relation_types = relation_types(rows)


#: What the plan and the checks need of a relationship type, read with its name.
RELATION_TYPE_FIELDS = ("name_inverse", "bidirectional", "source_type", "destination_type")


def suggestion_catalog(client: OdooClient) -> Catalog:
    """What a suggestion asks the server: the catalog, and the relationship types a sheet may name.

    An import reads the types only when its mapping has relationships
    (:func:`fetch_linked_records`); a suggestion has no mapping yet.  A server
    without them (no registry's relationships, or no right to read them)
    leaves the list empty: the type's values are then only guessed.
    """
    catalog = fetch_catalog(client)
    model = FIELDS[Entity.RELATIONSHIP]["relation"].relation
    try:
        rows = client.search_read(model, [], ["name", *RELATION_TYPE_FIELDS])
    except OdooError:
        return catalog
    catalog.relation_types = relation_types(rows)
    return catalog


def relation_types(rows: list[dict[str, Any]]) -> dict[str, RelationType]:
    """Relationship types by name, from ``g2p.relationship`` records (unset sides are "")."""
    return {
        str(r["name"]): RelationType(
            id=int(r["id"]),
            name=str(r["name"]),
            inverse=str(r.get("name_inverse") or ""),
            source_type=str(r.get("source_type") or ""),
            destination_type=str(r.get("destination_type") or ""),
            bidirectional=bool(r.get("bidirectional")),
        )
        for r in rows
        if r.get("name")
    }


def _display_rows(
    client: OdooClient, model: str, extra: tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Every record of ``model`` with its display name as ``name`` (and its own ``name`` as a match)."""
    own = client.fields_get(model, attributes=["type", "store"]).get("name", {})
    has_name = own.get("type") in ("char", "text") and own.get("store", True)
    rows = client.search_read(model, [], ["display_name", *(["name"] if has_name else []), *extra])
    shown = [{**r, "own_name": r.get("name"), "name": r.get("display_name")} for r in rows]
    return shown, ("own_name",) if has_name else ()


#: Records whose external ids one get_external_id call asks for (as plan.existing_xids pages them).
XID_PAGE = 2000


def _external_ids(client: OdooClient, model: str, ids: list[int]) -> dict[int, str]:
    """Each record's external id (``spp_area.area_r1``), for cells that name a record by it.

    ``get_external_id`` is open to every user (``ir.model.data`` itself only to
    administrators, docs/architecture.md §2); it gives one external id per record.
    """
    found: dict[int, str] = {}
    for start in range(0, len(ids), XID_PAGE):
        page = client.execute_kw(model, "get_external_id", [ids[start : start + XID_PAGE]])
        found.update((int(res_id), str(xid)) for res_id, xid in (page or {}).items() if xid)
    return found


def _linked_records(
    label: str,
    rows: list[dict[str, Any]],
    match: tuple[str, ...],
    xids: dict[int, str] | None = None,
    many: bool = False,
) -> LinkedRecords:
    names = {str(r["name"]): int(r["id"]) for r in rows if r.get("name")}
    shown = {int(r["id"]): str(r["name"]) for r in rows if r.get("name")}
    found: dict[str, set[int]] = {}  # folded text -> the records it names (two may share a name)
    for r in rows:
        texts = [r.get(key) for key in ("name", *match)] + [(xids or {}).get(int(r["id"]))]
        for text in texts:
            if text and r.get("name"):
                found.setdefault(fold(str(text)), set()).add(int(r["id"]))
    by_text = {text: shown[next(iter(hits))] for text, hits in found.items() if len(hits) == 1}
    ambiguous = {text: sorted(shown[i] for i in hits) for text, hits in found.items() if len(hits) > 1}
    return LinkedRecords(label, names, by_text, ambiguous, many)


def offline_catalog(mapping: Mapping) -> Catalog:
    """A catalog from the mapping's own lists, for validating without a server."""

    def declared(key: str) -> list[str]:
        if key in mapping.allowed:
            return list(mapping.allowed[key])
        targets = {t for k, m in mapping.values.items() if k.split(".")[-1] == key for t in m.values()}
        return sorted(t for t in targets if t)

    genders = declared("gender")
    kinds = declared("kind")
    member_kinds = mapping.allowed.get("membership.kind") or ["Head"]
    group_kinds = mapping.allowed.get("group.kind") or kinds
    ids = mapping.entities.get(Entity.INDIVIDUAL)
    listed = mapping.allowed.get("id_type") or mapping.allowed.get("reg_id.id_type")
    return Catalog(
        genders=genders,
        group_kinds={k: 0 for k in group_kinds},
        membership_kinds={k: 0 for k in member_kinds},
        unique_kinds={"Head"},
        id_types={name: (None, None) for name in [*(ids.ids if ids else {}), *(listed or [])]},
        id_types_listed=listed is not None,
        online=False,
    )


def check_server_setup(catalog: Catalog, mapping: Mapping, used: dict[str, set[str]]) -> None:
    """Refuse, once and plainly, a run the server is not configured for.

    ``used`` holds the coded values the file actually uses per field
    (``gender``, ``group.kind``, ``membership.kind``) after aliasing.  A
    field whose lookup list is empty on the server, or an ID type the
    mapping needs that the server lacks, is a configuration problem of the
    server — not a thousand identical row errors.
    """
    problems: list[str] = []
    if used.get("gender") and not catalog.genders:
        problems.append(
            "the server has no gender types configured, so no gender can be recorded: "
            "ask an administrator to add them (Registry > Configuration > Gender Types)"
        )
    if used.get("group.kind") and not catalog.group_kinds:
        problems.append("the server has no group kinds configured (e.g. Household)")
    spec = mapping.entities.get(Entity.INDIVIDUAL)
    for id_type in spec.ids if spec else {}:
        if id_type not in catalog.id_types:
            known = ", ".join(catalog.id_types) or "none"
            problems.append(
                f"the server has no ID type '{id_type}' (it has: {known}): an administrator must "
                "create it before these IDs can be imported"
            )
    names = {fold(n) for t in catalog.relation_types.values() for n in (t.name, t.inverse) if n}
    for relation in spec.relations if spec else ():  # one type for a whole relationship column
        if relation.relation and fold(relation.relation) not in names:
            known = ", ".join(catalog.relation_types) or "none"
            problems.append(
                f"the server has no relationship type '{relation.relation}' (it has: {known}), which the "
                f"mapping gives every relationship of column '{relation.related}'"
            )
    for kind in sorted(used.get("group.kind", set()) - set(catalog.group_kinds)):
        if kind in {v for v in mapping.value_map(Entity.GROUP, "kind").values()}:
            problems.append(f"the mapping expects a group kind '{kind}' that the server does not have")
    if problems:
        raise ImportFailure(
            "the server is not configured for this file: " + "; ".join(problems),
            [
                Problem(code="server_configuration", message=m, file=str(mapping.path or mapping.name))
                for m in problems
            ],
        )
