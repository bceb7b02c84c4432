"""READ stage behaviour: text cells, clerk-visible row numbers, header cleaning, both engines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from importer import read_xlsx
from importer.outcome import ImportFailure
from importer.read import read_source

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad"


def _corpus_module():
    spec = importlib.util.spec_from_file_location(
        "make_bad_corpus", ROOT / "tests" / "data" / "make_bad_corpus.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_bad_corpus", module)
    spec.loader.exec_module(module)
    return module


def _one(path: Path, engine: str = "calamine") -> pd.DataFrame:
    tables = read_source(path, engine=engine)
    assert len(tables) == 1
    return tables[0].frame


# --- CSV ------------------------------------------------------------------------------------


def test_csv_ids_keep_leading_zeros_and_phones_stay_exact() -> None:
    frame = _one(BAD / "leading_zeros.csv")
    assert frame["household_id"].tolist() == ["000123", "000124"]
    assert frame["national_id"].tolist() == ["007", "1.50E+10"]
    assert frame["phone"].tolist() == ["0700123456", "+254 700 123 456"]


def test_csv_row_numbers_are_editor_lines_with_blank_lines_counted() -> None:
    table = read_source(BAD / "preamble_blank_lines.csv")[0]
    assert table.header_row == 4
    assert table.frame.index.tolist() == [5, 6, 7]
    assert _one(BAD / "blank_lines_inside.csv").index.tolist() == [2, 6, 7]


def test_csv_quoted_multiline_value_numbers_rows_by_the_line_the_record_starts() -> None:
    frame = _one(BAD / "quoted_newlines.csv")
    assert frame.index.tolist() == [2, 3, 4, 5, 9]
    assert frame.loc[5, "household_name"] == "Line\nBreak\nFamily"
    assert frame.loc[5, "given_name"] == "Multi\nLine"  # CRLF inside quotes normalised to LF


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [("semicolon.csv", ";"), ("tab.csv", "\t"), ("pipe.csv", "|"), ("utf8_bom.csv", ",")],
)
def test_csv_delimiter_is_detected(name: str, delimiter: str) -> None:
    table = read_source(BAD / name)[0]
    assert table.delimiter == delimiter
    assert table.frame.columns[0] == "household_id"  # no BOM glued to the first header
    assert table.frame.shape == (3, 11)


def test_cp1252_file_reads_accents_and_warns() -> None:
    table = read_source(BAD / "cp1252.csv")[0]
    assert table.encoding == "cp1252"
    assert table.frame.loc[5, "given_name"] == "Zoë"
    assert table.frame.loc[5, "phone"] == "€ 5"
    assert [w.code for w in table.warnings] == ["encoding_fallback"]
    assert table.warnings[0].severity == "warning"


def test_mixed_utf8_and_cp1252_rows_both_read_right() -> None:
    frame = _one(BAD / "mixed_encoding.csv")
    assert frame["household_name"].tolist()[-2:] == ["Søren", "Jürgen"]
    assert frame["given_name"].tolist()[-2:] == ["Åsa", "Zoë"]


@pytest.mark.parametrize("name", ["utf16_bom.csv", "utf16be_bom.csv", "utf16_no_bom.csv"])
def test_utf16_files_read(name: str) -> None:
    frame = _one(BAD / name)
    assert frame.columns[0] == "household_id"
    assert frame.loc[2, "national_id"] == "00123456"


def test_line_endings_cr_lf_crlf_mixed_read_alike() -> None:
    expected = _one(BAD / "semicolon.csv")
    for name in ("mixed_line_endings.csv", "cr_only.csv"):
        pd.testing.assert_frame_equal(_one(BAD / name), expected)


def test_nul_bytes_are_removed_with_a_warning_naming_the_row() -> None:
    table = read_source(BAD / "nul_bytes.csv")[0]
    assert table.frame.loc[3, "given_name"] == "Baraka"
    assert [(w.code, w.row) for w in table.warnings] == [("nul_bytes", 3)]


def test_row_wider_than_header_gets_a_lettered_column() -> None:
    table = read_source(BAD / "ragged_rows.csv")[0]
    assert table.frame.loc[3, "Column L"] == "surprise"
    assert table.frame.loc[2, "phone"] == ""  # short row padded with ''


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The million-empty-row CSV and XLSX, written once for this module (tens of MB)."""
    return _corpus_module().make_big_files(tmp_path_factory.mktemp("big"))


def test_trailing_million_empty_csv_rows_are_dropped(big_files: dict[str, Path]) -> None:
    frame = _one(big_files["csv"])
    assert len(frame) == 12
    assert frame.index[-1] == 13


# --- headers ----------------------------------------------------------------------------------


def test_duplicate_headers_made_unique_with_warning_naming_both_columns() -> None:
    table = read_source(BAD / "duplicate_headers.csv")[0]
    assert list(table.frame.columns[-3:]) == ["given_name (2)", "phone (2)", "phone (3)"]
    first = next(w for w in table.warnings if w.code == "duplicate_header")
    assert "Columns E and L" in first.message and first.column == "given_name (2)"


def test_blank_header_with_values_named_after_its_letter_and_empty_one_dropped() -> None:
    table = read_source(BAD / "blank_headers.csv")[0]
    assert list(table.frame.columns) == ["household_id", "household_name", "Column C", "person_id"]
    assert [(w.code, w.column) for w in table.warnings] == [("blank_header", "Column C")]


def test_headers_are_stripped_and_line_breaks_collapsed() -> None:
    frame = _one(BAD / "whitespace_headers.csv")
    assert frame.columns[0] == "household_id"
    assert frame.columns[-1] == "phone number"


def test_header_only_gives_an_empty_table_not_an_error() -> None:
    for name in ("header_only.csv", "header_only.xlsx"):
        table = read_source(BAD / name)[0]
        assert len(table.frame) == 0
        assert list(table.frame.columns)[:2] == ["household_id", "household_name"]


# --- XLSX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_numbers_become_the_digits_typed(engine: str) -> None:
    frame = _one(BAD / "numbers_as_numbers.xlsx", engine)
    assert frame.loc[2, "person_id"] == "1234567890"
    assert frame.loc[2, "phone"] == "254700000001"
    assert frame.loc[3, "person_id"] == "0.1"
    assert frame.loc[3, "household_id"] == "2"
    assert (frame.loc[3, "national_id"], frame.loc[3, "phone"]) == ("TRUE", "FALSE")
    assert frame.loc[4, "phone"] == "100.25"


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_dates_become_iso_with_time_only_when_present(engine: str) -> None:
    frame = _one(BAD / "serial_dates.xlsx", engine)
    assert frame.loc[2, "date_of_birth"] == "1990-03-14"
    assert frame.loc[3, "date_of_birth"] == "1990-03-14 12:00:00"
    assert frame.loc[4, "date_of_birth"] == "2000-01-01"
    assert frame.loc[5, "date_of_birth"] == "32946"  # a number without a date format stays one
    assert frame.loc[7, "date_of_birth"] == "12/03/1990"  # text stays text


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_error_cells_keep_their_text_and_are_cell_errors(engine: str) -> None:
    table = read_source(BAD / "error_cells.xlsx", engine=engine)[0]
    assert table.frame.loc[2, "date_of_birth"] == "#N/A"
    assert table.frame.loc[2, "national_id"] == "#REF!"
    assert table.frame.loc[3, "phone"] == "#DIV/0!"
    assert table.frame.loc[3, "national_id"] == "#N/A typed as text"  # not exactly a token: a value
    errors = {(p.code, p.row, p.column, p.value) for p in table.cell_errors}
    assert errors == {
        ("error_cell", 2, "date_of_birth", "#N/A"),
        ("error_cell", 2, "national_id", "#REF!"),
        ("error_cell", 3, "phone", "#DIV/0!"),
        ("formula_no_value", 2, "phone", "=1/0"),
    }
    assert all(p.severity == "error" and p.sheet == "People" for p in table.cell_errors)
    assert all(p.file == "error_cells.xlsx" for p in table.cell_errors)
    assert "#N/A" in table.cell_errors[0].message


def test_csv_cell_that_is_exactly_an_excel_error_token_is_a_cell_error() -> None:
    table = read_source(BAD / "excel_errors.csv")[0]
    found = [(p.code, p.row, p.column, p.value, p.sheet) for p in table.cell_errors]
    assert found == [
        ("error_cell", 2, "date_of_birth", "#N/A", None),
        ("error_cell", 2, "national_id", "#REF!", None),
    ]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_formula_written_by_a_script_without_a_result_is_a_cell_error_not_an_empty_value(
    engine: str,
) -> None:
    # openpyxl writes '=A2&B2' with no cached result; both engines read the cell as empty.
    table = read_source(BAD / "unsaved_formulas.xlsx", engine=engine)[0]
    assert table.frame.loc[3, "family_name"] == ""
    found = [(p.code, p.row, p.column, p.value) for p in table.cell_errors]
    assert found == [
        ("formula_no_value", 2, "notes", "=A2&B2"),
        ("formula_no_value", 3, "family_name", "=F2"),
    ]
    message = table.cell_errors[1].message
    assert message.startswith("formula with no saved result (=F2): open and save the file in Excel")


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_formula_edge_cases_text_result_empty_shared_formula_and_a_formula_only_row(engine: str) -> None:
    table = read_source(BAD / "formula_edge_cases.xlsx", engine=engine)[0]
    assert table.frame.loc[2, "household_name"] == ""  # a text formula whose saved answer is ""
    assert list(table.frame.index) == [2, 3, 4, 5]  # row 5 holds only a formula: not dropped
    found = [(p.code, p.row, p.column, p.value) for p in table.cell_errors]
    assert found == [
        ("formula_no_value", 3, "given_name", '=UPPER("baraka")'),
        ("formula_no_value", 4, "given_name", None),  # a shared formula's follower: no text
        ("formula_no_value", 5, "phone", "=1+1"),
    ]


def test_formula_cells_in_a_namespaced_sheet_xml_are_found() -> None:
    # Some .NET writers prefix every tag (<x:c>, <x:f>); the scan follows the sheet's prefix.
    xml = (
        b'<x:worksheet xmlns:x="main"><x:sheetData><x:row r="2">'
        b'<x:c r="B2"><x:f>A2&amp;"!"</x:f></x:c>'
        b'<x:c r="C2"><x:f>1+1</x:f><x:v>2</x:v></x:c>'
        b'<x:c r="D2" t="str"><x:f>""</x:f><x:v></x:v></x:c>'
        b"</x:row></x:sheetData></x:worksheet>"
    )
    assert read_xlsx._unsaved_formulas(xml) == {(1, 1): '=A2&"!"'}


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_formulas_give_their_cached_value(engine: str) -> None:
    frame = _one(BAD / "formulas.xlsx", engine)
    assert frame.loc[2, "household_name"] == "Phiri"
    assert frame.loc[2, "national_id"] == "HH6-X"
    assert frame.loc[3, "national_id"] == "2.5"


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_merged_cells_value_in_top_left_only_with_warning(engine: str) -> None:
    table = read_source(BAD / "merged_cells.xlsx", engine=engine)[0]
    assert table.frame["household_name"].tolist() == ["Banda", "", ""]
    assert sorted(w.value for w in table.warnings if w.code == "merged_cells") == [
        "A2:A4",
        "B2:B4",
    ]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_hidden_sheets_read_with_warning_and_labels(engine: str) -> None:
    tables = read_source(BAD / "hidden_sheet.xlsx", engine=engine)
    assert [t.label for t in tables] == [
        "hidden_sheet.xlsx [People]",
        "hidden_sheet.xlsx [Old people]",
        "hidden_sheet.xlsx [Secret]",
    ]
    assert [[w.code for w in t.warnings] for t in tables] == [[], ["hidden_sheet"], ["hidden_sheet"]]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_header_is_first_non_empty_row_and_rows_keep_excel_numbers(engine: str) -> None:
    table = read_source(BAD / "offset_table.xlsx", engine=engine)[0]
    assert table.header_row == 3
    assert table.frame.index.tolist() == [4, 5, 6]
    assert table.frame.columns[0] == "household_id"


def test_csv_label_is_the_file_name() -> None:
    assert read_source(BAD / "pipe.csv")[0].label == "pipe.csv"


def test_million_empty_xlsx_rows_cost_no_per_cell_python(
    big_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    original = read_xlsx.cell_text

    def counting(value: object) -> str:
        nonlocal calls
        calls += 1
        return original(value)

    monkeypatch.setattr(read_xlsx, "cell_text", counting)
    frame = _one(big_files["xlsx"])
    assert len(frame) == 12 and frame.index[-1] == 13
    assert calls < 1_000  # the header only: text columns skip the per-cell path entirely


# --- both engines give identical frames, for every workbook we have ---------------------------

WORKBOOKS = sorted({*ROOT.glob("sample_data/**/*.xlsx"), *ROOT.glob("tests/data/**/*.xlsx")}, key=str)


def _read_or_failure(path: Path, engine: str) -> object:
    try:
        return read_source(path, engine=engine)
    except ImportFailure as failure:
        return failure


@pytest.mark.parametrize("path", WORKBOOKS, ids=[str(p.relative_to(ROOT)) for p in WORKBOOKS])
def test_calamine_and_openpyxl_give_identical_tables(path: Path) -> None:
    fast = _read_or_failure(path, "calamine")
    slow = _read_or_failure(path, "openpyxl")
    if isinstance(fast, ImportFailure) or isinstance(slow, ImportFailure):
        assert isinstance(fast, ImportFailure) and isinstance(slow, ImportFailure)
        assert fast.problems[0].code == slow.problems[0].code
        return
    assert [t.sheet for t in fast] == [t.sheet for t in slow]  # type: ignore[union-attr]
    for a, b in zip(fast, slow, strict=True):  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.header_row == b.header_row
        assert [w.as_dict() for w in a.warnings] == [w.as_dict() for w in b.warnings]
        assert [p.as_dict() for p in a.cell_errors] == [p.as_dict() for p in b.cell_errors]


@pytest.mark.slow
def test_million_row_csv_roster_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    corpus = _corpus_module()
    row = ",".join(corpus.ROWS[0]) + "\n"
    path.write_text(",".join(corpus.HEADERS) + "\n" + row * 1_000_000, encoding="utf-8")
    frame = _one(path)
    assert frame.shape == (1_000_000, 11)
    assert frame.index[-1] == 1_000_001
    assert frame["national_id"].iloc[-1] == "00123456"
