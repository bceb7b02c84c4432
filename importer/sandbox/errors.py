"""Exceptions that serialise with the same `data.name` a real Odoo 17 server gives.

Odoo names an error by the Python class that raised it (`odoo.exceptions.ValidationError`,
`builtins.ValueError`, ...). The sandbox raises builtins where Odoo does and these
stand-ins where Odoo raises its own classes, so `rpc.error_payload` can name both alike.
"""

from __future__ import annotations


class OdooException(Exception):
    """Base of the stand-ins; `odoo_name` is what goes into the error's data.name."""

    odoo_name = "odoo.exceptions.UserError"


class UserError(OdooException):
    odoo_name = "odoo.exceptions.UserError"


class ValidationError(UserError):
    odoo_name = "odoo.exceptions.ValidationError"


class AccessError(UserError):
    odoo_name = "odoo.exceptions.AccessError"


class MissingError(UserError):
    odoo_name = "odoo.exceptions.MissingError"


class AccessDenied(OdooException):
    odoo_name = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class DatabaseMissing(OdooException):
    """An unknown database name: the real server fails to connect to PostgreSQL."""

    odoo_name = "psycopg2.OperationalError"

    def __init__(self, db: str) -> None:
        super().__init__(
            f'connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "{db}" does not exist\n'
        )


def error_name(exc: BaseException) -> str:
    """The `data.name` Odoo would report for `exc`."""
    if isinstance(exc, OdooException):
        return exc.odoo_name
    cls = type(exc)
    return f"{cls.__module__}.{cls.__name__}"


class IntegrityViolation(ValidationError):
    """A database constraint (NOT NULL, CHECK, FOREIGN KEY) that PostgreSQL enforces.

    Over RPC Odoo turns it into a ValidationError (the message here); inside `load`
    Odoo reports the raw constraint instead, which `load_info` carries.
    """

    def __init__(self, message: str, load_info: dict) -> None:
        super().__init__(message)
        self.load_info = load_info


class SerializationFailure(OdooException):
    """PostgreSQL's SQLSTATE 40001 (psycopg2.errors.SerializationFailure).

    Raised when this transaction updates a row that another transaction,
    committed after this one's snapshot, updated first (REPEATABLE READ, Odoo's
    isolation level).  ``load`` reports it row by row with PostgreSQL's own text,
    which psycopg2 ends with a newline.
    """

    odoo_name = "psycopg2.errors.SerializationFailure"

    def __init__(self) -> None:
        super().__init__("could not serialize access due to concurrent update\n")
