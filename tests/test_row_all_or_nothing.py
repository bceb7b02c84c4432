"""A row is all or nothing: what is refused in any part of a row sends nothing of that row.

The server is the judge: after each import the registry is read back and
every record on it must be claimed by exactly one written row of the report,
while a ``failed`` or ``skipped`` row claims none.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from conftest import MAPPINGS, people_in, settings_for
from reliability_support import assert_accounted

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

HEADER = (
    "household_id,household_name,household_kind,person_id,given_name,family_name,sex,"
    "date_of_birth,relationship,national_id,phone"
)
SECOND_HEAD = "HH1,Ramos household,Household,P3,David,Ramos,M,05/01/1949,head,7332725978,"
GOOD = [
    "HH1,Ramos household,Household,P1,Minh,Ramos,M,26/03/1950,head,1156998806,",
    "HH1,Ramos household,Household,P2,Grace,Ramos,F,18/04/2003,spouse,5438728103,",
]


def _roster(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _import(sb: Sandbox, path: Path, tmp_path: Path, mode: str = "import"):
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode=mode, out_dir=tmp_path / "out")
    return run_import([path], options, settings_for(sb))


def _row(result, row: int) -> pd.Series:
    rows = result.report.rows
    return rows[rows["row"] == row].iloc[0]


def _partners(sb: Sandbox) -> set[str]:
    with OdooClient(settings_for(sb)) as c:
        return {r["name"] for r in c.search_read("res.partner", [["is_registrant", "=", True]], ["name"])}


def _ids(sb: Sandbox) -> set[str]:
    with OdooClient(settings_for(sb)) as c:
        return {r["value"] for r in c.search_read("g2p.reg.id", [], ["value"])}


def test_a_second_head_writes_neither_the_person_nor_the_id(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _roster(
        tmp_path, *GOOD, "HH1,Ramos household,Household,P3,David,Ramos,M,05/01/1949,head,7332725978,"
    )
    result = _import(sandbox, path, tmp_path)

    assert people_in(sandbox) == 2
    assert "RAMOS, DAVID" not in _partners(sandbox)
    assert "7332725978" not in _ids(sandbox)
    row = _row(result, 4)
    assert row["status"] == "failed"
    assert row["server_ids"] in ("", "nan") or pd.isna(row["server_ids"])
    assert "Head" in row["reasons"] and "whole or not at all" in row["reasons"]
    with OdooClient(settings_for(sandbox)) as c:
        assert_accounted(result.report.rows, 3, c, records=result.report.records, nothing_else=True)


def test_a_missing_household_number_writes_nothing_of_the_row(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _roster(tmp_path, *GOOD, ",,,P3,David,Ramos,M,05/01/1949,child,7332725978,")
    result = _import(sandbox, path, tmp_path)

    assert people_in(sandbox) == 2
    assert "7332725978" not in _ids(sandbox)
    assert _row(result, 4)["status"] == "failed"
    with OdooClient(settings_for(sandbox)) as c:
        assert_accounted(result.report.rows, 3, c, records=result.report.records, nothing_else=True)


def test_the_dry_run_says_the_same_and_writes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _roster(
        tmp_path, *GOOD, "HH1,Ramos household,Household,P3,David,Ramos,M,05/01/1949,head,7332725978,"
    )
    result = _import(sandbox, path, tmp_path, mode="dry-run")

    assert people_in(sandbox) == 0
    assert _row(result, 4)["status"] == "invalid"
    records = result.report.records
    held = records[(records["row"] == 4) & (records["entity"] == "individual")]
    assert held["status"].tolist() == ["skipped"]
    assert held["reasons"].str.startswith("would not be sent").all()


def test_a_household_whose_first_row_is_refused_is_still_written_for_the_others(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The household is claimed by the first row that is written, never by the refused row."""
    path = _roster(
        tmp_path,
        "HH1,Ramos household,Household,P1,Minh,Ramos,M,31/31/1950,head,1156998806,",
        "HH1,Ramos household,Household,P2,Grace,Ramos,F,18/04/2003,spouse,5438728103,",
        "HH1,Ramos household,Household,P3,Ana,Ramos,F,18/04/2005,child,,",
    )
    result = _import(sandbox, path, tmp_path)

    assert _partners(sandbox) == {"Ramos household", "RAMOS, GRACE", "RAMOS, ANA"}
    assert _row(result, 2)["status"] == "failed"
    assert "1156998806" not in _ids(sandbox)
    claimed = _row(result, 3)
    assert claimed["status"] == "created" and "grp_HH1" in claimed["external_ids"]
    assert "grp_HH1" not in str(_row(result, 2)["external_ids"])
    with OdooClient(settings_for(sandbox)) as c:
        members = c.search_count("g2p.group.membership", [])
        assert_accounted(result.report.rows, 3, c, records=result.report.records, nothing_else=True)
    assert members == 2


def test_a_household_only_its_refused_row_needed_is_not_written(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _roster(tmp_path, *GOOD, "HH2,Lee household,Household,P3,Jo,Lee,M,31/31/1950,head,7332725978,")
    result = _import(sandbox, path, tmp_path)

    assert "Lee household" not in _partners(sandbox)
    assert _row(result, 4)["status"] == "failed"
    with OdooClient(settings_for(sandbox)) as c:
        assert_accounted(result.report.rows, 3, c, records=result.report.records, nothing_else=True)


def test_a_household_with_a_bad_cell_holds_back_every_member_row(sandbox: Sandbox, tmp_path: Path) -> None:
    """No person is written into no household: the members' rows wait for their household."""
    path = _roster(
        tmp_path,
        *GOOD,
        "HH2,Lee household,Tribe,P3,Jo,Lee,M,01/01/1980,head,7332725978,",
        "HH2,Lee household,Tribe,P4,Mo,Lee,F,01/01/1982,spouse,,",
    )
    result = _import(sandbox, path, tmp_path)

    assert people_in(sandbox) == 2
    assert [_row(result, r)["status"] for r in (4, 5)] == ["failed", "skipped"]
    assert "household 'HH2'" in _row(result, 5)["reasons"]


def test_a_row_the_server_refuses_half_way_is_partly_written_and_a_rerun_completes_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The person's update commits in the first wave, the server then refuses the membership."""
    _import(sandbox, _roster(tmp_path, *GOOD), tmp_path)
    with OdooClient(settings_for(sandbox)) as c:  # someone replaced P1's membership by hand
        person = c.search_read("res.partner", [["given_name", "=", "Minh"]], ["id"])[0]["id"]
        mine = c.search_read("g2p.group.membership", [["individual", "=", person]], ["group"])[0]
        c.unlink("g2p.group.membership", [mine["id"]])
        by_hand = c.create("g2p.group.membership", {"group": mine["group"][0], "individual": person})
    renamed = [GOOD[0].replace("Minh", "Minhaj"), GOOD[1]]

    result = _import(sandbox, _roster(tmp_path, *renamed), tmp_path)

    row = _row(result, 2)
    assert row["status"] == "partly written", row["reasons"]
    assert "person 'P1'" in row["reasons"].split("not written")[0]
    assert "not written: the membership" in row["reasons"]
    assert "Duplication of Member" in row["reasons"]
    assert result.exit_code == 1
    with OdooClient(settings_for(sandbox)) as c:
        assert c.read("res.partner", [person], ["given_name"])[0]["given_name"] == "Minhaj"
        assert_accounted(result.report.rows, 2, c, records=result.report.records)
        c.unlink("g2p.group.membership", [by_hand])  # the fix
    again = _import(sandbox, _roster(tmp_path, *renamed), tmp_path)
    assert _row(again, 2)["status"] == "created"
    assert set(again.report.rows["status"]) <= {"created", "unchanged"}
    with OdooClient(settings_for(sandbox)) as c:
        assert c.search_count("g2p.group.membership", [["individual", "=", person]]) == 1
