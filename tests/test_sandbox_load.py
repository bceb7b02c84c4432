"""`load` on the sandbox behaves as Odoo 17's: external ids, conversions, all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_rpc import Refused, Rpc

from importer.sandbox import Sandbox


@pytest.fixture()
def rpc() -> Iterator[Rpc]:
    with Sandbox() as sb:
        yield Rpc(sb.url)


PEOPLE = [
    "id",
    "name",
    "given_name",
    "gender",
    "birthdate",
    "is_registrant",
    "reg_ids/id_type",
    "reg_ids/value",
]


def test_load_creates_records_and_external_ids_in_one_call(rpc: Rpc) -> None:
    rows = [
        ["spp.ind_1", "DOE, JANE", "Jane", "Female", "1990-05-01", "1", "National ID", "1234567890"],
        ["ind_2", "DOE, JOHN", "John", "male", "1988-01-02", "1", "", ""],
    ]
    got = rpc("res.partner", "load", PEOPLE, rows)
    assert got["messages"] == [] and got["nextrow"] == 0 and len(got["ids"]) == 2
    jane, john = rpc("res.partner", "read", got["ids"], ["gender", "reg_ids", "is_registrant"])
    assert (jane["gender"], john["gender"]) == ("Female", "Male")  # selection matched case-insensitively
    assert len(jane["reg_ids"]) == 1 and john["reg_ids"] == [] and jane["is_registrant"] is True
    xids = rpc(
        "ir.model.data", "search_read", [["model", "=", "res.partner"]], fields=["module", "name", "res_id"]
    )
    assert {(x["module"], x["name"], x["res_id"]) for x in xids} == {
        ("spp", "ind_1", got["ids"][0]),
        ("__import__", "ind_2", got["ids"][1]),
    }


def test_load_with_an_existing_external_id_updates_instead_of_duplicating(rpc: Rpc) -> None:
    first = rpc("res.partner", "load", ["id", "name"], [["spp.p1", "A"], ["spp.p2", "B"]])
    second = rpc("res.partner", "load", ["id", "name"], [["spp.p2", "B2"], ["spp.p3", "C"]])
    assert second["ids"][0] == first["ids"][1]
    assert rpc("res.partner", "search_count", [["id", "in", first["ids"] + second["ids"]]]) == 3
    assert rpc("res.partner", "read", [first["ids"][1]], ["name"])[0]["name"] == "B2"


def test_load_resolves_many2one_and_many2many_by_name_external_id_and_database_id(rpc: Rpc) -> None:
    groups = rpc(
        "res.partner", "load", ["id", "name", "is_group", "kind"], [["spp.g1", "G1", "1", "Household"]]
    )
    people = rpc("res.partner", "load", ["id", "name"], [["spp.i1", "I1"], ["spp.i2", "I2"]])
    got = rpc(
        "g2p.group.membership",
        "load",
        ["group/id", "individual/.id", "kind"],
        [["spp.g1", str(people["ids"][0]), "Head"], ["spp.g1", str(people["ids"][1]), ""]],
    )
    assert got["messages"] == []
    m1, m2 = rpc("g2p.group.membership", "read", got["ids"], ["group", "individual", "kind"])
    assert m1["group"][0] == groups["ids"][0] and m1["kind"] == [1] and m2["kind"] == []
    assert rpc("res.partner", "read", groups["ids"], ["kind"])[0]["kind"] == [1, "Household"]
    by_xid = rpc(
        "g2p.group.membership",
        "load",
        ["group/id", "individual/id", "kind/id"],
        [["spp.g1", "spp.i1", "g2p_registry_membership.group_membership_kind_head"]],
    )
    assert by_xid["ids"] is False  # the same individual twice in one group
    assert by_xid["messages"][0]["message"] == "Duplication of Member is not allowed "


def test_load_one_failing_row_keeps_nothing_and_reports_every_bad_row(rpc: Rpc) -> None:
    rows = [
        ["spp.a", "A", "", "Female", "1990-01-01", "1", "", ""],
        ["spp.b", "B", "", "F", "1990-01-01", "1", "", ""],
        ["spp.c", "C", "", "Male", "31/12/1990", "1", "", ""],
    ]
    got = rpc("res.partner", "load", PEOPLE, rows)
    assert got["ids"] is False
    bad = [(m["rows"], m["field"], m["message"]) for m in got["messages"]]
    assert bad == [
        ({"from": 1, "to": 1}, "gender", "Value 'F' not found in selection field 'Gender'"),
        (
            {"from": 2, "to": 2},
            "birthdate",
            "'31/12/1990' does not seem to be a valid date for field 'Date of Birth'",
        ),
    ]
    assert got["messages"][0]["record"] == 1 and got["messages"][0]["type"] == "error"
    assert rpc("res.partner", "search_count", [["name", "in", ["A", "B", "C"]]]) == 0
    assert rpc("ir.model.data", "search_count", [["module", "=", "spp"]]) == 0


def test_load_row_rejected_by_the_server_is_reported_on_its_row(rpc: Rpc) -> None:
    rows = [
        ["spp.a", "A", "", "", "", "1", "National ID", "1234567890"],
        ["spp.b", "B", "", "", "", "1", "National ID", "12"],
        ["spp.c", "", "", "", "", "1", "", ""],
    ]
    got = rpc("res.partner", "load", PEOPLE, rows)
    assert got["ids"] is False
    assert [(m["rows"]["from"], m["message"]) for m in got["messages"]] == [
        (1, "The provided National ID ID '12' is invalid."),
        (2, "'Contacts require a name'"),
    ]


def test_load_unknown_external_id_is_a_conversion_message(rpc: Rpc) -> None:
    got = rpc("g2p.group.membership", "load", ["group/id", "individual/id"], [["spp.nope", "nope2"]])
    assert got["ids"] is False
    assert [(m.get("field"), m["message"]) for m in got["messages"]] == [
        ("group", "No matching record found for external id 'spp.nope' in field 'Group'"),
        ("individual", "No matching record found for external id 'nope2' in field 'Individual'"),
        # as in Odoo, the row is still tried without the unconvertible cells:
        ("group", "Missing required value for the field 'Group' (group)"),
    ]
    assert got["messages"][0]["field_name"] == "Group" and "moreinfo" in got["messages"][0]


def test_load_unknown_column_raises_key_error(rpc: Rpc) -> None:
    with pytest.raises(Refused) as err:
        rpc("res.partner", "load", ["id", "name", "reg_id"], [["x", "X", "1"]])
    assert err.value.args[0] == "builtins.KeyError"
    with pytest.raises(Refused):
        rpc("res.partner", "load", ["name", "reg_ids/bogus"], [["X", "1"]])


def test_load_one2many_continuation_rows(rpc: Rpc) -> None:
    rows = [
        ["spp.a", "A", "", "", "", "1", "National ID", "1234567890"],
        ["", "", "", "", "", "", "Passport", "AB12345"],
        ["spp.b", "B", "", "", "", "1", "Passport", "XY98765"],
    ]
    got = rpc("res.partner", "load", PEOPLE, rows)
    assert got["messages"] == [] and len(got["ids"]) == 2
    a, b = rpc("res.partner", "read", got["ids"], ["reg_ids"])
    assert len(a["reg_ids"]) == 2 and len(b["reg_ids"]) == 1


def test_load_stops_reporting_after_ten_errors(rpc: Rpc) -> None:
    rows = [[f"spp.r{i}", ""] for i in range(30)]
    got = rpc("res.partner", "load", ["id", "name"], rows)
    errors = [m for m in got["messages"] if m["type"] == "error"]
    assert got["ids"] is False and len(errors) == 10
    assert (
        got["messages"][-1]["type"] == "warning" and "more than 10 errors" in got["messages"][-1]["message"]
    )


def test_load_of_500_rows_is_one_batch(rpc: Rpc) -> None:
    rows = [[f"spp.p{i}", f"P {i}", "Male", "1990-01-01"] for i in range(500)]
    got = rpc("res.partner", "load", ["id", "name", "gender", "birthdate"], rows)
    assert len(got["ids"]) == 500 and got["messages"] == []
    again = rpc("res.partner", "load", ["id", "name", "gender", "birthdate"], rows)
    assert again["ids"] == got["ids"]
