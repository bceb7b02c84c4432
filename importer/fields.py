"""Every registry field a mapping may name, declared once, with its kind.

A field's :class:`Kind` says how its cell is read (the map and validate
stages: text, a phone, a number, a date, a coded value…) and how the
server's value is compared with the file's (the plan: as text, a float, a
boolean, a date, a many2one id…); its load path says how it is sent.  The
mapping's field list, the template's notes, the cell guard, the schemas'
messages and the plan's payload and comparison all read this table, so a new
field is one line here (``docs/architecture.md`` §5).  The issue "The whole
registry" will fill it from the server's ``fields_get`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.outcome import Entity


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of field is read from a cell and compared with the server's value."""

    cell: str  # how the cell is read: text, phone, email, number, bool, date, datetime, coded, coded_list
    compare: str  # how the plan compares: text, float, bool, date, datetime, m2o, m2m


TEXT = Kind("text", "text")
PHONE = Kind("phone", "text")
EMAIL = Kind("email", "text")
NUMBER = Kind("number", "float")  # the server reads an unset float back as 0
BOOLEAN = Kind("bool", "bool")
DATE = Kind("date", "date")
DATETIME = Kind("date", "datetime")  # read as a date; the server stores a datetime (midnight)
TIMESTAMP = Kind("datetime", "datetime")  # a date and a time, sent as "YYYY-MM-DD HH:MM:SS" (UTC)
SELECTION = Kind("coded", "text")  # a selection value resolved against the server's list
MANY2ONE = Kind("coded", "m2o")  # a name resolved to a record, sent as its database id
MANY2MANY = Kind("coded_list", "m2m")  # comma-separated names, sent as ids
JSON = Kind("json", "json")  # a JSON object, compared as its normalised text


INTEGER = Kind("integer", "int")


@dataclass(frozen=True, slots=True)
class RegistryField:
    """One field of one entity: its name in the mapping, its kind and its ``load`` column.

    A deployment's own fields (``x_cst_indv_*``…) come from the server's
    ``fields_get`` (:func:`server_field`) and also carry the server's label,
    the text size and the selection's values.
    """

    name: str
    kind: Kind
    load: str = ""  # the load column when it is not the name ("kind/.id")
    label: str = ""
    size: int | None = None  # a char field's size, when the server sets one
    selection: tuple[tuple[str, str], ...] = ()  # (value, label) of a selection field
    relation: str = ""  # a relational field's target model, looked up once per run
    match: tuple[str, ...] = ()  # the target's fields a cell may name a record by

    @property
    def path(self) -> str:
        return self.load or self.name


def _fields(*fields: RegistryField) -> dict[str, RegistryField]:
    return {f.name: f for f in fields}


#: Records people and households point at, named in a cell by code or name (sent as ids).
_REGISTRANT_LINKS = (
    # spp_area: "R1" (its code), "Region One" (its name) or "R1 - Region One" (as the server shows it)
    RegistryField(
        "area_id", MANY2ONE, "area_id/.id", relation="spp.area", match=("code", "draft_name", "name")
    ),
    # g2p_registry: several tags in one cell, comma-separated
    RegistryField("tags_ids", MANY2MANY, "tags_ids/.id", relation="g2p.registrant.tags", match=("name",)),
)

#: The standard registry fields each entity may map (OpenSPP 17 / OpenG2P 17.0).
FIELDS: dict[Entity, dict[str, RegistryField]] = {
    Entity.INDIVIDUAL: _fields(
        RegistryField("name", TEXT),
        RegistryField("given_name", TEXT),
        RegistryField("family_name", TEXT),
        RegistryField("addl_name", TEXT),
        # a selection on OpenSPP 17 (many2one on some servers: the plan asks fields_get)
        RegistryField("gender", SELECTION),
        RegistryField("birthdate", DATE),
        RegistryField("birth_place", TEXT),
        RegistryField("birthdate_not_exact", BOOLEAN),
        RegistryField("registration_date", DATE),
        RegistryField("phone", PHONE),
        RegistryField("mobile", PHONE),
        RegistryField("email", EMAIL),
        RegistryField("income", NUMBER),
        RegistryField("occupation", TEXT),
        RegistryField("civil_status", TEXT),
        RegistryField("address", TEXT),
        RegistryField("additional_g2p_info", JSON),  # g2p_registry_addl_info
        *_REGISTRANT_LINKS,
    ),
    Entity.GROUP: _fields(
        RegistryField("name", TEXT),
        RegistryField("kind", MANY2ONE, "kind/.id"),
        RegistryField("registration_date", DATE),
        RegistryField("phone", PHONE),
        RegistryField("mobile", PHONE),
        RegistryField("email", EMAIL),
        RegistryField("income", NUMBER),
        RegistryField("address", TEXT),
        RegistryField("additional_g2p_info", JSON),
        *_REGISTRANT_LINKS,
    ),
    # A person's IDs, one record per ID type (the mapping names them under the person's ``ids``).
    Entity.REG_ID: _fields(
        RegistryField("id_type", MANY2ONE, "id_type/.id"),
        RegistryField("value", TEXT),
        RegistryField("expiry_date", DATE),
    ),
    # A person's phone numbers, one record per number (the mapping lists them under ``phones``).
    Entity.PHONE: _fields(
        RegistryField("phone_no", PHONE),
        RegistryField("date_collected", DATE),
    ),
    # A person's bank accounts (the mapping lists them under ``bank_accounts``); the bank by BIC or name.
    Entity.BANK: _fields(
        RegistryField("acc_number", TEXT),
        RegistryField(
            "bank_id", MANY2ONE, "bank_id/.id", label="Bank", relation="res.bank", match=("bic", "name")
        ),
    ),
    Entity.MEMBERSHIP: _fields(
        RegistryField("kind", MANY2MANY, "kind/.id"),
        RegistryField("start_date", DATETIME),
        RegistryField("ended_date", DATETIME),
    ),
    # Relationships between registrants (g2p.reg.rel): the type by its name ("Spouse").
    Entity.RELATIONSHIP: _fields(
        RegistryField(
            "relation",
            MANY2ONE,
            "relation/.id",
            label="Relationship",
            relation="g2p.relationship",
            match=("name",),
        ),
        RegistryField("start_date", DATETIME),
        RegistryField("end_date", DATETIME),
    ),
}

#: Load columns every registrant carries whatever the mapping says, and how they compare.
PARTNER_FLAGS: dict[str, str] = {"is_registrant": "bool", "is_group": "bool"}


def cell_kinds(entity: Entity) -> dict[str, str]:
    """Field name -> how its cell is read, for one entity."""
    return {name: f.kind.cell for name, f in FIELDS[entity].items()}


def partner_fields() -> dict[str, RegistryField]:
    """The registrant fields sent as they are (coded ones are resolved to ids first), people's first."""
    out: dict[str, RegistryField] = {}
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        for name, f in FIELDS[entity].items():
            if f.kind.cell not in ("coded", "coded_list"):
                out.setdefault(name, f)
    return out


def compare_kinds(entity: Entity) -> dict[str, str]:
    """Load column -> how the plan compares it with the server's value, for one entity."""
    kinds = {f.path: f.kind.compare for f in FIELDS[entity].values()}
    if entity in (Entity.INDIVIDUAL, Entity.GROUP):
        kinds |= PARTNER_FLAGS | {"gender/.id": "m2o"}  # gender as a many2one, where a server has one
    return kinds


# -- the server's own fields --------------------------------------------------------------

#: fields_get types a deployment's field may have, and the kind each is read as.
SERVER_KINDS: dict[str, Kind] = {
    "char": TEXT,
    "text": TEXT,
    "html": TEXT,
    "integer": INTEGER,
    "float": NUMBER,
    "monetary": NUMBER,
    "boolean": BOOLEAN,
    "date": DATE,
    "datetime": TIMESTAMP,
    "selection": SELECTION,
    # a record of the field's ``relation`` model, named in the cell as the server shows it
    "many2one": MANY2ONE,
    "many2many": MANY2MANY,  # several, comma-separated
}


def looks_like_server_field(name: str) -> bool:
    """A name the mapping may use before the server is asked: a custom field or a label.

    Custom fields are named ``x_…`` (the custom-fields screen) or ``z_…``
    (modules); a label ("Disability Level") has a space or a capital.  Any
    other unknown name is a typo of a standard field, refused at once.
    """
    return name.startswith(("x_", "z_")) or " " in name or name != name.lower()


def server_field(name: str, description: dict[str, object]) -> RegistryField | str:
    """The field ``fields_get`` describes, or why a mapping may not write it."""
    label = str(description.get("string") or name)
    kind = SERVER_KINDS.get(str(description.get("type")))
    if description.get("readonly") or description.get("store") is False or description.get("compute"):
        return f"'{label}' ({name}) is computed by the server (read-only): it cannot be imported"
    if kind is None:
        return (
            f"'{label}' ({name}) is a {description.get('type')} field, which spp-import cannot "
            "write from a column yet"
        )
    if kind in (MANY2ONE, MANY2MANY):
        relation = str(description.get("relation") or "")
        if not relation:
            return f"'{label}' ({name}) names no model its records could come from"
        match = KNOWN_TARGETS.get(relation, ())  # a model we know (areas): by its codes as well
        return RegistryField(name, kind, f"{name}/.id", label=label, relation=relation, match=match)
    size = description.get("size")
    selection = tuple((str(v), str(t)) for v, t in (description.get("selection") or []))  # type: ignore[union-attr]
    return RegistryField(name, kind, label=label, size=int(size) if size else None, selection=selection)


#: Models our own fields point at -> the fields a cell may name their records by (areas by code…),
#: so a deployment's field to the same model is matched the same way.
KNOWN_TARGETS: dict[str, tuple[str, ...]] = {
    f.relation: f.match for fields in FIELDS.values() for f in fields.values() if f.relation and f.match
}


def find_server_field(wanted: str, partner_fields: dict[str, dict[str, object]]) -> str | None:
    """The technical name of a field named by its technical name or its label (case ignored)."""
    if wanted in partner_fields:
        return wanted
    folded = wanted.strip().casefold()
    hits = [n for n, d in partner_fields.items() if str(d.get("string", "")).strip().casefold() == folded]
    return hits[0] if len(hits) == 1 else None


def linked_fields(entity: Entity) -> dict[str, RegistryField]:
    """The fields of an entity that name records of another model (areas, tags)."""
    return {name: f for name, f in FIELDS.get(entity, {}).items() if f.relation}
