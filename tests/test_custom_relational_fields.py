"""A deployment's many2one, many2many and date-time fields, and records named by external id.

The fields are made on the sandbox as OpenSPP's custom-fields screen makes them
(manual ``ir.model.fields`` with a ``relation``); cells name their records by
name, by the name the server shows or by external id; the server is the judge.
"""

from __future__ import annotations

from pathlib import Path

from conftest import household_mapping, import_lines, settings_for, write_mapping

from importer.client import OdooClient
from importer.pipeline import RunResult
from importer.sandbox import Sandbox

CUSTOM = [
    {"name": "x_cst_indv_district", "field_description": "Home District", "ttype": "many2one",
     "relation": "g2p.district"},
    {"name": "x_cst_indv_visited", "field_description": "Areas Visited", "ttype": "many2many",
     "relation": "spp.area"},
    {"name": "x_cst_indv_interviewed", "field_description": "Interviewed At", "ttype": "datetime"},
]  # fmt: skip
HEADER = "hh,hh_name,pid,given,family,district,visited,interviewed,area"


def _setup(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        model = c.search("ir.model", [["model", "=", "res.partner"]])[0]
        for spec in CUSTOM:
            c.create("ir.model.fields", {**spec, "model_id": model, "state": "manual"})
        c.load("g2p.district", ["id", "name"], [["geo.d_north", "North"], ["geo.d_south", "South"],
                                                ["geo.d_e1", "East"], ["geo.d_e2", "East"]])  # fmt: skip
        c.load("spp.area", ["id", "draft_name", "code"], [
            ["geo.area_r1", "Region One", "R1"], ["geo.area_r2", "Region Two", "R2"],
        ])  # fmt: skip


def _mapping(tmp_path: Path) -> Path:
    mapping = household_mapping(
        "relational",
        "spp_rel_fields",
        date_order="day-first",
        person_fields={
            "Home District": "district",  # by its label
            "x_cst_indv_visited": "visited",
            "x_cst_indv_interviewed": "interviewed",
            "area_id": "area",
        },
    )
    return write_mapping(tmp_path / "relational.yaml", mapping)


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import") -> RunResult:
    return import_lines(sb, tmp_path / "people.csv", [HEADER, *rows], _mapping(tmp_path), mode)


def _people(sb: Sandbox) -> dict[str, dict]:
    fields = ["given_name", "area_id", *(s["name"] for s in CUSTOM)]
    with OdooClient(settings_for(sb)) as c:
        found = c.search_read("res.partner", [["is_group", "=", False], ["is_registrant", "=", True]], fields)
        areas = {r["id"]: r["code"] for r in c.search_read("spp.area", [], ["code"])}
    for person in found:
        person["visited"] = {areas[i] for i in person["x_cst_indv_visited"]}
    return {p["given_name"]: p for p in found}


ROWS = [
    'H1,Ramos household,P1,Ana,Ramos,north,"R1, Region Two",03/02/2026 14:30,geo.area_r2',
    "H1,Ramos household,P2,Ben,Ramos,geo.d_south,,04/02/2026,R1",
]


def test_relational_and_datetime_custom_fields_are_written_compared_and_updated(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, *ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        people = _people(sb)
        ana, ben = people["Ana"], people["Ben"]
        assert ana["x_cst_indv_district"][1] == "North"  # by name, case ignored
        assert ben["x_cst_indv_district"][1] == "South"  # by external id
        assert ana["visited"] == {"R1", "R2"} and ben["visited"] == set()
        assert ana["x_cst_indv_interviewed"] == "2026-02-03 14:30:00"
        assert ben["x_cst_indv_interviewed"] == "2026-02-04 00:00:00"  # a date alone: midnight
        assert ana["area_id"][1] == "R2 - Region Two"  # a standard many2one by external id too

        again = _run(sb, tmp_path, *ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}, again.report.rows["changes"].tolist()

        changed = [ROWS[0].replace('"R1, Region Two"', "R2").replace("14:30", "15:45"), ROWS[1]]
        dry = _run(sb, tmp_path, *changed, mode="dry-run")
        words = dry.report.rows.set_index("row").loc[2, "changes"]
        assert "'03/02/2026 14:30:00' → '03/02/2026 15:45:00'" in words, words
        updated = _run(sb, tmp_path, *changed)
        assert set(updated.report.rows["status"]) == {"updated", "unchanged"}
        ana = _people(sb)["Ana"]
        assert ana["visited"] == {"R2"} and ana["x_cst_indv_interviewed"] == "2026-02-03 15:45:00"


def test_unknown_ambiguous_or_bad_values_are_row_errors_and_nothing_of_the_row_is_written(
    tmp_path: Path,
) -> None:
    with Sandbox() as sb:
        _setup(sb)
        result = _run(
            sb,
            tmp_path,
            ROWS[0],
            "H2,Lee household,P3,Cy,Lee,Nort,,,",  # a typo of North
            "H3,Kim household,P4,Di,Kim,East,,,",  # two districts are called East
            "H4,Ode household,P5,Ed,Ode,,R9,,geo.area_r9",  # no such area, no such external id
            "H5,Pak household,P6,Fe,Pak,,,31/02/2026 10:00,",  # no 31 February
        )
        problems = result.report.problems
        codes = {(int(r), c) for r, c in zip(problems["row"], problems["code"], strict=True)}
        assert {(3, "unknown_code"), (4, "ambiguous_code"), (5, "unknown_code"), (6, "bad_date")} <= codes
        assert len(problems[(problems["row"] == 5) & (problems["code"] == "unknown_code")]) == 2
        hint = problems[(problems["row"] == 3)]["suggestion"].iloc[0]
        assert "North" in hint
        bad_date = problems[problems["code"] == "bad_date"]["message"].iloc[0]
        assert "a date like 31/12/1990 (day/month/year), then a time like 14:30" in bad_date
        assert set(_people(sb)) == {"Ana"}
