"""Bank accounts: each a res.partner.bank of its person, the bank named by BIC or name.

The server is the judge: accounts, their banks and their owners are read back from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

HEADER = "pid,given,family,account,bank,savings"
ROWS = ["P1,Ana,Ramos,0012-3456-7890,RURLPHMM,SA-998", "P2,Ben,Ramos,7788,Metro Bank,"]


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import"):
    people = {
        "key": "pid",
        "fields": {"given_name": "given", "family_name": "family"},
        "bank_accounts": [{"account": "account", "bank": "bank"}, "savings"],
    }
    mapping = {"name": "banks", "namespace": "spp_banks", "entities": {"individual": people}}
    (tmp_path / "banks.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    path = tmp_path / "people.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "banks.yaml", mode=mode, write_files=False)
    return run_import([path], options, settings_for(sb))


def _banks(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        c.create("res.bank", {"name": "Rural Bank", "bic": "RURLPHMM"})
        c.create("res.bank", {"name": "Metro Bank", "bic": "MBTCPHMM"})


def _accounts(sb: Sandbox) -> set[tuple[str, str, str]]:
    """(owner's given name, account number, bank's name) as the registry holds them."""
    with OdooClient(settings_for(sb)) as c:
        people = {r["id"]: r["given_name"] for r in c.search_read("res.partner", [], ["given_name"])}
        rows = c.search_read("res.partner.bank", [], ["partner_id", "acc_number", "bank_id"])
        names = {r["id"]: r["name"] for r in c.search_read("res.bank", [], ["name"])}
    return {
        (people[r["partner_id"][0]], r["acc_number"], names[r["bank_id"][0]] if r["bank_id"] else "")
        for r in rows
    }


def test_accounts_with_their_banks_are_written_once(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _banks(sb)
        first = _run(sb, tmp_path, *ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert _accounts(sb) == {
            ("Ana", "0012-3456-7890", "Rural Bank"),  # the bank by its BIC
            ("Ana", "SA-998", ""),
            ("Ben", "7788", "Metro Bank"),  # the bank by its name
        }
        again = _run(sb, tmp_path, *ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}
        moved = _run(sb, tmp_path, ROWS[0].replace("RURLPHMM", "Metro Bank"), ROWS[1], mode="dry-run")
        # the bank's own column, the bank as the clerk names it (not the id it is sent as)
        assert (
            moved.report.rows.set_index("row").loc[2, "changes"]
            == "bank: 'Rural Bank - RURLPHMM' → 'Metro Bank'"
        )


def test_an_unknown_bank_or_the_same_account_twice_refuses_the_row(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _banks(sb)
        result = _run(
            sb,
            tmp_path,
            ROWS[0],
            "P2,Ben,Ramos,7788,Nowhere Bank,",
            "P3,Cy,Ramos,55-66,Rural Bank,5566",  # the same account, written two ways
        )
        codes = {
            (int(r), c)
            for r, c in zip(result.report.problems["row"], result.report.problems["code"], strict=True)
        }
        assert {(3, "unknown_code"), (4, "duplicate_account")} <= codes
        statuses = result.report.rows.set_index("row")["status"].to_dict()
        assert statuses == {2: "created", 3: "failed", 4: "failed"}
        assert {owner for owner, _a, _b in _accounts(sb)} == {"Ana"}


def test_the_template_has_the_account_and_bank_columns_with_notes(tmp_path: Path) -> None:
    import openpyxl

    from importer.template import write_template

    people = {
        "key": "pid",
        "fields": {"given_name": "given", "family_name": "family"},
        "bank_accounts": [{"account": "account", "bank": "bank"}],
        "phones": [{"column": "mobile", "collected": "surveyed"}],
    }
    mapping = {"name": "banks", "namespace": "spp_banks", "entities": {"individual": people}}
    (tmp_path / "banks.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    path = write_template(tmp_path / "banks.yaml", tmp_path / "blank.xlsx", None)
    sheet = openpyxl.load_workbook(path).active
    headers = {c.value: c.comment.text if c.comment else "" for c in sheet[1]}
    assert {"account", "bank", "mobile", "surveyed"} <= set(headers)
    assert "BIC" in headers["bank"] and "phone number" in headers["mobile"] and "date" in headers["surveyed"]
