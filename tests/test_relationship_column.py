"""Relationships from a roster's relationship columns (``individual.relationships``).

A related cell on a person's row is one g2p.reg.rel, part of that row like the person's
phones: keyed as a relationships sheet's row is, held back with its row, and holding the
row back when it is refused. The server is the judge: relationships are read back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for
from test_relationships import _relations, _setup

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

HEADER = "pid,given,family,spouse,since,guardian,gkind"
ROSTER = [
    HEADER,
    "P1,Ana,Ramos,P2,01/06/2015,,",
    "P2,Ben,Ramos,P1,01/06/2015,,",  # the same marriage from Ben's row: one record
    "P3,Cy,Ramos,,,P1,Child",  # "P3 Child P1" is "P1 Parent P3"
]
PERSON = {
    "file": "people*.csv",
    "key": "pid",
    "fields": {"given_name": "given", "family_name": "family"},
    "relationships": [
        {"related": "spouse", "relation": "Spouse", "start_date": "since"},
        {"related": "guardian", "relation": {"column": "gkind"}},
    ],
}


def _run(
    sb: Sandbox, tmp_path: Path, people: list[str], links: list[str] | None = None, mode: str = "import"
):
    entities: dict = {"individual": PERSON}
    files = [tmp_path / "people.csv"]
    if links is not None:  # a relationships sheet beside the roster's columns
        entities["relationship"] = {
            "file": "links*.csv",
            "source": "person",
            "destination": "related",
            "fields": {"relation": "type", "start_date": "from"},
        }
        (tmp_path / "links.csv").write_text("\n".join(links) + "\n", encoding="utf-8")
        files.append(tmp_path / "links.csv")
    mapping = {"name": "roster", "namespace": "spp_links", "date_order": "day-first", "entities": entities}
    (tmp_path / "roster.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    (tmp_path / "people.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "roster.yaml", mode=mode, write_files=False)
    return run_import(files, options, settings_for(sb))


def _rows(result, file: str = "people.csv") -> dict[int, str]:
    rows = result.report.rows
    return rows[rows["file"] == file].set_index("row")["status"].to_dict()


def _problems(result) -> dict[tuple[str, int], tuple[str, str, str]]:
    problems = result.report.problems
    return {
        (p.file, int(p.row)): (p.code, p.column, p.message)
        for p in problems.itertuples()
        if p.severity == "error"
    }


def test_a_roster_column_writes_relationships_once_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, ROSTER)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _rows(first) == {2: "created", 3: "created", 4: "created"}
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01"), ("Ana", "Parent", "Cy", "")}
        records = first.report.records
        assert sorted(records.loc[records["entity"] == "relationship", "key"]) == [
            "P1__parent__P3",
            "P1__spouse__P2",
        ]  # Ben's row repeats Ana's marriage: the same record, claimed by Ana's row

        again = _run(sb, tmp_path, ROSTER)
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert "g2p.reg.rel.load" not in again.report.meta["calls"]

        later = [ROSTER[0], *(line.replace("2015", "2016") for line in ROSTER[1:])]
        moved = _run(sb, tmp_path, later)
        assert _rows(moved) == {2: "updated", 3: "unchanged", 4: "unchanged"}
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2016-06-01"), ("Ana", "Parent", "Cy", "")}


def test_each_refused_relationship_refuses_its_row_with_the_cell_that_says_why(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        roster = [
            HEADER,
            "P1,Ana,Ramos,P2,01/06/2015,P3,Parent",  # row 2: "P1 Parent P3"
            "P2,Ben,Ramos,P1,01/06/2015,,",  # row 3
            "P3,Cy,Ramos,,,P1,Child",  # row 4: the same parenthood again, from Cy's row
            "P4,Dee,Ramos,P4,,,",  # row 5: married to herself
            "P5,Eve,Ramos,P9,,,",  # row 6: nobody in the file or on the server
            "P6,Fay,Ramos,,,P1,Heads",  # row 7: "Heads" takes a household, P1 is a person
            "P7,Gil,Ramos,P8,01/06/2015,,",  # row 8
            "P8,Hal,Ramos,P7,01/06/2016,,",  # row 9: the same marriage with another date
            "P10,Ivy,Ramos,P11,,,",  # row 10: her spouse's row is refused
            "P11,,Ramos,P10,,,",  # row 11: no given name
            "P20,Jo,Lee,P21,,,",  # rows 12-14: nothing wrong
            "P21,Kim,Lee,P20,,,",
            "P22,Lou,Lee,,,P20,Child",
        ]
        result = _run(sb, tmp_path, roster)
        assert _rows(result) == {
            2: "skipped", 3: "skipped", 4: "failed", 5: "failed", 6: "failed", 7: "failed",
            8: "skipped", 9: "failed", 10: "skipped", 11: "failed", 12: "created", 13: "created",
            14: "created",
        }  # fmt: skip
        found = _problems(result)
        assert found[("people.csv", 4)][:2] == ("duplicate_relationship", "guardian")
        assert found[("people.csv", 5)] == (
            "related_to_self",
            "spouse",
            "a registrant cannot be related to themself ('P4')",
        )
        assert found[("people.csv", 6)][:2] == ("unknown_registrant", "spouse")
        assert "'P9'" in found[("people.csv", 6)][2]
        code, column, message = found[("people.csv", 7)]
        assert (code, column) == ("wrong_side", "gkind")
        assert "a person (column 'pid') to a household (column 'guardian')" in message
        assert found[("people.csv", 9)][:2] == ("duplicate_relationship", "spouse")
        for row in (2, 3, 8, 10):  # their own cells are fine: held back with the person they name
            assert ("people.csv", row) not in found
        records = result.report.records.set_index(["entity", "key"])
        ivy = records[(records["row"] == 10)].loc["relationship"]  # her row's relationship
        assert ivy["reasons"].tolist() == ["not sent: its related person 'P11' is refused"]
        ana = records[records["row"] == 2].loc["relationship"]["reasons"].to_dict()
        assert ana["P1__parent__P3"] == "not sent: its related person 'P3' is refused"
        assert records.loc[("individual", "P10"), "status"] == "skipped"

        assert _relations(sb) == {("Jo", "Spouse", "Kim", ""), ("Jo", "Parent", "Lou", "")}
        written = {r["given_name"] for r in _people(sb)}
        assert written == {"Jo", "Kim", "Lou"}  # nothing of a refused or held row was sent
        dry = _run(sb, tmp_path, roster, mode="dry-run")
        assert _rows(dry)[10] == "skipped" and _rows(dry)[5] == "invalid"


def _people(sb: Sandbox) -> list[dict]:
    with OdooClient(settings_for(sb)) as c:
        return c.search_read("res.partner", [["is_registrant", "=", True]], ["given_name"])


def test_a_pair_from_the_roster_and_from_a_sheet_is_one_record(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        plain = [HEADER, "P1,Ana,Ramos,,,,", "P2,Ben,Ramos,,,,"]
        by_sheet = _run(sb, tmp_path, plain, ["person,related,type,from", "P2,P1,Spouse,01/06/2015"])
        assert by_sheet.exit_code == 0, by_sheet.report.rows["reasons"].tolist()
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01")}

        # the layout moves to the roster's column: the record already there, nothing sent
        by_column = _run(sb, tmp_path, ROSTER[:3], ["person,related,type,from"])
        assert _rows(by_column) == {2: "unchanged", 3: "unchanged"}
        assert "g2p.reg.rel.load" not in by_column.report.meta["calls"]

        # both at once: the sheet's row repeats the roster's and is refused, quoting the sheet
        both = _run(sb, tmp_path, ROSTER[:3], ["person,related,type,from", "P1,P2,spouse,01/06/2015"])
        assert _rows(both, "links.csv") == {2: "failed"}
        assert _problems(both)[("links.csv", 2)][:2] == ("duplicate_relationship", "related")
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01")}


def test_a_fixed_type_the_server_lacks_refuses_the_mapping_before_any_row(tmp_path: Path) -> None:
    from importer.outcome import ImportFailure

    with Sandbox() as sb:
        _setup(sb)
        PERSON["relationships"][0]["relation"] = "Spuse"
        try:
            _run(sb, tmp_path, ROSTER)
        except ImportFailure as exc:
            assert "no relationship type 'Spuse'" in exc.message and "'spouse'" in exc.message
        else:
            raise AssertionError("the mapping was not refused")
        finally:
            PERSON["relationships"][0]["relation"] = "Spouse"


def test_a_changed_date_is_shown_under_each_tables_own_column(tmp_path: Path) -> None:
    """A roster's "since" and a relationships sheet's "from" are the same field, two headers."""
    links = ["person,related,type,from", "P1,P3,Parent,01/01/2020"]
    roster = [*ROSTER[:3], "P3,Cy,Ramos,,,,"]
    with Sandbox() as sb:
        _setup(sb)
        assert _run(sb, tmp_path, roster, links).exit_code == 0
        roster = [r.replace("01/06/2015", "02/06/2015") for r in roster]
        dry = _run(sb, tmp_path, roster, ["person,related,type,from", "P1,P3,Parent,02/01/2020"], "dry-run")
        rows = dry.report.rows.set_index(["file", "row"])["changes"]
        assert rows[("people.csv", 2)] == "since: '01/06/2015' → '02/06/2015'"
        assert rows[("links.csv", 2)] == "from: '01/01/2020' → '02/01/2020'"
        assert _relations(sb) == {
            ("Ana", "Spouse", "Ben", "2015-06-01"),
            ("Ana", "Parent", "Cy", "2020-01-01"),
        }
