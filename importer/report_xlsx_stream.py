"""A chunked run's XLSX report, gathered chunk by chunk and written at the end of the run.

A chunked run (``importer.chunked``, docs/architecture.md §8) never holds its
whole report in memory: each chunk's lines go to the CSV report and the errors
CSV as it finishes.  The clerk's workbook (``importer.report_xlsx``: Summary,
Errors, a copy of every input sheet with its bad cells marked) is written once
the chunks are done (:class:`ChunkedWorkbook`):

- as each chunk finishes, its statuses (one byte a row), the reasons of its rows
  not OK, its problems and its changed cells go to a SQLite file in the run's
  temporary folder, from the chunk's report in memory; the rows a long sheet's
  copy may show are set aside (:class:`AttentionSpill`);
- the Errors sheet is the errors CSV, block by block, in its order;
- each copy sheet is the input read a last time, in file order, block by block
  (a sheet too long to copy whole: the rows set aside), each block's statuses,
  problems and changed cells looked up in the SQLite file;
- the Summary is the run's added-up report (``chunked.ChunkedReport``).

The sheets, columns, fills, comments and the rules of what is copied (a sheet of
more than ``max_copy_rows`` rows: only the rows needing attention; never more than
Excel's ``EXCEL_MAX_ROWS``, and the Summary says so) are the whole-file workbook's,
through the same functions; memory is one block's worth, whatever the file's size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from importer import report_xlsx, spill
from importer.cells import to_arrow_text
from importer.report import (
    EMPTY_ROW_REASON,
    OK_STATUSES,
    RunReport,
    SourceLike,
    source_key,
)
from importer.report_xlsx import (
    ERRORS_SHEET_COLUMNS,
    CopyNote,
    append_copy,
    append_errors,
    cell_marks,
    changed_cells,
    finish_copy,
    finish_errors,
    needing_attention,
    sheet_names,
    source_label,
    start_copy,
    start_errors,
    write_summary,
)

#: Lines of a CSV report read back at once.
CSV_BLOCK_ROWS = 25_000
#: SQLite's page cache for the look-up, which now lives through the whole run: as small as the
#: chunks' index's (``chunked.CACHE_KIB``), so it adds little to a chunk's peak.
LOOKUP_CACHE_KIB = 4096
#: Rows of one table an :class:`AttentionSpill` keeps at most: about what one block of the
#: input holds (the default chunk is 50,000 rows), so the copy never holds more than reading
#: the input again would.
ATTENTION_ROWS_KEPT = 50_000
#: What a copy sheet needs of a problem (the errors CSV's columns).
_PROBLEM_COLUMNS = ["row", "column", "severity", "message", "suggestion"]


#: Rows of the run's tables: (table numbers, row numbers), two arrays of the same length.
Where = tuple[np.ndarray, np.ndarray]
_NOWHERE: Where = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


class BlockReader(Protocol):
    """One input table read again block by block (``chunked.TableReader``)."""

    template: SourceLike  # no rows: the table's path, sheet and columns
    blocks: Callable[[int], Iterator[SourceLike]]  # the table's rows, ``n`` at a time, in file order


class AttentionSpill:
    """The input rows a long sheet's copy may show, set aside chunk by chunk as the run goes.

    A sheet of more than ``max_copy_rows`` rows shows only the rows needing
    attention (not OK, or a cell marked or changed): a handful, in a national
    file that went through.  Without this, its copy read the whole input a third
    time to find them (9 s of a million-row CSV's run, most of what the workbook
    cost).  Each chunk's rows that *may* need attention (its lines not OK, its
    rows named by a problem or a change: a superset, as the copy applies
    :func:`~importer.report_xlsx.needing_attention` to them as it did to the
    file's blocks) are appended to a file per table, in the table's own columns.

    Past :data:`ATTENTION_ROWS_KEPT` rows for one table (a file most of whose rows
    are refused), that table's file is given up and its copy reads the input
    again, block by block, as before: memory stays a block's worth either way.
    """

    def __init__(self, folder: Path, templates: Sequence[SourceLike]) -> None:
        self.paths = [folder / f"attention-{tab}.pickle" for tab in range(len(templates))]
        self.columns = [list(t.frame.columns) for t in templates]
        self.kept = [0] * len(templates)
        self.given_up = [False] * len(templates)

    def add(self, sources: Sequence[SourceLike], tabs: np.ndarray, rows: np.ndarray) -> None:
        """Set aside the rows of one chunk's ``sources`` (one per table, in order) at (``tabs``, ``rows``)."""
        for tab, source in enumerate(sources):
            wanted = rows[tabs == tab]
            if self.given_up[tab] or not len(wanted) or not len(source.frame):
                continue
            frame = source.frame.loc[source.frame.index.isin(wanted), self.columns[tab]]
            if not len(frame):
                continue
            self.kept[tab] += len(frame)
            if self.kept[tab] > ATTENTION_ROWS_KEPT:
                self.given_up[tab] = True
                self.paths[tab].unlink(missing_ok=True)
                continue
            spill.append(self.paths[tab], frame)

    def frames(self, tab: int, block_rows: int) -> Iterator[pd.DataFrame] | None:
        """The table's rows set aside, in file order, ``block_rows`` at a time; None if given up."""
        if self.given_up[tab]:
            return None
        pieces: list[pd.DataFrame] = spill.read_back(self.paths[tab])
        if not pieces:
            return iter(())
        rows = pd.concat(pieces).sort_index(kind="stable")
        return (rows.iloc[start : start + block_rows] for start in range(0, len(rows), max(1, block_rows)))


class ChunkedWorkbook:
    """What a chunked run's workbook needs, gathered from each chunk's report as it finishes.

    The statuses, the reasons of the rows not OK, the problems and the changed
    cells go to the look-up (:class:`_Lookup`) from the chunk's report in memory,
    as exact as a whole-file run's: reading them back from the CSV reports cost
    most of the workbook's time at a million rows.  The rows a long sheet's copy
    shows are set aside too (:class:`AttentionSpill`).  Nothing here grows with
    the file but the statuses, one byte a row.
    """

    def __init__(self, folder: Path, templates: Sequence[SourceLike]) -> None:
        self.tab_of: dict[tuple[str, str], int] = {}
        for tab, template in enumerate(templates):
            self.tab_of.setdefault(source_key(template), tab)
        self.lookup = _Lookup(folder / "xlsx.sqlite", len(templates))
        self.attention = AttentionSpill(folder, templates)

    def add(self, sources: Sequence[SourceLike], report: RunReport, errors: pd.DataFrame) -> None:
        """One chunk's report and its error lines (``report.errors_table``, as the errors CSV has them).

        ``sources``: the chunk's tables, one per input table, in order.
        """
        # Where each part found something a copy may show: rows not OK, named by a problem or a change.
        found = [self.lookup.add_rows(report.rows, self.tab_of)]
        found.append(self.lookup.add_problems(errors, self.tab_of))
        if report.changes is not None and len(report.changes):
            found.append(self.lookup.add_changes(report.changes, self.tab_of))
        tabs, rows = (np.concatenate(part) for part in zip(*found, strict=True))
        self.attention.add(sources, tabs, rows)

    def write(
        self,
        report: RunReport,
        readers: Sequence[BlockReader],
        errors_csv: Path,
        path: Path,
        *,
        block_rows: int,
        max_copy_rows: int | None = None,
    ) -> Path:
        """Write the workbook at ``path``: the Errors sheet from ``errors_csv``, the copies block by block.

        ``readers`` read the input again for the copies (they hold the clerk's
        cells), except for a sheet too long to copy whole, whose rows were set
        aside.  A stopped run's workbook holds the rows it reached, as its CSVs do.
        """
        if max_copy_rows is None:
            max_copy_rows = report_xlsx.DEFAULT_MAX_COPY_ROWS
        self.lookup.index()
        templates = [r.template for r in readers]
        wb = Workbook(write_only=True)
        summary = wb.create_sheet("Summary")  # written last: it counts what the copies hold
        _write_errors(wb.create_sheet("Errors"), errors_csv)
        stopped = bool(report.meta.get("stopped"))
        notes: list[CopyNote] = []
        for tab, (reader, title) in enumerate(zip(readers, sheet_names(templates), strict=True)):
            copy = _SheetCopy(self.lookup, tab, reader, title, max_copy_rows, stopped, self.attention)
            notes.append(copy.write(wb.create_sheet(title), block_rows))
        write_summary(summary, report, notes, max_copy_rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        wb.save(path)
        return path

    def close(self) -> None:
        self.lookup.close()


def _text(values: Any) -> list[str]:
    """A report column's values as text, a missing value as ``""`` (what the CSV report holds)."""
    return to_arrow_text(pd.Series(values, dtype=object)).to_pylist()


def _read_blocks(path: Path, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """A CSV report in blocks, every cell text (empty cells ``""``).

    pandas in blocks of :data:`CSV_BLOCK_ROWS` lines (about 25 MB at a time; Arrow's
    streaming reader is faster but reads ahead by some 150 MB).
    """
    yield from pd.read_csv(
        path,
        encoding="utf-8-sig",
        usecols=list(columns),
        dtype=str,
        na_filter=False,
        chunksize=CSV_BLOCK_ROWS,
    )


def _write_errors(ws: WriteOnlyWorksheet, errors_csv: Path) -> None:
    """The Errors sheet: the errors CSV, cut at Excel's limit as the whole-file workbook cuts it."""
    limit = report_xlsx.EXCEL_MAX_ROWS - 2  # header, and one line to say the list was cut
    start_errors(ws)
    written = total = 0
    for block in _read_blocks(errors_csv, list(ERRORS_SHEET_COLUMNS)):
        total += len(block)
        room = limit - written
        if room <= 0:
            continue  # counted, for the cut message
        part = block.iloc[:room].copy()
        part["row"] = pd.array(pd.to_numeric(part["row"].replace("", None)), dtype="Int64")
        append_errors(ws, part[ERRORS_SHEET_COLUMNS])
        written += len(part)
    finish_errors(ws, written, total)


class _Lookup:
    """What the copies need of the reports, by (table, row), in bounded memory.

    Each line's status is one byte in an array per table (the report's lines come
    chunk by chunk, not in file order); the reasons of the rows that are not OK
    (the only ones a copy shows), the problems and the changed cells go to SQLite.
    """

    def __init__(self, path: Path, tables: int) -> None:
        self.codes = [np.full(0, -1, dtype=np.int8) for _ in range(tables)]  # -1: no line for that row
        self.texts: dict[str, int] = {}
        self.seq = 0  # the order problems and changes came in (a cell's comment joins them in it)
        self.db = sqlite3.connect(path)
        self.db.executescript(
            f"""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-{LOOKUP_CACHE_KIB};
            PRAGMA temp_store=FILE;
            CREATE TABLE reasons(tab INTEGER, row INTEGER, reasons TEXT, PRIMARY KEY (tab, row))
                WITHOUT ROWID;
            CREATE TABLE problems(tab INTEGER, row INTEGER, seq INTEGER, col TEXT, severity TEXT,
                                  message TEXT, suggestion TEXT);
            CREATE TABLE changes(tab INTEGER, row INTEGER, seq INTEGER, col TEXT, before TEXT,
                                 cleared INTEGER);
            """
        )

    @staticmethod
    def _tabs(block: pd.DataFrame, tab_of: dict[tuple[str, str], int]) -> np.ndarray:
        """Each line's table, from its file and sheet (-1: none of the run's): a few of each, factorised."""
        files, file_names = pd.factorize(block["file"], use_na_sentinel=False)
        sheets, sheet_names_ = pd.factorize(block["sheet"], use_na_sentinel=False)
        tab = [[tab_of.get((f, s), -1) for s in _text(sheet_names_)] for f in _text(file_names)]
        return np.array(tab, dtype=np.int64).reshape(len(file_names), len(sheet_names_))[files, sheets]

    def _status_codes(self, status: pd.Series) -> np.ndarray:
        local, uniques = pd.factorize(status, use_na_sentinel=False)
        codes = [self.texts.setdefault(u, len(self.texts)) for u in _text(uniques)]
        if len(self.texts) > 127:
            raise ValueError("more than 127 distinct statuses in one report")
        return np.array(codes, dtype=np.int8)[local]

    def add_rows(self, block: pd.DataFrame, tab_of: dict[tuple[str, str], int]) -> Where:
        """One chunk's report lines (``RunReport.rows``): each row's status, the reasons of those not OK.

        Returns where the rows not OK are (table, row).
        """
        if not len(block):
            return _NOWHERE
        tabs = self._tabs(block, tab_of)
        rows = block["row"].to_numpy(dtype=np.int64)
        codes = self._status_codes(block["status"])
        for tab in np.unique(tabs[tabs >= 0]).tolist():
            mine = tabs == tab
            at = rows[mine]
            known = self.codes[tab]
            if len(at) and at.max() >= len(known):  # grow by half again, to the rows seen
                grown = np.full(max(int(at.max()) + 1, len(known) * 3 // 2), -1, dtype=np.int8)
                grown[: len(known)] = known
                self.codes[tab] = known = grown
            known[at] = codes[mine]
        bad = ~block["status"].isin(OK_STATUSES).to_numpy(dtype=bool) & (tabs >= 0)
        if bad.any():
            reasons = _text(block["reasons"][bad])
            lines = zip(tabs[bad].tolist(), rows[bad].tolist(), reasons, strict=True)
            self.db.executemany("INSERT OR REPLACE INTO reasons VALUES (?, ?, ?)", lines)
        return tabs[bad], rows[bad]

    def add_problems(self, table: pd.DataFrame, tab_of: dict[tuple[str, str], int]) -> Where:
        """One chunk's error lines (``report.errors_table``) that name a row; returns those rows."""
        row = pd.to_numeric(table["row"], errors="coerce")
        # a line for a record the server refused is that row's status, not a cell's problem
        keep = (row.notna() & (table["code"] != "server_refused")).to_numpy(dtype=bool)
        if not keep.any():
            return _NOWHERE
        table = table[keep]
        tabs = self._tabs(table, tab_of)
        rows = row[keep].to_numpy(dtype=np.int64)
        lines = zip(
            tabs.tolist(),
            rows.tolist(),
            range(self.seq, self.seq + len(table)),
            *(_text(table[c]) for c in _PROBLEM_COLUMNS[1:]),
            strict=True,
        )
        self.db.executemany("INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?)", lines)
        self.seq += len(table)
        return tabs[tabs >= 0], rows[tabs >= 0]

    def add_changes(self, frame: pd.DataFrame, tab_of: dict[tuple[str, str], int]) -> Where:
        """One chunk's changed cells (``RunReport.changes``): the column, and what the server held.

        Returns the rows they are on.
        """
        tabs = self._tabs(frame, tab_of)
        rows = frame["row"].to_numpy(dtype=np.int64)
        lines = zip(
            tabs.tolist(),
            rows.tolist(),
            range(self.seq, self.seq + len(frame)),
            _text(frame["column"]),
            _text(frame["before"]),
            frame["cleared"].astype(bool).astype(int).tolist(),
            strict=True,
        )
        self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)", lines)
        self.seq += len(frame)
        return tabs[tabs >= 0], rows[tabs >= 0]

    def index(self) -> None:
        """Once every chunk is in: the indexes the copies' look-ups go by."""
        self.db.execute("CREATE INDEX IF NOT EXISTS problems_at ON problems(tab, row, seq)")
        self.db.execute("CREATE INDEX IF NOT EXISTS changes_at ON changes(tab, row, seq)")

    def count(self, tab: int) -> int:
        """The table's rows the report has a line for."""
        return int((self.codes[tab] >= 0).sum())

    def any_attention(self, tab: int) -> bool:
        """Whether a sheet too long to copy whole has a row to show (else it is not read again)."""
        queries = (
            "SELECT 1 FROM reasons WHERE tab = ? AND reasons != ? LIMIT 1",
            "SELECT 1 FROM problems WHERE tab = ? LIMIT 1",
            "SELECT 1 FROM changes WHERE tab = ? LIMIT 1",
        )
        args = ((tab, EMPTY_ROW_REASON), (tab,), (tab,))
        return any(self.db.execute(q, a).fetchone() for q, a in zip(queries, args, strict=True))

    def block(
        self, tab: int, row_numbers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
        """For these rows of a table: status (None: no line), reasons (of rows not OK), problems, changes."""
        known = self.codes[tab]
        inside = row_numbers < len(known)
        codes = np.full(len(row_numbers), -1, dtype=np.int64)
        codes[inside] = known[row_numbers[inside]]
        texts = np.array([*self.texts, None], dtype=object)
        status = texts[np.where(codes >= 0, codes, len(self.texts))]
        span = (tab, int(row_numbers.min()), int(row_numbers.max()))
        found = dict(
            self.db.execute("SELECT row, reasons FROM reasons WHERE tab = ? AND row BETWEEN ? AND ?", span)
        )
        reasons = np.array([found.get(r, "") for r in row_numbers.tolist()], dtype=object)
        problems = pd.DataFrame(
            self.db.execute(
                "SELECT row, col, severity, message, suggestion FROM problems "
                "WHERE tab = ? AND row BETWEEN ? AND ? ORDER BY seq",
                span,
            ).fetchall(),
            columns=_PROBLEM_COLUMNS,
        )
        changes = pd.DataFrame(
            self.db.execute(
                "SELECT row, col, before, cleared FROM changes WHERE tab = ? AND row BETWEEN ? AND ? "
                "ORDER BY seq",
                span,
            ).fetchall(),
            columns=["row", "column", "before", "cleared"],
        )
        return status, reasons, problems, changes

    def close(self) -> None:
        self.db.close()


class _SheetCopy:
    """One input sheet copied block by block, under the whole-file workbook's rules."""

    def __init__(
        self,
        db: _Lookup,
        tab: int,
        reader: BlockReader,
        title: str,
        max_copy_rows: int,
        stopped: bool,
        attention: AttentionSpill,
    ) -> None:
        self.db, self.tab, self.reader, self.title, self.stopped = db, tab, reader, title, stopped
        self.total_rows = db.count(tab)  # the rows the report has (a stopped run: those it reached)
        self.truncated = self.total_rows > max_copy_rows
        self.attention = attention

    def _frames(self, block_rows: int) -> Iterator[pd.DataFrame]:
        """The rows to look at, in file order: those set aside for a long sheet, else the input again."""
        kept = self.attention.frames(self.tab, block_rows) if self.truncated else None
        return kept if kept is not None else (block.frame for block in self.reader.blocks(block_rows))

    def write(self, ws: WriteOnlyWorksheet, block_rows: int) -> CopyNote:
        template = self.reader.template
        columns = [str(c) for c in template.frame.columns]
        start_copy(ws, columns)
        limit = report_xlsx.EXCEL_MAX_ROWS - 1
        copied, clipped = 0, False
        given = withheld = 0  # comments: a sheet too long to copy whole gets MAX_COMMENTS at most
        worth_reading = self.total_rows and (not self.truncated or self.db.any_attention(self.tab))
        for frame in self._frames(block_rows) if worth_reading else ():
            if not len(frame):
                continue
            row_numbers = np.asarray(frame.index, dtype=np.int64)
            status, reasons, problems, changes = self.db.block(self.tab, row_numbers)
            reported = np.array([s is not None for s in status], dtype=bool)  # a stopped run: rows reached
            marks = cell_marks(problems, row_numbers, columns, status, reasons)
            changed = changed_cells(changes, row_numbers, columns)
            if self.truncated:
                positions = needing_attention(status, reasons, marks, changed)
                positions = positions[reported[positions]]
            else:
                positions = np.flatnonzero(reported)
            if copied + len(positions) > limit:
                positions, clipped = positions[: limit - copied], True
            budget = report_xlsx.MAX_COMMENTS - given if self.truncated else None
            more, less = append_copy(ws, frame, positions, status, row_numbers, marks, changed, budget)
            given, withheld = given + more, withheld + less
            copied += len(positions)
            if clipped:
                break
        finish_copy(ws, len(columns), copied)
        label = source_label(template)
        return CopyNote(
            self.title, label, self.total_rows, copied, self.truncated, clipped, self.stopped, withheld
        )
