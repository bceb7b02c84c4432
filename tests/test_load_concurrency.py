"""The loader under a varying number of calls in flight: never above the ceiling, never a household twice.

The controller's own decisions are tested in test_concurrency.py on a
simulated server; here the loader obeys whatever it decides, and the
report and the audit log say what it decided.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import membership_stage, settings_for
from reliability_support import assert_accounted, audit_events, cli_env, run_cli_inprocess, write_roster

from importer import load as load_module
from importer.client import OdooClient
from importer.concurrency import Change, ConcurrencyChoice, Observation
from importer.load import Loader, LoadOptions
from importer.outcome import Status
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.plan import StagePlan
from importer.report import summary_text
from importer.sandbox import ADMIN_PASSWORD, FaultPlan, FaultRule, Sandbox
from importer.settings import ConnectionSettings, Secret

ROSTER = Path(__file__).resolve().parents[1] / "mappings" / "roster.yaml"


class Jumpy:
    """A controller that changes its limit at every batch, through ``limits`` (1, then 4, then 2, ...)."""

    def __init__(self, limits: list[int]) -> None:
        self.limits = limits
        self.seen = 0
        self.observed: list[Observation] = []

    @property
    def limit(self) -> int:
        return self.limits[min(self.seen, len(self.limits) - 1)]

    def observe(self, observation: Observation) -> Change | None:
        self.observed.append(observation)
        before = self.limit
        self.seen += 1
        return Change(observation.finished, before, self.limit, "jump")

    def choice(self) -> ConcurrencyChoice:
        return ConcurrencyChoice("adaptive", 4, self.limits[0], max(self.limits), self.limit)


class InFlight:
    """Stands in for sending a batch: records which households are in flight, and how many batches.

    Each batch waits a moment for the others the limit lets in to join it, so that batches
    do overlap whenever the loader lets them; whether they may is the loader's
    decision, which is what is checked.
    """

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.households: list[str] = []
        self.now = 0
        self.most = 0
        self.clashes: list[str] = []

    def send(self, loader: Loader, stage: StagePlan, batch: pd.DataFrame, result) -> None:
        mine = list(dict.fromkeys(batch["group_key"]))
        with self.lock:
            self.clashes += [h for h in mine if h in self.households]
            self.households += mine
            self.now += 1
            self.most = max(self.most, self.now)
            self.lock.notify_all()
            if loader._limit() > 1:  # wait for the others the limit lets in (not when households hold them)
                self.lock.wait_for(lambda: self.now >= loader._limit(), timeout=0.05)
        with loader._lock:
            result.mark(batch.index, Status.CREATED)
        with self.lock:
            for h in mine:
                self.households.remove(h)
            self.now -= 1


def test_whatever_the_limit_no_household_is_in_two_batches_in_flight_and_the_ceiling_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 40 households of 1 to 6 members, in the file's order, some of them big enough to need two batches.
    groups = [f"H{h}" for h in range(40) for _ in range(1 + h % 6)]
    groups += ["BIG"] * 12  # more than a batch: its batches must go one after the other
    stage = membership_stage(groups)
    flight = InFlight()
    monkeypatch.setattr(Loader, "_send", lambda self, st, batch, result: flight.send(self, st, batch, result))
    jumpy = Jumpy([1, 4, 2, 9, 3, 1, 4, 4, 2, 9, 9, 3] * 20)  # 9: above the ceiling, which wins
    decisions: list[Change] = []
    nowhere = ConnectionSettings(url="http://127.0.0.1:9", db="none", login="none", secret=Secret("x"))
    client = OdooClient(nowhere)  # never called: sending is stood in for
    loader = Loader(
        client, LoadOptions(batch_size=5, workers=4), controller=jumpy, on_concurrency=decisions.append
    )
    result = loader.run_stage(stage, {}, {})
    assert (result.status == Status.CREATED).all()
    assert flight.clashes == []
    assert flight.most == 4  # the ceiling, reached (9 asked) and never passed
    assert len(decisions) == len(jumpy.observed) == jumpy.seen  # every decision reported
    assert {o.in_flight for o in jumpy.observed} <= {1, 2, 3, 4}
    assert all(o.rows > 0 and o.finished >= o.started for o in jumpy.observed)


# -- against a sandbox served like a 4-worker Odoo -----------------------------------------


def _import(sb: Sandbox, csv: Path, out: Path, load: LoadOptions) -> RunResult:
    return run_import([csv], ImportOptions(mapping=ROSTER, out_dir=out, load=load), settings_for(sb))


def _plain_cut(rows: pd.DataFrame, households: pd.Series, size: int) -> list[tuple[pd.DataFrame, frozenset]]:
    """The cut before household-whole batches: every ``size`` rows, whoever they belong to."""
    return [(rows.iloc[i : i + size], frozenset()) for i in range(0, len(rows), size)]


def test_adaptive_against_four_server_workers_writes_everything_with_no_conflict_and_says_what_it_chose(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 160, seed=31)
    with Sandbox(workers=4, latency_per_row=0.0002, latency_per_call=0.002) as sb:
        result = _import(sb, csv, tmp_path / "out", LoadOptions(batch_size=20, workers=4))
        assert result.exit_code == 0
        assert sb.conflicted_rows == 0  # no two calls in flight ever wrote one household (memberships)
        assert sb.server_workers.peak <= 4
        with OdooClient(settings_for(sb)) as c:
            assert_accounted(result.report.rows, len(frame), c, records=result.report.records)
    chosen = result.report.meta["concurrency"]
    assert chosen["mode"] == "adaptive" and chosen["ceiling"] == 4 and chosen["start"] == 2
    assert 1 <= chosen["settled"] <= chosen["peak"] <= 4
    assert chosen["summary"].startswith(f"adaptive, 2→{chosen['peak']}, settled at {chosen['settled']}")
    assert f"Load calls in flight: {chosen['summary']}" in summary_text(result.report)
    events = audit_events(tmp_path / "out")
    decisions = [e for e in events if e["event"] == "concurrency"]
    assert len(decisions) == chosen["decisions"]
    assert all(1 <= e["to"] <= 4 and e["reason"] for e in decisions)
    if decisions:
        assert decisions[0]["from"] == 2 and decisions[-1]["to"] == chosen["settled"]
    end = next(e for e in events if e["event"] == "run_end")
    assert end["concurrency"]["summary"] == chosen["summary"]
    start = next(e for e in events if e["event"] == "run_start")
    assert start["options"]["workers"] == 4 and start["options"]["concurrency"] == "adaptive"


def test_the_workers_sandbox_sees_batches_that_straddle_households_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control of the test above: with the old cut, four calls at once do meet on a household."""
    csv = tmp_path / "roster.csv"
    write_roster(csv, 160, seed=31)
    monkeypatch.setattr(load_module, "cut_batches", _plain_cut)
    with Sandbox(workers=4, latency_per_row=0.0005, latency_per_call=0.005) as sb:
        result = _import(sb, csv, tmp_path / "out", LoadOptions(batch_size=10, workers=4, adaptive=False))
        assert sb.conflicted_rows > 0
        assert result.exit_code == 0  # ridden through all the same
    assert result.report.meta["concurrency"]["summary"] == "fixed at 4"


def test_a_503_from_the_server_halves_the_calls_in_flight_and_nothing_is_lost(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 160, seed=32)
    # The proxy turns away a few load calls once the client has had time to grow.
    plan = FaultPlan(rules=[FaultRule("http_503", method="load", nth=tuple(range(6, 40, 3)), times=4)])
    with Sandbox(workers=4, latency_per_row=0.0002, faults=plan) as sb:
        result = _import(sb, csv, tmp_path / "out", LoadOptions(batch_size=15, workers=4))
        assert result.exit_code == 0
        with OdooClient(settings_for(sb)) as c:
            assert_accounted(result.report.rows, len(frame), c, records=result.report.records)
    chosen = result.report.meta["concurrency"]
    assert chosen["backoffs"] >= 1
    assert "on 502/503/504 or timeouts" in chosen["summary"]
    decisions = [e for e in audit_events(tmp_path / "out") if e["event"] == "concurrency"]
    backoffs = [e for e in decisions if "502/503/504" in e["reason"]]
    assert len(backoffs) == chosen["backoffs"]
    assert all(e["to"] == max(1, e["from"] // 2) for e in backoffs)


@pytest.mark.parametrize(
    ("flags", "summary"),
    [(["--concurrency", "fixed", "--workers", "3"], "fixed at 3"), (["--workers", "1"], "adaptive, 1→1")],
)
def test_the_command_line_says_how_many_calls_may_be_in_flight_and_the_summary_says_what_was_chosen(
    tmp_path: Path, flags: list[str], summary: str
) -> None:
    csv = tmp_path / "roster.csv"
    write_roster(csv, 12, seed=33)
    with Sandbox() as sb:
        argv = ["import", str(csv), "-m", str(ROSTER), "--out", str(tmp_path / "out"), "--quiet", *flags]
        code, out, err = run_cli_inprocess(argv, cli_env(sb.url, password=ADMIN_PASSWORD))
    assert code == 0, err
    assert f"Load calls in flight: {summary}" in out
