"""``spp-import serve``: the clerks' page on a production WSGI server (waitress).

Waitress reads a whole request before a worker thread sees it, so a
half-sent request holds a connection (at most ``--connections`` of them,
dropped after ``--idle-timeout`` seconds of silence), never a thread; the
threads are a fixed pool (``--threads``).  SIGTERM and SIGINT drain: the
imports stop as the Stop button does (the batches in flight finish, the
reports are written and the outcome recorded), then every clerk's file is
deleted.  The README's operator section describes the settings.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from importer.outcome import ImportFailure
from importer.web.state import default_state_dir

log = logging.getLogger("importer.web")

#: The headers a TLS-terminating proxy sets, trusted only from the proxy's own address.
PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The operator's flags of ``spp-import serve`` (the connection flags are added by the CLI)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    parser.add_argument("--mappings", default="mappings", help="folder of mapping files")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help=f"folder for the secret key, import records and clerks' files (default: {default_state_dir()})",
    )
    parser.add_argument(
        "--behind-proxy",
        action="store_true",
        help="a TLS-terminating proxy is in front: trust its X-Forwarded-* headers, mark cookies Secure",
    )
    parser.add_argument(
        "--proxy-address", default="127.0.0.1", help="the proxy's address, whose headers are trusted"
    )
    parser.add_argument("--threads", type=int, default=8, help="worker threads, a fixed pool (8)")
    parser.add_argument("--connections", type=int, default=100, help="open connections at most (100)")
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=60,
        help="seconds a connection may stay silent, mid-request or between requests (60)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="on SIGTERM, seconds to wait for imports to finish their batches in flight (60)",
    )
    parser.add_argument(
        "--keep-days", type=float, default=14.0, help="days an import's record is kept for its clerk (14)"
    )


def server_config(args: argparse.Namespace) -> dict[str, Any]:
    """The application's configuration: where the registry is, plus the operator's settings."""
    from importer.web.app import config_from_args  # here, not at the top: see importer/defaults.py

    try:
        config = config_from_args(args)
    except (ValueError, OSError) as exc:
        raise ImportFailure(f"connection settings: {exc}") from None
    if not Path(config["MAPPINGS_DIR"]).is_dir():
        raise ImportFailure(f"no mappings folder at {config['MAPPINGS_DIR']}")
    config.update(
        STATE_DIR=str(args.state_dir or default_state_dir()),
        BEHIND_PROXY=bool(args.behind_proxy),
        DRAIN_TIMEOUT=float(args.drain_timeout),
        RECORD_RETENTION=float(args.keep_days) * 24 * 3600,
    )
    return config


def serve(args: argparse.Namespace) -> int:
    """Run the page until SIGTERM or SIGINT, then drain (``spp-import serve``); returns the exit code."""
    from waitress import create_server

    from importer.web.app import create_app

    config = server_config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(config)
    proxy: dict[str, Any] = {}
    if args.behind_proxy:
        proxy = {"trusted_proxy": args.proxy_address, "trusted_proxy_headers": PROXY_HEADERS}
    server = create_server(
        app,
        host=args.host,
        port=args.port,
        threads=args.threads,
        connection_limit=args.connections,
        channel_timeout=args.idle_timeout,
        cleanup_interval=max(1, min(30, args.idle_timeout // 2)),
        max_request_body_size=int(app.config["MAX_CONTENT_LENGTH"]) + 1024 * 1024,
        clear_untrusted_proxy_headers=True,
        ident="spp-import",
        **proxy,
    )
    port = server.effective_port  # type: ignore[union-attr]
    print(f"spp-import web page: http://{args.host}:{port}/  (registry: {config['SPP_URL']})", flush=True)
    print(f"state folder: {config['STATE_DIR']}", flush=True)
    if not _is_loopback(args.host) and not args.behind_proxy:
        print("Note: listening beyond this machine. Put it behind HTTPS before clerks use it.", flush=True)
    tidying = threading.Event()
    threading.Thread(target=_tidy, args=(app.extensions["spp_tidy"], tidying), daemon=True).start()
    # Both signals drain, whatever this process inherited: started from a script's `&` or by a
    # parent that ignores Ctrl-C, SIGINT would otherwise be ignored and the page never stop.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, _interrupt)
    try:
        server.run()  # returns after SIGINT/SIGTERM (KeyboardInterrupt), having closed the listener
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the drain short
        tidying.set()
        unfinished = app.extensions["spp_shutdown"](_say_stopping)
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    if unfinished:
        print(f"{len(unfinished)} import(s) did not stop in time; they are recorded as interrupted")
        return 1
    print("stopped")
    return 0


def _tidy(tidy: Callable[[], None], done: threading.Event, every: float = 60.0) -> None:
    """Every minute: idle sessions' files and expired records go, whether or not anyone visits."""
    while not done.wait(every):
        try:
            tidy()
        except OSError as exc:  # a full or read-only disk must not stop the page
            log.warning("tidying the state folder failed: %s", exc)


def _say_stopping(running: int) -> None:
    """Printed once no run sends anything new: the batches in flight finish, then the files go."""
    print(
        f"stopping: {running} run(s) finish their batches in flight, then the uploads are deleted", flush=True
    )


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM and SIGINT (Ctrl-C): leave the server's loop, then drain."""
    raise KeyboardInterrupt


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
