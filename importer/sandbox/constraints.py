"""Server-side rules of the OpenG2P registry modules, and the computed fields.

Each rule mirrors one `@api.constrains` or override of the OpenG2P 17.0 registry
(read from its source): which fields trigger it, what it checks, the exact message.
Rules quirks included on purpose where the importer must cope with them, e.g. a
second Head is accepted by `g2p.group.membership.create`, and any later write to a
member of that group fails; a multi-record write on groups counts Heads across all
of them together.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from . import registry_rules
from .errors import ValidationError
from .models import MODELS, Field, Model

if TYPE_CHECKING:
    from .orm import Env

_NAME_RULES = {  # model: (field, empty message, duplicate message)
    "gender.type": ("code", "Gender type should not empty.", "Gender type should be unique"),
    "g2p.id.type": ("name", "Id type should not empty.", "Id type already exists"),
    "g2p.group.kind": ("name", "kind should not empty.", "kind already exists"),
    "g2p.group.membership.kind": ("name", "kind should not empty.", "kind already exists"),
}
PROTECTED_KIND_XMLID = ("g2p_registry_membership", "group_membership_kind_head")


def compute_stored(env: Env, model: Model, cols: dict[str, Any], creating: bool = False) -> None:
    """Stored computed columns derived from the values being written."""
    if model.name == "g2p.phone.number" and "phone_no" in cols:
        # Without the `phonenumbers` library (as on the recorded server) the number is kept as given.
        cols["phone_sanitized"] = cols["phone_no"]
    if model.name in registry_rules.MODELS_WITH_RULES:
        registry_rules.compute_stored(model, cols)
    if model.name == "g2p.group.membership" and ("ended_date" in cols or creating):
        ended = cols.get("ended_date")
        is_ended = bool(ended) and ended <= env.now_str
        cols["is_ended"] = 1 if is_ended else 0
        cols["status"] = "inactive" if is_ended else "active"


def after_create(env: Env, model: Model, ids: list[int], rows: list[dict], fnames: set[str]) -> None:
    _check_model(env, model, ids, fnames | {"registration_date", "individual"}, creating=True)


def after_write(env: Env, model: Model, ids: list[int], fnames: set[str]) -> None:
    _check_model(env, model, ids, fnames, creating=False)


def _check_model(env: Env, model: Model, ids: list[int], fnames: set[str], creating: bool) -> None:
    name = model.name
    if name in registry_rules.MODELS_WITH_RULES:
        registry_rules.check(env, model, ids, fnames, creating)
    elif name == "res.partner":
        if "registration_date" in fnames:
            _check_registration_dates(env, ids)
        if not creating:
            _check_unique_kinds_on_groups(env, ids)
        if not creating or "individual_membership_ids" in fnames:
            _check_unique_kinds_of_individuals(env, ids)
    elif name in _NAME_RULES:
        fname, empty, dup = _NAME_RULES[name]
        if name == "g2p.group.membership.kind" and not creating and _is_protected(env, ids):
            raise ValidationError("Can't edit default kinds")
        if fname in fnames or creating:
            _check_names(env, model, ids, fname, empty, dup)
    elif name == "g2p.group.membership":
        if "individual" in fnames:
            _check_duplicate_members(env, ids)
        if "ended_date" in fnames:
            for start, end in env.execute(
                f"SELECT start_date, ended_date FROM g2p_group_membership WHERE id IN ({_marks(ids)})",
                ids,
            ):
                if end and start and end < start:
                    raise ValidationError("End Date cannot be earlier than Start Date")
    elif name == "g2p.reg.id":
        if "value" in fnames or creating:
            _check_id_values(env, ids)
        if fnames & {"partner_id", "id_type"} or creating:
            _check_unique_id_types(env, ids)


def before_unlink(env: Env, model: Model, ids: list[int]) -> None:
    if model.name == "ir.model.fields":
        registry_rules.before_unlink_fields(env, ids)
    if model.name == "g2p.group.membership.kind" and _is_protected(env, ids):
        raise ValidationError("Can't delete default kinds")


def _marks(ids: list) -> str:
    return ",".join("?" * len(ids))


def _is_protected(env: Env, ids: list[int]) -> bool:
    row = env.execute(
        f"SELECT 1 FROM ir_model_data WHERE model = 'g2p.group.membership.kind' AND module = ? "
        f"AND name = ? AND res_id IN ({_marks(ids)})",
        [*PROTECTED_KIND_XMLID, *ids],
    ).fetchone()
    return row is not None


def _check_names(env: Env, model: Model, ids: list[int], fname: str, empty: str, dup: str) -> None:
    rows = env.execute(f'SELECT id, "{fname}" FROM "{model.table}" WHERE id IN ({_marks(ids)})', ids)
    mine = dict(rows.fetchall())
    if any(not v for v in mine.values()):
        raise ValidationError(empty)
    lowered = [v.lower() for v in mine.values()]
    if len(set(lowered)) != len(lowered):
        raise ValidationError(dup)
    clash = env.execute(
        f'SELECT 1 FROM "{model.table}" WHERE py_lower("{fname}") IN ({_marks(lowered)}) '
        f"AND id NOT IN ({_marks(ids)}) LIMIT 1",
        [*lowered, *ids],
    ).fetchone()
    if clash:
        raise ValidationError(dup)


def _check_registration_dates(env: Env, ids: list[int]) -> None:
    today = env.today.isoformat()
    for part in _parts(ids):
        for reg, birth in env.execute(
            f"SELECT registration_date, birthdate FROM res_partner WHERE id IN ({_marks(part)}) "
            "AND registration_date IS NOT NULL",
            part,
        ):
            if reg > today:
                raise ValidationError("Registration date must be less than the current date.")
            if birth and reg < birth:
                raise ValidationError("Registration date must be later than the birth date.")


def _unique_kinds(env: Env) -> list[tuple[int, str]]:
    return env.execute("SELECT id, name FROM g2p_group_membership_kind WHERE is_unique = 1").fetchall()


def _head_count(env: Env, kind_id: int, group_ids: list[int]) -> int:
    if not group_ids:
        return 0
    return env.execute(
        "SELECT COUNT(*) FROM g2p_group_membership m JOIN "
        "g2p_group_membership_g2p_group_membership_kind_rel r ON r.g2p_group_membership_id = m.id "
        f'WHERE r.g2p_group_membership_kind_id = ? AND m."group" IN ({_marks(group_ids)})',
        [kind_id, *group_ids],
    ).fetchone()[0]


def _check_unique_kinds_on_groups(env: Env, ids: list[int]) -> None:
    """res.partner.write of OpenG2P: counts unique kinds over all written records' members."""
    kinds = _unique_kinds(env)
    if not kinds:
        return
    for kind_id, kind_name in kinds:
        if sum(_head_count(env, kind_id, list(part)) for part in _parts(ids)) > 1:
            raise ValidationError(f"Only one {kind_name} is allowed per group")


def _check_unique_kinds_of_individuals(env: Env, ids: list[int]) -> None:
    """res.partner write/create of OpenG2P: each group of a written individual keeps one Head."""
    kinds = _unique_kinds(env)
    if not kinds:
        return
    for part in _parts(ids):
        groups = [
            r[0]
            for r in env.execute(
                'SELECT DISTINCT m."group" FROM g2p_group_membership m JOIN res_partner p '
                "ON p.id = m.individual WHERE p.is_registrant = 1 AND COALESCE(p.is_group, 0) = 0 "
                f"AND m.individual IN ({_marks(part)})",
                part,
            )
        ]
        for group in groups:
            for kind_id, kind_name in kinds:
                if _head_count(env, kind_id, [group]) > 1:
                    raise ValidationError(f"Only one {kind_name} is allowed per group")


def _check_duplicate_members(env: Env, ids: list[int]) -> None:
    for part in _parts(ids):
        dup = env.execute(
            'SELECT 1 FROM g2p_group_membership m JOIN g2p_group_membership o ON o."group" = m."group" '
            f"AND o.individual = m.individual AND o.id != m.id WHERE m.id IN ({_marks(part)}) LIMIT 1",
            part,
        ).fetchone()
        if dup:
            raise ValidationError("Duplication of Member is not allowed ")


def _check_id_values(env: Env, ids: list[int]) -> None:
    for part in _parts(ids):
        for value, type_name, pattern in env.execute(
            "SELECT r.value, t.name, t.id_validation FROM g2p_reg_id r JOIN g2p_id_type t "
            f"ON t.id = r.id_type WHERE r.id IN ({_marks(part)})",
            part,
        ):
            if value and pattern and not re.match(pattern, value):
                raise ValidationError(f"The provided {type_name} ID '{value}' is invalid.")


def _check_unique_id_types(env: Env, ids: list[int]) -> None:
    for part in _parts(ids):
        dup = env.execute(
            "SELECT 1 FROM g2p_reg_id r JOIN g2p_reg_id o ON o.partner_id = r.partner_id "
            f"AND o.id_type = r.id_type AND o.id != r.id WHERE r.id IN ({_marks(part)}) LIMIT 1",
            part,
        ).fetchone()
        if dup:
            raise ValidationError("ID Type must be unique.")


def _parts(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _age(birthdate: str | None, today: date) -> str:
    if not birthdate:
        return "No Birthdate!"
    born = date.fromisoformat(birthdate)
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return str(years)


def computed_values(
    env: Env, model: Model, field: Field, ids: list[int], rows: dict[int, dict[str, Any]]
) -> list[Any]:
    """Values of fields the sandbox computes at read time."""
    name = field.name
    if name == "display_name":
        names = env.display_names(model.name, ids)
        return [names.get(i, False) for i in ids]
    if name == "age":
        return [_age(rows[i].get("birthdate"), env.today) for i in ids]
    found = registry_rules.computed_values(env, model, field, ids, rows)
    if found is not None:
        return found
    if name == "complete_name":
        return [f"{rows[i]['module']}.{rows[i]['name']}" for i in ids]
    if name == "z_ind_grp_num_individuals":
        counts: dict[int, int] = {}
        for part in _parts(ids):
            counts.update(
                env.execute(
                    'SELECT m."group", COUNT(*) FROM g2p_group_membership m JOIN res_partner p '
                    "ON p.id = m.individual WHERE COALESCE(m.is_ended, 0) = 0 "
                    f'AND m."group" IN ({_marks(part)}) GROUP BY m."group"',
                    part,
                ).fetchall()
            )
        return [counts.get(i, 0) if rows[i].get("is_group") else 0 for i in ids]
    if name in ("individual_birthdate", "individual_gender"):
        col = name.removeprefix("individual_")
        people = {r[0]: r[1] for r in _fetch(env, "res_partner", col, [rows[i]["individual"] for i in ids])}
        return [people.get(rows[i]["individual"]) or False for i in ids]
    if name == "id_type_as_str":
        types = {r[0]: r[1] for r in _fetch(env, "g2p_id_type", "name", [rows[i]["id_type"] for i in ids])}
        return [types.get(rows[i]["id_type"]) or False for i in ids]
    raise ValueError(f"Field {model.name}.{name} is not computable by the sandbox")


def _fetch(env: Env, table: str, col: str, ids: list) -> list[tuple]:
    ids = [i for i in set(ids) if i]
    out: list[tuple] = []
    for part in _parts(ids):
        out.extend(env.execute(f'SELECT id, "{col}" FROM "{table}" WHERE id IN ({_marks(part)})', part))
    return out


assert set(_NAME_RULES) <= set(MODELS)
