"""``spp-import serve`` as an operator runs it: a real process on waitress, signals and restarts.

A sandbox registry runs in this test process, so a hook can hold one
import batch on the server while the test signals the page's process: what
happens next is then the same every time, not a race.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import requests
from conftest import people_in
from reliability_support import CallHook

from importer.sandbox import ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ROOT / "sample_data" / "roster.csv"


class Page:
    """One ``spp-import serve`` process, and a browser-like session on it."""

    def __init__(self, sb: Sandbox, state: Path, log: Path, *extra: str) -> None:
        command = [sys.executable, "-c", "import sys; from importer.cli import main; sys.exit(main())",
                   "serve", "--port", "0", "--url", sb.url, "--db", sb.db, "--state-dir", str(state),
                   "--mappings", str(ROOT / "mappings"), *extra]  # fmt: skip
        self.log = log.open("a")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True, env=os.environ.copy()
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        match = re.search(r"http://[\d.]+:(\d+)/", first)
        assert match, f"serve did not start: {first!r}"
        assert self.process.stdout.readline().startswith("state folder:")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        self.web = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.web.get(self.url + path, timeout=30)

    def post(self, path: str, **data: str) -> requests.Response:
        page = self.get(path if path == "/sign-in" else "/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        return self.web.post(self.url + path, data={"csrf_token": token.group(1), **data}, timeout=30)

    def sign_in(self) -> requests.Response:
        return self.post("/sign-in", login=ADMIN_LOGIN, password=ADMIN_PASSWORD)

    def checked(self, path: Path) -> str:
        """Upload ``path`` for a dry run and wait for it; the job's address."""
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get("/").text)
        assert token
        with path.open("rb") as f:
            response = self.web.post(
                self.url + "/upload",
                data={"csrf_token": token.group(1), "mapping": "roster"},
                files={"file": (path.name, f)},
                timeout=30,
            )
        job = response.url.removeprefix(self.url)
        assert job.startswith("/jobs/"), response.url
        self.wait(job)
        return job

    def wait(self, job: str) -> dict:
        for _ in range(1200):
            status = self.get(job + "/status").json()
            if status["finished"]:
                return status
            threading.Event().wait(0.05)
        raise AssertionError("the job did not finish")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(120)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[list[Page]]:
    started: list[Page] = []
    yield started
    for page in started:
        page.close()


def held_import(sb: Sandbox, page: Page) -> tuple[str, threading.Event]:
    """Start importing the roster; the registry holds its first batch of people (and any call
    after it) until released, so no more than two of its three batches can be written."""
    arrived, release = threading.Event(), threading.Event()

    def hold() -> None:
        arrived.set()
        release.wait(60)

    dry = page.checked(ROSTER)
    CallHook(sb, "load:individual", nth=1, action=hold, exclusive=True)
    response = page.post(dry + "/import")
    running = response.url.removeprefix(page.url)
    assert running != dry and arrived.wait(60), "the import never reached its people"
    return running, release


def work_files(state: Path) -> list[Path]:
    return [p for p in (state / "work").rglob("*") if p.is_file() and p.name != ".lock"]


def records(state: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((state / "imports").glob("*.json"))]


def text(response: requests.Response) -> str:
    return unescape(re.sub(r"\s+", " ", response.text))


def test_sigterm_mid_import_drains_records_and_deletes_the_uploads(tmp_path: Path, pages: list[Page]) -> None:
    state = tmp_path / "state"
    with Sandbox() as sb:
        page = Page(sb, state, tmp_path / "serve.log")
        pages.append(page)
        page.sign_in()
        _running, release = held_import(sb, page)
        assert work_files(state)  # the roster and its dry-run reports are on disk while it runs
        page.process.send_signal(signal.SIGTERM)
        assert page.process.stdout is not None
        assert "stopping" in page.process.stdout.readline()  # the drain has begun: let the batch finish
        release.set()
        assert page.process.wait(120) == 0
        people = people_in(sb)
        assert 0 < people < 238  # the held batch finished, nothing was sent after it

        assert work_files(state) == [] and not list((state / "work").iterdir())
        [record] = records(state)
        assert record["state"] == "stopped" and record["written"]["individual"] == people
        assert record["login"] == "admin" and "password" not in json.dumps(record)

        again = Page(sb, state, tmp_path / "serve.log")  # the restart, with the clerk's old cookie
        pages.append(again)
        again.web.cookies.update(page.web.cookies)
        assert "This page was restarted" in text(again.get("/"))
        home = text(again.sign_in())
        # The households' batch may or may not have been sent before the stop (it depends on
        # which worker reached the registry first); the people written are what the server holds.
        written = re.search(r"(?:(\d[\d,]*) households and )?([\d,]+) people written", home)
        assert written and int(written.group(2).replace(",", "")) == people
        assert (
            "The import of roster.csv was stopped by a restart of this page" in home
            and "ID numbers and memberships not yet; import the same file again to finish." in home
        )
        assert records(state) == []  # told once, then forgotten
        assert again.stop() == 0


def test_a_killed_page_is_cleaned_up_and_its_import_reported_at_the_next_start(
    tmp_path: Path, pages: list[Page]
) -> None:
    state = tmp_path / "state"
    with Sandbox() as sb:
        page = Page(sb, state, tmp_path / "serve.log")
        pages.append(page)
        page.sign_in()
        _running, release = held_import(sb, page)
        leftovers = work_files(state)
        assert leftovers
        page.stop(signal.SIGKILL)  # no clean-up possible
        release.set()
        assert all(p.exists() for p in leftovers) and records(state)[0]["state"] == "running"

        again = Page(sb, state, tmp_path / "serve.log")
        pages.append(again)
        assert not any(p.exists() for p in leftovers)  # the dead process's files are gone at start-up
        home = text(again.sign_in())
        assert "The import of roster.csv was interrupted by a restart of this page:" in home
        assert "import the same file again to finish" in home
        assert again.stop(signal.SIGINT) == 0


def test_a_half_sent_request_holds_no_thread_and_is_dropped_after_the_idle_timeout(
    tmp_path: Path, pages: list[Page]
) -> None:
    with Sandbox() as sb:
        page = Page(sb, tmp_path / "state", tmp_path / "serve.log", "--threads", "2", "--idle-timeout", "2")
        pages.append(page)
        slow = []
        for _ in range(10):  # more half-sent requests than threads
            sock = socket.create_connection(("127.0.0.1", page.port), timeout=60)
            sock.sendall(b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nlogin=")
            slow.append(sock)
        assert page.get("/sign-in").status_code == 200  # the page still answers everyone else
        for sock in slow:
            assert sock.recv(1024) == b""  # the server closed it: it waits no longer than the timeout
            sock.close()
        assert page.stop() == 0


def test_behind_a_proxy_its_forwarded_headers_are_trusted_and_the_cookie_is_secure(
    tmp_path: Path, pages: list[Page]
) -> None:
    with Sandbox() as sb:
        page = Page(sb, tmp_path / "state", tmp_path / "serve.log", "--behind-proxy")
        pages.append(page)

        def sign_in(client: str, password: str, login: str = ADMIN_LOGIN) -> requests.Response:
            """As a browser on HTTPS through the proxy (the test speaks HTTP, as the proxy does)."""
            proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": client}
            form = requests.get(page.url + "/sign-in", headers=proxy, timeout=30)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token and "Secure" in form.headers["Set-Cookie"]
            cookie = {"Cookie": f"spp_session={form.cookies['spp_session']}"}  # sent back as over HTTPS
            data = {"csrf_token": token.group(1), "login": login, "password": password}
            return requests.post(
                page.url + "/sign-in", data=data, headers=proxy | cookie, allow_redirects=False, timeout=30
            )

        signed = sign_in("203.0.113.5", ADMIN_PASSWORD)  # HTTPS without a Referer: still signs in
        assert signed.status_code == 302
        assert "Secure" in signed.headers["Set-Cookie"] and "HttpOnly" in signed.headers["Set-Cookie"]
        for n in range(30):  # the per-address limit counts the clerk's address the proxy forwarded
            assert sign_in("203.0.113.7", "typo", login=f"guess{n}").status_code == 401
        assert sign_in("203.0.113.7", ADMIN_PASSWORD).status_code == 429
        assert sign_in("203.0.113.8", ADMIN_PASSWORD).status_code == 302
        assert page.stop() == 0
