"""Benchmark 6: re-running an unchanged file.

The first run imports the roster into a fresh sandbox; the second run of
the same file must send no unchanged row (the plan reads back what the
server holds under the file's external ids and compares).  The figure is
the ratio of the two wall times, and the second run's ``load`` calls are
counted to show that nothing was re-sent.  Each repetition uses a fresh
sandbox, first and second run side by side.

Then a correction: a dry run of the file's first 100 households' worth of
rows into that namespace, which by then holds every record of the file, beside
the same dry run into a namespace that holds only the correction's own
records.  The two should cost the same: a run asks a namespace far bigger
than itself for its own external ids by name instead of reading it whole.
"""

from __future__ import annotations

from dataclasses import replace

from bench.common import (
    OUT,
    Section,
    import_options,
    median,
    roster_csv,
    roster_frame,
    sandbox_process,
    sent_records,
    timed,
)
from importer.pipeline import run_import

TARGET_RATIO = 10.0
CORRECTION_ROWS = 100
TARGET_CORRECTION = 1.5  # into the big namespace / into a namespace of its own size, at most


def run(people: int, reps: int) -> Section:
    section = Section(f"6. Re-runs: the unchanged {people:,}-person file imported twice")
    csv = roster_csv(people)
    firsts: list[float] = []
    seconds_: list[float] = []
    resent = 0
    loads = 0
    options = import_options()
    correction = OUT / f"correction-{people}.csv"
    roster_frame(people).head(CORRECTION_ROWS).to_csv(correction, index=False)
    corrections: dict[str, list[float]] = {}
    for rep in range(reps):
        with sandbox_process(f"rerun{rep}") as server:
            first, result = timed(lambda server=server: run_import([csv], options, server.settings()))
            assert result.exit_code == 0
            second, again = timed(lambda server=server: run_import([csv], options, server.settings()))
            mine = replace(options, namespace="bench_correction")  # holds the correction's records only
            assert run_import([correction], mine, server.settings()).exit_code == 0
            dry = {"big": replace(options, mode="dry-run"), "own size": replace(mine, mode="dry-run")}
            for name, how in dry.items():
                settings = server.settings()
                took, done = timed(lambda how=how, settings=settings: run_import([correction], how, settings))
                assert set(done.report.records["action"]) == {"unchanged"}  # every record found
                corrections.setdefault(name, []).append(took)
        firsts.append(first)
        seconds_.append(second)
        resent = max(resent, sent_records(again))
        calls = again.report.meta.get("calls", {})
        loads = max(loads, sum(v for k, v in calls.items() if k.endswith(".load")))
    a, b = median(firsts), median(seconds_)
    section.note(f"median of {reps}; second run wrote {resent} records in {loads} load calls")
    section.add("first run (fresh sandbox)", a, "s")
    section.add("second run (nothing changed)", b, "s")
    section.add("records re-sent by the second run", resent, "rec", "0", resent == 0)
    section.add("first / second", a / b, "x", f">= {TARGET_RATIO:g}x", a / b >= TARGET_RATIO)
    big, own = median(corrections["big"]), median(corrections["own size"])
    section.add(f"{CORRECTION_ROWS}-row correction, dry run, into the namespace of {people:,}", big, "s")
    section.add(f"{CORRECTION_ROWS}-row correction, dry run, into a namespace of its own size", own, "s")
    ratio, target = big / own, TARGET_CORRECTION
    section.add("into the big / into its own", ratio, "x", f"<= {target:g}x", ratio <= target)
    return section
