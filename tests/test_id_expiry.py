"""IDs with an expiry date: each ID type's own column, and its expiry date column.

The server is the judge: each person's IDs and their expiry dates are read back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

HEADER = "pid,given,family,nid,passport,passport_until"
ROWS = ["P1,Ana,Ramos,1156998806,AB123456,31/12/2030", "P2,Ben,Ramos,5438728103,,"]


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import"):
    mapping = {
        "name": "ids",
        "namespace": "spp_ids",
        "date_order": "day-first",
        "entities": {
            "individual": {
                "key": "pid",
                "fields": {"given_name": "given", "family_name": "family"},
                "ids": {"National ID": "nid", "Passport": {"column": "passport", "expiry": "passport_until"}},
            }
        },
    }
    (tmp_path / "ids.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    path = tmp_path / "people.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "ids.yaml", mode=mode, write_files=False)
    return run_import([path], options, settings_for(sb))


def _ids(sb: Sandbox) -> set[tuple[str, str, str]]:
    with OdooClient(settings_for(sb)) as c:
        rows = c.search_read("g2p.reg.id", [], ["id_type", "value", "expiry_date"])
    return {(r["id_type"][1], r["value"], r["expiry_date"] or "") for r in rows}


def test_ids_keep_their_expiry_date_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        first = _run(sb, tmp_path, *ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _ids(sb) == {
            ("National ID", "1156998806", ""),
            ("Passport", "AB123456", "2030-12-31"),  # an expiry date may lie in the future
            ("National ID", "5438728103", ""),
        }
        again = _run(sb, tmp_path, *ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}

        moved = [ROWS[0].replace("31/12/2030", "31/12/2035"), ROWS[1]]
        dry = _run(sb, tmp_path, *moved, mode="dry-run")  # the expiry's own column, as the file writes it
        assert (
            dry.report.rows.set_index("row").loc[2, "changes"]
            == "passport_until: '31/12/2030' → '31/12/2035'"
        )
        renewed = _run(sb, tmp_path, ROWS[0].replace("31/12/2030", "31/12/2035"), ROWS[1])
        assert renewed.report.rows.set_index("row").loc[2, "status"] == "updated"
        assert ("Passport", "AB123456", "2035-12-31") in _ids(sb)


def test_a_bad_expiry_date_refuses_the_row_with_the_date_as_written(tmp_path: Path) -> None:
    with Sandbox() as sb:
        result = _run(sb, tmp_path, ROWS[0].replace("31/12/2030", "31/13/2030"), ROWS[1])
        bad = result.report.problems[result.report.problems["code"] == "bad_date"]
        assert bad[["row", "column", "value"]].values.tolist() == [[2, "passport_until", "31/13/2030"]]
        assert "day/month/year" in bad["message"].iloc[0]
        assert {v for _t, v, _e in _ids(sb)} == {"5438728103"}  # nothing of row 2 was written
