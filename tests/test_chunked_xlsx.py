"""A chunked run writes the same XLSX report as a whole-file run (importer.report_xlsx_stream).

The workbook of a chunked run is gathered from each chunk's report as it
finishes and written at the end with a last read of the input (or, for a sheet
too long to copy whole, the rows set aside); here it is compared, cell by cell
(value, fill, comment), with the whole-file run's workbook for the same
input.  Only the run details differ (run id, times, the chunks), and the
Errors sheet's lines come chunk by chunk, so they are compared as a set.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for
from test_chunked import planted_roster

from importer import chunked, report_xlsx, report_xlsx_stream
from importer.load import LoadOptions
from importer.mapping import load_mapping
from importer.pipeline import ImportOptions, RunResult, _run_chunked, run_import
from importer.sandbox import Sandbox

Cell = tuple[object, object, object]


def _run(files: list[Path], mapping: str, out: Path, mode: str, chunk_rows: int, sb: Sandbox | None = None):
    options = ImportOptions(mapping=MAPPINGS / mapping, mode=mode, out_dir=out, chunk_rows=chunk_rows)
    return run_import(files, options, settings_for(sb) if sb is not None else None)


def _cells(ws) -> list[tuple[Cell, ...]]:
    """Every row of a sheet as (value, fill colour, comment) per cell, trailing empty cells dropped."""
    rows = []
    for row in ws.iter_rows():
        cells = [
            (c.value, c.fill.fgColor.rgb if c.fill.fill_type else None, c.comment.text if c.comment else None)
            for c in row
        ]
        while cells and cells[-1] == (None, None, None):
            cells.pop()
        rows.append(tuple(cells))
    return rows


def _summary(ws) -> list[tuple[Cell, ...]]:
    """The Summary without its run details (run id, times, chunks: what differs between two runs)."""
    rows = _cells(ws)
    titles = [r[0][0] if r else None for r in rows]
    start, end = titles.index("Run details"), titles.index("Legend")
    return rows[:start] + rows[end:]


def _workbook(path: Path) -> dict[str, list[tuple[Cell, ...]]]:
    book = openpyxl.load_workbook(path)
    sheets = {name: _cells(book[name]) for name in book.sheetnames}
    sheets["Summary"] = _summary(book["Summary"])
    header, *lines = sheets["Errors"]
    cut = [line for line in lines if str(line[0][0]).startswith("… cut")]
    sheets["Errors"] = [header, *sorted((line for line in lines if line not in cut), key=repr), *cut]
    return sheets


def _assert_same_workbook(chunked: RunResult, whole: RunResult) -> dict[str, list[tuple[Cell, ...]]]:
    assert chunked.report.meta.get("chunks"), "the chunked path was not taken"
    assert chunked.files["xlsx"].exists() and chunked.files["xlsx"].parent == chunked.files["csv"].parent
    mine, theirs = _workbook(chunked.files["xlsx"]), _workbook(whole.files["xlsx"])
    assert list(mine) == list(theirs)
    for name in theirs:
        assert mine[name] == theirs[name], name
    return mine


def _copy_rows(sheets: dict[str, list[tuple[Cell, ...]]]) -> list[tuple[Cell, ...]]:
    (copy,) = [rows for name, rows in sheets.items() if name not in ("Summary", "Errors")]
    return copy[1:]


def test_the_workbook_of_a_chunked_run_is_the_whole_file_runs(tmp_path: Path) -> None:
    roster = planted_roster(tmp_path / "planted.csv")  # whole-file errors straddle the 7-row chunks
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    sheets = _assert_same_workbook(chunked, whole)
    copy = _copy_rows(sheets)
    assert len(copy) == len(pd.read_csv(roster))  # a small sheet is copied whole
    marked = [row for row in copy if any(fill for _v, fill, _c in row)]
    assert len(marked) >= 4 and all(
        any(c for _v, _f, c in row) for row in marked
    )  # planted errors, explained
    details = openpyxl.load_workbook(chunked.files["xlsx"])["Summary"]
    assert ("chunks.count", chunked.report.meta["chunks"]["count"]) in [
        (r[0].value, r[1].value) for r in details.iter_rows() if len(r) > 1
    ]


def test_text_that_could_be_a_formula_reads_the_same_as_in_a_whole_file_run(tmp_path: Path) -> None:
    """The CSV reports quote such text; the workbook, written from them, must not quote it twice."""
    frame = pd.read_csv(planted_roster(tmp_path / "planted.csv"), dtype=str, keep_default_na=False)
    frame.loc[3, "given_name"] = "=HYPERLINK(1)"  # an error on the cell (formula_text)
    frame.loc[40, "family_name"] = "-Okafor"  # a warning
    frame.loc[41, "family_name"] = "@home"
    roster = tmp_path / "-roster.csv"  # the file's name, in every line of the reports, quoted too
    frame.to_csv(roster, index=False)
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    sheets = _assert_same_workbook(chunked, whole)
    texts = [str(cell[0]) for row in _copy_rows(sheets) for cell in row]
    assert "'=HYPERLINK(1)" in texts and "'-Okafor" in texts  # quoted once, as the whole-file workbook does
    (formula,) = [cell for row in _copy_rows(sheets) for cell in row if cell[0] == "'=HYPERLINK(1)"]
    assert formula[1] == report_xlsx.ERROR_FILL.fgColor.rgb and "formula" in str(formula[2])


@pytest.mark.parametrize(
    ("names", "mapping"),
    [
        (["workbook.xlsx"], "workbook.yaml"),
        (
            ["households.csv", "individuals.csv", "memberships.csv"],
            "csv-files.yaml",
        ),
    ],
)
def test_several_sheets_or_files_each_get_their_copy_as_in_a_whole_file_run(
    names: list[str], mapping: str, tmp_path: Path
) -> None:
    files = [SAMPLES / n for n in names]
    whole = _run(files, mapping, tmp_path / "whole", "validate", 0)
    chunked = _run(files, mapping, tmp_path / "chunked", "validate", 40)
    sheets = _assert_same_workbook(chunked, whole)
    assert len(sheets) == 2 + 3


def test_a_sheet_too_long_to_copy_whole_shows_the_rows_needing_attention_as_in_a_whole_file_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_xlsx, "DEFAULT_MAX_COPY_ROWS", 20)
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    sheets = _assert_same_workbook(chunked, whole)
    copy = _copy_rows(sheets)
    assert 4 <= len(copy) < 20  # only the rows needing attention
    assert all(row[0][0] not in ("valid", None) or row[0][1] for row in copy)
    labels = [str(cell[0]) for row in sheets["Summary"] for cell in row]
    assert any(f"ONLY the {len(copy)} row(s) needing attention" in text for text in labels)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the chunked run starts reading each input table (a list, one count per table)."""
    reads: list[int] = []
    making = chunked.table_readers

    def counted(files, engine):
        readers = making(files, engine)
        for tab, reader in enumerate(readers):
            reads.append(0)

            def blocks(n, read=reader.blocks, tab=tab):
                reads[tab] += 1
                return read(n)

            reader.blocks = blocks
        return readers

    monkeypatch.setattr(chunked, "table_readers", counted)
    return reads


@pytest.mark.parametrize(("kept", "reads"), [(None, 2), (2, 3)], ids=["set-aside", "too-many-to-set-aside"])
def test_a_long_sheets_copy_reads_the_input_again_only_when_too_many_rows_need_attention(
    kept: int | None, reads: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a sheet too long to copy whole shows are set aside as the chunks go: the input is read
    twice (index, chunks). Past ATTENTION_ROWS_KEPT of them memory stays a block's worth and the copy
    reads the file a third time. The workbook is the whole-file run's either way."""
    monkeypatch.setattr(report_xlsx, "DEFAULT_MAX_COPY_ROWS", 20)
    if kept is not None:
        monkeypatch.setattr(report_xlsx_stream, "ATTENTION_ROWS_KEPT", kept)
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    counted = _counting_reads(monkeypatch)
    chunked_run = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    copy = _copy_rows(_assert_same_workbook(chunked_run, whole))
    assert 4 <= len(copy) < 20
    assert counted == [reads]


def test_a_sheet_too_long_to_copy_whole_gets_comments_on_its_first_marked_cells_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl holds every comment in memory until the workbook is saved: a migration's are capped."""
    monkeypatch.setattr(report_xlsx, "DEFAULT_MAX_COPY_ROWS", 20)
    monkeypatch.setattr(report_xlsx, "MAX_COMMENTS", 3)
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    sheets = _assert_same_workbook(chunked, whole)
    marked = [cell for row in _copy_rows(sheets) for cell in row[:1] + row[2:] if cell[1]]
    explained = [cell for cell in marked if cell[2]]
    assert len(explained) == 3 < len(marked)  # the rest filled, without a comment
    labels = [str(cell[0]) for row in sheets["Summary"] for cell in row]
    note = f"comments on the first 3 marked cells only ({len(marked) - 3} more are filled without one"
    assert any(note in text for text in labels)


def test_excels_row_limit_cuts_the_chunked_workbook_as_it_cuts_the_whole_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_xlsx, "EXCEL_MAX_ROWS", 6)  # 5 rows under a header; 4 error lines
    roster = planted_roster(tmp_path / "planted.csv")
    whole = _run([roster], "roster.yaml", tmp_path / "whole", "validate", 0)
    chunked = _run([roster], "roster.yaml", tmp_path / "chunked", "validate", 7)
    sheets = _assert_same_workbook(chunked, whole)
    assert len(_copy_rows(sheets)) == 5
    errors = pd.read_csv(chunked.files["errors_csv"], encoding="utf-8-sig")
    assert len(errors) > 4  # the planted roster has more problems than the patched limit lets through
    assert len(sheets["Errors"]) == 1 + 4 + 1
    assert sheets["Errors"][-1][0][0] == f"… cut at Excel's row limit; the errors CSV has all {len(errors)}"
    labels = [str(cell[0]) for row in sheets["Summary"] for cell in row]
    assert any("cut at Excel's limit of 5 rows (see the CSV report)" in text for text in labels)


def _edited(tmp_path: Path) -> Path:
    """The sample roster with names changed on rows far apart (chunks of 40 rows), a date cleared."""
    frame = pd.read_csv(SAMPLES / "roster.csv", dtype=str, keep_default_na=False)
    for index in (0, 57, 130, 201):
        frame.loc[index, "given_name"] = frame.loc[index, "given_name"] + "a"
    frame.loc[90, "phone"] = ""
    path = tmp_path / "edited.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("max_copy_rows", [None, 20], ids=["copied-whole", "rows-needing-attention"])
def test_an_import_in_chunks_marks_the_cells_it_changed_as_a_whole_run_does(
    max_copy_rows: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long sheet shows a changed row (status "updated": OK) from the rows set aside, as a whole run."""
    if max_copy_rows is not None:
        monkeypatch.setattr(report_xlsx, "DEFAULT_MAX_COPY_ROWS", max_copy_rows)
    with Sandbox() as one, Sandbox() as many:
        _run([SAMPLES / "roster.csv"], "roster.yaml", tmp_path / "w0", "import", 0, one)
        _run([SAMPLES / "roster.csv"], "roster.yaml", tmp_path / "c0", "import", 0, many)
        edited = _edited(tmp_path)
        whole = _run([edited], "roster.yaml", tmp_path / "whole", "import", 0, one)
        chunked = _run([edited], "roster.yaml", tmp_path / "chunked", "import", 40, many)
    sheets = _assert_same_workbook(chunked, whole)
    blue = report_xlsx.CHANGED_FILL.fgColor.rgb
    changed = [cell for row in _copy_rows(sheets) for cell in row if cell[1] == blue]
    assert len(changed) >= 4 and all(str(c[2]).startswith("changed: the server held") for c in changed)


def test_a_run_stopped_between_chunks_writes_the_workbook_of_the_rows_it_reached(tmp_path: Path) -> None:
    stop = threading.Event()
    options = ImportOptions(
        mapping=MAPPINGS / "roster.yaml",
        mode="import",
        out_dir=tmp_path,
        chunk_rows=40,
        load=LoadOptions(stop=stop),
    )

    def after(chunk: int) -> None:  # as Ctrl-C pressed while the second chunk was being written
        if chunk >= 1:
            stop.set()

    with Sandbox() as sb:
        mapping = load_mapping(MAPPINGS / "roster.yaml")
        started = datetime.now(UTC)
        result = _run_chunked(
            [SAMPLES / "roster.csv"],
            options,
            settings_for(sb),
            None,
            mapping,
            "spp_import",
            print,
            started,
            after,
        )
    assert result.stopped
    reported = pd.read_csv(result.files["csv"], encoding="utf-8-sig")
    assert 40 <= len(reported) < 238
    sheets = _workbook(result.files["xlsx"])
    copy = _copy_rows(sheets)
    assert sorted(row[1][0] for row in copy) == sorted(reported["row"])  # the rows it reached, no more
    labels = [str(cell[0]) for row in sheets["Summary"] for cell in row]
    assert any("the run stopped: the rows it did not reach are in neither report" in t for t in labels)


@pytest.mark.parametrize("chunk_rows", ["7", "0"])
def test_no_xlsx_writes_the_csv_reports_only(chunk_rows: str, tmp_path: Path, capsys) -> None:
    from importer.cli import main

    roster = planted_roster(tmp_path / "planted.csv")
    args = ["validate", str(roster), "-m", str(MAPPINGS / "roster.yaml"), "--quiet", "--json"]
    assert main([*args, "--out", str(tmp_path / "out"), "--chunk-rows", chunk_rows, "--no-xlsx"]) == 1
    files = json.loads(capsys.readouterr().out)["files"]
    assert set(files) == {"csv", "errors_csv", "audit"}
    assert not list((tmp_path / "out").glob("*.xlsx"))
    assert main([*args, "--out", str(tmp_path / "with"), "--chunk-rows", chunk_rows]) == 1
    assert Path(json.loads(capsys.readouterr().out)["files"]["xlsx"]).is_file()
