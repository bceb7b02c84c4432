"""The report joins records and problems back to every input row, one status each."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from importer.outcome import Problem, RecordOutcome, Status
from importer.read import SourceTable
from importer.report import (
    EMPTY_ROW_REASON,
    NO_RECORD_REASON,
    RunReport,
    build_report,
    errors_csv_path,
    summary_json,
    summary_text,
    write_csv,
)

#: The reader's own table type, header on row 1 (the report tests build frames by hand).
Table = partial(SourceTable, header_row=1)


def table(path: str, rows: dict[int, list[str]], columns: list[str], sheet: str | None = None) -> Table:
    frame = pd.DataFrame(list(rows.values()), columns=columns, index=pd.Index(list(rows), name="row"))
    return Table(Path(path), sheet, frame)


def roster() -> Table:
    """A flat household roster: one row is a person *and* a membership (and maybe a group)."""
    return table(
        "data/roster.xlsx",
        {
            2: ["H1", "P1", "Ann", "F"],
            3: ["H1", "P2", "Bob", "X"],
            4: ["", "", "", ""],
            5: ["H2", "P3", "Cy", "M"],
            6: ["H2", "", "", ""],
        },
        ["Household", "Person", "Name", "Sex"],
        sheet="People",
    )


def rec(entity: str, key: str, row: int | None, status: Status, **kw) -> RecordOutcome:
    return RecordOutcome(entity, key, "roster.xlsx", "People", row, status, **kw)


def roster_outcomes() -> list[RecordOutcome]:
    return [
        rec("group", "H1", 2, Status.CREATED, external_id="ns.grp_H1", server_id=10),
        rec("individual", "P1", 2, Status.CREATED, external_id="ns.ind_P1", server_id=11),
        rec("membership", "H1/P1", 2, Status.CREATED, external_id="ns.mem_H1_P1", server_id=12),
        rec("individual", "P2", 3, Status.FAILED, external_id="ns.ind_P2", reasons=["Sex 'X' unknown"]),
        rec("membership", "H1/P2", 3, Status.SKIPPED, reasons=["its individual failed"]),
        rec("group", "H2", 5, Status.UPDATED, external_id="ns.grp_H2", server_id=20),
        rec("individual", "P3", 5, Status.UNCHANGED, external_id="ns.ind_P3", server_id=21),
    ]


def roster_problems() -> list[Problem]:
    return [
        Problem("unknown_gender", "Sex 'X' unknown", "roster.xlsx", "People", 3, "Sex", "X"),
        Problem("missing_person", "no person id on this row", "roster.xlsx", "People", 6, "Person"),
    ]


def build(mode: str = "import", **kw) -> RunReport:
    sources = kw.pop("sources", [roster()])
    outcomes = kw.pop("outcomes", roster_outcomes())
    problems = kw.pop("problems", roster_problems())
    return build_report(sources, outcomes, problems, mode=mode, meta=kw.pop("meta", {}), **kw)


def status_of(report: RunReport, row: int) -> str:
    match = report.rows[report.rows["row"] == row]
    assert len(match) == 1
    return match["status"].iloc[0]


def test_every_input_row_gets_exactly_one_status_including_roster_and_blank_rows() -> None:
    report = build()
    assert report.rows["row"].tolist() == [2, 3, 4, 5, 6]
    assert report.rows[["file", "sheet", "row"]].duplicated().sum() == 0
    assert report.rows["status"].notna().all()
    assert set(report.rows["status"]) <= {s.value for s in Status}


def test_row_takes_the_worst_status_of_its_records() -> None:
    report = build()
    assert status_of(report, 2) == "created"
    assert status_of(report, 3) == "failed"  # failed individual + skipped membership
    assert status_of(report, 5) == "updated"  # updated group beats unchanged individual


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.CREATED, Status.SKIPPED], "partly written"),
        ([Status.UNCHANGED, Status.UPDATED], "updated"),
        ([Status.VALID, Status.INVALID, Status.VALID], "invalid"),
        ([Status.UNCHANGED, Status.UNCHANGED], "unchanged"),
        ([Status.SKIPPED, Status.FAILED, Status.CREATED], "partly written"),
        ([Status.SKIPPED, Status.FAILED], "failed"),
    ],
)
def test_a_row_takes_its_worst_status_or_partly_written_when_only_some_were_written(
    statuses: list[Status], expected: str
) -> None:
    source = table("p.csv", {2: ["a"]}, ["x"])
    outcomes = [RecordOutcome("individual", f"k{i}", "p.csv", None, 2, s) for i, s in enumerate(statuses)]
    report = build_report([source], outcomes, [], mode="import", meta={})
    assert report.rows["status"].tolist() == [expected]


def test_row_with_errors_but_no_record_is_failed_in_import_and_invalid_in_dry_run() -> None:
    assert status_of(build("import"), 6) == "failed"
    assert status_of(build("dry-run"), 6) == "invalid"
    assert status_of(build("validate"), 6) == "invalid"


def test_blank_row_is_skipped_as_empty_row() -> None:
    report = build()
    row = report.rows[report.rows["row"] == 4].iloc[0]
    assert (row["status"], row["reasons"]) == ("skipped", EMPTY_ROW_REASON)


def test_non_blank_row_without_record_or_problem_says_so() -> None:
    source = table("p.csv", {2: ["a"], 3: ["b"]}, ["x"])
    outcomes = [RecordOutcome("individual", "a", "p.csv", None, 2, Status.CREATED)]
    report = build_report([source], outcomes, [], mode="import", meta={})
    assert report.rows["reasons"].tolist() == ["", NO_RECORD_REASON]
    assert report.exit_code() == 1


def test_row_lists_entities_ids_and_reasons_from_all_its_records() -> None:
    row2 = build().rows.set_index("row").loc[2]
    assert row2["entities"] == "group; individual; membership"
    assert row2["external_ids"] == "ns.grp_H1; ns.ind_P1; ns.mem_H1_P1"
    assert row2["server_ids"] == "10; 11; 12"
    row3 = build().rows.set_index("row").loc[3]
    # the record's reason and the identical problem message appear once
    assert row3["reasons"] == "Sex 'X' unknown; its individual failed"


def test_warnings_are_marked_in_row_reasons_and_do_not_change_status() -> None:
    problems = [Problem("odd", "name looks odd", "roster.xlsx", "People", 2, "Name", severity="warning")]
    report = build(problems=problems)
    row2 = report.rows.set_index("row").loc[2]
    assert row2["status"] == "created"
    assert row2["reasons"] == "warning: name looks odd"


def test_file_spelled_as_a_path_joins_the_same_rows() -> None:
    outcomes = [
        RecordOutcome("individual", "P1", "data/roster.xlsx", "People", 2, Status.CREATED),
        RecordOutcome(
            "individual", "P3", str(Path("data/roster.xlsx").resolve()), "People", 5, Status.CREATED
        ),
    ]
    report = build(outcomes=outcomes, problems=[])
    assert status_of(report, 2) == "created"
    assert status_of(report, 5) == "created"
    assert set(report.records["file"]) == {"roster.xlsx"}


def test_rows_of_two_sources_stay_apart() -> None:
    a = table("a.csv", {2: ["x"]}, ["c"])
    b = table("b.csv", {2: ["y"]}, ["c"])
    outcomes = [
        RecordOutcome("individual", "x", "a.csv", None, 2, Status.CREATED),
        RecordOutcome("individual", "y", "b.csv", None, 2, Status.FAILED),
    ]
    report = build_report([a, b], outcomes, [], mode="import", meta={})
    assert report.rows[["file", "status"]].values.tolist() == [["a.csv", "created"], ["b.csv", "failed"]]


def test_records_table_has_one_row_per_outcome() -> None:
    report = build()
    assert len(report.records) == len(roster_outcomes())
    assert list(report.records.columns) == [
        "entity",
        "key",
        "file",
        "sheet",
        "row",
        "status",
        "external_id",
        "server_id",
        "reasons",
        "action",
        "changes",
    ]


def test_problems_table_has_problem_fields_as_columns() -> None:
    report = build()
    assert {
        "code",
        "message",
        "file",
        "sheet",
        "row",
        "column",
        "value",
        "suggestion",
        "severity",
        "entity",
        "key",
    } <= set(report.problems.columns)
    assert report.problems["code"].tolist() == ["unknown_gender", "missing_person"]


def test_unknown_status_is_refused() -> None:
    bad = [RecordOutcome("individual", "P1", "roster.xlsx", "People", 2, "done")]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown record status"):
        build(outcomes=bad)


def test_counts_has_entity_by_status_and_an_input_rows_line() -> None:
    counts = build().counts()
    assert counts.loc["individual", "created"] == 1
    assert counts.loc["individual", "failed"] == 1
    assert counts.loc["membership", "skipped"] == 1
    assert counts.loc["input rows"].drop("total").sum() == 5
    assert counts.loc["input rows", "total"] == 5
    assert list(counts.index[:3]) == ["group", "individual", "membership"]


def test_exit_code_is_zero_only_when_every_row_went_through() -> None:
    ok = build(
        outcomes=[
            rec("individual", "P1", 2, Status.CREATED),
            rec("individual", "P2", 3, Status.UPDATED),
            rec("individual", "P3", 5, Status.UNCHANGED),
            rec("individual", "P4", 6, Status.CREATED),
        ],
        problems=[],
    )
    assert ok.exit_code() == 0  # row 4 is blank: skipped, but not a failure
    assert build().exit_code() == 1


def test_exit_code_is_zero_for_a_clean_dry_run_and_one_for_an_invalid_row() -> None:
    source = table("p.csv", {2: ["a"], 3: ["b"]}, ["x"])
    valid = [RecordOutcome("individual", k, "p.csv", None, r, Status.VALID) for k, r in [("a", 2), ("b", 3)]]
    assert build_report([source], valid, [], mode="dry-run", meta={}).exit_code() == 0
    valid[1].status = Status.INVALID
    assert build_report([source], valid, [], mode="dry-run", meta={}).exit_code() == 1


def test_exit_code_is_one_for_an_error_tied_to_no_row() -> None:
    source = table("p.csv", {2: ["a"]}, ["x"])
    outcomes = [RecordOutcome("individual", "a", "p.csv", None, 2, Status.CREATED)]
    problems = [Problem("no_gender_types", "the server has no gender types configured", "p.csv")]
    assert build_report([source], outcomes, problems, mode="import", meta={}).exit_code() == 1


def test_meta_never_holds_a_secret() -> None:
    meta = {
        "server": "https://admin:hunter2@registry.example.org",
        "login": "admin",
        "password": "hunter2",
        "options": {"api_key": "k-123456", "batch_size": 500, "note": "used hunter2 today"},
    }
    report = build(meta=meta, secrets=["hunter2"])
    dumped = json.dumps(summary_json(report))
    assert "hunter2" not in dumped
    assert "k-123456" not in dumped
    assert report.meta["server"] == "https://registry.example.org"
    assert report.meta["options"]["batch_size"] == 500


def test_summary_json_can_be_dumped_as_json() -> None:
    meta = {
        "started": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "input_files": [{"path": Path("data/roster.xlsx"), "sha256": "ab" * 32}],
        "workers": np.int64(4),
        "ratio": float("nan"),
        "status": Status.CREATED,
    }
    report = build(meta=meta)
    report.files["csv"] = Path("out/report.csv")
    data = json.loads(json.dumps(summary_json(report)))
    assert data["exit_code"] == 1
    assert data["counts"]["individual"] == {"created": 1, "failed": 1, "unchanged": 1}
    assert data["input_rows"]["total"] == 5
    assert data["files"]["csv"] == "out/report.csv"
    assert data["meta"]["workers"] == 4


def test_summary_text_gives_counts_first_errors_and_where_the_reports_are() -> None:
    report = build()
    report.files["xlsx"] = Path("out/run.xlsx")
    text = summary_text(report, max_errors=1)
    assert "Input rows: 5" in text
    assert "roster.xlsx, sheet 'People', row 3, column 'Sex': Sex 'X' unknown" in text
    assert "and 1 more" in text
    assert "out/run.xlsx" in text
    assert "individual" in text


INJECTIONS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=cmd"]


def test_csv_neutralises_formula_injection_in_every_cell(tmp_path: Path) -> None:
    source = table("p.csv", {i + 2: [v] for i, v in enumerate(INJECTIONS)}, ["Name"])
    outcomes = [
        RecordOutcome("individual", v, "p.csv", None, i + 2, Status.FAILED, external_id=v, reasons=[v])
        for i, v in enumerate(INJECTIONS)
    ]
    problems = [Problem("bad", v, "p.csv", None, i + 2, "Name", v, v) for i, v in enumerate(INJECTIONS)]
    report = build_report([source], outcomes, problems, mode="import", meta={})
    path = write_csv(report, tmp_path / "run.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with errors_csv_path(path).open(encoding="utf-8-sig", newline="") as handle:
        errors = list(csv.DictReader(handle))
    assert [r["external_ids"] for r in rows] == ["'" + v for v in INJECTIONS]
    assert [r["reasons"] for r in rows] == ["'" + v for v in INJECTIONS]
    for column in ("value", "message", "suggestion"):
        assert [e[column] for e in errors] == ["'" + v for v in INJECTIONS]


def test_csv_has_one_line_per_input_row_and_an_errors_csv(tmp_path: Path) -> None:
    path = write_csv(build(), tmp_path / "out" / "run.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame.columns) == [
        "file",
        "sheet",
        "row",
        "status",
        "entities",
        "external_ids",
        "server_ids",
        "reasons",
        "changes",
    ]
    assert frame["row"].tolist() == ["2", "3", "4", "5", "6"]
    errors = pd.read_csv(tmp_path / "out" / "run-errors.csv", dtype=str, keep_default_na=False)
    assert errors["code"].tolist() == ["unknown_gender", "missing_person"]


def test_empty_sources_and_outcomes_make_an_empty_report_that_says_no_rows() -> None:
    report = build_report([], [], [], mode="validate", meta={})
    assert len(report.rows) == 0
    assert report.exit_code() == 2  # nothing to import is not "everything went through"
    assert json.loads(json.dumps(summary_json(report)))["changes"]["headline"] == "no rows to import"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        build("apply")


@pytest.mark.slow
def test_million_row_report_gives_every_row_one_status() -> None:
    n = 1_000_000
    frame = pd.DataFrame(
        {"Household": np.char.add("H", (np.arange(n) // 4).astype(str)), "Name": np.full(n, "x")},
        index=pd.Index(np.arange(2, n + 2), name="row"),
    )
    source = Table(Path("big.csv"), None, frame)
    statuses = [Status.CREATED, Status.UPDATED, Status.FAILED, Status.SKIPPED]
    outcomes = [
        RecordOutcome("individual", str(i), "big.csv", None, i + 2, statuses[i % 4]) for i in range(n)
    ] + [RecordOutcome("membership", f"m{i}", "big.csv", None, i + 2, Status.CREATED) for i in range(n)]
    report = build_report([source], outcomes, [], mode="import", meta={})
    assert len(report.rows) == n
    assert report.rows["status"].value_counts().to_dict() == {
        "created": n // 2,  # an updated individual with a created membership: created is worse
        "partly written": n // 2,  # a failed or skipped individual beside a created membership
    }
