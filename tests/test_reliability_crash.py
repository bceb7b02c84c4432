"""Crashes: SIGKILL the importer, or the registry, mid-import; re-run; the server must hold exactly the file.

Two kinds of crash, each at small size in every run (CI) and at full size
(5,000 people, 20+ kills) with ``SPP_RELIABILITY_FULL=1`` (``make reliability``):

- the importer process (``python -m importer.cli import roster.csv ...``) is
  SIGKILLed at chosen moments in every stage — before it reached the server
  (start-up, reading and mapping the file), during validation (catalog and
  external-id reads) and inside each load stage (groups, individuals, IDs,
  memberships), at a random call of that stage, either while the call is in
  flight, just after it committed (the answer lost), or a random few
  milliseconds later.  The in-process sandbox's dispatcher is wrapped
  (:class:`~reliability_support.Tripwire`) so each kill lands where it was
  aimed, and the test asserts every stage got at least one.
- the sandbox registry itself (its own process, data in a SQLite file) is
  SIGKILLed while the importer writes, checked with SQLite's integrity check,
  and restarted on the same port; the importer retries or stops cleanly, and
  the same command is re-run to completion.

Each chain of kills ends with a run of the same command to completion, and
then the server is judged: exact counts, no external id or person twice,
every membership the right pair, every field of a sample equal to the file,
and the accounting invariant on the completing run's report.  Between kills
the invariant that makes all this safe is checked too: every record on the
server carries exactly one of our external ids (``load`` writes both in one
transaction), so nothing half-written can be duplicated later.
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest
from conftest import settings_for
from reliability_support import (
    FULL,
    MODEL_OF_PREFIX,
    STAGES,
    Kill,
    SandboxProcess,
    Tripwire,
    assert_accounted,
    audit_events,
    cli_env,
    import_command,
    report_rows,
    server_xids,
    sqlite_integrity,
    sqlite_orphans,
    verify_registry,
    write_roster,
)

from importer.client import OdooClient
from importer.sandbox import ADMIN_PASSWORD, Sandbox
from importer.settings import ConnectionSettings, Retry, Secret, Timeout

RUN_TIMEOUT = 600


def assert_one_xid_per_record(client: OdooClient) -> None:
    """Mid-crash invariant: every registry record carries exactly one of our external ids."""
    xids = server_xids(client)
    assert len(set(xids.values())) == len(xids)
    for prefix, model in MODEL_OF_PREFIX.items():
        if prefix == "ind":
            continue
        domain = [["is_registrant", "=", True]] if model == "res.partner" else []
        count = client.search_count(model, domain)
        ours = sum(1 for m, _ in xids.values() if m == model)
        assert count == ours, f"{model}: {count} records, {ours} with an external id"


def _kill_plan(rng: random.Random, rounds: list[list[str]], batches: dict[str, int]) -> list[list[Kill]]:
    """Random moments inside the chosen stages: which call, and before/after/just after it."""
    plan = []
    for stages in rounds:
        kills = []
        for stage in stages:
            calls = batches.get(stage, 6)
            when = rng.choice(["before", "after", "delay"])
            kills.append(
                Kill(stage, nth=rng.randint(1, max(1, min(3, calls))), when=when, delay=rng.uniform(0, 0.05))
            )
        plan.append(kills)
    return plan


def _run_to_completion(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert "Traceback" not in done.stderr + done.stdout
    return done


def _crash_importer(
    tmp_path: Path, people: int, batch: int, rounds: list[list[str]], seed: int
) -> list[Kill]:
    rng = random.Random(seed)
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, people, seed=seed)
    per_stage = {
        "load:group": -(-frame["household_id"].nunique() // batch),
        "load:individual": -(-people // batch),
        "load:reg_id": -(-int((frame["national_id"] != "").sum()) // batch),
        "load:membership": -(-people // batch),
    }
    landed: list[Kill] = []
    first_call = 1.5  # seconds from start to the first call; measured on every run below
    for r, kills in enumerate(_kill_plan(rng, rounds, per_stage)):
        with Sandbox() as sb:
            wire = Tripwire(sb)
            env = cli_env(sb.url, password=ADMIN_PASSWORD)
            attempts = [(i, kill, 1) for i, kill in enumerate(kills)]
            while attempts:
                i, kill, attempt = attempts.pop(0)
                out = tmp_path / f"round{r}-kill{i}-{kill.stage.replace(':', '-')}-{len(landed)}"
                cmd = import_command(csv, out, "--batch-size", str(batch))
                proc = subprocess.Popen(
                    cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
                wire.arm(proc.pid, kill)
                if kill.stage == "read":
                    # Somewhere between start-up and the first call (measured on the runs
                    # before); a busy machine can make a run reach the server sooner, so a
                    # miss (it then dies at its first call) is retried a little earlier.
                    time.sleep(max(0.05, first_call * rng.uniform(0.3, 0.8) / attempt))
                    wire.fire_if_no_call()
                _, stderr = proc.communicate(timeout=RUN_TIMEOUT)
                if wire.first_call_at is not None:
                    first_call = wire.first_call_at
                if kill.landed:
                    assert proc.returncode == -9, (proc.returncode, stderr[-2000:])
                    landed.append(kill)
                else:  # the stage had nothing left to send: the run simply finished
                    assert proc.returncode == 0, stderr[-2000:]
                if kill.stage == "read" and kill.landed != "read" and attempt < 4:
                    attempts.insert(0, (i, Kill("read"), attempt + 1))
                time.sleep(kill.delay + 0.05)  # a delayed kill's timer, then the dead client's last call
                wire.wait_idle()
                with OdooClient(settings_for(sb)) as c:
                    assert_one_xid_per_record(c)
            out = tmp_path / f"round{r}-final"
            done = _run_to_completion(import_command(csv, out, "--batch-size", str(batch)), env)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            with OdooClient(settings_for(sb)) as c:
                rows = report_rows(out)
                assert set(rows["status"]) <= {"created", "updated", "unchanged"}
                assert_accounted(rows, len(frame), c, nothing_else=True)
                verify_registry(c, frame, sample=200, seed=r)
    return landed


def test_importer_killed_in_every_stage_then_rerun_holds_exactly_the_file(tmp_path: Path) -> None:
    rounds = [["validate", "load:group", "load:reg_id"], ["read", "load:individual", "load:membership"]]
    landed = _crash_importer(tmp_path, people=600, batch=50, rounds=rounds, seed=4)
    assert len(landed) >= 5
    assert {k.landed for k in landed} == set(STAGES), [k.landed for k in landed]


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not FULL, reason="full size runs with SPP_RELIABILITY_FULL=1 (make reliability)")
def test_importer_killed_24_times_at_full_size(tmp_path: Path) -> None:
    order = ["validate", "read", "load:group", "load:individual", "load:reg_id", "load:membership"]
    landed = _crash_importer(tmp_path, people=5000, batch=250, rounds=[order] * 4, seed=5)
    assert len(landed) >= 20, [k.landed for k in landed]
    assert {k.landed for k in landed} == set(STAGES)
    print(
        f"\nimporter SIGKILLs landed: {len(landed)}; by stage:",
        {s: sum(k.landed == s for k in landed) for s in STAGES},
    )


# -- the registry killed -----------------------------------------------------------------------


def _stage_of(events: list[dict]) -> str:
    calls = [e for e in events if e.get("event") == "call"]
    last = calls[-1] if calls else {}
    if last.get("method") != "load":
        return "validate"
    return {"g2p.reg.id": "load:reg_id", "g2p.group.membership": "load:membership"}.get(
        last.get("model"), "load:partners"
    )


def _crash_registry(
    tmp_path: Path, people: int, batch: int, rounds: int, kills_per_round: int, seed: int
) -> list[str]:
    rng = random.Random(seed)
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, people, seed=seed)
    # Calls the import makes (a few reads, then one load per batch of each entity): every
    # kill threshold must fall inside the run, or that kill would never land.
    batches = sum(
        -(-n // batch)
        for n in (
            frame["household_id"].nunique(),
            len(frame),
            int((frame["national_id"] != "").sum()),
            len(frame),
        )
    )
    expected_calls = 6 + batches
    stages: list[str] = []
    for r in range(rounds):
        sb = SandboxProcess(tmp_path / f"registry{r}.sqlite3", tmp_path / f"registry{r}.log").start()
        try:
            env = cli_env(sb.url, password=ADMIN_PASSWORD)
            out = tmp_path / f"round{r}-killed"
            cmd = import_command(csv, out, "--batch-size", str(batch))
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            thresholds = sorted(rng.sample(range(3, expected_calls), kills_per_round))
            for threshold in thresholds:
                while proc.poll() is None:
                    events = audit_events(out) if out.exists() else []
                    if sum(e.get("event") == "call" for e in events) >= threshold:
                        break
                    time.sleep(0.01)
                if proc.poll() is not None:
                    break
                time.sleep(rng.uniform(0, 0.03))
                stages.append(_stage_of(audit_events(out)))
                sb.kill()
                assert sqlite_integrity(sb.db_file) == "ok"
                assert sqlite_orphans(sb.db_file) == {}
                sb.start()
            stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
            assert "Traceback" not in stdout + stderr
            # Either the client rode out the restarts (its retries) or it stopped cleanly, saying why.
            assert proc.returncode in (0, 2), stderr[-2000:]
            if proc.returncode == 2:
                assert "could not be reached" in stdout or "cannot reach" in stderr, stdout[-2000:] + stderr
            else:
                with OdooClient(_settings(sb)) as c:
                    assert_accounted(report_rows(out), len(frame), c, nothing_else=True)
            final = tmp_path / f"round{r}-final"
            done = _run_to_completion(import_command(csv, final, "--batch-size", str(batch)), env)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            sb.stop()
            assert sqlite_integrity(sb.db_file) == "ok"
            sb.start()
            with OdooClient(_settings(sb)) as c:
                assert_accounted(report_rows(final), len(frame), c, nothing_else=True)
                verify_registry(c, frame, sample=200, seed=r)
        finally:
            sb.stop()
    return stages


def _settings(sb: SandboxProcess) -> ConnectionSettings:
    return ConnectionSettings(
        url=sb.url,
        db="openspp",
        login="admin",
        secret=Secret(ADMIN_PASSWORD),
        timeout=Timeout(connect=5, read=60),
        retry=Retry(attempts=8, backoff=0.05, max_backoff=0.5),
    )


def test_registry_killed_and_restarted_mid_import_comes_back_consistent(tmp_path: Path) -> None:
    stages = _crash_registry(tmp_path, people=600, batch=50, rounds=1, kills_per_round=3, seed=8)
    assert len(stages) == 3, stages
    assert any(s.startswith("load") for s in stages), stages


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not FULL, reason="full size runs with SPP_RELIABILITY_FULL=1 (make reliability)")
def test_registry_killed_20_times_at_full_size(tmp_path: Path) -> None:
    # 30 attempts for 20 landed kills: a round ends early when the client gives up (exit 2)
    stages = _crash_registry(tmp_path, people=5000, batch=250, rounds=6, kills_per_round=5, seed=9)
    assert len(stages) >= 20, stages
    print(f"\nregistry SIGKILLs: {len(stages)}; by stage:", {s: stages.count(s) for s in sorted(set(stages))})
