"""Generate tests/data/bad/: deliberately awkward input files for the READ stage.

Run ``python tests/data/make_bad_corpus.py`` to (re)write the committed corpus;
``make_big_files(directory)`` writes the two large ones (a million empty rows)
and is called by the tests into a temporary directory instead.

Every file uses the roster headers where it has any:
household_id, household_name, household_kind, person_id, given_name,
family_name, sex, date_of_birth, relationship, national_id, phone.

Files and what each exercises:

CSV, encodings and bytes
  empty.csv                   0 bytes -> ImportFailure "empty_file"
  blank_lines_only.csv        only blank lines and bare delimiters -> "empty_file"
  header_only.csv             header, no rows -> a table with zero rows
  utf8_bom.csv                UTF-8 with BOM; the BOM must not stick to the first header
  utf16_bom.csv               UTF-16 LE with BOM
  utf16be_bom.csv             UTF-16 BE with BOM
  utf16_no_bom.csv            UTF-16 LE without BOM -> read, warning "encoding_guessed"
  cp1252.csv                  Excel's Windows-1252 -> warning "encoding_fallback", names right
  latin1_gaps.csv             bytes cp1252 leaves undefined (0x81, 0x9D) -> still read
  mixed_encoding.csv          UTF-8 rows and cp1252 rows in one file -> both halves right
  nul_bytes.csv               NUL bytes inside values -> removed, warning "nul_bytes" with row
  only_nul.csv                nothing but NUL bytes -> "empty_file"
CSV, structure
  semicolon.csv / tab.csv / pipe.csv   delimiter detection
  mixed_delimiters.csv        header with ',' but some rows with ';' -> warning "mixed_delimiters"
  quoted_newlines.csv         quoted values spanning lines -> row = line where a record starts
  unterminated_quote.csv      a quote never closed -> ImportFailure "unterminated_quote" naming row
  mixed_line_endings.csv      CR, LF and CRLF in one file
  cr_only.csv                 old-Mac CR line ends
  ragged_rows.csv             rows shorter and longer than the header -> extra column named
  blank_lines_inside.csv      blank lines between rows -> dropped, numbers unchanged
  preamble_blank_lines.csv    blank lines before the header -> header_row > 1
  duplicate_headers.csv       'given_name' twice -> 'given_name (2)', warning "duplicate_header"
  blank_headers.csv           a column with values and no header -> 'Column C', warning
  whitespace_headers.csv      headers with spaces and a line break -> stripped
  unknown_columns.csv         roster plus columns no mapping knows
  leading_zeros.csv           ids '000123', phones '+254 700...' and '0700...' stay text
  dates_text_formats.csv      dates as text in five formats (ISO, d/m/Y, m/d/Y, d.m.Y, '12 Mar 1990')
  rtl_emoji.csv               Arabic / Hebrew names, emoji, combining marks
  injection.csv               =HYPERLINK(...), +cmd, '; DROP TABLE, <script>
  long_cell.csv               one 100,000-character cell
  excel_errors.csv            '#N/A', '#REF!' as exported by Excel -> cell errors "error_cell"
  xlsx_named.csv              a workbook renamed .csv -> ImportFailure "not_csv"
XLSX
  header_only.xlsx            header, no rows -> zero-row table
  empty_workbook.xlsx         every sheet empty -> "empty_file"
  binary_garbage.xlsx         random bytes -> "not_a_workbook"
  truncated.xlsx              a real workbook cut in half -> "damaged_workbook"
  not_a_workbook.xlsx         a zip without xl/workbook.xml -> "not_a_workbook"
  encrypted.xlsx              OLE2 container with an EncryptedPackage stream -> "encrypted_workbook"
  old_format.xls              OLE2 container without it -> "old_excel_format"
  merged_cells.xlsx           household name merged over three rows -> warning "merged_cells"
  formulas.xlsx               formulas with cached values, and one without -> "formula_no_value"
  error_cells.xlsx            real error cells (t="e"): #N/A, #REF!, #DIV/0! -> "error_cell"
  unsaved_formulas.xlsx       openpyxl writing '=A2&B2' without computing it: no cached values,
                              in a mapped column and in an unmapped 'notes' -> "formula_no_value"
  formula_edge_cases.xlsx     a text formula whose saved answer is '' (fine), a shared formula
                              with no result, a row holding nothing but such a formula (kept)
  serial_dates.xlsx           Excel serial dates with date / datetime formats, and dates as text
  numbers_as_numbers.xlsx     ids and phones stored as numbers (1234567890.0), 0.1, booleans
  hidden_sheet.xlsx           a hidden and a very hidden sheet -> read, warning "hidden_sheet"
  offset_table.xlsx           header in C3 with blank rows and columns around it
  two_sheets.xlsx             households and people on separate sheets, plus an empty sheet
  rtl_emoji.xlsx              right-to-left names and emoji
  injection.xlsx              injection strings stored as text
  long_cell.xlsx              one 100,000-character cell
  duplicate_blank_headers.xlsx duplicate and blank headers in a workbook
  trailing_empty_strings.xlsx rows of empty-string cells after the data (dropped)
Other
  unknown_extension.pdf       not .csv/.xlsx -> "unknown_file_type"
  no_extension                -> "unknown_file_type"
Generated at test time by make_big_files(directory) (tens of MB):
  million_empty_rows.csv      10 rows then 1,000,000 rows of bare delimiters
  million_empty_rows.xlsx     10 rows then 1,000,000 styled/empty-string rows
"""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"

HEADERS = [
    "household_id",
    "household_name",
    "household_kind",
    "person_id",
    "given_name",
    "family_name",
    "sex",
    "date_of_birth",
    "relationship",
    "national_id",
    "phone",
]

ROWS = [
    ["HH0001", "Otieno", "family", "P000101", "Achieng", "Otieno", "F", "1985-03-12", "head",
     "00123456", "+254700000001"],
    ["HH0001", "Otieno", "family", "P000102", "Baraka", "Otieno", "M", "2010-07-01", "child",
     "", "0700000002"],
    ["HH0002", "Mensah", "family", "P000201", "Kofi", "Mensah", "M", "1979-11-30", "head",
     "0099887766", ""],
]  # fmt: skip


def _csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    def quote(value: str) -> str:
        if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(delimiter.join(quote(v) for v in row) + newline for row in rows)


def _roster(extra: list[list[str]] | None = None) -> list[list[str]]:
    return [HEADERS, *ROWS, *(extra or [])]


# --- a tiny raw XLSX writer: full control of the XML (cached formula values, error cells) ---

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
{overrides}</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
# Style 0 general, 1 date (numFmt 14), 2 datetime (numFmt 22), 3 text fill (no format).
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="0" fillId="1" borderId="0" xfId="0" applyFill="1"/></cellXfs>
</styleSheet>"""

Cell = str | int | float | bool | None | tuple[str, ...]


def _col(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_xml(ref: str, value: Cell) -> str:
    """XML for one cell. Tuples are special: ('f', formula, cached), ('e', '#N/A'), ('d', serial),
    ('dt', serial), ('styled',) for a formatted empty cell, ('fs',) for a shared formula's
    follower cell saved without a result."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        kind = value[0]
        if kind == "f":
            cached = value[2]
            if cached is None:
                return f'<c r="{ref}"><f>{escape(value[1])}</f></c>'
            if isinstance(cached, str):
                return f'<c r="{ref}" t="str"><f>{escape(value[1])}</f><v>{escape(cached)}</v></c>'
            return f'<c r="{ref}"><f>{escape(value[1])}</f><v>{cached}</v></c>'
        if kind == "e":
            return f'<c r="{ref}" t="e"><v>{escape(value[1])}</v></c>'
        if kind == "d":
            return f'<c r="{ref}" s="1"><v>{value[1]}</v></c>'
        if kind == "dt":
            return f'<c r="{ref}" s="2"><v>{value[1]}</v></c>'
        if kind == "styled":
            return f'<c r="{ref}" s="3"/>'
        if kind == "fs":
            return f'<c r="{ref}"><f t="shared" si="0"/></c>'
        raise ValueError(kind)
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def rows_xml(rows: list[list[Cell]], first_row: int = 1, first_col: int = 0) -> str:
    out = []
    for i, row in enumerate(rows):
        r = first_row + i
        cells = "".join(cell_xml(f"{_col(first_col + j)}{r}", v) for j, v in enumerate(row))
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)


def write_raw_xlsx(
    path: Path,
    sheets: list[tuple[str, str, str, list[str]]],
) -> None:
    """sheets: (name, state 'visible'|'hidden'|'veryHidden', sheetData inner XML, merge refs)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\n'
            for i in range(1, len(sheets) + 1)
        )
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(overrides=overrides))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/styles.xml", _STYLES)
        entries, rels = [], []
        for i, (name, state, data, merges) in enumerate(sheets, start=1):
            state_attr = "" if state == "visible" else f' state="{state}"'
            entries.append(f'<sheet name="{escape(name)}" sheetId="{i}"{state_attr} r:id="rId{i}"/>')
            rels.append(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
            )
            merge_xml = ""
            if merges:
                merge_xml = (
                    f'<mergeCells count="{len(merges)}">'
                    + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
                    + "</mergeCells>"
                )
            zf.writestr(
                f"xl/worksheets/sheet{i}.xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f"<sheetData>{data}</sheetData>{merge_xml}</worksheet>",
            )
        n = len(sheets) + 1
        rels.append(
            f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/styles" Target="styles.xml"/>'
        )
        zf.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{''.join(entries)}</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels)
            + "</Relationships>",
        )


def _openpyxl_book(path: Path, rows: list[list[object]], title: str = "People") -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)


def _ole2(with_encrypted_package: bool) -> bytes:
    """A minimal Compound File (OLE2) header plus one directory sector naming its streams.

    Enough for signature-based detection; no real encryption is needed to test the message.
    """
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 48, 0)  # first directory sector
    names = ["Root Entry", "EncryptionInfo", "EncryptedPackage"] if with_encrypted_package else [
        "Root Entry", "Workbook", "SummaryInformation"]  # fmt: skip
    directory = bytearray()
    for name in names:
        entry = bytearray(128)
        raw = name.encode("utf-16-le")
        entry[0 : len(raw)] = raw
        struct.pack_into("<H", entry, 64, len(raw) + 2)
        entry[66] = 5 if name == "Root Entry" else 2
        directory += entry
    directory += bytes(512 - len(directory))
    return bytes(header) + bytes(directory)


# --- builders ---------------------------------------------------------------------------------


def build_all(out: Path) -> list[Path]:
    """Write every committed corpus file into ``out`` (one statement per file, in docstring order)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(4)
    written: list[Path] = []

    def put(name: str, data: bytes | str, encoding: str = "utf-8") -> None:
        path = out / name
        path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
        written.append(path)

    def book(name: str, fn: Callable[[Path], None]) -> None:
        path = out / name
        fn(path)
        written.append(path)

    roster = _csv_text(_roster())
    put("empty.csv", b"")
    put("blank_lines_only.csv", "\n\n,,,\n  \n;;\n")
    put("header_only.csv", _csv_text([HEADERS]))
    put("utf8_bom.csv", "\ufeff" + roster)
    put("utf16_bom.csv", "\ufeff" + _csv_text(_roster([["HH3", "Čapek", "family", "P3", "Zoë",
        "Čapek", "F", "1990-01-01", "head", "", ""]])), "utf-16-le")  # fmt: skip
    put("utf16be_bom.csv", "\ufeff" + roster, "utf-16-be")
    put("utf16_no_bom.csv", roster, "utf-16-le")
    accented = _roster([["HH0003", "Müller", "family", "P000301", "Zoë", "Müller", "F",
        "1991-02-03", "head", "", "€ 5"]])  # fmt: skip
    put("cp1252.csv", _csv_text(accented, newline="\r\n"), "cp1252")
    put("latin1_gaps.csv", _csv_text([HEADERS]).encode() + b"HH9,Bad\x81byte,family,P9,A\x9dB,"
        b"C,F,1990-01-01,head,,\n")  # fmt: skip
    put("mixed_encoding.csv", _csv_text(_roster()).encode("utf-8") + "HH0004,Søren,family,"
        "P000401,Åsa,Søren,F,1970-01-01,head,,\n".encode("cp1252") + "HH0005,Jürgen,family,"
        "P000501,Zoë,Jürgen,F,1971-01-01,head,,\n".encode())  # fmt: skip
    put("nul_bytes.csv", roster.encode().replace(b"Baraka", b"Bar\x00aka"))
    put("only_nul.csv", b"\x00" * 64)
    put("semicolon.csv", _csv_text(_roster(), delimiter=";"))
    put("tab.csv", _csv_text(_roster(), delimiter="\t"))
    put("pipe.csv", _csv_text(_roster(), delimiter="|"))
    put("mixed_delimiters.csv", roster + _csv_text([["HH0009", "Semi", "family", "P000901",
        "Ana", "Semi", "F", "1990-01-01", "head", "", ""]], delimiter=";"))  # fmt: skip
    put("quoted_newlines.csv", _csv_text(_roster([["HH0006", "Line\nBreak\nFamily", "family",
        "P000601", "Multi\r\nLine", "X", "M", "2000-01-01", "head", "", ""],
        ["HH0007", "After", "family", "P000701", "Next", "Y", "F", "2001-01-01", "head", "",
         ""]])))  # fmt: skip
    put("unterminated_quote.csv", roster + 'HH0008,"Never closed,family,P000801,A,B,F,'
        "1990-01-01,head,,\nHH0009,Other,family,P000901,C,D,M,1990-01-01,head,,\n")  # fmt: skip
    lines = _csv_text(_roster(), newline="\n").splitlines()
    put("mixed_line_endings.csv", lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n"
        + lines[3] + "\r\n")  # fmt: skip
    put("cr_only.csv", _csv_text(_roster(), newline="\r"))
    put("ragged_rows.csv", _csv_text([HEADERS, ROWS[0][:5], ROWS[1] + ["surprise"], ROWS[2],
        ROWS[2] + ["", ""]]))  # fmt: skip
    put("blank_lines_inside.csv", _csv_text([HEADERS, ROWS[0]]) + "\n,,,,,,,,,,\n\n"
        + _csv_text(ROWS[1:]))  # fmt: skip
    put("preamble_blank_lines.csv", "\n,,,\n\n" + roster)
    put("duplicate_headers.csv", _csv_text([[*HEADERS, "given_name", "phone", "phone"],
        [*ROWS[0], "Second", "1", "2"]]))  # fmt: skip
    put("blank_headers.csv", _csv_text([["household_id", "household_name", "", "person_id", ""],
        ["HH1", "A", "family", "P1", ""], ["HH1", "A", "", "P2", ""]]))  # fmt: skip
    put("whitespace_headers.csv", _csv_text([[f"  {h} " for h in HEADERS[:-1]]
        + ['"phone\nnumber"'.strip('"')], ROWS[0]]))  # fmt: skip
    put("unknown_columns.csv", _csv_text([[*HEADERS, "favourite_colour", "Notes (internal)"],
        [*ROWS[0], "blue", "ok"], [*ROWS[1], "", "call back"]]))  # fmt: skip
    put("leading_zeros.csv", _csv_text([HEADERS, ["000123", "Zero", "family", "0000001",
        "A", "B", "F", "1990-01-01", "head", "007", "0700123456"], ["000124", "Zero", "family",
        "0000002", "C", "D", "M", "1990-01-01", "head", "1.50E+10", "+254 700 123 456"]]))  # fmt: skip
    date_rows = [[f"HH10{i}", "Dates", "family", f"P10{i}", "A", "B", "F", d, "head", "", ""]
        for i, d in enumerate(["1990-03-12", "12/03/1990", "03/12/1990", "12.03.1990",
                               "12 Mar 1990"])]  # fmt: skip
    put("dates_text_formats.csv", _csv_text([HEADERS, *date_rows]))
    rtl = [["HH2001", "العائلة", "family", "P2001", "محمد", "الأحمد", "M", "1980-01-01", "head",
            "", ""],
           ["HH2002", "משפחה", "family", "P2002", "שרה", "כהן", "F", "1982-02-02", "head", "",
            ""],
           ["HH2003", "Family 👨‍👩‍👧", "family", "P2003", "Zoë 😀", "Nguyễn", "F", "1999-09-09",
            "head", "", ""],
           ["HH2004", "e\u0301 combining", "family", "P2004", "\u202eRTL override", "X", "M",
            "2000-01-01", "head", "", ""]]  # fmt: skip
    put("rtl_emoji.csv", _csv_text([HEADERS, *rtl]))
    injection = [["HH3001", '=HYPERLINK("http://evil.example","click")', "family", "P3001",
                  "'; DROP TABLE res_partner; --", "<script>alert(1)</script>", "F",
                  "1990-01-01", "head", "+1+1", "-2+3"],
                 ["HH3002", "@SUM(A1:A9)", "family", "P3002", "=cmd|' /C calc'!A0", "Robert'); "
                  "DROP TABLE Students;--", "M", "1990-01-01", "head", "", ""]]  # fmt: skip
    put("injection.csv", _csv_text([HEADERS, *injection]))
    long_value = "".join(rng.choice("abcdefghij ") for _ in range(100_000))
    put("long_cell.csv", _csv_text([HEADERS, [*ROWS[0][:9], long_value, ROWS[0][10]]]))
    put("excel_errors.csv", _csv_text([HEADERS, [*ROWS[0][:7], "#N/A", "head", "#REF!", ""]]))

    # XLSX made by openpyxl
    book("header_only.xlsx", lambda p: _openpyxl_book(p, [HEADERS]))
    xlsx_bytes = (out / "header_only.xlsx").read_bytes()
    put("xlsx_named.csv", xlsx_bytes)

    def empty_workbook(p: Path) -> None:
        wb = openpyxl.Workbook()
        wb.create_sheet("Also empty")
        wb.save(p)

    book("empty_workbook.xlsx", empty_workbook)
    put("binary_garbage.xlsx", bytes(rng.randrange(256) for _ in range(4096)))

    def full(p: Path) -> None:
        _openpyxl_book(p, [HEADERS, *(ROWS * 200)])

    book("truncated.xlsx", full)
    data = (out / "truncated.xlsx").read_bytes()
    (out / "truncated.xlsx").write_bytes(data[: len(data) // 2])

    def not_a_workbook(p: Path) -> None:
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("word/document.xml", "<document/>")
            zf.writestr("[Content_Types].xml", "<Types/>")

    book("not_a_workbook.xlsx", not_a_workbook)
    put("encrypted.xlsx", _ole2(with_encrypted_package=True))
    put("old_format.xls", _ole2(with_encrypted_package=False))

    # XLSX written raw, for full control of the XML
    def raw(name: str, sheets: list[tuple[str, str, str, list[str]]]) -> None:
        book(name, lambda p: write_raw_xlsx(p, sheets))

    members = [[None, None, None, "P5", "A", "Banda", "F", None, "head", None, None],
               [None, None, None, "P6", "B", "Banda", "M", None, "child", None, None]]  # fmt: skip
    merged_rows = [HEADERS, ["HH5", "Banda", "family", *ROWS[0][3:]], *members]
    raw("merged_cells.xlsx", [("People", "visible", rows_xml(merged_rows), ["B2:B4", "A2:A4"])])
    formula_rows: list[list[Cell]] = [
        HEADERS,
        ["HH6", ("f", 'CONCATENATE("Ph","iri")', "Phiri"), "family", "P6", "A", "Phiri", "F",
         ("f", "DATE(1990,1,2)", 32875), "head", ("f", "A2&\"-X\"", "HH6-X"),
         ("f", "1+1", None)],
        ["HH7", ("f", '=HYPERLINK("http://x","y")', "y"), "family", "P7", "B", "C", "M",
         "1990-01-01", "head", ("f", "10/4", 2.5), ""],
    ]  # fmt: skip
    raw("formulas.xlsx", [("People", "visible", rows_xml(formula_rows), [])])
    error_rows: list[list[Cell]] = [
        HEADERS,
        ["HH8", "Err", "family", "P8", "A", "B", "F", ("e", "#N/A"), "head", ("e", "#REF!"),
         ("f", "1/0", None)],
        ["HH8", "Err", "family", "P9", "C", "D", "M", "1990-01-01", "head",
         "#N/A typed as text", ("e", "#DIV/0!")],
    ]  # fmt: skip
    raw("error_cells.xlsx", [("People", "visible", rows_xml(error_rows), [])])
    unsaved = [
        [*HEADERS, "notes"],
        [*ROWS[0][:9], "0012345678", ROWS[0][10], "=A2&B2"],  # a national id the registry accepts
        [*ROWS[1][:5], "=F2", *ROWS[1][6:], ""],
        [*ROWS[2], ""],
    ]
    book("unsaved_formulas.xlsx", lambda p: _openpyxl_book(p, unsaved))
    edge_rows: list[list[Cell]] = [
        HEADERS,
        [*ROWS[0][:1], ("f", 'IF(1,"","x")', ""), *ROWS[0][2:]],
        [*ROWS[1][:4], ("f", 'UPPER("baraka")', None), *ROWS[1][5:]],
        [*ROWS[2][:4], ("fs",), *ROWS[2][5:]],
        [None] * 10 + [("f", "1+1", None)],
    ]
    raw("formula_edge_cases.xlsx", [("People", "visible", rows_xml(edge_rows), [])])
    serial_rows: list[list[Cell]] = [
        HEADERS,
        ["HH9", "Serial", "family", "P91", "A", "B", "F", ("d", 32946), "head", "", ""],
        ["HH9", "Serial", "family", "P92", "C", "D", "M", ("dt", 32946.5), "child", "", ""],
        ["HH9", "Serial", "family", "P93", "E", "F", "M", ("dt", 36526), "child", "", ""],
        ["HH9", "Serial", "family", "P94", "G", "H", "F", 32946, "child", "", ""],
        *([["HH9", "Text", "family", f"P95{i}", "I", "J", "F", d, "child", "", ""]
           for i, d in enumerate(["1990-03-12", "12/03/1990", "03/12/1990", "12.03.1990",
                                  "12 Mar 1990"])]),
    ]  # fmt: skip
    raw("serial_dates.xlsx", [("People", "visible", rows_xml(serial_rows), [])])
    number_rows: list[list[Cell]] = [
        HEADERS,
        [1, "Num", "family", 1234567890, "A", "B", "F", "1990-01-01", "head", 123456789012345,
         254700000001],
        [2.0, "Num", "family", 0.1, "C", "D", "M", "1990-01-01", "head", True, False],
        [-3.5, "Num", "family", 1e-7, "E", "F", "M", "1990-01-01", "head", 1.5e20, 100.25],
    ]  # fmt: skip
    raw("numbers_as_numbers.xlsx", [("People", "visible", rows_xml(number_rows), [])])
    raw(
        "hidden_sheet.xlsx",
        [
            ("People", "visible", rows_xml(_roster()), []),
            ("Old people", "hidden", rows_xml(_roster()), []),
            ("Secret", "veryHidden", rows_xml([HEADERS, ROWS[2]]), []),
        ],
    )
    raw(
        "offset_table.xlsx",
        [("People", "visible", rows_xml([[None], [None], *_roster()], first_col=2), [])],
    )
    raw(
        "two_sheets.xlsx",
        [
            ("Households", "visible", rows_xml([HEADERS[:3], *[r[:3] for r in ROWS]]), []),
            ("People", "visible", rows_xml([HEADERS[3:], *[r[3:] for r in ROWS]]), []),
            ("Empty", "visible", "", []),
        ],
    )
    raw("rtl_emoji.xlsx", [("الناس", "visible", rows_xml([HEADERS, *rtl]), [])])
    raw("injection.xlsx", [("People", "visible", rows_xml([HEADERS, *injection]), [])])
    raw(
        "long_cell.xlsx",
        [("People", "visible", rows_xml([HEADERS, [*ROWS[0][:9], long_value, "1"]]), [])],
    )
    raw(
        "duplicate_blank_headers.xlsx",
        [("People", "visible", rows_xml([["person_id", "given_name", None, "given_name", " "],
                                         ["P1", "A", "x", "B", None]]), [])],
    )  # fmt: skip
    trailing = [*_roster(), *([[""] * len(HEADERS)] * 50), *([[("styled",)] * 3] * 50)]
    raw("trailing_empty_strings.xlsx", [("People", "visible", rows_xml(trailing), [])])

    put("unknown_extension.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    put("no_extension", roster)
    return written


def make_big_files(directory: Path) -> dict[str, Path]:
    """Write the large corpus files (a million empty rows) into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "million_empty_rows.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(_csv_text(_roster() + ROWS * 3))
        blank = "," * (len(HEADERS) - 1) + "\r\n"
        for _ in range(10):
            handle.write(blank * 100_000)
    xlsx_path = directory / "million_empty_rows.xlsx"
    data_rows = rows_xml(_roster() + ROWS * 3)
    first_empty = len(ROWS) * 4 + 2
    chunk = []
    for r in range(first_empty, first_empty + 1_000_000):
        if r % 2:
            chunk.append(f'<row r="{r}"><c r="A{r}" s="3"/><c r="B{r}" s="3"/></row>')
        else:
            chunk.append(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t></t></is></c></row>')
    write_raw_xlsx(xlsx_path, [("People", "visible", data_rows + "".join(chunk), [])])
    return {"csv": csv_path, "xlsx": xlsx_path}


if __name__ == "__main__":
    files = build_all(BAD)
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB, into {BAD}")
