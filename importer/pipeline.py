"""The whole run, stage after stage: read → map → resolve → validate → plan → load → report.

This is the one function the CLI, the web page and a notebook all call
(:func:`run_import`); each stage hands the next a concrete artefact, and
progress and state belong to the run, not to globals.  A dry run follows
exactly the same path up to the first write.
"""

from __future__ import annotations

import collections
import secrets as _secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from importer import __version__, preflight
from importer.audit import AuditLog, file_sha256
from importer.canonical import CanonicalTable, map_tables
from importer.catalog import (
    PARTNER,
    Catalog,
    check_server_setup,
    fetch_linked_records,
    offline_catalog,
)
from importer.cell_guard import check_cells
from importer.chunked import ChunkedRun, NotStreamable, count_rows_over, run_chunks
from importer.client import CallRecord, OdooClient
from importer.concurrency import Change, ConcurrencyChoice, Controller
from importer.errors import OdooError, SppError
from importer.load import Loader, LoadOptions, controller_for, link_matched
from importer.mapping import Binding, Mapping, bind, load_mapping
from importer.new_tags import TAG_MODEL, PendingTag, admit_new_tags, create_new_tags, tags_named
from importer.normalise import isin
from importer.outcome import LOAD_ORDER, LOAD_WAVES, Entity, ImportFailure, Problem, Status
from importer.plan import (
    EmptyCells,
    IdMatches,
    NamespaceIds,
    Plan,
    StagePlan,
    build_stages,
    compare_existing,
    make_xids,
    match_by_id,
    matched_xids,
)
from importer.read import SourceTable, read_source
from importer.record_outcomes import (
    Expected,
    all_refused,
    as_guessed,
    changes_of,
    dry_outcomes,
    error_messages,
    expecting,
    guessed_stages,
    invalid_outcomes,
    record_frame,
    stage_outcomes,
)
from importer.report import RunReport, build_report, has_data_rows, write_reports
from importer.required import check_mapped, missing_required
from importer.resolve import resolve_codes
from importer.row_rules import RowVerdict, hold_back
from importer.settings import ConnectionSettings
from importer.validate import Validation, validate_tables

if TYPE_CHECKING:  # openpyxl loads on the drafting thread, not before the first call
    from importer.report_xlsx import XlsxDraft

StageProgress = Callable[[str, int, int], None]
#: Files with fewer rows than this write their workbook at the end: it takes a few tenths of a
#: second, less than drafting costs (a second report built on a thread that shares the cores).
DRAFT_MIN_ROWS = 1_000


@dataclass
class ImportOptions:
    """Everything that shapes a run besides the files and the server."""

    mapping: str | Path | Mapping
    mode: str = "import"  # "import", "dry-run" or "validate" (offline)
    namespace: str | None = None
    all_or_nothing: bool = False
    empty_cells: str = "keep"  # an empty cell on an update: "keep" the server's value, or "clear" it
    load: LoadOptions = field(default_factory=LoadOptions)
    engine: str = "calamine"
    out_dir: str | Path | None = "reports"
    write_files: bool = True
    #: a file with more rows than this runs in chunks of about this many rows, in bounded
    #: memory, its reports streamed to the CSV files (importer.chunked); 0: never
    chunk_rows: int = 0
    #: write the XLSX report beside the CSVs (False: ``--no-xlsx``, the CSVs only: a file with
    #: hundreds of thousands of rows needing attention takes minutes to copy into a workbook)
    xlsx: bool = True


@dataclass
class RunResult:
    """What a run returns: the report (as DataFrames), where it was written, and the exit code."""

    report: RunReport
    exit_code: int
    files: dict[str, Path]
    stopped: str | None = None
    retried_calls: int = 0


class _CallStats:
    """Counts calls and retries for the report, and forwards each to the audit log."""

    def __init__(self, audit: AuditLog | None) -> None:
        self.audit = audit
        self.calls: collections.Counter[str] = collections.Counter()
        self.retries: collections.Counter[str] = collections.Counter()
        self.concurrency: ConcurrencyChoice | None = None  # what the loader chose, once it has run

    def concurrency_change(self, change: Change) -> None:
        """The loader changed how many calls it keeps in flight (or settled): the audit log says why."""
        if self.audit is not None:
            self.audit.concurrency(**change.as_dict())

    def __call__(self, record: CallRecord) -> None:
        label = f"{record.model or record.service}.{record.method}"
        self.calls[label] += 1
        if record.attempt > 1:
            self.retries[label] += 1
        if self.audit is not None:
            self.audit.call_observer(record)


def read_all(files: Sequence[str | Path], engine: str) -> list[SourceTable]:
    tables: list[SourceTable] = []
    for path in files:
        tables.extend(read_source(path, engine=engine))
    return tables


def _server_keys(plan_xids: set[str], namespace: str, entity: Entity, keys: pd.Series) -> set[str]:
    """Which of these keys already exist on the server under our external ids."""
    if keys.empty:
        return set()
    xids = make_xids(namespace, entity, keys)
    return set(keys[isin(xids, plan_xids)])


def run_import(
    files: Sequence[str | Path],
    options: ImportOptions,
    settings: ConnectionSettings | None = None,
    *,
    client: OdooClient | None = None,
    progress: StageProgress | None = None,
    asked: preflight.Early | None = None,
) -> RunResult:
    """Run the pipeline; raise :class:`ImportFailure` only when the run cannot start.

    Anything row-level ends up in the report; the caller decides how to show it.
    ``asked``: what the server was already asked before the run (see :func:`connect`).
    """
    started = datetime.now(UTC)
    mapping = options.mapping if isinstance(options.mapping, Mapping) else load_mapping(options.mapping)
    namespace = options.namespace or mapping.namespace
    files = [Path(f) for f in files]
    say = progress or (lambda *_: None)

    if options.chunk_rows and options.write_files and count_rows_over(files, options.chunk_rows):
        try:
            return _run_chunked(
                files, options, settings, client, mapping, namespace, say, started, asked=asked
            )
        except NotStreamable:
            pass  # a file to convert or a ragged row: read whole, as any other
    say("read", 0, len(files))
    sources = read_all(files, options.engine)
    say("read", len(files), len(files))
    if not any(has_data_rows(s.frame) for s in sources):  # not "everything went through": nothing did
        names = ", ".join(dict.fromkeys(s.label for s in sources)) or ", ".join(f.name for f in files)
        raise ImportFailure(f"no rows to import: {names} has a header but no row with data")
    problems: list[Problem] = [w for s in sources for w in s.warnings]
    bindings = bind(mapping, sources)
    problems += check_cells(mapping, sources, bindings)  # no-value and formula-like cells

    out_dir, stem, audit, meta = _begin(files, options, settings, mapping, namespace, started)
    stats = _CallStats(audit)
    # An import's workbook is drafted while its rows are in flight (docs/architecture.md §9).
    rows = sum(len(s.frame) for s in sources)
    worth_drafting = options.write_files and options.xlsx and options.mode == "import"
    drafting = _Drafting(sources) if worth_drafting and rows >= DRAFT_MIN_ROWS else None

    try:
        named = sum(len(b.table.frame) for b in bindings)  # records the file may name, about
        session = connect(mapping, options, settings, client, stats, namespace, named, asked)
        problems += session.notes
        report, stopped = _run_stages(
            sources, bindings, problems, session, namespace, options, meta, say, drafting=drafting
        )
        if session.client is not None:
            session.client.observer = None
    except BaseException as exc:  # it could not go on, or Ctrl-C was pressed twice
        if drafting is not None:  # no draft outlives the run
            drafting.abandon()
        if isinstance(exc, ImportFailure | SppError) and audit is not None:
            # the log says how the run ended, even when it could not go on
            audit.run_end(counts={}, exit_code=2, failed=getattr(exc, "message", None) or str(exc))
            audit.close()
        raise
    files_out: dict[str, Path] = {}
    if options.write_files:
        drafts = drafting.results() if drafting is not None else []
        files_out = write_reports(report, sources, out_dir, stem, xlsx=options.xlsx, drafts=drafts)
    return _end(report, files_out, audit, stopped, stats)


@dataclass
class _DraftJob:
    """One workbook draft on its own thread (a daemon: a second Ctrl-C stops the process at once)."""

    wanted: bool = True
    draft: XlsxDraft | None = None
    thread: threading.Thread | None = None


class _Drafting:
    """The XLSX workbook's sheets, drafted on a thread from the report an import expects.

    See :class:`importer.report_xlsx.XlsxDraft`: a draft is kept only if the
    real report gives the very same sheets.  An import may expect twice
    (docs/architecture.md §9): a first guess before the server's records are
    read, then the plan, if it differs.  The expected outcomes are worked out
    on the thread too, and openpyxl imported there, so none of it delays the
    first call.  Drafts run one after another: they would share one core.
    """

    def __init__(self, sources: list[SourceTable]) -> None:
        self.sources = sources
        self._jobs: list[_DraftJob] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def start(self, build: Callable[[], RunReport]) -> None:
        """Draft from the report ``build`` makes; a draft not begun yet is not worth beginning now."""
        for earlier in self._jobs:
            earlier.wanted = False
        before = self._jobs[-1].thread if self._jobs else None
        job = _DraftJob()

        def draft() -> None:
            if before is not None:
                before.join()
            if not job.wanted:  # a later draft replaced it before it began
                return
            from importer.report_xlsx import XlsxDraft

            try:
                written = XlsxDraft.write(build(), self.sources, stop=self._stop)
            except Exception:  # stopped (DraftStopped), or a fault the fresh workbook will meet itself
                return
            with self._lock:
                if not self._stop.is_set():
                    job.draft = written
                    return
            written.drop()  # the run ended without it while it was being finished

        job.thread = threading.Thread(target=draft, name="spp-xlsx-draft", daemon=True)
        self._jobs.append(job)
        job.thread.start()

    def results(self) -> list[XlsxDraft]:
        """The drafts written, latest first."""
        for job in self._jobs:
            if job.thread is not None:
                job.thread.join()
        return [job.draft for job in reversed(self._jobs) if job.draft is not None]

    def abandon(self) -> None:
        """The run ended without a workbook (it could not go on, or Ctrl-C was pressed twice).

        Without waiting: a draft being written stops at its next block of rows
        and removes its files itself; the ones finished are dropped here.
        Nothing is left half-written for the interpreter to trip over at exit.
        """
        with self._lock:
            self._stop.set()
            finished = [job.draft for job in self._jobs if job.draft is not None]
            for job in self._jobs:
                job.draft = None
        for draft in finished:
            draft.drop()


@dataclass
class Session:
    """What connecting gives the stages: client, catalog, and the mapping as the server extends it.

    Made once per run (:func:`connect`); a chunked run (``importer.chunked``) hands
    the same session to every chunk, so the catalog is fetched once.
    """

    client: OdooClient | None
    catalog: Catalog
    mapping: Mapping
    settings: ConnectionSettings | None
    stats: _CallStats | None = None
    #: run-level problems (no row): a deployment's own fields checked as text offline
    notes: list[Problem] = field(default_factory=list)
    #: fields the server requires and fills no default for (importer/required.py): name -> label
    required: dict[str, str] = field(default_factory=dict)
    #: what of the namespace is already on the server, asked by external id; None offline
    xids_for: NamespaceIds | None = None
    #: how many load calls are in flight: one controller for the run, whatever the number of chunks
    #: (docs/architecture.md §6); None offline
    controller: Controller | None = None


def connect(
    mapping: Mapping,
    options: ImportOptions,
    settings: ConnectionSettings | None,
    client: OdooClient | None,
    stats: _CallStats | None,
    namespace: str,
    named: int | None,
    asked: preflight.Early | None = None,
) -> Session:
    """Log in and fetch the catalog (online), or build the offline catalog (validate).

    Once logged in, what the namespace already holds starts being asked for on a thread
    (:class:`importer.plan.NamespaceIds`), beside the catalog: ``named`` is about how many
    records the run may name; None: asked by name, a chunk at a time.  ``asked``: the
    catalog, rights and required fields asked before the run (:class:`importer.preflight.Early`:
    the command line asks them while it starts); None: asked here.
    """
    if options.mode == "validate":
        notes = _unchecked_server_fields(mapping)
        return Session(None, offline_catalog(mapping), mapping, settings, stats, notes)
    if client is None:
        if settings is None:
            raise ImportFailure("no server configured")
        client = OdooClient(settings)
    try:
        if asked is not None:  # asked on the login thread: its calls go to the log now it is open
            try:
                found = asked()
            finally:
                for record in asked.calls if stats is not None else ():
                    stats(record)
        client.observer = stats
        client.ensure_authenticated()  # a client handed in may have logged in already (the CLI)
        xids_for = NamespaceIds(client, namespace, options.load.workers, named).start()
        if asked is None:
            found = preflight.ask(client)  # beside the namespace's external ids
        # Before any row is checked: a user who may only read is told at once, not after validation.
        if options.mode == "import" and not found.writable:
            raise ImportFailure(read_only_message(settings.login if settings else "this user"))
    except SppError as exc:
        raise ImportFailure(_cannot_start(exc, settings)) from None
    catalog, required = found.catalog, found.required
    # The deployment's own fields, as the server describes them (refused here if unknown).
    mapping = mapping.with_server_fields(catalog.fields.get(PARTNER, {}))
    try:  # fields the server requires and fills no default for: the mapping must name them
        check_mapped(mapping, required)
        fetch_linked_records(client, catalog, mapping)  # areas, tags the file may name
    except SppError as exc:
        raise ImportFailure(_cannot_start(exc, settings)) from None
    return Session(
        client,
        catalog,
        mapping,
        settings,
        stats,
        required=required,
        xids_for=xids_for,
        controller=controller_for(options.load),
    )


def _begin(
    files: list[Path],
    options: ImportOptions,
    settings: ConnectionSettings | None,
    mapping: Mapping,
    namespace: str,
    started: datetime,
) -> tuple[Path, str, AuditLog | None, dict[str, Any]]:
    """A run's name, its reports' folder and stem, its run details, and its audit log opened.

    A run that writes no report files (the web page's checks, a notebook) keeps no audit log.
    """
    out_dir = Path(options.out_dir or "reports")
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + _secrets.token_hex(3)
    stem = f"{files[0].stem}-{options.mode}-{run_id}" if files else run_id
    meta = _run_meta(run_id, mapping, namespace, files, options, settings, started)
    if not options.write_files:
        return out_dir, stem, None, meta
    secrets = [settings.secret.reveal()] if settings is not None and settings.secret else []
    audit = AuditLog(out_dir / f"{stem}-audit.jsonl", secrets=secrets)
    audit.run_start(
        server=meta.get("server", "(none: offline validation)"),
        database=meta.get("database", ""),
        login=meta.get("login", ""),
        input_files=files,
        mapping=mapping.path or mapping.name,
        mode=options.mode,
        version=__version__,
        run_id=run_id,
        namespace=namespace,
        options=meta["options"],
    )
    return out_dir, stem, audit, meta


def _run_meta(
    run_id: str,
    mapping: Mapping,
    namespace: str,
    files: list[Path],
    options: ImportOptions,
    settings: ConnectionSettings | None,
    started: datetime,
) -> dict[str, Any]:
    """What the report and the audit log say about the run: who, where, with what."""
    meta: dict[str, Any] = {
        "run_id": run_id,
        "tool": f"spp-import {__version__}",
        "mode": options.mode,
        "mapping": mapping.name,
        "namespace": namespace,
        "files": [{"path": str(f), "sha256": file_sha256(f)} for f in files],
        "started": started.isoformat(timespec="seconds"),
        "options": {
            "batch_size": options.load.batch_size,
            "workers": options.load.workers,
            "concurrency": "adaptive" if options.load.adaptive else "fixed",
            "all_or_nothing": options.all_or_nothing,
            "empty_cells": options.empty_cells,
            "track_history": options.load.track_history,
        },
    }
    if settings is not None:
        meta.update(server=settings.safe_url, database=settings.db, login=settings.login)
    return meta


def _run_chunked(
    files: list[Path],
    options: ImportOptions,
    settings: ConnectionSettings | None,
    client: OdooClient | None,
    mapping: Mapping,
    namespace: str,
    say: StageProgress,
    started: datetime,
    after_chunk: Callable[[int], None] | None = None,
    asked: preflight.Early | None = None,
) -> RunResult:
    """The same run, chunk by chunk (importer.chunked): memory bounded whatever the file's size."""
    for path in files:  # the reader's own refusals (missing file, folder, wrong type) first
        if not path.is_file():
            read_source(path, engine=options.engine)
    out_dir, stem, audit, meta = _begin(files, options, settings, mapping, namespace, started)
    assert audit is not None  # a chunked run always writes its reports (run_import)
    stats = _CallStats(audit)
    try:
        session = connect(mapping, options, settings, client, stats, namespace, None, asked)  # by name
        run = ChunkedRun(
            files,
            options,
            session,
            namespace,
            meta,
            say,
            out_dir,
            stem,
            options.chunk_rows,
            after_chunk=after_chunk,
        )
        report, stopped, files_out = run_chunks(run)
        if session.client is not None:
            session.client.observer = None
    except NotStreamable:  # read whole instead (run_import): this attempt leaves no log behind
        audit.close()
        audit.path.unlink(missing_ok=True)
        raise
    except (ImportFailure, SppError) as exc:
        audit.run_end(counts={}, exit_code=2, failed=getattr(exc, "message", None) or str(exc))
        audit.close()
        raise
    return _end(report, files_out, audit, stopped, stats)


def _end(
    report: RunReport,
    files_out: dict[str, Path],
    audit: AuditLog | None,
    stopped: str | None,
    stats: _CallStats,
) -> RunResult:
    """Close a run, whole-file or chunked: the audit log joins the report's files and says how it ended."""
    exit_code = report.exit_code()
    if audit is not None:
        files_out["audit"] = audit.path
        report.files["audit"] = audit.path
        chosen = report.meta.get("concurrency")
        audit.run_end(counts=_counts(report), exit_code=exit_code, stopped=stopped, concurrency=chosen)
        audit.close()
    return RunResult(
        report=report,
        exit_code=exit_code,
        files=files_out,
        stopped=stopped,
        retried_calls=sum(stats.retries.values()),
    )


def _run_stages(
    sources: list[SourceTable],
    bindings: list[Binding],
    problems: list[Problem],
    session: Session,
    namespace: str,
    options: ImportOptions,
    meta: dict[str, Any],
    say: StageProgress,
    refuse_all: bool = False,
    drafting: _Drafting | None = None,
) -> tuple[RunReport, str | None]:
    """map → resolve → validate → plan → load → report, once the file is read and bound.

    ``refuse_all``: a chunked --all-or-nothing run found errors in another chunk.
    ``drafting``: given the report the import expects, before its first write.
    """
    settings, client, catalog, mapping = session.settings, session.client, session.catalog, session.mapping
    secrets = [settings.secret.reveal()] if settings is not None and settings.secret else []
    online = options.mode != "validate"
    bindings = [Binding(mapping.entities[b.spec.entity], b.table) for b in bindings]
    required = session.required
    stats = session.stats
    tables = map_tables(bindings, mapping)

    used = resolve_codes(tables, catalog, mapping)
    if online:
        check_server_setup(catalog, mapping, used)
    # Tags the server lacks, when the mapping allows creating them: admitted now, created before loading.
    new_tags = admit_new_tags(tables, catalog) if online and mapping.create_tags else {}

    say("validate", 0, 1)
    xids: dict[str, tuple[str, int]] = {}
    server_groups: set[str] | None = None
    server_individuals: set[str] | None = None
    xids_for = session.xids_for
    if online:
        assert xids_for is not None  # connect() starts it
        xids = xids_for(_registrant_xids(tables, namespace))
        # The registrants memberships and relationships may point at that are already ours on the server.
        groups_named, people_named = _named_registrants(tables)
        if len(groups_named) or len(people_named):
            names = set(xids)
            server_groups = _server_keys(names, namespace, Entity.GROUP, groups_named)
            server_individuals = _server_keys(names, namespace, Entity.INDIVIDUAL, people_named)
    validation = validate_tables(
        tables, catalog, server_groups=server_groups, server_individuals=server_individuals
    )
    matched: dict[str, tuple[int, int]] = {}
    if online and mapping.match_by_id and Entity.INDIVIDUAL in tables:
        people = tables[Entity.INDIVIDUAL]
        known = _server_keys(set(xids), namespace, Entity.INDIVIDUAL, people.frame["key"])
        found = match_by_id(client, people, mapping.match_by_id, catalog, known)
        matched = found.matched
        _refuse_ambiguous(validation, people, found, mapping.match_by_id)
    if required:  # an empty required cell refuses a row that would create a registrant without it
        on_server = {
            entity: _server_keys(set(xids), namespace, entity, tables[entity].frame["key"])
            for entity in (Entity.INDIVIDUAL, Entity.GROUP)
            if entity in tables
        }
        on_server.setdefault(Entity.INDIVIDUAL, set()).update(matched)  # found by ID: updated, not created
        cleared = {e: mapping.cleared_fields(e, options.empty_cells) for e in mapping.entities}
        for entity, (missing, rows) in missing_required(tables, required, on_server, cleared).items():
            validation.problems += missing
            validation.invalid[entity] = validation.invalid_rows(entity).union(rows)
    problems += validation.reported()  # one message per problem per cell
    verdict = hold_back(tables, validation, problems, dry_run=options.mode != "import")
    tables = verdict.tables
    say("validate", 1, 1)

    outcomes: list[pd.DataFrame] = []
    changes: list[pd.DataFrame] = []
    stopped: str | None = None

    def expect(expected: Expected) -> None:
        """Start drafting the workbook from the report the outcomes ``expected`` works out give."""
        assert drafting is not None  # handed to the plan only when the run drafts
        lines, shown = list(problems), dict(meta)  # the run goes on adding to both

        def report() -> RunReport:
            planned, where_changed = expected()
            records = pd.concat(planned, ignore_index=True)
            cells = pd.concat(where_changed, ignore_index=True) if where_changed else None
            return build_report(
                sources, records, lines, mode=options.mode, meta=shown, secrets=secrets, changes=cells
            )

        drafting.start(report)

    has_errors = any(p.severity == "error" for p in validation.problems)
    if options.all_or_nothing and (has_errors or refuse_all):
        outcomes = all_refused(tables, validation, options.mode, catalog, namespace)
    else:
        if new_tags:  # only those that rows being written name; created before any registrant
            problems += _create_tags(
                tables, validation, verdict, catalog, new_tags, namespace, options, client
            )
            meta["tags_created" if options.mode == "import" else "tags_to_create"] = [
                p.value for p in problems if p.code in ("tag_created", "tag_to_create")
            ]
            if stats is not None and stats.audit is not None and options.mode == "import":
                stats.audit.event("tags_created", model=TAG_MODEL, names=meta["tags_created"])
        outcomes, stopped, changes = _plan_and_load(
            tables,
            validation,
            verdict,
            catalog,
            mapping,
            namespace,
            xids,
            matched,
            server_groups,
            options,
            client,
            say,
            stats,
            xids_for,
            session.controller,
            expect if drafting is not None else None,
        )

    meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    if session.stats is not None:
        meta["calls"] = dict(session.stats.calls)
        meta["retried_calls"] = dict(session.stats.retries)
    if stopped:
        meta["stopped"] = stopped
    if stats is not None and stats.concurrency is not None:
        meta["concurrency"] = stats.concurrency.as_dict()
    # Only the outcomes are needed from here on: free the canonical tables and the pieces
    # before the report is built (at a million rows, each copy costs hundreds of MB).
    del tables, validation, verdict
    records = pd.concat(outcomes, ignore_index=True) if outcomes else None
    outcomes.clear()
    changed = pd.concat(changes, ignore_index=True) if changes else None
    report = build_report(
        sources, records, problems, mode=options.mode, meta=meta, secrets=secrets, changes=changed
    )
    return report, stopped


def _registrant_xids(tables: dict[Entity, CanonicalTable], namespace: str) -> list[str]:
    """The external ids of every household and person a chunk's rows make or name."""
    groups, people = _named_registrants(tables)
    for entity, keys in ((Entity.GROUP, groups), (Entity.INDIVIDUAL, people)):
        if entity in tables:
            keys = pd.concat([keys, tables[entity].frame["key"]], ignore_index=True)
        if entity is Entity.GROUP:
            groups = keys
        else:
            people = keys
    names = [make_xids(namespace, Entity.GROUP, groups.drop_duplicates())]
    names.append(make_xids(namespace, Entity.INDIVIDUAL, people.drop_duplicates()))
    return [x for part in names for x in part.tolist()]


def read_only_message(login: str) -> str:
    """What a user who may only read is told before anything is checked or sent."""
    return (
        f"the user '{login}' may check files against the registry but not import them (the server "
        "does not let this user create or change registrants): a dry run (--dry-run) shows what an "
        "import would do; nothing is written. Ask for a user who may write to import."
    )


def _named_registrants(tables: dict[Entity, CanonicalTable]) -> tuple[pd.Series, pd.Series]:
    """Keys the links name: (households', people's); a relationship's ends may be either."""
    groups, people = [pd.Series([], dtype="str")], [pd.Series([], dtype="str")]
    members = tables.get(Entity.MEMBERSHIP)
    if members is not None:
        groups.append(members.frame["group"])
        people.append(members.frame["individual"])
    ids = tables.get(Entity.REG_ID)
    if ids is not None:  # an IDs sheet names people
        people.append(ids.frame["individual"])
    relations = tables.get(Entity.RELATIONSHIP)
    if relations is not None:
        ends = pd.concat([relations.frame["source"], relations.frame["destination"]], ignore_index=True)
        groups.append(ends)
        people.append(ends)
    return pd.concat(groups, ignore_index=True), pd.concat(people, ignore_index=True)


def _unchecked_server_fields(mapping: Mapping) -> list[Problem]:
    """Offline, a deployment's own field is read as text: say so once per field."""
    return [
        Problem(
            code="unchecked_field",
            severity="warning",
            message=(
                f"{entity.value} field '{name}' is the deployment's own: without a server it is "
                "checked as text only (a dry run checks it against the server)"
            ),
            file=str(mapping.path or mapping.name),
            column=mapping.entities[entity].fields[name].column,
        )
        for entity, name in mapping.deferred_fields()
    ]


def _counts(report: RunReport) -> dict[str, Any]:
    return {
        str(entity): {str(k): int(v) for k, v in row.items()} for entity, row in report.counts().iterrows()
    }


def _cannot_start(exc: SppError, settings: ConnectionSettings | None) -> str:
    where = settings.describe() if settings else "the server"
    if isinstance(exc, OdooError) and exc.name == "odoo.exceptions.AccessDenied":
        return f"cannot log in as {where}: the server refused the login, password or API key"
    if isinstance(exc, OdooError):
        return f"the server ({where}) refused to start the import: {exc.server_message}"
    return f"cannot reach {where}: {exc}"


def _plan_and_load(
    tables: dict[Entity, CanonicalTable],
    validation: Validation,
    verdict: RowVerdict,
    catalog: Catalog,
    mapping: Mapping,
    namespace: str,
    xids: dict[str, tuple[str, int]],
    matched: dict[str, tuple[int, int]],
    server_groups: set[str] | None,
    options: ImportOptions,
    client: OdooClient | None,
    say: StageProgress,
    stats: _CallStats | None,
    xids_for: NamespaceIds | None = None,
    controller: Controller | None = None,
    expect: Callable[[Expected], None] | None = None,
) -> tuple[list[pd.DataFrame], str | None, list[pd.DataFrame]]:
    """Plan, then load (or say what a load would do); returns outcomes, why it stopped, the changes.

    ``controller``: the run's concurrency controller (a chunked run's chunks share it), so what
    the loader hands ``stats`` is the run's choice so far, not this chunk's (each decision goes
    to the audit log as it is made).  ``expect``: handed, before the first call that writes, how
    to work out the outcomes and changes the run will have if the server writes every row as
    planned (a guess before the server's records are read, then the plan if it differs).
    """
    mode = options.mode
    messages = error_messages(validation.problems)
    outcomes: list[pd.DataFrame] = []
    failed_parents: dict[Entity, dict[str, str]] = {}
    for entity, canon in tables.items():
        bad, failed = invalid_outcomes(canon, validation.invalid_rows(entity), mode, messages)
        outcomes.append(bad)
        held = verdict.held.get(entity)
        if held is not None:  # the rest of a refused row: not sent, so the row is whole or absent
            frame = canon.frame.loc[held.index]
            outcomes.append(record_frame(entity, frame, Status.SKIPPED, held))
            why = "row " + frame["_row"].astype(str) + ": another part of that row is refused"
            for key, text in zip(frame["key"], why, strict=True):
                failed.setdefault(key, text)
        failed_parents[entity] = failed

    valid = _written_rows(tables, validation, verdict)
    stages = build_stages(  # server_groups: the households memberships and relationships name, ours
        tables, catalog, namespace, valid, EmptyCells.of(mapping, options.empty_cells), server_groups
    )
    plan = Plan(namespace, stages, existing={})
    guess: dict[Entity, StagePlan] = {}
    if client is not None:
        if xids_for is not None:  # ask for exactly the records' external ids, in bulk
            wanted = [x for stage in stages.values() for x in stage.rows["xid"].astype(str).unique()]
            xids = {**xids, **xids_for(wanted)}
        if mapping.match_by_id and matched:
            links = matched_xids(namespace, mapping.match_by_id, matched)
            if links and mode == "import":
                link_matched(client, links)
            xids = {**xids, **links}
        if expect is not None:  # drafted while the server's records are read: right for a re-run
            guess = guessed_stages(stages, xids)
            expect(expecting(outcomes, guess, Plan(namespace, guess, existing={}), failed_parents))
        found = compare_existing(client, stages, catalog, xids, options.load.workers)
        plan.existing, plan.changes = found.existing, found.changes

    stopped: str | None = None
    if mode == "import" and client is not None:
        loader = Loader(
            client,
            options.load,
            progress=lambda e, d, t: say(f"load {e.value}", d, t),
            memberships=stages.get(Entity.MEMBERSHIP),
            controller=controller,
            on_concurrency=stats.concurrency_change if stats is not None else None,
        )
        if expect is not None and not as_guessed(stages, guess, plan):
            expect(expecting(outcomes, stages, plan, failed_parents))
        for wave in LOAD_WAVES:
            sent = [stages[e] for e in wave if e in stages]
            for entity, result in loader.run_wave(sent, plan.existing, failed_parents).items():
                failed_parents.setdefault(entity, {}).update(result.failed_keys(stages[entity].rows))
                outcomes.append(stage_outcomes(stages[entity], result, plan.changes.get(entity)))
        if loader.stopped is not None:
            stopped = str(loader.stopped)
        if stats is not None:
            stats.concurrency = loader.concurrency
    else:
        for entity in LOAD_ORDER:
            stage = stages.get(entity)
            if stage is not None:
                outcomes.append(
                    dry_outcomes(
                        stage, plan.existing.get(entity, {}), failed_parents, plan.changes.get(entity)
                    )
                )
    return outcomes, stopped, changes_of(outcomes, plan)


def _written_rows(
    tables: dict[Entity, CanonicalTable], validation: Validation, verdict: RowVerdict
) -> Callable[[Entity], pd.Index]:
    """Each entity's rows that go on to be written: neither refused by the checks nor held back."""

    def written(entity: Entity) -> pd.Index:
        index = tables[entity].frame.index.difference(validation.invalid_rows(entity))
        return index.difference(verdict.held_rows(entity))

    return written


def _create_tags(
    tables: dict[Entity, CanonicalTable],
    validation: Validation,
    verdict: RowVerdict,
    catalog: Catalog,
    pending: dict[str, PendingTag],
    namespace: str,
    options: ImportOptions,
    client: OdooClient | None,
) -> list[Problem]:
    """Create (or, in a dry run, name) the new tags the rows being written use (importer.new_tags)."""
    used = tags_named(tables, pending, _written_rows(tables, validation, verdict))
    return create_new_tags(client, catalog, used, namespace, create=options.mode == "import")


def _refuse_ambiguous(validation: Validation, people: CanonicalTable, found: IdMatches, id_type: str) -> None:
    """A person whose ID number several registrants already hold is an error of that row.

    Guessing would update the wrong person, and creating one more would add a
    third holder: the clerk (or an administrator) must sort the registry out.
    """
    if not found.ambiguous:
        return
    frame = people.frame
    header = people.columns.get(found.column, id_type)
    for index, holders in found.ambiguous.items():
        row = frame.loc[index]
        value = str(row[found.column])
        validation.problems.append(
            Problem(
                code="id_held_by_several",
                message=(
                    f"{header} '{value}' already belongs to {len(holders)} registrants in the registry "
                    f"(ids {', '.join(map(str, holders))}), so this row cannot tell which one it is: "
                    "nothing was written for it. Merge or correct those registrants, then import again."
                ),
                file=str(row["_file"]),
                sheet=str(row["_sheet"]) or None,
                row=int(row["_row"]),
                column=header,
                value=value,
                entity=Entity.INDIVIDUAL.value,
                key=str(row["key"]),
            )
        )
    invalid = validation.invalid_rows(Entity.INDIVIDUAL)
    validation.invalid[Entity.INDIVIDUAL] = invalid.union(pd.Index(list(found.ambiguous)))
