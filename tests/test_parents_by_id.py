"""The second wave names its registrants by database id when the loader knows them, by external id otherwise.

Judged on the sandbox's state: every membership, ID and relationship must link
the very records the file's external ids name, whichever way it was sent.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.client import OdooClient
from importer.load import Loader, LoadOptions
from importer.outcome import Entity, Status
from importer.pipeline import ImportOptions, run_import
from importer.plan import MEMBERSHIP, StagePlan
from importer.sandbox import Sandbox


class LoadFields:
    """Records the field list of every ``load`` call that reaches the in-process sandbox, by model."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self._original = sandbox.dispatcher.handle
        sandbox.dispatcher.handle = self._handle  # type: ignore[method-assign]

    def _handle(self, payload: Any) -> dict:
        args = payload.get("params", {}).get("args") or []
        if len(args) >= 6 and args[4] == "load":
            with self._lock:
                self.calls.append((args[3], list(args[5][0])))
        return self._original(payload)

    def fields(self, model: str) -> list[list[str]]:
        return [f for m, f in self.calls if m == model]


def _xids_of(client: OdooClient, module: str) -> dict[tuple[str, int], str]:
    """(model, database id) -> the external id of ``module`` that names it, for every such record."""
    rows = client.search_read("ir.model.data", [["module", "=", module]], ["name", "model", "res_id"])
    return {(r["model"], r["res_id"]): f"{module}.{r['name']}" for r in rows}


def _m2o(value: Any) -> int:
    return value[0] if isinstance(value, list) else int(value)


def test_memberships_and_ids_go_by_database_id_and_link_the_records_the_file_names(tmp_path) -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        seen = LoadFields(sb)
        options = ImportOptions(mapping=MAPPINGS / "roster.yaml", out_dir=tmp_path, write_files=False)
        result = run_import([SAMPLES / "roster.csv"], options, settings_for(sb))
        assert result.exit_code in (0, 1)
        member_calls = seen.fields(MEMBERSHIP)
        id_calls = seen.fields("g2p.reg.id")
        assert member_calls and id_calls
        assert all("group/.id" in f and "individual/.id" in f for f in member_calls)
        assert all("group/id" not in f and "individual/id" not in f for f in member_calls)
        assert all("partner_id/.id" in f for f in id_calls)

        namespace = result.report.meta["namespace"]
        xid = _xids_of(client, namespace)
        partner = "res.partner"
        members = client.search_read(MEMBERSHIP, [], ["group", "individual"])
        written = [r for r in result.report.records.itertuples() if r.entity == "membership"]
        assert len(members) == sum(r.status in ("created", "updated") for r in written) > 0
        for member in members:  # <ns>.mem_<group>__<person> links <ns>.grp_<group> and <ns>.ind_<person>
            key = xid[MEMBERSHIP, member["id"]].split(".mem_", 1)[1]
            group, person = xid[partner, _m2o(member["group"])], xid[partner, _m2o(member["individual"])]
            assert (group.split(".grp_", 1)[1], person.split(".ind_", 1)[1]) == tuple(key.split("__", 1))
        for reg in client.search_read("g2p.reg.id", [], ["partner_id"]):
            person = xid["g2p.reg.id", reg["id"]].split(".rid_", 1)[1].split("__", 1)[0]
            assert xid[partner, _m2o(reg["partner_id"])] == f"{namespace}.ind_{person}"


def _members(rows: list[tuple[str, str]]) -> StagePlan:
    frame = pd.DataFrame(
        {
            "id": [f"t.mem_{g}__{i}" for g, i in rows],
            "group/id": [f"t.grp_{g}" for g, _i in rows],
            "individual/id": [f"t.ind_{i}" for _g, i in rows],
        },
        index=pd.RangeIndex(2, len(rows) + 2),
    )
    frame["key"] = [f"{g}__{i}" for g, i in rows]
    frame["xid"] = frame["id"]
    frame["group_key"] = [g for g, _i in rows]
    frame["individual_key"] = [i for _g, i in rows]
    frame["action"] = "create"
    frame["_file"], frame["_sheet"], frame["_row"] = "m.csv", "", frame.index
    return StagePlan(
        Entity.MEMBERSHIP,
        MEMBERSHIP,
        ["id", "group/id", "individual/id"],
        frame,
        depends={Entity.GROUP: "group_key", Entity.INDIVIDUAL: "individual_key"},
        registrant_refs=("group/id", "individual/id"),
    )


def _registrant(client: OdooClient, name: str, is_group: bool) -> int:
    rid = client.create("res.partner", {"name": name, "is_registrant": True, "is_group": is_group})
    client.create("ir.model.data", {"module": "t", "name": name, "model": "res.partner", "res_id": rid})
    return rid


def test_a_batch_naming_a_registrant_the_loader_does_not_know_goes_by_external_id() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        seen = LoadFields(sb)
        group = _registrant(client, "grp_g", True)
        known, unknown = _registrant(client, "ind_a", False), _registrant(client, "ind_b", False)
        loader = Loader(
            client, LoadOptions(batch_size=1, workers=1), registrant_ids={"t.grp_g": group, "t.ind_a": known}
        )
        result = loader.run_stage(_members([("g", "a"), ("g", "b")]), {}, {})
        assert list(result.status) == [Status.CREATED, Status.CREATED]
        assert seen.fields(MEMBERSHIP) == [
            ["id", "group/.id", "individual/.id"],  # both known
            ["id", "group/.id", "individual/id"],  # the person is not: the server resolves them
        ]
        links = {(_m2o(m["group"]), _m2o(m["individual"])) for m in client.search_read(MEMBERSHIP, [], [])}
        assert links == {(group, known), (group, unknown)}


def test_a_stale_database_id_is_refused_as_a_missing_external_id_would_be() -> None:
    """A registrant deleted after the plan read it: the row fails with the server's reason, nothing else."""
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        group = _registrant(client, "grp_g", True)
        person = _registrant(client, "ind_a", False)
        gone = client.create("res.partner", {"name": "gone", "is_registrant": True, "is_group": False})
        client.unlink("res.partner", [gone])
        loader = Loader(
            client,
            LoadOptions(batch_size=10, workers=1),
            registrant_ids={"t.grp_g": group, "t.ind_a": person, "t.ind_z": gone},
        )
        result = loader.run_stage(_members([("g", "a"), ("g", "z")]), {}, {})
        assert result.status[2] == Status.CREATED
        assert result.status[3] == Status.FAILED and "individual" in result.reason[3].casefold()
        assert [_m2o(m["individual"]) for m in client.search_read(MEMBERSHIP, [], ["individual"])] == [person]


def test_registrants_written_by_the_first_wave_are_named_by_id_in_the_second() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        seen = LoadFields(sb)
        people = pd.DataFrame(
            {"id": ["t.grp_g", "t.ind_a"], "name": ["G", "A"], "is_registrant": "1", "is_group": ["1", "0"]},
            index=pd.RangeIndex(2, 4),
        )
        people["key"], people["xid"], people["action"] = ["g", "a"], people["id"], "create"
        people["_file"], people["_sheet"], people["_row"] = "p.csv", "", people.index
        stage = StagePlan(
            Entity.INDIVIDUAL, "res.partner", ["id", "name", "is_registrant", "is_group"], people
        )
        loader = Loader(client, LoadOptions(batch_size=10, workers=1))
        first = loader.run_stage(stage, {}, {})
        result = loader.run_stage(_members([("g", "a")]), {}, {})
        assert result.status[2] == Status.CREATED
        assert seen.fields(MEMBERSHIP) == [["id", "group/.id", "individual/.id"]]
        (member,) = client.search_read(MEMBERSHIP, [], ["group", "individual"])
        assert (_m2o(member["group"]), _m2o(member["individual"])) == (
            int(first.server_id[2]),
            int(first.server_id[3]),
        )
