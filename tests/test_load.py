"""The load stage against the sandbox: a bad row costs one row; dependants skipped; error cap handled."""

from __future__ import annotations

import pandas as pd
from conftest import settings_for
from reliability_support import CallHook

from importer.client import OdooClient
from importer.load import Loader, LoadOptions
from importer.outcome import STOPPED_ON_REQUEST, Entity, Status
from importer.plan import MEMBERSHIP, PARTNER, StagePlan
from importer.sandbox import Sandbox


def _people(n: int, bad: set[int]) -> StagePlan:
    """n individuals; rows in ``bad`` carry a gender the server refuses (validation bypassed on purpose)."""
    rows = pd.DataFrame(
        {
            "id": [f"t.ind_{i}" for i in range(n)],
            "name": [f"PERSON, {i}" for i in range(n)],
            "gender": ["Unknown" if i in bad else "Female" for i in range(n)],
            "is_registrant": "1",
            "is_group": "0",
        },
        index=pd.RangeIndex(2, n + 2),
    )
    rows["key"] = [str(i) for i in range(n)]
    rows["xid"] = rows["id"]
    rows["action"] = "create"
    rows["_file"], rows["_sheet"], rows["_row"] = "people.csv", "", rows.index
    return StagePlan(Entity.INDIVIDUAL, PARTNER, ["id", "name", "gender", "is_registrant", "is_group"], rows)


def _count(sb: Sandbox) -> int:
    with OdooClient(settings_for(sb)) as c:
        return c.search_count("res.partner", [["is_registrant", "=", True]])


def test_refused_rows_cost_only_themselves_even_past_loads_error_cap() -> None:
    bad = set(range(0, 60, 2))  # 30 of 60: far past Odoo's 10-error cap for one load call
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        result = Loader(client, LoadOptions(batch_size=60, workers=1)).run_stage(_people(60, bad), {}, {})
        statuses = pd.Series(result.status)
        assert (statuses == Status.FAILED).sum() == 30
        assert (statuses == Status.CREATED).sum() == 30
        assert _count(sb) == 30
        failed_rows = {idx - 2 for idx, s in result.status.items() if s == Status.FAILED}
        assert failed_rows == bad
        assert all(
            "gender" in result.reason[idx].casefold()
            for idx, s in result.status.items()
            if s == Status.FAILED
        )


def test_dependants_of_a_failed_record_are_skipped_with_its_reason() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        loader = Loader(client, LoadOptions(batch_size=10, workers=2))
        people = _people(3, bad={1})
        people_result = loader.run_stage(people, {}, {})
        failed = people_result.failed_keys(people.rows)
        assert set(failed) == {"1"}
        group = client.create("res.partner", {"name": "G", "is_registrant": True, "is_group": True})
        client.create(
            "ir.model.data", {"module": "t", "name": "grp_g", "model": "res.partner", "res_id": group}
        )
        members = pd.DataFrame(
            {
                "id": [f"t.mem_{i}" for i in range(3)],
                "group/id": "t.grp_g",
                "individual/id": [f"t.ind_{i}" for i in range(3)],
            },
            index=pd.RangeIndex(2, 5),
        )
        members["key"] = [f"g__{i}" for i in range(3)]
        members["xid"] = members["id"]
        members["group_key"] = "g"
        members["individual_key"] = [str(i) for i in range(3)]
        members["action"] = "create"
        members["_file"], members["_sheet"], members["_row"] = "m.csv", "", members.index
        stage = StagePlan(
            Entity.MEMBERSHIP,
            MEMBERSHIP,
            ["id", "group/id", "individual/id"],
            members,
            depends={Entity.INDIVIDUAL: "individual_key"},
        )
        result = loader.run_stage(stage, {}, {Entity.INDIVIDUAL: failed})
        assert result.status[3] == Status.SKIPPED
        assert "person '1' was not written" in result.reason[3]
        assert result.status[2] == result.status[4] == Status.CREATED
        assert client.search_count("g2p.group.membership", []) == 2


def test_unchanged_rows_are_not_sent() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        stage = _people(4, bad=set())
        stage.rows["action"] = ["unchanged", "create", "unchanged", "create"]
        result = Loader(client, LoadOptions(batch_size=10, workers=1)).run_stage(stage, {"0": 7, "2": 9}, {})
        assert result.status[2] == Status.UNCHANGED and result.server_id[2] == 7
        assert result.calls == 1
        assert _count(sb) == 2


def test_a_stop_request_lets_sent_batches_finish_and_sends_nothing_more() -> None:
    """Ctrl-C or the Stop button: the batches already sent are written and reported, the rest not sent."""
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        options = LoadOptions(batch_size=10, workers=1)
        CallHook(sb, "load:individual", nth=2, action=options.stop.set)  # asked while batch 2 is in flight
        loader = Loader(client, options)
        result = loader.run_stage(_people(50, bad=set()), {}, {})
        statuses = result.status
        assert list(statuses.index[statuses == Status.CREATED]) == list(range(2, 22))  # batches 1 and 2
        assert (statuses == Status.SKIPPED).sum() == 30
        assert statuses.notna().all()
        assert _count(sb) == 20  # what the report says was written is what the server holds
        assert set(result.reason[statuses == Status.SKIPPED]) == {f"not sent: {STOPPED_ON_REQUEST}"}
        assert loader.stopped is not None and str(loader.stopped) == STOPPED_ON_REQUEST


def test_a_stop_requested_before_writing_sends_nothing() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        options = LoadOptions(batch_size=10, workers=2)
        options.stop.set()
        result = Loader(client, options).run_stage(_people(25, bad=set()), {}, {})
        assert (result.status == Status.SKIPPED).all()
        assert _count(sb) == 0
