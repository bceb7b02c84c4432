"""The sandbox served like a multi-worker Odoo: at most N calls at once, each costing server time.

Server time is a sleep the tests replace with one that waits for their
signal: what is checked is who waits for whom, never how long anything takes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from conftest import settings_for
from sandbox_rpc import Rpc

from importer.client import OdooClient
from importer.sandbox import ADMIN_PASSWORD, ADMIN_UID, SANDBOX_DB, Sandbox
from importer.sandbox.server import add_arguments
from importer.sandbox.workers import ServerWorkers, call_rows

PARTNER_FIELDS = ["id", "name", "is_registrant", "is_group"]
MEMBERS = ["id", "group/id", "individual/id"]
SERIALIZATION = "could not serialize access due to concurrent update"


class HeldSleep:
    """A sleep that holds the calls it is given until released, and remembers every duration asked."""

    def __init__(self, hold: Callable[[int], bool] = lambda n: True) -> None:
        self.asked: list[float] = []
        self.release = threading.Event()
        self._hold = hold
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.asked.append(seconds)
            n = len(self.asked)
        if self._hold(n):
            assert self.release.wait(30), "the test never released the held calls"


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state the threads reach (a generous bound: a stuck test fails, a slow one passes)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.005)


def _load_raw(url: str, model: str, fields: list[str], rows: list[list[str]]) -> requests.Response:
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [SANDBOX_DB, ADMIN_UID, ADMIN_PASSWORD, model, "load", [fields, rows]],
        },
        "id": 1,
    }
    return requests.post(f"{url}/jsonrpc", json=payload, timeout=60)


def _people(start: int, n: int) -> list[list[str]]:
    return [[f"t.ind_{i}", f"P{i}", "1", "0"] for i in range(start, start + n)]


def _in_threads(calls: list[Callable[[], Any]]) -> tuple[list[threading.Thread], list[Any]]:
    answers: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        answers[n] = calls[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    return threads, answers


def test_at_most_n_calls_are_served_at_once_and_the_others_wait_their_turn() -> None:
    with Sandbox() as sb:
        held = HeldSleep()
        sb.dispatcher.workers = ServerWorkers(2, per_row=0.001, sleep=held)
        calls = [
            lambda i=i: _load_raw(sb.url, "res.partner", PARTNER_FIELDS, _people(10 * i, 10))
            for i in range(4)
        ]
        threads, answers = _in_threads(calls)
        workers = sb.server_workers
        _until(lambda: workers.waiting == 2 and len(held.asked) == 2, "2 in their server time, 2 waiting")
        assert workers.active == 2  # the two waiting have not started theirs
        held.release.set()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200] * 4
        assert all(a.json()["result"]["ids"] for a in answers)
        assert sb.server_workers.peak == 2
        assert Rpc(sb.url)("res.partner", "search_count", [["name", "=like", "P%"]]) == 40


def test_beyond_the_queue_a_call_is_answered_503_as_a_proxy_does() -> None:
    with Sandbox() as sb:
        held = HeldSleep()
        sb.dispatcher.workers = ServerWorkers(1, per_row=0.001, queue=1, sleep=held)
        calls = [
            lambda i=i: _load_raw(sb.url, "res.partner", PARTNER_FIELDS, _people(10 * i, 10))
            for i in range(2)
        ]
        threads, answers = _in_threads(calls)
        _until(
            lambda: sb.server_workers.active == 1 and sb.server_workers.waiting == 1, "1 served, 1 waiting"
        )
        turned_away = _load_raw(sb.url, "res.partner", PARTNER_FIELDS, _people(100, 10))
        assert turned_away.status_code == 503
        assert sb.server_workers.turned_away == 1
        held.release.set()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200, 200]
        assert ("object", "execute_kw", "res.partner", "load", "http_503") in sb.call_log


def test_a_call_costs_its_server_time_per_call_and_per_row_and_a_login_its_hash() -> None:
    asked: list[float] = []
    with Sandbox(latency_per_row=0.01, latency_per_call=0.5, latency_per_login=2.0) as sb:
        sb.dispatcher.workers._sleep = asked.append
        assert _load_raw(sb.url, "res.partner", PARTNER_FIELDS, _people(0, 7)).json()["result"]["ids"]
        Rpc(sb.url)("res.partner", "search_count", [])
        assert OdooClient(settings_for(sb)).authenticate() == ADMIN_UID
    assert asked == [pytest.approx(0.57), pytest.approx(0.5), pytest.approx(2.5)]
    assert call_rows("load", [PARTNER_FIELDS, _people(0, 3)], {}) == 3
    assert call_rows("create", [{"name": "x"}], {}) == 1
    assert call_rows("search_read", [[]], {}) == 0


def test_a_load_spends_its_server_time_inside_its_transaction_so_a_concurrent_writer_conflicts() -> None:
    """The first call, held in its server time, took its snapshot before the second one committed."""
    with Sandbox() as sb:
        rpc = Rpc(sb.url)
        groups = [["t.grp_1", "H1", "1", "1"]]
        assert rpc("res.partner", "load", PARTNER_FIELDS, groups + _people(0, 4))["messages"] == []
        held = HeldSleep(hold=lambda n: n == 1)  # only the first call waits in its server time
        sb.dispatcher.workers = ServerWorkers(4, per_row=0.001, sleep=held)
        first = [["t.mem_1_0", "t.grp_1", "t.ind_0"], ["t.mem_1_1", "t.grp_1", "t.ind_1"]]
        threads, answers = _in_threads([lambda: _load_raw(sb.url, "g2p.group.membership", MEMBERS, first)])
        _until(lambda: len(held.asked) == 1, "the first call in its server time")
        second = [["t.mem_1_2", "t.grp_1", "t.ind_2"]]
        assert _load_raw(sb.url, "g2p.group.membership", MEMBERS, second).json()["result"]["ids"]
        held.release.set()
        threads[0].join()
        result = answers[0].json()["result"]
        assert result["ids"] is False
        assert {m["message"].strip() for m in result["messages"]} == {SERIALIZATION}
        assert sb.conflicted_rows == 2


def test_the_command_line_takes_the_server_workers_options() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--workers", "4", "--latency-per-row", "0.0002", "--queue", "8"])
    assert (args.workers, args.latency_per_row, args.latency_per_call, args.queue) == (4, 0.0002, 0.0, 8)
    assert args.latency_per_login == 0.0
    assert parser.parse_args(["--latency-per-login", "0.6"]).latency_per_login == 0.6
    with Sandbox(workers=4, latency_per_row=0.0002, queue=8) as sb:
        w = sb.server_workers
        assert (w.workers, w.per_row, w.queue) == (4, 0.0002, 8)
    with pytest.raises(ValueError, match="at least 1"):
        ServerWorkers(0)
