"""The clerks' web page end to end, in a real headless Chromium, against a sandbox registry.

Debian's ``chromium`` package driven by Playwright (``executable_path``, no
browser download).  Each step saves a screenshot into ``tests/artifacts/screenshots/``
(``docs/screenshots/`` with SPP_UPDATE_SCREENSHOTS=1)
for the README.  Skipped when ``/usr/bin/chromium`` or Playwright is absent.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.sandbox import ADMIN_LOGIN, ADMIN_PASSWORD, FaultPlan, FaultRule, Sandbox
from importer.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
# Screenshots for a reviewer in tests/artifacts; SPP_UPDATE_SCREENSHOTS=1 refreshes the README's.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("SPP_UPDATE_SCREENSHOTS")
    else ROOT / "tests" / "artifacts" / "screenshots"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def registry() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def site(registry: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web page served on 127.0.0.1 (a free port) in a thread."""
    from werkzeug.serving import make_server

    app = create_app(
        {
            "SPP_URL": registry.url,
            "SPP_DB": registry.db,
            "MAPPINGS_DIR": str(ROOT / "mappings"),
            "WORK_DIR": str(tmp_path_factory.mktemp("web")),
            "BATCH_SIZE": 40,  # several batches per stage, so the bar visibly moves
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    app.extensions["spp_sessions"].close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A fresh Chromium profile (its own --user-data-dir) for the module."""
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 860},
            accept_downloads=True,
        )
        yield context
        context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def sign_in(page, site: str, password: str) -> None:
    page.goto(f"{site}/sign-in")
    page.fill("input[name=login]", ADMIN_LOGIN)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def slow_loads() -> FaultPlan:
    """Each load call held 0.3 s, so an import of the samples lasts long enough to watch (and stop)."""
    return FaultPlan(rules=[FaultRule("latency", method="load", nth=None)], latency_seconds=0.3)


def import_until_the_bar_moves(page) -> None:
    """Press Import on a checked file, then wait until the bar is past 10 % and not yet done."""
    page.click("text=Import the rows that are ready")
    page.wait_for_function(
        "() => { const b = document.querySelector('.bar');"
        " return b && +b.getAttribute('aria-valuenow') > 10 && +b.getAttribute('aria-valuenow') < 100; }",
        timeout=WAIT_MS,
    )


def check_file(page, site: str, path: Path, mapping: str) -> None:
    page.goto(site + "/")
    page.select_option("select[name=mapping]", mapping)
    page.set_input_files("input[name=file]", str(path))
    page.click("form[action='/upload'] button[type=submit]")
    page.wait_for_selector("#headline, .flash.error", timeout=WAIT_MS)


def test_a_clerk_checks_fixes_imports_and_reruns_a_file(
    browser, site: str, registry: Sandbox, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{site}/sign-in")
    shot(page, "01-sign-in.png")
    sign_in(page, site, ADMIN_PASSWORD)
    page.wait_for_selector("text=Signed in as")
    page.select_option("select[name=mapping]", "workbook")
    page.set_input_files("input[name=file]", str(SAMPLES / "workbook_broken.xlsx"))
    shot(page, "02-upload.png")

    # The broken workbook: every problem listed with the clerk's row and column.
    page.click("form[action='/upload'] button[type=submit]")
    page.wait_for_selector("#headline", timeout=WAIT_MS)
    problems = page.locator("table.problems tbody tr")
    assert problems.count() >= 20
    body = page.inner_text("table.problems")
    assert "'Femal' is not a Gender the registry knows" in body
    assert "'31/02/1990' is not a date: expected a date like 1990-12-31 (year-month-day)" in body
    assert "have problems" in page.inner_text("#headline")
    shot(page, "03-dry-run-errors.png")

    # The good roster: ready, then imported while the bar moves batch by batch.
    check_file(page, site, SAMPLES / "roster.xlsx", "roster")
    assert "ready to import" in page.inner_text("#headline")
    registry.faults = slow_loads()
    try:
        import_until_the_bar_moves(page)
        assert "Writing" in page.inner_text("#stage")
        shot(page, "04-import-progress.png")
        page.wait_for_selector("#headline", timeout=WAIT_MS)
    finally:
        registry.faults = None
    assert "Import finished: all 238 rows went through" in page.inner_text("#headline")
    counts = page.inner_text("table.counts")
    assert re.search(r"People\s+238", counts)
    with page.expect_download() as download:
        page.click("text=Download: Annotated workbook")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx" and saved.read_bytes()[:2] == b"PK"
    shot(page, "05-import-done.png")

    # The same file again: nothing new would be written.
    check_file(page, site, SAMPLES / "roster.xlsx", "roster")
    assert "Nothing new would be written" in page.inner_text("#headline")
    assert page.locator("text=Import the rows that are ready").count() == 0
    shot(page, "06-rerun-unchanged.png")
    page.close()


def test_a_wrong_password_is_refused(browser, site: str) -> None:
    browser.clear_cookies()
    page = browser.new_page()
    sign_in(page, site, "wrong-password")
    message = page.locator(".flash.error")
    message.wait_for()
    assert "did not accept this login and password" in message.inner_text()
    assert page.locator("text=Signed in as").count() == 0
    shot(page, "07-wrong-password.png")
    page.close()


def test_a_clerk_stops_an_import_half_way(browser, site: str, registry: Sandbox) -> None:
    browser.clear_cookies()
    page = browser.new_page()
    sign_in(page, site, ADMIN_PASSWORD)
    page.wait_for_selector("text=Signed in as")
    check_file(page, site, SAMPLES / "workbook.xlsx", "workbook")
    assert "ready to import" in page.inner_text("#headline")
    registry.faults = slow_loads()
    try:
        import_until_the_bar_moves(page)
        page.click("text=Stop the import")
        page.wait_for_selector("#headline", timeout=WAIT_MS)
    finally:
        registry.faults = None
    headline = page.inner_text("#headline")
    assert "Import stopped, as you asked" in headline
    assert "Import the same file again at any time to finish" in headline
    assert page.locator("text=Stop the import").count() == 0
    shot(page, "08-import-stopped.png")
    page.close()
