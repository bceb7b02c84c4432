"""Presets: a sandbox configured as a programme's administrator would configure a real server.

A fresh sandbox holds what an OpenSPP install ships (plus genders and two ID
types, see `seed.py`). A real enrollment also needs what a deployment adds on
its own screens: custom fields, the areas of its map, its tags, the banks its
beneficiaries use and the relationship types it records. A preset is that set-up,
made with the **requests an administrator's screens send** (`ir.model.fields.create`
with ``state: manual`` as OpenSPP's custom-fields screen does, `spp.area` `load` as
its area import does, one `create` per tag, bank and relationship type), sent
through the sandbox's own JSON-RPC dispatcher as the admin user. So a preset
cannot make anything a real server would refuse or store differently.

``spp-import sandbox --preset enrollment`` starts with the set-up that
``mappings/enrollment.yaml`` and ``sample_data/enrollment.xlsx`` need (and the
wide-workbook benchmark builds on). A preset is applied once per database: a
``--db FILE`` that already holds it is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .auth import ADMIN_PASSWORD, ADMIN_UID, SANDBOX_DB

if TYPE_CHECKING:
    from .rpc import Dispatcher

Call = Callable[..., Any]  # call(model, method, *args, **kwargs) as the admin

#: A deployment's own fields, as its administrator makes them on the custom-fields screen.
ENROLLMENT_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "x_cst_indv_disability_level", "field_description": "Disability Level", "ttype": "integer"},
    {"name": "x_cst_indv_pregnant", "field_description": "Pregnant", "ttype": "boolean"},
    {
        "name": "x_cst_indv_education",
        "field_description": "Education Level",
        "ttype": "selection",
        "selection": "[('none', 'None'), ('primary', 'Primary'), ('secondary', 'Secondary'), "
        "('tertiary', 'Tertiary')]",
    },
    {
        "name": "x_cst_indv_occupation_detail",
        "field_description": "Occupation Detail",
        "ttype": "char",
        "size": 30,
    },
    {
        "name": "x_cst_grp_water_source",
        "field_description": "Water Source",
        "ttype": "selection",
        "selection": "[('well', 'Well'), ('tap', 'Tap water'), ('river', 'River'), ('rain', 'Rainwater')]",
    },
    {"name": "x_cst_grp_has_latrine", "field_description": "Has Latrine", "ttype": "boolean"},
    {"name": "x_cst_grp_rooms", "field_description": "Number of Rooms", "ttype": "integer"},
    {"name": "x_cst_grp_dwelling_notes", "field_description": "Dwelling Notes", "ttype": "text"},
)

#: (external id, name, code, parent's external id): two regions and their districts.
ENROLLMENT_AREAS: tuple[tuple[str, str, str, str], ...] = (
    ("preset_area.r1", "Northern Region", "R1", ""),
    ("preset_area.r2", "Southern Region", "R2", ""),
    ("preset_area.r1_d1", "Lakeside", "R1-D1", "preset_area.r1"),
    ("preset_area.r1_d2", "Hill Country", "R1-D2", "preset_area.r1"),
    ("preset_area.r2_d1", "Riverbend", "R2-D1", "preset_area.r2"),
    ("preset_area.r2_d2", "Central", "R2-D2", "preset_area.r2"),
)
ENROLLMENT_TAGS = ("Vulnerable", "Pilot 2026", "Female-headed", "Person with disability", "Remote")
ENROLLMENT_BANKS = (("Rural Bank", "RURLPHMM"), ("Metro Bank", "MBTCPHMM"), ("Coop Savings", "COOPPHM1"))
#: (name, inverse name, bidirectional): between two individuals.
ENROLLMENT_RELATIONSHIPS = (
    ("Spouse", "Spouse", True),
    ("Parent", "Child", False),
    ("Sibling", "Sibling", True),
    ("Grandparent", "Grandchild", False),
)


def enrollment(call: Call) -> None:
    """Custom fields, areas, tags, banks and relationship types of a programme's enrollment."""
    [partner_model] = call("ir.model", "search", [["model", "=", "res.partner"]])
    for spec in ENROLLMENT_FIELDS:
        call("ir.model.fields", "create", {**spec, "model_id": partner_model, "state": "manual"})
    loaded = call(
        "spp.area",
        "load",
        ["id", "draft_name", "code", "parent_id/id"],
        [list(area) for area in ENROLLMENT_AREAS],
    )
    if not loaded.get("ids"):  # load answers refusals as messages, never raises
        raise RuntimeError(f"the preset's areas were refused: {loaded.get('messages')}")
    for tag in ENROLLMENT_TAGS:  # the server's create refuses several tags at once ("Expected singleton")
        call("g2p.registrant.tags", "create", {"name": tag})
    for name, bic in ENROLLMENT_BANKS:
        call("res.bank", "create", {"name": name, "bic": bic})
    for name, inverse, both_ways in ENROLLMENT_RELATIONSHIPS:
        call(
            "g2p.relationship",
            "create",
            {
                "name": name,
                "name_inverse": inverse,
                "bidirectional": both_ways,
                "source_type": "i",
                "destination_type": "i",
            },
        )


PRESETS: dict[str, Callable[[Call], None]] = {"enrollment": enrollment}


def apply(dispatcher: Dispatcher, name: str) -> bool:
    """Apply one preset through the dispatcher as the admin; False when the database already has it."""
    preset = PRESETS[name]
    store = dispatcher.store
    marker = f"preset:{name}"
    with store.lock:
        done = store.conn.execute("SELECT 1 FROM sandbox_meta WHERE key = ?", (marker,)).fetchone()
    if done:
        return False

    def call(model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        payload = [SANDBOX_DB, ADMIN_UID, ADMIN_PASSWORD, model, method, list(args), kwargs]
        return dispatcher.dispatch("object", "execute_kw", payload)

    preset(call)
    with store.transaction() as cr:
        cr.execute("INSERT INTO sandbox_meta (key, value) VALUES (?, ?)", (marker, "applied"))
    return True
