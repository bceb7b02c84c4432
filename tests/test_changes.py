"""Every change shown before it is made: before → after in the CSV, the XLSX and --json; honest headlines.

The clerk runs the real command against the sandbox; the server is read
back to check that what the report promised is what it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.cli import main
from importer.client import OdooClient
from importer.report_xlsx import CHANGED_FILL
from importer.sandbox import READONLY_LOGIN, READONLY_PASSWORD, Sandbox

ROSTER = SAMPLES / "roster.csv"
MAPPING = str(MAPPINGS / "roster.yaml")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _import(capsys, path: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return _cli(capsys, "import", str(path), "-m", MAPPING, "--out", str(out), "--quiet", *extra)


def _report(out: Path, ext: str = "csv") -> Path:
    found = [p for p in out.glob(f"*.{ext}") if not p.name.endswith("-errors.csv")]
    assert len(found) == 1, found
    return found[0]


def _person(sb: Sandbox, person_id: str, fields: list[str]) -> dict:
    with OdooClient(settings_for(sb)) as c:
        ref = c.search_read("ir.model.data", [["name", "=", f"ind_{person_id}"]], ["res_id"])
        return c.read("res.partner", [ref[0]["res_id"]], fields)[0]


def _edited(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The sample roster with row 2's given name and date of birth changed, and one new person."""
    frame = pd.read_csv(ROSTER, dtype=str, keep_default_na=False)
    frame.loc[0, "given_name"] = "Minhh"
    frame.loc[0, "date_of_birth"] = "27/03/1950"
    new = frame.loc[[1]].assign(person_id="P9999999", given_name="Newly", national_id="9999999999")
    frame = pd.concat([frame, new], ignore_index=True)
    path = tmp_path / "roster.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_dry_run_names_each_change_before_to_after_in_csv_xlsx_and_json(
    server_env, tmp_path, capsys
) -> None:
    assert _import(capsys, ROSTER, tmp_path / "first")[0] == 0
    path, _frame = _edited(tmp_path)
    code, out, _err = _import(capsys, path, tmp_path / "dry", "--dry-run")
    assert code == 0
    assert "1 new, 1 to update (2 values change), 237 already there" in out
    rows = pd.read_csv(_report(tmp_path / "dry"), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    changed = rows[rows["changes"] != ""]
    assert changed["row"].tolist() == ["2"]
    assert (
        changed["changes"].iloc[0]
        == "given_name: 'Minh' → 'Minhh'; date_of_birth: '26/03/1950' → '27/03/1950'"
    )
    # the workbook marks the changed cells in their own colour, the server's old value in the comment
    ws = openpyxl.load_workbook(_report(tmp_path / "dry", "xlsx"))["roster"]
    headers = [c.value for c in ws[1]]
    given = ws.cell(row=2, column=headers.index("given_name") + 1)
    assert given.value == "Minhh"
    assert given.fill.start_color.rgb == CHANGED_FILL.start_color.rgb
    assert "'Minh'" in given.comment.text
    assert ws.cell(row=2, column=headers.index("family_name") + 1).comment is None  # unchanged: unmarked
    # --json counts the rows by fate, and the values
    code, out, _err = _import(capsys, path, tmp_path / "json", "--dry-run", "--json")
    changes = json.loads(out)["changes"]
    assert {k: changes[k] for k in ("new", "to_update", "unchanged", "values_change", "cleared")} == {
        "new": 1,
        "to_update": 1,
        "unchanged": 237,
        "values_change": 2,
        "cleared": 0,
    }
    assert _person(server_env, "P0000001", ["given_name"])["given_name"] == "Minh"  # nothing written yet

    code, out, _err = _import(capsys, path, tmp_path / "real")
    assert code == 0
    assert "1 added, 1 updated (2 values changed), 237 already there" in out
    rows = pd.read_csv(_report(tmp_path / "real"), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert rows.loc[rows["row"] == "2", "changes"].iloc[0].startswith("given_name: 'Minh' → 'Minhh'")
    person = _person(server_env, "P0000001", ["given_name", "birthdate", "name"])
    assert (person["given_name"], person["birthdate"], person["name"]) == (
        "Minhh",
        "1950-03-27",
        "RAMOS, MINHH",
    )


def test_an_unchanged_file_has_nothing_to_update(server_env, tmp_path, capsys) -> None:
    assert _import(capsys, ROSTER, tmp_path / "first")[0] == 0
    code, out, _err = _import(capsys, ROSTER, tmp_path / "again", "--dry-run", "--json")
    assert code == 0
    changes = json.loads(out)["changes"]
    assert (changes["new"], changes["to_update"], changes["unchanged"]) == (0, 0, 238)
    assert changes["headline"] == "0 new, 0 to update, 238 already there"


def test_a_changed_coded_value_shows_names_not_ids(server_env, tmp_path, capsys) -> None:
    assert _import(capsys, ROSTER, tmp_path / "first")[0] == 0
    frame = pd.read_csv(ROSTER, dtype=str, keep_default_na=False)
    frame.loc[frame["person_id"] == "P0000002", "sex"] = "M"
    old_id = frame.loc[frame["person_id"] == "P0000003", "national_id"].iloc[0]
    frame.loc[frame["person_id"] == "P0000003", "national_id"] = "1234567897"
    frame.to_csv(path := tmp_path / "roster.csv", index=False)
    code, _out, _err = _import(capsys, path, tmp_path / "real")
    assert code == 0
    rows = pd.read_csv(_report(tmp_path / "real"), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert rows.loc[rows["row"] == "3", "changes"].iloc[0] == "sex: 'Female' → 'Male'"  # names, not ids
    assert _person(server_env, "P0000002", ["gender"])["gender"] == "Male"
    assert rows.loc[rows["row"] == "4", "changes"].iloc[0] == f"national_id: '{old_id}' → '1234567897'"
    with OdooClient(settings_for(server_env)) as c:
        assert c.search_count("g2p.reg.id", [["value", "=", "1234567897"]]) == 1
        assert c.search_count("g2p.reg.id", [["value", "=", old_id]]) == 0


def test_a_header_only_file_is_no_rows_to_import_exit_2(server_env, tmp_path, capsys) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(ROSTER.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    for argv in (("import",), ("import", "--dry-run"), ("validate",)):
        code, out, err = _cli(capsys, argv[0], str(path), "-m", MAPPING, "--out", str(tmp_path), *argv[1:])
        assert code == 2
        assert err.startswith("spp-import: cannot run: no rows to import: empty.csv has a header"), err
        assert "went through" not in out + err


def test_a_report_with_no_rows_says_so_and_exits_2() -> None:
    from importer.report import build_report, summary_json, summary_text

    report = build_report([], None, [], mode="import", meta={})
    assert report.exit_code() == 2
    assert summary_text(report).splitlines()[1] == "no rows to import"
    assert summary_json(report)["changes"]["headline"] == "no rows to import"


def test_a_read_only_user_is_told_and_their_import_never_claims_to_have_gone_through(
    server_env, tmp_path, capsys, monkeypatch
) -> None:
    assert _import(capsys, ROSTER, tmp_path / "first")[0] == 0  # unchanged for the viewer: nothing to send
    monkeypatch.setenv("SPP_LOGIN", READONLY_LOGIN)
    monkeypatch.delenv("SPP_API_KEY")
    monkeypatch.setenv("SPP_PASSWORD", READONLY_PASSWORD)
    code, out, err = _import(capsys, ROSTER, tmp_path / "dry", "--dry-run")
    assert code == 0
    assert "may check files but not import them" in err
    path, _frame = _edited(tmp_path)
    for file in (ROSTER, path):  # an unchanged file would send nothing at all: still refused
        code, out, err = _import(capsys, file, tmp_path / f"real-{file.parent.name}")
        assert code == 2
        assert "may check files against the registry but not import them" in err
        assert "went through" not in out + err and "updated" not in out
    assert _person(server_env, "P0000001", ["given_name"])["given_name"] == "Minh"
    with OdooClient(settings_for(server_env)) as c:
        assert c.search_count("res.partner", [["name", "ilike", "NEWLY"]]) == 0
