"""The OpenSPP (Odoo 17) JSON-RPC client: one session, typed helpers, honest failures.

Why its own client rather than ``xmlrpc.client`` or an ORM wrapper: the
importer must know, for every call, whether it reached the server, whether
it committed, and how long it took.  So:

- transport failures before the request left are retried (safe);
- 502/503/504 and failures after the request left are retried only for
  calls marked ``idempotent`` (reads, and ``load`` with external ids);
  otherwise they raise :class:`~importer.errors.OutcomeUnknown`, which the
  pipeline resolves by re-sending through external ids;
- Odoo application errors are never retried: they would fail again;
- every attempt is reported to an optional observer (the audit log).

A client holds one ``requests.Session`` (keep-alive, pooled).  Sessions are
not shared across threads: each worker takes :meth:`OdooClient.fork`.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from importer.errors import (
    AuthenticationError,
    ConnectError,
    HTTPStatusError,
    InvalidResponse,
    OdooError,
    OutcomeUnknown,
    TransportError,
    error_from_payload,
)
from importer.settings import ConnectionSettings, Retry

Domain = list[Any]

#: Writes made by the importer skip chatter tracking, as Odoo's own import
#: screen does: it nearly doubles the server's rate (docs/architecture.md §2).
IMPORT_CONTEXT: dict[str, Any] = {"tracking_disable": True, "mail_create_nolog": True}

_READ_METHODS = frozenset(
    {
        "search",
        "search_read",
        "read",
        "search_count",
        "fields_get",
        "name_search",
        "read_group",
        "check_access_rights",
        "get_external_id",
    }
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One attempt of one call, as the audit log records it (never its arguments)."""

    service: str
    model: str | None
    method: str
    rows: int
    duration_s: float
    outcome: str  # ok | error | outcome_unknown | transport_error | http_<status>
    error_name: str | None
    attempt: int


CallObserver = Callable[[CallRecord], None]


class OdooClient:
    """A JSON-RPC client for one OpenSPP database and user."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        observer: CallObserver | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.observer = observer
        self._session = session or self._new_session()
        self._uid: int | None = None
        self._ids = itertools.count(1)
        self._sleep = sleep
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OdooClient({self.settings.describe()!r})"

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"Content-Type": "application/json", "User-Agent": "spp-import"})
        return session

    def fork(self) -> OdooClient:
        """A client for another worker thread: same settings and uid, its own session."""
        other = OdooClient(self.settings, observer=self.observer, sleep=self._sleep)
        other._uid = self._uid
        return other

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> OdooClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- wire ---------------------------------------------------------------

    def _call(
        self,
        service: str,
        method: str,
        args: list[Any],
        *,
        model: str | None = None,
        rpc_method: str | None = None,
        rows: int = 0,
        idempotent: bool = False,
        first_attempt: int = 1,
    ) -> Any:
        """POST one JSON-RPC call, retrying what is safe to retry.

        ``first_attempt`` numbers the attempts the observer sees from there: a
        caller re-sending rows the server could not write yet (a concurrent
        update) says which attempt this is, so the audit log counts it as a retry.
        """
        retry = self.settings.retry
        label_method = rpc_method or method
        shift = first_attempt - 1  # attempts the caller already made, as the observer counts them
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
            "id": next(self._ids),
        }
        last: TransportError | None = None
        for attempt in range(1, retry.attempts + 1):
            started = time.perf_counter()
            # Failures are raised after the ``except`` blocks, never inside them: an
            # exception raised there keeps the requests error as ``__context__``, and
            # that error's ``.request.body`` holds the password or API key.
            fatal: TransportError | None = None
            try:
                response = self._session.post(
                    self.settings.endpoint,
                    json=payload,
                    timeout=self.settings.timeout.as_requests(),
                    verify=self.settings.verify_tls,
                )
            except requests.exceptions.SSLError as exc:
                self._observe(
                    service, model, label_method, rows, started, "transport_error", None, attempt + shift
                )
                fatal = ConnectError(
                    f"TLS certificate of {self.settings.safe_url} could not be verified "
                    f"({type(exc).__name__}); use --insecure only if you trust this server",
                    url=self.settings.safe_url,
                    attempts=attempt,
                )
            except requests.exceptions.RequestException as exc:
                sent = _was_sent(exc)
                outcome = "outcome_unknown" if sent else "transport_error"
                self._observe(service, model, label_method, rows, started, outcome, None, attempt + shift)
                if sent:
                    last = OutcomeUnknown(
                        f"{model or service}.{label_method}: the request was sent but no answer "
                        f"came ({_short(exc)}); it may or may not have been applied",
                        url=self.settings.safe_url,
                        attempts=attempt,
                    )
                    if not idempotent:
                        fatal = last
                else:
                    last = ConnectError(
                        f"cannot reach {self.settings.safe_url} ({_short(exc)})",
                        url=self.settings.safe_url,
                        attempts=attempt,
                    )
                if fatal is None:
                    self._backoff(attempt)
                    continue
            if fatal is not None:
                raise fatal
            if response.status_code != 200:
                status = response.status_code
                self._observe(
                    service, model, label_method, rows, started, f"http_{status}", None, attempt + shift
                )
                last = HTTPStatusError(
                    f"{self.settings.safe_url} answered HTTP {status} to {model or service}.{label_method}",
                    status=status,
                    url=self.settings.safe_url,
                    attempts=attempt,
                )
                retriable = status in retry.statuses and (idempotent or status == 503)
                if not retriable:
                    if status in retry.statuses:
                        raise OutcomeUnknown(
                            str(last) + "; it may or may not have been applied",
                            url=self.settings.safe_url,
                            attempts=attempt,
                        )
                    raise last
                self._backoff(attempt)
                continue
            try:
                body = response.json()
            except ValueError:
                self._observe(service, model, label_method, rows, started, "invalid", None, attempt + shift)
                raise InvalidResponse(
                    f"{self.settings.safe_url} did not answer JSON-RPC (is this an Odoo/OpenSPP server?)",
                    url=self.settings.safe_url,
                ) from None
            if not isinstance(body, dict) or ("result" not in body and "error" not in body):
                self._observe(service, model, label_method, rows, started, "invalid", None, attempt + shift)
                raise InvalidResponse(
                    f"{self.settings.safe_url} gave an answer that is not JSON-RPC",
                    url=self.settings.safe_url,
                )
            if "error" in body:
                err = error_from_payload(body["error"], model=model, method=label_method)
                self._observe(service, model, label_method, rows, started, "error", err.name, attempt + shift)
                raise err
            self._observe(service, model, label_method, rows, started, "ok", None, attempt + shift)
            return body["result"]
        assert last is not None
        last.attempts = retry.attempts
        raise last

    def _backoff(self, attempt: int) -> None:
        retry = self.settings.retry
        if attempt >= retry.attempts:
            return
        self._sleep(backoff_delay(retry, attempt))

    def _observe(
        self,
        service: str,
        model: str | None,
        method: str,
        rows: int,
        started: float,
        outcome: str,
        error_name: str | None,
        attempt: int,
    ) -> None:
        if self.observer is None:
            return
        self.observer(
            CallRecord(
                service=service,
                model=model,
                method=method,
                rows=rows,
                duration_s=time.perf_counter() - started,
                outcome=outcome,
                error_name=error_name,
                attempt=attempt,
            )
        )

    # -- common service ---------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """The server's version info (no login needed)."""
        return self._call("common", "version", [], idempotent=True)

    def authenticate(self) -> int:
        """Log in; returns the uid. Raises :class:`AuthenticationError` when refused."""
        s = self.settings
        uid = self._call("common", "authenticate", [s.db, s.login, s.secret.reveal(), {}], idempotent=True)
        if not uid:
            raise AuthenticationError(
                f"the server refused login '{s.login}' on database '{s.db}': "
                "check the login and the password or API key",
                name="odoo.exceptions.AccessDenied",
            )
        self._uid = int(uid)
        return self._uid

    def ensure_authenticated(self) -> int:
        """The uid, logging in only if this client has not yet.

        Odoo checks a password by hashing it (PBKDF2, hundreds of thousands of
        rounds: about a second of server time), so a run logs in once and
        every later step reuses that login.
        """
        return self._uid if self._uid is not None else self.authenticate()

    @property
    def uid(self) -> int:
        if self._uid is None:
            with self._lock:
                if self._uid is None:
                    self.authenticate()
        assert self._uid is not None
        return self._uid

    # -- object service ---------------------------------------------------------

    def execute_kw(
        self,
        model: str,
        method: str,
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
        rows: int = 0,
        idempotent: bool | None = None,
        attempt: int = 1,
    ) -> Any:
        """Call ``model.method(*args, **kwargs)`` on the server as this user.

        ``attempt`` > 1 marks a re-send by the caller (see :meth:`_call`).
        """
        kw = dict(kwargs or {})
        if context:
            kw["context"] = {**kw.get("context", {}), **context}
        s = self.settings
        return self._call(
            "object",
            "execute_kw",
            [s.db, self.uid, s.secret.reveal(), model, method, list(args or []), kw],
            model=model,
            rpc_method=method,
            rows=rows,
            idempotent=method in _READ_METHODS if idempotent is None else idempotent,
            first_attempt=attempt,
        )

    def create(
        self, model: str, values: dict[str, Any] | list[dict[str, Any]], *, context: dict | None = None
    ) -> int | list[int]:
        """Create one record (returns its id) or many in one call (returns the ids)."""
        many = isinstance(values, list)
        result = self.execute_kw(model, "create", [values], context=context, rows=len(values) if many else 1)
        if many:
            return list(result) if isinstance(result, list) else [result]
        return result[0] if isinstance(result, list) else result

    def write(
        self, model: str, ids: Iterable[int], values: dict[str, Any], *, context: dict | None = None
    ) -> bool:
        ids = list(ids)
        return self.execute_kw(model, "write", [ids, values], context=context, rows=len(ids))

    def unlink(self, model: str, ids: Iterable[int]) -> bool:
        ids = list(ids)
        return self.execute_kw(model, "unlink", [ids], rows=len(ids))

    def read(
        self, model: str, ids: Iterable[int], fields: Sequence[str] | None = None, *, names: bool = True
    ) -> list[dict]:
        """``read``; ``names=False`` gives a many2one as its bare id, not ``[id, display name]``.

        Odoo computes the display name of every record a many2one points at
        unless ``load`` is something other than ``"_classic_read"``: reading
        4,000 memberships back costs a real server 2.5 times as long with them.
        """
        kwargs: dict[str, Any] = {"fields": list(fields)} if fields else {}
        if not names:
            kwargs["load"] = None
        return self.execute_kw(model, "read", [list(ids)], kwargs)

    def search(
        self,
        model: str,
        domain: Domain | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        return self.execute_kw(model, "search", [domain or []], _paging(offset, limit, order))

    def search_read(
        self,
        model: str,
        domain: Domain | None = None,
        fields: Sequence[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        kwargs = _paging(offset, limit, order)
        if fields:
            kwargs["fields"] = list(fields)
        return self.execute_kw(model, "search_read", [domain or []], kwargs)

    def search_count(self, model: str, domain: Domain | None = None) -> int:
        return self.execute_kw(model, "search_count", [domain or []])

    def fields_get(
        self,
        model: str,
        fields: Sequence[str] | None = None,
        attributes: Sequence[str] = (
            "type",
            "relation",
            "required",
            "selection",
            "string",
            "readonly",
            "store",
            "size",
        ),
    ) -> dict[str, dict[str, Any]]:
        args = [list(fields)] if fields else []
        return self.execute_kw(model, "fields_get", args, {"attributes": list(attributes)})

    def name_search(self, model: str, name: str, *, limit: int = 8) -> list[list[Any]]:
        return self.execute_kw(model, "name_search", [], {"name": name, "limit": limit})

    def load(
        self,
        model: str,
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        context: dict[str, Any] | None = None,
        idempotent: bool = False,
        attempt: int = 1,
    ) -> dict[str, Any]:
        """Odoo's bulk import: ``{"ids": [...] | False, "messages": [...]}``.

        Pass ``idempotent=True`` only when every row carries an external id:
        then a lost answer is safely re-sent (it becomes an update).  Pass
        ``attempt`` > 1 when re-sending rows the server could not write the
        first time (a concurrent update): the audit log counts it as a retry.
        """
        return self.execute_kw(
            model,
            "load",
            [list(fields), [list(r) for r in rows]],
            context=context,
            rows=len(rows),
            idempotent=idempotent,
            attempt=attempt,
        )

    def check_access(self, model: str, operation: str) -> bool:
        """Whether this user may ``operation`` (create/write/read/unlink) ``model``."""
        try:
            return bool(
                self.execute_kw(model, "check_access_rights", [operation], {"raise_exception": False})
            )
        except OdooError:
            return False


def backoff_delay(retry: Retry, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one.

    "Equal jitter": at least half the step (so a restarting server, or a
    concurrent transaction, is ridden out), plus a random half that spreads
    the workers' retries apart.
    """
    cap = min(retry.max_backoff, retry.backoff * (2 ** (attempt - 1)))
    return cap / 2 + random.uniform(0, cap / 2)


class ClientPool:
    """Run calls on several worker threads, each with its own forked client (its own session).

    Reads that need many calls (reading back 100,000 records) finish in
    about 1/N of the time against a server that serves several threads.
    """

    def __init__(self, client: OdooClient, workers: int, *, observer: CallObserver | None = None) -> None:
        """``observer``: also told of every attempt of the workers' calls, after the client's own."""
        self.client = client
        self.workers = max(1, workers)
        self.observer = observer
        self._local = threading.local()
        self._forks: list[OdooClient] = []
        self._lock = threading.Lock()

    def current(self) -> OdooClient:
        """This thread's own client (forked on first use)."""
        mine = getattr(self._local, "client", None)
        if mine is None:
            mine = self.client.fork()
            if self.observer is not None:
                mine.observer = _both(self.client.observer, self.observer)
            self._local.client = mine
            with self._lock:
                self._forks.append(mine)
        return mine

    def map(self, func: Callable[[OdooClient, Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[func(client, item) for item in items]``, in parallel, results in order."""
        return list(self.imap(func, items))

    def imap(self, func: Callable[[OdooClient, Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """:meth:`map`'s results one by one, in order, as they come: the caller works on the
        first while the later calls are still in flight.  Calls not yet started when the
        caller stops early (or raises) are cancelled."""
        if self.workers == 1 or len(items) <= 1:
            yield from (func(self.client, item) for item in items)
            return
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            futures = [pool.submit(lambda item=item: func(self.current(), item)) for item in items]
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        for fork in self._forks:
            fork.close()
        self._forks.clear()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _both(first: CallObserver | None, second: CallObserver) -> CallObserver:
    if first is None:
        return second

    def observe(record: CallRecord) -> None:
        first(record)
        second(record)

    return observe


def _paging(offset: int, limit: int | None, order: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if offset:
        kwargs["offset"] = offset
    if limit is not None:
        kwargs["limit"] = limit
    if order:
        kwargs["order"] = order
    return kwargs


def _was_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request may have reached the server before the failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return not isinstance(inner, NewConnectionError | ConnectTimeoutError)
    return isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ChunkedEncodingError)


def _short(exc: BaseException) -> str:
    """A one-line reason without URLs' query strings or payloads."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return "connection closed by the server"
    return type(exc).__name__
