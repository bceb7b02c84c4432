"""The clerks' web page through Flask's test client, against a real sandbox registry.

Pins what must never regress: a wrong password is refused and a right one
signs in; the password is in no cookie and no file; every POST needs its
CSRF token; one clerk cannot see another's job or report; the size limit
holds; idle sessions expire.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from conftest import people_in, settings_for
from flask import Flask
from flask.testing import FlaskClient
from reliability_support import CallHook
from web_support import MAPPINGS, ROOT, SAMPLES, csrf, page_config, sign_in, text, upload, wait_for

from importer.client import OdooClient
from importer.sandbox import ADMIN_API_KEY, ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox
from importer.sandbox.auth import READONLY_LOGIN, READONLY_PASSWORD
from importer.web.app import create_app
from importer.web.mappings import detect_mapping, list_mappings
from importer.web.sessions import SessionStore


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
    app = create_app(page_config(registry, tmp_path / "work", IDLE_TIMEOUT=600, CLOCK=clock, TESTING=True))
    yield app
    app.extensions["spp_shutdown"]()


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
    assert set(values) <= {"sid", "boot", "csrf_token", "_flashes"}  # boot: which start of the page
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
    assert "'Femal' is not one of the registry's Gender values" in page
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


@dataclass
class HeldImport:
    """A fresh registry and its page; :meth:`hold`, hooked to a batch, keeps it in flight until Stop."""

    sb: Sandbox
    app: Flask
    arrived: threading.Event = field(default_factory=threading.Event)
    stop_posted: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        """Runs inside the registry, during the batch it is hooked to."""
        self.arrived.set()
        self.stop_posted.wait(30)


@contextlib.contextmanager
def page_whose_import_can_be_held(tmp_path: Path, clock: Clock) -> Iterator[HeldImport]:
    """A registry of its own (the test imports into it) behind a page sending batches of 20 rows.

    Whatever the test asserts, the held batch is let go and the page shut down at the end.
    """
    with Sandbox() as sb:
        app = create_app(page_config(sb, tmp_path / "work", BATCH_SIZE=20, CLOCK=clock, TESTING=True))
        held = HeldImport(sb, app)
        try:
            yield held
        finally:
            held.stop_posted.set()
            app.extensions["spp_shutdown"]()


def test_the_stop_button_ends_an_import_after_the_batches_in_flight(tmp_path: Path, clock: Clock) -> None:
    """Stop mid-import: the page says what went through, the registry agrees, importing again finishes."""
    with page_whose_import_can_be_held(tmp_path, clock) as held:
        sb, app = held.sb, held.app
        web = app.test_client()
        sign_in(web)
        checked = upload(web, SAMPLES / "roster.csv", mapping="roster").headers["Location"]
        wait_for(web, checked)
        CallHook(sb, "load:individual", nth=3, action=held.hold, exclusive=False)
        page = web.get(checked)
        running = web.post(checked + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]
        assert held.arrived.wait(60), "the import never reached its third batch of people"
        page = web.get(running)
        assert "Stop the import" in text(page)
        assert web.post(running + "/stop").status_code == 400  # CSRF applies to Stop too
        other = app.test_client()
        sign_in(other)
        assert web.get(running + "/status").get_json()["stoppable"]
        assert (
            other.post(running + "/stop", data={"csrf_token": csrf(other.get("/").data)}).status_code == 404
        )
        assert web.post(running + "/stop", data={"csrf_token": csrf(page.data)}).status_code == 302
        held.stop_posted.set()
        assert wait_for(web, running)["state"] == "stopped"  # never "done" after a stop
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


# -- a report a clerk can trust --------------------------------------------------------------


def headline(page: str) -> str:
    match = re.search(r'<div class="headline (\w+)" id="headline"[^>]*>([^<]*)</div>', page)
    assert match, "the page has no headline"
    return f"{match.group(1)}: {match.group(2)}"


def checked(web: FlaskClient, path: Path, mapping: str = "roster", data: bytes | None = None) -> str:
    """Upload and wait for the dry run; its page's URL."""
    job_url = upload(web, path, mapping=mapping, data=data).headers["Location"]
    wait_for(web, job_url)
    return job_url


def test_a_read_only_login_is_told_at_sign_in_it_can_check_but_not_import(
    app: Flask, registry: Sandbox
) -> None:
    web = app.test_client()
    before = people_in(registry)
    assert sign_in(web, login=READONLY_LOGIN, password=READONLY_PASSWORD).status_code == 302
    home = text(web.get("/"))
    assert "you can check files here, but not import them" in home
    job_url = checked(web, SAMPLES / "workbook.xlsx", mapping="workbook")  # never imported here
    page = web.get(job_url)
    assert "ready to import" in headline(text(page))  # checking works as for anyone
    assert "Import the rows that are ready" not in text(page)
    assert "you can check files here, but not import them" in text(page)

    forced = web.post(job_url + "/import", data={"csrf_token": csrf(page.data)})
    assert forced.status_code == 303 and forced.headers["Location"].endswith(job_url)
    after = text(web.get(job_url))
    assert "not import them" in after and "went through" not in after
    store: SessionStore = app.extensions["spp_sessions"]
    (clerk,) = [s for s in store._sessions.values() if s.login == READONLY_LOGIN]
    assert [j.kind for j in clerk.jobs.values()] == ["dry-run"]  # no import was started
    assert people_in(registry) == before


def test_a_read_only_import_never_says_rows_went_through(tmp_path: Path) -> None:
    """The issue's case: 234 rows already there, 4 changed, a read-only login: nothing is written.

    A login that may only read is refused before anything is sent; one that loses its
    rights before its first write gets a report that says nothing was written.
    """
    from importer.outcome import ImportFailure
    from importer.pipeline import ImportOptions, run_import
    from importer.web.report_view import report_view

    with Sandbox() as sb:
        options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode="import", out_dir=tmp_path)
        run_import([SAMPLES / "roster.csv"], options, settings_for(sb))
        lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
        for i in range(1, 5):  # four people whose family name changed since
            cells = lines[i].split(",")
            cells[5] = "Changed"
            lines[i] = ",".join(cells)
        changed = tmp_path / "roster.csv"
        changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
        viewer = settings_for(sb, READONLY_LOGIN, READONLY_PASSWORD)
        with pytest.raises(ImportFailure, match="may check files against the registry but not import"):
            run_import([changed], options, viewer)

        CallHook(sb, "load:individual", 1, lambda: sb.set_readonly(ADMIN_LOGIN, True))
        result = run_import([changed], options, settings_for(sb))
        view = report_view(result.report)
        assert "went through" not in view.headline and "fully written" not in view.headline
        assert view.headline.startswith("Nothing was written")
        assert "234 of 238 rows were already in the registry" in view.headline
        assert view.tone == "bad"
        sb.set_readonly(ADMIN_LOGIN, False)
        assert people_in(sb) == 238
        with OdooClient(settings_for(sb)) as client:
            assert client.search_count("res.partner", [["family_name", "=", "Changed"]]) == 0


def test_a_file_with_only_a_header_row_has_no_rows_to_import(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    header = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
    page = text(web.get(checked(web, Path("empty.csv"), data=header.encode())))
    said = re.search(r'id="failure">([^<]*)<', page)  # the run cannot start: there is nothing to check
    assert said and said.group(1).startswith("No rows to import"), said
    assert 'id="headline"' not in page and "ready" not in said.group(1)
    assert "Import the rows that are ready" not in page


def test_partly_written_rows_are_counted_apart_never_as_through() -> None:
    from importer.report import RunReport
    from importer.web.report_view import report_view

    statuses = ["created", "partly written", "skipped", "unchanged"]
    rows = pd.DataFrame(
        {"file": "f.csv", "sheet": "", "row": [2, 3, 4, 5], "status": statuses,
         "entities": "individual", "external_ids": "", "server_ids": "", "reasons": ""}
    )  # fmt: skip
    records = pd.DataFrame(
        {"entity": ["individual"] * 3 + ["reg_id"], "key": list("abcd"), "file": "f.csv", "sheet": "",
         "row": [2, 3, 5, 3], "status": ["created", "created", "unchanged", "skipped"],
         "external_id": "", "server_id": None, "reasons": ""}
    )  # fmt: skip
    problems = pd.DataFrame(columns=["code", "message", "file", "sheet", "row", "severity"])
    from importer.outcome import STOPPED_ON_REQUEST

    report = RunReport("import", records, rows, problems, {"stopped": STOPPED_ON_REQUEST})
    view = report_view(report)
    assert "2 of 4 rows fully written (1 of them already there, unchanged)" in view.headline
    assert "1 partly written" in view.headline
    assert "Written to the registry: 2 people created." in view.headline


def test_a_stopped_import_counts_rows_fully_written_and_agrees_with_the_server(
    tmp_path: Path, clock: Clock
) -> None:
    with page_whose_import_can_be_held(tmp_path, clock) as held:
        sb, app = held.sb, held.app
        web = app.test_client()
        sign_in(web)
        dry = checked(web, SAMPLES / "workbook.xlsx", mapping="workbook")
        CallHook(sb, "load:individual", nth=3, action=held.hold, exclusive=False)
        page = web.get(dry)
        running = web.post(dry + "/import", data={"csrf_token": csrf(page.data)}).headers["Location"]
        assert held.arrived.wait(60)
        web.post(running + "/stop", data={"csrf_token": csrf(page.data)})
        held.stop_posted.set()
        assert wait_for(web, running)["state"] == "stopped"
        result = text(web.get(running))
        line = headline(result)
        assert "Import stopped, as you asked" in line and "went through" not in line
        people = int(re.search(r"(\d+) people created", line).group(1))
        assert people == people_in(sb) > 0  # the page and the server agree
        fully = int(re.search(r"(\d+) of 536 rows fully written", line).group(1))
        report = web.get(running + "/files/csv").get_data(as_text=True).lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(report)))
        through = [r for r in rows if r["status"] in ("created", "updated", "unchanged")]
        assert fully == len(through) < people_in(sb) + 60  # people sent without their ID: not counted
        with OdooClient(settings_for(sb)) as client:  # each row counted has all its records on the server
            for row in through:
                for xid in filter(None, row["external_ids"].split("; ")):
                    module, name = xid.split(".", 1)
                    found = [["module", "=", module], ["name", "=", name]]
                    assert client.search_count("ir.model.data", found) == 1, xid
        skipped = text(web.get(running + "?status=skipped"))
        assert "not sent" in skipped


def test_the_row_table_lists_every_row_and_filters_by_status_and_by_problem(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    job_url = checked(web, SAMPLES / "workbook_broken.xlsx", mapping="workbook")
    page = text(web.get(job_url))
    assert 'id="rows"' in page
    body = page.split('id="rows"', 1)[1]
    assert "Every row" in body and body.split("<tbody>", 1)[1].count("<tr class=") == 31
    invalid = text(web.get(job_url + "?status=invalid")).split('id="rows"', 1)[1]
    statuses = set(re.findall(r'<tr class="status-([\w-]+)">', invalid))
    assert statuses == {"invalid"}
    unknown = text(web.get(job_url + "?problem=unknown_code")).split('id="rows"', 1)[1]
    assert "'Femal' is not one of the registry's Gender values" in unknown
    listed = unknown.split("<tbody>", 1)[1]
    assert listed.count("<tr class=") == listed.count('class="pill code">unknown code<') > 0
    skipped = text(web.get(job_url + "?status=skipped")).split('id="rows"', 1)[1]
    rows = re.findall(r'<tr class="status-skipped">', skipped)
    assert rows, "skipped rows are listed with their reason"
    assert "not" in skipped.split("<tbody>", 1)[1]


def test_the_row_table_of_a_big_file_is_shown_a_page_at_a_time(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    job_url = checked(web, SAMPLES / "roster.csv")
    first = text(web.get(job_url)).split('id="rows"', 1)[1]
    assert "page 1 of 3" in first and first.split("<tbody>", 1)[1].count("<tr class=") == 100
    last = text(web.get(job_url + "?page=3")).split('id="rows"', 1)[1]
    assert "page 3 of 3" in last and last.split("<tbody>", 1)[1].count("<tr class=") == 38
    assert ">239<" in last  # the file's own row numbers: the last data row is row 239


def test_a_file_matching_no_layout_lists_the_expected_columns_and_lets_the_clerk_choose(
    app: Flask,
) -> None:
    web = app.test_client()
    sign_in(web)
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
    renamed = "hh,household_name,household_kind,pid,first,last,gender,dob,relationship,nid,phone,notes"
    data = "\n".join([renamed, *(line + ",x" for line in lines[1:])]) + "\n"
    job_url = upload(web, Path("people.csv"), data=data.encode()).headers["Location"]
    assert wait_for(web, job_url)["state"] == "failed"
    page = text(web.get(job_url))
    assert 'id="mismatch"' in page
    mismatch = page.split('id="mismatch"', 1)[1]
    assert "Columns of people.csv: <code>hh</code> <code>household_name</code>" in mismatch
    assert "✓ household_name" in mismatch and "✗ person_id" in mismatch  # found and missing
    assert "Check the file as “roster”" in mismatch
    assert "<code>notes</code>" in mismatch  # the file's columns the layout would ignore
    chosen = web.post(job_url + "/layout", data={"csrf_token": csrf(page.encode()), "mapping": "roster"})
    again = chosen.headers["Location"]
    assert again != job_url and wait_for(web, again)["state"] == "failed"
    second = text(web.get(again))
    assert "reads column" in second  # the check names the column to rename
    assert "✗ person_id" in second and "this layout ignores" in second and "<code>pid</code>" in second


def test_a_chosen_layout_names_the_columns_it_ignores(app: Flask) -> None:
    web = app.test_client()
    sign_in(web)
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
    data = "\n".join([lines[0] + ",notes", *(line + ",call back" for line in lines[1:])]) + "\n"
    page = text(web.get(checked(web, Path("roster_notes.csv"), data=data.encode())))
    assert headline(page).startswith("good")
    ignored = page.split('id="ignored"', 1)[1].split("</p>", 1)[0]
    assert "<code>notes</code>" in ignored and "person_id" not in ignored


def test_a_dry_run_page_counts_new_and_to_update_and_shows_each_change(
    app: Flask, registry: Sandbox, tmp_path: Path
) -> None:
    """The page says the report's count line and, in the row table, each value before -> after."""
    header = (
        "household_id,household_name,household_kind,person_id,given_name,family_name,sex,"
        "date_of_birth,relationship,national_id,phone"
    )
    rows = ["HWEB1,Chen household,Household,PWEB1,Wei,Chen,M,01/02/1980,head,,"]
    first = tmp_path / "first.csv"
    first.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    from importer.pipeline import ImportOptions, run_import

    done = run_import(
        [first], ImportOptions(mapping=MAPPINGS / "roster.yaml", write_files=False), settings_for(registry)
    )
    assert done.exit_code == 0
    second = tmp_path / "second.csv"
    second.write_text(
        "\n".join(
            [
                header,
                rows[0].replace(",Wei,", ",Weiwei,"),
                "HWEB1,Chen household,Household,PWEB2,Lin,Chen,F,03/04/1982,spouse,,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    web = app.test_client()
    sign_in(web)
    page = text(web.get(checked(web, second)))
    numbers = re.search(r'id="in-numbers">In numbers: ([^<]*)<', page)
    assert numbers and numbers.group(1).startswith("1 new, 1 to update (1 value changes)"), numbers
    assert (
        "Changes: given_name: &#39;Wei&#39; → &#39;Weiwei&#39;" in page
        or "Changes: given_name: 'Wei' → 'Weiwei'" in page
    )
    with OdooClient(settings_for(registry)) as c:  # a dry run: the registry still holds the old name
        assert c.search_count("res.partner", [["given_name", "=", "Wei"], ["family_name", "=", "Chen"]]) == 1
