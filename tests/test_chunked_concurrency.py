"""A chunked run keeps one concurrency controller for the whole run (docs/architecture.md §6, §8).

Each chunk makes its own Loader, but the controller that decides how many
``load`` calls are in flight is made once: it does not start again from two
calls at every chunk, and what it chose is reported once, for the run.  No
timing is asserted: the checks count objects, observations and decisions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import settings_for
from reliability_support import audit_events, write_roster

from importer import load as load_module
from importer.concurrency import AdaptiveLimit, Change, Observation
from importer.load import LoadOptions
from importer.pipeline import ImportOptions, run_import
from importer.report import summary_text
from importer.sandbox import Sandbox

ROSTER = Path(__file__).resolve().parents[1] / "mappings" / "roster.yaml"


class CountedLimit(AdaptiveLimit):
    """The adaptive controller, counting how many are made and what each is told."""

    made: ClassVar[list[CountedLimit]] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        self.observed = 0
        CountedLimit.made.append(self)

    def observe(self, observation: Observation) -> Change | None:
        self.observed += 1
        return super().observe(observation)


def test_every_chunk_of_an_import_shares_one_controller_and_the_run_reports_its_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = tmp_path / "roster.csv"
    write_roster(csv, 160, seed=41)
    CountedLimit.made = []
    monkeypatch.setattr(load_module, "AdaptiveLimit", CountedLimit)
    options = ImportOptions(
        mapping=ROSTER, out_dir=tmp_path / "out", chunk_rows=30, load=LoadOptions(batch_size=3, workers=4)
    )
    with Sandbox(workers=4, latency_per_row=0.0002, latency_per_call=0.001) as sb:
        result = run_import([csv], options, settings_for(sb))
    assert result.exit_code == 0
    meta = result.report.meta
    assert meta["chunks"]["count"] >= 4, "the run was not chunked"
    (controller,) = CountedLimit.made  # one for the run, not one per chunk
    loads = sum(n for call, n in meta["calls"].items() if call.endswith(".load"))
    assert controller.observed == loads  # every chunk's batches were told to it
    chosen = meta["concurrency"]
    assert chosen == controller.choice().as_dict()  # the run's choice, not the last chunk's
    assert chosen["start"] == 2 and chosen["ceiling"] == 4
    assert f"Load calls in flight: {chosen['summary']}" in summary_text(result.report)

    events = audit_events(tmp_path / "out")
    decisions = [e for e in events if e["event"] == "concurrency"]
    assert len(decisions) == chosen["decisions"] > 1
    # One chain of decisions: each starts where the one before left the limit (a controller made
    # afresh at a chunk boundary would start again from 2 after the first decision took it to 4).
    assert decisions[0]["from"] == 2
    assert all(b["from"] == a["to"] for a, b in itertools.pairwise(decisions))
    assert decisions[-1]["to"] == chosen["settled"]
    end = next(e for e in events if e["event"] == "run_end")
    assert end["concurrency"] == chosen
