"""A deployment's own fields (custom fields made on the server's screen) import with no code change.

The fields are created on the sandbox as OpenSPP's custom-fields screen
creates them (manual ``ir.model.fields``); the mapping names them by their
technical name or by their label; the server is the judge of what was written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.outcome import ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

CUSTOM = [
    {"name": "x_cst_indv_disability_level", "field_description": "Disability Level", "ttype": "integer"},
    {"name": "x_cst_indv_pregnant", "field_description": "Indv Pregnant", "ttype": "boolean"},
    {
        "name": "x_cst_indv_occupation_detail",
        "field_description": "Occupation Detail",
        "ttype": "char",
        "size": 8,
    },
    {"name": "x_cst_indv_monthly_income", "field_description": "Monthly Income", "ttype": "float"},
    {"name": "x_cst_indv_survey_date", "field_description": "Survey Date", "ttype": "date"},
    {
        "name": "x_cst_grp_water_source",
        "field_description": "Water Source",
        "ttype": "selection",
        "selection": "[('well', 'Well'), ('tap', 'Tap water'), ('river', 'River')]",
    },
]
HEADER = "hh,hh_name,water,pid,given,family,level,pregnant,detail,income,surveyed"
ROWS = [
    "H1,Ramos household,Tap water,P1,Ana,Ramos,2,yes,farmer,150.5,03/02/2026",
    "H1,Ramos household,Tap water,P2,Ben,Ramos,0,no,,,",
]


def _create_fields(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        model = c.search("ir.model", [["model", "=", "res.partner"]])[0]
        for spec in CUSTOM:
            c.create("ir.model.fields", {**spec, "model_id": model, "state": "manual"})


def _mapping(tmp_path: Path, **individual_fields: str) -> Path:
    people = {
        "given_name": "given",
        "family_name": "family",
        "Disability Level": "level",  # by its label, as the server shows it
        "x_cst_indv_pregnant": "pregnant",
        "x_cst_indv_occupation_detail": "detail",
        "x_cst_indv_monthly_income": "income",
        "x_cst_indv_survey_date": "surveyed",
        **individual_fields,
    }
    mapping = {
        "name": "custom",
        "namespace": "spp_custom",
        "date_order": "day-first",
        "entities": {
            "group": {"key": "hh", "fields": {"name": "hh_name", "x_cst_grp_water_source": "water"}},
            "individual": {"key": "pid", "fields": people},
            "membership": {"group": "hh", "individual": "pid"},
        },
    }
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


def _file(tmp_path: Path, *rows: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _run(sb: Sandbox, files: Path, mapping: Path, mode: str = "import"):
    return run_import([files], ImportOptions(mapping=mapping, mode=mode, write_files=False), settings_for(sb))


def _person(sb: Sandbox, given: str) -> dict:
    fields = [s["name"] for s in CUSTOM if s["name"].startswith("x_cst_indv")]
    with OdooClient(settings_for(sb)) as c:
        return c.search_read("res.partner", [["given_name", "=", given]], fields)[0]


def test_custom_fields_are_written_then_left_alone_on_a_rerun(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _create_fields(sb)
        mapping = _mapping(tmp_path)
        first = _run(sb, _file(tmp_path, *ROWS), mapping)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        ana = _person(sb, "Ana")
        assert ana["x_cst_indv_disability_level"] == 2
        assert ana["x_cst_indv_pregnant"] is True
        assert ana["x_cst_indv_occupation_detail"] == "farmer"
        assert ana["x_cst_indv_monthly_income"] == 150.5
        assert ana["x_cst_indv_survey_date"] == "2026-02-03"
        with OdooClient(settings_for(sb)) as c:
            household = c.search_read("res.partner", [["is_group", "=", True]], ["x_cst_grp_water_source"])
        assert household[0]["x_cst_grp_water_source"] == "tap"  # by its label, "Tap water"

        again = _run(sb, _file(tmp_path, *ROWS), mapping)
        assert set(again.report.rows["status"]) == {"unchanged"}

        changed = _run(sb, _file(tmp_path, ROWS[0].replace(",2,yes,", ",3,yes,"), ROWS[1]), mapping)
        assert set(changed.report.rows["status"]) == {"updated", "unchanged"}
        assert _person(sb, "Ana")["x_cst_indv_disability_level"] == 3


def test_a_bad_custom_value_is_one_row_error_and_nothing_of_the_row_is_written(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _create_fields(sb)
        bad = ROWS[1].replace(",0,no,", ",forty,no,").replace(",Tap water,", ",Tap water,")
        result = _run(
            sb,
            _file(
                tmp_path, ROWS[0], bad, "H2,Lee household,Lake,P3,Cy,Lee,1,maybe,far too long,x,31/02/2026"
            ),
            _mapping(tmp_path),
        )
        problems = result.report.problems
        codes = {(int(r), c) for r, c in zip(problems["row"], problems["code"], strict=True)}
        assert (3, "bad_integer") in codes
        assert {
            (4, "unknown_code"),
            (4, "bad_boolean"),
            (4, "too_long"),
            (4, "bad_number"),
            (4, "bad_date"),
        } <= codes
        suggestion = problems[problems["code"] == "unknown_code"]["suggestion"].iloc[0]
        assert "well" in suggestion and "tap" in suggestion
        with OdooClient(settings_for(sb)) as c:
            names = {
                r["given_name"]
                for r in c.search_read("res.partner", [["is_group", "=", False]], ["given_name"])
            }
        assert names == {"Ana"}


def test_a_field_the_server_lacks_or_computes_is_refused_before_any_row_is_read(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _create_fields(sb)
        with OdooClient(settings_for(sb)) as c:
            model = c.search("ir.model", [["model", "=", "res.partner"]])[0]
            c.create(
                "ir.model.fields",
                {"model_id": model, "name": "x_ind_grp_members", "field_description": "Members",
                 "ttype": "integer", "state": "manual", "compute": "for r in self: r['x_ind_grp_members']"},
            )  # fmt: skip
        with pytest.raises(ImportFailure, match="no field 'x_cst_indv_disabilty_level'"):
            _run(
                sb, _file(tmp_path, *ROWS), _mapping(tmp_path, x_cst_indv_disabilty_level="level"), "dry-run"
            )
        with pytest.raises(ImportFailure, match="computed by the server"):
            _run(sb, _file(tmp_path, *ROWS), _mapping(tmp_path, x_ind_grp_members="level"), "dry-run")
        with OdooClient(settings_for(sb)) as c:
            assert c.search_count("res.partner", [["is_registrant", "=", True]]) == 0


def test_offline_validate_reads_custom_fields_as_text_and_says_so(tmp_path: Path) -> None:
    result = run_import(
        [_file(tmp_path, *ROWS)],
        ImportOptions(mapping=_mapping(tmp_path), mode="validate", write_files=False),
    )
    unchecked = result.report.problems[result.report.problems["code"] == "unchecked_field"]
    assert len(unchecked) == 6 and set(unchecked["severity"]) == {"warning"}
    assert result.exit_code == 0
