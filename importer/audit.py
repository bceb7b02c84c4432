"""An append-only record of what a run did to the registry, one JSON object per line.

The report says what happened to each *row*; the audit log says what the
tool *did*: which server and database, as whom, with which files (and their
checksums, so the file can be proven unchanged later), and every call sent to
the server with how long it took and how it ended.  An auditor or a support
engineer reads it long after the run, so it is plain JSON lines, flushed after
every event (a crash loses at most the event being written), and safe to
write from many worker threads at once.

It never holds a secret: events are built from named fields only (never a
call's arguments), keys that look like secrets are masked, and every string
is scrubbed of every known secret before it is written (belt and braces).

Events::

    {"time": "...Z", "event": "run_start", "server", "database", "login", "input_files":
        [{"path", "sha256", "bytes"}], "mapping", "mode", "tool_version", ...}
    {"time": ..., "event": "call", "service", "model", "method", "rows", "duration_ms",
        "outcome": "ok" | "error" | "outcome_unknown" | "transport_error" | ..., "error_name",
        "attempt"}
    {"time": ..., "event": "retry", ...why and when the tool tried again...}
    {"time": ..., "event": "run_end", "counts", "exit_code", ...}
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import pandas as pd

__all__ = ["SECRET_MASK", "AuditLog", "file_sha256", "redact", "tool_version"]

SECRET_MASK = "***"
#: Keys whose values are secrets whatever they hold.
_SECRET_KEY_RE = re.compile(
    r"pass(word|wd)?$|secret|api[_-]?key|token|credential|authori[sz]ation|cookie",
    re.IGNORECASE,
)
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
#: Shorter secrets are still masked inside strings, but not hunted for in the serialised line,
#: where they would match innocent numbers.
_LINE_CHECK_MIN_LEN = 4
_CALL_FIELDS = ("service", "model", "method", "rows", "outcome", "error_name", "attempt")


def file_sha256(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so a 2 GB spreadsheet needs no 2 GB of memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def tool_version() -> str:
    """The installed spp-import version, or ``"unknown"`` when running from a bare checkout."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("spp-import")
    except (ImportError, PackageNotFoundError):
        return "unknown"


def _secret_text(secret: Any) -> str | None:
    """A secret as text: plain strings, or objects with ``reveal()`` (settings.Secret)."""
    if isinstance(secret, str):
        return secret or None
    reveal = getattr(secret, "reveal", None)
    if callable(reveal):
        value = reveal()
        return value if isinstance(value, str) and value else None
    return None


def jsonable(value: Any) -> Any:
    """Any value as a JSON-ready one (paths, dates, enums, numpy scalars, frames, NA, objects).

    Shared by the audit log and the report's ``--json`` summary.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        return jsonable(item())
    to_dict = getattr(value, "to_dict", None)  # pandas DataFrame / Series
    if callable(to_dict):
        return jsonable(to_dict())
    if _secret_text(value) is not None and getattr(value, "reveal", None):
        return SECRET_MASK  # a Secret object never reaches the log, even by mistake
    return str(value)


def redact(obj: Any, secrets: Iterable[Any]) -> Any:
    """A copy of ``obj`` with every known secret replaced by ``***`` in every string.

    Also masks the value of any key that names a secret (``password``,
    ``api_key``, ``token``...) and user-info in URLs (``https://u:p@host``).
    Works on anything JSON-like; other values are turned into text first.
    """
    known = sorted({t for s in secrets if (t := _secret_text(s))}, key=len, reverse=True)

    def scrub(text: str) -> str:
        text = _URL_USERINFO_RE.sub(r"\g<scheme>", text)
        for secret in known:
            if secret in text:
                text = text.replace(secret, SECRET_MASK)
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                key = scrub(str(k))
                out[key] = SECRET_MASK if _SECRET_KEY_RE.search(str(k)) and v else walk(v)
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(jsonable(obj))


def _field(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


class AuditLog:
    """JSON-lines audit log; thread-safe; every event scrubbed of known secrets.

    Use as a context manager, or call :meth:`close`.  Pass the run's secrets
    (strings or ``Secret`` objects) so they can be scrubbed even if some
    caller puts one where it does not belong.
    """

    def __init__(self, path: str | Path, *, secrets: Iterable[Any] = ()) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets: list[str] = [t for s in secrets if (t := _secret_text(s))]
        self._lock = threading.Lock()
        self._handle: TextIO | None = self.path.open("a", encoding="utf-8")

    def add_secret(self, secret: Any) -> None:
        """Register one more string that must never appear in the log."""
        text = _secret_text(secret)
        if text:
            with self._lock:
                self._secrets.append(text)

    # -- writing -------------------------------------------------------------------------

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one event and return it as written (after redaction).

        Events after :meth:`close` are dropped: a straggling worker must not
        crash a run that has already ended.
        """
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            secrets = list(self._secrets)
        record = redact({"time": stamp, "event": event, **fields}, secrets)
        line = json.dumps(record, ensure_ascii=False, default=str)
        if self._line_leaks(line, secrets):
            record = {"time": stamp, "event": event, "withheld": "event contained a secret"}
            line = json.dumps(record)
        with self._lock:
            if self._handle is None:
                return record
            self._handle.write(line + "\n")
            self._handle.flush()
        return record

    @staticmethod
    def _line_leaks(line: str, secrets: Iterable[str]) -> bool:
        """Last guard: a secret still visible in the serialised line (e.g. escaped, or a number)."""
        for secret in secrets:
            if len(secret) < _LINE_CHECK_MIN_LEN:
                continue
            escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
            if secret in line or escaped in line:
                return True
        return False

    def run_start(
        self,
        *,
        server: str,
        database: str,
        login: str,
        input_files: Iterable[str | Path],
        mapping: str | Path | None,
        mode: str,
        version: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Where, as whom, with which files (checksummed) and how the run starts."""
        files = []
        for name in input_files:
            path = Path(name)
            entry: dict[str, Any] = {"path": str(path)}
            try:
                entry["sha256"] = file_sha256(path)
                entry["bytes"] = path.stat().st_size
            except OSError as exc:  # the run will fail on it; the log still says which file
                entry["error"] = type(exc).__name__
            files.append(entry)
        return self.event(
            "run_start",
            server=server,
            database=database,
            login=login,
            input_files=files,
            mapping=None if mapping is None else str(mapping),
            mode=mode,
            tool_version=version or tool_version(),
            **extra,
        )

    def call(
        self,
        *,
        service: str,
        model: str | None,
        method: str,
        rows: int,
        duration_ms: float,
        outcome: str,
        error_name: str | None = None,
        attempt: int = 1,
        **extra: Any,
    ) -> dict[str, Any]:
        """One attempt of one server call (never its arguments: they hold people's data)."""
        return self.event(
            "call",
            service=service,
            model=model,
            method=method,
            rows=rows,
            duration_ms=duration_ms,
            outcome=outcome,
            error_name=error_name,
            attempt=attempt,
            **extra,
        )

    def retry(self, **fields: Any) -> dict[str, Any]:
        """The tool decided to try again (e.g. a batch resent without its failed rows)."""
        return self.event("retry", **fields)

    def concurrency(self, **fields: Any) -> dict[str, Any]:
        """The loader changed how many calls it keeps in flight, or settled (``from``, ``to``, ``reason``)."""
        return self.event("concurrency", **fields)

    def run_end(self, *, counts: Any, exit_code: int, **extra: Any) -> dict[str, Any]:
        """How the run ended: counts (a mapping or a DataFrame) and the exit code."""
        return self.event("run_end", counts=counts, exit_code=exit_code, **extra)

    def call_observer(self, record: Any) -> None:
        """Give to the HTTP client as its observer: logs one ``call`` event per attempt.

        Accepts any object with ``service, model, method, rows, duration_s,
        outcome, error_name, attempt`` attributes (the client's CallRecord),
        or a dict with those keys.  Never raises: auditing must not break a load.
        """
        try:
            fields = {name: _field(record, name) for name in _CALL_FIELDS}
            duration = _field(record, "duration_s")
            if duration is None and _field(record, "duration_ms") is not None:
                duration = float(_field(record, "duration_ms")) / 1000
            fields["duration_ms"] = round(float(duration or 0.0) * 1000, 3)
            fields["rows"] = 0 if fields["rows"] is None else int(fields["rows"])
            fields["attempt"] = 1 if fields["attempt"] is None else int(fields["attempt"])
            self.call(**fields)
        except Exception as exc:  # pragma: no cover - defensive: log the failure to log instead
            self.event("audit_error", error=type(exc).__name__)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and close the file; later events are dropped."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never the secrets
        return f"AuditLog({str(self.path)!r})"
