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


def _setup(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        sides = {"source_type": "i", "destination_type": "i"}
        c.create(
            "g2p.relationship", {"name": "Spouse", "name_inverse": "Spouse", "bidirectional": True, **sides}
        )
        c.create("g2p.relationship", {"name": "Parent", "name_inverse": "Child", **sides})


def _run(sb: Sandbox, tmp_path: Path, links: list[str], people: list[str] = PEOPLE):
    mapping = {
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
    (tmp_path / "links.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    (tmp_path / "people.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    (tmp_path / "links.csv").write_text("\n".join(links) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "links.yaml", write_files=False)
    return run_import([tmp_path / "people.csv", tmp_path / "links.csv"], options, settings_for(sb))


def _relations(sb: Sandbox) -> set[tuple[str, str, str, str]]:
    with OdooClient(settings_for(sb)) as c:
        names = {r["id"]: r["given_name"] for r in c.search_read("res.partner", [], ["given_name"])}
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
