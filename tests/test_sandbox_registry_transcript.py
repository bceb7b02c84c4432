"""Replay the recorded session of the wider registry against a sandbox set up like that server.

The recording (../shared/openspp17-registry-transcript.json, beside the repository) comes
from OpenSPP 17 with OpenG2P's registry, additional-info and bank modules and OpenSPP's
area and custom-field modules: `fields_get` of each model, custom fields created as the
custom-fields screen creates them, `load` of each model, and each refusal.

Stricter than the first replay (tests/test_sandbox_transcript.py), which compares shapes:
here every answer must be *equal* to the recorded one — values, ids, error names and
messages, `load` messages — because the sandbox is started like the recorded server (a
fresh install: no gender or ID types; six partners and one bank already there) and uses
ids up as PostgreSQL does (a rolled-back insert keeps its id used). Only the ids of
technical records (`ir.model`, `ir.model.fields`, `ir.model.data`), which depend on every
module installed, are learned from the answers and mapped. `fields_get` is compared field
by field: each field the sandbox has must be described exactly as recorded, and a recorded
field the sandbox lacks must be one it leaves out on purpose (`_left_out`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from replay_support import RecordedIds, recorded_exchanges

from importer.sandbox import ADMIN_PASSWORD, SANDBOX_DB, Sandbox
from importer.sandbox.models import BASE_MODELS

TRANSCRIPT = (Path(__file__).parents[1] / "../shared/openspp17-registry-transcript.json").resolve()
# Like the recorded server: a fresh install (no gender types, no ID types) whose res.partner
# ids 1-6 are taken by Odoo's own partners, where one bank had been made before, and with
# OpenSPP's spp_import_match installed.
LIKE_RECORDED_SERVER: dict[str, Any] = {
    "bare": True,
    "used_ids": {"res.partner": 6, "res.bank": 1},
    "import_match": True,
}
TECHNICAL_MODELS = {"ir.model", "ir.model.fields", "ir.model.data"}
# Writable stored fields of the recorded server the sandbox does not model: pictures,
# company hierarchy, time zones (a 600-entry selection), sign-up and mail machinery.
NOT_MODELLED = {
    "res.partner": {
        "message_bounce",
        "image_1920",
        "parent_id",
        "child_ids",
        "tz",
        "comment",
        "signup_type",
        "signup_expiration",
        "partner_gid",
        "company_name",
    },
}


class TechnicalIds(RecordedIds):
    """Recorded -> sandbox ids of technical records, learned from answers in replay order."""

    def learn(self, recorded: Any, actual: Any) -> None:
        if isinstance(recorded, bool) or isinstance(actual, bool):
            return
        if isinstance(recorded, int) and isinstance(actual, int):
            self.pair(recorded, actual)
        elif isinstance(recorded, list) and isinstance(actual, list) and len(recorded) == len(actual):
            for r, a in zip(recorded, actual, strict=True):
                self.learn(
                    r.get("id") if isinstance(r, dict) else r, a.get("id") if isinstance(a, dict) else a
                )


def _left_out(model: str, name: str, desc: dict) -> bool:
    """Whether the sandbox may lack a recorded field: computed, read-only, pointing at a
    model outside the sandbox (mail, companies, currencies, states), or listed above."""
    relation = desc.get("relation")
    return (
        not desc["store"]
        or desc["readonly"]
        or (relation is not None and relation not in BASE_MODELS)
        or name in NOT_MODELLED.get(model, set())
    )


def _fields_get_mismatches(model: str, recorded: dict, actual: dict, label: str) -> list[str]:
    problems = [f"{label}: sandbox field {n!r} is not on the server" for n in actual if n not in recorded]
    for name, desc in recorded.items():
        if name not in actual:
            if not _left_out(model, name, desc):
                problems.append(f"{label}: server field {name!r} missing from the sandbox")
        elif actual[name] != desc:
            problems.append(f"{label}: {name}: recorded {desc}, sandbox {actual[name]}")
    return problems


def _mismatches(exchange: dict, request: dict, got: dict, ids: TechnicalIds) -> list[str]:
    label = f"#{exchange['id_in_replay']} {exchange['label']}"
    recorded = exchange["response"]
    if got.get("id") != recorded["id"]:
        return [f"{label}: answer id {got.get('id')} != {recorded['id']}"]
    if "error" in recorded:
        if "error" not in got:
            return [f"{label}: expected an error, got {got.get('result')!r}"]
        want, have = recorded["error"]["data"], got["error"]["data"]
        keys = ("name", "message", "arguments")
        if [want[k] for k in keys] != [have[k] for k in keys] or set(want) != set(have):
            return [f"{label}: error {[want[k] for k in keys]} != {[have[k] for k in keys]}"]
        return []
    if "result" not in got:
        return [f"{label}: unexpected error {got['error']['data']['message']!r}"]
    args = request["params"].get("args", [])
    model, method = (args[3], args[4]) if len(args) > 4 else (None, None)
    if model in TECHNICAL_MODELS:
        ids.learn(recorded["result"], got["result"])
    if method == "fields_get":
        return _fields_get_mismatches(model, recorded["result"], got["result"], label)
    want = ids.apply(recorded["result"])
    if want != got["result"]:
        return [f"{label}:\n  recorded {json.dumps(want)}\n  sandbox  {json.dumps(got['result'])}"]
    return []


def test_sandbox_answers_the_wider_registry_exactly_like_the_recorded_server() -> None:
    ids = TechnicalIds()
    problems: list[str] = []
    with Sandbox(**LIKE_RECORDED_SERVER) as sb, requests.Session() as http:
        assert sb.db == SANDBOX_DB
        for n, exchange in enumerate(recorded_exchanges(TRANSCRIPT)):
            request = json.loads(json.dumps(exchange["request"]))
            request["params"]["args"] = ids.apply(request["params"]["args"])
            answer = http.post(f"{sb.url}/jsonrpc", json=request, timeout=10)
            assert answer.status_code == exchange["http_status"], exchange["label"]
            problems += _mismatches({**exchange, "id_in_replay": n}, request, answer.json(), ids)
    assert not problems, "\n".join(problems)


def test_the_replay_covers_every_kind_of_exchange_the_issue_names() -> None:
    """Guard against a thinner recording: the replay is the proof only if these are in it."""
    labels = " | ".join(e["label"] for e in recorded_exchanges(TRANSCRIPT))
    for needle in (
        "ir.model.fields.create",
        "g2p.registrant.tags.create with a list",
        "duplicate name",
        "g2p.reg.rel.load source = destination",
        "overlapping",
        "individual relation to a group",
        "res.partner.bank.load duplicate",
        "spp.area.load duplicate code",
        "bad JSON",
        "empty cell",
    ):
        assert needle in labels, needle


def test_technical_ids_map_once_and_rewrite_requests() -> None:
    ids = TechnicalIds()
    ids.learn([{"id": 12405, "name": "ind_1"}], [{"id": 3, "name": "ind_1"}])
    ids.learn(85, 12)
    assert ids.apply(["openspp", 2, "<password>", "ir.model.fields", "create", [{"model_id": 85}]]) == [
        "openspp",
        2,
        ADMIN_PASSWORD,
        "ir.model.fields",
        "create",
        [{"model_id": 12}],
    ]
    with pytest.raises(AssertionError):
        ids.learn(12405, 4)
