"""A person's phone numbers: several per person, each a g2p.phone.number with its own external id.

The server is the judge: the numbers, their dates and their owner are read back from it.
"""

from __future__ import annotations

from pathlib import Path

from conftest import household_mapping, import_lines, settings_for, write_mapping

from importer.client import OdooClient
from importer.pipeline import RunResult
from importer.sandbox import Sandbox

HEADER = "hh,hh_name,pid,given,family,role,phone,mobile,surveyed"
ROWS = [
    "H1,Ramos household,P1,Ana,Ramos,head,0970 4291706,+63 917 555 0101,03/02/2026",
    "H1,Ramos household,P2,Ben,Ramos,,,0935 1012030,",
]


def _mapping(tmp_path: Path) -> Path:
    mapping = household_mapping("phones", "spp_phones", date_order="day-first")
    # several numbers a person, one with the date it was collected; the Head by the role column
    mapping["entities"]["individual"]["phones"] = ["phone", {"column": "mobile", "collected": "surveyed"}]
    mapping["entities"]["membership"]["fields"] = {"kind": "role"}
    mapping["values"] = {"membership.kind": {"head": "Head"}}
    return write_mapping(tmp_path / "phones.yaml", mapping)


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import") -> RunResult:
    return import_lines(sb, tmp_path / "people.csv", [HEADER, *rows], _mapping(tmp_path), mode)


def _phones(sb: Sandbox) -> dict[str, set[tuple[str, str]]]:
    """Given name -> {(number, date collected)} as the registry holds them."""
    with OdooClient(settings_for(sb)) as c:
        people = {
            r["id"]: r["given_name"]
            for r in c.search_read("res.partner", [["is_group", "=", False]], ["given_name"])
        }
        out: dict[str, set[tuple[str, str]]] = {}
        for r in c.search_read("g2p.phone.number", [], ["partner_id", "phone_no", "date_collected"]):
            out.setdefault(people[r["partner_id"][0]], set()).add((r["phone_no"], r["date_collected"] or ""))
        return out


def test_several_phones_per_person_are_written_once_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        first = _run(sb, tmp_path, *ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        with OdooClient(settings_for(sb)) as c:  # no collection date in the file: the server's (today)
            today = c.execute_kw("g2p.phone.number", "default_get", [["date_collected"]])["date_collected"]
        assert today
        assert _phones(sb) == {
            "Ana": {("0970 4291706", today), ("+63 917 555 0101", "2026-02-03")},
            "Ben": {("0935 1012030", today)},
        }
        counts = first.report.records.query("entity == 'phone'")["status"].value_counts().to_dict()
        assert counts == {"created": 3}

        again = _run(sb, tmp_path, *ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert "g2p.phone.number.load" not in again.report.meta["calls"]

        fixed = _run(sb, tmp_path, ROWS[0].replace("0970 4291706", "0970 4291707"), ROWS[1])
        assert fixed.report.rows.set_index("row").loc[2, "status"] == "updated"
        assert ("0970 4291707", today) in _phones(sb)["Ana"] and len(_phones(sb)["Ana"]) == 2  # date kept


def test_a_bad_phone_refuses_its_row_whole_and_a_refused_row_writes_no_phone(tmp_path: Path) -> None:
    with Sandbox() as sb:
        result = _run(
            sb,
            tmp_path,
            ROWS[0],
            "H1,Ramos household,P2,Ben,Ramos,,call me,0935 1012030,",  # not a phone number
            "H1,Ramos household,P3,Cy,Ramos,head,0911 222333,,",  # a second Head
        )
        problems = result.report.problems
        bad = problems[problems["code"] == "bad_phone"]
        assert bad[["row", "column", "value"]].values.tolist() == [[3, "phone", "call me"]]
        statuses = result.report.rows.set_index("row")["status"].to_dict()
        assert statuses == {2: "created", 3: "failed", 4: "failed"}
        assert set(_phones(sb)) == {"Ana"}  # neither Ben's good mobile nor Cy's phone was written
