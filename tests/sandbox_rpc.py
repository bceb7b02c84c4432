"""A bare JSON-RPC caller for the sandbox's own tests: raw HTTP, no importer client in between.

The sandbox is tested on the wire, the way a real Odoo client would talk
to it; the client's contract suite (tests/test_contract_*.py) is separate.
"""

from __future__ import annotations

from typing import Any

import requests

from importer.sandbox import ADMIN_PASSWORD, ADMIN_UID, SANDBOX_DB


class Refused(Exception):
    """The sandbox answered with an Odoo error: ``name`` is data.name, ``message`` data.message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)
        self.name, self.message = name, message


class Rpc:
    """``rpc(model, method, *args, **kwargs)`` as the admin user, over one keep-alive session."""

    def __init__(
        self, url: str, timeout: float = 30, uid: int = ADMIN_UID, secret: str = ADMIN_PASSWORD
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.uid, self.secret = uid, secret
        self.http = requests.Session()

    def __call__(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        params = {
            "service": "object",
            "method": "execute_kw",
            "args": [SANDBOX_DB, self.uid, self.secret, model, method, list(args), kwargs],
        }
        got = self.http.post(
            f"{self.url}/jsonrpc",
            json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1},
            timeout=self.timeout,
        ).json()
        if "error" in got:
            raise Refused(got["error"]["data"]["name"], got["error"]["data"]["message"])
        return got["result"]
