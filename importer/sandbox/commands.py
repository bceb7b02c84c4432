"""x2many commands 0..6 on one2many and many2many fields, as Odoo 17 applies them.

(0, 0, vals) create, (1, id, vals) update, (2, id) delete, (3, id) unlink,
(4, id) link, (5,) clear, (6, 0, ids) replace. A bare list of ids on a many2many
means "replace", and False means "clear", as Odoo accepts both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import MODELS, Field, Model

if TYPE_CHECKING:
    from .orm import Env


def _normalize(model: Model, field: Field, value: Any) -> list[list]:
    if value is False or value is None:
        return [[5]]
    if not isinstance(value, list | tuple):
        raise ValueError(f"Wrong value for {model.name}.{field.name}: {value!r}")
    if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [[6, 0, list(value)]]
    out = []
    for cmd in value:
        if not isinstance(cmd, list | tuple) or not cmd or cmd[0] not in range(7):
            raise ValueError(f"Wrong value for {model.name}.{field.name}: {value!r}")
        out.append(list(cmd))
    return out


def apply(env: Env, model: Model, field: Field, rid: int, value: Any) -> None:
    """Apply the commands in `value` to field `field` of record `rid`."""
    comodel = MODELS[field.relation or ""]
    for cmd in _normalize(model, field, value):
        code = cmd[0]
        arg = cmd[1] if len(cmd) > 1 else 0
        if field.type == "one2many":
            _one2many(env, field, comodel, rid, code, arg, cmd)
        else:
            _many2many(env, field, comodel, rid, code, arg, cmd)


def _one2many(env: Env, field: Field, comodel: Model, rid: int, code: int, arg: Any, cmd: list) -> None:
    inverse = field.inverse or ""
    inverse_required = comodel.fields[inverse].required
    if code == 0:
        vals = dict(cmd[2] if len(cmd) > 2 and cmd[2] else {})
        vals[inverse] = rid
        env.create_records(comodel, [vals])
    elif code == 1:
        env.write_records(comodel, env.check_ids(comodel, [arg], "write"), cmd[2] or {})
    elif code == 2 or (code == 3 and inverse_required):
        env.unlink_records(comodel, env.check_ids(comodel, [arg], "unlink"))
    elif code == 3:
        env.write_records(comodel, [arg], {inverse: False})
    elif code == 4:
        env.write_records(comodel, env.check_ids(comodel, [arg], "write"), {inverse: rid})
    elif code in (5, 6):
        keep = set(cmd[2]) if code == 6 and len(cmd) > 2 else set()
        current = [
            r[0] for r in env.execute(f'SELECT id FROM "{comodel.table}" WHERE "{inverse}" = ?', (rid,))
        ]
        drop = [c for c in current if c not in keep]
        if drop:
            if inverse_required:
                env.unlink_records(comodel, drop)
            else:
                env.write_records(comodel, drop, {inverse: False})
        add = [k for k in keep if k not in current]
        if add:
            env.write_records(comodel, env.check_ids(comodel, add, "write"), {inverse: rid})


def _many2many(env: Env, field: Field, comodel: Model, rid: int, code: int, arg: Any, cmd: list) -> None:
    own, other = field.rel_cols or ("", "")
    table = field.rel_table
    link = f'INSERT OR IGNORE INTO "{table}" ("{own}", "{other}") VALUES (?, ?)'
    unlink = f'DELETE FROM "{table}" WHERE "{own}" = ? AND "{other}" = ?'
    if code == 0:
        [new_id] = env.create_records(comodel, [dict(cmd[2] if len(cmd) > 2 and cmd[2] else {})])
        env.execute(link, (rid, new_id))
    elif code == 1:
        env.write_records(comodel, env.check_ids(comodel, [arg], "write"), cmd[2] or {})
    elif code == 2:
        env.execute(unlink, (rid, arg))
        env.unlink_records(comodel, env.check_ids(comodel, [arg], "unlink"))
    elif code == 3:
        env.execute(unlink, (rid, arg))
    elif code == 4:
        _check_targets(env, field, comodel, [arg])
        env.execute(link, (rid, arg))
    elif code == 5:
        env.execute(f'DELETE FROM "{table}" WHERE "{own}" = ?', (rid,))
    elif code == 6:
        ids = [i for i in (cmd[2] if len(cmd) > 2 else []) or [] if i]
        _check_targets(env, field, comodel, ids)
        env.execute(f'DELETE FROM "{table}" WHERE "{own}" = ?', (rid,))
        env.cr.executemany(link, [(rid, i) for i in ids])


def _plain_links(model: Model, x2m: dict[str, Any]) -> list[tuple[Field, list[list]]] | None:
    """A new record's many2many commands if they only link/unlink existing ids, else None."""
    out = []
    for fname, value in x2m.items():
        field = model.fields[fname]
        if field.type != "many2many":
            return None
        try:
            cmds = _normalize(model, field, value)
        except ValueError:
            return None
        for cmd in cmds:
            code = cmd[0]
            if code in (3, 4):
                arg = cmd[1] if len(cmd) > 1 else 0
                if not isinstance(arg, int) or isinstance(arg, bool):
                    return None
            elif code == 6:
                ids = cmd[2] if len(cmd) > 2 else []
                if ids and not isinstance(ids, list | tuple):
                    return None
                if any(not isinstance(i, int) or isinstance(i, bool) for i in ids or [] if i):
                    return None
            elif code != 5:
                return None
        out.append((field, cmds))
    return out


def link_new(env: Env, model: Model, ids: list[int], x2ms: list[dict[str, Any]]) -> bool:
    """Apply the many2many values of records just created, for the whole batch at once.

    Only for the common shape (codes 3-6 on many2many fields: `kind` [[6, 0, [head]]] or
    False): one existence query per field and one INSERT for all rows, where `apply` costs
    two or three statements per row. A new id has no links yet, so clear/replace start from
    nothing. Returns False, having done nothing, when any row needs the general path.
    """
    plans = []
    for x2m in x2ms:
        plan = _plain_links(model, x2m)
        if plan is None:
            return False
        plans.append(plan)
    wanted: dict[str, set[int]] = {}
    for plan in plans:
        for field, cmds in plan:
            for cmd in cmds:
                if cmd[0] == 4:
                    wanted.setdefault(field.name, set()).add(cmd[1] if len(cmd) > 1 else 0)
                elif cmd[0] == 6:
                    wanted.setdefault(field.name, set()).update(
                        i for i in (cmd[2] if len(cmd) > 2 else []) or [] if i
                    )
    found = {
        fname: env.existing(MODELS[model.fields[fname].relation or ""], targets)
        for fname, targets in wanted.items()
    }
    rows: dict[str, list[tuple[int, int]]] = {}
    for rid, plan in zip(ids, plans, strict=True):
        for field, cmds in plan:
            links: dict[int, None] = {}
            for cmd in cmds:
                code = cmd[0]
                if code == 5:
                    links.clear()
                elif code == 3:
                    links.pop(cmd[1] if len(cmd) > 1 else 0, None)
                else:
                    targets = (
                        [cmd[1] if len(cmd) > 1 else 0]
                        if code == 4
                        else [i for i in (cmd[2] if len(cmd) > 2 else []) or [] if i]
                    )
                    if set(targets) - found[field.name]:
                        raise _fk_error(field)
                    if code == 6:
                        links.clear()
                    links.update(dict.fromkeys(targets))
            rows.setdefault(field.name, []).extend((rid, other) for other in links)
    for fname, pairs in rows.items():
        field = model.fields[fname]
        own, other = field.rel_cols or ("", "")
        env.cr.executemany(
            f'INSERT OR IGNORE INTO "{field.rel_table}" ("{own}", "{other}") VALUES (?, ?)', pairs
        )
    return True


def _check_targets(env: Env, field: Field, comodel: Model, ids: list) -> None:
    """Linking a missing record fails like the link table's foreign key does."""
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise ValueError(f"Wrong value for {field.name}: {ids!r}")
    if set(ids) - env.existing(comodel, ids):
        raise _fk_error(field)


def _fk_error(field: Field) -> Exception:
    from .errors import ValidationError

    return ValidationError(
        "The operation cannot be completed: another model requires the record being deleted. "
        "If possible, archive it instead.\n\nModel: Unknown (unknown)\n"
        f"Constraint: {field.rel_table}_{(field.rel_cols or ('', ''))[1]}_fkey\n"
    )
