"""The sandbox's bulk paths: per-batch work that must not grow with the database, same answers.

No timings here: the scaling fixes are pinned by what SQLite plans to do (an index per
uniqueness check) and by the batched paths giving exactly the general path's results.
The chatter rows pin the import context's meaning (a real server logs creations without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from importer.sandbox import ADMIN_PASSWORD, ADMIN_UID, SANDBOX_DB, Sandbox
from importer.sandbox.orm import to_date, to_datetime

IMPORT_CONTEXT = {"tracking_disable": True, "mail_create_nolog": True}


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox()  # in-process dispatcher only: these tests need no HTTP
    try:
        yield sb
    finally:
        sb.close()


def call(sb: Sandbox, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
    return sb.dispatcher.execute(SANDBOX_DB, ADMIN_UID, ADMIN_PASSWORD, model, method, list(args), kwargs)


def sql(sb: Sandbox, query: str, params: tuple = ()) -> list[tuple]:
    with sb.store.lock:
        return sb.store.conn.execute(query, params).fetchall()


def plan(sb: Sandbox, query: str) -> str:
    return " ".join(str(r[-1]) for r in sql(sb, f"EXPLAIN QUERY PLAN {query}"))


def test_uniqueness_checks_use_pair_indexes_not_a_walk_of_one_id_type(sandbox: Sandbox) -> None:
    reg = plan(
        sandbox,
        "SELECT 1 FROM g2p_reg_id r JOIN g2p_reg_id o ON o.partner_id = r.partner_id "
        "AND o.id_type = r.id_type AND o.id != r.id WHERE r.id IN (1, 2) LIMIT 1",
    )
    member = plan(
        sandbox,
        'SELECT 1 FROM g2p_group_membership m JOIN g2p_group_membership o ON o."group" = m."group" '
        "AND o.individual = m.individual AND o.id != m.id WHERE m.id IN (1, 2) LIMIT 1",
    )
    assert "g2p_reg_id_partner_type_idx" in reg
    assert "g2p_group_membership_group_individual_idx" in member


def _people(sb: Sandbox, n: int) -> list[int]:
    rows = [[f"t.p{i}", f"P{i}", "1", "0"] for i in range(n)]
    got = call(sb, "res.partner", "load", ["id", "name", "is_registrant", "is_group"], rows)
    assert got["messages"] == []
    return got["ids"]


def test_load_resolves_many_references_and_reports_unknown_ones_row_by_row(sandbox: Sandbox) -> None:
    ids = _people(sandbox, 30)
    fields = ["id", "partner_id/id", "id_type/.id", "value"]
    rows = [[f"t.r{i}", f"t.p{i}", "1", f"{i:010d}"] for i in range(30)]
    rows[7][1] = "t.nobody"
    rows[9][2] = "99"
    got = call(sandbox, "g2p.reg.id", "load", fields, rows)
    assert got["ids"] is False
    cells = [(m["rows"]["from"], m.get("field")) for m in got["messages"]]
    assert cells[:2] == [(7, "partner_id"), (9, "id_type")]  # then each row's refusal on its own
    assert {row for row, _ in cells} == {7, 9}
    assert got["messages"][0]["message"] == (
        "No matching record found for external id 't.nobody' in field 'Registrant'"
    )
    rows[7][1], rows[9][2] = "t.p7", "1"
    got = call(sandbox, "g2p.reg.id", "load", fields, rows)
    assert got["messages"] == []
    read = call(sandbox, "g2p.reg.id", "read", got["ids"], ["partner_id"])
    assert [r["partner_id"][0] for r in read] == ids


def test_memberships_created_together_get_their_kinds_and_a_missing_kind_refuses_all(
    sandbox: Sandbox,
) -> None:
    group, a, b = _people(sandbox, 3)
    [head] = call(sandbox, "g2p.group.membership.kind", "search", [["name", "=", "Head"]])
    made = call(
        sandbox,
        "g2p.group.membership",
        "create",
        [
            {"group": group, "individual": a, "kind": [[6, 0, [head]]]},
            {"group": group, "individual": b, "kind": [[4, head], [5]]},
        ],
    )
    kinds = [r["kind"] for r in call(sandbox, "g2p.group.membership", "read", made, ["kind"])]
    assert kinds == [[head], []]
    before = sql(sandbox, "SELECT COUNT(*) FROM g2p_group_membership")
    with pytest.raises(
        Exception,
        match="Constraint: g2p_group_membership_g2p_group_membership_kind_rel_"
        "g2p_group_membership_kind_id_fkey",
    ):
        call(
            sandbox,
            "g2p.group.membership",
            "create",
            [
                {"group": a, "individual": b, "kind": [[6, 0, [head]]]},
                {"group": b, "individual": a, "kind": [[4, 999]]},
            ],
        )
    assert sql(sandbox, "SELECT COUNT(*) FROM g2p_group_membership") == before


def test_a_creation_is_logged_in_the_chatter_unless_the_import_context_says_not_to(
    sandbox: Sandbox,
) -> None:
    plain = call(sandbox, "res.partner", "create", {"name": "Logged", "is_registrant": True})
    quiet = call(
        sandbox, "res.partner", "create", {"name": "Quiet", "is_registrant": True}, context=IMPORT_CONTEXT
    )
    nolog = call(
        sandbox,
        "res.partner",
        "load",
        ["name"],
        [["NoLog"]],
        context={"mail_create_nolog": True},
    )["ids"]
    logged = sql(sandbox, "SELECT model, res_id, message_type, body FROM mail_message")
    assert logged == [("res.partner", plain, "notification", "<p>Contact created</p>")]
    assert quiet not in [r[1] for r in logged] and nolog[0] not in [r[1] for r in logged]


def test_deleting_a_partner_deletes_its_chatter(sandbox: Sandbox) -> None:
    pid = call(sandbox, "res.partner", "create", {"name": "Gone"})
    assert sql(sandbox, "SELECT COUNT(*) FROM mail_message WHERE res_id = ?", (pid,)) == [(1,)]
    call(sandbox, "res.partner", "unlink", [pid])
    assert sql(sandbox, "SELECT COUNT(*) FROM mail_message WHERE res_id = ?", (pid,)) == [(0,)]


@pytest.mark.parametrize(
    ("value", "date_out", "datetime_out"),
    [
        ("2020-01-05", "2020-01-05", "2020-01-05 00:00:00"),
        ("2020-1-5", "2020-01-05", "ValueError"),
        ("0999-01-02", "0999-01-02", "999-01-02 00:00:00"),
        ("2020-02-30", "ValueError", "ValueError"),
        ("2020-01-05 10:11:12", "2020-01-05", "2020-01-05 10:11:12"),
        ("2020-01-05 24:00:00", "2020-01-05", "ValueError"),
    ],
)
def test_fast_date_parsing_answers_as_strptime_does(value: str, date_out: str, datetime_out: str) -> None:
    for fn, expected in ((to_date, date_out), (to_datetime, datetime_out)):
        if expected == "ValueError":
            with pytest.raises(ValueError):
                fn(value)
        else:
            assert fn(value) == expected
