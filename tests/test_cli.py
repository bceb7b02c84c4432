"""The spp-import command: exit codes, --json, offline validate, ping and template, over a real sandbox."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.cli import build_parser, main
from importer.client import OdooClient
from importer.sandbox import ADMIN_API_KEY


def test_import_exits_0_and_json_summary_is_machine_readable(server_env, tmp_path: Path, capsys) -> None:
    code = main(["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"),
                 "--out", str(tmp_path), "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)
    assert summary["exit_code"] == 0
    assert ADMIN_API_KEY not in out


def test_an_import_logs_in_once(server_env, tmp_path: Path, capsys) -> None:
    """The server hashes the password at each login (a second of a real server's time): one per run."""
    code = main(["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"),
                 "--out", str(tmp_path), "--json"])  # fmt: skip
    assert code == 0
    methods = [entry[1] for entry in server_env.call_log]
    assert methods.count("authenticate") == 1
    created = json.loads(capsys.readouterr().out)["counts"]["membership"]["created"]
    with OdooClient(settings_for(server_env)) as client:
        assert client.search_count("g2p.group.membership", []) == created > 0


def test_the_command_asks_the_catalog_while_it_starts_and_logs_those_calls(
    server_env, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once logged in, the command asks the catalog, the rights and the required fields on its
    login thread (importer.preflight), before the run reads the file: here the reading waits
    for the catalog, which a command asking it only once the file is read would never see.
    Those calls still reach the run's audit log and its count of calls, once each."""
    import threading

    import importer.catalog
    import importer.pipeline

    fetched = threading.Event()
    fetch_catalog, read_source = importer.catalog.fetch_catalog, importer.pipeline.read_source

    def catalog_then_say(client: OdooClient):  # type: ignore[no-untyped-def]
        try:
            return fetch_catalog(client)
        finally:
            fetched.set()

    def read_once_fetched(path, **kwargs):  # type: ignore[no-untyped-def]
        assert fetched.wait(timeout=30), "the catalog was not asked before the file was read"
        return read_source(path, **kwargs)

    monkeypatch.setattr(importer.catalog, "fetch_catalog", catalog_then_say)
    monkeypatch.setattr(importer.pipeline, "read_source", read_once_fetched)
    code = main(["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"),
                 "--out", str(tmp_path), "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == summary["exit_code"] == 0
    lines = Path(summary["files"]["audit"]).read_text(encoding="utf-8").splitlines()
    calls = [json.loads(line) for line in lines if json.loads(line)["event"] == "call"]
    asked = [(c["model"], c["method"]) for c in calls]
    sent = [
        (model, rpc_method if service == "object" else method)
        for service, method, model, rpc_method, _outcome in server_env.call_log
        if method != "authenticate"  # made before the run, as ever
    ]
    assert sorted(asked, key=str) == sorted(sent, key=str)  # every call the server saw, logged once
    assert asked.count(("res.partner", "fields_get")) == 1
    assert asked.count(("res.partner", "check_access_rights")) == 2  # create, write
    assert asked.index(("res.partner", "fields_get")) < asked.index(("res.partner", "load"))


def test_a_catalog_the_server_refuses_early_is_named_and_its_call_logged(
    server_env, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call of the early questions that fails stops the run with the server's reason, and
    reaches the audit log all the same, though the log was not open when it was made."""
    import importer.catalog

    def a_model_the_server_lacks(client: OdooClient):  # type: ignore[no-untyped-def]
        return client.search_read("spp.no.such.model", [], ["name"])

    monkeypatch.setattr(importer.catalog, "fetch_catalog", a_model_the_server_lacks)
    code = main(["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"),
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "spp.no.such.model" in capsys.readouterr().err
    [audit] = tmp_path.glob("*-audit.jsonl")
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    refused = [e for e in events if e["event"] == "call" and e["model"] == "spp.no.such.model"]
    assert [e["outcome"] for e in refused] == ["error"]
    assert events[-1]["event"] == "run_end" and events[-1]["exit_code"] == 2
    with OdooClient(settings_for(server_env)) as client:
        assert client.search_count("res.partner", [["is_registrant", "=", True]]) == 0


def test_broken_file_exits_1_with_the_problems_named(server_env, tmp_path: Path, capsys) -> None:
    code = main(["import", str(SAMPLES / "workbook_broken.xlsx"), "-m", str(MAPPINGS / "workbook.yaml"),
                 "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "workbook_broken.xlsx, sheet 'Groups', row 3" in out


def test_bad_mapping_and_unreadable_file_exit_2_without_traceback(server_env, tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "m.yaml"
    bogus.write_text("entities: {individual: {key: id, fields: {nom: name}}}\n")
    assert main(["validate", str(SAMPLES / "roster.csv"), "-m", str(bogus), "--out", str(tmp_path)]) == 2
    garbage = tmp_path / "x.xlsx"
    garbage.write_bytes(b"\x00not a workbook")
    assert main(["import", str(garbage), "-m", str(MAPPINGS / "roster.yaml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown field 'nom'" in err and "x.xlsx" in err
    assert "Traceback" not in err


def test_wrong_credentials_exit_2_and_say_so(server_env, monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("SPP_API_KEY", "wrong-key-123")
    code = main(
        ["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "refused" in err and "wrong-key-123" not in err


def test_validate_works_offline_without_any_server(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SPP_URL", "http://127.0.0.1:9")  # nothing listens there; validate must not care
    code = main(["validate", str(SAMPLES / "workbook.xlsx"), "-m", str(MAPPINGS / "workbook.yaml"),
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    assert "valid" in capsys.readouterr().out


def test_ping_prints_version_and_rights(server_env, capsys) -> None:
    assert main(["ping"]) == 0
    out = capsys.readouterr().out
    assert "17.0" in out and "res.partner" in out


def test_template_offline_writes_a_workbook(tmp_path: Path) -> None:
    target = tmp_path / "blank.xlsx"
    assert main(["template", "-m", str(MAPPINGS / "workbook.yaml"), "-o", str(target), "--offline"]) == 0
    from openpyxl import load_workbook

    assert set(load_workbook(target).sheetnames) == {"Groups", "Individuals", "Memberships"}


def test_a_password_written_into_the_url_is_never_printed(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SPP_URL", "http://clerk:hunter2-in-url@127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("SPP_DB", "openspp")
    monkeypatch.setenv("SPP_LOGIN", "clerk")
    monkeypatch.setenv("SPP_PASSWORD", "another-secret")
    code = main(
        ["import", str(SAMPLES / "roster.csv"), "-m", str(MAPPINGS / "roster.yaml"), "--out", str(tmp_path)]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "127.0.0.1:9" in captured.err  # the message still says where
    for secret in ("hunter2-in-url", "another-secret"):
        assert secret not in captured.out + captured.err
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(errors="replace"), path


def test_output_piped_into_a_reader_that_leaves_early_is_not_an_internal_error(server_env) -> None:
    """`spp-import ping | head -1`: the closed pipe ends the command quietly, never 'internal error'."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already gone
    try:
        env = {**os.environ, "PYTHONPATH": str(MAPPINGS.parent)}
        cmd = [sys.executable, "-m", "importer.cli", "ping"]
        done = subprocess.run(cmd, env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert done.stderr == ""  # no 'internal error', no 'Exception ignored ... BrokenPipeError'
    assert done.returncode == 2


def test_an_interrupted_command_called_from_python_gives_ctrl_c_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script leaves Ctrl-C ignored on its way out (it is about to exit); a caller
    that runs ``main([...])`` in its own process (a test runner, a notebook) gets its handler back."""
    import signal

    from importer import cli

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "template", interrupted)
    before = signal.getsignal(signal.SIGINT)
    code = main(["template", "-m", str(MAPPINGS / "roster.yaml"), "-o", str(tmp_path / "t.xlsx")])
    assert code == cli.EXIT_CANNOT_RUN
    assert "interrupted; run the same command again" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before


def test_a_command_other_than_sandbox_does_not_load_the_sandbox_before_its_login() -> None:
    """Its server, ORM and seed cost every other command time on the way to the login."""
    code = (
        "import sys; from importer.cli import build_parser; "
        "build_parser('import').parse_args(['import', 'f.csv', '-m', 'm.yaml']); "
        "print('importer.sandbox' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    sandbox = build_parser("sandbox").parse_args(["sandbox", "--port", "0"])
    assert sandbox.port == 0


_CONSOLE = """
import atexit, sys
from importer import cli

class Torn:
    def __del__(self):
        print("torn down", file=sys.stderr, flush=True)

kept = Torn()  # freed by the interpreter's teardown, if it has one
atexit.register(lambda: print("exit handler ran", file=sys.stderr, flush=True))
atexit.register(lambda: print("hypothesis", bool(sys.modules.get("hypothesis")), file=sys.stderr))
sys.argv = ["spp-import", *sys.argv[1:]]
{before}
{exit}
"""
#: A thread that is not a daemon, still running when the command is done: it must finish.
_STILL_RUNNING = """
import threading, time

returned, command = threading.Event(), cli.main

def main_then_say(*args):
    try:
        return command(*args)
    finally:
        returned.set()

def late():
    returned.wait()
    time.sleep(0.2)
    print("thread finished", file=sys.stderr, flush=True)

cli.main = main_then_say
threading.Thread(target=late).start()
"""


def test_the_console_script_runs_the_exit_handlers_and_skips_the_teardown(tmp_path: Path) -> None:
    """The console script leaves at once once its reports are written (``cli.console``): the exit
    handlers run, the interpreter's slow teardown does not, the exit code and output are whole."""
    args = [str(SAMPLES / "enrollment.xlsx"), "-m", str(MAPPINGS / "enrollment.yaml"), "--json"]
    runs = {}
    for name, exit_with, before in (
        ("console", "cli.console()", ""),
        ("sys.exit", "sys.exit(cli.main())", ""),
        ("thread", "cli.console()", _STILL_RUNNING),
    ):
        code = _CONSOLE.format(exit=exit_with, before=before)
        out = tmp_path / name
        command = [sys.executable, "-c", code, "validate", *args, "--out", str(out)]
        runs[name] = subprocess.run(command, capture_output=True, text=True, timeout=300)
    console, control = runs["console"], runs["sys.exit"]
    assert "torn down" in control.stderr  # the control: a normal exit does tear down
    assert "torn down" not in console.stderr
    assert "exit handler ran" in console.stderr and "exit handler ran" in control.stderr
    # pandera's data synthesis is not loaded by the command (cli._without_data_synthesis); the
    # control shows pandera would load it here, and the counts below that it validates the same
    assert "hypothesis False" in console.stderr
    if importlib.util.find_spec("hypothesis") is not None:
        assert "hypothesis True" in control.stderr
    summary = json.loads(console.stdout)  # the whole JSON, flushed before leaving
    assert console.returncode == summary["exit_code"] == control.returncode == 1  # planted errors
    assert summary["counts"] == json.loads(control.stdout)["counts"]
    audit = Path(summary["files"]["audit"]).read_text(encoding="utf-8").splitlines()
    assert json.loads(audit[-1])["event"] == "run_end"
    assert Path(summary["files"]["xlsx"]).stat().st_size > 0
    waited = runs["thread"]  # a thread still running: the normal exit, which waits for it
    assert "thread finished" in waited.stderr and "torn down" in waited.stderr
    assert waited.returncode == 1
