"""Relationships between registrants (g2p.reg.rel) from a sheet: person, related person, type, since.

The server is the judge: who is related to whom, and how, is read back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

PEOPLE = ["pid,given,family", "P1,Ana,Ramos", "P2,Ben,Ramos", "P3,Cy,Ramos"]
LINKS = ["person,related,type,since", "P1,P2,Spouse,01/06/2015", "P1,P3,Parent,"]


HOUSEHOLDS = ["hid,hname", "H1,Ramos family"]


def _setup(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        sides = {"source_type": "i", "destination_type": "i"}
        c.create(
            "g2p.relationship", {"name": "Spouse", "name_inverse": "Spouse", "bidirectional": True, **sides}
        )
        c.create("g2p.relationship", {"name": "Parent", "name_inverse": "Child", **sides})
        # a person to a household, as a programme's "head of" relation would be
        c.create(
            "g2p.relationship",
            {"name": "Heads", "name_inverse": "Headed by", "source_type": "i", "destination_type": "g"},
        )


def _run(
    sb: Sandbox,
    tmp_path: Path,
    links: list[str],
    people: list[str] = PEOPLE,
    households: list[str] | None = None,
    mode: str = "import",
    values: dict | None = None,
):
    mapping: dict = {
        "name": "links",
        "namespace": "spp_links",
        "date_order": "day-first",
        "entities": {
            "individual": {
                "file": "people*.csv",
                "key": "pid",
                "fields": {"given_name": "given", "family_name": "family"},
            },
            "relationship": {
                "file": "links*.csv",
                "source": "person",
                "destination": "related",
                "fields": {"relation": "type", "start_date": "since"},
            },
        },
    }
    if values is not None:
        mapping["values"] = values
    files = [tmp_path / "people.csv", tmp_path / "links.csv"]
    if households is not None:
        mapping["entities"]["group"] = {"file": "households*.csv", "key": "hid", "fields": {"name": "hname"}}
        (tmp_path / "households.csv").write_text("\n".join(households) + "\n", encoding="utf-8")
        files.append(tmp_path / "households.csv")
    (tmp_path / "links.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    (tmp_path / "people.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    (tmp_path / "links.csv").write_text("\n".join(links) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "links.yaml", mode=mode, write_files=False)
    return run_import(files, options, settings_for(sb))


def _relations(sb: Sandbox) -> set[tuple[str, str, str, str]]:
    with OdooClient(settings_for(sb)) as c:
        names = {
            r["id"]: r["given_name"] or r["name"]
            for r in c.search_read("res.partner", [], ["given_name", "name"])
        }
        rows = c.search_read("g2p.reg.rel", [], ["source", "destination", "relation", "start_date"])
    return {
        (names[r["source"][0]], r["relation"][1], names[r["destination"][0]], (r["start_date"] or "")[:10])
        for r in rows
    }


def test_relationships_are_written_once_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, LINKS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01"), ("Ana", "Parent", "Cy", "")}
        again = _run(sb, tmp_path, LINKS)
        assert set(again.report.rows["status"]) == {"unchanged"}


def test_the_servers_rules_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        links = [
            *LINKS,
            "P2,P2,Spouse,",  # to oneself
            "P1,P2,spouse,",  # the same relationship again
            "P1,P9,Parent,",  # nobody in the file or on the server
            "P2,P3,Cousin,",  # no such relationship type
        ]
        result = _run(sb, tmp_path, links)
        problems = result.report.problems
        rows = result.report.rows
        links_rows = rows[rows["file"] == "links.csv"].set_index("row")["status"].to_dict()
        assert links_rows == {2: "created", 3: "created", 4: "failed", 5: "failed", 6: "failed", 7: "failed"}
        codes = set(zip(problems["row"].astype(int), problems["code"], strict=True))
        assert {
            (4, "related_to_self"),
            (5, "duplicate_relationship"),
            (6, "unknown_registrant"),
            (7, "unknown_code"),
        } <= codes
        assert len(_relations(sb)) == 2


def test_a_refused_person_holds_back_their_relationships(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        result = _run(sb, tmp_path, LINKS, people=[*PEOPLE[:3], "P3,,Ramos"])  # Cy: no given name
        records = result.report.records
        rel = records[records["entity"] == "relationship"].set_index("key")["status"]
        assert rel.to_dict() == {"P1__spouse__P2": "created", "P1__parent__P3": "skipped"}
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01")}


def _link_rows(result) -> dict[int, str]:
    rows = result.report.rows
    return rows[rows["file"] == "links.csv"].set_index("row")["status"].to_dict()


def _codes(result) -> set[tuple[int, str]]:
    problems = result.report.problems
    return set(zip(problems["row"].astype(int), problems["code"], strict=True))


def test_a_type_written_by_its_inverse_name_is_the_same_record_the_other_way_round(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, ["person,related,type,since", "P3,P1,child,"])  # Cy is Ana's child
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _relations(sb) == {("Ana", "Parent", "Cy", "")}
        # the same fact from the other end is the record already there: nothing is sent
        again = _run(sb, tmp_path, ["person,related,type,since", "P1,P3,Parent,"])
        assert _link_rows(again) == {2: "unchanged"}
        dated = _run(sb, tmp_path, ["person,related,type,since", "P3,P1,Child,01/02/2020"])
        assert _link_rows(dated) == {2: "updated"}
        assert _relations(sb) == {("Ana", "Parent", "Cy", "2020-02-01")}


def test_a_pair_written_from_both_ends_is_refused_once_before_sending(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        links = [
            "person,related,type,since",
            "P1,P3,Parent,",
            "P3,P1,Child,",  # the same as row 2, from Cy's side
            "P1,P2,Spouse,",
            "P2,P1,spouse,",  # a spouse is a spouse both ways
        ]
        result = _run(sb, tmp_path, links)
        assert _link_rows(result) == {2: "created", 3: "failed", 4: "created", 5: "failed"}
        assert {(3, "duplicate_relationship"), (5, "duplicate_relationship")} <= _codes(result)
        assert _relations(sb) == {("Ana", "Parent", "Cy", ""), ("Ana", "Spouse", "Ben", "")}


def test_ends_that_do_not_fit_the_types_sides_are_refused_before_sending(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        links = [
            "person,related,type,since",
            "P1,H1,Heads,",  # a person heads a household: fits
            "P2,H1,Parent,",  # Parent is between two people
            "H1,P2,Heads,",  # the household on the person's side
            "H1,P3,Headed by,",  # by its inverse name: Cy heads H1, fits
        ]
        result = _run(sb, tmp_path, links, households=HOUSEHOLDS)
        assert _link_rows(result) == {2: "created", 3: "failed", 4: "failed", 5: "created"}
        problems = result.report.problems
        wrong = problems[problems["code"] == "wrong_side"].set_index("row")
        assert sorted(wrong.index) == [3, 4]
        assert wrong.loc[3, "column"] == "type"
        assert (
            "'Parent' relates a person (column 'person') to a person (column 'related')"
            in wrong.loc[3, "message"]
        )
        assert "a person (column 'person') to a household (column 'related')" in wrong.loc[4, "message"]
        assert _relations(sb) == {("Ana", "Heads", "Ramos family", ""), ("Cy", "Heads", "Ramos family", "")}
        # checked on the client: no load of the relationships was refused by the server
        assert "This registrant is not applicable" not in " ".join(result.report.rows["reasons"].astype(str))


def test_a_dry_run_says_the_same_without_writing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        links = ["person,related,type,since", "P2,H1,Parent,", "P3,P1,Child,"]
        result = _run(sb, tmp_path, links, households=HOUSEHOLDS, mode="dry-run")
        assert _link_rows(result) == {2: "invalid", 3: "valid"}
        assert (2, "wrong_side") in _codes(result)
        assert _relations(sb) == set()


def test_a_type_is_matched_whatever_its_case_and_accents_by_name_or_inverse_name(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        links = ["person,related,type,since", "P1,P2,  spouse ,", "P1,P3,PARENT,", "P3,P2,chíld,"]
        result = _run(sb, tmp_path, links)
        assert result.exit_code == 0, result.report.problems["message"].tolist()
        assert _relations(sb) == {
            ("Ana", "Spouse", "Ben", ""),
            ("Ana", "Parent", "Cy", ""),
            ("Ben", "Parent", "Cy", ""),
        }


def test_the_mappings_values_name_the_types_in_the_clerks_words(tmp_path: Path) -> None:
    """``values: relationship.relation`` reads "Épouse" as Spouse and "enfant" as Child (the inverse of
    Parent, so the ends are swapped): the server holds the types, and a re-run sends nothing."""
    values = {"relationship.relation": {"Épouse": "Spouse", "Enfant": "Child"}}
    links = ["person,related,type,since", "P1,P2,epouse,01/06/2015", "P3,P1,ENFANT,"]
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, links, values=values)
        assert first.exit_code == 0, first.report.problems["message"].tolist()
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01"), ("Ana", "Parent", "Cy", "")}
        assert set(_run(sb, tmp_path, links, values=values).report.rows["status"]) == {"unchanged"}


def test_a_file_whose_every_relationship_is_refused_says_why_and_writes_the_people(tmp_path: Path) -> None:
    """No relationship left to send is a stage with no rows, not a traceback (it was one)."""
    with Sandbox() as sb:
        _setup(sb)
        result = _run(sb, tmp_path, ["person,related,type,since", "P1,P2,Mari,"])
        assert result.exit_code != 0
        assert any("Mari" in m for m in result.report.problems["message"]), result.report.problems
        assert _relations(sb) == set()
        with OdooClient(settings_for(sb)) as c:
            people = c.search_read("res.partner", [["is_registrant", "=", True]], ["given_name"])
        assert sorted(p["given_name"] for p in people) == ["Ana", "Ben", "Cy"]


def test_a_changed_date_is_shown_under_the_clerks_column_as_the_file_writes_dates(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        assert _run(sb, tmp_path, LINKS).exit_code == 0
        moved = [LINKS[0], "P1,P2,Spouse,01/07/2016", LINKS[2]]
        dry = _run(sb, tmp_path, moved, mode="dry-run")
        rows = dry.report.rows
        changes = rows[rows["file"] == "links.csv"].set_index("row")["changes"].to_dict()
        assert changes[2] == "since: '01/06/2015' → '01/07/2016'", changes
        assert changes[3] == ""
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01"), ("Ana", "Parent", "Cy", "")}


def test_an_empty_date_cell_keeps_the_servers_date_unless_the_run_clears(tmp_path: Path) -> None:
    """As every other field: an empty cell on an update leaves the server's value alone."""
    with Sandbox() as sb:
        _setup(sb)
        assert _run(sb, tmp_path, LINKS).exit_code == 0
        emptied = [LINKS[0], "P1,P2,Spouse,", LINKS[2]]
        kept = _run(sb, tmp_path, emptied)
        assert set(kept.report.rows["status"]) == {"unchanged"}
        assert _relations(sb) == {("Ana", "Spouse", "Ben", "2015-06-01"), ("Ana", "Parent", "Cy", "")}
        files = [tmp_path / "people.csv", tmp_path / "links.csv"]
        options = ImportOptions(mapping=tmp_path / "links.yaml", write_files=False, empty_cells="clear")
        cleared = run_import(files, options, settings_for(sb))  # asked for: the date is erased
        rows = cleared.report.rows
        assert (
            rows[rows["file"] == "links.csv"].set_index("row")["changes"][2]
            == "since: '01/06/2015' → (cleared)"
        )
        assert _relations(sb) == {("Ana", "Spouse", "Ben", ""), ("Ana", "Parent", "Cy", "")}
