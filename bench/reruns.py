"""Benchmark 6: re-running an unchanged file.

The first run imports the roster into a fresh sandbox; the second run of
the same file must send no unchanged row (the plan reads back what the
server holds under the file's external ids and compares).  The figure is
the ratio of the two wall times, and the second run's ``load`` calls are
counted to show that nothing was re-sent.  Each repetition uses a fresh
sandbox, first and second run side by side.
"""

from __future__ import annotations

from bench.common import Section, import_options, median, roster_csv, sandbox_process, sent_records, timed
from importer.pipeline import run_import

TARGET_RATIO = 10.0


def run(people: int, reps: int) -> Section:
    section = Section(f"6. Re-runs: the unchanged {people:,}-person file imported twice")
    csv = roster_csv(people)
    firsts: list[float] = []
    seconds_: list[float] = []
    resent = 0
    loads = 0
    options = import_options()
    for rep in range(reps):
        with sandbox_process(f"rerun{rep}") as server:
            first, result = timed(lambda server=server: run_import([csv], options, server.settings()))
            assert result.exit_code == 0
            second, again = timed(lambda server=server: run_import([csv], options, server.settings()))
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
    return section
