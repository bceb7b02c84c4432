"""Areas and tags: named in a cell by code or name, resolved once per run, sent as ids.

The server is the judge: what each person points at is read back from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import household_mapping, import_lines, settings_for, write_mapping

from importer.client import OdooClient
from importer.outcome import ImportFailure
from importer.pipeline import RunResult
from importer.sandbox import Sandbox

HEADER = "hh,hh_name,pid,given,family,area,tags"


def _setup(sb: Sandbox) -> None:
    """Two regions, one district named like a region elsewhere (ambiguous by name), two tags."""
    with OdooClient(settings_for(sb)) as c:
        c.load("spp.area", ["id", "draft_name", "code"], [
            ["t.r1", "Region One", "R1"], ["t.r2", "Region Two", "R2"],
            ["t.c1", "Central", "R1-C"], ["t.c2", "Central", "R2-C"],
        ])  # fmt: skip
        for name in ("Vulnerable", "Pilot 2026"):
            c.create("g2p.registrant.tags", {"name": name})


def _mapping(tmp_path: Path) -> Path:
    mapping = household_mapping(
        "areas",
        "spp_areas",
        household_fields={"area_id": "area"},
        person_fields={"area_id": "area", "tags_ids": "tags"},
    )
    return write_mapping(tmp_path / "areas.yaml", mapping)


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import") -> RunResult:
    return import_lines(sb, tmp_path / "people.csv", [HEADER, *rows], _mapping(tmp_path), mode)


def _person(sb: Sandbox, given: str) -> dict:
    with OdooClient(settings_for(sb)) as c:
        return c.search_read("res.partner", [["given_name", "=", given]], ["area_id", "tags_ids"])[0]


def _tag_names(sb: Sandbox, ids: list[int]) -> set[str]:
    with OdooClient(settings_for(sb)) as c:
        return {r["name"] for r in c.read("g2p.registrant.tags", ids, ["name"])}


def test_areas_by_code_or_name_and_several_tags_in_a_cell(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        rows = [
            'H1,Ramos household,P1,Ana,Ramos,R1,"Vulnerable, pilot 2026"',
            "H1,Ramos household,P2,Ben,Ramos,region two,",
        ]
        result = _run(sb, tmp_path, *rows)
        assert result.exit_code == 0, result.report.rows["reasons"].tolist()
        ana, ben = _person(sb, "Ana"), _person(sb, "Ben")
        assert ana["area_id"][1] == "R1 - Region One" and ben["area_id"][1] == "R2 - Region Two"
        assert _tag_names(sb, ana["tags_ids"]) == {"Vulnerable", "Pilot 2026"}
        assert ben["tags_ids"] == []

        again = _run(sb, tmp_path, *rows)  # tags compared as a set, areas by id: nothing to send
        assert set(again.report.rows["status"]) == {"unchanged"}

        moved = _run(sb, tmp_path, rows[0].replace(",R1,", ",R2,"), rows[1], mode="dry-run")
        changes = moved.report.rows.set_index("row").loc[2, "changes"]
        assert "'R1 - Region One' → 'R2 - Region Two'" in changes


def test_an_unknown_or_ambiguous_area_or_tag_is_a_row_error_never_a_guess(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        result = _run(
            sb,
            tmp_path,
            "H1,Ramos household,P1,Ana,Ramos,R1,Vulnerable",
            "H2,Lee household,P2,Ben,Lee,Central,",  # two districts are called Central
            "H3,Kim household,P3,Cy,Kim,R1,No Such Tag",
            "H4,Ode household,P4,Di,Ode,Region Nine,",
        )
        problems = result.report.problems
        codes = {(int(r), c) for r, c in zip(problems["row"], problems["code"], strict=True)}
        assert {(3, "ambiguous_code"), (4, "unknown_code"), (5, "unknown_code")} <= codes
        statuses = result.report.rows.set_index("row")["status"]
        assert statuses.to_dict() == {2: "created", 3: "failed", 4: "failed", 5: "failed"}
        with OdooClient(settings_for(sb)) as c:
            assert (
                c.search_count("res.partner", [["is_registrant", "=", True], ["is_group", "=", False]]) == 1
            )


def test_an_area_field_the_server_lacks_refuses_the_run_before_any_lookup(tmp_path: Path) -> None:
    """A server without spp_area has no area_id: one plain refusal, not a row error per person."""
    from importer.catalog import PARTNER, Catalog, fetch_linked_records
    from importer.mapping import load_mapping

    catalog = Catalog(fields={PARTNER: {"tags_ids": {"type": "many2many", "string": "Tags"}}}, online=True)
    with pytest.raises(ImportFailure, match="no field area_id on registrants"):
        fetch_linked_records(None, catalog, load_mapping(_mapping(tmp_path)))  # type: ignore[arg-type]
