"""Fault injection, concurrency, durability of a file database, and the CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from importer.sandbox import ADMIN_PASSWORD, SANDBOX_DB, FaultPlan, FaultRule, Sandbox

ROOT = Path(__file__).parents[1]


def _post(
    url: str, model: str, method: str, *args: Any, session: requests.Session | None = None
) -> requests.Response:
    params = {
        "service": "object",
        "method": "execute_kw",
        "args": [SANDBOX_DB, 2, ADMIN_PASSWORD, model, method, list(args), {}],
    }
    return (session or requests).post(
        f"{url}/jsonrpc", json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}, timeout=10
    )


def _count(url: str) -> int:
    return _post(url, "res.partner", "search_count", [["name", "like", "F-"]]).json()["result"]


@pytest.mark.parametrize("status", [502, 503])
def test_http_error_fault_answers_the_status_and_does_not_run_the_call(status: int) -> None:
    with Sandbox(faults=FaultPlan.on_call(f"http_{status}", model="res.partner", method="create")) as sb:
        answer = _post(sb.url, "res.partner", "create", {"name": "F-1"})
        assert answer.status_code == status
        assert _count(sb.url) == 0
        assert _post(sb.url, "res.partner", "create", {"name": "F-2"}).status_code == 200  # only the 1st
        assert _count(sb.url) == 1
        assert sb.call_log[0][-1] == f"http_{status}"


def test_drop_before_closes_without_running_the_call() -> None:
    with Sandbox(faults=FaultPlan.on_call("drop_before", method="create")) as sb:
        with pytest.raises(requests.ConnectionError):
            _post(sb.url, "res.partner", "create", {"name": "F-1"})
        assert _count(sb.url) == 0


def test_drop_after_commits_then_loses_the_answer() -> None:
    with Sandbox(faults=FaultPlan.on_call("drop_after", method="create")) as sb:
        with pytest.raises(requests.ConnectionError):
            _post(sb.url, "res.partner", "create", {"name": "F-1"})
        assert _count(sb.url) == 1


def test_latency_delays_but_still_runs_the_call() -> None:
    plan = FaultPlan(rules=[FaultRule("latency", method="create", nth=None)], latency_seconds=0.05)
    with Sandbox(faults=plan) as sb:
        assert _post(sb.url, "res.partner", "create", {"name": "F-1"}).json()["result"]
        assert _count(sb.url) == 1
        assert plan.rules[0].hits == 1


def test_authentication_is_never_faulted_and_plans_can_change_at_runtime() -> None:
    with Sandbox() as sb:
        sb.faults = FaultPlan.at_rate(1.0, ["http_503"])
        auth = requests.post(
            f"{sb.url}/jsonrpc",
            json={
                "params": {
                    "service": "common",
                    "method": "authenticate",
                    "args": [SANDBOX_DB, "admin", ADMIN_PASSWORD, {}],
                }
            },
            timeout=5,
        )
        assert auth.json()["result"] == 2
        assert _post(sb.url, "res.partner", "search_count", []).status_code == 503
        sb.faults = None
        assert _post(sb.url, "res.partner", "search_count", []).status_code == 200


def test_fault_rates_are_reproducible_with_a_seed() -> None:
    def pattern() -> list[list[str]]:
        plan = FaultPlan.at_rate(0.3, seed=7)
        return [plan.decide("object", "res.partner", "load") for _ in range(50)]

    first = pattern()
    assert first == pattern() and any(first) and not all(first)
    with pytest.raises(ValueError):
        FaultPlan(rates={"explode": 0.1})


def test_concurrent_writers_lose_nothing() -> None:
    with Sandbox() as sb:

        def writer(n: int) -> None:
            with requests.Session() as http:
                for i in range(20):
                    assert (
                        _post(
                            sb.url,
                            "res.partner",
                            "create",
                            [{"name": f"F-{n}-{i}-{k}"} for k in range(5)],
                            session=http,
                        ).status_code
                        == 200
                    )

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _count(sb.url) == 6 * 20 * 5


def test_file_database_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    with Sandbox(db_path=db) as sb:
        loaded = _post(sb.url, "res.partner", "load", ["id", "name"], [["spp.f1", "F-1"]]).json()["result"]
        sb.set_password("admin", "changed")
    with Sandbox(db_path=db) as sb:
        params = {
            "service": "object",
            "method": "execute_kw",
            "args": [
                SANDBOX_DB,
                2,
                "changed",
                "ir.model.data",
                "search_read",
                [[["module", "=", "spp"]]],
                {"fields": ["res_id"]},
            ],
        }
        got = requests.post(f"{sb.url}/jsonrpc", json={"params": params}, timeout=5).json()["result"]
        assert [g["res_id"] for g in got] == loaded["ids"]
        params["args"] = [SANDBOX_DB, 2, "changed", "g2p.group.kind", "search_count", [[]], {}]
        assert (
            requests.post(f"{sb.url}/jsonrpc", json={"params": params}, timeout=5).json()["result"] == 2
        )  # not seeded twice


def _serve(*args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.match(
        r"spp-import sandbox: serving (http://127\.0\.0\.1:\d+) \(database 'openspp'\)$", first.strip()
    )
    assert match, first
    return proc, match.group(1)


def test_cli_serves_and_a_killed_file_database_restarts_consistent(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.sqlite3")
    proc, url = _serve("--db", db)
    try:
        rows = [[f"spp.k{i}", f"F-{i}"] for i in range(200)]
        assert len(_post(url, "res.partner", "load", ["id", "name"], rows).json()["result"]["ids"]) == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    proc, url = _serve("--db", db)
    try:
        assert _count(url) == 200
        assert _post(url, "ir.model.data", "search_count", [["module", "=", "spp"]]).json()["result"] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
