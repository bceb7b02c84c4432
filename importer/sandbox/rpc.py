"""JSON-RPC dispatch: Odoo's `common` and `object` services, and Odoo's error payloads.

An answer is always HTTP 200; a failure is `{"error": {"code": 200, "message":
"Odoo Server Error", "data": {"name", "debug", "message", "arguments", "context"}}}`
with `data.name` naming the exception class a real server raises for the same
mistake (see docs/architecture.md §2 and the recorded transcript).
"""

from __future__ import annotations

import re
import threading
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from . import load as load_module
from .auth import FULL, READ_ONLY, SANDBOX_DB, Users
from .concurrency import Households
from .errors import AccessDenied, AccessError, DatabaseMissing, UserError, error_name
from .models import MODELS, using
from .orm import Env, _as_ids, chunks
from .store import Store
from .workers import ServerWorkers, call_rows

VERSION_INFO = {
    "server_version": "17.0-20240709",
    "server_version_info": [17, 0, 0, "final", 0, ""],
    "server_serie": "17.0",
    "protocol_version": 1,
}
READ_METHODS = {
    "search",
    "search_read",
    "read",
    "search_count",
    "fields_get",
    "name_search",
    "name_get",
    "read_group",
    "exists",
    "check_access_rights",
    "get_external_id",
    "default_get",
}
PUBLIC_METHODS = READ_METHODS | {"create", "write", "unlink", "load"}
_PRIVATE = re.compile(r"^_")
#: Odoo 17's answer when an internal user without "Administration / Access Rights" touches ir.model.data.
MODEL_DATA_REFUSED = (
    "You are not allowed to access 'Model Data' (ir.model.data) records.\n\n"
    "This operation is allowed for the following groups:\n\t- Administration/Access Rights\n\n"
    "Contact your administrator to request access if necessary."
)
CALL_LOG_SIZE = 10_000
#: Models only "Administration / Settings" may change: a deployment's fields are its schema.
SETTINGS_MODELS = frozenset({"ir.model", "ir.model.fields"})
WRITE_METHODS = frozenset({"create", "write", "unlink", "load"})


def _settings_refused(method: str, model: Any) -> str:
    verb = {"create": "create", "unlink": "delete"}.get(method, "modify")
    return (
        f"You are not allowed to {verb} '{model.description}' ({model.name}) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Administration/Settings\n\n"
        "Contact your administrator to request access if necessary."
    )


def error_payload(exc: BaseException) -> dict:
    """The `error` member of a JSON-RPC answer, shaped as Odoo 17 shapes it."""
    message = str(exc)
    args = list(exc.args) if exc.args else [message]
    return {
        "code": 200,
        "message": "Odoo Server Error",
        "data": {
            "name": error_name(exc),
            "debug": "Traceback (most recent call last): ... (sandbox: traceback omitted)\n"
            + "".join(traceback.format_exception_only(type(exc), exc)),
            "message": message,
            "arguments": [
                a if isinstance(a, str | int | float | bool) or a is None else str(a) for a in args
            ],
            "context": {},
        },
    }


class Dispatcher:
    """Runs one decoded JSON-RPC request; each object call is one database transaction."""

    def __init__(self, store: Store, users: Users) -> None:
        self.store = store
        self.users = users
        self._log: deque[tuple[str, str, str | None, str | None, str]] = deque(maxlen=CALL_LOG_SIZE)
        self._log_lock = threading.Lock()
        self.households = Households()
        self.workers = ServerWorkers()  # unbounded, no server time: as fast as the sandbox goes

    @property
    def call_log(self) -> list[tuple[str, str, str | None, str | None, str]]:
        with self._log_lock:
            return list(self._log)

    def record(
        self, service: str, method: str, model: str | None, rpc_method: str | None, outcome: str
    ) -> None:
        with self._log_lock:
            self._log.append((service, method, model, rpc_method, outcome))

    @staticmethod
    def describe(payload: Any) -> tuple[str, str, str | None, str | None]:
        """(service, method, model, model method) of a request, for logs and faults."""
        params = payload.get("params") if isinstance(payload, dict) else None
        params = params if isinstance(params, dict) else {}
        service = str(params.get("service", ""))
        method = str(params.get("method", ""))
        args = params.get("args") if isinstance(params.get("args"), list) else []
        model = rpc_method = None
        if service == "object" and len(args) >= 5:
            model = args[3] if isinstance(args[3], str) else None
            rpc_method = args[4] if isinstance(args[4], str) else None
        return service, method, model, rpc_method

    def handle(self, payload: Any) -> dict:
        """The full JSON-RPC answer (a dict) for one decoded request."""
        rid = payload.get("id") if isinstance(payload, dict) else None
        service, method, model, rpc_method = self.describe(payload)
        try:
            params = payload.get("params", {}) if isinstance(payload, dict) else {}
            result = self.dispatch(service, method, list(params.get("args") or []))
        except Exception as exc:  # every failure becomes Odoo's error payload
            self.record(service, method, model, rpc_method, error_name(exc))
            return {"jsonrpc": "2.0", "id": rid, "error": error_payload(exc)}
        self.record(service, method, model, rpc_method, "ok")
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def dispatch(self, service: str, method: str, args: list) -> Any:
        if service == "common":
            return self._common(method, args)
        if service == "object":
            if method == "execute_kw":
                db, uid, secret, model, name, *rest = _pad(args, 5)
                margs = rest[0] if rest else []
                kwargs = rest[1] if len(rest) > 1 else {}
                with using(self.store.models):  # this database's models, with its own fields
                    return self.execute(db, uid, secret, model, name, list(margs or []), dict(kwargs or {}))
            if method == "execute":
                db, uid, secret, model, name, *margs = _pad(args, 5)
                with using(self.store.models):
                    return self.execute(db, uid, secret, model, name, list(margs), {})
            raise NameError(f"Method not available {method}")
        if service == "db" and method == "list":
            return [SANDBOX_DB]
        raise KeyError(service)

    def _common(self, method: str, args: list) -> Any:
        if method == "version":
            return dict(VERSION_INFO)
        if method in ("authenticate", "login"):
            db, login, secret = _pad(args, 3)[:3]
            _check_db(db)
            self.workers.spend_login()
            return self.users.authenticate(login, secret) or False
        if method == "about":
            return "See http://openerp.com"
        raise AttributeError(f"module 'odoo.service.common' has no attribute 'exp_{method}'")

    def execute(self, db: Any, uid: Any, secret: Any, model: Any, name: Any, args: list, kwargs: dict) -> Any:
        _check_db(db)
        user = self.users.check(uid, secret)
        if user is None:
            raise AccessDenied()
        uid, level = user
        if not isinstance(name, str) or _PRIVATE.match(name):
            raise AccessError(f"Private methods (such as {name}) cannot be called remotely.")
        if model not in self.store.models:
            raise UserError(f"Object {model} doesn't exist")
        if name not in PUBLIC_METHODS:
            raise AttributeError(f"The method '{name}' does not exist on the model '{model}'")
        if model == "ir.model.data" and level != FULL and name != "check_access_rights":
            raise AccessError(MODEL_DATA_REFUSED)
        if model in SETTINGS_MODELS and level != FULL and name in WRITE_METHODS:
            raise AccessError(_settings_refused(name, self.store.models[model]))
        context = kwargs.pop("context", None) or {}
        # Only `load` shows a concurrent writer to its caller (row by row); Odoo retries any other
        # call that meets one, and the retry succeeds: those calls take no snapshot.
        snapshot = self.households.arrive() if name == "load" else None
        # The server time of a multi-worker server (workers.py): after the snapshot, before the writes.
        self.workers.spend(call_rows(name, args, kwargs))
        with self.store.transaction() as cr:
            context = context if isinstance(context, dict) else {}
            env = Env(cr, uid, readonly=level == READ_ONLY, context=context)
            env.technical = level == FULL
            env.households, env.snapshot = self.households, snapshot
            result = _METHODS[name](env, model, args, kwargs)
            self.households.commit(env.households_written)
            return result


def _pad(args: list, n: int) -> list:
    return list(args) + [None] * (n - len(args))


def _check_db(db: Any) -> None:
    if db != SANDBOX_DB:
        raise DatabaseMissing(str(db))


def _call(fn: Callable, *lead: Any) -> Callable[[Env, str, list, dict], Any]:
    """Adapt an Env method taking (model, *args, **kwargs)."""

    def run(env: Env, model: str, args: list, kwargs: dict) -> Any:
        return fn(env, model, *args, **kwargs)

    return run


def _exists(env: Env, model: str, args: list, kwargs: dict) -> list[int]:
    from .orm import _as_ids

    ids = _as_ids(args[0] if args else kwargs.get("ids", []))
    found = env.existing(MODELS[model], ids)
    return [i for i in ids if i in found]


def _check_access_rights(env: Env, model: str, args: list, kwargs: dict) -> bool:
    operation = args[0] if args else kwargs.get("operation", "read")
    raise_exception = args[1] if len(args) > 1 else kwargs.get("raise_exception", True)
    if operation not in ("read", "write", "create", "unlink"):
        # Odoo's ir.model.access.check asserts the mode, whatever raise_exception says.
        raise AssertionError("Invalid access mode")
    if model == "ir.model.data" and not env.technical:
        if raise_exception:
            raise AccessError(MODEL_DATA_REFUSED)
        return False
    if model in SETTINGS_MODELS and operation != "read" and not env.technical:
        # Only "Administration / Settings" may change a deployment's schema (Odoo's ir.model.access).
        if raise_exception:
            raise AccessError(_settings_refused(operation, MODELS[model]))
        return False
    if operation == "read" or not env.readonly:
        return True
    if not raise_exception:
        return False
    env.check_write_access(MODELS[model], operation)
    return True


def _get_external_id(env: Env, model: str, args: list, kwargs: dict) -> dict[str, str]:
    """Each record's oldest external id, or '' (Odoo reads ir.model.data as superuser here)."""
    ids = _as_ids(args[0] if args else kwargs.get("ids", []))
    found: dict[int, str] = {}
    for part in chunks(ids):
        marks = ",".join("?" * len(part))
        rows = env.execute(
            "SELECT res_id, module || '.' || name FROM ir_model_data "
            f"WHERE model = ? AND res_id IN ({marks}) ORDER BY id",
            [model, *part],
        )
        for res_id, xid in rows:
            found.setdefault(res_id, xid)
    return {str(i): found.get(i, "") for i in ids}  # JSON object keys are text


def _load(env: Env, model: str, args: list, kwargs: dict) -> dict:
    fields = args[0] if args else kwargs.get("fields")
    data = args[1] if len(args) > 1 else kwargs.get("data")
    return load_module.load(env, model, list(fields or []), list(data or []))


_METHODS: dict[str, Callable[[Env, str, list, dict], Any]] = {
    "search": _call(Env.search),
    "search_read": _call(Env.search_read),
    "read": _call(Env.read),
    "search_count": _call(Env.search_count),
    "create": _call(Env.create),
    "write": _call(Env.write),
    "unlink": _call(Env.unlink),
    "fields_get": _call(Env.fields_get),
    "default_get": _call(Env.default_get),
    "name_search": _call(Env.name_search),
    "name_get": _call(Env.name_get),
    "read_group": _call(Env.read_group),
    "exists": _exists,
    "check_access_rights": _check_access_rights,
    "get_external_id": _get_external_id,
    "load": _load,
}
assert set(_METHODS) == PUBLIC_METHODS
