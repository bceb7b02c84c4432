"""SQLite storage for the sandbox: schema, one connection, one transaction per call.

Why one connection behind a lock: every RPC call must be all-or-nothing like an Odoo
transaction, and SQLite allows one writer at a time anyway. Holding a lock only
around the transaction (JSON decoding and encoding happen outside it) keeps calls
serialisable without lost or half-written updates. File databases use WAL with
synchronous=NORMAL, so a SIGKILL loses at most the call in flight, never consistency.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from . import custom_fields
from .models import MODELS, Model

_SQL_TYPES = {
    "char": "TEXT",
    "text": "TEXT",
    "selection": "TEXT",
    "json": "TEXT",
    "date": "TEXT",
    "datetime": "TEXT",
    "boolean": "INTEGER",
    "integer": "INTEGER",
    "float": "REAL",
    "many2one": "INTEGER",
    "many2one_reference": "INTEGER",
}


def _lower(value: object) -> object:
    """Unicode-aware lower() for ilike (SQLite's own only folds ASCII)."""
    return value.lower() if isinstance(value, str) else value


def _table_sql(model: Model) -> list[str]:
    cols = ["id INTEGER PRIMARY KEY AUTOINCREMENT"]
    for f in model.fields.values():
        if f.column and f.name != "id":
            cols.append(f'"{f.name}" {_SQL_TYPES[f.type]}')
    stmts = [f'CREATE TABLE IF NOT EXISTS "{model.table}" ({", ".join(cols)})']
    for f in model.fields.values():
        if f.column and f.type == "many2one" and f.relation != "res.users":
            stmts.append(
                f'CREATE INDEX IF NOT EXISTS "{model.table}_{f.name}_idx" ON "{model.table}" ("{f.name}")'
            )
        if f.type == "many2many" and f.rel_table and f.rel_cols:
            a, b = f.rel_cols
            stmts.append(
                f'CREATE TABLE IF NOT EXISTS "{f.rel_table}" ("{a}" INTEGER NOT NULL, '
                f'"{b}" INTEGER NOT NULL, PRIMARY KEY ("{a}", "{b}"))'
            )
            stmts.append(f'CREATE INDEX IF NOT EXISTS "{f.rel_table}_{b}_idx" ON "{f.rel_table}" ("{b}")')
    return stmts


SCHEMA: list[str] = [stmt for model in MODELS.values() for stmt in _table_sql(model)] + [
    'CREATE UNIQUE INDEX IF NOT EXISTS "ir_model_data_module_name_uniq" '
    'ON "ir_model_data" ("module", "name")',
    'CREATE INDEX IF NOT EXISTS "ir_model_data_model_res_id_idx" ON "ir_model_data" ("model", "res_id")',
    'CREATE INDEX IF NOT EXISTS "res_partner_name_idx" ON "res_partner" ("name")',
    # The constraint checks look rows up by pairs ("one id per type per registrant", "the same
    # individual twice in one group"): with only single-column indexes SQLite may walk every
    # row of one ID type (or one popular group) per record, so the cost grows with the table.
    'CREATE INDEX IF NOT EXISTS "g2p_reg_id_partner_type_idx" ON "g2p_reg_id" ("partner_id", "id_type")',
    'CREATE INDEX IF NOT EXISTS "g2p_group_membership_group_individual_idx" '
    'ON "g2p_group_membership" ("group", "individual")',
    # "no overlapping same relationship" looks a pair up for every new g2p.reg.rel: by the
    # relation's index alone (one type for most rows) that walks the whole table per record.
    'CREATE INDEX IF NOT EXISTS "g2p_reg_rel_source_destination_idx" '
    'ON "g2p_reg_rel" ("source", "destination")',
    """CREATE TABLE IF NOT EXISTS "res_users" (
        id INTEGER PRIMARY KEY, login TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
        password_hash TEXT NOT NULL, api_key_hash TEXT, readonly INTEGER NOT NULL DEFAULT 0)""",
    'CREATE TABLE IF NOT EXISTS "sandbox_meta" (key TEXT PRIMARY KEY, value TEXT)',
    # The chatter a real server writes (mail.thread): not an RPC model of the slice, only the
    # rows, so that a create without the import context costs what it costs on Odoo.
    """CREATE TABLE IF NOT EXISTS "mail_message" (
        id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, res_id INTEGER NOT NULL,
        message_type TEXT NOT NULL, body TEXT, author_id INTEGER, create_uid INTEGER,
        create_date TEXT)""",
    'CREATE INDEX IF NOT EXISTS "mail_message_model_res_id_idx" ON "mail_message" ("model", "res_id")',
]


class Sequences:
    """Ids handed out per table, kept outside transactions as PostgreSQL's sequences are.

    Why: on a real server a rolled-back insert still uses up its id (a `load` whose row
    failed, a refused `create`), so the next record's id shows the gap. Replaying a
    recorded session gives the same ids only if the sandbox does the same.
    """

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, table: str, count: int, stored: int) -> int:
        """First of `count` new ids for `table`; `stored` is the table's highest id ever kept."""
        with self._lock:
            first = max(self._last.get(table, 0), stored) + 1
            self._last[table] = first + count - 1
            return first


_OWNERS: dict[int, Store] = {}  # id(connection) -> its Store, for `Store.owning`


class Store:
    """The sandbox database: one SQLite connection guarded by a lock."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        _OWNERS[id(self.conn)] = self
        self.schema_changed = False  # set by a call that added or dropped fields (custom_fields)
        self.conn.create_function("py_lower", 1, _lower, deterministic=True)
        self.conn.execute("PRAGMA foreign_keys = OFF")  # restrictions are checked explicitly
        self.conn.execute("PRAGMA case_sensitive_like = ON")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        self.sequences = Sequences()
        self.import_match = False  # behave as with OpenSPP's spp_import_match installed (orm.Env)
        with self.transaction() as cr:
            for stmt in SCHEMA:
                cr.execute(stmt)
            custom_fields.ensure_ir_model(cr)
            #: this database's models (the shipped ones plus its manual fields), rebuilt by
            #: `transaction` after a commit that changed them
            self.models = custom_fields.build(cr)

    @staticmethod
    def owning(cr: sqlite3.Cursor) -> Store | None:
        """The Store whose connection `cr` belongs to (None for a cursor of another connection)."""
        store = _OWNERS.get(id(cr.connection))
        return store if store is not None and store.conn is cr.connection else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One all-or-nothing unit of work: commit on success, roll back on any error."""
        with self.lock:
            cr = self.conn.cursor()
            cr.execute("BEGIN IMMEDIATE")
            try:
                yield cr
            except BaseException:
                cr.execute("ROLLBACK")
                self.schema_changed = False
                raise
            else:
                cr.execute("COMMIT")
                if self.schema_changed:  # a deployment's fields changed: rebuild this database's models
                    self.schema_changed = False
                    self.models = custom_fields.build(self.conn)
            finally:
                cr.close()

    def is_empty(self) -> bool:
        with self.lock:
            row = self.conn.execute('SELECT value FROM sandbox_meta WHERE key = "seeded"').fetchone()
        return row is None

    def close(self) -> None:
        with self.lock:
            _OWNERS.pop(id(self.conn), None)
            self.conn.close()
