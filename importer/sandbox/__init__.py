"""The embedded sandbox registry: a local server speaking OpenSPP 17's JSON-RPC.

It is the registry's slice of an Odoo 17 + OpenG2P server (partners, groups,
memberships, IDs, lookups, external ids), with the same field types, constraints
and error payloads, stored in SQLite. The demo, the tests, the benchmarks and the
fault tests run the real client against it over real HTTP.
"""

from .auth import (
    ADMIN_API_KEY,
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    ADMIN_UID,
    READONLY_LOGIN,
    READONLY_PASSWORD,
    READONLY_UID,
    REGISTRAR_LOGIN,
    REGISTRAR_PASSWORD,
    SANDBOX_DB,
)
from .faults import KINDS as FAULT_KINDS
from .faults import FaultPlan, FaultRule
from .seed import NATIONAL_ID_REGEX, PASSPORT_REGEX
from .server import Sandbox, add_arguments, run_from_args

__all__ = [
    "ADMIN_API_KEY",
    "ADMIN_LOGIN",
    "ADMIN_PASSWORD",
    "ADMIN_UID",
    "FAULT_KINDS",
    "NATIONAL_ID_REGEX",
    "PASSPORT_REGEX",
    "READONLY_LOGIN",
    "READONLY_PASSWORD",
    "READONLY_UID",
    "REGISTRAR_LOGIN",
    "REGISTRAR_PASSWORD",
    "SANDBOX_DB",
    "FaultPlan",
    "FaultRule",
    "Sandbox",
    "add_arguments",
    "run_from_args",
]
