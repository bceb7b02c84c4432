"""The sandbox's small ORM: Odoo 17 method semantics over one SQLite transaction.

One `Env` lives for one RPC call. Its methods are the public model methods the
server exposes (search, read, create, write, unlink, ...), with Odoo's argument
order, return shapes, value formats and error classes/wording. Constraints live in
`constraints.py`, x2many commands in `commands.py`, `load` in `load.py`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from . import commands, concurrency, constraints
from .concurrency import Households
from .domain import DomainCompiler, and_domains
from .errors import AccessError, IntegrityViolation, MissingError, ValidationError
from .models import MODELS, RESTRICTING_FKS, Field, Model
from .store import Sequences, Store

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHUNK = 900  # ids per IN (...) list
WRITE_GROUPS = "\t- Registry / Administrator"
MAIL_THREAD_MODELS = frozenset({"res.partner"})  # models of the slice that inherit mail.thread


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def to_date(value: Any) -> str:
    """A value for a date field, as Odoo's Date.to_date accepts it."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"Wrong value for date: {value!r}")
    head = value[:10]
    if _ISO_DATE.fullmatch(head):  # the usual shape: fromisoformat is ~20x cheaper than strptime
        with contextlib.suppress(ValueError):
            return date.fromisoformat(head).isoformat()
    return datetime.strptime(head, DATE_FORMAT).date().isoformat()


def to_datetime(value: Any) -> str:
    """A value for a datetime field; a date string means midnight (as in Odoo 17)."""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    if not isinstance(value, str):
        raise ValueError(f"Wrong value for datetime: {value!r}")
    if _ISO_DATETIME.fullmatch(value):  # already canonical if it is a valid moment
        with contextlib.suppress(ValueError):
            datetime.fromisoformat(value)
            return value
    elif len(value) == 10 and value[0] != "0" and _ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            date.fromisoformat(value)
            return f"{value} 00:00:00"
    return datetime.strptime(value, DATETIME_FORMAT[: len(value) - 2]).strftime(DATETIME_FORMAT)


class Env:
    """One call's view of the database: the user, the cursor and per-call caches."""

    def __init__(
        self, cr: sqlite3.Cursor, uid: int, readonly: bool = False, context: dict | None = None
    ) -> None:
        self.cr = cr
        self.uid = uid
        self.readonly = readonly
        self.technical = not readonly  # may read and write ir.model.data (an administrator)
        self.context = context or {}
        # The database's own settings, from the Store that owns the cursor (None for a bare one):
        # its ids outside transactions, and whether it behaves as with OpenSPP's spp_import_match,
        # which overrides every model's write to drop empty x2many values (False, []): on such a
        # server an empty tags cell in `load` leaves the tags alone.
        self.store: Store | None = Store.owning(cr)
        self.sequences: Sequences | None = self.store.sequences if self.store else None
        self.drop_empty_x2many = bool(self.store and self.store.import_match)
        self.now = datetime.now().replace(microsecond=0)
        self.today = self.now.date()
        self.now_str = self.now.strftime(DATETIME_FORMAT)  # formatted once, used per record
        self._selection_cache: dict[str, list[tuple[str, str]]] = {}
        # Concurrent writers of one household (concurrency.py): the sandbox's registry, this
        # call's snapshot (None: the call never meets a conflict) and what it has written so far.
        self.households: Households | None = None
        self.snapshot: int | None = None
        self.households_written: list[int] = []

    # -- helpers ------------------------------------------------------------

    def model(self, name: str) -> Model:
        return MODELS[name]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.cr.execute(sql, params)

    def touch_households(self, model: Model, ids: list[int], rows: list[dict] | None = None) -> None:
        """This write updates households' rows on a real server: refuse it if another call got there first."""
        if self.households is None:
            return
        found = concurrency.touched(self, model, ids, rows)
        if found:
            self.households.check(self.snapshot, found)
            self.households_written.extend(found)

    def savepoint_mark(self) -> int:
        """Where the households written so far end, to forget later ones when a savepoint rolls back."""
        return len(self.households_written)

    def rollback_households(self, mark: int) -> None:
        del self.households_written[mark:]

    def check_write_access(self, model: Model, operation: str) -> None:
        """Refuse writes for a read-only user, in Odoo's AccessError wording."""
        if not self.readonly:
            return
        verb = {"create": "create", "write": "modify", "unlink": "delete"}[operation]
        raise AccessError(
            f"You are not allowed to {verb} '{model.description}' ({model.name}) records.\n\n"
            f"This operation is allowed for the following groups:\n{WRITE_GROUPS}\n\n"
            "Contact your administrator to request access if necessary."
        )

    def selection(self, model: Model, field: Field) -> list[tuple[str, str]]:
        if field.selection is not None:
            return list(field.selection)
        key = field.dynamic_selection or ""
        if key not in self._selection_cache:
            rows = self.execute(
                "SELECT value, code FROM gender_type WHERE COALESCE(active, 1) = 1 ORDER BY id"
            ).fetchall()
            self._selection_cache[key] = [(v, c) for v, c in rows]
        return self._selection_cache[key]

    def existing(self, model: Model, ids: Iterable[int]) -> set[int]:
        ids = [i for i in set(ids) if isinstance(i, int)]
        found: set[int] = set()
        for part in chunks(ids):
            marks = ",".join("?" * len(part))
            found.update(
                r[0] for r in self.execute(f'SELECT id FROM "{model.table}" WHERE id IN ({marks})', part)
            )
        return found

    def check_ids(self, model: Model, ids: Sequence[int], operation: str) -> list[int]:
        ids = _as_ids(ids)
        missing = sorted(set(ids) - self.existing(model, ids))
        if missing:
            # The record rules' check reads the missing record as superuser and fails so:
            raise MissingError(
                "Record does not exist or has been deleted.\n"
                f"(Record: {model.name}{tuple(missing[:6])!r}, User: 1)"
            )
        return ids

    # -- value conversion ---------------------------------------------------

    def convert(self, model: Model, field: Field, value: Any) -> Any:
        """A caller's value for a column field, validated as Odoo's convert_to_cache."""
        t = field.type
        if t in ("char", "text"):
            if value is None or value is False:
                return None
            text = value if isinstance(value, str) else str(value)
            return text[: field.size] if field.size else text  # Odoo's Char cuts at its size
        if t == "boolean":
            return 1 if value else 0
        if t in ("integer", "many2one_reference"):
            return int(value or 0)
        if t == "float":
            return float(value or 0.0)
        if t == "date":
            return None if value in (None, False, "") else to_date(value)
        if t == "datetime":
            return None if value in (None, False, "") else to_datetime(value)
        if t == "json":  # Odoo's Json field stores nothing for an empty value ({} and [] too)
            return json.dumps(value) if value else None
        if t == "selection":
            if value is None or value is False:
                return None
            if value not in [v for v, _ in self.selection(model, field)]:
                raise ValueError(f"Wrong value for {model.name}.{field.name}: {value!r}")
            return value
        if t == "many2one":
            if value is None or value is False:
                return None
            if isinstance(value, list | tuple) and value and isinstance(value[0], int):
                value = value[0]
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"Wrong value for {model.name}.{field.name}: {value!r}")
            return value
        raise ValueError(f"Wrong value for {model.name}.{field.name}: {value!r}")

    def split_vals(self, model: Model, vals: dict) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate field names; return (column values, x2many values)."""
        if not isinstance(vals, dict):
            raise ValueError(f"Wrong value for {model.name}: {vals!r}")
        cols: dict[str, Any] = {}
        x2m: dict[str, Any] = {}
        roles = _roles(model)
        for name, value in vals.items():
            role = roles.get(name)
            if role is None:
                raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
            kind, field = role
            if kind == _COLUMN:
                cols[name] = self.convert(model, field, value)
            elif kind == _X2MANY:
                x2m[name] = value
            # _IGNORED: Odoo ignores writes to computed fields without an inverse
        return cols, x2m

    def check_many2one_targets(self, model: Model, rows: list[dict[str, Any]]) -> None:
        """A many2one to a missing record fails like PostgreSQL's foreign key does."""
        for field in model.fields.values():
            if field.type != "many2one" or not field.column or field.relation == "res.users":
                continue
            wanted = {r[field.name] for r in rows if r.get(field.name) is not None}
            comodel = MODELS[field.relation or ""]
            missing = wanted - self.existing(comodel, wanted) if wanted else set()
            if missing:
                constraint = f"{model.table}_{field.name}_fkey"
                raise IntegrityViolation(
                    "The operation cannot be completed: another model requires the record being "
                    "deleted. If possible, archive it instead.\n\n"
                    f"Model: {model.description} ({model.name})\n"
                    f"Constraint: {constraint}\n",
                    {
                        "message": f'insert or update on table "{model.table}" violates foreign key '
                        f'constraint "{constraint}"\nDETAIL:  Key ({field.name})=({min(missing)}) is '
                        f'not present in table "{comodel.table}".\n'
                    },
                )

    def check_required(self, model: Model, rows: list[dict[str, Any]], creating: bool) -> None:
        """NOT NULL and the partner name check, failing as PostgreSQL's constraints do."""
        for field in model.fields.values():
            if not (field.required and field.column):
                continue
            if any(r.get(field.name) is None and (creating or field.name in r) for r in rows):
                raise IntegrityViolation(
                    "The operation cannot be completed:\n"
                    "- Create/update: a mandatory field is not set.\n"
                    "- Delete: another model requires the record being deleted. If possible, "
                    "archive it instead.\n\n"
                    f"Model: {model.description} ({model.name})\n"
                    f"Field: {field.string} ({field.name})\n",
                    {
                        "message": f"Missing required value for the field '{field.string}' ({field.name})",
                        "field": field.name,
                        "table": model.table,
                    },
                )
        if model.name == "res.partner" and any(
            r.get("name") is None and (creating or "name" in r) for r in rows
        ):
            raise IntegrityViolation(
                "The operation cannot be completed: Contacts require a name",
                {"message": "'Contacts require a name'"},
            )

    # -- create / write / unlink -------------------------------------------

    def create(self, model_name: str, vals_list: Any) -> int | list[int]:
        model = MODELS[model_name]
        self.check_write_access(model, "create")
        single = isinstance(vals_list, dict)
        items = [vals_list] if single else list(vals_list or [])
        ids = self.create_records(model, items)
        return ids[0] if single else ids

    def create_records(self, model: Model, items: list[dict]) -> list[int]:
        if not items:
            return []
        rows: list[dict[str, Any]] = []
        x2ms: list[dict[str, Any]] = []
        for vals in items:
            cols, x2m = self.split_vals(model, vals)
            self._apply_defaults(model, cols)
            constraints.compute_stored(self, model, cols, creating=True)
            rows.append(cols)
            x2ms.append(x2m)
        self.check_required(model, rows, creating=True)
        self.check_many2one_targets(model, rows)
        row = self.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (model.table,)).fetchone()
        stored = row[0] if row else 0
        first = self.sequences.take(model.table, len(rows), stored) if self.sequences else stored + 1
        ids = list(range(first, first + len(rows)))
        stamp = self.now_str
        magic = {"create_uid": self.uid, "write_uid": self.uid, "create_date": stamp, "write_date": stamp}
        # Only the columns some row sets: the others start NULL anyway, and a wide model
        # (res.partner with a deployment's fields) then costs what its payload costs.
        present = set(magic).union(*rows)
        columns = [c for c in model.columns if c in present]
        data = [
            (rid, *[magic[c] if c in magic else r.get(c) for c in columns])
            for rid, r in zip(ids, rows, strict=True)
        ]
        col_sql = ", ".join(f'"{c}"' for c in ["id", *columns])
        marks = ", ".join("?" * (len(columns) + 1))
        self.cr.executemany(f'INSERT INTO "{model.table}" ({col_sql}) VALUES ({marks})', data)
        if any(x2ms) and not commands.link_new(self, model, ids, x2ms):
            for rid, x2m in zip(ids, x2ms, strict=True):
                for fname, value in x2m.items():
                    commands.apply(self, model, model.fields[fname], rid, value)
        fnames = set().union(*(set(r) for r in rows), *(set(x) for x in x2ms))
        constraints.after_create(self, model, ids, rows, fnames)
        self.touch_households(model, ids, rows)
        self._log_creation(model, ids)
        return ids

    def _log_creation(self, model: Model, ids: list[int]) -> None:
        """mail.thread's "<Model> created" message per new record, as a real server posts it.

        Odoo skips it when the context says `tracking_disable` (no chatter at all) or
        `mail_create_nolog`, as its import screen and spp-import's import context do.
        """
        if model.name not in MAIL_THREAD_MODELS:
            return
        if self.context.get("tracking_disable") or self.context.get("mail_create_nolog"):
            return
        body = f"<p>{model.description} created</p>"
        self.cr.executemany(
            "INSERT INTO mail_message (model, res_id, message_type, body, author_id, create_uid, "
            "create_date) VALUES (?, ?, 'notification', ?, ?, ?, ?)",
            [(model.name, rid, body, self.uid, self.uid, self.now_str) for rid in ids],
        )

    def _apply_defaults(self, model: Model, cols: dict[str, Any]) -> None:
        for field in _defaulted(model):
            if field.name in cols:
                continue
            if field.default == "today":
                cols[field.name] = self.today.isoformat()
            elif field.default == "now":
                cols[field.name] = self.now_str
            elif field.type == "boolean":
                cols[field.name] = 1 if field.default else 0
            else:
                cols[field.name] = field.default

    def write(self, model_name: str, ids: Any, vals: dict) -> bool:
        model = MODELS[model_name]
        self.check_write_access(model, "write")
        ids = self.check_ids(model, ids, "write")
        self.write_records(model, ids, vals)
        return True

    def write_records(self, model: Model, ids: list[int], vals: dict) -> None:
        if not ids:
            return
        cols, x2m = self.split_vals(model, vals)
        if self.drop_empty_x2many and x2m:
            x2m = {name: value for name, value in x2m.items() if value}
        constraints.compute_stored(self, model, cols)
        self.check_required(model, [cols], creating=False)
        self.check_many2one_targets(model, [cols])
        if cols:
            cols = {**cols, "write_uid": self.uid, "write_date": self.now_str}
            sets = ", ".join(f'"{c}" = ?' for c in cols)
            for part in chunks(ids):
                marks = ",".join("?" * len(part))
                self.execute(
                    f'UPDATE "{model.table}" SET {sets} WHERE id IN ({marks})', [*cols.values(), *part]
                )
        for fname, value in x2m.items():
            for rid in ids:
                commands.apply(self, model, model.fields[fname], rid, value)
        constraints.after_write(self, model, ids, set(cols) | set(x2m))
        self.touch_households(model, ids)

    def unlink(self, model_name: str, ids: Any) -> bool:
        model = MODELS[model_name]
        self.check_write_access(model, "unlink")
        ids = self.check_ids(model, ids, "unlink")
        self.unlink_records(model, ids)
        return True

    def unlink_records(self, model: Model, ids: list[int]) -> None:
        if not ids:
            return
        constraints.before_unlink(self, model, ids)
        self.touch_households(model, ids)
        for part in chunks(ids):
            marks = ",".join("?" * len(part))
            for ref_model, fname in RESTRICTING_FKS.get(model.name, []):
                ref = MODELS[ref_model]
                hit = self.execute(
                    f'SELECT 1 FROM "{ref.table}" WHERE "{fname}" IN ({marks}) LIMIT 1', part
                ).fetchone()
                if hit:
                    raise ValidationError(
                        "The operation cannot be completed: another model requires the record "
                        "being deleted. If possible, archive it instead.\n\n"
                        f"Model: {ref.description} ({ref.name})\n"
                        f"Constraint: {ref.table}_{fname}_fkey\n"
                    )
            restricting = set(RESTRICTING_FKS.get(model.name, []))
            for other in MODELS.values():
                for f in other.fields.values():
                    if f.relation != model.name:
                        continue
                    if f.type == "many2one" and f.column and (other.name, f.name) not in restricting:
                        self.execute(
                            f'UPDATE "{other.table}" SET "{f.name}" = NULL WHERE "{f.name}" IN ({marks})',
                            part,
                        )
                    elif f.type == "many2many" and f.rel_table and f.rel_cols:
                        self.execute(
                            f'DELETE FROM "{f.rel_table}" WHERE "{f.rel_cols[1]}" IN ({marks})', part
                        )
            for f in model.fields.values():
                if f.type == "many2many" and f.rel_table and f.rel_cols:
                    self.execute(f'DELETE FROM "{f.rel_table}" WHERE "{f.rel_cols[0]}" IN ({marks})', part)
            self.execute(f'DELETE FROM "{model.table}" WHERE id IN ({marks})', part)
            self.execute(
                f"DELETE FROM ir_model_data WHERE model = ? AND res_id IN ({marks})", [model.name, *part]
            )
            if model.name in MAIL_THREAD_MODELS:  # mail.thread's unlink drops the chatter too
                self.execute(
                    f"DELETE FROM mail_message WHERE model = ? AND res_id IN ({marks})", [model.name, *part]
                )

    # -- search / read ------------------------------------------------------

    def order_by(self, model: Model, order: str | None, alias: str = "t") -> str:
        spec = order or model.order
        parts = []
        for item in spec.split(","):
            words = item.strip().split()
            if not words:
                continue
            fname = words[0]
            direction = words[1].lower() if len(words) > 1 else "asc"
            field = model.fields.get(fname)
            if field is None or not field.column or direction not in ("asc", "desc") or len(words) > 2:
                raise ValueError(
                    f'Invalid "order" specified ({spec}). A valid "order" specification is a '
                    "comma-separated list of valid field names (optionally followed by asc/desc "
                    "for the direction)"
                )
            collate = " COLLATE NOCASE" if field.type in ("char", "text") else ""
            nulls = "NULLS LAST" if direction == "asc" else "NULLS FIRST"
            parts.append(f'{alias}."{fname}"{collate} {direction.upper()} {nulls}')
        if not any(p.startswith(f'{alias}."id"') for p in parts):
            parts.append(f"{alias}.id ASC")
        return ", ".join(parts)

    def _where(self, model: Model, domain: Any) -> tuple[str, list[Any]]:
        domain = list(domain or [])
        if (
            "active" in model.fields
            and self.context.get("active_test", True)
            and not any(isinstance(leaf, list | tuple) and leaf and leaf[0] == "active" for leaf in domain)
        ):
            domain = and_domains([("active", "=", True)], domain)
        return DomainCompiler(model).compile(domain)

    def search(
        self,
        model_name: str,
        domain: Any = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        count: bool = False,
    ) -> list[int] | int:
        model = MODELS[model_name]
        if count:
            return self.search_count(model_name, domain)
        where, params = self._where(model, domain)
        sql = f'SELECT t.id FROM "{model.table}" t WHERE {where} ORDER BY {self.order_by(model, order)}'
        if limit:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f"{'' if limit else ' LIMIT -1'} OFFSET {int(offset)}"
        return [r[0] for r in self.execute(sql, params)]

    def search_count(self, model_name: str, domain: Any = None, limit: int | None = None) -> int:
        model = MODELS[model_name]
        where, params = self._where(model, domain)
        sql = f'SELECT COUNT(*) FROM "{model.table}" t WHERE {where}'
        if limit:
            sql = f'SELECT COUNT(*) FROM (SELECT 1 FROM "{model.table}" t WHERE {where} LIMIT {int(limit)})'
        return self.execute(sql, params).fetchone()[0]

    def search_read(
        self,
        model_name: str,
        domain: Any = None,
        fields: Any = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict]:
        model = MODELS[model_name]
        self._check_field_names(model, fields)
        ids = self.search(model_name, domain, offset, limit, order)
        return self.read_records(model, ids, fields)

    def read(self, model_name: str, ids: Any, fields: Any = None, load: str = "_classic_read") -> list[dict]:
        model = MODELS[model_name]
        # Odoo 17 names a many2one's record only for the classic load; any other gives its bare id.
        return self.read_records(model, _as_ids(ids), fields, display=load == "_classic_read")

    def _check_field_names(self, model: Model, fields: Any) -> list[str]:
        if not fields:
            return [f for f in model.fields if f != "id"]
        if isinstance(fields, str):
            fields = [fields]
        for name in fields:
            if name not in model.fields:
                raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
        return [f for f in fields if f != "id"]

    def read_records(
        self, model: Model, ids: list[int], fields: Any = None, display: bool = True
    ) -> list[dict]:
        names = self._check_field_names(model, fields)
        ids = list(dict.fromkeys(ids))
        rows: dict[int, dict[str, Any]] = {}
        for part in chunks(ids):
            marks = ",".join("?" * len(part))
            cur = self.execute(f'SELECT * FROM "{model.table}" WHERE id IN ({marks})', part)
            cols = [d[0] for d in cur.description]
            for r in cur:
                rows[r[0]] = dict(zip(cols, r, strict=True))
        ids = [i for i in ids if i in rows]
        result = [{"id": i} for i in ids]
        for name in names:
            values = self._field_values(model, model.fields[name], ids, rows, display)
            for rec, value in zip(result, values, strict=True):
                rec[name] = value
        return result

    def display_names(self, model_name: str, ids: Iterable[int]) -> dict[int, str]:
        """display_name of each id, as Odoo 17 computes it for the slice's models."""
        ids = [i for i in set(ids) if i]
        out: dict[int, str] = {}
        if not ids:
            return out
        if model_name == "res.users":
            sql, table = "SELECT id, name FROM res_users WHERE id IN ({})", None
        else:
            model = MODELS[model_name]
            table = model.table
            if model.display_sql:
                sql = f'SELECT t.id, {model.display_sql} FROM "{table}" t WHERE t.id IN ({{}})'
            elif model.rec_name:
                sql = f'SELECT id, "{model.rec_name}" FROM "{table}" WHERE id IN ({{}})'
            elif model.name == "ir.model.data":
                sql = "SELECT id, module || '.' || name FROM ir_model_data WHERE id IN ({})"
            else:
                parent = "group" if model.name == "g2p.group.membership" else "partner_id"
                sql = (
                    f'SELECT t.id, p.name FROM "{table}" t LEFT JOIN res_partner p '
                    f'ON p.id = t."{parent}" WHERE t.id IN ({{}})'
                )
        for part in chunks(ids):
            for rid, name in self.execute(sql.format(",".join("?" * len(part))), part):
                if name is None:
                    name = (
                        "NONE"
                        if model_name == "g2p.group.membership"
                        else ("" if model_name == "g2p.reg.id" else False)
                    )
                out[rid] = name
        return out

    def _field_values(
        self,
        model: Model,
        field: Field,
        ids: list[int],
        rows: dict[int, dict[str, Any]],
        display: bool = True,
    ) -> list[Any]:
        t = field.type
        name = field.name
        if field.computed and not field.column:
            return constraints.computed_values(self, model, field, ids, rows)
        if name == "z_ind_grp_num_individuals":
            return constraints.computed_values(self, model, field, ids, rows)
        if t == "many2one":
            raw = [rows[i].get(name) for i in ids]
            if not display:
                return [r or False for r in raw]
            shown = self.display_names(field.relation or "", [r for r in raw if r])
            return [[r, shown.get(r, False)] if r else False for r in raw]
        if t in ("one2many", "many2many"):
            return self.x2many_ids(model, field, ids)
        raw = [rows[i].get(name) for i in ids]
        if t == "boolean":
            return [bool(v) for v in raw]
        if t == "integer":
            return [v or 0 for v in raw]
        if t == "float":
            return [float(v or 0.0) for v in raw]
        if t == "json":
            return [json.loads(v) if v else False for v in raw]
        return [v if v not in (None, "") or (v == "" and t in ("char", "text")) else False for v in raw]

    def x2many_ids(self, model: Model, field: Field, ids: list[int]) -> list[list[int]]:
        comodel = MODELS[field.relation or ""]
        found: dict[int, list[int]] = {i: [] for i in ids}
        order = self.order_by(comodel, None, alias="c")
        for part in chunks(ids):
            marks = ",".join("?" * len(part))
            if field.type == "one2many":
                sql = (
                    f'SELECT c."{field.inverse}", c.id FROM "{comodel.table}" c '
                    f'WHERE c."{field.inverse}" IN ({marks}) ORDER BY {order}'
                )
            else:
                own, other = field.rel_cols or ("", "")
                sql = (
                    f'SELECT r."{own}", c.id FROM "{field.rel_table}" r JOIN "{comodel.table}" c '
                    f'ON c.id = r."{other}" WHERE r."{own}" IN ({marks}) ORDER BY {order}'
                )
            for owner, cid in self.execute(sql, part):
                found[owner].append(cid)
        return [found[i] for i in ids]

    # -- metadata and conveniences -------------------------------------------

    def default_get(self, model_name: str, fields_list: Any) -> dict[str, Any]:
        """The values a new record would get for these fields when none is given (Odoo's default_get)."""
        model = MODELS[model_name]
        cols: dict[str, Any] = {}
        self._apply_defaults(model, cols)
        wanted = set(fields_list or [])
        return {
            name: bool(value) if model.fields[name].type == "boolean" else value
            for name, value in cols.items()
            if name in wanted
        }

    def fields_get(self, model_name: str, allfields: Any = None, attributes: Any = None) -> dict:
        model = MODELS[model_name]
        names = list(allfields) if allfields else list(model.fields)
        out: dict[str, dict] = {}
        for name in names:
            field = model.fields.get(name)
            if field is None:
                continue  # Odoo silently skips unknown names here
            desc: dict[str, Any] = {
                "type": field.type,
                "string": field.string,
                "required": field.required,
                "readonly": field.readonly,
                "store": field.store,
                "searchable": field.store or name == "display_name",
                "sortable": field.column,
                "manual": field.manual,
                "depends": [],
                "company_dependent": False,
                "change_default": False,
                "name": name,
                "exportable": True,
            }
            if field.relation:
                desc["relation"] = field.relation
                desc["context"] = {}
                desc["domain"] = []
            if field.type == "one2many":
                desc["relation_field"] = field.inverse
            if field.type == "selection":
                desc["selection"] = [list(p) for p in self.selection(model, field)]
            if field.help:  # Odoo leaves out an empty help
                desc["help"] = field.help
            if field.type == "char":
                desc["trim"] = True
                desc["translate"] = False
                if field.size:
                    desc["size"] = field.size
            if attributes:
                desc = {k: v for k, v in desc.items() if k in attributes}
            out[name] = desc
        return out

    def name_search(
        self, model_name: str, name: str = "", args: Any = None, operator: str = "ilike", limit: int = 100
    ) -> list[list]:
        model = MODELS[model_name]
        domain = list(args or [])
        if name or operator not in ("ilike", "like", "=like", "=ilike"):
            if model.rec_name:
                domain = and_domains(domain, [(model.rec_name, operator, name)])
            elif model.name == "g2p.group.membership":
                domain = and_domains(domain, [("group", operator, name)])
            elif model.name == "g2p.reg.id":
                domain = and_domains(domain, [("partner_id", operator, name)])
            else:
                domain = and_domains(domain, [("name", operator, name)])
        ids = self.search(model_name, domain, limit=limit)
        names = self.display_names(model_name, ids)
        return [[i, names.get(i, False)] for i in ids]

    def name_get(self, model_name: str, ids: Any) -> list[list]:
        ids = _as_ids(ids)
        names = self.display_names(model_name, ids)
        return [[i, names[i]] for i in ids if i in names]

    def read_group(
        self,
        model_name: str,
        domain: Any,
        fields: Any,
        groupby: Any,
        offset: int = 0,
        limit: int | None = None,
        orderby: Any = False,
        lazy: bool = True,
    ) -> list[dict]:
        model = MODELS[model_name]
        groupbys = [groupby] if isinstance(groupby, str) else list(groupby or [])
        if not groupbys:
            raise ValueError("read_group without groupby is not supported by the sandbox")
        gb = groupbys[0]
        field = model.fields.get(gb)
        if field is None or not field.column:
            raise ValueError(f"Invalid field {gb!r} on model {model.name!r}")
        aggregates: list[tuple[str, str]] = []
        for spec in fields or []:
            fname, _, agg = str(spec).partition(":")
            fname = fname.strip()
            f = model.fields.get(fname)
            if f is None:
                raise ValueError(f"Invalid field {fname!r} on model {model.name!r}")
            if fname != gb and f.type in ("integer", "float") and f.column:
                aggregates.append((fname, agg or "sum"))
        where, params = self._where(model, domain)
        agg_sql = "".join(f', {a.upper()}(t."{f}")' for f, a in aggregates)
        sql = f'SELECT t."{gb}", COUNT(*){agg_sql} FROM "{model.table}" t WHERE {where} GROUP BY t."{gb}"'
        groups = list(self.execute(sql, params))
        if field.type == "many2one":
            comodel = MODELS[field.relation or ""]
            keys = [g[0] for g in groups if g[0] is not None]
            ordered = self.search(comodel.name, [("id", "in", keys)], order=None) if keys else []
            rank = {k: n for n, k in enumerate(ordered)}
            groups.sort(key=lambda g: (g[0] is None, rank.get(g[0], 0)))
            names = self.display_names(comodel.name, keys)
        else:
            groups.sort(key=lambda g: (g[0] is None, g[0] if g[0] is not None else 0))
            names = {}
        count_key = f"{gb}_count" if lazy else "__count"
        result = []
        for g in groups[offset : (offset + limit) if limit else None]:
            key = g[0]
            if field.type == "many2one":
                value: Any = [key, names.get(key, False)] if key else False
            elif field.type == "boolean":
                value = bool(key)
            else:
                value = key if key is not None else False
            rec: dict[str, Any] = {gb: value, count_key: g[1]}
            for (fname, _agg), v in zip(aggregates, g[2:], strict=True):
                rec[fname] = v if v is not None else 0
            rec["__domain"] = and_domains(list(domain or []), [(gb, "=", key if key is not None else False)])
            rec["__domain"] = [list(x) if isinstance(x, tuple) else x for x in rec["__domain"]]
            if lazy and len(groupbys) > 1:
                rec["__context"] = {"group_by": groupbys[1:]}
            result.append(rec)
        return result


_COLUMN, _X2MANY, _IGNORED = 0, 1, 2
# Keyed by the model object: a database with manual fields has its own res.partner.
_ROLES: dict[Model, dict[str, tuple[int, Field]]] = {}
_DEFAULTED: dict[Model, list[Field]] = {}


def _roles(model: Model) -> dict[str, tuple[int, Field]]:
    """What a value for each field name does on create/write, worked out once per model."""
    roles = _ROLES.get(model)
    if roles is None:
        roles = {}
        for name, field in model.fields.items():
            if field.computed or name in ("id", "create_uid", "create_date", "write_uid", "write_date"):
                roles[name] = (_IGNORED, field)
            elif field.type in ("one2many", "many2many"):
                roles[name] = (_X2MANY, field)
            elif field.column:
                roles[name] = (_COLUMN, field)
            else:
                roles[name] = (_IGNORED, field)
        _ROLES[model] = roles
    return roles


def _defaulted(model: Model) -> list[Field]:
    fields = _DEFAULTED.get(model)
    if fields is None:
        fields = _DEFAULTED[model] = [f for f in model.fields.values() if f.default is not None]
    return fields


def _as_ids(ids: Any) -> list[int]:
    if isinstance(ids, bool):
        raise ValueError(f"Invalid ids: {ids!r}")
    if isinstance(ids, int):
        return [ids]
    if not isinstance(ids, list | tuple):
        raise ValueError(f"Invalid ids: {ids!r}")
    out = []
    for i in ids:
        if not isinstance(i, int) or isinstance(i, bool):
            raise ValueError(f"Invalid id: {i!r}")
        out.append(i)
    return out
