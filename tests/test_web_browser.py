"""The clerks' web page end to end, in a real headless Chromium, against a sandbox registry.

Debian's ``chromium`` package driven by Playwright (``executable_path``, no
browser download).  Each step saves a screenshot into ``tests/artifacts/screenshots/``
(``docs/screenshots/`` with SPP_UPDATE_SCREENSHOTS=1)
for the README.  Skipped when ``/usr/bin/chromium`` or Playwright is absent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import people_in
from web_support import MAPPINGS, ROOT, SAMPLES, french_roster, page_config, served

from importer.sandbox import ADMIN_LOGIN, ADMIN_PASSWORD, FaultPlan, FaultRule, Sandbox
from importer.sandbox.auth import READONLY_LOGIN, READONLY_PASSWORD, REGISTRAR_LOGIN, REGISTRAR_PASSWORD
from importer.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
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
PHONE = {"width": 375, "height": 812}  # a phone's viewport, in CSS pixels

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def site(registry: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web page served on 127.0.0.1 (a free port) in a thread."""
    work = tmp_path_factory.mktemp("web")
    # BATCH_SIZE: several batches per stage, so the bar visibly moves
    with served(create_app(page_config(registry, work, BATCH_SIZE=40))) as url:
        yield url


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


def shot(page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot; a long row table is cut after its first rows (the README needs a glimpse)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    rows = page.locator("#rows")
    if full_page and rows.count():
        top = page.evaluate("document.getElementById('rows').getBoundingClientRect().top + window.scrollY")
        height = min(page.evaluate("document.scrollingElement.scrollHeight"), top + 480)
        width = page.viewport_size["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": height}
        page.screenshot(path=str(SHOTS / name), full_page=True, clip=clip)
        return
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def sign_in(page, site: str, password: str, login: str = ADMIN_LOGIN) -> None:
    page.goto(f"{site}/sign-in")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def signed_in_page(
    browser,
    site: str,
    password: str = ADMIN_PASSWORD,
    login: str = ADMIN_LOGIN,
    *,
    viewport: dict[str, int] | None = None,
    ready: str = "text=Signed in as",
):
    """A new tab signed in afresh (no cookies of an earlier test's clerk), showing the home page.

    ``viewport``: the tab's size before it signs in (a phone's: :data:`PHONE`); ``ready``: what
    on the home page says it is there.
    """
    browser.clear_cookies()
    page = browser.new_page()
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page, site, password, login=login)
    page.wait_for_selector(ready)
    return page


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


def check_file(page, site: str, path: Path | list[Path], mapping: str) -> None:
    page.goto(site + "/")
    page.select_option("select[name=mapping]", mapping)
    page.set_input_files("input[name=file]", [str(p) for p in path] if isinstance(path, list) else str(path))
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
    assert "'Femal' is not one of the registry's Gender values" in body
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
    page = signed_in_page(browser, site)
    check_file(page, site, SAMPLES / "workbook.xlsx", "workbook")
    assert "ready to import" in page.inner_text("#headline")
    before = people_in(registry)
    registry.faults = slow_loads()
    try:
        import_until_the_bar_moves(page)
        page.click("text=Stop the import")
        page.wait_for_selector("#headline", timeout=WAIT_MS)
    finally:
        registry.faults = None
    headline = page.inner_text("#headline")
    assert "Import stopped, as you asked" in headline
    assert "rows fully written" in headline and "went through" not in headline
    people = int(re.search(r"(\d+) people created", headline).group(1))
    assert people == people_in(registry) - before > 0  # the page agrees with the server
    assert "Import the same file again at any time to finish" in headline
    assert page.locator("text=Stop the import").count() == 0
    shot(page, "08-import-stopped.png")
    page.close()


def test_the_row_table_filters_by_status_and_by_problem(browser, site: str) -> None:
    page = signed_in_page(browser, site)
    check_file(page, site, SAMPLES / "workbook_broken.xlsx", "workbook")
    rows = page.locator("table.rows tbody tr")
    assert rows.count() == 31
    assert page.locator("table.rows tbody tr.status-skipped").count() >= 1  # skipped rows, with why
    page.select_option("#rows select[name=problem]", "unknown_code")
    page.click("#rows button[type=submit]")
    page.wait_for_url("**problem=unknown_code**")
    listed = page.locator("table.rows tbody tr")
    assert 0 < listed.count() < 31
    assert all("unknown code" in t for t in listed.all_inner_texts())
    assert "'Femal' is not one of the registry's Gender values" in page.inner_text("table.rows")
    page.select_option("#rows select[name=status]", "invalid")
    page.click("#rows button[type=submit]")
    page.wait_for_url("**status=invalid**")
    assert all("has problems" in t for t in page.locator("table.rows tbody tr").all_inner_texts())
    shot(page, "09-row-table.png")
    page.close()


def test_a_file_matching_no_layout_shows_the_columns_and_the_layouts_to_choose(
    browser, site: str, tmp_path: Path
) -> None:
    page = signed_in_page(browser, site)
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
    renamed = "hh,household_name,household_kind,pid,first,last,gender,dob,relationship,nid,phone,notes"
    people = tmp_path / "people.csv"
    people.write_text("\n".join([renamed, *(line + ",x" for line in lines[1:])]) + "\n", encoding="utf-8")
    check_file(page, site, people, "detect")
    assert "do not match any layout we know" in page.inner_text(".flash.error")
    mismatch = page.inner_text("#mismatch")
    assert "✗ person_id" in mismatch and "✓ household_name" in mismatch
    assert "notes" in mismatch
    shot(page, "10-layout-mismatch.png")
    page.click("text=Check the file as “roster”")
    page.wait_for_selector("#layout-columns", timeout=WAIT_MS)
    assert "pid" in page.inner_text("#ignored")  # the columns the chosen layout ignores
    page.close()


def test_a_read_only_login_can_check_but_not_import(browser, site: str) -> None:
    page = signed_in_page(browser, site, READONLY_PASSWORD, login=READONLY_LOGIN, ready="#check-only")
    assert "you can check files here, but not import them" in page.inner_text("#check-only")
    assert "check only" in page.inner_text(".topbar")
    check_file(page, site, SAMPLES / "workbook.xlsx", "workbook")
    assert page.locator("text=Import the rows that are ready").count() == 0
    assert "but not import them" in page.inner_text("#check-only")
    shot(page, "11-check-only.png")
    page.close()


def test_a_header_only_file_has_no_rows_to_import(browser, site: str, tmp_path: Path) -> None:
    page = signed_in_page(browser, site)
    empty = tmp_path / "empty.csv"
    empty.write_text((SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()[0] + "\n")
    check_file(page, site, empty, "roster")
    said = page.locator("#failure")  # the run cannot start: there is nothing to check
    assert "No rows to import" in said.inner_text()
    assert page.locator("#headline").count() == 0  # no green "all 0 rows are ready"
    assert page.locator("text=Import the rows that are ready").count() == 0
    page.close()


def test_on_a_phone_the_page_fits_and_progress_is_announced(browser, site: str, registry: Sandbox) -> None:
    """375 px wide: no sideways scrolling of the page, a short top bar; a screen reader hears progress."""
    page = signed_in_page(browser, site, viewport=PHONE)

    def fits() -> None:
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        assert page.locator(".topbar").bounding_box()["height"] <= 60  # one line, not four

    fits()
    check_file(page, site, SAMPLES / "workbook_broken.xlsx", "workbook")
    fits()  # the wide problem and row tables scroll inside their cards
    wrap = page.locator("#rows .table-wrap")
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")  # the table itself is wider: it scrolls
    page.evaluate("document.getElementById('rows').scrollIntoView()")
    shot(page, "12-phone-row-table.png", full_page=False)

    files = [SAMPLES / n for n in ("households.csv", "individuals.csv", "memberships.csv")]
    check_file(page, site, files, "csv-files")
    assert "ready to import" in page.inner_text("#headline")
    registry.faults = slow_loads()
    try:
        page.click("text=Import the rows that are ready")
        live = page.locator("#announce")
        live.wait_for(state="attached", timeout=WAIT_MS)
        assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
        first = live.inner_text()
        page.wait_for_function(
            "t => { const e = document.getElementById('announce'); return e && e.textContent.trim() !== t"
            " && /Writing/.test(e.textContent); }",
            arg=first,
            timeout=WAIT_MS,
        )
        fits()
        shot(page, "13-phone-import-progress.png", full_page=False)
        page.wait_for_selector("#headline", timeout=WAIT_MS)
    finally:
        registry.faults = None
    assert "Import finished" in page.inner_text("#headline")
    fits()
    page.close()


# -- the matching screen: a layout nobody has described yet ----------------------------------------


@pytest.fixture(scope="module")
def matching_site(registry: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A page whose mappings folder is a copy: a layout saved for everyone never lands in the repository."""
    import shutil

    mappings = tmp_path_factory.mktemp("mappings") / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    with served(create_app(page_config(registry, tmp_path_factory.mktemp("web-matching"), mappings))) as url:
        yield url


def french_roster_file(path: Path) -> Path:
    """The French roster (see web_support.FRENCH) written to ``path``, for the file chooser."""
    path.write_text(french_roster(), encoding="utf-8")
    return path


def field_list(page, column: str):
    return page.get_by_label(f"Registry field for the column “{column}”", exact=True)


def test_a_clerk_maps_a_new_layout_checks_it_saves_it_and_the_next_upload_is_recognised(
    browser, matching_site: str, tmp_path: Path
) -> None:
    site = matching_site
    page = signed_in_page(browser, site, REGISTRAR_PASSWORD, login=REGISTRAR_LOGIN)
    check_file(page, site, french_roster_file(tmp_path / "registre.csv"), "detect")
    page.wait_for_selector("#matching", timeout=WAIT_MS)
    assert "do not match any layout we know" in page.inner_text(".flash.error")

    # The suggestion: a field per column, coded values translated; the phone column is left out.
    assert field_list(page, "Sexe").input_value() == "individual|gender"
    assert field_list(page, "Nº de ménage").input_value() == "group|key"
    assert field_list(page, "Appeler au").input_value() == ""
    assert page.get_by_label("Sexe: female ×6 means").input_value() == "Female"
    row = page.locator("tr[data-column='Appeler au']")
    assert "no registry field matches the header" in row.inner_text()

    # The filter narrows every list; the clerk picks the phone for the column nobody recognised.
    visible = "s => [...document.querySelector(s).options].filter(o => !o.hidden).length"
    before = page.evaluate(visible, "#" + field_list(page, "Appeler au").get_attribute("id"))
    page.fill("#field-filter", "phone")
    after = page.evaluate(visible, "#" + field_list(page, "Appeler au").get_attribute("id"))
    assert 2 < after < before  # person's and household's phone (and mobile), not every field
    field_list(page, "Appeler au").select_option("individual|phone")
    page.fill("#field-filter", "")
    page.fill("#layout-name", "Registre FR")
    page.locator("#matching").scroll_into_view_if_needed()
    shot_element(page, "#matching", "14-matching-screen.png", height=860)

    # The dry run with the matched layout: every row ready; the layout not saved yet.
    page.click("#check-matched")
    page.wait_for_selector("#headline", timeout=WAIT_MS)
    assert "All 238 rows are ready to import." in page.inner_text("#headline")
    assert re.search(r"People\s+238", page.inner_text("table.counts"))
    assert "not saved yet" in page.inner_text("#save-layout")
    shot_element(page, "main", "15-matched-check.png", height=760)

    # Saved for this clerk's session (a Registrar does not administer the registry's settings).
    page.click("#save-layout-button")
    page.wait_for_selector(".flash.info")
    assert "saved for your session" in page.inner_text(".flash.info")

    # The next file with the same headers is recognised by itself.
    check_file(page, site, french_roster_file(tmp_path / "registre-juillet.csv"), "detect")
    said = page.inner_text("main")
    assert "Registre FR" in said and "recognised from the column headers" in said
    assert "All 238 rows are ready to import." in page.inner_text("#headline")
    page.close()


def test_on_a_phone_the_matching_screen_stacks_its_rows_and_labels_every_control(
    browser, matching_site: str, tmp_path: Path
) -> None:
    page = signed_in_page(browser, matching_site, viewport=PHONE)
    check_file(page, matching_site, french_roster_file(tmp_path / "registre.csv"), "detect")
    page.wait_for_selector("#matching", timeout=WAIT_MS)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375  # no sideways scrolling
    assert page.locator("table.matching thead").is_hidden()
    assert (
        page.locator("table.matching tr[data-column='Sexe']").evaluate("e => getComputedStyle(e).display")
        == "block"
    )
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('#match-form select, #match-form input:not([type=hidden])')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)"
    )
    assert unlabelled == []
    assert "saved for every clerk" in page.inner_text("#saved-for")  # the administrator's words
    page.locator("tr[data-column='Sexe']").scroll_into_view_if_needed()
    shot(page, "16-phone-matching.png", full_page=False)
    page.close()


def shot_element(page, selector: str, name: str, *, height: int) -> None:
    """A screenshot of one part of the page, cut at ``height`` px (the README needs a glimpse, not all)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    box = page.locator(selector).bounding_box()
    top = box["y"] + page.evaluate("window.scrollY")
    clip = {"x": box["x"], "y": top, "width": box["width"], "height": min(box["height"], height)}
    page.screenshot(path=str(SHOTS / name), full_page=True, clip=clip)
