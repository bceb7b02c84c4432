"""The page as a service, through Flask's test client against a sandbox registry.

Pins what an operator relies on: the state folder and its key are private;
cookies are Secure behind a proxy; a stopped run (by its clerk or by the
registry going down) says ``stopped`` and the truth; sign-in attempts are
limited per login and per address without locking the others out; one run
per session however fast the clicks; two clerks never import the same file
at once; files named in any script are accepted and shown by their name.
"""

from __future__ import annotations

import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import people_in, settings_for
from flask import Flask
from flask.testing import FlaskClient
from reliability_support import CallHook
from test_web import MAPPINGS, SAMPLES, Clock, checked, csrf, sign_in, text, wait_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import ADMIN_PASSWORD, Sandbox
from importer.sandbox.auth import ADMIN_UID, REGISTRAR_LOGIN, REGISTRAR_PASSWORD
from importer.sandbox.faults import FaultPlan
from importer.web.app import create_app
from importer.web.jobs import news_sentence


@pytest.fixture(scope="module")
def registry() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def make_app(sb: Sandbox, tmp_path: Path, **extra: object) -> Flask:
    config = {"SPP_URL": sb.url, "SPP_DB": sb.db, "MAPPINGS_DIR": str(MAPPINGS),
              "STATE_DIR": str(tmp_path / "state"), "TESTING": True, **extra}  # fmt: skip
    return create_app(config)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(registry: Sandbox, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    app = make_app(registry, tmp_path, CLOCK=clock)
    yield app
    app.extensions["spp_shutdown"]()


@pytest.fixture
def own(tmp_path: Path) -> Iterator[tuple[Sandbox, Flask]]:
    """A registry of the test's own (its calls are held by hooks) and a page on it."""
    with Sandbox() as sb:
        app = make_app(sb, tmp_path)
        yield sb, app
        app.extensions["spp_shutdown"]()


def start_import(web: FlaskClient, dry_url: str) -> str:
    page = web.get(dry_url)
    return web.post(dry_url + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]


# -- the state folder ------------------------------------------------------------------------


def test_the_state_folder_is_private_and_its_key_survives_a_restart(
    registry: Sandbox, tmp_path: Path
) -> None:
    first = make_app(registry, tmp_path)
    state = tmp_path / "state"
    key = state / "secret_key"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    web = first.test_client()
    sign_in(web)
    cookie = web.get_cookie("spp_session")
    first.extensions["spp_shutdown"]()
    assert not list((state / "work").iterdir())  # the clerk's folder went with the process

    second = make_app(registry, tmp_path)  # a restart: same key, so the old cookie is still read
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    again = second.test_client()
    again.set_cookie(cookie.key, cookie.value)
    response = again.get("/", follow_redirects=True)
    assert "This page was restarted" in text(response) and "without activity" not in text(response)
    second.extensions["spp_shutdown"]()


def test_behind_a_proxy_the_session_cookie_is_secure(registry: Sandbox, tmp_path: Path) -> None:
    plain, proxied = make_app(registry, tmp_path), make_app(registry, tmp_path, BEHIND_PROXY=True)
    try:
        for app, secure in ((plain, False), (proxied, True)):
            web = app.test_client()
            token = csrf(web.get("/sign-in").data)
            web.post("/sign-in", data={"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
            cookie = web.get_cookie("spp_session")
            assert cookie is not None and cookie.secure is secure and cookie.http_only
    finally:
        plain.extensions["spp_shutdown"]()
        proxied.extensions["spp_shutdown"]()


# -- a stop says stopped ---------------------------------------------------------------------


def test_a_registry_that_goes_down_mid_import_ends_stopped_with_the_truth(tmp_path: Path) -> None:
    with Sandbox() as sb:
        app = make_app(sb, tmp_path, BATCH_SIZE=20)
        try:
            web = app.test_client()
            sign_in(web)
            dry = checked(web, SAMPLES / "roster.csv")
            # From the 3rd registrant batch on (households come first), the registry answers 503: down.
            sb.faults = FaultPlan.on_call("http_503", model="res.partner", method="load", nth=None)
            sb.faults.rules[0].nth = tuple(range(3, 10_000))
            running = start_import(web, dry)
            status = wait_for(web, running)
            sb.faults = None
            assert status["state"] == "stopped" and status["percent"] < 100
            with OdooClient(settings_for(sb)) as client:
                households = client.search_count("res.partner", [["is_group", "=", True]])
            assert status["written"] == households == 40  # two batches of 20 confirmed, nothing counted ahead
            page = text(web.get(running))
            assert "Import finished" not in page and "Import stopped before the end" in page
            assert "40 households created" in page and people_in(sb) == 0
            home = text(web.get("/"))
            assert 'class="pill stopped"' in home
        finally:
            app.extensions["spp_shutdown"]()


# -- signing in: limited, without locking the others out --------------------------------------


def test_sign_in_attempts_are_limited_per_login_without_locking_out_the_others(
    app: Flask, clock: Clock
) -> None:
    web = app.test_client()
    for _ in range(5):
        assert sign_in(web, password="typo").status_code == 401
    refused = sign_in(web)  # even the right password waits now: the login is locked for a while
    assert refused.status_code == 429
    assert re.search(r"Too many sign-in attempts for this login: wait 15 minutes", text(refused))
    other = app.test_client()
    assert sign_in(other, login="clerk-two", password="whatever").status_code == 401  # not locked out
    clock.now += 14 * 60
    assert "wait 1 minute " in text(sign_in(web))
    clock.now += 61
    assert sign_in(web).status_code == 302


def test_sign_in_attempts_are_limited_per_client_address(app: Flask) -> None:
    def attempt(address: str, login: str):
        web = app.test_client()
        web.environ_base["REMOTE_ADDR"] = address
        token = csrf(web.get("/sign-in").data)
        return web.post("/sign-in", data={"login": login, "password": "x", "csrf_token": token})

    for n in range(30):
        assert attempt("10.0.0.7", f"guess{n}").status_code == 401
    blocked = attempt("10.0.0.7", "guess-more")
    assert blocked.status_code == 429 and "for this computer" in text(blocked)
    assert attempt("10.0.0.8", "someone").status_code == 401  # another machine still gets an answer


# -- one run per session; one import of a file at a time --------------------------------------


def test_four_import_clicks_at_the_same_instant_start_one_import(own: tuple[Sandbox, Flask]) -> None:
    registry, app = own
    web = app.test_client()
    sign_in(web)
    dry = checked(web, SAMPLES / "roster.csv")
    release = threading.Event()
    CallHook(registry, "load:group", nth=1, action=lambda: release.wait(30), exclusive=False)
    cookie = web.get_cookie("spp_session")
    token = csrf(web.get(dry).data)
    clicks = []
    for _ in range(4):
        tab = app.test_client()
        tab.set_cookie(cookie.key, cookie.value)
        clicks.append(tab)
    barrier, landed = threading.Barrier(4), []

    def click(tab: FlaskClient) -> None:
        barrier.wait()
        landed.append(tab.post(dry + "/import", data={"csrf_token": token}).headers["Location"])

    threads = [threading.Thread(target=click, args=(t,)) for t in clicks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    release.set()
    imports = [j for j in app.extensions["spp_sessions"].all_jobs() if j.kind == "import"]
    assert len(imports) == 1 and len(set(landed)) == 1
    wait_for(web, landed[0])


def test_two_clerks_importing_the_same_file_are_serialized(own: tuple[Sandbox, Flask]) -> None:
    registry, app = own
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second, login=REGISTRAR_LOGIN, password=REGISTRAR_PASSWORD)
    data = (SAMPLES / "roster.csv").read_bytes().replace(b"\r\n", b"\n")
    dry_one = checked(first, Path("roster.csv"), data=data)
    dry_two = checked(second, Path("copy of roster.csv"), data=data)  # same rows, another name
    release, arrived = threading.Event(), threading.Event()

    def hold() -> None:
        arrived.set()
        release.wait(30)

    CallHook(registry, "load:group", nth=1, action=hold, exclusive=False)
    running = start_import(first, dry_one)
    assert arrived.wait(30)
    refused = second.post(dry_two + "/import", data={"csrf_token": csrf(second.get(dry_two).data)})
    told = text(second.get(refused.headers["Location"]))
    release.set()
    assert "admin is importing this same file right now" in told
    assert wait_for(first, running)["state"] == "done"
    again = start_import(second, dry_two)  # once the first has ended, the second may go
    assert wait_for(second, again)["state"] == "done"
    numbers = re.search(r'id="in-numbers">([^<]*)<', text(second.get(again)))
    assert numbers and "0 added" in numbers.group(1)  # the second import created nothing: it was all there


# -- file names in any script ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["名簿.csv", "Список.csv"])
def test_a_file_named_in_any_script_is_accepted_and_shown_by_its_name(app: Flask, name: str) -> None:
    web = app.test_client()
    sign_in(web)
    job_url = checked(web, Path(name), data=(SAMPLES / "roster.csv").read_bytes())
    page = text(web.get(job_url))
    assert "choose a .csv or .xlsx file" not in page and f'Check of <span class="file">{name}</span>' in page
    download = web.get(job_url + "/files/csv")
    assert download.status_code == 200
    assert (
        Path(name).stem in download.headers["Content-Disposition"]
        or "filename*=UTF-8''" in (download.headers["Content-Disposition"])
    )
    stored = [p.name for p in (Path(app.extensions["spp_sessions"].base_dir)).rglob("*.csv")]
    assert stored and all(n.isascii() for n in stored)


def test_the_restart_notice_says_what_was_written_and_what_not() -> None:
    record = {"file": "roster.xlsx", "state": "interrupted", "written": {"group": 1500, "individual": 5950},
              "pending": ["reg_id", "membership"]}  # fmt: skip
    assert news_sentence(record) == (
        "The import of roster.xlsx was interrupted by a restart of this page: 1,500 households and "
        "5,950 people written, ID numbers and memberships not yet; import the same file again to finish."
    )
    # The people's batch may be confirmed before the households': the sentence keeps the registry's order.
    finished_first = {**record, "written": {"individual": 5950, "group": 1500, "membership": 0}}
    assert news_sentence(finished_first) == news_sentence(record)


# -- "created" means it was not there ----------------------------------------------------------


def test_a_run_that_races_another_says_created_only_for_what_it_created(own: tuple[Sandbox, Flask]) -> None:
    """The page's import plans "create" for every row; after its plan, before its first batch, a
    command-line run of the same file (by the Registrar) writes them all. The page's import then
    updated them, and its report says so: "created" only for a record that was not there."""
    registry, app = own
    web = app.test_client()
    sign_in(web)  # as admin
    dry = checked(web, SAMPLES / "roster.csv")
    other: list = []
    original, fired, done = registry.dispatcher.handle, threading.Event(), threading.Event()

    def the_command_line_run_first() -> None:
        options = ImportOptions(mapping=MAPPINGS / "roster.yaml", out_dir=None, write_files=False)
        settings = settings_for(registry, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)
        other.append(run_import([SAMPLES / "roster.csv"], options, settings))

    def once_the_page_is_about_to_write(payload: dict) -> dict:
        params = payload.get("params", {})
        args = params.get("args") or []
        kwargs = args[6] if len(args) > 6 else {}
        # The page's import asks for the newest id just before its first batch: its plan is done.
        newest = args[3:5] == ["res.partner", "search"] and kwargs.get("order") == "id desc"
        if newest and not fired.is_set():
            fired.set()
            the_command_line_run_first()
            done.set()
        elif fired.is_set() and args[1:2] == [ADMIN_UID]:
            done.wait(60)  # the page's other calls wait for the command-line run, as if it came first
        return original(payload)

    registry.dispatcher.handle = once_the_page_is_about_to_write  # type: ignore[method-assign]
    running = start_import(web, dry)
    status = wait_for(web, running)
    job = app.extensions["spp_sessions"].all_jobs()[-1]
    assert status["state"] == "done", (job.error, job.details)
    [cli] = other
    assert set(cli.report.records["status"]) == {"created"}  # all of it was the command line's
    assert people_in(registry) == 238  # and nothing twice
    page_records = job.result.report.records
    assert set(page_records["status"]) == {"updated"}, page_records.groupby(["entity", "status"]).size()
    numbers = re.search(r'id="in-numbers">([^<]*)<', text(web.get(running)))
    assert numbers and "0 added" in numbers.group(1)
