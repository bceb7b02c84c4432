"""Server rules of the wider registry: tags, relationships, bank accounts, areas.

Each rule mirrors what a real OpenSPP 17 server (OpenG2P `g2p_registry_*`, `g2p_bank`,
OpenSPP `spp_area`) answered when recorded (see the README's sandbox section): the
trigger, the check and the exact message, including its quirks, e.g. creating two
tags in one `create` fails with "Expected singleton" after their ids are used up.
`constraints.py` calls in here for these models, so the registry slice's own rules
stay readable there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import custom_fields
from .errors import IntegrityViolation, ValidationError
from .models import Field, Model

if TYPE_CHECKING:
    from .orm import Env

MODELS_WITH_RULES = frozenset(
    {"g2p.registrant.tags", "g2p.reg.rel", "res.partner.bank", "spp.area", "spp.area.kind", "ir.model.fields"}
)
AREA_CODE_TAKEN = (
    "The value for the field 'code' already exists (this is probably 'Code' in the current model)."
)
ACCOUNT_TAKEN = (
    "The values for the fields 'partner_id, sanitized_acc_number' already exist (they are probably "
    "'Account Holder, Sanitized Account Number' in the current model)."
)


def compute_stored(model: Model, cols: dict[str, Any]) -> None:
    """Stored computed columns that depend only on the values being written."""
    if model.name == "res.partner.bank" and "acc_number" in cols:
        cols["sanitized_acc_number"] = re.sub(r"\W+", "", cols["acc_number"] or "").upper() or None


def check(env: Env, model: Model, ids: list[int], fnames: set[str], creating: bool) -> None:
    """The rules of `model` for records just created or written."""
    name = model.name
    if name == "g2p.registrant.tags":
        if creating and len(ids) > 1:  # the tags module's create reads self.name
            raise ValueError(f"Expected singleton: {name}({', '.join(map(str, ids))})")
        if creating or "name" in fnames:
            _check_tag_names(env, ids)
    elif name == "g2p.reg.rel":
        if creating or fnames & {"source", "destination", "relation", "start_date", "end_date"}:
            _check_relations(env, ids)
    elif name == "res.partner.bank":
        if creating or fnames & {"acc_number", "partner_id"}:
            _check_accounts(env, ids)
    elif name in ("spp.area", "spp.area.kind"):
        if creating or "parent_id" in fnames:
            _set_parent_paths(env, model, ids)
        if name == "spp.area" and (creating or fnames & {"code", "draft_name"}):
            _name_areas(env, ids)
            _check_area_codes(env, ids)
    elif name == "ir.model.fields" and creating:
        custom_fields.after_create(env, ids)


def before_unlink_fields(env: Env, ids: list[int]) -> None:
    custom_fields.before_unlink(env, ids)


def _marks(ids: list) -> str:
    return ",".join("?" * len(ids))


def _check_tag_names(env: Env, ids: list[int]) -> None:
    for (name,) in env.execute(f"SELECT name FROM g2p_registrant_tags WHERE id IN ({_marks(ids)})", ids):
        clash = env.execute(
            f"SELECT 1 FROM g2p_registrant_tags WHERE py_lower(name) = ? AND id NOT IN ({_marks(ids)})",
            [(name or "").lower(), *ids],
        ).fetchone()
        if clash:
            raise ValidationError("Tag already Exists")


def _partner_type(is_group: Any) -> str:
    return "g" if is_group else "i"


def _overlaps(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    """Whether two [start, end] periods meet; a missing bound is open."""
    (s1, e1), (s2, e2) = a, b
    return (s1 is None or e2 is None or s1 <= e2) and (s2 is None or e1 is None or s2 <= e1)


def _check_relations(env: Env, ids: list[int]) -> None:
    rows = env.execute(
        "SELECT r.id, r.source, r.destination, r.relation, r.start_date, r.end_date, s.is_group, "
        "d.is_group, k.source_type, k.destination_type, k.bidirectional, s.is_registrant, "
        "d.is_registrant FROM g2p_reg_rel r "
        "LEFT JOIN res_partner s ON s.id = r.source LEFT JOIN res_partner d ON d.id = r.destination "
        f"LEFT JOIN g2p_relationship k ON k.id = r.relation WHERE r.id IN ({_marks(ids)})",
        ids,
    ).fetchall()
    for row in rows:
        rid, src, dst, rel, start, end, src_group, dst_group, src_type, dst_type, both_ways = row[:11]
        src_registrant, dst_registrant = row[11:]
        if src == dst:
            raise ValidationError("Registrant 1 and Registrant 2 cannot be the same.")
        if start and end and start > end:
            raise ValidationError("The starting date cannot be after the ending date.")
        if (  # each end a registrant, of the kind the type says (OpenG2P's _check_partner)
            not (src_registrant and dst_registrant)
            or (src_type and src_type != _partner_type(src_group))
            or (dst_type and dst_type != _partner_type(dst_group))
        ):
            raise ValidationError("This registrant is not applicable for this relation type.")
        pairs = [(src, dst), (dst, src)] if both_ways else [(src, dst)]
        for a, b in pairs:
            for other in env.execute(
                "SELECT start_date, end_date FROM g2p_reg_rel WHERE source = ? AND destination = ? "
                "AND relation IS ? AND id != ?",
                (a, b, rel, rid),
            ):
                if _overlaps((start, end), other):
                    raise ValidationError("There is already a similar relation with overlapping dates")


def _check_accounts(env: Env, ids: list[int]) -> None:
    dup = env.execute(
        "SELECT 1 FROM res_partner_bank a JOIN res_partner_bank o ON o.partner_id = a.partner_id "
        "AND o.sanitized_acc_number = a.sanitized_acc_number AND o.id != a.id "
        f"WHERE a.id IN ({_marks(ids)}) LIMIT 1",
        ids,
    ).fetchone()
    if dup:
        raise IntegrityViolation(
            "The operation cannot be completed: The combination Account Number/Partner must be unique.",
            {"message": ACCOUNT_TAKEN},
        )


def _set_parent_paths(env: Env, model: Model, ids: list[int]) -> None:
    """`parent_path` ("1/4/") of records and of everything below them, as Odoo's _parent_store."""
    table = model.table
    pending = list(ids)
    seen: set[int] = set()
    while pending:
        rid = pending.pop(0)
        if rid in seen:
            raise ValidationError("Error! You cannot create recursive areas.")
        seen.add(rid)
        parent = env.execute(
            f'SELECT p.parent_path FROM "{table}" t LEFT JOIN "{table}" p ON p.id = t.parent_id '
            "WHERE t.id = ?",
            (rid,),
        ).fetchone()
        env.execute(
            f'UPDATE "{table}" SET parent_path = ? WHERE id = ?',
            (f"{(parent or [None])[0] or ''}{rid}/", rid),
        )
        pending.extend(r[0] for r in env.execute(f'SELECT id FROM "{table}" WHERE parent_id = ?', (rid,)))


def _name_areas(env: Env, ids: list[int]) -> None:
    """spp.area stores its name as "CODE - Draft name" (just the draft name without a code)."""
    env.execute(
        "UPDATE spp_area SET name = CASE WHEN code IS NOT NULL AND code != '' "
        f"THEN code || ' - ' || draft_name ELSE draft_name END WHERE id IN ({_marks(ids)})",
        ids,
    )


def _check_area_codes(env: Env, ids: list[int]) -> None:
    dup = env.execute(
        "SELECT 1 FROM spp_area a JOIN spp_area o ON o.code = a.code AND o.id != a.id "
        f"WHERE a.id IN ({_marks(ids)}) LIMIT 1",
        ids,
    ).fetchone()
    if dup:
        raise IntegrityViolation(
            f"The operation cannot be completed: {AREA_CODE_TAKEN}",
            {"message": AREA_CODE_TAKEN, "field": "code"},
        )


def computed_values(
    env: Env, model: Model, field: Field, ids: list[int], rows: dict[int, dict]
) -> list | None:
    """Read-time values of this module's computed fields; None when the field is not one."""
    key = (model.name, field.name)
    if key == ("res.partner.bank", "iban"):
        return ["" for _ in ids]  # no IBAN-shaped numbers in the registry's data
    if key == ("g2p.reg.rel", "relation_as_str"):
        names = env.display_names(
            "g2p.relationship", [rows[i]["relation"] for i in ids if rows[i]["relation"]]
        )
        return [names.get(rows[i]["relation"], False) for i in ids]
    if key == ("res.partner.bank", "acc_type"):
        return ["bank" for _ in ids]
    if key in (("res.partner.bank", "bank_name"), ("res.partner.bank", "bank_bic")):
        column = "name" if field.name == "bank_name" else "bic"
        banks = [rows[i]["bank_id"] for i in ids if rows[i]["bank_id"]]
        found = (
            dict(env.execute(f'SELECT id, "{column}" FROM res_bank WHERE id IN ({_marks(banks)})', banks))
            if banks
            else {}
        )
        return [found.get(rows[i]["bank_id"]) or False for i in ids]
    if key == ("spp.area", "area_level"):
        return [_complete_name(env, model, i, depth=True) for i in ids]
    if key in (("spp.area", "complete_name"), ("spp.area.kind", "complete_name")):
        return [_complete_name(env, model, i) for i in ids]
    return None


def _complete_name(env: Env, model: Model, rid: int, depth: bool = False) -> Any:
    """ "Parent / Child" names up the tree (the area's own name at each level)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: int | None = rid
    while current and current not in seen:
        seen.add(current)
        row = env.execute(f'SELECT name, parent_id FROM "{model.table}" WHERE id = ?', (current,)).fetchone()
        if row is None:
            break
        parts.append(row[0] or "")
        current = row[1]
    if depth:
        return max(len(parts) - 1, 0)
    return " / ".join(reversed(parts)) if parts else False
