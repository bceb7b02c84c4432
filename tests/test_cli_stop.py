"""Ctrl-C during an import: the batches in flight finish, nothing more is sent, the report says so.

The importer runs as the clerk runs it (a subprocess of ``spp-import
import``); SIGINT is sent from inside the sandbox the moment a chosen
``load`` call arrives, so it lands mid-write every time.  Every row must be
accounted for, the registry must hold exactly what the report says was
written, and running the same command again must finish the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import people_in, settings_for
from reliability_support import (
    CallHook,
    assert_accounted,
    cli_env,
    import_command,
    report_rows,
    verify_registry,
    write_roster,
)

from importer.client import OdooClient
from importer.outcome import STOPPED_ON_REQUEST
from importer.sandbox import ADMIN_PASSWORD, Sandbox

PEOPLE = 240


def _start(csv: Path, out: Path, sb: Sandbox) -> subprocess.Popen:
    cmd = import_command(csv, out, "--batch-size", "20")
    env = cli_env(sb.url, password=ADMIN_PASSWORD)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish_and_check(csv: Path, out: Path, sb: Sandbox, frame) -> None:
    again = subprocess.run(
        import_command(csv, out, "--batch-size", "20"),
        env=cli_env(sb.url, password=ADMIN_PASSWORD),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    with OdooClient(settings_for(sb)) as client:
        assert_accounted(report_rows(out), len(frame), client, nothing_else=True)
        verify_registry(client, frame, sample=None)


def test_ctrl_c_while_writing_stops_after_the_batches_in_flight_and_reports_every_row(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, PEOPLE)
    with Sandbox() as sb:
        proc: list[subprocess.Popen] = []
        CallHook(sb, "load:individual", nth=2, action=lambda: os.kill(proc[0].pid, signal.SIGINT))
        proc.append(_start(csv, tmp_path / "stopped", sb))
        stdout, stderr = proc[0].communicate(timeout=300)
        assert proc[0].returncode == 2, stdout[-2000:] + stderr[-2000:]
        assert "Traceback" not in stdout + stderr
        assert "Press Ctrl-C again to stop at once" in stderr
        assert f"STOPPED before the end (exit code 2): {STOPPED_ON_REQUEST}" in stdout
        assert "run the same command again to finish" in stdout
        rows = report_rows(tmp_path / "stopped")
        # A row whose person was written but whose membership was not sent is partly written.
        statuses = set(rows["status"])
        assert statuses & {"skipped", "partly written"}, statuses
        assert statuses <= {"created", "skipped", "partly written"}, statuses
        not_whole = rows[rows["status"] != "created"]
        assert not_whole["reasons"].str.contains("you asked it to stop").all()
        with OdooClient(settings_for(sb)) as client:
            assert_accounted(rows, len(frame), client, nothing_else=True)
            households = client.search_count("res.partner", [["is_group", "=", True]])
        people = people_in(sb)
        assert 0 < people < PEOPLE  # households and some people written, the rest not sent
        assert f"Written before the stop: {households} households, {people} people." in stdout
        _finish_and_check(csv, tmp_path / "finished", sb, frame)


def test_a_second_ctrl_c_stops_at_once_and_a_rerun_still_finishes(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, PEOPLE)
    with Sandbox() as sb:
        proc: list[subprocess.Popen] = []

        def press_ctrl_c_twice() -> None:  # the registry holds this call, so both land mid-run
            os.kill(proc[0].pid, signal.SIGINT)
            time.sleep(0.5)
            os.kill(proc[0].pid, signal.SIGINT)
            time.sleep(0.5)

        CallHook(sb, "load:individual", nth=1, action=press_ctrl_c_twice, exclusive=False)
        proc.append(_start(csv, tmp_path / "stopped", sb))
        stdout, stderr = proc[0].communicate(timeout=300)
        assert proc[0].returncode == 2, stdout[-2000:] + stderr[-2000:]
        assert "Traceback" not in stdout + stderr
        assert "Press Ctrl-C again to stop at once" in stderr
        assert "interrupted; run the same command again to finish safely" in stderr
        _finish_and_check(csv, tmp_path / "finished", sb, frame)


def test_ctrl_c_pressed_again_after_the_run_has_stopped_is_harmless(tmp_path: Path) -> None:
    """A clerk still pressing Ctrl-C while the stopped run prints its report: no traceback."""
    csv = tmp_path / "roster.csv"
    write_roster(csv, PEOPLE)
    with Sandbox() as sb:
        proc: list[subprocess.Popen] = []

        def keep_interrupting() -> None:
            while proc[0].poll() is None:
                os.kill(proc[0].pid, signal.SIGINT)
                time.sleep(0.01)

        hammer = threading.Thread(target=keep_interrupting)
        CallHook(sb, "load:individual", nth=1, action=hammer.start)
        proc.append(_start(csv, tmp_path / "stopped", sb))
        stdout, stderr = proc[0].communicate(timeout=300)
        hammer.join(10)
        assert proc[0].returncode == 2, stdout[-2000:] + stderr[-2000:]
        assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stderr


# -- a Ctrl-C that lands in a finalizer ---------------------------------------------------------

_FINALIZER = """
import sys, weakref
from importer import cli

class Pool:  # stands for any object a finalizer closes as it is freed (urllib3's connection pools)
    pass

def free(error):
    def close():
        raise error
    pool = Pool()
    weakref.finalize(pool, close)
    del pool  # freed here: the finalizer runs between two steps of the main thread

def main(argv=None):
    free(KeyboardInterrupt())  # a second Ctrl-C landing while a pool is being closed
    free(ValueError("a fault of the finalizer's own"))
    return 0

cli.main = main
{exit}
"""


def test_a_ctrl_c_landing_in_a_finalizer_prints_no_traceback() -> None:
    """Python prints an exception raised inside a finalizer, traceback and all: the command
    leaves a Ctrl-C out of that (``cli._unraisable``), and prints any other fault as ever."""
    said = {}
    for name, exit_with in (("console", "cli.console()"), ("control", "sys.exit(cli.main())")):
        command = [sys.executable, "-c", _FINALIZER.format(exit=exit_with)]
        said[name] = subprocess.run(command, capture_output=True, text=True, timeout=120).stderr
    assert "KeyboardInterrupt" in said["control"]  # the control: Python does print it
    assert "KeyboardInterrupt" not in said["console"]
    assert "ValueError: a fault of the finalizer's own" in said["console"]


def test_a_ctrl_c_that_stops_at_once_also_sets_the_runs_stop() -> None:
    """Should that Ctrl-C be lost in a finalizer, the run still stops: nothing more is sent."""
    from importer.cli import _StopOnCtrlC

    previous = signal.getsignal(signal.SIGINT)
    try:
        for writing in (False, True):  # before writing: at once; writing and already stopping: at once
            stop = threading.Event()
            ctrl_c = _StopOnCtrlC(stop, lambda *_: None)
            ctrl_c.writing = writing
            if writing:
                stop.set()  # the first Ctrl-C
            with pytest.raises(KeyboardInterrupt):
                ctrl_c._interrupt(signal.SIGINT, None)
            assert stop.is_set()
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
