"""The OpenG2P registry rules the sandbox enforces, with the real server's messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sandbox_rpc import Refused, Rpc

from importer.sandbox import Sandbox


@pytest.fixture()
def rpc() -> Iterator[Rpc]:
    with Sandbox() as sb:
        yield Rpc(sb.url)


def _refused(rpc: Rpc, model: str, method: str, *args: Any) -> Refused:
    with pytest.raises(Refused) as err:
        rpc(model, method, *args)
    return err.value


def _group(rpc: Rpc, name: str = "G") -> int:
    return rpc("res.partner", "create", {"name": name, "is_registrant": True, "is_group": True, "kind": 1})


def _person(rpc: Rpc, name: str = "P", **vals: Any) -> int:
    return rpc("res.partner", "create", {"name": name, "is_registrant": True, "is_group": False, **vals})


def test_partner_needs_a_name(rpc: Rpc) -> None:
    err = _refused(rpc, "res.partner", "create", {"given_name": "Jane", "is_registrant": True})
    assert (err.name, err.message) == (
        "odoo.exceptions.ValidationError",
        "The operation cannot be completed: Contacts require a name",
    )


def test_registration_date_not_in_future_nor_before_birth(rpc: Rpc) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert _refused(rpc, "res.partner", "create", {"name": "X", "registration_date": tomorrow}).message == (
        "Registration date must be less than the current date."
    )
    err = _refused(
        rpc,
        "res.partner",
        "create",
        {"name": "X", "birthdate": "2000-01-01", "registration_date": "1999-01-01"},
    )
    assert err.message == "Registration date must be later than the birth date."
    assert (
        rpc("res.partner", "read", [_person(rpc)], ["registration_date"])[0]["registration_date"]
        == date.today().isoformat()
    )


def test_same_individual_twice_in_a_group_is_refused(rpc: Rpc) -> None:
    gid, pid = _group(rpc), _person(rpc)
    rpc("g2p.group.membership", "create", {"group": gid, "individual": pid})
    err = _refused(rpc, "g2p.group.membership", "create", {"group": gid, "individual": pid})
    assert (err.name, err.message) == (
        "odoo.exceptions.ValidationError",
        "Duplication of Member is not allowed ",
    )


def test_ended_date_before_start_date_is_refused(rpc: Rpc) -> None:
    gid, pid = _group(rpc), _person(rpc)
    err = _refused(
        rpc,
        "g2p.group.membership",
        "create",
        {"group": gid, "individual": pid, "start_date": "2024-02-01", "ended_date": "2024-01-01"},
    )
    assert err.message == "End Date cannot be earlier than Start Date"
    mid = rpc("g2p.group.membership", "create", {"group": gid, "individual": pid, "start_date": "2024-01-01"})
    rpc("g2p.group.membership", "write", [mid], {"ended_date": "2024-06-01"})
    [m] = rpc("g2p.group.membership", "read", [mid], ["ended_date", "status", "is_ended"])
    assert m == {"id": mid, "ended_date": "2024-06-01 00:00:00", "status": "inactive", "is_ended": True}


def test_one_id_per_type_per_registrant_and_id_validation(rpc: Rpc) -> None:
    pid = _person(rpc)
    rpc("g2p.reg.id", "create", {"partner_id": pid, "id_type": 1, "value": "1234567890"})
    assert (
        _refused(
            rpc, "g2p.reg.id", "create", {"partner_id": pid, "id_type": 1, "value": "0987654321"}
        ).message
        == "ID Type must be unique."
    )
    err = _refused(rpc, "g2p.reg.id", "create", {"partner_id": pid, "id_type": 2, "value": "no!"})
    assert (err.name, err.message) == (
        "odoo.exceptions.ValidationError",
        "The provided Passport ID 'no!' is invalid.",
    )
    err = _refused(rpc, "g2p.reg.id", "create", {"partner_id": pid, "value": "x"})
    assert "a mandatory field is not set" in err.message and "Field: ID Type (id_type)" in err.message


def test_second_head_is_accepted_then_any_write_to_the_group_fails(rpc: Rpc) -> None:
    gid, a, b = _group(rpc), _person(rpc, "A"), _person(rpc, "B")
    rpc("g2p.group.membership", "create", {"group": gid, "individual": a, "kind": [[4, 1]]})
    rpc("g2p.group.membership", "create", {"group": gid, "individual": b, "kind": [[4, 1]]})
    for target in (a, gid):
        err = _refused(rpc, "res.partner", "write", [target], {"given_name": "x"})
        assert (err.name, err.message) == (
            "odoo.exceptions.ValidationError",
            "Only one Head is allowed per group",
        )


def test_multi_record_write_counts_heads_across_groups(rpc: Rpc) -> None:
    g1, g2 = _group(rpc, "G1"), _group(rpc, "G2")
    for gid in (g1, g2):
        rpc("g2p.group.membership", "create", {"group": gid, "individual": _person(rpc), "kind": [[4, 1]]})
    assert (
        _refused(rpc, "res.partner", "write", [g1, g2], {"is_partial_group": True}).message
        == "Only one Head is allowed per group"
    )
    assert rpc("res.partner", "write", [g1], {"is_partial_group": True}) is True


def test_unlink_refused_while_ids_or_memberships_remain(rpc: Rpc) -> None:
    pid = _person(rpc, reg_ids=[[0, 0, {"id_type": 1, "value": "1234567890"}]])
    err = _refused(rpc, "res.partner", "unlink", [pid])
    assert err.name == "odoo.exceptions.ValidationError"
    assert err.message == (
        "The operation cannot be completed: another model requires the record being deleted. "
        "If possible, archive it instead.\n\n"
        "Model: Registrant ID (g2p.reg.id)\nConstraint: g2p_reg_id_partner_id_fkey\n"
    )
    rpc("g2p.reg.id", "unlink", rpc("g2p.reg.id", "search", [["partner_id", "=", pid]]))
    gid = _group(rpc)
    rpc("g2p.group.membership", "create", {"group": gid, "individual": pid})
    assert "g2p_group_membership_group_fkey" in _refused(rpc, "res.partner", "unlink", [gid]).message
    rpc("g2p.group.membership", "unlink", rpc("g2p.group.membership", "search", [["group", "=", gid]]))
    assert rpc("res.partner", "unlink", [pid, gid]) is True


def test_lookup_names_required_and_unique(rpc: Rpc) -> None:
    assert _refused(rpc, "g2p.id.type", "create", {"name": "national id"}).message == "Id type already exists"
    assert _refused(rpc, "gender.type", "create", {"value": "X"}).message == "Gender type should not empty."
    assert _refused(rpc, "g2p.group.kind", "create", {"name": "HOUSEHOLD"}).message == "kind already exists"
    assert (
        _refused(rpc, "g2p.group.membership.kind", "write", [1], {"name": "Boss"}).message
        == "Can't edit default kinds"
    )
    assert _refused(rpc, "g2p.group.membership.kind", "unlink", [1]).message == "Can't delete default kinds"


def test_many2one_to_a_missing_record_is_refused(rpc: Rpc) -> None:
    err = _refused(rpc, "res.partner", "create", {"name": "G", "kind": 999})
    assert err.name == "odoo.exceptions.ValidationError" and "res_partner_kind_fkey" in err.message


def test_bare_sandbox_has_no_gender_or_id_types() -> None:
    with Sandbox(bare=True) as sb:
        rpc = Rpc(sb.url)
        assert rpc("gender.type", "search_count", []) == 0
        assert rpc("g2p.id.type", "search_count", []) == 0
        assert rpc("g2p.group.kind", "search_read", [], fields=["name"]) == [
            {"id": 2, "name": "Family"},
            {"id": 1, "name": "Household"},
        ]
        assert rpc("g2p.group.membership.kind", "search_read", [], fields=["name", "is_unique"]) == [
            {"id": 1, "name": "Head", "is_unique": True}
        ]
        assert rpc("res.partner", "fields_get", ["gender"], attributes=["selection"]) == {
            "gender": {"selection": []}
        }
