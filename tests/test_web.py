"""The clerks' web page through Flask's test client, against a real sandbox registry.

Pins what must never regress: a wrong password is refused and a right one
signs in; the password is in no cookie and no file; every POST needs its
CSRF token; one clerk cannot see another's job or report; the size limit
holds; idle sessions expire.
"""

from __future__ import annotations

import html
import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import people_in
from flask import Flask
from flask.testing import FlaskClient
from reliability_support import CallHook

from importer.sandbox import ADMIN_API_KEY, ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox
from importer.web.app import create_app
from importer.web.mappings import detect_mapping, list_mappings
from importer.web.sessions import SessionStore

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
MAPPINGS = ROOT / "mappings"


@pytest.fixture(scope="module")
def registry() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


class Clock:
    """A clock the test moves by hand, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(registry: Sandbox, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    app = create_app(
        {
            "SPP_URL": registry.url,
            "SPP_DB": registry.db,
            "MAPPINGS_DIR": str(MAPPINGS),
            "WORK_DIR": str(tmp_path / "work"),
            "IDLE_TIMEOUT": 600,
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["spp_sessions"].close()


def csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1).decode()


def sign_in(web: FlaskClient, password: str = ADMIN_PASSWORD, login: str = ADMIN_LOGIN):
    token = csrf(web.get("/sign-in").data)
    return web.post("/sign-in", data={"login": login, "password": password, "csrf_token": token})


def upload(web: FlaskClient, path: Path, mapping: str = "detect", data: bytes | None = None):
    token = csrf(web.get("/").data)
    content = path.read_bytes() if data is None else data
    return web.post(
        "/upload",
        data={"csrf_token": token, "mapping": mapping, "file": (io.BytesIO(content), path.name)},
        content_type="multipart/form-data",
    )


def wait_for(web: FlaskClient, job_url: str, deadline: float = 120.0) -> dict:
    """Poll the job's status like the page does, until it is finished."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = web.get(job_url + "/status").get_json()
        if status["finished"]:
            return status
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cookie_values(app: Flask, web: FlaskClient) -> dict:
    cookie = web.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_pages_need_a_sign_in(app: Flask) -> None:
    web = app.test_client()
    response = web.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert web.get("/jobs/whatever/status").status_code == 401


def test_wrong_password_is_refused_with_a_plain_message(app: Flask) -> None:
    web = app.test_client()
    response = sign_in(web, password="not-the-password")
    assert response.status_code == 401
    assert "did not accept this login and password" in text(response)
    assert "sid" not in cookie_values(app, web)
    assert len(app.extensions["spp_sessions"]) == 0
    assert web.get("/").status_code == 302


def test_right_password_signs_in_and_the_cookie_holds_only_a_session_id(app: Flask) -> None:
    web = app.test_client()
    response = sign_in(web, password=ADMIN_API_KEY)
    assert response.status_code == 302
    values = cookie_values(app, web)
    assert set(values) <= {"sid", "csrf_token", "_flashes"}
    assert ADMIN_API_KEY not in repr(values)
    page = web.get("/")
    assert page.status_code == 200 and "Signed in as" in text(page)


def test_every_post_needs_its_csrf_token(app: Flask) -> None:
    web = app.test_client()
    refused = web.post("/sign-in", data={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
    assert refused.status_code == 400
    assert len(app.extensions["spp_sessions"]) == 0
    assert sign_in(web).status_code == 302
    no_token = web.post(
        "/upload",
        data={"mapping": "roster", "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    assert web.post("/sign-out").status_code == 400
    assert web.get("/").status_code == 200  # still signed in: the forged sign-out did nothing


def test_dry_run_lists_the_problems_in_the_clerks_own_words(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    response = upload(web, SAMPLES / "workbook_broken.xlsx", mapping="workbook")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert wait_for(web, job_url)["state"] == "done"
    page = text(web.get(job_url))
    assert "'Femal' is not a Gender the registry knows" in page
    assert "Date of birth" in page  # the clerk's column name, not the field name
    assert "Nothing has been written yet" in page
    xlsx = web.get(job_url + "/files/xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_detect_from_headers_picks_the_matching_layout(app: Flask) -> None:
    from importer.read import read_source

    choices = list_mappings(MAPPINGS)
    roster, _ = detect_mapping(choices, read_source(SAMPLES / "roster.xlsx"))
    workbook, _ = detect_mapping(choices, read_source(SAMPLES / "workbook_broken.xlsx"))
    assert roster is not None and roster.key == "roster"
    assert workbook is not None and workbook.key == "workbook"


def test_another_session_cannot_see_a_job_or_its_report(app: Flask) -> None:
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice)
    sign_in(bob)
    job_url = upload(alice, SAMPLES / "roster.csv", mapping="roster").headers["Location"]
    wait_for(alice, job_url)
    assert alice.get(job_url + "/files/csv").status_code == 200
    assert bob.get(job_url).status_code == 404
    assert bob.get(job_url + "/status").status_code == 404
    for kind in ("xlsx", "csv", "errors_csv"):
        assert bob.get(f"{job_url}/files/{kind}").status_code == 404
    token = csrf(bob.get("/").data)
    assert bob.post(job_url + "/import", data={"csrf_token": token}).status_code == 404


def test_upload_over_the_size_limit_is_refused(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    web = app.test_client()
    sign_in(web)
    response = upload(web, SAMPLES / "roster.csv", data=b"a,b\n" + b"1,2\n" * 4000)
    assert response.status_code == 413
    assert "too big" in text(response)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("people.pdf", b"%PDF-1.4", "choose a .csv or .xlsx file"),
        ("people.xlsx", b"name,sex\nAna,F\n", "is not an Excel workbook"),
        ("people.csv", b"PK\x03\x04rest-of-zip", "is a workbook or archive"),
        ("people.csv", b"", "the file is empty"),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_refused(app: Flask, name: str, content: bytes, why: str) -> None:
    web = app.test_client()
    sign_in(web)
    response = upload(web, Path(name), mapping="roster", data=content)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert why in text(web.get("/"))


def test_sign_out_forgets_the_password_and_deletes_the_files(app: Flask) -> None:
    web = app.test_client()
    sign_in(web, password=ADMIN_API_KEY)
    job_url = upload(web, SAMPLES / "roster.csv", mapping="roster").headers["Location"]
    wait_for(web, job_url)
    store: SessionStore = app.extensions["spp_sessions"]
    (clerk,) = store._sessions.values()
    folder = clerk.folder
    assert any(folder.rglob("*.xlsx"))
    for path in Path(app.config["WORK_DIR"]).rglob("*"):  # the password is in no file we wrote
        if path.is_file():
            assert ADMIN_API_KEY.encode() not in path.read_bytes(), path
    web.post("/sign-out", data={"csrf_token": csrf(web.get("/").data)})
    assert len(store) == 0 and not folder.exists()
    assert not clerk.secret
    assert web.get(job_url).status_code == 302


def test_an_idle_session_expires(app: Flask, clock: Clock) -> None:
    web = app.test_client()
    sign_in(web)
    assert web.get("/").status_code == 200
    clock.now += 601
    response = web.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert len(app.extensions["spp_sessions"]) == 0
    assert "signed out after a while" in text(web.get("/sign-in"))


def test_import_then_the_same_file_again_writes_nothing_new(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    sample = SAMPLES / "roster.csv"
    job_url = upload(web, sample, mapping="roster").headers["Location"]
    wait_for(web, job_url)
    page = web.get(job_url)
    if "Nothing new would be written" not in text(page):  # not yet imported by an earlier test
        import_url = web.post(job_url + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]
        assert wait_for(web, import_url)["state"] == "done"
        assert "Import finished" in text(web.get(import_url))
    again = upload(web, sample, mapping="roster").headers["Location"]
    wait_for(web, again)
    assert "Nothing new would be written" in text(web.get(again))


def test_template_download_gives_a_workbook(app: Flask) -> None:
    pytest.importorskip("importer.template", reason="importer/template.py (the lead's) is not there yet")
    web = app.test_client()
    sign_in(web)
    response = web.get("/template?mapping=roster")
    assert response.status_code == 200 and response.data[:2] == b"PK"


def test_serve_flags_say_where_the_registry_is_but_never_who_signs_in(monkeypatch) -> None:
    from importer.cli import build_parser
    from importer.web.app import config_from_args

    monkeypatch.setenv("SPP_PASSWORD", "from-the-environment")
    args = build_parser().parse_args(
        ["serve", "--url", "http://127.0.0.1:9999", "--db", "prod", "--login", "clerk1", "--mappings", "m"]
    )
    config = config_from_args(args)
    assert config["SPP_URL"] == "http://127.0.0.1:9999" and config["SPP_DB"] == "prod"
    assert config["DEFAULT_LOGIN"] == "clerk1" and config["MAPPINGS_DIR"] == "m"
    assert "from-the-environment" not in repr(config)


def test_serve_defaults_to_the_sandbox(monkeypatch) -> None:
    from importer.cli import build_parser
    from importer.web.app import config_from_args

    for name in ("SPP_URL", "SPP_DB", "SPP_LOGIN", "SPP_PASSWORD", "SPP_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)  # no spp-import.toml here
    config = config_from_args(build_parser().parse_args(["serve"]))
    assert (config["SPP_URL"], config["SPP_DB"]) == ("http://127.0.0.1:8069", "openspp")


def test_several_csv_files_are_checked_together_and_their_layout_detected(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    names = ("households.csv", "individuals.csv", "memberships.csv")
    response = web.post(
        "/upload",
        data={
            "csrf_token": csrf(web.get("/").data),
            "mapping": "detect",
            "file": [(io.BytesIO((SAMPLES / n).read_bytes()), n) for n in names],
        },
        content_type="multipart/form-data",
    )
    job_url = response.headers["Location"]
    assert wait_for(web, job_url)["state"] == "done"
    page = text(web.get(job_url))
    assert "csv-files" in page and "recognised from the column headers" in page
    assert "Households" in page and "People" in page


def test_a_file_matching_no_layout_says_so_plainly(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    job_url = upload(web, Path("pets.csv"), data=b"pet,colour\nRex,brown\n").headers["Location"]
    assert wait_for(web, job_url)["state"] == "failed"
    assert "do not match any layout we know" in text(web.get(job_url))


def test_the_stop_button_ends_an_import_after_the_batches_in_flight(tmp_path: Path, clock: Clock) -> None:
    """Stop mid-import: the page says what went through, the registry agrees, importing again finishes."""
    arrived, stop_posted = threading.Event(), threading.Event()

    def hold_until_stop_is_posted() -> None:  # runs inside the registry, during the 3rd people batch
        arrived.set()
        stop_posted.wait(30)

    with Sandbox() as sb:
        config = {"SPP_URL": sb.url, "SPP_DB": sb.db, "MAPPINGS_DIR": str(MAPPINGS), "BATCH_SIZE": 20,
                  "WORK_DIR": str(tmp_path / "work"), "CLOCK": clock, "TESTING": True}  # fmt: skip
        app = create_app(config)
        try:
            web = app.test_client()
            sign_in(web)
            checked = upload(web, SAMPLES / "roster.csv", mapping="roster").headers["Location"]
            wait_for(web, checked)
            CallHook(sb, "load:individual", nth=3, action=hold_until_stop_is_posted, exclusive=False)
            page = web.get(checked)
            running = web.post(checked + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]
            assert arrived.wait(60), "the import never reached its third batch of people"
            page = web.get(running)
            assert "Stop the import" in text(page)
            assert web.post(running + "/stop").status_code == 400  # CSRF applies to Stop too
            other = app.test_client()
            sign_in(other)
            assert web.get(running + "/status").get_json()["stoppable"]
            assert (
                other.post(running + "/stop", data={"csrf_token": csrf(other.get("/").data)}).status_code
                == 404
            )
            assert web.post(running + "/stop", data={"csrf_token": csrf(page.data)}).status_code == 302
            stop_posted.set()
            assert wait_for(web, running)["state"] == "done"
            result = text(web.get(running))
            assert "Import stopped, as you asked" in result
            assert "Stop the import" not in result
            assert 0 < people_in(sb) < 238  # some batches went through, the rest were never sent

            again = upload(web, SAMPLES / "roster.csv", mapping="roster").headers["Location"]
            wait_for(web, again)
            page = web.get(again)
            assert "ready" in text(page) and "Nothing new would be written" not in text(page)
            finish = web.post(again + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]
            assert wait_for(web, finish)["state"] == "done"
            assert "Import finished: all 238 rows went through" in text(web.get(finish))
            assert people_in(sb) == 238
        finally:
            stop_posted.set()
            app.extensions["spp_sessions"].close()
