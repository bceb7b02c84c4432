"""The workbook drafted while an import's rows are in flight is the one its real report gives.

An import writes its XLSX report's Errors sheet and copies ahead, from the
report it expects if the server writes every row as planned
(``report_xlsx.XlsxDraft``).  These tests hold it to its promise: the
workbook on disk is always, cell by cell, the one written afresh from the
real report, whether the draft was kept (the server did as planned, rows
refused before loading included) or dropped (the server refused a row), and
a dropped draft leaves no temporary file behind.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import openpyxl
import pytest
from conftest import MAPPINGS, settings_for
from test_chunked_xlsx import _cells
from test_row_all_or_nothing import GOOD, SECOND_HEAD, _roster

from importer import pipeline, report_xlsx
from importer.client import OdooClient
from importer.pipeline import ImportOptions, RunResult, read_all, run_import
from importer.sandbox import Sandbox


@pytest.fixture
def drafts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bool]:
    """Whether each draft asked was kept, in order; openpyxl's temporary files go to the test's own folder."""
    kept: list[bool] = []
    fits = report_xlsx.XlsxDraft.fits

    def spy(self: report_xlsx.XlsxDraft, *args: object) -> bool:
        kept.append(fits(self, *args))
        return kept[-1]

    monkeypatch.setattr(report_xlsx.XlsxDraft, "fits", spy)
    monkeypatch.setattr(pipeline, "DRAFT_MIN_ROWS", 0)  # these files are a few rows long
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return kept


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each draft written copied (one entry per draft)."""
    rows: list[int] = []
    write = report_xlsx.XlsxDraft.write.__func__

    def spy(cls: type[report_xlsx.XlsxDraft], report, *args: object, **kw: object) -> report_xlsx.XlsxDraft:
        rows.append(len(report.rows))
        return write(cls, report, *args, **kw)

    monkeypatch.setattr(report_xlsx.XlsxDraft, "write", classmethod(spy))
    return rows


def _import(sb: Sandbox, path: Path, out: Path) -> RunResult:
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", out_dir=out)
    return run_import([path], options, settings_for(sb))


def _assert_written_afresh_alike(result: RunResult, path: Path, tmp_path: Path) -> dict[str, list]:
    """The workbook on disk equals, cell by cell, one written now from the run's real report."""
    fresh = report_xlsx.write_xlsx(result.report, read_all([path], "calamine"), tmp_path / "fresh.xlsx")
    mine, theirs = openpyxl.load_workbook(result.files["xlsx"]), openpyxl.load_workbook(fresh)
    assert mine.sheetnames == theirs.sheetnames
    sheets = {}
    for name in theirs.sheetnames:
        sheets[name] = _cells(mine[name])
        assert sheets[name] == _cells(theirs[name]), name
    return sheets


def _status(sheets: dict[str, list], row: int) -> str:
    (copy,) = [rows for name, rows in sheets.items() if name not in ("Summary", "Errors")]
    line = next(line for line in copy[1:] if line[1][0] == row)
    return line[0][0]


def _left_over(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "tmp").glob("openpyxl.*"))


def test_a_draft_kept_is_the_workbook_the_real_report_gives(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool]
) -> None:
    """Rows refused before loading (a second Head) are in the draft already: it is kept."""
    path = _roster(tmp_path, *GOOD, SECOND_HEAD)

    result = _import(sandbox, path, tmp_path / "out")

    assert drafts == [True]
    sheets = _assert_written_afresh_alike(result, path, tmp_path)
    assert _status(sheets, 2) == "created" and _status(sheets, 4) == "failed"
    assert not _left_over(tmp_path)


def test_a_draft_the_server_proves_wrong_is_dropped_and_the_workbook_says_what_happened(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool]
) -> None:
    """The draft expects row 2 written; the server refuses its membership: the workbook says so."""
    _import(sandbox, _roster(tmp_path, *GOOD), tmp_path / "first")
    with OdooClient(settings_for(sandbox)) as c:  # someone replaced P1's membership by hand
        person = c.search_read("res.partner", [["given_name", "=", "Minh"]], ["id"])[0]["id"]
        mine = c.search_read("g2p.group.membership", [["individual", "=", person]], ["group"])[0]
        c.unlink("g2p.group.membership", [mine["id"]])
        c.create("g2p.group.membership", {"group": mine["group"][0], "individual": person})
    path = _roster(tmp_path, GOOD[0].replace("Minh", "Minhaj"), GOOD[1])

    result = _import(sandbox, path, tmp_path / "second")

    assert drafts[0] is True and len(drafts) > 1 and not any(drafts[1:])  # no draft of the re-run fits
    sheets = _assert_written_afresh_alike(result, path, tmp_path)
    assert _status(sheets, 2) == "partly written"
    assert any("Duplication of Member" in str(line) for line in sheets["Errors"])
    assert not _left_over(tmp_path), "the dropped draft left its temporary files"


def test_a_dry_run_or_a_run_without_a_workbook_drafts_nothing(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool]
) -> None:
    path = _roster(tmp_path, *GOOD)
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode="dry-run", out_dir=tmp_path / "dry")
    assert "xlsx" in run_import([path], options, settings_for(sandbox)).files
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", out_dir=tmp_path / "csv", xlsx=False)
    assert "xlsx" not in run_import([path], options, settings_for(sandbox)).files
    assert drafts == []


def test_a_rerun_is_drafted_once_before_the_servers_records_are_read_and_kept(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool], written: list[int]
) -> None:
    """The first guess (each record already ours is unchanged) is the plan of an unchanged re-run."""
    path = _roster(tmp_path, *GOOD)
    _import(sandbox, path, tmp_path / "first")

    result = _import(sandbox, path, tmp_path / "again")

    assert set(result.report.rows["status"]) == {"unchanged"}
    assert written == [2, 2] and drafts == [True, True]
    _assert_written_afresh_alike(result, path, tmp_path)


def test_a_rerun_with_a_change_drafts_again_and_keeps_only_the_draft_that_fits(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool], written: list[int]
) -> None:
    """The guess says row 2 is unchanged; the server's records say it changes: drafted again."""
    _import(sandbox, _roster(tmp_path, *GOOD), tmp_path / "first")
    path = _roster(tmp_path, GOOD[0].replace("Minh", "Minhaj"), GOOD[1])

    result = _import(sandbox, path, tmp_path / "again")

    assert result.report.rows.set_index("row")["status"].to_dict() == {2: "updated", 3: "unchanged"}
    # The guess's draft (all unchanged) cannot fit: the one kept is the plan's, drafted after it.
    assert drafts[-1] is True and len(written) >= 2
    sheets = _assert_written_afresh_alike(result, path, tmp_path)
    assert _status(sheets, 2) == "updated"
    assert not _left_over(tmp_path), "the guess's draft left its temporary files"


class _StopAfter(threading.Event):
    """An event that turns set after it has been looked at ``n`` times (a stop arriving mid-draft)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_draft_stopped_half_way_leaves_no_file_and_no_half_written_sheet(
    sandbox: Sandbox, tmp_path: Path, drafts: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C ends the run mid-draft: the draft closes its sheets and removes their files."""
    path = _roster(tmp_path, *GOOD, SECOND_HEAD)
    result = _import(sandbox, path, tmp_path / "out")
    monkeypatch.setattr(report_xlsx, "BLOCK_ROWS", 1)  # a look at the stop between any two rows
    sources = read_all([path], "calamine")

    with pytest.raises(report_xlsx.DraftStopped):
        report_xlsx.XlsxDraft.write(result.report, sources, stop=_StopAfter(3))

    assert not _left_over(tmp_path)
    # and the same report drafted without a stop is whole, and fits
    draft = report_xlsx.XlsxDraft.write(result.report, sources, stop=threading.Event())
    written = report_xlsx.write_xlsx(result.report, sources, tmp_path / "again.xlsx", drafts=[draft])
    assert drafts[-1] is True
    again, first = openpyxl.load_workbook(written), openpyxl.load_workbook(result.files["xlsx"])
    assert _cells(again["roster"]) == _cells(first["roster"])


def test_a_small_file_writes_its_workbook_at_the_end_without_a_draft(
    sandbox: Sandbox, tmp_path: Path, written: list[int]
) -> None:
    """Below DRAFT_MIN_ROWS the workbook takes less time than drafting would cost."""
    result = _import(sandbox, _roster(tmp_path, *GOOD), tmp_path / "out")
    assert result.files["xlsx"].exists() and written == []
