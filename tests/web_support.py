"""What the web page's tests share: the page's settings, signing in, uploading, waiting for a job.

``test_web.py`` and ``test_web_matching.py`` drive the page through Flask's
test client, ``test_web_browser.py`` through Chromium; all of them in front of
a sandbox registry.  One copy of each step keeps them driving the page alike
(the same CSRF token handling, the same polling of a job as the page's own
script does).
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from importer.sandbox import ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
MAPPINGS = ROOT / "mappings"

#: roster.csv's headers in French; "Appeler au" (the phone) is words no suggestion knows.
FRENCH = {
    "household_id": "Nº de ménage",
    "household_name": "Nom du ménage",
    "household_kind": "Type de ménage",
    "person_id": "Code membre",
    "given_name": "Prénom",
    "family_name": "Nom",
    "sex": "Sexe",
    "date_of_birth": "Date de naissance",
    "relationship": "Lien de parenté",
    "national_id": "Pièce",
    "phone": "Appeler au",
}


def french_roster() -> str:
    """roster.csv with its headers in French (:data:`FRENCH`): a layout no shipped mapping matches."""
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
    header = ",".join(FRENCH[h] for h in lines[0].split(","))
    return "\n".join([header, *lines[1:]]) + "\n"


def page_config(registry: Sandbox, work_dir: Path, mappings: Path = MAPPINGS, **extra: Any) -> dict[str, Any]:
    """``create_app``'s settings for a page in front of ``registry``, keeping its files under ``work_dir``.

    ``extra``: the settings a test changes (a clock, a batch size, ``TESTING``).
    """
    return {
        "SPP_URL": registry.url,
        "SPP_DB": registry.db,
        "MAPPINGS_DIR": str(mappings),
        "WORK_DIR": str(work_dir),
        **extra,
    }


@contextlib.contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` served on 127.0.0.1 (a free port) in a thread, for a real browser; its URL.

    Stopped after, and the page's own shutdown run (its jobs' threads end).
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["spp_shutdown"]()


# -- through Flask's test client -------------------------------------------------------------


def csrf(page: bytes | str) -> str:
    """The CSRF token of a page's form (every POST needs it)."""
    data = page.encode() if isinstance(page, str) else page
    match = re.search(rb'name="csrf_token" value="([^"]+)"', data)
    assert match, "the page has no CSRF token"
    return match.group(1).decode()


def sign_in(web: FlaskClient, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> Any:
    """Sign in through the form, as a clerk does; the page's answer (tests of refusals read it)."""
    token = csrf(web.get("/sign-in").data)
    return web.post("/sign-in", data={"login": login, "password": password, "csrf_token": token})


def signed_in(web: FlaskClient, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> None:
    """Sign in, which must succeed (sent on to the home page): for tests about what comes after."""
    answer = sign_in(web, login, password)
    assert answer.status_code == 302, answer.get_data(as_text=True)


def upload(web: FlaskClient, path: Path, mapping: str = "detect", data: bytes | None = None) -> Any:
    """Upload a file through the home page's form (``data``: its content instead of ``path``'s)."""
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


def text(response: Any) -> str:
    """A page as the clerk reads it (HTML entities undone)."""
    return html.unescape(response.get_data(as_text=True))
