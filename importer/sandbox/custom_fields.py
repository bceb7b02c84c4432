"""A deployment's own fields: manual `ir.model.fields`, as the custom-fields screen makes them.

OpenSPP's custom-fields screen (spp_custom_field) creates `ir.model.fields` records
with `state = "manual"` on `res.partner`, named `x_cst_indv_*` / `x_cst_grp_*`; from
then on the field is a column like any other: `fields_get` lists it (`manual: true`),
`load`, `create`, `write` and `read` take it, with its type's conversions and errors.

Why a module of its own: the shipped models are one table of definitions shared by
every sandbox in a process, while manual fields belong to one database. Each `Store`
keeps the models of its database (`build`), rebuilt after a call that added a field;
the RPC layer makes them the current `MODELS` for each call (`models.using`).
"""

from __future__ import annotations

import ast
import sqlite3
from typing import TYPE_CHECKING

from .errors import UserError, ValidationError
from .models import BASE_MODELS, MODELS, Field, Model

if TYPE_CHECKING:
    from .orm import Env

_COLUMN_TYPES = {
    "boolean": "INTEGER",
    "char": "TEXT",
    "date": "TEXT",
    "datetime": "TEXT",
    "float": "REAL",
    "integer": "INTEGER",
    "many2one": "INTEGER",
    "selection": "TEXT",
    "text": "TEXT",
}
#: Columns of `ir_model_fields` added after the first sandboxes were saved (relational fields).
_LATER_COLUMNS = ("relation", "relation_table", "column1", "column2")
BAD_SELECTION = (
    "The Selection Options expression is not a valid Pythonic expression.Please provide an "
    "expression in the [('key','Label'), ...] format."
)


def ensure_ir_model(conn: sqlite3.Connection | sqlite3.Cursor) -> None:
    """One `ir.model` row per shipped model (added for databases made before a model existed).

    A database saved before relational custom fields existed gains their columns too.
    """
    known = {r[0] for r in conn.execute("SELECT model FROM ir_model")}
    rows = [(m.description, m.name, "base") for m in BASE_MODELS.values() if m.name not in known]
    if rows:
        conn.executemany("INSERT INTO ir_model (name, model, state) VALUES (?, ?, ?)", rows)
    columns = {r[1] for r in conn.execute('PRAGMA table_info("ir_model_fields")')}
    for name in _LATER_COLUMNS:
        if name not in columns:
            conn.execute(f'ALTER TABLE "ir_model_fields" ADD COLUMN "{name}" TEXT')


def m2m_names(model: Model, comodel: Model) -> tuple[str, str, str]:
    """The link table and columns of a custom many2many, as Odoo names them by default."""
    tables = sorted([model.table, comodel.table])
    table = f"x_{tables[0]}_{tables[1]}_rel"
    if model.table == comodel.table:
        return table, "id1", "id2"
    return table, f"{model.table}_id", f"{comodel.table}_id"


def build(conn: sqlite3.Connection | sqlite3.Cursor) -> dict[str, Model]:
    """The models of one database: the shipped ones plus its manual fields."""
    extra: dict[str, list[Field]] = {}
    for (
        model,
        name,
        label,
        ttype,
        selection,
        size,
        required,
        readonly,
        help_text,
        compute,
        relation,
        rel_table,
        column1,
        column2,
    ) in conn.execute(
        "SELECT model, name, field_description, ttype, selection, size, required, readonly, help, "
        "compute, relation, relation_table, column1, column2 FROM ir_model_fields "
        "WHERE state = 'manual' ORDER BY id"
    ):
        if model not in BASE_MODELS:
            continue
        extra.setdefault(model, []).append(
            Field(
                name,
                ttype,
                label,
                required=bool(required),
                # A computed indicator (x_ind_*): stored, read-only, never written by a caller;
                # the sandbox does not run its code, so it reads as empty (0 / False).
                readonly=bool(readonly or compute),
                computed=bool(compute),
                selection=parse_selection(selection) if ttype == "selection" else None,
                size=size or None,
                help=help_text or "",
                manual=True,
                relation=relation or None,
                rel_table=rel_table if ttype == "many2many" else None,
                rel_cols=(column1, column2) if ttype == "many2many" else None,
            )
        )
    models = dict(BASE_MODELS)
    for name, fields in extra.items():
        base = BASE_MODELS[name]
        merged = dict(base.fields)
        merged.update((f.name, f) for f in fields)
        models[name] = Model(base.name, base.description, base.order, base.rec_name, merged, base.display_sql)
    return models


def parse_selection(text: str | None) -> tuple[tuple[str, str], ...]:
    """ "[('well', 'Well'), ...]" as the screen stores it -> (("well", "Well"), ...)."""
    try:
        items = ast.literal_eval(text or "[]")
        pairs = tuple((str(k), str(v)) for k, v in items)
    except (ValueError, SyntaxError, TypeError):
        raise ValidationError(BAD_SELECTION) from None
    return pairs


def _schema_changed(env: Env) -> None:
    """Have the store rebuild its models once the call commits (a rollback forgets it)."""
    if env.store is not None:
        env.store.schema_changed = True


def before_unlink(env: Env, ids: list[int]) -> None:
    """Deleting a manual field drops its column (and its values), as Odoo does."""
    marks = ",".join("?" * len(ids))
    for name, model_name, ttype, rel_table in env.execute(
        "SELECT name, model, ttype, relation_table FROM ir_model_fields "
        f"WHERE state = 'manual' AND id IN ({marks})",
        ids,
    ).fetchall():
        model = BASE_MODELS.get(model_name)
        if model is not None and name not in model.fields:
            if ttype == "many2many":
                env.execute(f'DROP TABLE IF EXISTS "{rel_table}"')
            else:
                env.execute(f'ALTER TABLE "{model.table}" DROP COLUMN "{name}"')
            _schema_changed(env)


def after_create(env: Env, ids: list[int]) -> None:
    """Check new manual fields and add their columns (in the call's transaction)."""
    marks = ",".join("?" * len(ids))
    rows = env.execute(
        "SELECT f.id, f.name, f.ttype, f.selection, f.state, m.model, f.relation, f.relation_table, "
        f"f.column1, f.column2 FROM ir_model_fields f JOIN ir_model m ON m.id = f.model_id "
        f"WHERE f.id IN ({marks})",
        ids,
    ).fetchall()
    for fid, name, ttype, selection, state, model_name, relation, rel_table, col1, col2 in rows:
        if state != "manual" or not name.startswith("x_"):
            raise ValidationError("Custom fields must have a name that starts with 'x_'!")
        model = BASE_MODELS.get(model_name)
        if model is None or model.name.startswith("ir."):
            raise ValidationError(
                f"Custom fields cannot be added to the model {model_name!r} in the sandbox."
            )
        current = MODELS.get(model_name, model)
        clash = env.execute(
            "SELECT 1 FROM ir_model_fields WHERE model_id = (SELECT model_id FROM ir_model_fields "
            "WHERE id = ?) AND name = ? AND id != ?",
            (fid, name, fid),
        ).fetchone()
        if clash or name in current.fields:
            raise ValidationError("Field names must be unique per model.")
        if ttype == "selection":
            parse_selection(selection)
        env.execute("UPDATE ir_model_fields SET model = ? WHERE id = ?", (model_name, fid))
        if ttype in ("many2one", "many2many"):
            comodel = BASE_MODELS.get(relation or "")
            if comodel is None:
                raise UserError(f"Model {relation} does not exist!")
        if ttype == "many2many":
            table, own, other = m2m_names(model, comodel)
            table, own, other = rel_table or table, col1 or own, col2 or other
            env.execute(
                "UPDATE ir_model_fields SET relation_table = ?, column1 = ?, column2 = ? WHERE id = ?",
                (table, own, other, fid),
            )
            env.execute(
                f'CREATE TABLE "{table}" ("{own}" INTEGER NOT NULL, "{other}" INTEGER NOT NULL, '
                f'PRIMARY KEY ("{own}", "{other}"))'
            )
        else:
            env.execute(f'ALTER TABLE "{model.table}" ADD COLUMN "{name}" {_COLUMN_TYPES[ttype]}')
    _schema_changed(env)
