"""An empty cell of a record a person owns (a phone's collection date, an ID's expiry, an
account's bank) erases nothing nobody asked to erase.

A new phone number with no collection date gets the server's own default (as a phone added
in the registry's form does); a re-run whose cell is empty, or whose table has no column for
it, leaves the server's date or bank as it is; ``--empty-cells clear`` clears only what a
mapped column leaves empty.  The server is the judge: every value is read back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.sandbox import Sandbox

PHONES = "pid,given,family,phone,mobile,surveyed"
IDS = "pid,given,family,nid,passport,passport_until"
BANKS = "pid,given,family,account,bank"


def _run(sb: Sandbox, tmp_path: Path, people: dict, lines: list[str], empty_cells: str = "keep") -> RunResult:
    mapping = {
        "name": "owned",
        "namespace": "spp_owned",
        "date_order": "day-first",
        "entities": {
            "individual": {"key": "pid", "fields": {"given_name": "given", "family_name": "family"}, **people}
        },
    }
    (tmp_path / "owned.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "owned.yaml", write_files=False, empty_cells=empty_cells)
    return run_import([path], options, settings_for(sb))


def _held(sb: Sandbox, model: str, value: str, field: str) -> dict[str, str]:
    """``value`` -> ``field`` of every record of ``model``, as the server holds it ("" for none)."""
    with OdooClient(settings_for(sb)) as c:
        rows = c.search_read(model, [], [value, field])
    return {r[value]: (r[field][1] if isinstance(r[field], list) else r[field] or "") for r in rows}


def _set(sb: Sandbox, model: str, domain: list, values: dict) -> None:
    """What someone changed in the registry's own screens meanwhile."""
    with OdooClient(settings_for(sb)) as c:
        c.write(model, c.search(model, domain), values)


def _server_default_date(sb: Sandbox) -> str:
    """The collection date the server gives a number added without one (its own default)."""
    with OdooClient(settings_for(sb)) as c:
        someone = c.create("res.partner", {"name": "Probe", "is_registrant": True})
        probe = c.create("g2p.phone.number", {"partner_id": someone, "phone_no": "0900 000 0000"})
        [held] = c.read("g2p.phone.number", [probe], ["date_collected"])
        c.unlink("g2p.phone.number", [probe])
        c.unlink("res.partner", [someone])
    assert held["date_collected"], "the server gives a new phone number a collection date"
    return held["date_collected"]


PHONE_PEOPLE = {"phones": ["phone", {"column": "mobile", "collected": "surveyed"}]}
ANAS = [["phone_no", "in", ["0970 4291706", "0917 555 0101"]]]
PHONE_ROWS = [PHONES, "P1,Ana,Ramos,0970 4291706,0917 555 0101,", "P2,Ben,Ramos,,0935 1012030,03/02/2026"]


def test_a_new_phone_without_a_collection_date_gets_the_servers_default(tmp_path: Path) -> None:
    with Sandbox() as sb:
        today = _server_default_date(sb)
        first = _run(sb, tmp_path, PHONE_PEOPLE, PHONE_ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _held(sb, "g2p.phone.number", "phone_no", "date_collected") == {
            "0970 4291706": today,  # no "collected" column for this phone
            "0917 555 0101": today,  # its collected cell is empty
            "0935 1012030": "2026-02-03",
        }


def test_an_empty_or_unmapped_collection_date_keeps_the_servers_date_on_a_rerun(tmp_path: Path) -> None:
    with Sandbox() as sb:
        assert _run(sb, tmp_path, PHONE_PEOPLE, PHONE_ROWS).exit_code == 0
        _set(sb, "g2p.phone.number", ANAS, {"date_collected": "2025-05-05"})
        again = _run(sb, tmp_path, PHONE_PEOPLE, PHONE_ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert "g2p.phone.number.load" not in again.report.meta["calls"]
        assert _held(sb, "g2p.phone.number", "phone_no", "date_collected") == {
            "0970 4291706": "2025-05-05",
            "0917 555 0101": "2025-05-05",
            "0935 1012030": "2026-02-03",
        }

        # a changed number is sent, without the empty date: the server's date stays
        changed = [PHONES, "P1,Ana,Ramos,0970 4291799,0917 555 0199,", PHONE_ROWS[2]]
        assert _run(sb, tmp_path, PHONE_PEOPLE, changed).exit_code == 0
        assert _held(sb, "g2p.phone.number", "phone_no", "date_collected") == {
            "0970 4291799": "2025-05-05",
            "0917 555 0199": "2025-05-05",
            "0935 1012030": "2026-02-03",
        }


def test_clearing_empties_only_a_collection_date_a_mapped_column_leaves_empty(tmp_path: Path) -> None:
    with Sandbox() as sb:
        assert _run(sb, tmp_path, PHONE_PEOPLE, PHONE_ROWS).exit_code == 0
        _set(sb, "g2p.phone.number", ANAS, {"date_collected": "2025-05-05"})
        cleared = _run(sb, tmp_path, PHONE_PEOPLE, PHONE_ROWS, empty_cells="clear")
        assert cleared.exit_code == 0, cleared.report.rows["reasons"].tolist()
        assert _held(sb, "g2p.phone.number", "phone_no", "date_collected") == {
            "0970 4291706": "2025-05-05",  # no collected column: nobody asked
            "0917 555 0101": "",  # the surveyed cell is empty and the run clears
            "0935 1012030": "2026-02-03",
        }


ID_PEOPLE = {"ids": {"National ID": "nid", "Passport": {"column": "passport", "expiry": "passport_until"}}}


def test_an_empty_expiry_cell_keeps_the_servers_expiry_date(tmp_path: Path) -> None:
    with Sandbox() as sb:
        dated = [IDS, "P1,Ana,Ramos,1156998806,AB123456,31/12/2030"]
        assert _run(sb, tmp_path, ID_PEOPLE, dated).exit_code == 0
        with OdooClient(settings_for(sb)) as c:  # the national ID's expiry, set in the registry
            c.write(
                "g2p.reg.id",
                c.search("g2p.reg.id", [["value", "=", "1156998806"]]),
                {"expiry_date": "2031-01-01"},
            )
        undated = [IDS, "P1,Ana,Ramos,1156998806,AB123456,"]
        again = _run(sb, tmp_path, ID_PEOPLE, undated)
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert _held(sb, "g2p.reg.id", "value", "expiry_date") == {
            "1156998806": "2031-01-01",
            "AB123456": "2030-12-31",
        }

        renumbered = [IDS, "P1,Ana,Ramos,1156998807,AB123457,"]  # sent, without the empty expiry
        assert _run(sb, tmp_path, ID_PEOPLE, renumbered).exit_code == 0
        assert _held(sb, "g2p.reg.id", "value", "expiry_date") == {
            "1156998807": "2031-01-01",
            "AB123457": "2030-12-31",
        }

        cleared = _run(sb, tmp_path, ID_PEOPLE, renumbered, empty_cells="clear")
        assert cleared.exit_code == 0, cleared.report.rows["reasons"].tolist()
        # the passport's expiry column is empty: cleared; the national ID has no expiry column: kept
        assert _held(sb, "g2p.reg.id", "value", "expiry_date") == {"1156998807": "2031-01-01", "AB123457": ""}


def test_an_empty_bank_cell_keeps_the_accounts_bank(tmp_path: Path) -> None:
    people = {"bank_accounts": [{"account": "account", "bank": "bank"}]}
    with Sandbox() as sb:
        with OdooClient(settings_for(sb)) as c:
            c.create("res.bank", {"name": "Rural Bank", "bic": "RURLPHMM"})
        assert _run(sb, tmp_path, people, [BANKS, "P1,Ana,Ramos,0012-3456,RURLPHMM"]).exit_code == 0
        again = _run(sb, tmp_path, people, [BANKS, "P1,Ana,Ramos,0012-3456,"])
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert _held(sb, "res.partner.bank", "acc_number", "bank_id") == {
            "0012-3456": "Rural Bank - RURLPHMM"
        }
