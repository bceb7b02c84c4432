"""The yardstick of benchmark 9: a bare, hand-written ``load`` script, as a team would write one.

``python -m bench.bare_script URL DB LOGIN PASSWORD ROSTER.csv NAMESPACE``

It logs in, reads the roster with pandas and sends households, then people,
then memberships (parents by external id) with ``load`` in batches of 500 on
2 threads, with the import context.  It checks nothing, resolves no value
beyond the two kind lists, and writes no report: whatever spp-import does on
top of this is what benchmark 9 prices.  It stops at the first refused batch,
so a figure from it always means every record was written.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import requests

BATCH, THREADS = 500, 2
CONTEXT = {"tracking_disable": True, "mail_create_nolog": True, "tz": "UTC"}
SEXES = {"M": "Male", "F": "Female", "male": "Male", "female": "Female"}


class Rpc:
    """JSON-RPC with one HTTP session per thread (as a hand-written script would)."""

    def __init__(self, url: str, db: str, login: str, password: str) -> None:
        self.url, self.db, self.password = url.rstrip("/") + "/jsonrpc", db, password
        self.local = threading.local()
        self.uid = self.call("common", "login", db, login, password)

    def call(self, service: str, method: str, *args: Any) -> Any:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": list(args)},
        }
        answer = session.post(self.url, json=body, timeout=600).json()
        if "error" in answer:
            raise RuntimeError(json.dumps(answer["error"])[:500])
        return answer["result"]

    def kw(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        return self.call(
            "object", "execute_kw", self.db, self.uid, self.password, model, method, args, kwargs or {}
        )

    def wave(self, model: str, fields: list[str], rows: list[list[str]]) -> int:
        """``load`` the rows in batches on the threads; the number of records written."""

        def one(batch: list[list[str]]) -> int:
            result = self.kw(model, "load", [fields, batch], {"context": CONTEXT})
            errors = [m for m in result.get("messages", []) if m.get("type") == "error"]
            if errors or not result.get("ids"):
                raise RuntimeError(f"{model}: {errors[:3]}")
            return len(result["ids"])

        batches = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]
        with ThreadPoolExecutor(THREADS) as pool:
            return sum(pool.map(one, batches))


def main(argv: list[str]) -> int:
    url, db, login, password, csv, ns = argv
    start = time.perf_counter()
    rpc = Rpc(url, db, login, password)
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    group_kinds = {
        r["name"]: r["id"] for r in rpc.kw("g2p.group.kind", "search_read", [[]], {"fields": ["name"]})
    }
    head = next(
        r["id"]
        for r in rpc.kw("g2p.group.membership.kind", "search_read", [[]], {"fields": ["name"]})
        if r["name"] == "Head"
    )

    households = df.drop_duplicates("household_id")
    groups = [
        [f"{ns}.grp_{r.household_id}", r.household_name, "1", "1", str(group_kinds.get(r.household_kind, ""))]
        for r in households.itertuples()
    ]
    born = pd.to_datetime(df["date_of_birth"], format="%d/%m/%Y").dt.strftime("%Y-%m-%d")
    people = [
        [
            f"{ns}.ind_{r.person_id}",
            r.given_name,
            r.family_name,
            f"{r.family_name.upper()}, {r.given_name.upper()}",
            SEXES.get(r.sex, r.sex),
            d,
            r.phone,
            "1",
            "0",
        ]
        for r, d in zip(df.itertuples(), born, strict=True)
    ]
    members = [
        [
            f"{ns}.mem_{r.household_id}_{r.person_id}",
            f"{ns}.grp_{r.household_id}",
            f"{ns}.ind_{r.person_id}",
            str(head) if r.relationship == "head" else "",
        ]
        for r in df.itertuples()
    ]

    written = rpc.wave("res.partner", ["id", "name", "is_registrant", "is_group", "kind/.id"], groups)
    written += rpc.wave(
        "res.partner",
        [
            "id",
            "given_name",
            "family_name",
            "name",
            "gender",
            "birthdate",
            "phone",
            "is_registrant",
            "is_group",
        ],
        people,
    )
    written += rpc.wave("g2p.group.membership", ["id", "group/id", "individual/id", "kind/.id"], members)
    print(json.dumps({"records": written, "seconds": round(time.perf_counter() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
