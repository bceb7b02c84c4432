"""IDs from a long-format sheet: one row per ID (person, type, number, expiry date).

The server is the judge: each person's IDs are read back from it. A row of the IDs sheet
is a report row of its own, and the same ID given by a person's own column or by the
sheet is the same record (one external id per person and type).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for
from openpyxl import Workbook

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

PEOPLE = ["pid,given,family,nid", "P1,Ana,Ramos,", "P2,Ben,Ramos,"]
IDS = [
    "person,type,number,until",
    "P1,National ID,1156998806,",
    "P1,passport,AB123456,31/12/2030",  # the type as a clerk writes it; an expiry may lie ahead
    "P2,national id,5438728103,",
]


def _run(
    sb: Sandbox | None,
    tmp_path: Path,
    ids: list[str],
    people: list[str] | None = PEOPLE,
    *,
    nid_column: bool = False,
    mode: str = "import",
    allowed: dict | None = None,
    xlsx: bool = False,
    values: dict | None = None,
):
    person: dict = {
        "file": "people*.csv",
        "key": "pid",
        "fields": {"given_name": "given", "family_name": "family"},
    }
    if nid_column:
        person["ids"] = {"National ID": "nid"}
    entities: dict = {"individual": person} if people is not None else {}
    entities["reg_id"] = {
        "file": "ids*.xlsx" if xlsx else "ids*.csv",
        "individual": "person",
        "fields": {"id_type": "type", "value": "number", "expiry_date": "until"},
    }
    mapping: dict = {
        "name": "idsheet",
        "namespace": "spp_idsheet",
        "date_order": "day-first",
        "entities": entities,
    }
    if allowed:
        mapping["allowed"] = allowed
    if values:
        mapping["values"] = values
    (tmp_path / "ids.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    if xlsx:  # a cell beginning with "=" is saved as a formula, without its value
        book = Workbook()
        for line in ids:
            book.active.append(line.split(","))
        book.save(tmp_path / "ids.xlsx")
    else:
        (tmp_path / "ids.csv").write_text("\n".join(ids) + "\n", encoding="utf-8")
    files = [tmp_path / ("ids.xlsx" if xlsx else "ids.csv")]
    if people is not None:
        (tmp_path / "people.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
        files.insert(0, tmp_path / "people.csv")
    options = ImportOptions(mapping=tmp_path / "ids.yaml", mode=mode, write_files=False)
    return run_import(files, options, settings_for(sb) if sb is not None else None)


def _ids(sb: Sandbox) -> set[tuple[str, str, str, str]]:
    with OdooClient(settings_for(sb)) as c:
        rows = c.search_read("g2p.reg.id", [], ["partner_id", "id_type", "value", "expiry_date"])
        names = {r["id"]: r["given_name"] for r in c.search_read("res.partner", [], ["given_name"])}
    return {(names[r["partner_id"][0]], r["id_type"][1], r["value"], r["expiry_date"] or "") for r in rows}


def _sheet_rows(result) -> dict[int, str]:
    rows = result.report.rows
    return rows[rows["file"].str.startswith("ids.")].set_index("row")["status"].to_dict()


def _codes(result) -> set[tuple[int, str]]:
    problems = result.report.problems
    mine = problems[problems["file"].str.startswith("ids.")]
    return set(zip(mine["row"].astype(int), mine["code"], strict=True))


def test_ids_from_a_sheet_are_written_after_their_person_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        first = _run(sb, tmp_path, IDS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _sheet_rows(first) == {2: "created", 3: "created", 4: "created"}
        assert _ids(sb) == {
            ("Ana", "National ID", "1156998806", ""),
            ("Ana", "Passport", "AB123456", "2030-12-31"),
            ("Ben", "National ID", "5438728103", ""),
        }
        again = _run(sb, tmp_path, IDS)
        assert set(again.report.rows["status"]) == {"unchanged"}

        renewed = _run(sb, tmp_path, [*IDS[:2], IDS[2].replace("2030", "2035"), IDS[3]])
        assert _sheet_rows(renewed) == {2: "unchanged", 3: "updated", 4: "unchanged"}
        assert ("Ana", "Passport", "AB123456", "2035-12-31") in _ids(sb)
        assert len(_ids(sb)) == 3  # updated in place, not added


def test_an_id_from_a_column_and_from_the_sheet_is_one_record(tmp_path: Path) -> None:
    with Sandbox() as sb:
        by_column = _run(
            sb, tmp_path, IDS[:1], ["pid,given,family,nid", "P1,Ana,Ramos,1156998806"], nid_column=True
        )
        assert by_column.exit_code == 0, by_column.report.rows["reasons"].tolist()
        # the layout changes to a sheet: the same ID is the record already there, nothing is sent
        by_sheet = _run(sb, tmp_path, IDS[:2], ["pid,given,family,nid", "P1,Ana,Ramos,"], nid_column=True)
        assert _sheet_rows(by_sheet) == {2: "unchanged"}
        assert _ids(sb) == {("Ana", "National ID", "1156998806", "")}
        # both at once: the sheet's row repeats the column's ID and is refused before sending
        both = _run(
            sb,
            tmp_path,
            [IDS[0], "P1,National ID,2156998806,"],
            ["pid,given,family,nid", "P1,Ana,Ramos,1156998806"],
            nid_column=True,
        )
        assert _sheet_rows(both) == {2: "failed"}
        assert _codes(both) == {(2, "duplicate_id")}
        assert _ids(sb) == {("Ana", "National ID", "1156998806", "")}


def test_each_refused_id_is_a_row_error_and_nothing_of_it_is_sent(tmp_path: Path) -> None:
    with Sandbox() as sb:
        ids = [
            *IDS,
            "P2,Passport,ab-12,",  # not a passport number
            "P1,Drivers licence,X1,",  # no such ID type
            "P1,National ID,2156998806,",  # Ana's second National ID
            "P9,Passport,ZZ999999,",  # nobody in the file or on the server
            "P3,Passport,CD123456,31/02/2030",  # no such date
            "P3,National ID,,",  # no number
        ]
        result = _run(sb, tmp_path, ids, [*PEOPLE, "P3,Cy,Ramos,"])
        assert _sheet_rows(result) == {
            2: "created", 3: "created", 4: "created",
            5: "failed", 6: "failed", 7: "failed", 8: "failed", 9: "failed", 10: "failed",
        }  # fmt: skip
        assert _codes(result) == {
            (5, "bad_id"),
            (6, "unknown_code"),
            (7, "duplicate_id"),
            (8, "unknown_registrant"),
            (9, "bad_date"),
            (10, "missing_reference"),
        }
        problems = result.report.problems.set_index("row")
        assert problems.loc[5, "message"].startswith("'ab-12' is not a valid Passport: expected ")
        assert problems.loc[5, "column"] == "number"
        assert problems.loc[6, "suggestion"] is not None and "National ID" in problems.loc[6, "suggestion"]
        assert "person 'P1' is given a National ID more than once" in problems.loc[7, "message"]
        assert "'P9'" in problems.loc[8, "message"]
        assert _ids(sb) == {
            ("Ana", "National ID", "1156998806", ""),
            ("Ana", "Passport", "AB123456", "2030-12-31"),
            ("Ben", "National ID", "5438728103", ""),
        }
        assert set(result.report.rows.query("file == 'people.csv'")["status"]) == {"created"}


def test_a_refused_person_skips_their_ids_with_the_reason(tmp_path: Path) -> None:
    with Sandbox() as sb:
        result = _run(sb, tmp_path, IDS, ["pid,given,family,nid", "P1,Ana,Ramos,", "P2,,Ramos,"])
        rows = result.report.rows.set_index(["file", "row"])
        assert rows.loc[("people.csv", 3), "status"] == "failed"  # Ben has no given name
        assert rows.loc[("ids.csv", 4), "status"] == "skipped"
        assert "its person 'P2' was not written" in rows.loc[("ids.csv", 4), "reasons"]
        assert "no given name" in rows.loc[("ids.csv", 4), "reasons"]
        assert _ids(sb) == {
            ("Ana", "National ID", "1156998806", ""),
            ("Ana", "Passport", "AB123456", "2030-12-31"),
        }


def test_ids_for_people_already_imported_need_no_people_sheet(tmp_path: Path) -> None:
    with Sandbox() as sb:
        assert _run(sb, tmp_path, IDS[:1]).exit_code == 0
        later = _run(sb, tmp_path, ["person,type,number,until", "P2,Passport,CD123456,"], people=None)
        assert _sheet_rows(later) == {2: "created"}
        assert ("Ben", "Passport", "CD123456", "") in _ids(sb)


def test_offline_validation_checks_types_only_against_the_mappings_list(tmp_path: Path) -> None:
    ids = [*IDS, "P1,Drivers licence,X1,"]
    unlisted = _run(None, tmp_path, ids, mode="validate")
    assert (5, "unknown_code") not in _codes(unlisted)
    listed = _run(None, tmp_path, ids, mode="validate", allowed={"id_type": ["National ID", "Passport"]})
    assert _codes(listed) == {(5, "unknown_code")}


def test_a_cell_error_on_a_row_of_the_ids_sheet_holds_that_row_back(tmp_path: Path) -> None:
    with Sandbox() as sb:
        result = _run(sb, tmp_path, [*IDS[:3], "P2,National ID,5438728103,=TODAY()+365"], xlsx=True)
        assert _sheet_rows(result)[4] == "failed"
        assert _codes(result) == {(4, "formula_no_value")}  # the expiry cell, read as empty: valid
        records = result.report.records.set_index("key")
        assert records.loc["P2__national_id", "status"] == "skipped"  # held back with its row
        assert {person for person, *_ in _ids(sb)} == {"Ana"}  # nothing of Ben's row was sent


def test_a_type_by_the_mappings_alias_is_the_same_record_as_by_its_name(tmp_path: Path) -> None:
    with Sandbox() as sb:
        assert _run(sb, tmp_path, IDS[:2]).exit_code == 0
        aliased = _run(
            sb,
            tmp_path,
            ["person,type,number,until", "P1,NID,1156998806,"],
            values={"reg_id.id_type": {"NID": "National ID"}},
        )
        assert _sheet_rows(aliased) == {2: "unchanged"}
        assert _ids(sb) == {("Ana", "National ID", "1156998806", "")}


def test_one_number_given_to_two_people_is_refused_on_each_row_as_an_id_column_refuses_it(
    tmp_path: Path,
) -> None:
    with Sandbox() as sb:
        ids = [
            *IDS,
            "P3,national id,5438728103,",  # Ben's National ID (row 4), given to Cy too
            "P3,Passport,AB123456,",  # Ana's passport (row 3), given to Cy too
        ]
        people = ["pid,given,family,nid", "P1,Ana,Ramos,", "P2,Ben,Ramos,", "P3,Cy,Ramos,", "P4,Dee,Ramos,"]
        result = _run(sb, tmp_path, ids, people)
        assert _sheet_rows(result) == {2: "created", 3: "failed", 4: "failed", 5: "failed", 6: "failed"}
        assert _codes(result) == {
            (3, "duplicate_id"),
            (4, "duplicate_id"),
            (5, "duplicate_id"),
            (6, "duplicate_id"),
        }
        problems = result.report.problems.set_index("row")
        assert (
            problems.loc[5, "message"]
            == "national id '5438728103' is given to more than one person in this file"
        )
        assert problems.loc[5, "column"] == "number"
        assert _ids(sb) == {("Ana", "National ID", "1156998806", "")}

    with Sandbox() as sb:  # a person's ID column and another person's sheet row: both refused
        people = ["pid,given,family,nid", "P1,Ana,Ramos,", "P2,Ben,Ramos,", "P4,Dee,Ramos,5438728103"]
        result = _run(sb, tmp_path, IDS, people, nid_column=True)
        rows = result.report.rows.set_index(["file", "row"])["status"]
        assert rows[("ids.csv", 4)] == "failed" and rows[("people.csv", 4)] == "failed"
        problems = result.report.problems.set_index(["file", "row"])
        assert problems.loc[("people.csv", 4), "code"] == "duplicate_id"
        assert (
            problems.loc[("people.csv", 4), "message"]
            == "nid '5438728103' is given to more than one person in this file"
        )
        assert problems.loc[("ids.csv", 4), "code"] == "duplicate_id"
        assert {person for person, *_ in _ids(sb)} == {"Ana"}
        assert rows[("people.csv", 3)] == "created"  # Ben's row carries no problem

    with Sandbox() as sb:  # one person giving one number in a column and on the sheet is one holder
        people = ["pid,given,family,nid", "P1,Ana,Ramos,", "P2,Ben,Ramos,5438728103"]
        result = _run(sb, tmp_path, IDS, people, nid_column=True)
        problems = result.report.problems.set_index(["file", "row"])
        assert "given a national id more than once" in problems.loc[("ids.csv", 4), "message"]
        assert ("people.csv", 3) not in problems.index  # Ben's own column is not refused
