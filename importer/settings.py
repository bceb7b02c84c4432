"""Connection settings: where the registry is and who we are, with the secret kept out of sight.

Settings come from three places, later ones winning: a config file
(``spp-import.toml`` or ``--config``), environment variables (``SPP_URL``,
``SPP_DB``, ``SPP_LOGIN``, ``SPP_API_KEY`` or ``SPP_PASSWORD``) and
command-line flags.  With nothing configured the importer talks to the
local sandbox registry, so a clerk can rehearse without a server.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_CONFIG_FILE = "spp-import.toml"


class Secret:
    """A password or API key that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The actual secret; call only where it goes on the wire."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds to wait to connect and to read an answer (a big ``load`` can take a while)."""

    connect: float = 10.0
    read: float = 300.0

    def as_requests(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True, slots=True)
class Retry:
    """How transport failures are retried: exponential backoff with jitter (at least half of each step).

    Only failures where a retry is safe or made safe are retried: refused or
    reset connections, timeouts and HTTP 502/503/504 — never an Odoo
    application error, which would fail the same way again.
    """

    attempts: int = 5
    backoff: float = 0.5  # first delay, seconds
    max_backoff: float = 20.0
    statuses: frozenset[int] = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Everything needed to reach one OpenSPP database."""

    url: str
    db: str
    login: str
    secret: Secret = field(default_factory=lambda: Secret(""), repr=True)
    verify_tls: bool = True
    timeout: Timeout = field(default_factory=Timeout)
    retry: Retry = field(default_factory=Retry)

    def __post_init__(self) -> None:
        if isinstance(self.secret, str):  # be forgiving to callers; still never shown
            object.__setattr__(self, "secret", Secret(self.secret))
        object.__setattr__(self, "url", self.url.rstrip("/"))

    @property
    def endpoint(self) -> str:
        return f"{self.url}/jsonrpc"

    @property
    def safe_url(self) -> str:
        """The address without any ``user:password@`` a user may have put in it: the one to print."""
        parts = urlsplit(self.url)
        if "@" not in parts.netloc:
            return self.url
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))

    def describe(self) -> str:
        """``admin@openspp on http://host:8069`` — safe to print."""
        return f"{self.login}@{self.db} on {self.safe_url}"

    def with_overrides(self, **changes: Any) -> ConnectionSettings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _from_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pick known keys out of a config-file table or environment."""
    out: dict[str, Any] = {}
    for key in ("url", "db", "login"):
        if values.get(key):
            out[key] = str(values[key])
    secret = values.get("api_key") or values.get("password")
    if secret:
        out["secret"] = str(secret)
    if "verify_tls" in values:
        out["verify_tls"] = bool(values["verify_tls"])
    return out


def load_settings(
    *,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    db: str | None = None,
    login: str | None = None,
    secret: str | None = None,
    insecure: bool = False,
    timeout: Timeout | None = None,
    default: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """Merge config file < environment < flags, falling back to ``default`` (the sandbox).

    ``default`` supplies what nothing else gave; a server that is configured
    but lacks a login or secret is an error the caller reports, not a silent
    fall-back to the sandbox's credentials.
    """
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    path = Path(config_file) if config_file else Path(DEFAULT_CONFIG_FILE)
    if path.is_file():
        with path.open("rb") as fh:
            table = tomllib.load(fh)
        merged.update(_from_mapping(table.get("server", table)))
    elif config_file:
        raise FileNotFoundError(f"config file not found: {path}")
    merged.update(
        _from_mapping(
            {
                "url": env.get("SPP_URL"),
                "db": env.get("SPP_DB"),
                "login": env.get("SPP_LOGIN"),
                "api_key": env.get("SPP_API_KEY"),
                "password": env.get("SPP_PASSWORD"),
            }
        )
    )
    merged.update(_from_mapping({"url": url, "db": db, "login": login, "password": secret}))
    if "url" not in merged and default:
        # Only an unconfigured run borrows the default's credentials.
        for key, value in _from_mapping(default).items():
            merged.setdefault(key, value)
    missing = [k for k in ("url", "db", "login") if not merged.get(k)]
    if missing:
        raise ValueError("missing connection setting(s): " + ", ".join(missing))
    return ConnectionSettings(
        url=merged["url"],
        db=merged["db"],
        login=merged["login"],
        secret=Secret(merged.get("secret", "")),
        verify_tls=merged.get("verify_tls", True) and not insecure,
        timeout=timeout or Timeout(),
    )
