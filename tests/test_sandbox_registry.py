"""The wider registry in the sandbox, beyond what the recorded session shows.

A deployment's own fields (manual `ir.model.fields`) belong to one database; tags,
relationships, bank accounts and areas keep their rules on every path (create, write,
load); ids used by a refused insert stay used. Judged by what the server then holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_rpc import Refused, Rpc

from importer.sandbox import REGISTRAR_PASSWORD, Sandbox
from importer.sandbox.auth import REGISTRAR_UID

IMPORT = {"context": {"tracking_disable": True, "mail_create_nolog": True}}


@pytest.fixture()
def rpc() -> Iterator[Rpc]:
    with Sandbox() as sb:
        yield Rpc(sb.url)


def _refused(rpc: Rpc, model: str, method: str, *args: Any) -> Refused:
    with pytest.raises(Refused) as err:
        rpc(model, method, *args)
    return err.value


def _add_field(rpc: Rpc, name: str, ttype: str, **extra: Any) -> int:
    [model_id] = rpc("ir.model", "search", [["model", "=", "res.partner"]])
    vals = {"model_id": model_id, "name": name, "field_description": name, "ttype": ttype, "state": "manual"}
    return rpc("ir.model.fields", "create", {**vals, **extra})


def _person(rpc: Rpc, name: str = "P", **vals: Any) -> int:
    return rpc("res.partner", "create", {"name": name, "is_registrant": True, "is_group": False, **vals})


# -- custom fields --------------------------------------------------------------------


def test_a_custom_field_belongs_to_the_database_that_created_it() -> None:
    with Sandbox() as one, Sandbox() as other:
        first, second = Rpc(one.url), Rpc(other.url)
        _add_field(first, "x_cst_indv_score", "integer")
        pid = _person(first, x_cst_indv_score=7)
        assert first("res.partner", "read", [pid], ["x_cst_indv_score"])[0]["x_cst_indv_score"] == 7
        assert first("res.partner", "fields_get", ["x_cst_indv_score"])["x_cst_indv_score"]["manual"] is True
        assert second("res.partner", "fields_get", ["x_cst_indv_score"]) == {}
        err = _refused(second, "res.partner", "create", {"name": "Q", "x_cst_indv_score": 1})
        assert err.message == "Invalid field 'x_cst_indv_score' on model 'res.partner'"


def test_a_custom_field_survives_a_restart_of_a_file_database(tmp_path: Path) -> None:
    db = str(tmp_path / "registry.sqlite")
    with Sandbox(db_path=db) as sb:
        rpc = Rpc(sb.url)
        _add_field(rpc, "x_cst_grp_roof", "selection", selection="[('tin', 'Tin'), ('straw', 'Straw')]")
        pid = _person(rpc, x_cst_grp_roof="tin")
    with Sandbox(db_path=db) as sb:
        rpc = Rpc(sb.url)
        assert rpc("res.partner", "read", [pid], ["x_cst_grp_roof"])[0]["x_cst_grp_roof"] == "tin"
        got = rpc("res.partner", "load", ["name", "x_cst_grp_roof"], [["R", "concrete"]], **IMPORT)
        assert got["ids"] is False
        assert got["messages"][0]["moreinfo"] == ["Tin", "Straw"]


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("cst_score", {}, "Custom fields must have a name that starts with 'x_'!"),
        ("x_name", {"ttype": "selection", "selection": "[('a'"}, "not a valid Pythonic expression"),
        ("given_name", {}, "Custom fields must have a name that starts with 'x_'!"),
    ],
)
def test_a_bad_custom_field_is_refused_and_adds_nothing(
    rpc: Rpc, name: str, extra: dict, message: str
) -> None:
    [model_id] = rpc("ir.model", "search", [["model", "=", "res.partner"]])
    vals = {"model_id": model_id, "name": name, "field_description": "X", "ttype": "char", "state": "manual"}
    err = _refused(rpc, "ir.model.fields", "create", {**vals, **extra})
    assert err.name == "odoo.exceptions.ValidationError" and message in err.message
    assert rpc("ir.model.fields", "search_count", [["name", "=", name]]) == 0


def test_the_same_custom_field_twice_is_refused(rpc: Rpc) -> None:
    _add_field(rpc, "x_cst_indv_score", "integer")
    err = _refused(rpc, "ir.model.fields", "create", {**_field_vals(rpc, "x_cst_indv_score")})
    assert err.message == "Field names must be unique per model."


def test_a_custom_char_field_keeps_at_most_its_size(rpc: Rpc) -> None:
    _add_field(rpc, "x_cst_indv_note", "char", size=5)
    assert rpc("res.partner", "fields_get", ["x_cst_indv_note"], attributes=["size"]) == {
        "x_cst_indv_note": {"size": 5}
    }
    pid = _person(rpc, x_cst_indv_note="abcdefgh")
    assert rpc("res.partner", "read", [pid], ["x_cst_indv_note"])[0]["x_cst_indv_note"] == "abcde"


def test_a_computed_indicator_is_read_only_and_ignores_writes(rpc: Rpc) -> None:
    _add_field(
        rpc, "x_ind_grp_num_children", "integer", compute="for r in self: r['x_ind_grp_num_children'] = 0"
    )
    desc = rpc("res.partner", "fields_get", ["x_ind_grp_num_children"], attributes=["readonly", "manual"])
    assert desc == {"x_ind_grp_num_children": {"readonly": True, "manual": True}}
    pid = _person(rpc, x_ind_grp_num_children=5)
    assert rpc("res.partner", "read", [pid], ["x_ind_grp_num_children"])[0]["x_ind_grp_num_children"] == 0


def test_deleting_a_custom_field_removes_it_from_the_model(rpc: Rpc) -> None:
    fid = _add_field(rpc, "x_cst_indv_score", "integer")
    _person(rpc, x_cst_indv_score=3)
    rpc("ir.model.fields", "unlink", [fid])
    assert rpc("res.partner", "fields_get", ["x_cst_indv_score"]) == {}
    _add_field(rpc, "x_cst_indv_score", "char")  # the name is free again, with another type
    pid = _person(rpc, x_cst_indv_score="high")
    assert rpc("res.partner", "read", [pid], ["x_cst_indv_score"])[0]["x_cst_indv_score"] == "high"


def test_only_an_administrator_adds_fields() -> None:
    with Sandbox() as sb:
        registrar = Rpc(sb.url, uid=REGISTRAR_UID, secret=REGISTRAR_PASSWORD)
        params = {
            "model_id": 1,
            "name": "x_cst_a",
            "field_description": "A",
            "ttype": "char",
            "state": "manual",
        }
        err = _refused(registrar, "ir.model.fields", "create", params)
        assert err.name == "odoo.exceptions.AccessError"
        assert err.message.startswith("You are not allowed to create 'Fields' (ir.model.fields) records.")


def _field_vals(rpc: Rpc, name: str) -> dict:
    [model_id] = rpc("ir.model", "search", [["model", "=", "res.partner"]])
    return {
        "model_id": model_id,
        "name": name,
        "field_description": name,
        "ttype": "integer",
        "state": "manual",
    }


# -- tags -----------------------------------------------------------------------------


def test_tags_created_together_fail_and_leave_their_ids_used(rpc: Rpc) -> None:
    err = _refused(rpc, "g2p.registrant.tags", "create", [{"name": "A"}, {"name": "B"}])
    assert (err.name, err.message) == ("builtins.ValueError", "Expected singleton: g2p.registrant.tags(1, 2)")
    assert rpc("g2p.registrant.tags", "search_count", []) == 0
    assert rpc("g2p.registrant.tags", "create", {"name": "A"}) == 3


def test_renaming_a_tag_onto_another_ignoring_case_is_refused(rpc: Rpc) -> None:
    rpc("g2p.registrant.tags", "create", {"name": "Elderly"})
    other = rpc("g2p.registrant.tags", "create", {"name": "Pilot"})
    assert _refused(rpc, "g2p.registrant.tags", "write", [other], {"name": "ELDERLY"}).message == (
        "Tag already Exists"
    )
    assert rpc("g2p.registrant.tags", "read", [other], ["name"])[0]["name"] == "Pilot"


def test_tag_names_in_load_are_not_trimmed(rpc: Rpc) -> None:
    rpc("g2p.registrant.tags", "create", {"name": "Vulnerable"})
    rpc("g2p.registrant.tags", "create", {"name": "Pilot 2026"})
    got = rpc(
        "res.partner", "load", ["id", "name", "tags_ids"], [["t.p1", "P", "Vulnerable, Pilot 2026"]], **IMPORT
    )
    assert got["ids"] is False
    assert got["messages"][0]["message"] == "No matching record found for name ' Pilot 2026' in field 'Tags'"
    assert rpc("res.partner", "search_count", [["name", "=", "P"]]) == 0


@pytest.mark.parametrize(("import_match", "kept"), [(True, True), (False, False)])
def test_an_empty_tags_cell_clears_the_tags_only_without_spp_import_match(
    import_match: bool, kept: bool
) -> None:
    with Sandbox(import_match=import_match) as sb:
        rpc = Rpc(sb.url)
        tag = rpc("g2p.registrant.tags", "create", {"name": "Vulnerable"})
        [pid] = rpc(
            "res.partner", "load", ["id", "name", "tags_ids"], [["t.p", "P", "Vulnerable"]], **IMPORT
        )["ids"]
        rpc("res.partner", "load", ["id", "name", "tags_ids", "given_name"], [["t.p", "P", "", ""]], **IMPORT)
        rpc("res.partner", "write", [pid], {"tags_ids": []})
        assert rpc("res.partner", "read", [pid], ["tags_ids"])[0]["tags_ids"] == ([tag] if kept else [])
        rpc("res.partner", "write", [pid], {"tags_ids": [[5]]})  # an explicit clear always clears
        assert rpc("res.partner", "read", [pid], ["tags_ids"])[0]["tags_ids"] == []


# -- relationships ----------------------------------------------------------------------


@pytest.fixture()
def spouses(rpc: Rpc) -> tuple[int, int, int]:
    spouse = rpc(
        "g2p.relationship",
        "create",
        {
            "name": "Spouse",
            "name_inverse": "Spouse",
            "bidirectional": True,
            "source_type": "i",
            "destination_type": "i",
        },
    )
    return spouse, _person(rpc, "A"), _person(rpc, "B")


def test_a_two_way_relation_overlaps_its_reverse(rpc: Rpc, spouses: tuple[int, int, int]) -> None:
    spouse, a, b = spouses
    rpc(
        "g2p.reg.rel",
        "create",
        {"source": a, "destination": b, "relation": spouse, "start_date": "2015-01-01"},
    )
    err = _refused(rpc, "g2p.reg.rel", "create", {"source": b, "destination": a, "relation": spouse})
    assert err.message == "There is already a similar relation with overlapping dates"
    rpc(
        "g2p.reg.rel", "create", {"source": b, "destination": a, "relation": spouse, "end_date": "2014-12-31"}
    )
    assert rpc("g2p.reg.rel", "search_count", []) == 2


def test_each_end_must_be_a_registrant_of_the_kind_the_type_says(rpc: Rpc) -> None:
    """OpenG2P's _check_partner: a side typed 'i' takes a person, 'g' a household; any end a registrant."""
    heads = rpc(
        "g2p.relationship",
        "create",
        {"name": "Heads", "name_inverse": "Headed by", "source_type": "i", "destination_type": "g"},
    )
    loose = rpc("g2p.relationship", "create", {"name": "Knows", "name_inverse": "Known by"})
    person, household = _person(rpc, "A"), _person(rpc, "H", is_group=True)
    contact = rpc("res.partner", "create", {"name": "Not a registrant"})
    message = "This registrant is not applicable for this relation type."
    for source, destination, relation in (
        (household, person, heads),  # the household on the person's side
        (person, contact, loose),  # no sides, but not a registrant
    ):
        vals = {"source": source, "destination": destination, "relation": relation}
        assert _refused(rpc, "g2p.reg.rel", "create", vals).message == message
    rpc("g2p.reg.rel", "create", {"source": person, "destination": household, "relation": heads})
    assert rpc("g2p.reg.rel", "search_count", []) == 1


def test_a_relation_ending_before_it_starts_is_refused(rpc: Rpc, spouses: tuple[int, int, int]) -> None:
    spouse, a, b = spouses
    vals = {
        "source": a,
        "destination": b,
        "relation": spouse,
        "start_date": "2020-01-01",
        "end_date": "2019-01-01",
    }
    assert (
        _refused(rpc, "g2p.reg.rel", "create", vals).message
        == "The starting date cannot be after the ending date."
    )


def test_a_relation_reads_back_on_both_registrants(rpc: Rpc, spouses: tuple[int, int, int]) -> None:
    spouse, a, b = spouses
    rel = rpc("g2p.reg.rel", "create", {"source": a, "destination": b, "relation": spouse})
    got = rpc("res.partner", "read", [a, b], ["related_1_ids", "related_2_ids"])
    assert [(r["related_1_ids"], r["related_2_ids"]) for r in got] == [([rel], []), ([], [rel])]
    assert rpc("g2p.reg.rel", "read", [rel], ["display_name", "relation_as_str"])[0] == {
        "id": rel,
        "display_name": "Spouse",
        "relation_as_str": "Spouse",
    }


# -- bank accounts, areas, additional info ----------------------------------------------------


def test_the_same_account_twice_for_one_person_is_refused_over_rpc_too(rpc: Rpc) -> None:
    person, other = _person(rpc, "A"), _person(rpc, "B")
    rpc("res.partner.bank", "create", {"partner_id": person, "acc_number": "12-34 56"})
    err = _refused(rpc, "res.partner.bank", "create", {"partner_id": person, "acc_number": "123456"})
    assert err.name == "odoo.exceptions.ValidationError" and "must be unique" in err.message
    rpc("res.partner.bank", "create", {"partner_id": other, "acc_number": "123456"})  # another holder: fine
    assert rpc("res.partner.bank", "search_read", [], ["sanitized_acc_number"]) == [
        {"id": 1, "sanitized_acc_number": "123456"},
        {"id": 3, "sanitized_acc_number": "123456"},
    ]


def test_an_area_is_named_from_its_code_and_renamed_when_the_code_changes(rpc: Rpc) -> None:
    area = rpc("spp.area", "create", {"draft_name": "Region One", "code": "R1"})
    rpc("spp.area", "write", [area], {"code": "R9"})
    child = rpc("spp.area", "create", {"draft_name": "Town", "parent_id": area})
    got = rpc("spp.area", "read", [area, child], ["name", "complete_name", "area_level"])
    assert [(r["name"], r["complete_name"], r["area_level"]) for r in got] == [
        ("R9 - Region One", "R9 - Region One", 0),
        ("Town", "R9 - Region One / Town", 1),
    ]
    assert _refused(rpc, "spp.area", "create", {"draft_name": "Other", "code": "R9"}).message.endswith(
        "The value for the field 'code' already exists (this is probably 'Code' in the current model)."
    )


def test_areas_keep_their_path_from_the_root_and_refuse_a_loop(rpc: Rpc) -> None:
    region = rpc("spp.area", "create", {"draft_name": "Region", "code": "R"})
    district = rpc("spp.area", "create", {"draft_name": "District", "code": "D", "parent_id": region})
    village = rpc("spp.area", "create", {"draft_name": "Village", "code": "V", "parent_id": district})
    paths = rpc("spp.area", "search_read", [], ["parent_path"])
    assert paths == [
        {"id": region, "parent_path": f"{region}/"},
        {"id": district, "parent_path": f"{region}/{district}/"},
        {"id": village, "parent_path": f"{region}/{district}/{village}/"},
    ]
    assert _refused(rpc, "spp.area", "write", [region], {"parent_id": village}).name == (
        "odoo.exceptions.ValidationError"
    )
    assert rpc("spp.area", "read", [region], ["parent_id"])[0]["parent_id"] is False


def test_additional_info_keeps_json_and_stores_nothing_for_an_empty_object(rpc: Rpc) -> None:
    full = _person(rpc, "A", additional_g2p_info={"school": "Primary", "livestock": 3})
    empty = _person(rpc, "B", additional_g2p_info={})
    got = rpc("res.partner", "read", [full, empty], ["additional_g2p_info"])
    assert [r["additional_g2p_info"] for r in got] == [{"school": "Primary", "livestock": 3}, False]


def test_a_refused_load_uses_up_the_ids_it_tried(rpc: Rpc) -> None:
    first = _person(rpc, "A")
    got = rpc("res.partner", "load", ["name", "birthdate"], [["B", "not a date"]], **IMPORT)
    assert got["ids"] is False
    assert _person(rpc, "C") == first + 2
