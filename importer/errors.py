"""Every failure the OpenSPP client can raise, in one tree.

Callers catch by meaning, not by accident::

    SppError
    ├── OdooError                 the server answered with a JSON-RPC error
    │   ├── AuthenticationError   authenticate refused the login (or execute_kw → AccessDenied)
    │   ├── AccessError           the user lacks rights for this model/operation
    │   ├── ValidationError       a constraint refused the data (odoo.exceptions.ValidationError)
    │   ├── UserError             odoo.exceptions.UserError (e.g. unknown model)
    │   ├── MissingRecord         the record was deleted or never existed (MissingError)
    │   └── ServerError           anything else (ValueError, KeyError, AttributeError, database errors)
    └── TransportError            no usable answer came back over HTTP
        ├── ConnectError          could not reach the server; the call was never sent
        ├── HTTPStatusError       502/503/504 or other non-200 after retries
        ├── InvalidResponse       the answer was not JSON-RPC
        └── OutcomeUnknown        the call was sent but no answer came: it may or may not have committed

``OutcomeUnknown`` is its own class because the pipeline needs to know: a
write whose answer was lost is re-sent safely only because every record
carries an external id (see docs/architecture.md §3).

No exception here ever holds the password or API key: messages are built
from the server's answer and the call's model and method, never from the
request arguments.
"""

from __future__ import annotations

from typing import Any


class SppError(Exception):
    """Base of every error spp-import's client raises."""


class OdooError(SppError):
    """The server answered, with an error payload.

    ``name`` is Odoo's ``data.name`` (e.g. ``odoo.exceptions.ValidationError``),
    ``server_message`` its ``data.message``.
    """

    def __init__(
        self,
        server_message: str,
        *,
        name: str = "",
        model: str | None = None,
        method: str | None = None,
        arguments: list[Any] | None = None,
    ) -> None:
        self.server_message = server_message.strip() if server_message else ""
        self.name = name
        self.model = model
        self.method = method
        self.arguments = arguments or []
        where = f" ({model}.{method})" if model and method else ""
        super().__init__(f"{self.server_message or name}{where}")


class AuthenticationError(OdooError):
    """The login, password or API key was refused (or the session expired)."""


class AccessError(OdooError):
    """The user may not do this (odoo.exceptions.AccessError)."""


class ValidationError(OdooError):
    """A server-side constraint refused the data."""


class UserError(OdooError):
    """odoo.exceptions.UserError: the server refuses the request as asked."""


class MissingRecord(OdooError):
    """odoo.exceptions.MissingError: the record does not exist (any more)."""


class ServerError(OdooError):
    """Any other server-side failure (ValueError, KeyError, database errors...)."""


class TransportError(SppError):
    """No usable answer came back over HTTP."""

    def __init__(self, message: str, *, url: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts


class ConnectError(TransportError):
    """The server could not be reached: the call was not sent."""


class HTTPStatusError(TransportError):
    """The server (or a proxy in front of it) answered a non-200 HTTP status."""

    def __init__(self, message: str, *, status: int, url: str | None = None, attempts: int = 1):
        super().__init__(message, url=url, attempts=attempts)
        self.status = status


class InvalidResponse(TransportError):
    """The answer was not a JSON-RPC response."""


class OutcomeUnknown(TransportError):
    """The call was sent but no answer came: it may or may not have been committed."""


_BY_NAME: dict[str, type[OdooError]] = {
    "odoo.exceptions.AccessDenied": AuthenticationError,
    "odoo.http.SessionExpiredException": AuthenticationError,
    "odoo.exceptions.AccessError": AccessError,
    "odoo.exceptions.ValidationError": ValidationError,
    "odoo.exceptions.UserError": UserError,
    "odoo.exceptions.RedirectWarning": UserError,
    "odoo.exceptions.MissingError": MissingRecord,
}


def error_from_payload(
    error: dict[str, Any], *, model: str | None = None, method: str | None = None
) -> OdooError:
    """Turn a JSON-RPC ``error`` object into the matching exception (tracebacks dropped)."""
    data = error.get("data") or {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or "Odoo server error")
    arguments = data.get("arguments") if isinstance(data.get("arguments"), list) else None
    cls = _BY_NAME.get(name, ServerError)
    return cls(message, name=name, model=model, method=method, arguments=arguments)
