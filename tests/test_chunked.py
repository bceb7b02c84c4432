"""Chunked runs (importer.chunked) report and write exactly what a run of the whole file does.

Tiny chunks (7 rows) force many of them, with whole-file problems planted
across chunk boundaries; the per-row report and the sandbox's state are
compared with an unchunked run of the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for

from bench.common import roster_frame
from importer.client import OdooClient
from importer.mapping import load_mapping
from importer.pipeline import ImportOptions, _run_chunked, run_import
from importer.sandbox import Sandbox

LAYOUTS = {
    "roster-xlsx": (["roster.xlsx"], "roster.yaml"),
    "roster-csv": (["roster.csv"], "roster.yaml"),
    "workbook": (["workbook.xlsx"], "workbook.yaml"),
    "csv-files": (["households.csv", "individuals.csv", "memberships.csv"], "csv-files.yaml"),
}
COMPARED = ["file", "sheet", "row", "status", "entities", "external_ids", "reasons", "changes"]


def planted_roster(path: Path) -> Path:
    """A generated roster with whole-file errors that straddle 7-row chunks.

    - person P0000003 again on a row 90 rows later, in another household (duplicate_key);
    - a national ID given again 60 rows later (duplicate_id);
    - household HH-000002's rows scattered: one of them moved to the end, as a second head;
    - a membership row naming a person key used by a later household's row.
    """
    frame = roster_frame(60, 11).astype(str)
    frame = frame.replace("nan", "")
    frame.loc[95 % len(frame), "person_id"] = frame.loc[2, "person_id"]
    with_id = frame.index[frame["national_id"] != ""]
    frame.loc[with_id[-1], "national_id"] = frame.loc[with_id[0], "national_id"]
    second = frame[frame["household_id"] == "HH-000002"].iloc[[-1]].copy()
    second["relationship"] = "head"
    frame = frame.drop(index=second.index)
    frame = pd.concat([frame, second], ignore_index=True)
    frame.to_csv(path, index=False)
    return path


def _rows(csv: Path) -> pd.DataFrame:
    """The per-row report in file order; a row's entities as a set.

    The entities cell lists a row's kinds of record in the order the run first
    met each kind (report._join_few), a whole-run artefact: the set is compared.
    """
    rows = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rows["entities"] = rows["entities"].map(lambda text: "; ".join(sorted(text.split("; "))))
    return (
        rows[COMPARED]
        .sort_values(["file", "sheet", "row"], key=lambda s: s.str.zfill(9))
        .reset_index(drop=True)
    )


def _errors(csv: Path) -> pd.DataFrame:
    errors = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return errors.sort_values(list(errors.columns)).reset_index(drop=True)


def _run(files, mapping, out: Path, mode: str, chunk_rows: int, sb: Sandbox | None = None):
    options = ImportOptions(mapping=MAPPINGS / mapping, mode=mode, out_dir=out, chunk_rows=chunk_rows)
    return run_import(files, options, settings_for(sb) if sb is not None else None)


def _server_state(sb: Sandbox) -> dict[str, list[tuple]]:
    """Every registrant, ID and membership the server holds, named by their external ids."""
    with OdooClient(settings_for(sb)) as c:
        names = {
            (r["model"], r["res_id"]): r["name"]
            for r in c.search_read("ir.model.data", [["module", "!=", "base"]], ["name", "model", "res_id"])
        }

        def xid(model: str, value) -> str:
            return names.get((model, value[0] if value else 0), "")

        partners = c.search_read(
            "res.partner", [["is_registrant", "=", True]], ["name", "is_group", "birthdate", "gender"]
        )
        ids = c.search_read("g2p.reg.id", [], ["partner_id", "value"])
        members = c.search_read("g2p.group.membership", [], ["group", "individual", "kind"])
    return {
        "partners": sorted(
            (
                names.get(("res.partner", p["id"]), ""),
                p["name"],
                p["is_group"],
                str(p["birthdate"]),
                str(p["gender"]),
            )
            for p in partners
        ),
        "ids": sorted((xid("res.partner", i["partner_id"]), i["value"]) for i in ids),
        "members": sorted(
            (xid("res.partner", m["group"]), xid("res.partner", m["individual"]), len(m["kind"] or []))
            for m in members
        ),
    }


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_shipped_samples_validate_alike_in_chunks(layout: str, tmp_path: Path) -> None:
    names, mapping = LAYOUTS[layout]
    files = [SAMPLES / n for n in names]
    whole = _run(files, mapping, tmp_path / "whole", "validate", 0)
    chunked = _run(files, mapping, tmp_path / "chunked", "validate", 40)  # 238 rows: 6 chunks or more
    assert chunked.report.meta.get("chunks"), "the chunked path was not taken"
    assert "chunks" not in whole.report.meta
    pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))
    pd.testing.assert_frame_equal(_errors(chunked.files["errors_csv"]), _errors(whole.files["errors_csv"]))
    assert chunked.exit_code == whole.exit_code
    pd.testing.assert_frame_equal(chunked.report.counts(), whole.report.counts(), check_dtype=False)


def test_whole_file_errors_across_chunks_are_found_as_in_one_run(tmp_path: Path) -> None:
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    codes = set(whole.report.problems["code"])
    assert {"duplicate_key", "duplicate_id", "second_head"} <= codes  # the planted errors are there
    assert chunked.report.meta["chunks"]
    pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))
    pd.testing.assert_frame_equal(_errors(chunked.files["errors_csv"]), _errors(whole.files["errors_csv"]))
    assert chunked.exit_code == whole.exit_code == 1
    assert chunked.report.problem_totals() == whole.report.problem_totals()
    assert chunked.report.fates == whole.report.fates


@pytest.mark.parametrize("layout", ["roster-csv", "csv-files"])
def test_chunked_import_leaves_the_server_as_one_run_does(layout: str, tmp_path: Path) -> None:
    names, mapping = LAYOUTS[layout]
    files = [SAMPLES / n for n in names]
    with Sandbox() as one, Sandbox() as many:
        whole = _run(files, mapping, tmp_path / "whole", "import", 0, one)
        chunked = _run(files, mapping, tmp_path / "chunked", "import", 40, many)
        assert _server_state(many) == _server_state(one)
        assert _server_state(many)["partners"]  # something was written
        pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))
        again = _run(files, mapping, tmp_path / "again", "import", 40, many)  # a re-run finds every record
        assert set(_rows(again.files["csv"])["status"]) == {"unchanged"}
        assert _server_state(many) == _server_state(one)


def test_planted_errors_import_alike_and_dry_run_alike(tmp_path: Path) -> None:
    roster = planted_roster(tmp_path / "planted.csv")
    with Sandbox() as one, Sandbox() as many:
        whole = _run([roster], "roster.yaml", tmp_path / "whole", "import", 0, one)
        chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "import", 7, many)
        assert _server_state(many) == _server_state(one)
        pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))
        dry_whole = _run([roster], "roster.yaml", tmp_path / "dw", "dry-run", 0, one)
        dry_chunked = _run([roster], "roster.yaml", tmp_path / "dc", "dry-run", 7, one)
        pd.testing.assert_frame_equal(_rows(dry_chunked.files["csv"]), _rows(dry_whole.files["csv"]))


class _Killed(Exception):
    pass


def test_a_stopped_run_leaves_the_report_of_the_chunks_done(tmp_path: Path) -> None:
    roster = SAMPLES / "roster.csv"
    done: list[int] = []

    def fault(chunk: int) -> None:
        done.append(chunk)
        if len(done) == 3:
            raise _Killed

    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode="import", out_dir=tmp_path, chunk_rows=7)
    with Sandbox() as sb:
        with pytest.raises(_Killed):
            _run_chunked(
                [roster],
                options,
                settings_for(sb),
                None,
                load_mapping(MAPPINGS / "roster.yaml"),
                "spp_import",
                lambda *_: None,
                datetime.now(UTC),
                after_chunk=fault,
            )
        (report,) = [p for p in tmp_path.glob("*.csv") if not p.stem.endswith("-errors")]
        rows = _rows(report)
        assert 7 <= len(rows) < 238  # three chunks' rows, not the file's
        assert set(rows["status"]) == {"created"}
        with OdooClient(settings_for(sb)) as c:  # what the report says was written, the server holds
            people = c.search_count("res.partner", [["is_registrant", "=", True], ["is_group", "=", False]])
        assert people == rows["entities"].str.contains("individual").sum()


@pytest.mark.parametrize("damage", ["ragged", "cp1252"])
def test_a_file_that_cannot_be_streamed_is_read_whole(damage: str, tmp_path: Path) -> None:
    """A row wider than the header, or a file to convert from Windows-1252: the whole-file path."""
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    if damage == "ragged":
        lines[20] += ",one cell too many"
    else:
        lines[5] = lines[5].replace(lines[5].split(",")[4], "José", 1)
    path = tmp_path / "damaged.csv"
    path.write_bytes("\n".join(lines).encode("utf-8" if damage == "ragged" else "cp1252"))
    whole = _run([path], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([path], "roster.yaml", tmp_path / "chunked", "validate", 7)
    assert "chunks" not in chunked.report.meta  # read whole, with the reader's own warnings
    pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))
    assert len(list((tmp_path / "chunked").glob("*-audit.jsonl"))) == 1  # the abandoned attempt left none


def test_the_command_line_summary_of_a_chunked_run_counts_every_row(tmp_path: Path, capsys) -> None:
    import json

    from importer.cli import main

    roster = planted_roster(tmp_path / "planted.csv")
    args = ["validate", str(roster), "-m", str(MAPPINGS / "roster.yaml"), "--json", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "whole"), "--chunk-rows", "0"]) == 1
    whole = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", str(tmp_path / "chunked"), "--chunk-rows", "7"]) == 1
    chunked = json.loads(capsys.readouterr().out)
    assert chunked["meta"]["chunks"]["count"] > 5
    for key in ("counts", "input_rows", "changes", "errors", "warnings", "exit_code"):
        assert chunked[key] == whole[key], key


def test_a_server_not_set_up_refuses_the_chunked_run_before_any_chunk_is_written(tmp_path: Path) -> None:
    from importer.outcome import ImportFailure

    with Sandbox(bare=True) as sb:
        with pytest.raises(ImportFailure) as info:
            _run([SAMPLES / "roster.csv"], "roster.yaml", tmp_path, "import", 7, sb)
        assert "no gender types configured" in info.value.message
        assert not [p for p in tmp_path.glob("*.csv")]  # refused before the first chunk's report
        with OdooClient(settings_for(sb)) as c:
            assert c.search_count("res.partner", [["is_registrant", "=", True]]) == 0


def test_all_or_nothing_in_chunks_writes_nothing_when_another_chunk_has_an_error(tmp_path: Path) -> None:
    roster = planted_roster(tmp_path / "planted.csv")
    options = dict(mapping=MAPPINGS / "roster.yaml", mode="import", all_or_nothing=True)
    with Sandbox() as one, Sandbox() as many:
        whole = run_import([roster], ImportOptions(**options, out_dir=tmp_path / "w"), settings_for(one))
        chunked = run_import(
            [roster], ImportOptions(**options, out_dir=tmp_path / "c", chunk_rows=7), settings_for(many)
        )
        assert _server_state(many) == _server_state(one) == {"partners": [], "ids": [], "members": []}
        pd.testing.assert_frame_equal(_rows(chunked.files["csv"]), _rows(whole.files["csv"]))


def _summary_lines(report) -> list[str]:
    """The terminal's summary of a run, without the report files' paths (they differ by run)."""
    from importer.report import summary_text

    text = summary_text(report)
    return [line for line in text.splitlines() if "/" not in line and line != "Reports:"]


def test_a_chunked_report_keeps_numbers_not_lines_and_says_what_a_whole_run_says(tmp_path: Path) -> None:
    """The summary of a chunked run comes from numbers added up per chunk (RowFacts), not kept lines."""
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    assert chunked.report.meta["chunks"]["count"] > 5
    assert len(chunked.report.rows) == 0 and len(chunked.report.records) == 0  # the lines are in the CSV
    lines = pd.read_csv(chunked.files["csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    facts = chunked.report.row_facts()
    assert facts.total == len(lines) == len(whole.report.rows)
    assert facts.by_status == lines["status"].value_counts().to_dict()
    assert facts == whole.report.row_facts()
    assert chunked.report.records_not_through() == whole.report.records_not_through() > 0
    assert _summary_lines(chunked.report) == _summary_lines(whole.report)
    assert chunked.exit_code == whole.exit_code == 1


def test_row_facts_of_parts_add_up_to_the_facts_of_the_whole() -> None:
    """Blank rows neither hold data nor count against the run; every other status adds up per chunk."""
    from importer.report import EMPTY_ROW_REASON, STATUS_ORDER, RowFacts

    rows = pd.DataFrame(
        {
            "status": ["valid", "invalid", "skipped", "skipped", "created", "failed", "unchanged"],
            "reasons": ["", "bad date", EMPTY_ROW_REASON, "its household failed", "", "refused", ""],
        }
    )
    whole = RowFacts.of(rows)
    assert whole.total == 7
    assert whole.with_data == 6  # all but the blank row
    assert whole.not_through == 3  # invalid, the skipped row with data, failed
    assert list(whole.by_status) == [s for s in STATUS_ORDER if s in whole.by_status]  # the summary's order
    for cut in range(len(rows) + 1):
        assert RowFacts.of(rows.iloc[:cut]) + RowFacts.of(rows.iloc[cut:]) == whole
    blank_only = RowFacts.of(rows.iloc[[2]])
    assert blank_only.total == 1 and blank_only.with_data == 0 and blank_only.not_through == 0


def test_a_chunked_run_stopped_mid_write_says_what_the_server_holds(tmp_path: Path) -> None:
    """A stop in a later chunk: exit code 2, and 'Written before the stop' counts what the server has."""
    from reliability_support import CallHook

    from importer.report import summary_text

    roster = SAMPLES / "roster.csv"
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode="import", out_dir=tmp_path, chunk_rows=40)
    with Sandbox() as sb:
        CallHook(sb, "load:individual", nth=3, action=options.load.stop.set)  # in the third chunk
        result = run_import([roster], options, settings_for(sb))
        assert result.exit_code == 2 and result.stopped
        assert result.report.meta["chunks"]["count"] > 3
        registrants = [["is_registrant", "=", True]]
        with OdooClient(settings_for(sb)) as c:
            households = c.search_count("res.partner", [*registrants, ["is_group", "=", True]])
            people = c.search_count("res.partner", [*registrants, ["is_group", "=", False]])
    assert 0 < people < 238  # some chunks written, not all
    assert f"Written before the stop: {households} households, {people} people" in summary_text(result.report)
