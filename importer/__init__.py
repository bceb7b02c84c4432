"""spp-import: enrollment spreadsheets into OpenSPP, safely and fast.

The public API for notebooks and scripts; the CLI calls exactly these.
"""

__version__ = "0.1.0"

from importer.client import OdooClient
from importer.errors import (
    AccessError,
    AuthenticationError,
    ConnectError,
    OdooError,
    OutcomeUnknown,
    SppError,
    TransportError,
    ValidationError,
)
from importer.outcome import ImportFailure, Problem, Status
from importer.settings import ConnectionSettings, Secret

__all__ = [
    "AccessError",
    "AuthenticationError",
    "ConnectError",
    "ConnectionSettings",
    "ImportFailure",
    "OdooClient",
    "OdooError",
    "OutcomeUnknown",
    "Problem",
    "Secret",
    "SppError",
    "Status",
    "TransportError",
    "ValidationError",
    "__version__",
]
