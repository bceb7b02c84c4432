"""Read a CSV file into a grid of text cells, fast, whatever its encoding and line endings.

The clerk's CSV may come from Excel on Windows (cp1252, CRLF, ``;`` as the
delimiter), from LibreOffice (UTF-8, maybe with a BOM), from a database export
(``|`` or tab) or from a phone (UTF-16).  This module turns any of those into
UTF-8 bytes with ``\\n`` line ends, finds the delimiter and the header, and
lets pandas' C parser do the per-row work (a Python loop per row would cost
seconds on a million-row roster).

Row numbers: every data row is numbered with the line on which its record
*starts*, as a text editor shows it (1-based, header included).  A quoted
value that spans several lines therefore makes the next record's number jump
by the number of line breaks inside it, exactly as the editor's gutter does.
Blank lines are counted too.

This module knows nothing about headers beyond finding the header record:
``importer.read`` cleans header names and drops empty rows for CSV and XLSX alike.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from importer.outcome import ImportFailure, Problem

#: Delimiters we recognise, in order of preference when counts tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_EXPECTED_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_CHUNK = 16 * 1024 * 1024


@dataclass(slots=True)
class CsvGrid:
    """What a CSV file holds, before header names are cleaned.

    ``body`` has positional columns 0..n-1 (text, '' for empty) and an index of
    line numbers; ``header`` is the raw header record.
    """

    header: list[str]
    body: pd.DataFrame
    header_row: int
    encoding: str
    delimiter: str
    warnings: list[Problem] = field(default_factory=list)


def _fail(path: Path, code: str, message: str, row: int | None = None) -> ImportFailure:
    """An ImportFailure whose one Problem names the file (and row when known)."""
    problem = Problem(code=code, message=message, file=path.name, row=row)
    return ImportFailure(message, [problem])


def _is_valid_utf8(data: bytes | memoryview) -> int | None:
    """Return None if ``data`` is valid UTF-8, else the offset of the first bad byte.

    Decodes in chunks and throws the text away, so a 100 MB file never
    becomes a 400 MB str just to be checked.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=start + _CHUNK >= len(view))
        except UnicodeDecodeError as exc:
            return start - pending + exc.start
    return None


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes UTF-8 refused as Windows-1252 (latin-1 for its gaps).

    Files that mix UTF-8 with Excel's cp1252 (a roster pasted together from two
    exports) then read right in both halves instead of turning one into mojibake.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    text = "".join(chr(b) if b in _CP1252_GAPS else bytes([b]).decode("cp1252") for b in bad)
    return text, exc.end


#: Bytes cp1252 leaves undefined; latin-1 maps them to the C1 controls instead of failing.
_CP1252_GAPS = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


codecs.register_error("spp_cp1252_fallback", _cp1252_fallback)


def _utf16_without_bom(sample: bytes) -> str | None:
    """Guess UTF-16 without a BOM from the zero bytes every other position (mostly-ASCII text)."""
    half = len(sample) // 2
    if half < 2:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    if odd_zeros > 0.4 * half and even_zeros < 0.05 * half:
        return "utf-16-le"
    if even_zeros > 0.4 * half and odd_zeros < 0.05 * half:
        return "utf-16-be"
    return None


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset in ``\\n``-normalised data."""
    return data.count(b"\n", 0, offset) + 1


def _normalise_newlines(data: bytes) -> bytes:
    """CRLF and lone CR become LF, so one rule counts lines (as editors do: each is one break)."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def to_utf8(path: Path, data: bytes) -> tuple[bytes, str, list[Problem]]:
    """Return the file as UTF-8 bytes with ``\\n`` line ends, the encoding found, and warnings."""
    warnings: list[Problem] = []
    name = path.name
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and len(data) % 4 == 0:
        encoding = "utf-32"
        text = _decode_strict(path, data, encoding)
        data = text.encode("utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        data = _decode_strict(path, data, encoding).encode("utf-8")
    elif (guess := _utf16_without_bom(data[:65536])) is not None:
        encoding = guess
        data = _decode_strict(path, data[: len(data) - len(data) % 2], guess).encode("utf-8")
        warnings.append(
            Problem(
                code="encoding_guessed",
                message=(
                    f"{name} has no byte-order mark; it was read as {guess.upper()} "
                    "because every other byte is zero. Check that names look right."
                ),
                file=name,
                severity="warning",
            )
        )
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
        data = data[len(codecs.BOM_UTF8) :]
    else:
        encoding = "utf-8"
    data = _normalise_newlines(data)
    if encoding in ("utf-8", "utf-8-sig"):
        bad = _is_valid_utf8(data)
        if bad is not None:
            encoding = "cp1252"
            bad_row = _line_of(data, bad)
            data = data.decode("utf-8", errors="spp_cp1252_fallback").encode("utf-8")
            warnings.append(
                Problem(
                    code="encoding_fallback",
                    message=(
                        f"{name} is not valid UTF-8 (first at row {bad_row}); "
                        "the characters UTF-8 could not read were read as Windows-1252 "
                        "(Western European). Check accented names, or save the file as "
                        "'CSV UTF-8'."
                    ),
                    file=name,
                    row=bad_row,
                    severity="warning",
                )
            )
    return data, encoding, warnings


def _decode_strict(path: Path, data: bytes, encoding: str) -> str:
    try:
        return _normalise_newlines_text(data.decode(encoding))
    except UnicodeDecodeError as exc:
        raise _fail(
            path,
            "encoding_error",
            f"{path.name} looks like {encoding.upper()} text but byte {exc.start} cannot be "
            "read in that encoding; save the file again as 'CSV UTF-8'.",
        ) from None


def _normalise_newlines_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _strip_nul(path: Path, data: bytes) -> tuple[bytes, list[Problem]]:
    """Remove NUL bytes (they end C strings and confuse every tool after us), with a warning."""
    first = data.find(b"\x00")
    if first < 0:
        return data, []
    row = _line_of(data, first)
    count = data.count(b"\x00")
    message = (
        f"{path.name} contains {count} NUL (zero) byte(s), the first on row {row}; they were "
        "removed. The file may be damaged or saved in an unusual encoding."
    )
    problem = Problem("nul_bytes", message, path.name, row=row, severity="warning")
    return data.replace(b"\x00", b""), [problem]


def _lines(data: bytes) -> Iterator[tuple[int, int, str]]:
    """Yield (line number, end offset, decoded line with its ``\\n``) from the top, lazily."""
    pos = 0
    number = 0
    size = len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        end = size if end < 0 else end + 1
        number += 1
        yield number, end, data[pos:end].decode("utf-8")
        pos = end


def _is_blank_line(line: str) -> bool:
    return not line.strip().strip("".join(DELIMITERS) + '"').strip()


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter that occurs most often outside quotes in the header line.

    Headers rarely contain punctuation, so counting them is more reliable than
    ``csv.Sniffer`` (which guesses wrong on short files); ties go to the order
    of ``DELIMITERS``, and no delimiter at all means a one-column file.
    """
    unquoted = _QUOTED.sub("", header_line)
    counts = [(unquoted.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def find_header(data: bytes) -> tuple[list[str], int, int, int, str] | None:
    """Find the first non-blank record: (fields, start line, end line, end offset, delimiter).

    Public because a chunked run (``importer.chunked``) finds the header in a
    sample of the file this way, then streams the body from the end offset, so
    it sees the header, delimiter and line numbers a whole-file read sees.
    """
    lines = _lines(data)
    for _number, _end, line in lines:
        if not _is_blank_line(line):
            delimiter = detect_delimiter(line)
            break
    else:
        return None
    # Re-read from the top with the csv module so a quoted header spanning lines is whole.
    state = {"line": 0, "end": 0}

    def feed() -> Iterator[str]:
        for n, end, text in _lines(data):
            state["line"], state["end"] = n, end
            yield text

    reader = csv.reader(feed(), delimiter=delimiter, quotechar='"', doublequote=True)
    start = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                return record, start, state["line"], state["end"], delimiter
            start = state["line"] + 1
    except csv.Error:
        pass
    return None


def _unterminated_quote_row(data: bytes, offset: int, first_line: int, delimiter: str) -> int:
    """The line where the record with an unclosed quote starts (Python pass: error path only)."""
    state = {"line": first_line - 1}

    def feed() -> Iterator[str]:
        for n, _end, text in _lines(data[offset:]):
            state["line"] = first_line - 1 + n
            yield text

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    start = first_line
    try:
        for _record in reader:
            start = state["line"] + 1
    except csv.Error:
        pass
    return start


def _max_fields(data: bytes, offset: int, delimiter: str) -> int:
    """Widest record after the header (Python pass: only when a row is wider than the header)."""
    text = io.StringIO(data[offset:].decode("utf-8"), newline="")
    return max((len(r) for r in csv.reader(text, delimiter=delimiter)), default=0)


def _parse_body(path: Path, data: bytes, offset: int, width: int, delimiter: str) -> pd.DataFrame:
    stream = io.BytesIO(data)
    stream.seek(offset)
    return pd.read_csv(stream, encoding="utf-8", **body_options(width, delimiter))


def body_options(width: int, delimiter: str) -> dict[str, Any]:
    """How pandas reads a CSV's body: every cell as the text written, no header, no NA guessing.

    One statement of it for the whole-file reader and the chunked reader
    (importer/chunked.py), so a cell reads the same either way.
    """
    return {
        "sep": delimiter,
        "header": None,
        "names": list(range(width)),
        "index_col": False,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
        "quotechar": '"',
        "doublequote": True,
        "engine": "c",
    }


def record_lines(body: pd.DataFrame, first_line: int, may_span: bool) -> np.ndarray:
    """Line number where each record starts, counting line breaks inside quoted values.

    Public because a chunked run (``importer.chunked``) numbers each streamed
    block with it, from the line where the block starts, so a problem names the
    same row as in a whole-file read.
    """
    starts = np.arange(first_line, first_line + len(body), dtype=np.int64)
    if not may_span or body.empty:
        return starts
    breaks = np.zeros(len(body), dtype=np.int64)
    for column in body.columns:
        breaks += body[column].str.count("\n").to_numpy(dtype=np.int64)
    if breaks.any():
        starts[1:] += np.cumsum(breaks)[:-1]
    return starts


def _mixed_delimiter_rows(body: pd.DataFrame, delimiter: str) -> list[int]:
    """Rows whose whole content landed in column A and holds another delimiter (vectorised)."""
    if body.shape[1] < 2 or body.empty:
        return []
    others = "".join(re.escape(d) for d in DELIMITERS if d != delimiter)
    rest_empty = (body.iloc[:, 1:] == "").all(axis=1)
    first = body.iloc[:, 0]
    suspicious = rest_empty & first.str.contains(f"[{others}]", regex=True)
    return [int(i) for i in body.index[suspicious.to_numpy(dtype=bool)][:5]]


def read_csv_grid(path: Path, raw: bytes) -> CsvGrid:
    """Decode, find the header and parse every record of a CSV file as text."""
    data, encoding, warnings = to_utf8(path, raw)
    data, nul_warnings = _strip_nul(path, data)
    warnings.extend(nul_warnings)
    found = find_header(data)
    if found is None:
        raise _fail(path, "empty_file", f"{path.name} has no data: every line is blank.")
    header, header_start, header_end, offset, delimiter = found
    width = len(header)
    try:
        body = _parse_body(path, data, offset, width, delimiter)
    except pd.errors.ParserError as exc:
        text = str(exc)
        if "EOF inside string" in text or "EOF while" in text:
            row = _unterminated_quote_row(data, offset, header_end + 1, delimiter)
            raise _fail(
                path,
                "unterminated_quote",
                f'{path.name}, row {row}: a value opens a quote (") that is never closed, so '
                "every line after it would be swallowed into one cell. Close the quote or "
                "remove it, then try again.",
                row=row,
            ) from None
        if _EXPECTED_FIELDS.search(text) is None:
            raise _fail(path, "csv_unreadable", f"{path.name} could not be read as CSV.") from None
        width = max(width, _max_fields(data, offset, delimiter))
        body = _parse_body(path, data, offset, width, delimiter)
    header = header + [""] * (width - len(header))
    body.index = pd.Index(record_lines(body, header_end + 1, may_span=b'"' in data[offset:]), name="row")
    mixed = _mixed_delimiter_rows(body, delimiter)
    if mixed:
        rows = ", ".join(str(r) for r in mixed)
        warnings.append(
            Problem(
                code="mixed_delimiters",
                message=(
                    f"{path.name} uses the {_DELIMITER_NAMES[delimiter]} as its delimiter, but "
                    f"some rows (e.g. {rows}) seem to use another one; their values all landed "
                    "in the first column."
                ),
                file=path.name,
                row=mixed[0],
                severity="warning",
            )
        )
    return CsvGrid(header, body, header_start, encoding, delimiter, warnings)
