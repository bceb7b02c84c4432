"""Chunked runs: the same stages over a file of any size, in bounded memory (docs/architecture.md §8).

A file larger than ``chunk_rows`` is not read whole.  Two passes over it:

1. **Index** (:class:`KeyIndex`): the file is streamed in blocks (a CSV with
   pandas, a workbook sheet by slices), each block read, bound and mapped by
   the ordinary stages, and every row's *tokens* written to an on-disk SQLite
   index: the households, people, ID numbers and relationship ends its records
   make or name.  Rows that share a token belong together: every whole-file
   check (``duplicate_key``, ``duplicate_id``, ``second_head``,
   ``unknown_individual``, a household's rows scattered across the file...)
   is about rows that share one.  The index joins them into *components*
   (a household and its people, in the common case) and packs whole components
   into chunks of about ``chunk_rows`` rows.
2. **Chunks**: the file is streamed again; each chunk, once all its rows are
   read, goes through :func:`importer.pipeline._run_stages` unchanged (map,
   resolve, validate, row rules, plan, load) with its rows only.  As a
   component is never split, the checks see every row they concern and report
   exactly what an unchunked run reports.  Each chunk's per-row report is
   appended to the CSV reports as soon as it is done, and its counts added up.

A component whose rows lie far apart in the file (a household whose rows are
scattered) would keep the chunks between its rows in memory: its rows are
spilled to disk as they are read and processed at the end.  A component
larger than a chunk (thousands of rows sharing one placeholder ID number) is
processed whole: correct, but as large as it is.

Why SQLite: it ships with Python (no dependency), keeps its page cache to a
bound we set, and a million-row index costs a few seconds; the index holds
64-bit hashes of the tokens (a collision only puts two components in one
chunk, which changes nothing in the result).
"""

from __future__ import annotations

import codecs
import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from importer import spill
from importer.canonical import CanonicalTable, id_column, map_tables
from importer.catalog import check_server_setup
from importer.cell_guard import check_cells
from importer.mapping import Binding, Mapping, bind
from importer.normalise import fold
from importer.outcome import Entity, ImportFailure, Problem
from importer.read import CSV_SUFFIXES, SourceTable, finish_table, read_source
from importer.read_csv import body_options, find_header, record_lines, to_utf8
from importer.report import (
    ERROR_REPORT_COLUMNS,
    RECORD_COLUMNS,
    ROW_COLUMNS,
    STATUS_ORDER,
    RowFacts,
    RunReport,
    append_safe_csv,
    errors_csv_path,
    errors_table,
)
from importer.resolve import resolve_codes

#: Problems kept in memory for the summary's "first errors"; the CSV reports have them all.
KEPT_PROBLEMS = 1_000
_SAMPLE = 1 << 20
ID_PREFIX = id_column("")


class NotStreamable(Exception):
    """The file cannot be streamed as it is (an encoding to convert, a ragged row...): read it whole."""


# --------------------------------------------------------------------------------------------
# Reading in blocks
# --------------------------------------------------------------------------------------------


@dataclass
class TableReader:
    """One CSV file or one worksheet, read block by block, always in the same order."""

    path: Path
    sheet: str | None
    template: SourceTable  # no rows: what binding needs of a table that has none in a block
    blocks: Any  # Callable[[int], Iterator[SourceTable]]


def _empty_like(table: SourceTable) -> SourceTable:
    return SourceTable(
        table.path, table.sheet, table.frame.iloc[0:0], table.header_row, table.encoding, table.delimiter
    )


def _slices(table: SourceTable, size: int) -> Iterator[SourceTable]:
    """A table read whole, in blocks of ``size`` rows (its warnings with the first)."""
    n = len(table.frame)
    for start in range(0, max(n, 1), size):
        frame = table.frame.iloc[start : start + size]
        rows = set(frame.index.tolist())
        errors = [p for p in table.cell_errors if p.row in rows]
        warnings = table.warnings if start == 0 else []
        yield SourceTable(
            table.path,
            table.sheet,
            frame,
            table.header_row,
            table.encoding,
            table.delimiter,
            warnings,
            errors,
        )


def _csv_reader(path: Path) -> TableReader:
    """A CSV file streamed with pandas, numbered as :func:`importer.read_csv.read_csv_grid` numbers it."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    if len(sample) == _SAMPLE:
        sample = sample[: sample.rfind(b"\n") + 1]
    if not sample or b"\x00" in sample:
        raise NotStreamable(path.name)
    data, encoding, warnings = to_utf8(path, sample)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise NotStreamable(path.name)
    found = find_header(data)
    if found is None:
        raise NotStreamable(path.name)
    header, header_row, header_end, _offset, delimiter = found
    width = len(header)

    def blocks(size: int) -> Iterator[SourceTable]:
        reader = pd.read_csv(
            path, encoding="utf-8-sig", skiprows=header_end, chunksize=size, **body_options(width, delimiter)
        )
        first_line, first = header_end + 1, True
        try:
            for body in reader:
                starts = record_lines(body, first_line, may_span=True)
                last = body.iloc[-1] if len(body) else None
                breaks = sum(str(v).count("\n") for v in last) if last is not None else 0
                first_line = int(starts[-1]) + 1 + breaks if len(starts) else first_line
                body.index = pd.Index(starts, name="row")
                yield finish_table(
                    path,
                    None,
                    list(header),
                    body,
                    header_row,
                    0,
                    warnings if first else [],
                    encoding,
                    delimiter,
                )
                first = False
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise NotStreamable(path.name) from exc
        if first:  # a header and no rows
            yield finish_table(
                path,
                None,
                list(header),
                pd.DataFrame(columns=range(width), dtype=str),
                header_row,
                0,
                warnings,
                encoding,
                delimiter,
            )

    empty = finish_table(
        path,
        None,
        list(header),
        pd.DataFrame(columns=range(width), dtype=str),
        header_row,
        0,
        [],
        encoding,
        delimiter,
    )
    return TableReader(path, None, empty, blocks)


def table_readers(files: Sequence[Path], engine: str) -> list[TableReader]:
    """One reader per CSV file or worksheet; a workbook is read whole (Excel holds 1,048,576 rows a sheet)."""
    readers: list[TableReader] = []
    for path in files:
        if path.suffix.lower() in CSV_SUFFIXES:
            readers.append(_csv_reader(path))
            continue
        for table in read_source(path, engine=engine):
            readers.append(
                TableReader(table.path, table.sheet, _empty_like(table), lambda n, t=table: _slices(t, n))
            )
    return readers


def count_rows_over(files: Sequence[Path], limit: int) -> bool:
    """Whether the files hold more than ``limit`` lines (stops counting there: cheap for small files).

    A workbook counts by its size on disk (about 60 bytes a row, compressed): a
    large one is read whole anyway, and then processed in chunks.
    """
    lines = 0
    for path in files:
        if not path.is_file():
            return False
        if path.suffix.lower() not in CSV_SUFFIXES:
            lines += path.stat().st_size // 60
        else:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
                    if lines > limit:
                        return True
        if lines > limit:
            return True
    return False


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


def _id_token(id_type: str) -> str:
    """The token kind of an ID type's numbers, the same from an ID column or an IDs sheet row."""
    return ID_PREFIX + fold(id_type)


def _tokens(tables: dict[Entity, CanonicalTable], rows: np.ndarray, base: int) -> pd.DataFrame:
    """(pos, token hash) for every key a block's records make or name, each pair once.

    A block comes from one table, so a record's position is its row's place in
    the block (``rows``: the block's row numbers, in order) plus ``base``.
    """
    parts: list[pd.DataFrame] = []
    where = pd.Index(rows)

    def add(canon: CanonicalTable, column: str, kind: str | pd.Series) -> None:
        frame = canon.frame
        if column not in frame.columns or not len(frame):
            return
        values = frame[column].astype(str)
        pos = where.get_indexer(frame["_row"].to_numpy(dtype=np.int64))
        keep = (values.str.strip() != "").to_numpy(dtype=bool) & (pos >= 0)
        if not keep.any():
            return
        kinds = kind[keep] if isinstance(kind, pd.Series) else kind
        hashed = pd.util.hash_array((kinds + "\x1f" + values[keep]).to_numpy(dtype=object))
        parts.append(pd.DataFrame({"pos": pos[keep] + base, "token": hashed.view(np.int64)}))

    for entity, canon in tables.items():
        if entity is Entity.GROUP:
            add(canon, "key", "g")
        elif entity is Entity.INDIVIDUAL:
            add(canon, "key", "i")
            for column in canon.frame.columns:  # ID numbers: each unique across the file
                if str(column).startswith(ID_PREFIX):
                    add(canon, column, _id_token(str(column)[len(ID_PREFIX) :]))
        elif entity is Entity.MEMBERSHIP:
            add(canon, "group", "g")
            add(canon, "individual", "i")
        elif entity is Entity.RELATIONSHIP:
            for end in ("source", "destination"):
                add(canon, end, "g")
                add(canon, end, "i")
        elif entity is Entity.REG_ID:  # an IDs sheet: its person, and each number as an ID column's
            add(canon, "individual", "i")
            if "id_type" in canon.frame.columns:
                add(canon, "value", canon.frame["id_type"].astype(str).map(_id_token))
        else:  # an entity another helper adds: its key and the registrants it names keep it whole
            for column, kind in (("key", "k:" + entity.value), ("group", "g"), ("individual", "i")):
                add(canon, column, kind)
    if not parts:
        return pd.DataFrame({"pos": np.zeros(0, np.int64), "token": np.zeros(0, np.int64)})
    return pd.concat(parts, ignore_index=True).drop_duplicates()


#: SQLite's page cache, in KiB; it also bounds each sort's memory before it spills to disk.
#: Measured on the 5,000,000-row index (2026-12-03): with 64 MiB, grouping the tokens into chunks
#: took 187 MiB more than the interpreter and 86 s of CPU; with 4 MiB, 20 MiB and 53-62 s. The
#: index is written in order and read by ranges: a bigger cache buys no speed, only memory that
#: grows with the file up to the cache's size, then stays.
CACHE_KIB = 4096


class KeyIndex:
    """The on-disk index of a run: each row's position and tokens, then its chunk."""

    def __init__(self, folder: Path) -> None:
        self.db = sqlite3.connect(folder / "index.sqlite")
        self.db.executescript(
            f"""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-{CACHE_KIB};
            PRAGMA temp_store=FILE;
            CREATE TABLE rows(pos INTEGER PRIMARY KEY, tab INTEGER, row INTEGER);
            CREATE TABLE tokens(token INTEGER, pos INTEGER);
            """
        )
        self.n_rows = 0

    def add_block(self, tab: int, rows: np.ndarray, tokens: pd.DataFrame) -> None:
        start = self.n_rows
        self.db.executemany(
            "INSERT INTO rows VALUES (?, ?, ?)",
            zip(range(start, start + len(rows)), [tab] * len(rows), rows.tolist(), strict=True),
        )
        # Python ints: sqlite3 would store numpy's as blobs, which compare as bytes
        pairs = zip(tokens["token"].tolist(), tokens["pos"].tolist(), strict=True)
        self.db.executemany("INSERT INTO tokens VALUES (?, ?)", pairs)
        self.n_rows += len(rows)

    def assign_chunks(self, chunk_rows: int) -> tuple[dict[int, int], set[int]]:
        """Join rows that share a token; pack whole components into chunks.

        Returns each chunk's last position, and the chunks whose rows lie far
        apart (processed at the end, from disk).
        """
        db = self.db
        db.executescript(
            """
            CREATE INDEX tokens_by_token ON tokens(token, pos);
            CREATE TABLE shared AS SELECT token FROM tokens GROUP BY token HAVING COUNT(*) > 1;
            CREATE UNIQUE INDEX shared_token ON shared(token);
            CREATE TABLE anchors AS
                SELECT t.pos AS pos, MIN(t.token) AS anchor, COUNT(*) AS n
                FROM tokens t JOIN shared s ON s.token = t.token GROUP BY t.pos;
            CREATE UNIQUE INDEX anchors_pos ON anchors(pos);
            CREATE TABLE roots(token INTEGER PRIMARY KEY, root INTEGER);
            """
        )
        # Rows with two shared tokens bridge them (a membership naming a person of another sheet,
        # a duplicate ID in another household): union them, few as they are in a roster.
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        query = (
            "SELECT t.pos, t.token FROM tokens t JOIN shared s ON s.token = t.token "
            "WHERE t.pos IN (SELECT pos FROM anchors WHERE n > 1) ORDER BY t.pos"
        )
        last_pos, first_token = -1, 0
        for pos, token in db.execute(query):
            if pos != last_pos:
                last_pos, first_token = pos, token
                continue
            a, b = find(first_token), find(token)
            if a != b:
                parent[max(a, b)] = min(a, b)
        db.executemany("INSERT INTO roots VALUES (?, ?)", ((t, find(t)) for t in list(parent)))
        parent.clear()
        db.executescript(
            """
            CREATE TABLE comp AS
                SELECT r.pos AS pos, COALESCE(o.root, a.anchor, -1 - r.pos) AS comp
                FROM rows r LEFT JOIN anchors a ON a.pos = r.pos LEFT JOIN roots o ON o.token = a.anchor;
            CREATE TABLE chunk_of(comp INTEGER PRIMARY KEY, chunk INTEGER);
            """
        )
        # Components in order of their first row, packed whole into chunks of about chunk_rows.
        groups = db.execute(
            "SELECT comp, MIN(pos), MAX(pos), COUNT(*) FROM comp GROUP BY comp ORDER BY MIN(pos)"
        )
        last: dict[int, int] = {}
        late: set[int] = set()
        chunk, size = 0, 0
        late_chunk, late_size = -1, 0
        batch: list[tuple[int, int]] = []
        for comp, first, final, count in groups:
            if final - first > chunk_rows:  # scattered: from disk, at the end
                if late_chunk < 0 or late_size >= chunk_rows:
                    late_chunk, late_size = 1_000_000_000 + len(late), 0
                    late.add(late_chunk)
                target, late_size = late_chunk, late_size + count
            else:
                if size >= chunk_rows:
                    chunk, size = chunk + 1, 0
                target, size = chunk, size + count
            last[target] = max(last.get(target, -1), final)
            batch.append((comp, target))
            if len(batch) >= 100_000:
                db.executemany("INSERT INTO chunk_of VALUES (?, ?)", batch)
                batch.clear()
        db.executemany("INSERT INTO chunk_of VALUES (?, ?)", batch)
        db.executescript(
            """
            CREATE TABLE placed AS SELECT c.pos AS pos, k.chunk AS chunk
                FROM comp c JOIN chunk_of k ON k.comp = c.comp;
            CREATE UNIQUE INDEX placed_pos ON placed(pos);
            DROP TABLE tokens; DROP TABLE anchors; DROP TABLE comp;
            """
        )
        # pass 2 only looks positions up: what the sorts held goes back before the chunks run
        db.execute("PRAGMA shrink_memory")
        return last, late

    def chunks_of(self, start: int, n: int) -> np.ndarray:
        found = self.db.execute(
            "SELECT chunk FROM placed WHERE pos >= ? AND pos < ? ORDER BY pos", (start, start + n)
        ).fetchall()
        return np.array([c for (c,) in found], dtype=np.int64)

    def close(self) -> None:
        self.db.close()


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class _Piece:
    tab: int
    frame: pd.DataFrame
    cell_errors: list[Problem]


@dataclass
class ChunkedReport(RunReport):
    """A chunked run's report: numbers added up over the chunks; the lines are in the CSV files.

    Its ``rows`` and ``records`` tables are empty: every line went to the CSV
    reports as its chunk finished, and what the exit code and the summaries
    need of them is kept as numbers (:class:`importer.report.RowFacts`, the
    records' counts per entity and status), so the memory the report takes
    does not grow with the file.  ``problems`` holds the first
    :data:`KEPT_PROBLEMS`.
    """

    totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    problem_counts: tuple[int, int, int, int] = (0, 0, 0, 0)  # errors, refused, warnings, validation errors
    facts: RowFacts = field(default_factory=RowFacts)
    records_failing: int = 0

    def counts(self) -> pd.DataFrame:
        table = self.totals.fillna(0).astype("int64")
        statuses = [s for s in STATUS_ORDER if s in table.columns and s != "total"]
        statuses += sorted(c for c in table.columns if c not in statuses and c != "total")
        table = table.reindex(columns=statuses, fill_value=0)
        entities = [e.value for e in Entity if e.value in table.index]
        entities += sorted(str(e) for e in table.index if e not in entities and e != "input rows")
        table = table.reindex(index=[*entities, "input rows"], fill_value=0)
        table["total"] = table.sum(axis=1)
        table.index.name = "entity"
        return table

    def row_facts(self) -> RowFacts:
        return self.facts

    def records_not_through(self) -> int:
        return self.records_failing

    def problem_totals(self) -> tuple[int, int, int]:
        return self.problem_counts[0], self.problem_counts[1], self.problem_counts[2]

    @property
    def error_count(self) -> int:
        return self.problem_counts[3]

    @property
    def warning_count(self) -> int:
        return self.problem_counts[2]


class _Totals:
    """What the summary needs of every chunk's report, added up: numbers, and the first problems."""

    def __init__(self) -> None:
        self.counts: pd.DataFrame | None = None
        self.facts = RowFacts()
        self.records_failing = 0
        self.kept: list[pd.DataFrame] = []
        self.n_kept = 0
        self.errors = self.refused = self.warnings = self.validation_errors = 0
        self.fates: dict[str, int] = {}
        self.meta: dict[str, Any] = {}

    def add(self, report: RunReport) -> None:
        counts = report.counts().drop(columns="total")
        self.counts = counts if self.counts is None else self.counts.add(counts, fill_value=0)
        self.facts = self.facts + report.row_facts()
        self.records_failing += report.records_not_through()
        errors, refused, warnings = report.problem_totals()
        self.errors += errors
        self.refused += refused
        self.warnings += warnings
        self.validation_errors += report.error_count
        for key, value in report.fates.items():
            self.fates[key] = self.fates.get(key, 0) + value
        table = errors_table(report)  # problems, then what the server refused
        if self.n_kept < KEPT_PROBLEMS and len(table):
            head = table.head(KEPT_PROBLEMS - self.n_kept)
            self.kept.append(head)
            self.n_kept += len(head)
        self.meta = report.meta

    def report(self, mode: str, meta: dict[str, Any]) -> ChunkedReport:
        problems = (
            pd.concat(self.kept, ignore_index=True)
            if self.kept
            else pd.DataFrame(columns=ERROR_REPORT_COLUMNS)
        )
        return ChunkedReport(
            mode=mode,
            records=pd.DataFrame(columns=RECORD_COLUMNS),
            rows=pd.DataFrame(columns=ROW_COLUMNS),
            problems=problems,
            meta={**self.meta, **meta},
            fates=dict(self.fates),
            totals=self.counts if self.counts is not None else pd.DataFrame(),
            problem_counts=(self.errors, self.refused, self.warnings, self.validation_errors),
            facts=self.facts,
            records_failing=self.records_failing,
        )


@dataclass
class ChunkedRun:
    """Everything a chunked run needs from :func:`importer.pipeline.run_import`."""

    files: list[Path]
    options: Any  # ImportOptions
    session: Any  # pipeline.Session
    namespace: str
    meta: dict[str, Any]
    say: Any
    out_dir: Path
    stem: str
    chunk_rows: int
    block_rows: int | None = None
    #: called after each chunk with the chunk's number (tests inject faults here)
    after_chunk: Any = None


def _bound(mapping: Mapping, sources: list[SourceTable]) -> list[Binding]:
    return [Binding(mapping.entities[b.spec.entity], b.table) for b in bind(mapping, sources)]


def index_file(run: ChunkedRun, readers: list[TableReader], folder: Path) -> KeyIndex:
    """Pass 1: read, bind and map every block; write each row's position and tokens."""
    mapping = run.session.mapping
    index = KeyIndex(folder)
    templates = [r.template for r in readers]
    any_rows = False
    online = run.session.client is not None
    used: dict[str, set[str]] = {}
    for tab, reader in enumerate(readers):
        for block in reader.blocks(run.block_rows or run.chunk_rows):
            sources = [block if i == tab else t for i, t in enumerate(templates)]
            tables = map_tables(_bound(mapping, sources), mapping)
            if online:  # the coded values the whole file uses, for the server's set-up check below
                for name, values in resolve_codes(tables, run.session.catalog, mapping).items():
                    used.setdefault(name, set()).update(values)
            rows = block.frame.index.to_numpy(dtype=np.int64)
            tokens = _tokens(tables, rows, index.n_rows)
            index.add_block(tab, rows, tokens)
            any_rows = any_rows or len(rows) > 0
            run.say("index", index.n_rows, index.n_rows)
    if not any_rows:
        names = ", ".join(dict.fromkeys(r.template.label for r in readers))
        raise ImportFailure(f"no rows to import: {names} has a header but no row with data")
    if online:  # refused once, before any chunk is written, as a whole-file run refuses it
        check_server_setup(run.session.catalog, mapping, used)
    return index


def run_chunks(run: ChunkedRun) -> tuple[RunReport, str | None, dict[str, Path]]:
    """Index the file, then run every chunk through the stages; stream the reports."""
    from importer.pipeline import _run_stages  # the stages, unchanged
    from importer.report_xlsx_stream import ChunkedWorkbook  # openpyxl when needed

    readers = table_readers(run.files, run.options.engine)
    run.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = run.out_dir / f"{run.stem}.csv"
    files = {"csv": csv_path, "errors_csv": errors_csv_path(csv_path)}
    totals = _Totals()
    stopped: str | None = None
    n_chunks = 0
    with tempfile.TemporaryDirectory(prefix="spp-import-") as tmp, contextlib.ExitStack() as closing:
        folder = Path(tmp)
        workbook = None  # what the workbook needs of each chunk's report, gathered as it finishes
        if run.options.xlsx:
            workbook = ChunkedWorkbook(folder, [r.template for r in readers])
            closing.callback(workbook.close)
        index = index_file(run, readers, folder)
        try:
            last, late = index.assign_chunks(run.chunk_rows)
            n_chunks = len(last)
            refuse_all = False
            if run.options.all_or_nothing and run.options.mode == "import":
                refuse_all = _any_error(run, readers, index, last, late, folder)
            with csv_path.open("wb") as rows_out, files["errors_csv"].open("wb") as errors_out:
                rows_out.write(codecs.BOM_UTF8)
                errors_out.write(codecs.BOM_UTF8)
                first = True
                chunks = _chunks(run, readers, index, last, late, folder)
                for done, (chunk_no, sources, problems) in enumerate(chunks):
                    run.say("chunks", done, len(last))
                    if first:
                        problems = [*problems, *run.session.notes]
                    bindings = bind(run.session.mapping, sources)
                    problems += check_cells(run.session.mapping, sources, bindings)
                    report, stopped = _run_stages(
                        sources,
                        bindings,
                        problems,
                        run.session,
                        run.namespace,
                        run.options,
                        dict(run.meta),
                        run.say,
                        refuse_all,
                    )
                    append_safe_csv(report.rows[ROW_COLUMNS], rows_out, header=first)
                    errors = errors_table(report)
                    append_safe_csv(errors.reindex(columns=ERROR_REPORT_COLUMNS), errors_out, header=first)
                    rows_out.flush()
                    errors_out.flush()
                    first = False
                    totals.add(report)
                    if workbook is not None:
                        workbook.add(sources, report, errors)
                    if run.after_chunk is not None:
                        run.after_chunk(chunk_no)
                    if stopped:
                        break
        finally:
            index.close()
        meta: dict[str, Any] = {"chunks": {"rows": run.chunk_rows, "count": n_chunks}}
        if stopped:
            meta["stopped"] = stopped
        report = totals.report(run.options.mode, meta)
        if workbook is not None:  # a stopped run's: the rows it reached
            files["xlsx"] = workbook.write(
                report,
                readers,
                files["errors_csv"],
                run.out_dir / f"{run.stem}.xlsx",
                block_rows=run.block_rows or run.chunk_rows,
            )
    report.files.update(files)
    return report, stopped, files


def _chunks(
    run: ChunkedRun,
    readers: list[TableReader],
    index: KeyIndex,
    last: dict[int, int],
    late: set[int],
    folder: Path,
) -> Iterator[tuple[int, list[SourceTable], list[Problem]]]:
    """Pass 2: the file again, each chunk handed on (sources, reader problems) once all its rows are read."""
    templates = [r.template for r in readers]
    for stale in folder.glob("late-*.pickle"):  # a second pass (--all-or-nothing) spills afresh
        stale.unlink()
    pending: dict[int, list[_Piece]] = {}
    spilled: set[int] = set()
    run_warnings: list[Problem] = []
    pos = 0
    order = sorted(c for c in last if c not in late)
    next_i = 0

    def assemble(pieces: list[_Piece], extra: list[Problem]) -> tuple[list[SourceTable], list[Problem]]:
        by_tab: dict[int, list[_Piece]] = {}
        for piece in pieces:
            by_tab.setdefault(piece.tab, []).append(piece)
        sources: list[SourceTable] = []
        problems: list[Problem] = list(extra)
        for tab, template in enumerate(templates):
            mine = by_tab.get(tab)
            if not mine:
                sources.append(template)
                continue
            frame = pd.concat([p.frame for p in mine]) if len(mine) > 1 else mine[0].frame
            errors = [e for p in mine for e in p.cell_errors]
            sources.append(
                SourceTable(
                    template.path,
                    template.sheet,
                    frame,
                    template.header_row,
                    template.encoding,
                    template.delimiter,
                    [],
                    errors,
                )
            )
        return sources, problems

    for tab, reader in enumerate(readers):
        for block in reader.blocks(run.block_rows or run.chunk_rows):
            run_warnings += block.warnings
            n = len(block.frame)
            if not n:
                continue
            chunk_of = index.chunks_of(pos, n)
            errors_by_row: dict[int, list[Problem]] = {}
            for problem in block.cell_errors:
                errors_by_row.setdefault(int(problem.row or 0), []).append(problem)
            for chunk in np.unique(chunk_of):
                mask = chunk_of == chunk
                frame = block.frame[mask]
                errors = [e for r in frame.index.tolist() for e in errors_by_row.get(int(r), [])]
                piece = _Piece(tab, frame, errors)
                if int(chunk) in late:
                    spill.append(folder / f"late-{int(chunk)}.pickle", piece)
                    spilled.add(int(chunk))
                else:
                    pending.setdefault(int(chunk), []).append(piece)
            pos += n
            while next_i < len(order) and last[order[next_i]] < pos:
                chunk = order[next_i]
                next_i += 1
                extra, run_warnings = run_warnings, []
                sources, problems = assemble(pending.pop(chunk, []), extra)
                yield chunk, sources, problems
    while next_i < len(order):  # nothing should be left; belt and braces
        chunk = order[next_i]
        next_i += 1
        sources, problems = assemble(pending.pop(chunk, []), run_warnings)
        run_warnings = []
        yield chunk, sources, problems
    for chunk in sorted(late):
        sources, problems = assemble(spill.read_back(folder / f"late-{chunk}.pickle"), run_warnings)
        run_warnings = []
        yield chunk, sources, problems


def _any_error(
    run: ChunkedRun,
    readers: list[TableReader],
    index: KeyIndex,
    last: dict[int, int],
    late: set[int],
    folder: Path,
) -> bool:
    """--all-or-nothing: a first pass, validation only, over every chunk (nothing is written)."""
    from importer.pipeline import _run_stages

    check = type(run.options)(**{**run.options.__dict__, "mode": "dry-run"})
    for _chunk, sources, problems in _chunks(run, readers, index, last, late, folder):
        bindings = bind(run.session.mapping, sources)
        problems = [*problems, *check_cells(run.session.mapping, sources, bindings)]
        report, _ = _run_stages(sources, bindings, problems, run.session, run.namespace, check, {}, run.say)
        if report.error_count:
            return True
    return False
