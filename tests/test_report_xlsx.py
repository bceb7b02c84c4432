"""The clerk's workbook: Summary, Errors, and their own sheets with bad cells marked."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from importer.outcome import Problem, RecordOutcome, Status
from importer.read import SourceTable
from importer.report import build_report, write_reports
from importer.report_xlsx import ERROR_FILL, WARNING_FILL, sheet_names, write_xlsx

#: The reader's own table type, header on row 1 (the report tests build frames by hand).
Table = partial(SourceTable, header_row=1)


INJECTIONS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=cmd"]


def people() -> Table:
    frame = pd.DataFrame(
        {
            "Person": ["P1", "P2", "P3", "", *[f"P{i}" for i in range(4, 9)]],
            "Name": ["Ann", "Bob", "Cy", "", *INJECTIONS],
            "Sex": ["F", "X", "M", "", "F", "F", "F", "F", "F"],
        },
        index=pd.Index(range(2, 11), name="row"),
    )
    return Table(Path("in/people.xlsx"), "People", frame)


def outcomes() -> list[RecordOutcome]:
    out = [
        RecordOutcome("individual", "P1", "people.xlsx", "People", 2, Status.CREATED),
        RecordOutcome(
            "individual",
            "P2",
            "people.xlsx",
            "People",
            3,
            Status.FAILED,
            reasons=["Sex 'X' is not a gender type"],
        ),
        RecordOutcome("individual", "P3", "people.xlsx", "People", 4, Status.CREATED),
    ]
    out += [
        RecordOutcome("individual", f"P{i}", "people.xlsx", "People", i + 2, Status.CREATED)
        for i in range(4, 9)
    ]
    return out


def problems() -> list[Problem]:
    return [
        Problem(
            "unknown_gender",
            "Sex 'X' is not a gender type",
            "people.xlsx",
            "People",
            3,
            "Sex",
            "X",
            suggestion="use F or M",
        ),
        Problem(
            "name_short",
            "the name is very short",
            "people.xlsx",
            "People",
            4,
            "Name",
            "Cy",
            severity="warning",
        ),
        Problem(
            "household_missing",
            "no household for this person",
            "people.xlsx",
            "People",
            2,
            None,
            severity="warning",
        ),
        Problem(
            "formula", INJECTIONS[0], "people.xlsx", "People", 6, "Name", INJECTIONS[0], severity="warning"
        ),
    ]


@pytest.fixture
def workbook(tmp_path: Path) -> openpyxl.Workbook:
    sources = [people()]
    report = build_report(sources, outcomes(), problems(), mode="import", meta={"login": "clerk"})
    files = write_reports(report, sources, tmp_path, "run")
    return openpyxl.load_workbook(files["xlsx"])


def cell_at(ws, row: int, header: str):
    headers = [c.value for c in ws[1]]
    return ws.cell(row=row, column=headers.index(header) + 1)


def test_workbook_has_summary_errors_and_a_copy_of_the_input_sheet(workbook) -> None:
    assert workbook.sheetnames == ["Summary", "Errors", "People"]
    summary_text = " ".join(str(c.value) for row in workbook["Summary"].iter_rows() for c in row)
    assert "individual" in summary_text and "input rows" in summary_text
    assert "Legend" in summary_text and "clerk" in summary_text


def test_errors_sheet_lists_every_problem_with_filter_and_frozen_header(workbook) -> None:
    ws = workbook["Errors"]
    assert [c.value for c in ws[1]] == [
        "file",
        "sheet",
        "row",
        "column",
        "value",
        "severity",
        "code",
        "message",
        "suggestion",
    ]
    assert ws.max_row == 1 + len(problems())
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I5"
    first = [c.value for c in ws[2]]
    assert first[:4] == ["people.xlsx", "People", 3, "Sex"]
    assert first[6:9] == ["unknown_gender", "Sex 'X' is not a gender type", "use F or M"]


def test_copy_has_status_column_and_one_line_per_input_row(workbook) -> None:
    ws = workbook["People"]
    assert [c.value for c in ws[1]] == ["Status", "Row", "Person", "Name", "Sex"]
    assert ws.max_row == 1 + 9
    assert [ws.cell(row=r, column=2).value for r in range(2, 11)] == list(range(2, 11))
    assert cell_at(ws, 3, "Status").value == "failed"
    assert cell_at(ws, 5, "Status").value == "skipped"


def test_bad_cell_is_filled_red_with_a_comment_giving_the_reason(workbook) -> None:
    cell = cell_at(workbook["People"], 3, "Sex")
    assert cell.fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert cell.comment is not None
    assert "Sex 'X' is not a gender type" in cell.comment.text
    assert "use F or M" in cell.comment.text


def test_warning_cell_is_filled_yellow(workbook) -> None:
    cell = cell_at(workbook["People"], 4, "Name")
    assert cell.fill.fgColor.rgb == WARNING_FILL.fgColor.rgb
    assert "very short" in cell.comment.text
    assert cell_at(workbook["People"], 4, "Status").value == "created"


def test_problem_without_column_marks_the_status_cell(workbook) -> None:
    cell = cell_at(workbook["People"], 2, "Status")
    assert cell.fill.fgColor.rgb == WARNING_FILL.fgColor.rgb
    assert "no household for this person" in cell.comment.text


def test_failed_row_explains_itself_on_the_status_cell(workbook) -> None:
    cell = cell_at(workbook["People"], 3, "Status")
    assert cell.fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert "Sex 'X'" in cell.comment.text


def test_good_cells_are_left_plain(workbook) -> None:
    cell = cell_at(workbook["People"], 2, "Name")
    assert cell.comment is None
    assert cell.fill.fill_type is None


def test_injection_strings_are_stored_as_quoted_text_in_every_sheet(workbook) -> None:
    copy = workbook["People"]
    for offset, payload in enumerate(INJECTIONS):
        cell = cell_at(copy, 6 + offset, "Name")
        assert cell.data_type == "s"
        assert cell.value == "'" + payload
    errors = workbook["Errors"]
    formula_line = [c for c in errors[5]]
    assert all(c.data_type != "f" for c in formula_line)
    assert formula_line[4].value == "'" + INJECTIONS[0]
    assert formula_line[7].value == "'" + INJECTIONS[0]
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


def test_sheet_names_are_unique_short_and_legal() -> None:
    frame = pd.DataFrame({"a": ["1"]}, index=pd.Index([2], name="row"))
    sources = [
        Table(Path("a.xlsx"), "Summary", frame),
        Table(Path("b.xlsx"), "People", frame),
        Table(Path("c.xlsx"), "people", frame),
        Table(Path("x" * 40 + ".csv"), None, frame),
        Table(Path("y" * 40 + ".csv"), None, frame),
        Table(Path("d.xlsx"), "a/b:c?*[d]", frame),
    ]
    names = sheet_names(sources)
    assert len({n.lower() for n in names} | {"summary", "errors"}) == len(names) + 2
    assert all(len(n) <= 31 for n in names)
    assert names[1] == "People" and names[2] == "people (2)"
    assert not any(ch in names[5] for ch in "[]:*?/\\")


def test_large_sheet_copies_only_rows_needing_attention_and_says_so(tmp_path: Path) -> None:
    sources = [people()]
    report = build_report(sources, outcomes(), problems(), mode="import", meta={})
    path = write_xlsx(report, sources, tmp_path / "big.xlsx", max_copy_rows=3)
    wb = openpyxl.load_workbook(path)
    copied_rows = [wb["People"].cell(row=r, column=2).value for r in range(2, wb["People"].max_row + 1)]
    assert copied_rows == [2, 3, 4, 6]  # warning, failure, warning, formula warning; not blank row 5
    summary_text = " ".join(str(c.value) for row in wb["Summary"].iter_rows() for c in row)
    assert "ONLY the 4 row(s) needing attention" in summary_text


def test_sources_that_do_not_match_the_report_are_refused(tmp_path: Path) -> None:
    report = build_report([people()], outcomes(), problems(), mode="import", meta={})
    other = Table(Path("other.csv"), None, pd.DataFrame({"a": ["1"]}, index=pd.Index([2])))
    with pytest.raises(ValueError, match="same sources"):
        write_xlsx(report, [other], tmp_path / "x.xlsx")


def test_write_reports_returns_all_files(tmp_path: Path) -> None:
    sources = [people()]
    report = build_report(sources, outcomes(), problems(), mode="dry-run", meta={})
    files = write_reports(report, sources, tmp_path / "out", "run")
    assert set(files) == {"csv", "errors_csv", "xlsx"}
    assert all(p.exists() for p in files.values())
    assert report.files == files
