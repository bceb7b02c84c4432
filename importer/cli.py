"""The ``spp-import`` command: a thin shell over the same functions a notebook calls.

It parses, calls :func:`importer.pipeline.run_import` (or the sandbox, the
template writer, the web page), prints, and exits 0 (all rows written or
valid), 1 (some rows failed or invalid) or 2 (could not run).  Nothing the
user can cause ends in a traceback: a problem is one plain message, and
``--debug`` is there for developers.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from importer import __version__
from importer.concurrency import DEFAULT_WORKERS
from importer.defaults import BATCH_SIZE, CHUNK_ROWS
from importer.errors import SppError
from importer.outcome import ImportFailure
from importer.settings import ConnectionSettings, Timeout, load_settings

if TYPE_CHECKING:
    from importer.client import OdooClient
    from importer.preflight import Early

EXIT_OK, EXIT_ROWS, EXIT_CANNOT_RUN = 0, 1, 2

#: With nothing configured, the importer talks to a local sandbox registry
#: (``spp-import sandbox``), so a clerk can rehearse without a real server.
SANDBOX_DEFAULT = {
    "url": "http://127.0.0.1:8069",
    "db": "openspp",
    "login": "admin",
    "password": "admin",
}


def _connection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "server",
        "Where to import to. Flags win over SPP_URL, SPP_DB, SPP_LOGIN, SPP_API_KEY / SPP_PASSWORD, "
        "which win over the config file. With nothing set: the local sandbox at "
        f"{SANDBOX_DEFAULT['url']} (start it with `spp-import sandbox`).",
    )
    group.add_argument("--url", help="server address, e.g. https://openspp.example.org")
    group.add_argument("--db", help="database name")
    group.add_argument("--login", help="user login")
    group.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password or API key from this environment variable (never pass it as a flag)",
    )
    group.add_argument("--config", help="TOML config file with a [server] table (default: ./spp-import.toml)")
    group.add_argument(
        "--insecure", action="store_true", help="do not verify the server's HTTPS certificate (not advised)"
    )
    group.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for an answer (300)")


def _settings(args: argparse.Namespace) -> ConnectionSettings:
    secret = os.environ.get(args.password_env) if getattr(args, "password_env", None) else None
    try:
        return load_settings(
            config_file=args.config,
            url=args.url,
            db=args.db,
            login=args.login,
            secret=secret,
            insecure=args.insecure,
            timeout=Timeout(connect=10.0, read=args.timeout),
            default=SANDBOX_DEFAULT,
        )
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise ImportFailure(f"connection settings: {exc}") from None


def _import_args(parser: argparse.ArgumentParser, *, online: bool = True) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="CSV or XLSX file(s) to import")
    parser.add_argument("--mapping", "-m", required=True, help="mapping file (see mappings/)")
    parser.add_argument("--out", default="reports", help="folder for the reports (default: ./reports)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON (for automation)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=CHUNK_ROWS,
        metavar="N",
        help=f"a file of more than N rows runs in chunks of about N rows, in bounded memory "
        f"({CHUNK_ROWS:,}; 0: never)",
    )
    parser.add_argument(
        "--engine", choices=("calamine", "openpyxl"), default="calamine", help="XLSX reader (calamine)"
    )
    parser.add_argument(
        "--no-xlsx",
        action="store_true",
        help="write the CSV reports only, no XLSX report (copying hundreds of thousands of rows "
        "needing attention into a workbook takes minutes)",
    )
    if online:
        parser.add_argument("--namespace", help="external-id namespace (default: the mapping's)")
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help=f"rows per load call ({BATCH_SIZE})"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help=f"the most load calls in flight at once ({DEFAULT_WORKERS}); with adaptive concurrency "
            "the importer finds how many the server takes, up to this",
        )
        parser.add_argument(
            "--concurrency",
            choices=("adaptive", "fixed"),
            default="adaptive",
            help="adaptive (default): start with 2 calls in flight, double while the server answers more "
            "rows a second, halve on 502/503/504 or timeouts; fixed: always --workers calls",
        )
        parser.add_argument(
            "--track-history",
            action="store_true",
            help="keep chatter tracking on while writing (slower; off by default like Odoo's import)",
        )
        parser.add_argument(
            "--all-or-nothing", action="store_true", help="write nothing if any row is invalid"
        )
        parser.add_argument(
            "--empty-cells",
            choices=("keep", "clear"),
            default="keep",
            help="an empty cell on a record already in the registry: keep the registry's value (default) "
            "or clear it; a mapping field's own 'empty:' option wins. The report names every cleared value",
        )
        _connection_args(parser)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; ``command``: the one being run, when known.

    Only ``sandbox`` needs the sandbox's own options, and importing the sandbox
    (its server, ORM and seed) costs every other command time before its login.
    """
    parser = argparse.ArgumentParser(
        prog="spp-import",
        description="Import enrollment spreadsheets (CSV, XLSX) into an OpenSPP registry, safely.",
    )
    parser.add_argument("--version", action="version", version=f"spp-import {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (for developers)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="validate, then write the file to the registry (or --dry-run)")
    _import_args(p)
    p.add_argument(
        "--dry-run", action="store_true", help="check everything against the server, write nothing"
    )

    p = sub.add_parser("validate", help="check a file offline: structure, types, keys, declared codes")
    _import_args(p, online=False)

    p = sub.add_parser("ping", help="connect, log in, show the server version and this user's rights")
    _connection_args(p)

    p = sub.add_parser("template", help="write an empty workbook for a mapping, with dropdowns")
    p.add_argument("--mapping", "-m", required=True)
    p.add_argument("-o", "--output", required=True, type=Path)
    p.add_argument("--offline", action="store_true", help="use the mapping's own lists, not the server's")
    _connection_args(p)

    p = sub.add_parser("mapping", help="work with mapping files: suggest one for a new layout")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser(
        "suggest",
        help="propose a mapping for a file nobody has described yet (headers and values matched to fields)",
    )
    s.add_argument("files", nargs="+", type=Path, help="the CSV or XLSX file(s) of the new layout")
    s.add_argument("-o", "--output", type=Path, help="write the mapping here (default: print it)")
    s.add_argument("--force", action="store_true", help="overwrite the --output file if it exists")
    s.add_argument("--name", help="the mapping's name (default: from the first file's name)")
    s.add_argument(
        "--offline", action="store_true", help="do not ask the server for its fields, genders and ID types"
    )
    s.add_argument(
        "--engine", choices=("calamine", "openpyxl"), default="calamine", help="XLSX reader (calamine)"
    )
    _connection_args(s)

    p = sub.add_parser("sandbox", help="run the local sandbox registry (an OpenSPP look-alike)")
    if command in (None, "sandbox"):
        from importer.sandbox import add_arguments

        add_arguments(p)

    p = sub.add_parser("demo", help="start the sandbox, import the sample roster, show the report, stop")
    from importer.demo import add_arguments as demo_arguments

    demo_arguments(p)

    p = sub.add_parser("serve", help="the web page for data clerks")
    from importer.web.server import add_arguments as serve_arguments

    serve_arguments(p)
    _connection_args(p)
    return parser


class _Bars:
    """tqdm bars per stage; silent when not a terminal or with --quiet."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=f"{stage:<18}", unit="row", leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class _StopOnCtrlC:
    """Ctrl-C once writing has begun: finish the batches in flight, send nothing more, report.

    Why not stop dead: a batch cut off mid-call is safe (re-running the file
    finishes it) but the report could not say which rows were written.  A
    second Ctrl-C stops at once.  Before writing begins (reading, checking)
    Ctrl-C stops at once too: nothing has been written.
    """

    def __init__(self, stop: threading.Event, progress: Callable[[str, int, int], None]) -> None:
        self.stop = stop
        self.progress = progress
        self.writing = False
        self._previous: Callable[..., object] | int | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Pipeline progress: note when the checks are over (writing starts), then draw the bars."""
        self.writing = self.writing or stage.startswith("load") or (stage == "validate" and done >= total)
        self.progress(stage, done, total)

    def __enter__(self) -> _StopOnCtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self._previous is None:
            return
        # Once asked to stop, more Ctrl-C on the way out (the report printing) must not trace back.
        stopping = self.stop.is_set() or exc_type is KeyboardInterrupt
        signal.signal(signal.SIGINT, signal.SIG_IGN if stopping else self._previous)

    def _interrupt(self, _signum: int, _frame: FrameType | None) -> None:
        at_once = self.stop.is_set() or not self.writing
        self.stop.set()  # at once too: should the exception land in a finalizer and be lost (_unraisable)
        if at_once:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping at once: ignore the presses after
            raise KeyboardInterrupt
        print(
            "\nspp-import: stopping: the batches already sent finish, nothing more is sent, "
            "then the report is written. Press Ctrl-C again to stop at once.",
            file=sys.stderr,
            flush=True,
        )


def _cmd_import(args: argparse.Namespace) -> int:
    mode = "validate" if args.command == "validate" else ("dry-run" if args.dry_run else "import")
    settings = _settings(args) if mode != "validate" else None
    # Log in while the heavy modules load: the server spends about a second hashing the password.
    login = _Login(settings) if settings is not None else None
    try:
        return _import_with(args, mode, settings, login)
    finally:
        if login is not None:
            login.close()


def _import_with(
    args: argparse.Namespace, mode: str, settings: ConnectionSettings | None, login: _Login | None
) -> int:
    from importer.load import LoadOptions
    from importer.pipeline import ImportOptions, run_import
    from importer.report import summary_json, summary_text

    options = ImportOptions(
        mapping=args.mapping,
        mode=mode,
        namespace=getattr(args, "namespace", None),
        all_or_nothing=getattr(args, "all_or_nothing", False),
        empty_cells=getattr(args, "empty_cells", "keep"),
        load=LoadOptions(
            batch_size=max(1, getattr(args, "batch_size", BATCH_SIZE)),
            workers=max(1, getattr(args, "workers", DEFAULT_WORKERS)),
            adaptive=getattr(args, "concurrency", "adaptive") == "adaptive",
            track_history=getattr(args, "track_history", False),
        ),
        engine=args.engine,
        out_dir=args.out,
        chunk_rows=max(0, args.chunk_rows),
        xlsx=not args.no_xlsx,
    )
    client = login.client() if login is not None else None  # None: the run says why it cannot log in
    asked = login.early if client is not None and login is not None else None
    # An import checks the user's rights itself, before any row (pipeline.connect); a dry run is
    # allowed to a user who may only read, and is told here what an import would meet.
    if mode == "dry-run" and settings is not None and not _may_write(asked):
        print(
            f"spp-import: note: the user '{settings.login}' may check files but not import them: this "
            "dry run checks the file against the registry; an import by this user would be refused.",
            file=sys.stderr,
            flush=True,
        )
    bars = _Bars(enabled=not args.quiet and not args.json and sys.stderr.isatty())
    try:
        if mode == "import":
            with _StopOnCtrlC(options.load.stop, bars) as progress:
                result = run_import(
                    args.files, options, settings, client=client, progress=progress, asked=asked
                )
        else:
            result = run_import(args.files, options, settings, client=client, progress=bars, asked=asked)
    finally:
        bars.close()
    if args.json:
        payload = summary_json(result.report)
        payload["exit_code"] = result.exit_code
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        print(summary_text(result.report))
    return result.exit_code


def _may_write(asked: Early | None) -> bool:
    """Whether the user may write registrants (as ``ping`` shows); True when that cannot be told yet.

    A server that cannot be reached or a login refused (``asked`` None), or a question the
    server could not answer, is left to the run itself, which says so in its own words.
    """
    if asked is None:
        return True
    try:
        return asked().writable
    except SppError:
        return True


class _Login:
    """One login for the whole command, started on a thread as soon as the settings are known.

    The check that the user may write and the run itself share it, so the server hashes the
    password once (not once per step), and it does so while this process is still loading
    pandas and reading the file.  Once logged in, the same thread asks what the run needs
    before its first row (:mod:`importer.preflight`: the catalog, the user's rights, the
    required fields), which none of the file decides.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        from importer.client import OdooClient
        from importer.preflight import Early

        self._client = OdooClient(settings)
        self._error: BaseException | None = None
        self._logged_in = threading.Event()
        #: what is asked once logged in, for the run to take (only of a login that succeeded)
        self.early = Early()
        self._thread = threading.Thread(target=self._run, name="spp-login", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._client.authenticate()
        except BaseException as exc:  # the run, handed no client, logs in itself and says why
            self._error = exc
        finally:
            self._logged_in.set()
        if self._error is None:
            self.early.ask(self._client)

    def client(self) -> OdooClient | None:
        """The logged-in client, or None when the login failed (the run then says why)."""
        self._logged_in.wait()
        return None if self._error is not None else self._client

    def close(self) -> None:
        self._thread.join()
        self._client.close()


def _cmd_ping(args: argparse.Namespace) -> int:
    from importer.catalog import MODELS_WRITTEN
    from importer.client import OdooClient

    settings = _settings(args)
    with OdooClient(settings) as client:
        version = client.version()
        uid = client.authenticate()
        print(f"server   {settings.safe_url}  (Odoo {version.get('server_version', '?')})")
        print(f"database {settings.db}")
        print(f"user     {settings.login} (uid {uid})")
        for model in MODELS_WRITTEN:
            may = client.check_access(model, "create")
            print(f"  may create {model:<24} {'yes' if may else 'NO'}")
        if client.check_access("ir.model.data", "read"):
            print(f"  may read   {'ir.model.data':<24} yes")
        else:  # Odoo 17 keeps external ids to "Administration / Access Rights"
            print(f"  may read   {'ir.model.data':<24} no")
            print(
                "             imports still work: what a file already wrote is found by asking each\n"
                "             record (slower on a big registry); people found by ID number need an\n"
                "             administrator to link them"
            )
    return EXIT_OK


def _cmd_template(args: argparse.Namespace) -> int:
    from importer.template import write_template

    settings = None if args.offline else _settings(args)
    path = write_template(args.mapping, args.output, settings)
    print(f"template written: {path}")
    return EXIT_OK


def _cmd_mapping(args: argparse.Namespace) -> int:
    """``mapping suggest``: read the files, ask the server (unless --offline), print and write the guess."""
    from importer.pipeline import read_all
    from importer.suggest import suggest_mapping

    if args.output is not None and args.output.exists() and not args.force:
        raise ImportFailure(f"{args.output} exists; choose another name or add --force to replace it")
    tables = read_all(args.files, args.engine)
    catalog = None if args.offline else _server_catalog(args)
    suggestion = suggest_mapping(tables, catalog, name=args.name)
    text = suggestion.to_yaml()
    files = " ".join(str(f) for f in args.files)
    if args.output is None:
        print(suggestion.summary(), file=sys.stderr)
        print(text, end="")
        return EXIT_OK
    args.output.write_text(text, encoding="utf-8")
    print(suggestion.summary())
    print(
        f"\nmapping written: {args.output}\n"
        f"check it with:   spp-import validate --mapping {args.output} {files}"
    )
    return EXIT_OK


def _server_catalog(args: argparse.Namespace):  # -> Catalog | None
    """The server's fields and lookups, or None (with a note) when it cannot be reached.

    A guess needs no server: without one, the built-in words and the usual lists are used.
    """
    from dataclasses import replace

    from importer.catalog import suggestion_catalog
    from importer.client import OdooClient
    from importer.settings import Retry

    settings = replace(_settings(args), retry=Retry(attempts=2, backoff=0.2))
    try:
        with OdooClient(settings) as client:
            client.authenticate()
            return suggestion_catalog(client)
    except SppError as exc:
        print(
            f"spp-import: note: the server at {settings.safe_url} could not be asked ({exc}); "
            "suggesting from spp-import's own words (--offline skips this)",
            file=sys.stderr,
        )
        return None


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from importer.sandbox import run_from_args

    return run_from_args(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from importer.demo import run_demo

    return run_demo(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from importer.web.server import serve

    return serve(args)


COMMANDS = {
    "import": _cmd_import,
    "validate": _cmd_import,
    "ping": _cmd_ping,
    "template": _cmd_template,
    "mapping": _cmd_mapping,
    "sandbox": _cmd_sandbox,
    "serve": _cmd_serve,
    "demo": _cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and not words[0].startswith("-") else None)
    args = parser.parse_args(words)
    on_main_thread = threading.current_thread() is threading.main_thread()
    ctrl_c = signal.getsignal(signal.SIGINT) if on_main_thread else None
    try:
        return _run(args)
    finally:
        # Called with arguments (from Python, not as the console script): the caller's process
        # lives on, so it gets its Ctrl-C back; the console script exits ignoring it (below).
        if argv is not None and ctrl_c is not None:
            signal.signal(signal.SIGINT, ctrl_c)


def _run(args: argparse.Namespace) -> int:
    """Run one command; every failure becomes a sentence and an exit code, never a traceback."""
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the guard, not at interpreter exit
        return code
    except ImportFailure as exc:
        print(f"spp-import: cannot run: {exc.message}", file=sys.stderr)
        for problem in exc.problems[1:6]:
            print(f"  - {problem.location.describe()}: {problem.message}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except SppError as exc:
        print(f"spp-import: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except BrokenPipeError:  # `spp-import ping | head -2`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail either
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # on the way out: more Ctrl-C must not trace back
        print("spp-import: interrupted; run the same command again to finish safely", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # the last guard: a clerk never sees a traceback
        if args.debug:
            traceback.print_exc()
        print(
            f"spp-import: internal error ({type(exc).__name__}); nothing more was written. "
            "Re-run with --debug and report it.",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN


def console() -> NoReturn:
    """The console script (and ``python -m importer.cli``): :func:`main`, then out at once.

    An interpreter that has loaded pandas, pandera and openpyxl spends about a third of a
    second at exit freeing every module and object one by one (0.33 s measured after an
    import's modules load, 0.15 s for pandas alone): a tenth of an unchanged re-run, for
    nothing, since the process ends anyway.  By the time :func:`main` returns, every report
    and the audit log are written and closed; so this runs the exit handlers (logging's,
    temporary folders'), flushes the standard streams and leaves without that teardown.
    Should a thread that is not a daemon still run (nothing of the importer's does by then),
    it exits the normal way, which waits for it.
    """
    _without_data_synthesis()
    sys.unraisablehook = _unraisable
    code = main()
    here = threading.current_thread()
    if any(t is not here and not t.daemon for t in threading.enumerate()):
        sys.unraisablehook = sys.__unraisablehook__  # the interpreter's own, for its own teardown
        sys.exit(code)
    atexit._run_exitfuncs()  # what the interpreter would run at exit, before its teardown
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left, a stream closed
            stream.flush()
    os._exit(code)


def _unraisable(unraisable: Any) -> None:
    """A Ctrl-C that lands in a finalizer is not printed as a traceback.

    Python runs finalizers (a connection pool being closed as it is freed, say) between any
    two steps of the main thread, and an exception raised inside one cannot reach the code
    around it: Python prints it, traceback and all.  A Ctrl-C lost there is still obeyed, as a
    first Ctrl-C is: :class:`_StopOnCtrlC` set the run's stop before raising it, so nothing
    more is sent, the batches in flight finish and the report says what was written.
    Anything else is printed as Python would.
    """
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def _without_data_synthesis() -> None:
    """Tell pandera, in the command's own process, that ``hypothesis`` is not installed.

    pandera imports hypothesis whenever it is installed (a test tool that data-science
    environments often have), for generating test data from a schema, which this command
    never asks for: 0.1-0.3 s of every run's start, measured.  Marked absent, pandera takes
    its placeholder path and validates exactly the same.  Not done on import of the package:
    a notebook or a test that uses hypothesis itself keeps it.
    """
    sys.modules.setdefault("hypothesis", None)  # type: ignore[arg-type]  # None: "not installed"


if __name__ == "__main__":
    console()
