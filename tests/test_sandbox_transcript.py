"""Replay every recorded request of a real OpenSPP 17 server against a fresh sandbox.

The recording (/work/shared/openspp17-transcript.json) is the ground truth: each
sandbox answer must match the recorded one in kind — the same result shape (type;
dict keys; keys of each record in a list) or an error of the same `data.name`.
Ids the real server created are mapped to the ids the sandbox created, learned from
answers as the replay goes ("<password>" becomes the sandbox admin password).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from replay_support import RecordedIds, recorded_exchanges

from importer.sandbox import ADMIN_PASSWORD, SANDBOX_DB, Sandbox

TRANSCRIPT = (Path(__file__).parents[1] / "../shared/openspp17-transcript.json").resolve()
SEEDED_IDS = {1, 2}  # kinds / gender types / Head exist in both with the same ids


class IdMap(RecordedIds):
    """Recorded ids -> sandbox ids, learned from answers in replay order."""

    def learn(self, recorded: Any, actual: Any) -> None:
        if isinstance(recorded, bool) or isinstance(actual, bool):
            return
        if isinstance(recorded, int) and isinstance(actual, int):
            if recorded in SEEDED_IDS and recorded == actual:
                return
            self.pair(recorded, actual)
        elif isinstance(recorded, list) and isinstance(actual, list) and len(recorded) == len(actual):
            for r, a in zip(recorded, actual, strict=True):
                self.learn(r, a)
        elif isinstance(recorded, dict) and isinstance(actual, dict):
            for key in ("id", "reg_ids", "group_membership_ids", "individual_membership_ids"):
                if key in recorded and key in actual:
                    self.learn(recorded[key], actual[key])
            for key in ("individual", "group", "partner_id", "id_type"):
                r, a = recorded.get(key), actual.get(key)
                if isinstance(r, list) and isinstance(a, list) and r and a:
                    self.learn(r[0], a[0])


def _substitute(params: dict, ids: IdMap) -> dict:
    params = json.loads(json.dumps(params))
    args = params.get("args", [])
    if params.get("service") == "object" and params.get("method") == "execute_kw":
        db, uid, secret, model, method, *rest = args
        args = [db, uid, ADMIN_PASSWORD if secret == "<password>" else secret, model, method]
        args += [ids.apply(r) for r in rest]
    else:
        args = [ADMIN_PASSWORD if a == "<password>" else a for a in args]
    params["args"] = args
    return params


def _same_shape(recorded: Any, actual: Any, where: str) -> None:
    assert type(recorded) is type(actual) or (
        isinstance(recorded, int | float) and isinstance(actual, int | float)
    ), f"{where}: recorded {type(recorded).__name__} {recorded!r}, sandbox {type(actual).__name__} {actual!r}"
    if isinstance(recorded, dict):
        assert set(recorded) == set(actual), f"{where}: keys {sorted(recorded)} != {sorted(actual)}"
        for key in recorded:
            if isinstance(recorded[key], dict):
                _same_shape(recorded[key], actual[key], f"{where}.{key}")
    if isinstance(recorded, list) and recorded and all(isinstance(r, dict) for r in recorded):
        assert len(recorded) == len(actual), f"{where}: {len(recorded)} records, sandbox {len(actual)}"
        for n, (r, a) in enumerate(zip(recorded, actual, strict=True)):
            _same_shape(r, a, f"{where}[{n}]")


def test_sandbox_answers_every_recorded_request_like_the_real_server() -> None:
    exchanges = recorded_exchanges(TRANSCRIPT)
    ids = IdMap()
    mismatches: list[str] = []
    with Sandbox(id_types=False) as sb, requests.Session() as http:
        assert sb.db == SANDBOX_DB
        for n, exchange in enumerate(exchanges):
            label = f"#{n} {exchange['label']}"
            request = dict(exchange["request"])
            request["params"] = _substitute(request["params"], ids)
            answer = http.post(f"{sb.url}/jsonrpc", json=request, timeout=10)
            assert answer.status_code == exchange["http_status"], label
            got = answer.json()
            recorded = exchange["response"]
            try:
                assert got["id"] == recorded["id"], f"{label}: id"
                if "error" in recorded:
                    assert "error" in got, f"{label}: expected error, got {got.get('result')!r}"
                    assert got["error"]["data"]["name"] == recorded["error"]["data"]["name"], label
                    assert set(got["error"]["data"]) == set(recorded["error"]["data"]), label
                    assert got["error"]["code"] == 200 and got["error"]["message"] == "Odoo Server Error"
                    continue
                assert "result" in got, f"{label}: unexpected error {got.get('error', {}).get('data')}"
                rec_result, result = recorded["result"], got["result"]
                method = request["params"].get("args", [None] * 5)[4:5]
                if method in (["search"],) and all(r in ids.map for r in rec_result):
                    assert result == [ids.map[r] for r in rec_result], f"{label}: ids in order"
                _same_shape(rec_result, result, label)
                ids.learn(rec_result, result)
            except AssertionError as exc:
                mismatches.append(str(exc))
    assert not mismatches, "\n".join(mismatches)


def test_replay_maps_created_ids_to_the_sandbox_ids() -> None:
    """The mapping itself: a created id maps once, and requests are rewritten with it."""
    ids = IdMap()
    ids.learn(12327, 5)
    assert ids.apply([["partner_id", "=", 12327]]) == [["partner_id", "=", 5]]
    with pytest.raises(AssertionError):
        ids.learn(12327, 6)
