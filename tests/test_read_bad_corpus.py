"""Every file of the bad-input corpus either reads or fails with a Problem naming it; nothing else.

The corpus lives in tests/data/bad/ (see tests/data/make_bad_corpus.py for what each
file exercises).  EXPECTED pins the outcome we chose for each file so a change of
behaviour is a visible decision, not an accident.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.outcome import ImportFailure
from importer.read import SourceTable, read_source

BAD = Path(__file__).parent / "data" / "bad"
FILES = sorted(p for p in BAD.iterdir() if p.is_file())

# file -> ("fail", code) or ("ok", {warning or cell-error codes that must appear})
EXPECTED: dict[str, tuple[str, object]] = {
    "empty.csv": ("fail", "empty_file"),
    "blank_lines_only.csv": ("fail", "empty_file"),
    "only_nul.csv": ("fail", "empty_file"),
    "header_only.csv": ("ok", set()),
    "utf8_bom.csv": ("ok", set()),
    "utf16_bom.csv": ("ok", set()),
    "utf16be_bom.csv": ("ok", set()),
    "utf16_no_bom.csv": ("ok", {"encoding_guessed"}),
    "cp1252.csv": ("ok", {"encoding_fallback"}),
    "latin1_gaps.csv": ("ok", {"encoding_fallback"}),
    "mixed_encoding.csv": ("ok", {"encoding_fallback"}),
    "nul_bytes.csv": ("ok", {"nul_bytes"}),
    "semicolon.csv": ("ok", set()),
    "tab.csv": ("ok", set()),
    "pipe.csv": ("ok", set()),
    "mixed_delimiters.csv": ("ok", {"mixed_delimiters"}),
    "quoted_newlines.csv": ("ok", set()),
    "unterminated_quote.csv": ("fail", "unterminated_quote"),
    "mixed_line_endings.csv": ("ok", set()),
    "cr_only.csv": ("ok", set()),
    "ragged_rows.csv": ("ok", {"blank_header"}),
    "blank_lines_inside.csv": ("ok", set()),
    "preamble_blank_lines.csv": ("ok", set()),
    "duplicate_headers.csv": ("ok", {"duplicate_header"}),
    "blank_headers.csv": ("ok", {"blank_header"}),
    "whitespace_headers.csv": ("ok", set()),
    "unknown_columns.csv": ("ok", set()),
    "leading_zeros.csv": ("ok", set()),
    "dates_text_formats.csv": ("ok", set()),
    "rtl_emoji.csv": ("ok", set()),
    "injection.csv": ("ok", set()),
    "long_cell.csv": ("ok", set()),
    "excel_errors.csv": ("ok", {"error_cell"}),
    "xlsx_named.csv": ("fail", "not_csv"),
    "header_only.xlsx": ("ok", set()),
    "empty_workbook.xlsx": ("fail", "empty_file"),
    "binary_garbage.xlsx": ("fail", "not_a_workbook"),
    "truncated.xlsx": ("fail", "damaged_workbook"),
    "not_a_workbook.xlsx": ("fail", "not_a_workbook"),
    "encrypted.xlsx": ("fail", "encrypted_workbook"),
    "old_format.xls": ("fail", "old_excel_format"),
    "merged_cells.xlsx": ("ok", {"merged_cells"}),
    "formulas.xlsx": ("ok", {"formula_no_value"}),
    "error_cells.xlsx": ("ok", {"error_cell", "formula_no_value"}),
    "unsaved_formulas.xlsx": ("ok", {"formula_no_value"}),
    "formula_edge_cases.xlsx": ("ok", {"formula_no_value"}),
    "serial_dates.xlsx": ("ok", set()),
    "numbers_as_numbers.xlsx": ("ok", set()),
    "hidden_sheet.xlsx": ("ok", {"hidden_sheet"}),
    "offset_table.xlsx": ("ok", set()),
    "two_sheets.xlsx": ("ok", set()),
    "rtl_emoji.xlsx": ("ok", set()),
    "injection.xlsx": ("ok", set()),
    "long_cell.xlsx": ("ok", set()),
    "duplicate_blank_headers.xlsx": ("ok", {"duplicate_header", "blank_header"}),
    "trailing_empty_strings.xlsx": ("ok", set()),
    "unknown_extension.pdf": ("fail", "unknown_file_type"),
    "no_extension": ("fail", "unknown_file_type"),
}


def test_corpus_has_at_least_forty_files_all_with_expectations() -> None:
    names = {p.name for p in FILES} - {".gitattributes"}
    assert len(names) >= 40
    assert names == set(EXPECTED), "add new corpus files to EXPECTED (or remove stale ones)"


def _outcome(path: Path, engine: str) -> list[SourceTable] | ImportFailure:
    try:
        return read_source(path, engine=engine)
    except ImportFailure as failure:
        return failure
    # any other exception propagates and fails the test: that is the point


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_bad_file_reads_or_fails_with_a_problem_naming_it(path: Path, engine: str) -> None:
    outcome = _outcome(path, engine)
    kind, detail = EXPECTED[path.name]
    if isinstance(outcome, ImportFailure):
        assert outcome.problems, "an ImportFailure must carry at least one Problem"
        problem = outcome.problems[0]
        assert problem.file == path.name
        assert path.name in outcome.message
        assert "Traceback" not in outcome.message
        assert (kind, problem.code) == ("fail", detail)
        return
    assert kind == "ok", f"expected failure {detail}, got tables"
    assert outcome and all(isinstance(t, SourceTable) for t in outcome)
    codes = {w.code for t in outcome for w in [*t.warnings, *t.cell_errors]}
    assert detail <= codes  # type: ignore[operator]
    for table in outcome:
        assert all(w.file == path.name for w in table.warnings)
        for problem in table.cell_errors:  # each names its file, sheet, row and column
            assert (problem.file, problem.sheet, problem.severity) == (path.name, table.sheet, "error")
            assert problem.row in table.frame.index and problem.column in table.frame.columns
        assert table.frame.index.name == "row"
        assert not table.frame.isna().any().any()
        assert all(isinstance(v, str) for v in table.frame.to_numpy().ravel())


def test_unterminated_quote_names_the_row_where_the_quote_opens() -> None:
    with pytest.raises(ImportFailure) as caught:
        read_source(BAD / "unterminated_quote.csv")
    assert caught.value.problems[0].row == 5


def test_missing_file_and_directory_fail_plainly(tmp_path: Path) -> None:
    with pytest.raises(ImportFailure) as missing:
        read_source(tmp_path / "nowhere.csv")
    assert missing.value.problems[0].code == "file_not_found"
    assert missing.value.problems[0].file == "nowhere.csv"
    folder = tmp_path / "roster.xlsx"
    folder.mkdir()
    with pytest.raises(ImportFailure) as directory:
        read_source(folder)
    assert directory.value.problems[0].code == "not_a_file"


def test_unknown_engine_is_an_import_failure() -> None:
    with pytest.raises(ImportFailure) as caught:
        read_source(BAD / "header_only.xlsx", engine="xlrd")
    assert caught.value.problems[0].code == "unknown_engine"


def test_encrypted_workbook_message_says_remove_the_password() -> None:
    with pytest.raises(ImportFailure) as caught:
        read_source(BAD / "encrypted.xlsx")
    assert "password-protected" in caught.value.message
    assert "without a password" in caught.value.message


def test_old_xls_message_says_save_as_xlsx() -> None:
    with pytest.raises(ImportFailure) as caught:
        read_source(BAD / "old_format.xls")
    assert ".xlsx" in caught.value.message and "97-2003" in caught.value.message
