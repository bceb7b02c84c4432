"""Two ``load`` calls writing one household at once: the later gets PostgreSQL's message, row by row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_rpc import Rpc

from importer.sandbox import FaultPlan, FaultRule, Sandbox

SERIALIZATION = "could not serialize access due to concurrent update\n"
MEMBERS = ["id", "group/id", "individual/id"]


@pytest.fixture()
def sb() -> Iterator[Sandbox]:
    """Three households (t.grp_1..3) and twelve people (t.ind_0..11), none a member yet."""
    with Sandbox() as sandbox:
        rpc = Rpc(sandbox.url)
        groups = [[f"t.grp_{g}", f"H{g}", "1", "1"] for g in (1, 2, 3)]
        people = [[f"t.ind_{i}", f"P{i}", "1", "0"] for i in range(12)]
        fields = ["id", "name", "is_registrant", "is_group"]
        assert rpc("res.partner", "load", fields, groups + people)["messages"] == []
        yield sandbox


def _members(pairs: list[tuple[int, int]]) -> list[list[str]]:
    return [[f"t.mem_{g}_{i}", f"t.grp_{g}", f"t.ind_{i}"] for g, i in pairs]


def _at_once(url: str, calls: list[list[list[str]]]) -> list[dict[str, Any]]:
    """Send membership loads from one thread each, at the same moment; their answers in call order."""
    answers: list[dict[str, Any]] = [{}] * len(calls)

    def send(n: int) -> None:
        answers[n] = Rpc(url)("g2p.group.membership", "load", MEMBERS, calls[n])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _refused_rows(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(m["rows"]["from"], m["message"]) for m in answer["messages"] if m["type"] == "error"]


def test_two_loads_on_one_household_the_later_gets_a_serialization_message_per_row(sb: Sandbox) -> None:
    sb.overlap_loads(2, timeout=30)  # both calls arrive before either commits, as two workers' do
    first = _members([(1, 0), (1, 1), (2, 2)])  # household 1 (two rows), household 2
    second = _members([(3, 3), (1, 4), (3, 5), (1, 6)])  # household 3, and household 1 again
    answers = _at_once(sb.url, [first, second])
    committed = [a for a in answers if a["ids"]]
    refused = [a for a in answers if not a["ids"]]
    assert len(committed) == len(refused) == 1
    later = refused[0]
    # Only the rows on the shared household are refused, each with PostgreSQL's own text.
    household_1_rows = [1, 3] if later is answers[1] else [0, 1]
    assert _refused_rows(later) == [(r, SERIALIZATION) for r in household_1_rows]
    assert sb.conflicted_rows == 2
    # load rolled the refused call back whole; sent again (a fresh transaction) it commits.
    rpc = Rpc(sb.url)
    assert rpc("g2p.group.membership", "search_count", []) == len(committed[0]["ids"])
    again = second if later is answers[1] else first
    sb.overlap_loads(None)
    assert rpc("g2p.group.membership", "load", MEMBERS, again)["messages"] == []
    assert rpc("g2p.group.membership", "search_count", []) == 7


def test_two_loads_on_different_households_never_conflict(sb: Sandbox) -> None:
    sb.overlap_loads(2, timeout=30)
    answers = _at_once(sb.url, [_members([(1, 0), (1, 1)]), _members([(2, 2), (3, 3)])])
    assert [a["messages"] for a in answers] == [[], []]
    assert sb.conflicted_rows == 0


def test_updating_a_member_conflicts_with_a_concurrent_membership_of_the_same_household(
    sb: Sandbox,
) -> None:
    """A person's write recomputes their households on OpenG2P: it too writes the household's row."""
    rpc = Rpc(sb.url)
    assert rpc("g2p.group.membership", "load", MEMBERS, _members([(1, 0)]))["messages"] == []
    sb.overlap_loads(2, timeout=30)
    answers: list[dict[str, Any]] = [{}, {}]

    def rename() -> None:
        answers[0] = Rpc(sb.url)("res.partner", "load", ["id", "name"], [["t.ind_0", "P0 RENAMED"]])

    def join() -> None:
        answers[1] = Rpc(sb.url)("g2p.group.membership", "load", MEMBERS, _members([(1, 1)]))

    threads = [threading.Thread(target=rename), threading.Thread(target=join)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(a["ids"]) for a in answers) == [False, True]
    assert sb.conflicted_rows == 1


def test_ids_and_new_people_never_touch_a_household(sb: Sandbox) -> None:
    """g2p.reg.id has no override on its person; a person being created belongs to no household yet."""
    sb.faults = FaultPlan(rules=[FaultRule("conflict", nth=None)])  # every call conflicts if it can
    rpc = Rpc(sb.url)
    got = rpc("res.partner", "load", ["id", "name", "is_registrant"], [["t.ind_new", "NEW", "1"]])
    assert got["messages"] == []
    national_id = rpc("g2p.id.type", "search", [["name", "=", "National ID"]])[0]
    got = rpc(
        "g2p.reg.id", "load", ["id", "partner_id/id", "id_type/.id", "value"],
        [["t.rid_0", "t.ind_0", str(national_id), "1234567890"]],
    )  # fmt: skip
    assert got["messages"] == []


def test_the_conflict_fault_refuses_every_row_on_a_household_and_nothing_else(sb: Sandbox) -> None:
    rpc = Rpc(sb.url)
    sb.faults = FaultPlan.on_call("conflict", "g2p.group.membership", "load", nth=1)
    got = rpc("g2p.group.membership", "load", MEMBERS, _members([(1, 0), (2, 1)]))
    assert got["ids"] is False
    assert _refused_rows(got) == [(0, SERIALIZATION), (1, SERIALIZATION)]
    # Odoo retries any other call that meets a concurrent writer itself: a plain create goes through.
    sb.faults = FaultPlan.on_call("conflict", "res.partner", "write", nth=1)
    ind_0 = rpc("ir.model.data", "search_read", [["name", "=", "ind_0"]], fields=["res_id"])[0]["res_id"]
    assert rpc("res.partner", "write", [ind_0], {"name": "P0 AGAIN"}) is True
    # The next load of the same rows is a new transaction: it commits.
    assert rpc("g2p.group.membership", "load", MEMBERS, _members([(1, 0), (2, 1)]))["messages"] == []


def test_a_load_written_after_a_committed_one_on_the_same_household_does_not_conflict(sb: Sandbox) -> None:
    """One after the other (the second's snapshot sees the first's commit): no conflict, as in PostgreSQL."""
    rpc = Rpc(sb.url)
    assert rpc("g2p.group.membership", "load", MEMBERS, _members([(1, 0)]))["messages"] == []
    assert rpc("g2p.group.membership", "load", MEMBERS, _members([(1, 1)]))["messages"] == []
    assert sb.conflicted_rows == 0
