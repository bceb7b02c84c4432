"""Users of the sandbox: password and API-key login, a read-only user, credential checks.

Three kinds of user, as ``res_users.readonly`` says (a number, kept in the
column older sandbox files already have): 0 an administrator; 1 read-only;
2 a Registrar, who writes the registry but, like every Odoo 17 internal user
without "Administration / Access Rights", may not touch ``ir.model.data``
(``load`` still resolves external ids for them, as Odoo's does).

Secrets are stored as salted PBKDF2 hashes. Checking a hash on every call would make
each RPC slow (the benchmarks measure per-call cost), so a successful check is
remembered by the SHA-256 of (uid, secret) until that user's credentials change.
Nothing here logs or returns a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

from .store import Store

SANDBOX_DB = "openspp"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
ADMIN_API_KEY = "spp-sandbox-admin-key"
READONLY_LOGIN = "viewer"
READONLY_PASSWORD = "viewer"
ADMIN_UID = 2
READONLY_UID = 6
REGISTRAR_LOGIN = "registrar"
REGISTRAR_PASSWORD = "registrar"
REGISTRAR_UID = 7
SYSTEM_UID = 1

FULL, READ_ONLY, REGISTRAR = 0, 1, 2  # res_users.readonly

_ITERATIONS = 20_000


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str | None) -> bool:
    if not stored:
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), _ITERATIONS)
    return hmac.compare_digest(candidate.hex(), digest)


def _hashed(secret: str) -> str:
    return secret if secret == "!" else hash_secret(secret)  # "!": no login possible (OdooBot)


class Users:
    """Credential checks over the `res_users` table, with a cache of verified secrets."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._verified: dict[str, tuple[int, int]] = {}  # sha256(uid, secret) -> (uid, access level)
        self._lock = threading.Lock()

    def seed(self) -> None:
        """Create the default users that the database does not have yet (older files: the Registrar)."""
        users = [
            (SYSTEM_UID, "__system__", "OdooBot", "!", None, FULL),
            (ADMIN_UID, ADMIN_LOGIN, "Administrator", ADMIN_PASSWORD, ADMIN_API_KEY, FULL),
            (READONLY_UID, READONLY_LOGIN, "Viewer (read-only)", READONLY_PASSWORD, None, READ_ONLY),
            (REGISTRAR_UID, REGISTRAR_LOGIN, "Registrar", REGISTRAR_PASSWORD, None, REGISTRAR),
        ]
        with self.store.transaction() as cr:
            known = {row[0] for row in cr.execute("SELECT login FROM res_users")}
            cr.executemany(
                "INSERT INTO res_users (id, login, name, password_hash, api_key_hash, readonly) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (uid, login, name, _hashed(password), _hashed(key) if key else None, level)
                    for uid, login, name, password, key, level in users
                    if login not in known
                ],
            )

    @staticmethod
    def _key(uid: int, secret: str) -> str:
        return hashlib.sha256(f"{uid}\0{secret}".encode()).hexdigest()

    def _row(self, where: str, value: object) -> tuple | None:
        with self.store.lock:
            return self.store.conn.execute(
                f"SELECT id, password_hash, api_key_hash, readonly FROM res_users WHERE {where} = ?",
                (value,),
            ).fetchone()

    def _check(self, row: tuple | None, secret: str) -> tuple[int, int] | None:
        if row is None or not isinstance(secret, str) or row[0] == SYSTEM_UID:
            return None
        uid, pw_hash, key_hash, readonly = row
        key = self._key(uid, secret)
        with self._lock:
            hit = self._verified.get(key)
        if hit is not None:
            return hit
        if verify_secret(secret, pw_hash) or verify_secret(secret, key_hash):
            result = (uid, int(readonly))
            with self._lock:
                self._verified[key] = result
            return result
        return None

    def authenticate(self, login: str, secret: str) -> int | None:
        """uid for a login with its password or API key, else None."""
        if not isinstance(login, str):
            return None
        found = self._check(self._row("login", login), secret)
        return found[0] if found else None

    def check(self, uid: object, secret: str) -> tuple[int, int] | None:
        """(uid, access level: FULL, READ_ONLY or REGISTRAR) when `secret` is uid's password or API key."""
        try:
            uid = int(uid)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return self._check(self._row("id", uid), secret)

    def _forget(self) -> None:
        with self._lock:
            self._verified.clear()

    def set_password(self, login: str, new_password: str) -> None:
        """Change a password; the old password and any API key stop working."""
        with self.store.transaction() as cr:
            cur = cr.execute(
                "UPDATE res_users SET password_hash = ?, api_key_hash = NULL WHERE login = ?",
                (hash_secret(new_password), login),
            )
            if cur.rowcount != 1:
                raise KeyError(f"no sandbox user {login!r}")
        self._forget()

    def set_api_key(self, login: str, api_key: str | None) -> None:
        """Replace (or with None revoke) a user's API key."""
        with self.store.transaction() as cr:
            cur = cr.execute(
                "UPDATE res_users SET api_key_hash = ? WHERE login = ?",
                (hash_secret(api_key) if api_key else None, login),
            )
            if cur.rowcount != 1:
                raise KeyError(f"no sandbox user {login!r}")
        self._forget()

    def set_readonly(self, login: str, readonly: bool = True) -> None:
        """Give or take away a user's write rights (takes effect on the next call)."""
        with self.store.transaction() as cr:
            cur = cr.execute(
                "UPDATE res_users SET readonly = ? WHERE login = ?", (1 if readonly else 0, login)
            )
            if cur.rowcount != 1:
                raise KeyError(f"no sandbox user {login!r}")
        self._forget()

    def name(self, uid: int) -> str | None:
        row = self._row("id", uid)
        return None if row is None else str(uid)
