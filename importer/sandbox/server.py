"""The sandbox's HTTP server, the `Sandbox` handle tests use, and the CLI glue.

HTTP/1.1 with keep-alive (a client pays the TCP handshake once per connection),
one thread per connection (or a bounded pool with --threads). Request bodies are
decoded and answers encoded outside the database lock; only the call itself holds it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any

from . import presets
from .auth import (
    ADMIN_API_KEY,
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    READONLY_LOGIN,
    READONLY_PASSWORD,
    SANDBOX_DB,
    Users,
)
from .concurrency import Rendezvous
from .faults import KINDS, TERMINAL, FaultPlan
from .rpc import VERSION_INFO, Dispatcher
from .seed import seed
from .store import Store
from .workers import ServerWorkers

JSON_PATHS = ("/jsonrpc", "/web/webclient/version_info")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Werkzeug/3.0.1"
    sys_version = "Python/3"
    timeout = 120  # idle keep-alive connections are closed after this

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: request lines could carry nothing secret, but tests want clean output

    def setup(self) -> None:
        super().setup()
        # Without this, headers and body in two writes meet the client's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without an answer, as a crashed proxy or server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/web/webclient/version_info":
            self._send(200, json.dumps({"jsonrpc": "2.0", "id": None, "result": VERSION_INFO}).encode())
        elif self.path.split("?")[0] in ("/", "/web/login", "/web/health"):
            self._send(200, b'{"status": "pass"}')
        else:
            self._send(404, b"<h1>Not Found</h1>", "text/html")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if path not in JSON_PATHS:
            self._send(404, b"<h1>Not Found</h1>", "text/html")
            return
        sandbox = self.server.sandbox
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            answer = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": 400,
                    "message": "Invalid JSON data",
                    "data": {
                        "name": "werkzeug.exceptions.BadRequest",
                        "debug": "",
                        "message": "Invalid JSON data",
                        "arguments": [],
                        "context": {},
                    },
                },
            }
            self._send(200, json.dumps(answer).encode())
            return
        if path == "/web/webclient/version_info":
            rid = payload.get("id") if isinstance(payload, dict) else None
            self._send(200, json.dumps({"jsonrpc": "2.0", "id": rid, "result": VERSION_INFO}).encode())
            return
        service, method, model, rpc_method = Dispatcher.describe(payload)
        plan = sandbox.faults
        faults = plan.decide(service, model, rpc_method) if plan else []
        if "latency" in faults and plan is not None:
            time.sleep(plan.latency_seconds)
        terminal = next((f for f in faults if f in TERMINAL), None)
        if terminal in ("http_502", "http_503"):
            sandbox.dispatcher.record(service, method, model, rpc_method, terminal)
            status = 502 if terminal == "http_502" else 503
            text = "Bad Gateway" if status == 502 else "Service Unavailable"
            self._send(status, f"<html><body><h1>{status} {text}</h1></body></html>".encode(), "text/html")
            return
        if terminal == "drop_before":
            sandbox.dispatcher.record(service, method, model, rpc_method, terminal)
            self._drop()
            return
        workers = sandbox.dispatcher.workers
        if not workers.enter():  # every worker busy and the queue full: the proxy turns the call away
            sandbox.dispatcher.record(service, method, model, rpc_method, "http_503")
            self._send(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html")
            return
        try:
            with sandbox.dispatcher.households.forced("conflict" in faults):
                answer = sandbox.dispatcher.handle(payload)
        finally:
            workers.leave()
        if terminal == "drop_after":
            sandbox.dispatcher.record(service, method, model, rpc_method, terminal)
            self._drop()
            return
        self._send(200, json.dumps(answer).encode())


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, threads: int | None) -> None:
        self.sandbox = sandbox
        self._pool = ThreadPoolExecutor(max_workers=threads) if threads else None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self._pool is None:
            super().process_request(request, client_address)
        else:
            self._pool.submit(self.process_request_thread, request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is normal (a killed import): no traceback for it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._open_lock:
            (self._open.add if add else self._open.discard)(conn)

    def close_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class Sandbox:
    """A running (or startable) sandbox registry.

    >>> with Sandbox() as sb:          # in-memory, seeded, random free port
    ...     sb.url, sb.db               # ("http://127.0.0.1:PORT", "openspp")
    """

    def __init__(
        self,
        db_path: str = ":memory:",
        bare: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        *,
        id_types: bool = True,
        genders: bool = True,
        threads: int | None = None,
        used_ids: dict[str, int] | None = None,
        import_match: bool = False,
        workers: int | None = None,
        latency_per_row: float = 0.0,
        latency_per_call: float = 0.0,
        latency_per_login: float = 0.0,
        queue: int | None = None,
        preset: str | None = None,
    ) -> None:
        """``workers``, ``latency_per_*``, ``queue``: serve like a multi-worker server (workers.py)."""
        self.db = SANDBOX_DB
        self.host = host
        self.port = port
        self.threads = threads
        self._faults = faults
        self._faults_lock = threading.Lock()
        self.store = Store(db_path)
        self.store.import_match = import_match  # OpenSPP's spp_import_match: see orm.Env
        self.users = Users(self.store)
        seed(self.store, self.users, bare=bare, id_types=id_types, genders=genders, used_ids=used_ids)
        self.dispatcher = Dispatcher(self.store, self.users)
        self.dispatcher.workers = ServerWorkers(
            workers,
            per_row=latency_per_row,
            per_call=latency_per_call,
            per_login=latency_per_login,
            queue=queue,
        )
        if preset is not None:  # a deployment's set-up (custom fields, areas, tags...): presets.py
            presets.apply(self.dispatcher, preset)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self, self.threads)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"spp-sandbox:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        """Stop serving and close the database."""
        self.stop()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- test controls -------------------------------------------------------

    @property
    def faults(self) -> FaultPlan | None:
        with self._faults_lock:
            return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        with self._faults_lock:
            self._faults = plan

    def overlap_loads(self, size: int | None = 2, timeout: float = 2.0) -> None:
        """Hold each ``load`` call until ``size`` have arrived (None: stop holding them).

        Their snapshots then all predate their commits, as under a real
        server's load, so whether two batches conflict on a household depends
        on what they write, not on timing (see concurrency.py).
        """
        households = self.dispatcher.households
        households.rendezvous = Rendezvous(size, timeout) if size else None

    @property
    def server_workers(self) -> ServerWorkers:
        """The simulated server workers: their bound, the most calls served at once, the calls turned away."""
        return self.dispatcher.workers

    @property
    def conflicted_rows(self) -> int:
        """Rows ``load`` has refused so far because another call wrote their household first."""
        return self.dispatcher.households.refused_rows

    def set_password(self, login: str, new_password: str) -> None:
        """New password; the old one and the user's API key are refused from now on."""
        self.users.set_password(login, new_password)

    def set_api_key(self, login: str, api_key: str | None) -> None:
        self.users.set_api_key(login, api_key)

    def set_readonly(self, login: str, readonly: bool = True) -> None:
        self.users.set_readonly(login, readonly)

    @property
    def call_log(self) -> list[tuple[str, str, str | None, str | None, str]]:
        """(service, method, model, model method, outcome) of recent calls, oldest first."""
        return self.dispatcher.call_log

    def clear_call_log(self) -> None:
        with self.dispatcher._log_lock:
            self.dispatcher._log.clear()


# -- CLI ---------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `spp-import sandbox` (and `python -m importer.sandbox`)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8069, help="port (default 8069; 0 picks a free one)")
    parser.add_argument(
        "--db",
        default=":memory:",
        metavar="FILE",
        help="SQLite file to keep data in (default: in memory, lost on exit)",
    )
    parser.add_argument(
        "--bare", action="store_true", help="seed like a fresh OpenSPP install: no gender types, no ID types"
    )
    parser.add_argument(
        "--preset",
        choices=sorted(presets.PRESETS),
        help="also configure it as a programme's administrator would: 'enrollment' adds the custom "
        "fields, areas, tags, banks and relationship types of mappings/enrollment.yaml",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="rate (0..1) of each fault kind")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(TERMINAL),
        help=f"comma-separated fault kinds among {', '.join(KINDS)}",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault RNG")
    parser.add_argument("--fault-latency", type=float, default=0.2, help="seconds added by 'latency'")
    parser.add_argument("--threads", type=int, default=None, help="bound on concurrent connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serve like an Odoo with N workers: at most N calls at once, others wait (default: no limit)",
    )
    parser.add_argument(
        "--latency-per-row",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="server time of each row a call writes, spent in parallel by the workers (default 0)",
    )
    parser.add_argument(
        "--latency-per-call", type=float, default=0.0, metavar="SECONDS", help="server time of every call (0)"
    )
    parser.add_argument(
        "--latency-per-login",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="server time of a login beyond a call's: Odoo hashes the password at each login (0)",
    )
    parser.add_argument(
        "--queue",
        type=int,
        default=None,
        help="with --workers: calls that may wait for a worker; one more is answered 503, as a proxy does",
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM. Prints the URL line first (tests read the port from it)."""
    plan = None
    if args.fault_rate:
        kinds = [k.strip() for k in str(args.fault_kinds).split(",") if k.strip()]
        plan = FaultPlan.at_rate(
            args.fault_rate, kinds, seed=args.fault_seed, latency_seconds=args.fault_latency
        )
    sandbox = Sandbox(
        db_path=args.db,
        bare=args.bare,
        host=args.host,
        port=args.port,
        faults=plan,
        threads=args.threads,
        workers=args.workers,
        latency_per_row=args.latency_per_row,
        latency_per_call=args.latency_per_call,
        latency_per_login=args.latency_per_login,
        queue=args.queue,
        preset=args.preset,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox.start()
    try:
        print(f"spp-import sandbox: serving {sandbox.url} (database {SANDBOX_DB!r})", flush=True)
        print(
            f"  log in as {ADMIN_LOGIN!r} (password {ADMIN_PASSWORD!r}, API key {ADMIN_API_KEY!r}) "
            f"or read-only {READONLY_LOGIN!r} (password {READONLY_PASSWORD!r}); "
            "these are the sandbox's fixed demo credentials",
            flush=True,
        )
        if args.db == ":memory:":
            print("  data is kept in memory and lost on exit (use --db FILE to keep it)", flush=True)
        if args.workers or args.latency_per_row or args.latency_per_call or args.latency_per_login:
            print(
                f"  serving like {args.workers or 'unbounded'} server worker(s), "
                f"{args.latency_per_call}s a call + {args.latency_per_row}s a row, "
                f"{args.latency_per_login}s more a login",
                flush=True,
            )
        if args.preset:
            print(
                f"  configured with the {args.preset!r} preset (see importer/sandbox/presets.py)", flush=True
            )
        if plan is not None:
            print(f"  fault injection on: {args.fault_kinds} at rate {args.fault_rate}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        sandbox.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m importer.sandbox", description=__doc__)
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
