"""Benchmark 5: ``--workers`` and ``--batch-size``.

Every configuration imports the same roster into a fresh sandbox process
that serves several threads (``--threads``), so each starts from the same
empty database.  Configurations take turns within each repetition (all
configurations, then all again), and the medians are compared.  The rate is
records written per second of the whole ``run_import`` (what a clerk waits
for), not of the load stage alone.

Note that the sandbox runs one SQLite transaction at a time (as a single
Odoo worker would serialise on the same rows), and client and server share
this machine's cores: more workers overlap one side's work with the other's,
they do not multiply the server.
"""

from __future__ import annotations

from bench.common import Section, import_rate, median
from importer.load import LoadOptions

DEFAULT_WORKERS = LoadOptions().workers
DEFAULT_BATCH = LoadOptions().batch_size


def one_run(people: int, workers: int, batch: int, threads: int, label: str) -> float:
    """Records per second of one default-mode import with these load options."""
    load = LoadOptions(batch_size=batch, workers=workers, adaptive=False)
    return import_rate(people, label, load, threads=threads)[0]


def run(people: int, workers: list[int], batches: list[int], reps: int, threads: int) -> Section:
    section = Section(
        f"5. Concurrency: {people:,} people per run, sandbox with --threads {threads}; "
        f"workers {workers} at batch {DEFAULT_BATCH}, batch sizes {batches} at {DEFAULT_WORKERS} workers"
    )
    configs = [(w, DEFAULT_BATCH) for w in workers]
    configs += [(DEFAULT_WORKERS, b) for b in batches if (DEFAULT_WORKERS, b) not in configs]
    rates: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
    for rep in range(reps):
        for w, b in configs:
            rates[(w, b)].append(one_run(people, w, b, threads, f"w{w}b{b}r{rep}"))
    section.note(f"median of {reps} run(s) per configuration, configurations in turn")
    base = median(rates[(workers[0], DEFAULT_BATCH)])
    for w in workers:
        rate = median(rates[(w, DEFAULT_BATCH)])
        section.add(f"workers {w}, batch {DEFAULT_BATCH}: rate", rate, "rec/s")
        section.add(f"workers {w}: speed-up over {workers[0]} worker(s)", rate / base, "x")
    for b in batches:
        rate = median(rates[(DEFAULT_WORKERS, b)])
        section.add(f"batch {b}, workers {DEFAULT_WORKERS}: rate", rate, "rec/s")
    best_w = max(workers, key=lambda w: median(rates[(w, DEFAULT_BATCH)]))
    best_b = max(batches, key=lambda b: median(rates[(DEFAULT_WORKERS, b)]))
    section.note(
        f"fastest here: {best_w} worker(s) at batch {DEFAULT_BATCH}; batch {best_b} at "
        f"{DEFAULT_WORKERS} workers (current defaults: workers {DEFAULT_WORKERS}, batch {DEFAULT_BATCH})"
    )
    return section
