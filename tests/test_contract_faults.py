"""Contract: the client's retry and "outcome unknown" behaviour under every fault kind.

The sandbox injects the failures networks and busy servers produce
(latency, HTTP 502/503, a connection dropped before or after the call
ran); a tiny stub server covers what the sandbox does not (HTTP 504, 404,
answers that are not JSON-RPC), and a closed port covers "cannot connect".
What is pinned, per fault: how many times the call reached the server
(``Sandbox.call_log``), what the caller gets back, and what was committed.
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from importer import client as client_module
from importer import errors
from importer.client import CallRecord, OdooClient
from importer.sandbox import ADMIN_API_KEY, FaultPlan, FaultRule, Sandbox
from importer.settings import ConnectionSettings, Retry, Secret, Timeout
from tests.conftest import settings_for

FAST = Retry(attempts=4, backoff=0.01, max_backoff=0.05)


def _calls(sandbox: Sandbox, method: str) -> list[str]:
    """Outcomes the sandbox logged for object calls to `method`, in order."""
    return [e[-1] for e in sandbox.call_log if e[0] == "object" and e[3] == method]


def _wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for the server to finish work the client gave up waiting for."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the server never finished the abandoned call"
        time.sleep(0.02)


def _client(sandbox: Sandbox, records: list[CallRecord] | None = None, **kw: Any) -> OdooClient:
    kw.setdefault("retry", FAST)
    return OdooClient(settings_for(sandbox, **kw), observer=None if records is None else records.append)


# -- HTTP 502 / 503 ------------------------------------------------------------------


def test_a_read_answered_502_is_retried_and_succeeds(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("http_502", method="search_count")
    records: list[CallRecord] = []
    with _client(sandbox, records) as client:
        assert client.search_count("g2p.group.kind") == 2
    assert _calls(sandbox, "search_count") == ["http_502", "ok"]
    assert [(r.outcome, r.attempt) for r in records if r.method == "search_count"] == [
        ("http_502", 1),
        ("ok", 2),
    ]


def test_a_create_answered_502_is_outcome_unknown_and_not_resent(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("http_502", method="create")
    with _client(sandbox) as client:
        with pytest.raises(errors.OutcomeUnknown) as caught:
            client.create("res.partner", {"name": "F-1"})
        assert caught.value.attempts == 1
        assert "502" in str(caught.value) and "may or may not" in str(caught.value)
        assert _calls(sandbox, "create") == ["http_502"]
        assert client.search_count("res.partner", [["name", "=", "F-1"]]) == 0


def test_a_create_answered_503_is_retried_and_creates_exactly_once(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("http_503", method="create")
    with _client(sandbox) as client:
        pid = client.create("res.partner", {"name": "F-1"})
        assert client.search("res.partner", [["name", "=", "F-1"]]) == [pid]
    assert _calls(sandbox, "create") == ["http_503", "ok"]


def test_an_idempotent_load_answered_502_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("http_502", method="load")
    with _client(sandbox) as client:
        got = client.load("res.partner", ["id", "name"], [["spp.f1", "F-1"]], idempotent=True)
        assert got["messages"] == [] and len(got["ids"]) == 1
    assert _calls(sandbox, "load") == ["http_502", "ok"]


def test_a_non_idempotent_load_answered_502_is_outcome_unknown(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("http_502", method="load")
    with _client(sandbox) as client, pytest.raises(errors.OutcomeUnknown):
        client.load("res.partner", ["id", "name"], [["spp.f1", "F-1"]])
    assert _calls(sandbox, "load") == ["http_502"]


def test_retries_stop_after_the_configured_attempts(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.at_rate(1.0, ["http_503"])
    client = _client(sandbox, retry=Retry(attempts=3, backoff=0.01, max_backoff=0.05))
    with client, pytest.raises(errors.HTTPStatusError) as caught:
        client.search_count("res.partner")
    assert caught.value.status == 503 and caught.value.attempts == 3
    assert _calls(sandbox, "search_count") == ["http_503"] * 3


def test_authentication_goes_through_while_model_calls_fail(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.at_rate(1.0, ["http_503"])
    with _client(sandbox, retry=Retry(attempts=2, backoff=0.01, max_backoff=0.05)) as client:
        assert client.authenticate() == 2
        with pytest.raises(errors.HTTPStatusError):
            client.search_count("res.partner")
        sandbox.faults = None
        assert client.search_count("g2p.group.kind") == 2


# -- dropped connections --------------------------------------------------------------


def test_a_read_whose_connection_drops_before_it_runs_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("drop_before", method="search_read")
    with _client(sandbox) as client:
        assert client.search_read("g2p.group.kind", [], ["name"], order="name") == [
            {"id": 2, "name": "Family"},
            {"id": 1, "name": "Household"},
        ]
    assert _calls(sandbox, "search_read") == ["drop_before", "ok"]


def test_a_create_whose_connection_drops_before_it_runs_is_outcome_unknown(sandbox: Sandbox) -> None:
    """The client cannot tell "before" from "after": it must not guess."""
    sandbox.faults = FaultPlan.on_call("drop_before", method="create")
    records: list[CallRecord] = []
    with _client(sandbox, records) as client:
        with pytest.raises(errors.OutcomeUnknown):
            client.create("res.partner", {"name": "F-1"})
        assert client.search_count("res.partner", [["name", "=", "F-1"]]) == 0
    assert _calls(sandbox, "create") == ["drop_before"]
    assert [r.outcome for r in records if r.method == "create"] == ["outcome_unknown"]


def test_a_create_whose_answer_is_lost_is_outcome_unknown_but_committed(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("drop_after", method="create")
    with _client(sandbox) as client:
        with pytest.raises(errors.OutcomeUnknown) as caught:
            client.create("res.partner", {"name": "F-1"})
        assert caught.value.attempts == 1
        assert client.search_count("res.partner", [["name", "=", "F-1"]]) == 1  # it did happen
    assert _calls(sandbox, "create") == ["ok", "drop_after"]  # sent once, never re-sent


def test_a_write_whose_answer_is_lost_is_outcome_unknown(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        pid = client.create("res.partner", {"name": "F-1"})
        sandbox.faults = FaultPlan.on_call("drop_after", method="write")
        with pytest.raises(errors.OutcomeUnknown):
            client.write("res.partner", [pid], {"name": "F-2"})
        assert client.read("res.partner", [pid], ["name"])[0]["name"] == "F-2"
    assert _calls(sandbox, "write") == ["ok", "drop_after"]


def test_a_read_whose_answer_is_lost_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("drop_after", method="read")
    with _client(sandbox) as client:
        assert client.read("g2p.group.kind", [1], ["name"]) == [{"id": 1, "name": "Household"}]
    assert _calls(sandbox, "read") == ["ok", "drop_after", "ok"]


@pytest.mark.parametrize(
    ("kind", "seen"), [("drop_before", ["drop_before", "ok"]), ("drop_after", ["ok", "drop_after", "ok"])]
)
def test_an_idempotent_load_whose_connection_drops_is_resent_without_duplicates(
    sandbox: Sandbox, kind: str, seen: list[str]
) -> None:
    sandbox.faults = FaultPlan.on_call(kind, method="load")
    rows = [[f"spp.f{i}", f"F-{i}"] for i in range(5)]
    with _client(sandbox) as client:
        got = client.load("res.partner", ["id", "name"], rows, idempotent=True)
        assert got["messages"] == [] and len(got["ids"]) == 5
        assert client.search_count("res.partner", [["name", "like", "F-"]]) == 5
        assert client.search_count("ir.model.data", [["module", "=", "spp"]]) == 5
    assert _calls(sandbox, "load") == seen


def test_a_lost_load_answer_is_resolved_by_resending_through_external_ids(sandbox: Sandbox) -> None:
    """What the pipeline does with OutcomeUnknown: send the same rows again; it becomes an update."""
    sandbox.faults = FaultPlan.on_call("drop_after", method="load")
    rows = [[f"spp.f{i}", f"F-{i}"] for i in range(3)]
    with _client(sandbox) as client:
        with pytest.raises(errors.OutcomeUnknown):
            client.load("res.partner", ["id", "name"], rows)
        again = client.load("res.partner", ["id", "name"], rows)
        assert again["messages"] == [] and len(again["ids"]) == 3
        assert client.search_count("res.partner", [["name", "like", "F-"]]) == 3


# -- latency and the read timeout ----------------------------------------------------


def test_latency_within_the_read_timeout_just_slows_the_call(sandbox: Sandbox) -> None:
    plan = FaultPlan(rules=[FaultRule("latency", method="create", nth=None)], latency_seconds=0.05)
    sandbox.faults = plan
    with _client(sandbox) as client:
        assert client.create("res.partner", [{"name": "F-1"}, {"name": "F-2"}])
    assert plan.rules[0].hits == 1 and _calls(sandbox, "create") == ["ok"]


def test_a_read_slower_than_the_read_timeout_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("latency", method="search_count", latency_seconds=1.0)
    records: list[CallRecord] = []
    with _client(sandbox, records, timeout=Timeout(connect=2, read=0.5)) as client:
        assert client.search_count("g2p.group.kind") == 2
    assert [r.outcome for r in records if r.method == "search_count"] == ["outcome_unknown", "ok"]
    _wait_for(lambda: len(_calls(sandbox, "search_count")) == 2)  # the slow one ran too: harmless


def test_a_create_slower_than_the_read_timeout_is_outcome_unknown_and_commits_later(
    sandbox: Sandbox,
) -> None:
    sandbox.faults = FaultPlan.on_call("latency", method="create", latency_seconds=1.0)
    with _client(sandbox, timeout=Timeout(connect=2, read=0.5)) as client:
        with pytest.raises(errors.OutcomeUnknown) as caught:
            client.create("res.partner", {"name": "F-slow"})
        assert "read timeout" in str(caught.value)
        _wait_for(lambda: _calls(sandbox, "create") != [])
        assert client.search_count("res.partner", [["name", "=", "F-slow"]]) == 1
    assert _calls(sandbox, "create") == ["ok"]  # sent once


# -- many faults at once -----------------------------------------------------------------


def test_idempotent_loads_through_every_fault_kind_land_every_row_exactly_once(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.at_rate(
        0.1, ["http_502", "http_503", "drop_before", "drop_after", "latency"], seed=7, latency_seconds=0.01
    )
    retry = Retry(attempts=8, backoff=0.001, max_backoff=0.005)
    with _client(sandbox, retry=retry) as client:
        for batch in range(20):
            rows = [[f"spp.b{batch}_{i}", f"F-{batch}-{i}"] for i in range(5)]
            got = client.load("res.partner", ["id", "name"], rows, idempotent=True)
            assert got["messages"] == [] and len(got["ids"]) == 5
        sandbox.faults = None
        assert client.search_count("res.partner", [["name", "like", "F-"]]) == 100
        assert client.search_count("ir.model.data", [["module", "=", "spp"]]) == 100
    outcomes = _calls(sandbox, "load")
    assert {"http_502", "http_503", "drop_before", "drop_after"} <= set(outcomes)  # faults really happened


# -- backoff -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_and_never_sleeps_after_the_last_attempt(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: high)
    sandbox.faults = FaultPlan.at_rate(1.0, ["http_503"])
    sleeps: list[float] = []
    settings = settings_for(sandbox, retry=Retry(attempts=6, backoff=0.01, max_backoff=0.05))
    with OdooClient(settings, sleep=sleeps.append) as client, pytest.raises(errors.HTTPStatusError):
        client.search_count("res.partner")
    assert sleeps == pytest.approx([0.01, 0.02, 0.04, 0.05, 0.05])


def test_backoff_is_jittered_between_zero_and_the_cap(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.at_rate(1.0, ["http_503"])
    sleeps: list[float] = []
    settings = settings_for(sandbox, retry=Retry(attempts=12, backoff=0.01, max_backoff=0.02))
    with OdooClient(settings, sleep=sleeps.append) as client, pytest.raises(errors.HTTPStatusError):
        client.search_count("res.partner")
    caps = [0.01] + [0.02] * 10
    assert len(sleeps) == 11 and all(0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) > 1  # not a fixed delay


# -- cannot connect ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _closed_port_settings(port: int, attempts: int = 3) -> ConnectionSettings:
    return ConnectionSettings(
        url=f"http://127.0.0.1:{port}",
        db="openspp",
        login="admin",
        secret=Secret("admin"),
        timeout=Timeout(connect=2, read=5),
        retry=Retry(attempts=attempts, backoff=0.01, max_backoff=0.05),
    )


def test_a_refused_connection_is_retried_then_a_connect_error_even_for_create() -> None:
    records: list[CallRecord] = []
    sleeps: list[float] = []
    client = OdooClient(_closed_port_settings(_free_port()), observer=records.append, sleep=sleeps.append)
    client._uid = 2  # skip the login: this pins what happens to the create itself
    with client, pytest.raises(errors.ConnectError) as caught:
        client.create("res.partner", {"name": "never sent"})
    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert caught.value.attempts == 3 and "connection refused" in str(caught.value)
    assert [(r.outcome, r.attempt) for r in records] == [("transport_error", n) for n in (1, 2, 3)]
    assert len(sleeps) == 2


def test_a_server_that_comes_up_during_the_retries_gets_the_call_once() -> None:
    port = _free_port()
    started: list[Sandbox] = []

    def start_server(_delay: float) -> None:
        if not started:
            started.append(Sandbox(port=port).start())

    try:
        with OdooClient(_closed_port_settings(port, attempts=4), sleep=start_server) as client:
            pid = client.create("res.partner", {"name": "late"})
            assert client.read("res.partner", [pid], ["name"]) == [{"id": pid, "name": "late"}]
        assert _calls(started[0], "create") == ["ok"]
    finally:
        for sb in started:
            sb.close()


# -- answers the sandbox never gives (stub server) ----------------------------------------


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: Any = self.server
        server.hits += 1
        status, content_type, body = server.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def stub() -> Iterator[Any]:
    """An HTTP server answering every POST with `stub.answer`; `stub.hits` counts them."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    server.hits = 0
    server.answer = (200, "application/json", b"{}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _stub_client(stub: Any, records: list[CallRecord] | None = None) -> OdooClient:
    settings = ConnectionSettings(
        url=stub.url, db="openspp", login="admin", secret=Secret("admin"), retry=FAST, timeout=Timeout(2, 5)
    )
    client = OdooClient(settings, observer=None if records is None else records.append)
    client._uid = 2  # the stub cannot log in; these tests pin the object call
    return client


def test_a_read_answered_504_is_retried_then_an_http_status_error(stub: Any) -> None:
    stub.answer = (504, "text/html", b"<h1>504 Gateway Time-out</h1>")
    with _stub_client(stub) as client, pytest.raises(errors.HTTPStatusError) as caught:
        client.search_count("res.partner")
    assert (caught.value.status, caught.value.attempts, stub.hits) == (504, 4, 4)


def test_a_create_answered_504_is_outcome_unknown_after_one_attempt(stub: Any) -> None:
    stub.answer = (504, "text/html", b"<h1>504 Gateway Time-out</h1>")
    with _stub_client(stub) as client, pytest.raises(errors.OutcomeUnknown):
        client.create("res.partner", {"name": "x"})
    assert stub.hits == 1


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_other_http_statuses_are_not_retried(stub: Any, status: int) -> None:
    stub.answer = (status, "text/html", b"<h1>nope</h1>")
    with _stub_client(stub) as client, pytest.raises(errors.HTTPStatusError) as caught:
        client.search_count("res.partner")
    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert (caught.value.status, stub.hits) == (status, 1)


def test_a_wrong_url_path_on_the_sandbox_is_a_404_not_a_retry(sandbox: Sandbox) -> None:
    settings = settings_for(sandbox).with_overrides(url=f"{sandbox.url}/odoo")
    with OdooClient(settings) as client, pytest.raises(errors.HTTPStatusError) as caught:
        client.version()
    assert caught.value.status == 404 and caught.value.attempts == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>Welcome to nginx!</body></html>"),
        ("application/json", b'{"status": "pass"}'),
        ("application/json", b"[1, 2, 3]"),
    ],
)
def test_an_answer_that_is_not_json_rpc_is_an_invalid_response(
    stub: Any, content_type: str, body: bytes
) -> None:
    stub.answer = (200, content_type, body)
    records: list[CallRecord] = []
    with _stub_client(stub, records) as client, pytest.raises(errors.InvalidResponse) as caught:
        client.search_count("res.partner")
    assert stub.hits == 1 and stub.url in str(caught.value)
    assert caught.value.url == stub.url
    assert [r.outcome for r in records] == ["invalid"]


# -- no secret reachable from a transport error ---------------------------------------------


def _reachable_text(exc: BaseException) -> str:
    """Everything a logger or error tracker could print from `exc` and the exceptions chained to it."""
    parts: list[str] = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args), repr(getattr(seen, "__dict__", {}))]
        request = getattr(seen, "request", None)
        if request is not None:
            parts.append(str(getattr(request, "body", b"")))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def test_no_transport_error_holds_the_api_key_even_in_its_chained_exceptions(sandbox: Sandbox) -> None:
    caught: list[BaseException] = []
    with _client(
        sandbox, secret=ADMIN_API_KEY, retry=Retry(attempts=2, backoff=0.001, max_backoff=0.002)
    ) as c:
        for plan, call in (
            (
                FaultPlan.on_call("drop_after", method="create"),
                lambda: c.create("res.partner", {"name": "x"}),
            ),
            (
                FaultPlan.on_call("drop_before", method="write"),
                lambda: c.write("res.partner", [1], {"name": "y"}),
            ),
            (FaultPlan.on_call("drop_after", method="read", nth=None), lambda: c.read("res.partner", [1])),
            (FaultPlan.on_call("http_503", method="search", nth=None), lambda: c.search("res.partner")),
            (FaultPlan.on_call("http_502", method="unlink"), lambda: c.unlink("res.partner", [1])),
        ):
            sandbox.faults = plan
            with pytest.raises(errors.TransportError) as err:
                call()
            caught.append(err.value)
    closed = _closed_port_settings(_free_port(), attempts=1).with_overrides(secret=Secret(ADMIN_API_KEY))
    with OdooClient(closed) as c, pytest.raises(errors.ConnectError) as err:
        c.authenticate()
    caught.append(err.value)
    assert [type(e).__name__ for e in caught] == [
        "OutcomeUnknown",
        "OutcomeUnknown",
        "OutcomeUnknown",
        "HTTPStatusError",
        "OutcomeUnknown",
        "ConnectError",
    ]
    for exc in caught:
        assert ADMIN_API_KEY not in _reachable_text(exc), type(exc).__name__


# -- login and workers under faults ------------------------------------------------------


def test_a_login_whose_answer_is_lost_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan(
        rules=[FaultRule("drop_after", nth=(1,))], services=frozenset({"common", "object"})
    )
    with _client(sandbox) as client:
        assert client.authenticate() == 2
    assert [e[-1] for e in sandbox.call_log if e[1] == "authenticate"] == ["ok", "drop_after", "ok"]


def test_a_read_that_never_gets_an_answer_ends_outcome_unknown_after_every_attempt(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.on_call("drop_after", method="search_count", nth=None)
    with _client(sandbox) as client, pytest.raises(errors.OutcomeUnknown) as caught:
        client.search_count("res.partner")
    assert caught.value.attempts == FAST.attempts
    assert _calls(sandbox, "search_count").count("drop_after") == FAST.attempts


def test_forked_workers_under_faults_land_every_row_exactly_once(sandbox: Sandbox) -> None:
    sandbox.faults = FaultPlan.at_rate(0.1, ["http_502", "http_503", "drop_before", "drop_after"], seed=11)
    records: list[CallRecord] = []
    retry = Retry(attempts=8, backoff=0.001, max_backoff=0.005)
    failures: list[BaseException] = []
    with _client(sandbox, records, retry=retry) as main:
        main.authenticate()

        def worker(n: int) -> None:
            with main.fork() as mine:
                try:
                    for batch in range(5):
                        rows = [[f"spp.w{n}_{batch}_{i}", f"W-{n}-{batch}-{i}"] for i in range(4)]
                        mine.load("res.partner", ["id", "name"], rows, idempotent=True)
                except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
                    failures.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sandbox.faults = None
        assert failures == []
        assert main.search_count("res.partner", [["name", "like", "W-"]]) == 4 * 5 * 4
        assert main.search_count("ir.model.data", [["module", "=", "spp"]]) == 4 * 5 * 4
    assert any(r.attempt > 1 for r in records)  # the workers' observer is the parent's, and faults hit
    assert [e[1] for e in sandbox.call_log].count("authenticate") == 1  # forks reuse the uid
