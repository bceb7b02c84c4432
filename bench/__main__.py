"""``python -m bench``: every benchmark of spp-import, each figure with its target and verdict.

Benchmarks are not tests (nothing here runs under pytest): they measure,
on this machine, against the embedded sandbox registry run as a separate
process, and print ratios measured side by side in one run.

    python -m bench              # defaults: about 10 minutes on an idle 2-core machine
    python -m bench --quick      # smoke run, about a minute
    python -m bench --full       # the issue's sizes everywhere (100k-person split, dry-run memory...)
    python -m bench --only 1,6   # some benchmarks only
    python -m bench --profile    # also cProfile an import, its re-run and a wide import (bench/out/*.prof)

Every size has its own flag (see ``--help``).  Generated inputs, sandbox
databases and profiles go to bench/out/ (git-ignored); inputs are reused
between runs.  See bench/README.md for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace

from bench.common import ROOT, Section, load_average


@dataclass(frozen=True)
class Sizes:
    people: int  # 1 and 6
    guide_people: int  # 1 (a)
    share_people: int  # 2 (a)
    validate_people: int  # 2 (b)
    xlsx_rows: int  # 3
    memory_rows: tuple[int, ...]  # 4
    concurrency_people: int  # 5
    workers: tuple[int, ...]
    batches: tuple[int, ...]
    adaptive_people: int  # 7
    adaptive_batch: int  # 7
    bare_people: int  # 9
    reps: int
    dry_run_memory: bool
    xlsx_report_rows: int = 1_000_000  # 10: the roster
    xlsx_invalid_rows: int = 100_000  # 10: every row invalid


DEFAULT = Sizes(
    people=20_000,
    guide_people=2_000,
    share_people=50_000,
    validate_people=1_000_000,
    xlsx_rows=100_000,
    memory_rows=(100_000, 1_000_000),
    concurrency_people=5_000,
    workers=(1, 2, 3, 4),
    batches=(100, 250, 500, 1000, 2000),
    adaptive_people=4_000,
    adaptive_batch=100,
    bare_people=4_000,
    reps=1,
    dry_run_memory=False,
)
#: --quick: every size small, for a smoke run of about a minute
QUICK = replace(
    DEFAULT,
    people=2_000,
    guide_people=400,
    share_people=2_000,
    validate_people=100_000,
    xlsx_rows=10_000,
    memory_rows=(100_000,),
    concurrency_people=1_000,
    workers=(1, 2, 4),
    batches=(100, 500, 2000),
    adaptive_people=1_000,
    adaptive_batch=50,
    bare_people=1_000,
    xlsx_report_rows=100_000,
    xlsx_invalid_rows=20_000,
)
#: --full: the issue's sizes where the defaults are smaller, three repetitions, the dry run's memory too
FULL = replace(
    DEFAULT,
    share_people=100_000,
    xlsx_rows=200_000,
    memory_rows=(100_000, 1_000_000, 5_000_000),
    adaptive_people=10_000,
    adaptive_batch=200,
    reps=3,
    dry_run_memory=True,
)

REFERENCE = [
    "Real OpenSPP 17 server, from the issue (client and server on one 2-core machine):",
    "  one create per record (the guide's way)          37 rec/s",
    "  spp-import load, 1 worker                       363 rec/s",
    "  spp-import load, 2 workers                      452 rec/s",
    "These are NOT measured here: the sandbox answers a call far faster than Odoo's ORM does, so",
    "against it the client's own costs weigh much more than against a real server.",
]


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about a minute")
    mode.add_argument("--full", action="store_true", help="the issue's sizes everywhere, 3 repetitions")
    p.add_argument("--only", type=_ints, default=tuple(range(1, 11)), help="benchmarks to run, e.g. 1,3")
    p.add_argument("--reps", type=int, help="repetitions of each measurement (medians are reported)")
    p.add_argument("--people", type=int, help="people in the roster of benchmarks 1, 6 and 8 (20000)")
    p.add_argument("--guide-people", type=int, help="people written the guide's way in 1 (2000)")
    p.add_argument("--share-people", type=int, help="people in the client/server split of 2 (50000)")
    p.add_argument("--validate-people", type=int, help="people mapped and validated in 2 (1000000)")
    p.add_argument("--xlsx-rows", type=int, help="rows of the workbook read in 3 (100000)")
    p.add_argument("--memory-rows", type=_ints, help="CSV sizes of 4 (100000,1000000; --full adds 5000000)")
    p.add_argument("--dry-run-memory", action="store_true", help="in 4, also a real --dry-run (minutes)")
    p.add_argument("--xlsx-report-rows", type=int, help="roster rows of 10 (1000000)")
    p.add_argument("--xlsx-invalid-rows", type=int, help="rows of 10's all-invalid roster (100000)")
    p.add_argument("--concurrency-people", type=int, help="people per run in 5 (5000)")
    p.add_argument("--workers", type=_ints, help="worker counts of 5 (1,2,3,4)")
    p.add_argument("--batches", type=_ints, help="batch sizes of 5 (100,250,500,1000,2000)")
    p.add_argument("--server-threads", type=int, default=8, help="sandbox threads in 5 (8)")
    p.add_argument("--adaptive-people", type=int, help="people per run in 7 (4000)")
    p.add_argument("--adaptive-batch", type=int, help="batch size in 7 (100)")
    p.add_argument("--bare-people", type=int, help="people per run in 9 (4000)")
    p.add_argument("--profile", nargs="?", const=20_000, type=int, metavar="PEOPLE", help="cProfile runs")
    return p


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else FULL if args.full else DEFAULT
    over = {
        name: getattr(args, name)
        for name in Sizes.__dataclass_fields__
        if getattr(args, name, None) not in (None, False)
    }
    return Sizes(**{**base.__dict__, **over})


def compile_bytecode() -> None:
    """Compile the tool's and the benchmarks' modules once, before anything is timed.

    ``pip install`` compiles a package's modules when it installs it; an editable install on a
    machine set to write no bytecode (``PYTHONDONTWRITEBYTECODE``, as this one is) would instead
    compile some 35 modules at every process start: 0.24 s of each spp-import run, measured,
    which no user's installed tool pays.  Python reads bytecode it finds whatever that setting.
    """
    import compileall

    for package in ("importer", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    s = sizes_from(args)
    compile_bytecode()
    started = time.perf_counter()
    print(f"spp-import benchmarks ({'quick' if args.quick else 'full' if args.full else 'default'} sizes)")
    print(f"load average at start: {load_average()}")
    for line in REFERENCE:
        print(line)
    sections: list[Section] = []

    def heading(title: str) -> None:
        print(f"\n{title} [{time.perf_counter() - started:.0f} s in]", flush=True)

    steps = {
        1: ("throughput", lambda m: m.run(s.people, s.guide_people, s.reps)),
        2: (
            "client_share",
            lambda m: m.run(s.share_people, s.validate_people, s.reps, args.profile),
        ),
        3: ("reading", lambda m: m.run(s.xlsx_rows, s.reps)),
        4: ("memory", lambda m: m.run(list(s.memory_rows), s.dry_run_memory)),
        5: (
            "concurrency",
            lambda m: m.run(
                s.concurrency_people, list(s.workers), list(s.batches), s.reps, args.server_threads
            ),
        ),
        6: ("reruns", lambda m: m.run(s.people, s.reps)),
        7: (
            "adaptive",
            lambda m: m.run(s.adaptive_people, s.adaptive_batch, [1, 2, 4], [1, 2, 4], s.reps),
        ),
        8: ("wide", lambda m: m.run(s.people, max(s.reps, 2), bool(args.profile))),
        9: ("bare", lambda m: m.run(s.bare_people, max(s.reps, 2))),
        10: ("chunked_xlsx", lambda m: m.run(s.xlsx_report_rows, s.xlsx_invalid_rows)),
    }
    import importlib

    for number in sorted(args.only):
        module_name, call = steps[number]
        heading(f"== benchmark {number}: {module_name} ==")
        module = importlib.import_module(f"bench.{module_name}")
        try:
            section = call(module)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            section = Section(f"{number}. {module_name}: FAILED ({type(exc).__name__}: {exc})")
            print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
        sections.append(section)

    elapsed = time.perf_counter() - started
    print("\n" + "=" * 100)
    print(f"SUMMARY ({elapsed / 60:.1f} min; load average at end: {load_average()})")
    misses = 0
    for section in sections:
        print(f"\n{section.title}")
        for figure in section.figures:
            print(figure.line())
            misses += figure.passed is False
    print()
    for line in REFERENCE:
        print(line)
    targets = sum(f.passed is not None for sec in sections for f in sec.figures)
    print(f"\n{targets - misses} of {targets} targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
