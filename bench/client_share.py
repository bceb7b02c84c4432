"""Benchmark 2: where the time goes.

(a) Client against server: one default import into a fresh sandbox process,
timing every JSON-RPC call.  "Server" is the wall time during which at least
one call was in flight (overlapping workers counted once; a call's interval
includes encoding the request and decoding the answer, so this is generous to
the client).  "Client" is the rest: reading, mapping, validating, planning,
building payloads, reading answers, building the report.  Target: client
<= 10 % of wall time.

(b) Map and validate a 1,000,000-person roster in memory (no file read):
``bind`` + ``map_tables`` + ``resolve_codes``, then ``validate_tables`` with
the catalog a default sandbox serves (so the National ID regex is checked).
Target: validation <= 15 s on this machine.

(c) With ``--profile``: cProfile of the import run and of the re-run, top
importer functions by own and cumulative time (written to bench/out/*.prof).
"""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

import pandas as pd

from bench.common import (
    OUT,
    ROSTER_MAPPING,
    Section,
    TimedClient,
    cpu_timed,
    import_options,
    median,
    roster_csv,
    roster_frame,
    sandbox_process,
    sent_records,
    timed,
    timed_import,
)
from importer.canonical import map_tables
from importer.catalog import Catalog, fetch_catalog
from importer.client import OdooClient
from importer.mapping import bind, load_mapping
from importer.pipeline import run_import
from importer.read import SourceTable
from importer.resolve import resolve_codes
from importer.row_rules import hold_back
from importer.validate import Validation, validate_tables

TARGET_CLIENT_SHARE = 0.10
TARGET_VALIDATE_S = 15.0


def client_share(people: int, section: Section) -> None:
    run = timed_import(roster_csv(people), import_options(), "share")
    seconds, in_calls, result = run.seconds, run.in_calls, run.result
    share = (seconds - in_calls) / seconds
    records = sent_records(result)
    section.note(
        f"(a) {people:,} people, {records:,} records, {run.calls:,} calls, "
        f"wall {seconds:.1f} s, a call in flight {in_calls:.1f} s, client alone {seconds - in_calls:.1f} s "
        f"({records / seconds:,.0f} rec/s)"
    )
    section.add(
        f"(a) client share of wall time, {people:,}-person import",
        100 * share,
        "%",
        f"<= {100 * TARGET_CLIENT_SHARE:g} %",
        share <= TARGET_CLIENT_SHARE,
    )


def sandbox_catalog() -> Catalog:
    """The catalog a default sandbox serves (gender types, ID types with their regexes)."""
    with sandbox_process("catalog") as server, OdooClient(server.settings()) as client:
        client.authenticate()
        return fetch_catalog(client)


def source_table(frame: pd.DataFrame, name: str = "roster.csv") -> SourceTable:
    """A roster as the reader hands it on: text, indexed by the clerk's row numbers (header on 1)."""
    frame = frame.copy()
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return SourceTable(Path(name), None, frame, header_row=1)


def map_and_validate(people: int, reps: int, section: Section) -> None:
    mapping = load_mapping(ROSTER_MAPPING)
    catalog = sandbox_catalog()
    table = source_table(roster_frame(people))
    map_times: list[float] = []
    validate_times: list[float] = []
    validate_cpu: list[float] = []
    rows = 0
    for _ in range(reps):

        def mapped() -> dict:
            tables = map_tables(bind(mapping, [table]), mapping)
            resolve_codes(tables, catalog, mapping)
            return tables

        seconds, tables = timed(mapped)
        map_times.append(seconds)

        def checked(tables: dict = tables) -> Validation:
            validation = validate_tables(tables, catalog)
            hold_back(tables, validation, validation.reported())  # a row is all or nothing
            return validation

        seconds, cpu, validation = cpu_timed(checked)
        validate_times.append(seconds)
        validate_cpu.append(cpu)
        rows = sum(len(t.frame) for t in tables.values())
        errors = sum(p.severity == "error" for p in validation.problems)
    section.note(
        f"(b) {people:,}-person roster = {rows:,} canonical rows (households, people, memberships), "
        f"{errors} row problems found (random 10-digit National IDs collide now and then), median of {reps}"
    )
    section.add(f"(b) map {people:,} people (bind + map_tables + resolve_codes)", median(map_times), "s")
    validate_s, validate_cpu_s = median(validate_times), median(validate_cpu)
    section.add(f"(b) validate_tables + row rules, {rows:,} canonical rows, wall", validate_s, "s")
    section.add(
        f"(b) validate_tables + row rules, {rows:,} canonical rows, CPU",
        validate_cpu_s,
        "CPU s",
        f"<= {TARGET_VALIDATE_S:g} s",
        validate_cpu_s <= TARGET_VALIDATE_S,
        note="verdict on CPU time: single-threaded work, and the shared machine's wall time includes "
        "waiting for a core",
    )


def profile_runs(people: int, section: Section, top: int = 25) -> None:
    """cProfile of a first import and its re-run; prints importer functions by cumulative time."""
    csv = roster_csv(people)
    options = import_options()
    with sandbox_process("profile") as server:
        for label in ("first", "rerun"):
            profiler = cProfile.Profile()
            client = TimedClient(server.settings())
            profiler.enable()
            run_import([csv], options, client=client)
            profiler.disable()
            path = OUT / f"profile-{people}-{label}.prof"
            profiler.dump_stats(path)
            section.note(f"(c) profile of the {label} run written to {path.relative_to(OUT.parents[1])}")
            stats = pstats.Stats(profiler)
            rows = [
                (cum, tot, calls, f"{Path(file).name}:{func}")
                for (file, _line, func), (_cc, calls, tot, cum, _callers) in stats.stats.items()  # type: ignore[attr-defined]
                if "/importer/" in file
            ]
            rows.sort(reverse=True)
            print(f"    {label} run, importer functions by cumulative time (cProfile, inflated):")
            for cum, tot, calls, name in rows[:top]:
                print(f"      {cum:7.2f} s cum {tot:6.2f} s own {calls:>8} calls  {name}")


def run(people: int, validate_people: int, reps: int, profile_people: int | None) -> Section:
    section = Section("2. Where the time goes: client vs server, mapping and validation")
    client_share(people, section)
    map_and_validate(validate_people, reps, section)
    if profile_people:
        profile_runs(profile_people, section)
    return section
