"""Odoo domains to SQL: the operators and paths the importer and its tests use.

Semantics follow Odoo 17's `expression` module as observed from outside: `!=` and
`not in` also match NULL, `= False` matches NULL, `like`/`ilike` wrap the value in
`%`, a many2one compared with a string compares the target's display name, and a
dotted path goes one relation deep (`kind.name`, `reg_ids.value`).
"""

from __future__ import annotations

from typing import Any

from .models import MODELS, Field, Model

OPERATORS = {
    "=",
    "!=",
    "<>",
    "in",
    "not in",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "=like",
    "=ilike",
    "<",
    "<=",
    ">",
    ">=",
}
_NEGATIVE = {"!=": "=", "<>": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}
TERMS = {"&", "|", "!"}


def normalize(domain: list) -> list:
    """Make implicit ANDs explicit (prefix notation), as Odoo's normalize_domain."""
    if not isinstance(domain, list | tuple):
        raise ValueError(f"Invalid domain: {domain!r}")
    result: list = []
    expected = 1
    for token in domain:
        if expected == 0:
            result[0:0] = ["&"]
            expected = 1
        if isinstance(token, list | tuple):
            expected -= 1
            result.append(tuple(token))
        elif token in TERMS:
            expected += 0 if token == "!" else 1
            result.append(token)
        else:
            raise ValueError(f"Invalid domain term {token!r}")
    if expected != 0 and domain:
        raise ValueError(f"Invalid domain: {list(domain)!r}")
    return result


def and_domains(*domains: list) -> list:
    """Odoo's expression.AND: '&'-join normalized non-empty domains."""
    parts = [normalize(list(d)) for d in domains if d]
    if not parts:
        return []
    result: list = ["&"] * (len(parts) - 1)
    for part in parts:
        result.extend(list(p) if isinstance(p, tuple) else p for p in part)
    return result


class DomainCompiler:
    """Compiles a domain on one model into a WHERE clause with `?` parameters."""

    def __init__(self, model: Model, alias: str = "t") -> None:
        self.model = model
        self.alias = alias

    def compile(self, domain: list) -> tuple[str, list[Any]]:
        tokens = normalize(domain)
        if not tokens:
            return "1=1", []
        params: list[Any] = []
        pos = 0

        def parse() -> str:
            nonlocal pos
            token = tokens[pos]
            pos += 1
            if token == "!":
                return f"(NOT {parse()})"
            if token in ("&", "|"):
                left = parse()
                right = parse()
                return f"({left} {'AND' if token == '&' else 'OR'} {right})"
            return self.leaf(token, params)

        sql = parse()
        return sql, params

    # -- leaves -------------------------------------------------------------

    def _invalid(self, leaf: tuple) -> ValueError:
        return ValueError(f"Invalid field {self.model.name}.{leaf[0]} in leaf {leaf!r}")

    def leaf(self, leaf: tuple, params: list) -> str:
        if len(leaf) != 3:
            raise ValueError(f"Invalid leaf {leaf!r}")
        path, op, value = leaf
        if leaf in ((1, "=", 1), (0, "=", 1)):
            return "1=1" if leaf[0] == 1 else "1=0"
        if not isinstance(path, str) or op not in OPERATORS:
            raise ValueError(f"Invalid leaf {leaf!r}")
        if op == "<>":
            op = "!="
        head, _, rest = path.partition(".")
        field = self.model.fields.get(head)
        if field is None:
            raise self._invalid(leaf)
        a = self.alias
        if rest:
            if field.type not in ("many2one", "one2many", "many2many") or field.relation not in MODELS:
                raise self._invalid(leaf)
            comodel = MODELS[field.relation]
            sub = DomainCompiler(comodel, alias=f"{a}_{head}")
            if "." in rest or rest not in comodel.fields:
                raise ValueError(f"Invalid field {comodel.name}.{rest} in leaf {(rest, op, value)!r}")
            where = sub.leaf((rest, op, value), params)
            subq = f'SELECT {sub.alias}.id FROM "{comodel.table}" {sub.alias} WHERE {where}'
            return self._relational_in(field, subq)
        if field.type in ("one2many", "many2many"):
            return self._x2many(field, op, value, params)
        if field.type == "many2one" and _is_name_value(value) and op not in ("<", "<=", ">", ">="):
            return self._m2o_by_name(field, op, value, params)
        if not field.store and field.name == "display_name" and self.model.rec_name:
            col = f'{a}."{self.model.rec_name}"'
            return _column_leaf(col, "char", op, value, params)
        expr = _computed_expression(self.model, field, a)
        if expr is None:
            if not field.column:
                raise ValueError(f"Non-stored field {self.model.name}.{field.name} cannot be searched.")
            expr = f'{a}."{field.name}"'
        return _column_leaf(expr, field.type, op, value, params)

    def _relational_in(self, field: Field, subquery: str) -> str:
        a = self.alias
        if field.type == "many2one":
            return f'{a}."{field.name}" IN ({subquery})'
        if field.type == "one2many":
            comodel = MODELS[field.relation or ""]
            return f'{a}.id IN (SELECT "{field.inverse}" FROM "{comodel.table}" WHERE id IN ({subquery}))'
        own, other = field.rel_cols or ("", "")
        return f'{a}.id IN (SELECT "{own}" FROM "{field.rel_table}" WHERE "{other}" IN ({subquery}))'

    def _m2o_by_name(self, field: Field, op: str, value: Any, params: list) -> str:
        comodel = MODELS[field.relation or ""]
        positive = _NEGATIVE.get(op, op)
        name_col = _name_column(comodel, "c")
        where = _column_leaf(name_col, "char", positive, value, params)
        subq = f'SELECT c.id FROM "{comodel.table}" c WHERE {where}'
        col = f'{self.alias}."{field.name}"'
        if op in _NEGATIVE:
            return f"({col} IS NULL OR {col} NOT IN ({subq}))"
        return f"{col} IN ({subq})"

    def _x2many(self, field: Field, op: str, value: Any, params: list) -> str:
        comodel = MODELS[field.relation or ""]
        if value is False or value is None or value == []:
            every = self._relational_in(field, f'SELECT id FROM "{comodel.table}"')
            if op in ("=", "in"):
                return f"NOT ({every})"
            if op in ("!=", "not in"):
                return every
        positive = _NEGATIVE.get(op, op)
        if _is_name_value(value):
            where = _column_leaf(_name_column(comodel, "c"), "char", positive, value, params)
        else:
            where = _column_leaf("c.id", "integer", positive, value, params)
        clause = self._relational_in(field, f'SELECT c.id FROM "{comodel.table}" c WHERE {where}')
        return f"(NOT {clause})" if op in _NEGATIVE else clause


def _is_name_value(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, str) for v in value)


def _name_column(model: Model, alias: str) -> str:
    if model.rec_name:
        return f'{alias}."{model.rec_name}"'
    if model.name == "ir.model.data":
        return f"({alias}.module || '.' || {alias}.name)"
    parent = {"g2p.group.membership": "group", "g2p.reg.id": "partner_id"}[model.name]
    return f'(SELECT p.name FROM res_partner p WHERE p.id = {alias}."{parent}")'


def _computed_expression(model: Model, field: Field, alias: str) -> str | None:
    """SQL for computed fields that can be searched although not plain columns."""
    if model.name == "res.partner" and field.name == "z_ind_grp_num_individuals":
        return (
            f'(SELECT COUNT(*) FROM g2p_group_membership m WHERE m."group" = {alias}.id '
            "AND COALESCE(m.is_ended, 0) = 0)"
        )
    if model.name == "ir.model.data" and field.name == "complete_name":
        return f"({alias}.module || '.' || {alias}.name)"
    if model.name == "g2p.reg.id" and field.name == "id_type_as_str":
        return f"(SELECT it.name FROM g2p_id_type it WHERE it.id = {alias}.id_type)"
    return None


def _scalar(ftype: str, value: Any) -> Any:
    if ftype == "boolean":
        return 1 if value else 0
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], int):
        return value[0]  # a many2one value as read: [id, name]
    return value


def _column_leaf(col: str, ftype: str, op: str, value: Any, params: list) -> str:
    """SQL for one comparison on a column (or column-like expression)."""
    if op in ("=", "!="):
        if value is False or value is None:
            if ftype == "boolean":
                return f"({col} IS NULL OR {col} = 0)" if op == "=" else f"{col} = 1"
            return f"{col} IS NULL" if op == "=" else f"{col} IS NOT NULL"
        if ftype == "boolean" and value is True:
            return f"{col} = 1" if op == "=" else f"({col} IS NULL OR {col} = 0)"
        if isinstance(value, list | tuple) and not (len(value) == 2 and isinstance(value[0], int)):
            op = "in" if op == "=" else "not in"
        else:
            params.append(_scalar(ftype, value))
            return f"{col} = ?" if op == "=" else f"({col} != ? OR {col} IS NULL)"
    if op in ("in", "not in"):
        values = list(value) if isinstance(value, list | tuple) else [value]
        has_null = any(v is False or v is None for v in values)
        real = [_scalar(ftype, v) for v in values if not (v is False or v is None)]
        if ftype == "boolean" and has_null:
            real.append(0)
        parts = []
        if real:
            params.extend(real)
            marks = ", ".join("?" * len(real))
            parts.append(f"{col} IN ({marks})")
        if has_null:
            parts.append(f"{col} IS NULL")
        positive = "(" + " OR ".join(parts) + ")" if parts else "1=0"
        if op == "in":
            return positive
        if has_null:
            return f"(NOT {positive})" if parts else "1=1"
        return f"(NOT {positive} OR {col} IS NULL)" if parts else "1=1"
    if op in ("like", "not like", "ilike", "not ilike", "=like", "=ilike"):
        pattern = str(value) if value not in (False, None) else ""
        if not op.startswith("="):
            pattern = f"%{pattern}%"
        text = col if ftype in ("char", "text", "selection", "date", "datetime") else f"CAST({col} AS TEXT)"
        if "ilike" in op:
            expr = f"py_lower({text}) LIKE py_lower(?) ESCAPE '\\'"
        else:
            expr = f"{text} LIKE ? ESCAPE '\\'"
        params.append(pattern)
        if op.startswith("not"):
            return f"({col} IS NULL OR NOT ({expr}))"
        return expr
    if op in ("<", "<=", ">", ">="):
        params.append(_scalar(ftype, value))
        return f"{col} {op} ?"
    raise ValueError(f"Invalid operator {op!r}")
