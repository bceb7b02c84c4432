"""Security: secrets never leak, credentials and rights hold, TLS is verified, cells are never formulas.

The secret hunt runs the real CLI in-process with a known API key through
success and every failure path (wrong key, unreachable server, bad mapping,
a server that drops connections, a dry run, --json) and searches stdout,
stderr, log records and every file written (CSV, XLSX unzipped, audit log).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd
import pytest
from conftest import settings_for
from reliability_support import (
    ROSTER_MAPPING,
    all_written_text,
    assert_accounted,
    cli_env,
    report_rows,
    run_cli_inprocess,
    write_roster,
)

import importer.client
from importer.client import OdooClient
from importer.errors import AccessError, AuthenticationError
from importer.sandbox import (
    ADMIN_API_KEY,
    READONLY_LOGIN,
    READONLY_PASSWORD,
    FaultPlan,
    Sandbox,
)

WRONG_KEY = "wrong-Key-7f3a9c2e1d55"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without sleeping: these tests are about what is said, not when."""
    monkeypatch.setattr(importer.client.OdooClient, "_backoff", lambda self, attempt: None)


def _hunt(secret: str, out: Path, *texts: str) -> None:
    for text in texts:
        assert secret not in text
    if out.exists():
        assert secret not in all_written_text(out)


def test_api_key_never_appears_in_output_logs_reports_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, no_backoff: None
) -> None:
    caplog.set_level(logging.DEBUG)
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 30, seed=1)
    bad_mapping = tmp_path / "bad.yaml"
    bad_mapping.write_text("name: [unclosed\n")
    results = {}
    with Sandbox() as sb:
        dead = f"http://127.0.0.1:{_free_port()}"
        cases = {
            # name: (url, key, mapping, extra flags, fault plan)
            "success": (sb.url, ADMIN_API_KEY, ROSTER_MAPPING, ["--json"], None),
            "dry-run": (sb.url, ADMIN_API_KEY, ROSTER_MAPPING, ["--dry-run"], None),
            "wrong key": (sb.url, WRONG_KEY, ROSTER_MAPPING, ["--json"], None),
            "unreachable": (dead, ADMIN_API_KEY, ROSTER_MAPPING, [], None),
            "bad mapping": (sb.url, ADMIN_API_KEY, bad_mapping, ["--json"], None),
            "drops connections": (
                sb.url,
                ADMIN_API_KEY,
                ROSTER_MAPPING,
                [],
                FaultPlan(rates={"drop_before": 1.0}, services=frozenset({"common", "object"})),
            ),
        }
        for name, (url, key, mapping, extra, faults) in cases.items():
            out = tmp_path / name.replace(" ", "-")
            sb.faults = faults
            argv = ["import", str(csv), "-m", str(mapping), "--out", str(out), "--quiet", *extra]
            code, stdout, stderr = run_cli_inprocess(argv, cli_env(url, api_key=key))
            sb.faults = None
            results[name] = code
            assert "Traceback" not in stdout + stderr and "internal error" not in stdout + stderr
            for secret in (ADMIN_API_KEY, WRONG_KEY):
                _hunt(secret, out, stdout, stderr, caplog.text)
            if name == "success":
                payload = json.loads(stdout)
                assert payload["exit_code"] == 0
                with OdooClient(settings_for(sb)) as c:
                    assert_accounted(report_rows(out), len(frame), c, nothing_else=True)
        # the ping command too, with a wrong key
        code, stdout, stderr = run_cli_inprocess(["ping"], cli_env(sb.url, api_key=WRONG_KEY))
        _hunt(WRONG_KEY, tmp_path / "none", stdout, stderr, caplog.text)
        assert code == 2
    assert results == {
        "success": 0,
        "dry-run": 0,
        "wrong key": 2,
        "unreachable": 2,
        "bad mapping": 2,
        "drops connections": 2,
    }


def test_exceptions_and_reprs_do_not_carry_the_secret() -> None:
    with Sandbox() as sb:
        settings = settings_for(sb, secret=WRONG_KEY)
        client = OdooClient(settings)
        with pytest.raises(AuthenticationError) as info:
            client.authenticate()
        for text in (str(info.value), repr(info.value), repr(settings), repr(client), str(settings.secret)):
            assert WRONG_KEY not in text


def test_sandbox_refuses_bad_credentials_and_enforces_the_read_only_user() -> None:
    with Sandbox() as sb:
        with OdooClient(settings_for(sb, secret="not-the-password")) as c, pytest.raises(AuthenticationError):
            c.authenticate()
        with OdooClient(settings_for(sb)) as admin:
            uid = admin.authenticate()
        # execute_kw with a wrong secret for a real uid: AccessDenied, not data
        with OdooClient(settings_for(sb, secret="not-the-password")) as c:
            c._uid = uid
            with pytest.raises(AuthenticationError):
                c.search_count("res.partner", [])
        with OdooClient(settings_for(sb, login=READONLY_LOGIN, secret=READONLY_PASSWORD)) as viewer:
            assert viewer.search_count("res.partner", []) >= 0
            with pytest.raises(AccessError):
                viewer.create("res.partner", {"name": "X", "is_registrant": True})
            assert viewer.load("res.partner", ["id", "name"], [["spp_x.a", "A"]]).get("ids") in (False, None)
        with OdooClient(settings_for(sb)) as admin:
            assert admin.search_count("res.partner", [["name", "in", ["X", "A"]]]) == 0


def test_read_only_user_can_dry_run_but_a_real_import_stops_with_a_plain_message(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 30, seed=2)
    with Sandbox() as sb:
        env = cli_env(sb.url, login=READONLY_LOGIN, password=READONLY_PASSWORD)
        base = ["import", str(csv), "-m", str(ROSTER_MAPPING), "--quiet"]
        code, stdout, stderr = run_cli_inprocess([*base, "--out", str(tmp_path / "dry"), "--dry-run"], env)
        assert code == 0, stdout + stderr
        assert "may check files but not import them" in stderr  # told before the dry run
        assert set(report_rows(tmp_path / "dry")["status"]) == {"valid"}
        code, stdout, stderr = run_cli_inprocess([*base, "--out", str(tmp_path / "real")], env)
        said = stdout + stderr
        assert code == 2
        assert "Traceback" not in said and "internal error" not in said
        # told before anything is checked or sent, and never that rows went through
        assert "may check files against the registry but not import them" in stderr, said
        assert "went through" not in said
        with OdooClient(settings_for(sb)) as c:
            assert c.search_count("res.partner", [["is_registrant", "=", True]]) == 0
            if (tmp_path / "real").exists() and any((tmp_path / "real").glob("*.csv")):
                assert_accounted(report_rows(tmp_path / "real"), len(frame), c, nothing_else=True)


# -- HTTPS ------------------------------------------------------------------------------------


@pytest.fixture
def https_registry(tmp_path: Path):
    """The sandbox's dispatcher behind a tiny HTTPS server with a self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    sb = Sandbox()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = json.dumps(sb.dispatcher.handle(json.loads(body))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", sb
    finally:
        server.shutdown()
        server.server_close()
        sb.close()


def test_self_signed_https_is_refused_unless_insecure(https_registry, tmp_path: Path) -> None:
    url, _sandbox = https_registry
    csv = tmp_path / "roster.csv"
    write_roster(csv, 8, seed=3)
    env = cli_env(url, api_key=ADMIN_API_KEY)
    base = ["import", str(csv), "-m", str(ROSTER_MAPPING), "--quiet", "--dry-run"]
    code, stdout, stderr = run_cli_inprocess([*base, "--out", str(tmp_path / "a")], env)
    assert code == 2
    assert "certificate" in stderr and "--insecure" in stderr, stderr
    assert "Traceback" not in stdout + stderr
    code, stdout, stderr = run_cli_inprocess([*base, "--out", str(tmp_path / "b"), "--insecure"], env)
    assert code == 0, stdout + stderr
    code, stdout, stderr = run_cli_inprocess(["ping", "--insecure"], env)
    assert code == 0 and "uid" in stdout
    code, stdout, stderr = run_cli_inprocess(["ping"], env)
    assert code == 2 and "certificate" in stderr


# -- formula injection ----------------------------------------------------------------------------

INJECTIONS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def test_formula_injection_is_neutralised_in_csv_and_xlsx_reports(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 12, seed=4)
    frame.loc[0, "given_name"] = INJECTIONS[0]  # refused as likely formula text; still echoed in the reports
    frame.loc[1, "household_name"] = INJECTIONS[1]
    frame.loc[4, "sex"] = INJECTIONS[2]  # invalid: echoed in the errors
    frame.loc[5, "date_of_birth"] = INJECTIONS[3]  # invalid: echoed in the errors
    frame.loc[6, "relationship"] = INJECTIONS[0]
    frame.to_csv(csv, index=False)
    out = tmp_path / "out"
    with Sandbox() as sb:
        code, stdout, stderr = run_cli_inprocess(
            ["import", str(csv), "-m", str(ROSTER_MAPPING), "--out", str(out), "--quiet"],
            cli_env(sb.url, api_key=ADMIN_API_KEY),
        )
        assert code == 1, stdout + stderr
        with OdooClient(settings_for(sb)) as c:
            assert_accounted(report_rows(out), len(frame), c, nothing_else=True)
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for path in out.glob("*.csv"):
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None)
        values = [v for v in cells.to_numpy().ravel() if v]
        assert not [v for v in values if v.startswith(dangerous)], path.name
    errors = next(out.glob("*-errors.csv")).read_text(encoding="utf-8-sig")
    assert "'-2+3" in errors and "'@SUM(A1:A9)" in errors  # bad values are shown, neutralised, not dropped
    from openpyxl import load_workbook

    (xlsx,) = out.glob("*.xlsx")
    with zipfile.ZipFile(xlsx) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in s or "<f " in s for s in sheets), "a report cell is a formula"
    wb = load_workbook(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(dangerous), (ws.title, cell.coordinate, cell.value)
