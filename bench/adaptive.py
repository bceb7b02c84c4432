"""Benchmark 7: the adaptive number of calls in flight against servers of 1, 2 and 4 workers.

The sandbox runs as its own process, served like an Odoo with N workers
(``--workers N``): at most N calls at once, each waiting a server time that
grows with its rows (``--latency-per-row``, ``--latency-per-call``), in
parallel across workers, as a real server's time goes in PostgreSQL and the
ORM; calls beyond N queue.  Without that simulated time the sandbox's own
work (one Python process, one SQLite writer) would show no parallelism at
all, and on this shared 2-core machine nothing would either.

For each server, the same roster is imported into a fresh sandbox by the
client at fixed settings (1, 2, 4 calls in flight: ``--concurrency fixed
--workers N``) and by the adaptive client (ceiling 8), taking turns within
each repetition; the rate is records written per second of the whole
``run_import``.  Target: the adaptive client within 10 % of the best fixed
setting, for each server, without being told which server it meets.
"""

from __future__ import annotations

from bench.common import Section, import_rate, median
from importer.concurrency import DEFAULT_WORKERS
from importer.load import LoadOptions

#: Server time: 0.5 ms a row and 20 ms a call, about 2,000 rows a second per worker (a real Odoo
#: writing registrants does 300-450 rows a second on one process; slower would only lengthen the run).
PER_ROW = 0.0005
PER_CALL = 0.02


def one_run(people: int, batch: int, server_workers: int, load: LoadOptions, label: str) -> tuple[float, str]:
    """Records per second of one import, and what concurrency it ran at."""
    server_options = ["--workers", str(server_workers)]
    server_options += ["--latency-per-row", str(PER_ROW), "--latency-per-call", str(PER_CALL)]
    rate, result = import_rate(people, label, load, server_options=server_options)
    chosen = result.report.meta.get("concurrency", {}).get("summary", "?")
    return rate, chosen


def run(people: int, batch: int, servers: list[int], fixed: list[int], reps: int) -> Section:
    section = Section(
        f"7. Adaptive concurrency: {people:,} people per run, batch {batch}, sandbox with --workers "
        f"{servers} at {PER_ROW * 1000:g} ms a row + {PER_CALL * 1000:g} ms a call; fixed {fixed} "
        f"vs adaptive (ceiling {DEFAULT_WORKERS})"
    )
    configs: dict[str, LoadOptions] = {
        f"fixed {n}": LoadOptions(batch_size=batch, workers=n, adaptive=False) for n in fixed
    }
    configs["adaptive"] = LoadOptions(batch_size=batch, workers=DEFAULT_WORKERS, adaptive=True)
    section.note(f"median of {reps} run(s) per configuration, configurations in turn")
    for w in servers:
        rates: dict[str, list[float]] = {name: [] for name in configs}
        chosen: list[str] = []
        for rep in range(reps):
            for name, load in configs.items():
                rate, how = one_run(people, batch, w, load, f"s{w}-{name.replace(' ', '')}-r{rep}")
                rates[name].append(rate)
                if name == "adaptive":
                    chosen.append(how)
        for name in configs:
            section.add(f"server {w} worker(s): {name}", median(rates[name]), "rec/s")
        best_name = max((n for n in configs if n != "adaptive"), key=lambda n: median(rates[n]))
        ratio = median(rates["adaptive"]) / median(rates[best_name])
        section.add(
            f"server {w} worker(s): adaptive / best fixed ({best_name})",
            ratio,
            "x",
            target=">= 0.90x",
            passed=ratio >= 0.9,
            note="adaptive chose: " + " | ".join(chosen),
        )
    return section
