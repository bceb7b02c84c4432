"""What a fresh sandbox holds: the records an OpenSPP 17 install ships, plus demo lookups.

A real fresh install has group kinds Household and Family and the membership kind
Head (unique), but no gender types and no ID types (`bare=True` reproduces that).
The default sandbox adds what an administrator would configure first:
- gender types Male and Female (code = value),
- ID type "National ID" validated by ``^[0-9]{10}$`` (ten digits) and
  "Passport" validated by ``^[A-Z0-9]{6,9}$``.
"""

from __future__ import annotations

from .auth import SYSTEM_UID, Users
from .models import MODELS
from .orm import Env
from .store import Store

NATIONAL_ID_REGEX = r"^[0-9]{10}$"
PASSPORT_REGEX = r"^[A-Z0-9]{6,9}$"


def _xmlid(env: Env, module: str, name: str, model: str, res_id: int) -> None:
    env.execute(
        "INSERT INTO ir_model_data (module, name, model, res_id, noupdate) VALUES (?, ?, ?, ?, 1)",
        (module, name, model, res_id),
    )


def seed(
    store: Store,
    users: Users,
    *,
    bare: bool = False,
    id_types: bool = True,
    genders: bool = True,
    used_ids: dict[str, int] | None = None,
) -> None:
    """Fill an empty database once; a database that was seeded before is left alone.

    `used_ids` ({model: n}) makes the first new record of a model get id n + 1, as on a
    server where records of it already exist (a fresh Odoo holds six partners): replays
    of a recorded session then see the recorded ids.
    """
    users.seed()
    if not store.is_empty():
        return
    with store.transaction() as cr:
        env = Env(cr, SYSTEM_UID)
        kinds = env.create_records(MODELS["g2p.group.kind"], [{"name": "Household"}, {"name": "Family"}])
        _xmlid(env, "g2p_registry_group", "group_kind_household", "g2p.group.kind", kinds[0])
        _xmlid(env, "g2p_registry_group", "group_kind_family", "g2p.group.kind", kinds[1])
        [head] = env.create_records(
            MODELS["g2p.group.membership.kind"], [{"name": "Head", "is_unique": True}]
        )
        _xmlid(
            env,
            "g2p_registry_membership",
            "group_membership_kind_head",
            "g2p.group.membership.kind",
            head,
        )
        if not bare and genders:
            env.create_records(
                MODELS["gender.type"],
                [{"code": "Male", "value": "Male"}, {"code": "Female", "value": "Female"}],
            )
        if not bare and id_types:
            env.create_records(
                MODELS["g2p.id.type"],
                [
                    {"name": "National ID", "id_validation": NATIONAL_ID_REGEX},
                    {"name": "Passport", "id_validation": PASSPORT_REGEX},
                ],
            )
        # spp_area ships one area kind.
        env.create_records(MODELS["spp.area.kind"], [{"name": "Admin Area"}])
        for model_name, count in (used_ids or {}).items():
            table = MODELS[model_name].table
            cr.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
            cr.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, count))
        cr.execute(
            "INSERT INTO sandbox_meta (key, value) VALUES ('seeded', ?)", ("bare" if bare else "demo",)
        )
