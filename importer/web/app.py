"""The Flask application: sign in, upload, dry-run report, import with progress, downloads.

Server-rendered pages (Jinja), one small script that polls a job's status,
CSRF on every POST (Flask-WTF), and a session cookie that carries only a
random id: the clerk's password stays in this process's memory
(:mod:`importer.web.sessions`).  Every page that shows or serves a file
looks the job up *in the clerk's own session*, so another clerk's job id is
simply unknown here.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from importer.client import OdooClient
from importer.errors import AuthenticationError, SppError, TransportError
from importer.outcome import ImportFailure
from importer.settings import ConnectionSettings, Retry, Secret, Timeout, load_settings
from importer.web.jobs import STOPPING, Job, drain, files_digest, news_sentence, start_job
from importer.web.limits import AttemptLimiter, minutes
from importer.web.mappings import MappingChoice, list_mappings
from importer.web.matching import (
    ENTITY_CHOICES,
    LayoutRefused,
    apply_form,
    build_layout,
    layout_key,
    option_value,
    save_layout,
    value_options,
)
from importer.web.report_view import report_view, row_table
from importer.web.sessions import ClerkSession, SessionStore
from importer.web.state import ImportRecords, WorkArea, secret_key
from importer.web.uploads import UploadRefused, new_upload_dir, save_upload

log = logging.getLogger("importer.web")

SANDBOX_URL, SANDBOX_DB = "http://127.0.0.1:8069", "openspp"
DEFAULTS: dict[str, Any] = {
    "SPP_URL": SANDBOX_URL,
    "SPP_DB": SANDBOX_DB,
    "SPP_VERIFY_TLS": True,
    "SPP_TIMEOUT": 300.0,
    "MAPPINGS_DIR": "mappings",
    "STATE_DIR": None,  # secret key, import records, clerks' files; default: a fresh private temp folder
    "WORK_DIR": None,  # clerks' uploads and reports; default: this process's folder under STATE_DIR/work
    "RECORD_RETENTION": 14 * 24 * 3600,  # seconds an import's record is kept for the notice after a restart
    "BEHIND_PROXY": False,  # cookies marked Secure (the server trusts the proxy's X-Forwarded-* headers)
    "DRAIN_TIMEOUT": 60.0,  # seconds to wait, on the way out, for imports to finish their batches in flight
    "SIGN_IN_LIMIT_LOGIN": 5,  # failed sign-ins per login ...
    "SIGN_IN_LIMIT_ADDRESS": 30,  # ... and per client address ...
    "SIGN_IN_WINDOW": 15 * 60,  # ... within this many seconds
    "IDLE_TIMEOUT": 30 * 60,  # seconds without a request before a session (and its password) is dropped
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
    "BATCH_SIZE": 100,  # smaller than the CLI's 500 so the progress bar moves on ordinary files
    "MAX_JOBS": 4,  # runs at the same time, all clerks together
    "DEFAULT_LOGIN": "",
    "SESSION_COOKIE_NAME": "spp_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (idle-limited) session
}

#: Scripts only from our own static folder; inline styles allowed for the progress bar's width.
CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"

#: Told at sign-in, and wherever Import would be, to a login the registry lets read but not write.
CHECK_ONLY = (
    "This login may read the registry but not add to it: you can check files here, "
    "but not import them. Ask your administrator for the right to create registrants."
)

DOWNLOADS = {
    "xlsx": ("Annotated workbook", "xlsx"),
    "errors_csv": ("Problems only", "csv"),
    "csv": ("Status of every row", "csv"),
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides :data:`DEFAULTS` (tests pass a sandbox's URL)."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    temporary = not app.config["STATE_DIR"]  # tests and one-off pages: removed at shut-down
    state_dir = Path(app.config["STATE_DIR"] or tempfile.mkdtemp(prefix="spp-import-state-"))
    app.config.setdefault("SECRET_KEY", None)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or secret_key(state_dir)  # survives a restart
    if app.config["BEHIND_PROXY"]:  # the proxy speaks HTTPS to the clerks: cookies only over HTTPS
        # No Referer check on HTTPS: the page sends no Referer (Referrer-Policy: no-referrer); the
        # CSRF token and the SameSite cookie still guard every POST.
        app.config.update(SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https", WTF_CSRF_SSL_STRICT=False)
    area = None if app.config["WORK_DIR"] else WorkArea(state_dir)
    work_dir = Path(app.config["WORK_DIR"]) if area is None else area.path
    store = SessionStore(work_dir, float(app.config["IDLE_TIMEOUT"]), **_clock(app.config))
    app.extensions["spp_sessions"] = store
    records = ImportRecords(state_dir, float(app.config["RECORD_RETENTION"]))
    records.recover()  # imports a killed process left "running" were interrupted
    records.sweep()
    boot = secrets.token_hex(8)  # in the cookie: a sid from another boot means "restarted", not "idle"
    gate = threading.BoundedSemaphore(int(app.config["MAX_JOBS"]))
    importing: dict[str, Job] = {}  # file digest -> the import writing it (same rows never twice at once)
    importing_lock = threading.Lock()
    window, clock = float(app.config["SIGN_IN_WINDOW"]), app.config.get("CLOCK") or time.monotonic
    per_login = AttemptLimiter(int(app.config["SIGN_IN_LIMIT_LOGIN"]), window, clock)
    per_address = AttemptLimiter(int(app.config["SIGN_IN_LIMIT_ADDRESS"]), window, clock)
    CSRFProtect(app)

    def shut_down(stopping: Callable[[int], None] | None = None) -> list[Job]:
        """Stop the imports, let their batches in flight finish, record them, delete the clerks' files."""
        unfinished = drain(store.all_jobs(), float(app.config["DRAIN_TIMEOUT"]), stopping)
        store.close()
        if area is not None:
            area.close()
        if temporary:
            shutil.rmtree(state_dir, ignore_errors=True)
        return unfinished

    def tidy() -> None:
        """Drop idle sessions (and their files) and old records, even when no request comes."""
        store.sweep()
        records.sweep()

    app.extensions["spp_shutdown"] = shut_down
    app.extensions["spp_tidy"] = tidy

    def shared_choices() -> list[MappingChoice]:
        return list_mappings(Path(app.config["MAPPINGS_DIR"]))

    def choices() -> list[MappingChoice]:
        """The layouts every clerk has, then those this clerk saved for their session."""
        clerk = g.get("clerk")
        return shared_choices() + (list(clerk.layouts.values()) if clerk is not None else [])

    def settings_for(clerk: ClerkSession) -> ConnectionSettings:
        return _settings(app.config, clerk.login, clerk.secret)

    @app.before_request
    def load_clerk() -> None:
        g.clerk = store.get(session.get("sid"))
        g.expired = bool(session.get("sid")) and g.clerk is None
        g.restarted = g.expired and session.get("boot") != boot
        if g.expired:
            session.pop("sid", None)

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.context_processor
    def common() -> dict[str, Any]:
        return {
            "clerk": g.get("clerk"),
            "server": app.config["SPP_URL"],
            "database": app.config["SPP_DB"],
            "check_only": CHECK_ONLY,
        }

    def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.clerk is None:
                if request.path.endswith("/status"):
                    return jsonify({"state": "signed-out", "finished": True}), 401
                if g.restarted:
                    flash(
                        "This page was restarted, which signs everyone out (passwords are never kept "
                        "on disk). Please sign in again.",
                        "info",
                    )
                elif g.expired:
                    flash("You were signed out after a while without activity. Please sign in again.", "info")
                return redirect(url_for("sign_in"))
            return view(*args, **kwargs)

        return wrapper

    def own_job(job_id: str) -> Job:
        """The clerk's job, or 404: jobs are looked up in the clerk's own session only."""
        job = g.clerk.jobs.get(job_id)
        if job is None:
            abort(404)
        return job

    # -- signing in and out --------------------------------------------------------------

    @app.get("/sign-in")
    def sign_in() -> Any:
        if g.clerk is not None:
            return redirect(url_for("home"))
        return render_template("sign_in.html", login=app.config["DEFAULT_LOGIN"])

    @app.post("/sign-in")
    def sign_in_post() -> Any:
        login = request.form.get("login", "").strip()
        secret = Secret(request.form.get("password", ""))
        if not login or not secret:
            flash("Enter your login and your password.", "error")
            return render_template("sign_in.html", login=login), 400
        address = request.remote_addr or "unknown"
        wait_login, wait_address = per_login.wait(login.casefold()), per_address.wait(address)
        if wait_login or wait_address:
            whom = "this login" if wait_login >= wait_address else "this computer"
            flash(
                f"Too many sign-in attempts for {whom}: wait {minutes(max(wait_login, wait_address))} "
                "and try again. Other clerks can still sign in.",
                "error",
            )
            return render_template("sign_in.html", login=login), 429
        try:
            # One quick retry only: a clerk waiting at the sign-in form wants an answer, not backoff.
            quick = dataclasses.replace(_settings(app.config, login, secret), retry=Retry(attempts=2))
            with OdooClient(quick) as client:
                uid = client.authenticate()
                may_import = _may_import(client)
                may_administer = _may_administer(client)
        except AuthenticationError:
            per_login.failed(login.casefold())
            per_address.failed(address)
            flash("The registry did not accept this login and password. Check them and try again.", "error")
            return render_template("sign_in.html", login=login), 401
        except TransportError:
            flash(f"The registry at {app.config['SPP_URL']} cannot be reached right now.", "error")
            return render_template("sign_in.html", login=login), 503
        except SppError as exc:
            flash(f"The registry refused the sign-in: {exc}", "error")
            return render_template("sign_in.html", login=login), 401
        store.drop(session.get("sid"))
        session.clear()  # a fresh session (and CSRF token) after sign-in: no fixation
        per_login.succeeded(login.casefold())
        clerk = store.create(login, secret, uid, may_import=may_import, may_administer=may_administer)
        session["sid"] = clerk.sid  # the page after sign-in shows CHECK_ONLY to a login that may not write
        session["boot"] = boot
        for record in records.take_news(login):  # imports a restart cut off, told once
            flash(news_sentence(record), "warning")
        return redirect(url_for("home"))

    @app.post("/sign-out")
    def sign_out() -> Any:
        store.drop(session.get("sid"))
        session.clear()
        flash("You are signed out. Your uploads and reports on this server were deleted.", "info")
        return redirect(url_for("sign_in"))

    # -- uploading, checking, importing --------------------------------------------------

    @app.get("/")
    @signed_in
    def home() -> Any:
        jobs = sorted(g.clerk.jobs.values(), key=lambda j: j.started, reverse=True)
        return render_template(
            "upload.html",
            choices=choices(),
            jobs=jobs,
            limit_mb=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
        )

    @app.post("/upload")
    @signed_in
    def upload() -> Any:
        with g.clerk.launch_lock:  # checking for a run and starting one is a single step
            return _upload(g.clerk)

    def _upload(clerk: ClerkSession) -> Any:
        running = clerk.running_job()
        if running is not None:
            flash("Wait for the current run to finish before starting another.", "error")
            return redirect(url_for("job_page", job_id=running.id))
        key = request.form.get("mapping", "detect")
        known = {c.key: c for c in choices()}
        if key != "detect" and key not in known:
            flash("Choose a layout from the list.", "error")
            return redirect(url_for("home"))
        files = [f for f in request.files.getlist("file") if f.filename]
        if not files:
            flash("Choose a file to upload.", "error")
            return redirect(url_for("home"))
        target_dir = new_upload_dir(clerk.folder)
        paths: list[Path] = []
        names: dict[str, str] = {}
        for file in files:
            try:
                if file.filename in names.values():
                    raise UploadRefused("two files have the same name")
                path, shown = save_upload(file.filename, file.stream, target_dir)
            except UploadRefused as exc:
                shutil.rmtree(target_dir, ignore_errors=True)
                flash(f"{file.filename}: {exc}.", "error")
                return redirect(url_for("home"))
            paths.append(path)
            names[path.name] = shown
        job = Job("dry-run", paths, target_dir / "reports", known.get(key), names=names)
        return _launch(clerk, job)

    @app.post("/jobs/<job_id>/import")
    @signed_in
    def import_job(job_id: str) -> Any:
        clerk: ClerkSession = g.clerk
        checked = own_job(job_id)
        if checked.kind != "dry-run" or checked.state != "done" or checked.mapping is None:
            abort(400)
        with clerk.launch_lock:  # four clicks at once: one import, the others land on it
            running = clerk.running_job()
            if running is not None:  # a double click lands on the run already going
                return redirect(url_for("job_page", job_id=running.id))
            if not clerk.may_import and not _may_import_now(clerk):
                flash(CHECK_ONLY, "error")  # nothing is sent: the report never claims rows went through
                return redirect(url_for("job_page", job_id=checked.id), code=303)
            job = Job("import", checked.uploads, checked.out_dir, checked.mapping, detected=checked.detected)
            job.source_job, job.fit, job.names = checked.id, checked.fit, checked.names
            job.digest = files_digest(checked.uploads)
            holder = _claim(job, clerk.login)
            if holder is not None:
                since = time.strftime("%H:%M", time.localtime(holder.started))
                who = "You are" if holder.login == clerk.login else f"{holder.login} is"
                flash(
                    f"{who} importing this same file right now (since {since}). Wait until that import "
                    "ends, then import again: what it wrote will show as unchanged.",
                    "error",
                )
                return redirect(url_for("job_page", job_id=checked.id), code=303)
            return _launch(clerk, job)

    def _claim(job: Job, login: str) -> Job | None:
        """Reserve ``job``'s file for it; the import already writing the same file, if any."""
        with importing_lock:
            holder = importing.get(job.digest)
            if holder is not None and not holder.finished:
                return holder
            for digest in [d for d, j in importing.items() if j.finished]:
                del importing[digest]
            job.login = login
            importing[job.digest] = job
            return None

    def _may_import_now(clerk: ClerkSession) -> bool:
        """Ask the registry again (rights may have been granted since sign-in); remember a yes."""
        try:
            with OdooClient(settings_for(clerk)) as client:
                clerk.may_import = _may_import(client)
        except SppError:
            return False
        return clerk.may_import

    @app.post("/jobs/<job_id>/layout")
    @signed_in
    def choose_layout(job_id: str) -> Any:
        """No layout matched the file: check it again with the layout the clerk chose."""
        clerk: ClerkSession = g.clerk
        unmatched = own_job(job_id)
        known = {c.key: c for c in choices()}
        choice = known.get(request.form.get("mapping", ""))
        if unmatched.kind != "dry-run" or not unmatched.finished or choice is None:
            abort(400)
        with clerk.launch_lock:
            running = clerk.running_job()
            if running is not None:
                return redirect(url_for("job_page", job_id=running.id))
            job = Job("dry-run", unmatched.uploads, unmatched.out_dir, choice, names=unmatched.names)
            return _launch(clerk, job)

    # -- the matching screen: a layout nobody has described yet ---------------------------

    def matching_page(job: Job, problems: list[str] | None = None, status: int = 200) -> Any:
        """The job page with the matching screen open (the clerk's last choices, or the suggestion)."""
        return render_template(
            "job.html",
            job=job,
            view=None,
            table=None,
            files={},
            follow_up=None,
            matching=_matching_context(job, problems or []),
            source=None,
        ), status

    @app.post("/jobs/<job_id>/match")
    @signed_in
    def match_columns(job_id: str) -> Any:
        """Apply the clerk's choices; check the file with them, or save them as a layout."""
        clerk: ClerkSession = g.clerk
        job = own_job(job_id)
        if job.suggestion is None:
            abort(400)
        base = job.draft or job.suggestion
        applied, problems = apply_form(
            base, request.form, login=clerk.login, codes=job.codes, groups=job.field_groups
        )
        name = request.form.get("name", "").strip()
        _key, bad_name = layout_key(name)
        job.draft, job.draft_name = applied, name
        if bad_name:
            problems.append(bad_name)
        if problems:
            return matching_page(job, problems, 400)
        try:
            layout = build_layout(applied, name, clerk.login, clerk.folder / "layouts-draft")
        except LayoutRefused as exc:
            return matching_page(job, exc.problems, 400)
        job.draft_yaml = layout.yaml
        if request.form.get("action") == "save":
            return _save(clerk, job, name, status_on_refusal=400)
        with clerk.launch_lock:
            running = clerk.running_job()
            if running is not None:
                flash("Wait for the current run to finish before starting another.", "error")
                return redirect(url_for("job_page", job_id=running.id))
            unsaved = "matched on this page, not saved yet"
            choice = MappingChoice(f"draft-{job.id}", name, unsaved, layout.path)
            check = Job("dry-run", job.uploads, job.out_dir, choice, names=job.names)
            check.matched_from = job.id
            return _launch(clerk, check)

    @app.post("/jobs/<job_id>/save-layout")
    @signed_in
    def save_matched_layout(job_id: str) -> Any:
        """Save the layout last checked from this job's matching screen, under the name given."""
        job = own_job(job_id)
        if not job.draft_yaml:
            abort(400)
        name = request.form.get("name", "").strip()
        return _save(g.clerk, job, name, status_on_refusal=400)

    def _save(clerk: ClerkSession, job: Job, name: str, *, status_on_refusal: int) -> Any:
        administer = _may_administer_now(clerk)
        try:
            saved = save_layout(
                job.draft_yaml,
                name,
                shared_dir=Path(app.config["MAPPINGS_DIR"]),
                shared=shared_choices(),
                session_dir=clerk.folder / "layouts",
                session=clerk.layouts,
                administer=administer,
                replace=request.form.get("replace") == "yes",
            )
        except LayoutRefused as exc:
            return matching_page(job, exc.problems, status_on_refusal)
        except OSError as exc:
            log.warning("could not save a layout: %s", type(exc).__name__)
            failed = "The layout could not be saved on this server; tell your administrator."
            return matching_page(job, [failed], 500)
        job.draft_name = saved.choice.name
        if saved.for_everyone:
            log.info("layout %r saved for every clerk by %s", saved.choice.key, clerk.login)
            flash(
                f"The layout “{saved.choice.name}” is saved for every clerk: files with these columns "
                "are recognised from now on.",
                "info",
            )
        else:
            flash(
                f"The layout “{saved.choice.name}” is saved for your session: files with these columns are "
                "recognised until you sign out. Ask an administrator to save it for everyone.",
                "info",
            )
        return redirect(url_for("home"), code=303)

    def _may_administer_now(clerk: ClerkSession) -> bool:
        """Ask the registry at the moment of saving: a right withdrawn since sign-in is withdrawn here."""
        try:
            with OdooClient(settings_for(clerk)) as client:
                clerk.may_administer = _may_administer(client)
        except SppError:
            clerk.may_administer = False
        return clerk.may_administer

    @app.post("/jobs/<job_id>/stop")
    @signed_in
    def stop_job(job_id: str) -> Any:
        job = own_job(job_id)
        if job.stoppable:
            job.request_stop()
            flash(STOPPING + ".", "info")
        return redirect(url_for("job_page", job_id=job.id))

    def _launch(clerk: ClerkSession, job: Job) -> Any:
        job.login = clerk.login
        job.record = lambda j: records.keep(j.outcome())
        clerk.jobs[job.id] = job
        start_job(job, settings_for(clerk), choices(), batch_size=int(app.config["BATCH_SIZE"]), gate=gate)
        return redirect(url_for("job_page", job_id=job.id))

    @app.get("/jobs/<job_id>")
    @signed_in
    def job_page(job_id: str) -> Any:
        job = own_job(job_id)
        view = table = None
        if job.state in ("done", "stopped") and job.result:
            view = report_view(job.result.report)
            table = row_table(
                job.result.report,
                status=request.args.get("status", ""),
                problem=request.args.get("problem", ""),
                page=request.args.get("page", 1, type=int),
            )
        follow_up = next((j for j in g.clerk.jobs.values() if j.source_job == job.id), None)
        files = {}
        if job.result:
            files = {k: v for k, v in DOWNLOADS.items() if k in job.result.files}
        matching = _matching_context(job, []) if job.suggestion is not None and job.finished else None
        source = g.clerk.jobs.get(job.matched_from) if job.matched_from else None
        return render_template(
            "job.html",
            job=job,
            view=view,
            table=table,
            files=files,
            follow_up=follow_up,
            matching=matching,
            source=source,
        )

    @app.get("/jobs/<job_id>/status")
    @signed_in
    def job_status(job_id: str) -> Any:
        return jsonify(own_job(job_id).status())

    @app.get("/jobs/<job_id>/files/<kind>")
    @signed_in
    def job_file(job_id: str, kind: str) -> Any:
        job = own_job(job_id)
        if kind not in DOWNLOADS or job.result is None or kind not in job.result.files:
            abort(404)
        path = Path(job.result.files[kind])
        if not path.is_file() or g.clerk.folder not in path.resolve().parents:
            abort(404)
        return send_file(path, as_attachment=True, download_name=_download_name(job, path))

    @app.get("/template")
    @signed_in
    def template() -> Any:
        known = {c.key: c for c in choices()}
        choice = known.get(request.args.get("mapping", ""))
        if choice is None:
            flash("Choose a layout to get its empty template.", "error")
            return redirect(url_for("home"))
        try:
            from importer.template import write_template
        except ImportError:
            flash("Empty templates are not available on this server yet.", "error")
            return redirect(url_for("home"))
        target = g.clerk.folder / "templates" / f"{choice.key}-template.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            path = write_template(choice.path, target, settings_for(g.clerk))
        except (ImportFailure, SppError) as exc:
            flash(f"The template could not be made: {getattr(exc, 'message', exc)}", "error")
            return redirect(url_for("home"))
        return send_file(path, as_attachment=True, download_name=Path(path).name)

    # -- errors --------------------------------------------------------------------------

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: Exception) -> Any:
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        message = f"The file is too big: the limit is {limit} MB. Split it into smaller files."
        return render_template("message.html", title="File too big", message=message), 413

    @app.errorhandler(CSRFError)
    def csrf_failed(_: Exception) -> Any:
        message = "This form had expired. Go back, reload the page and try again."
        return render_template("message.html", title="Please try again", message=message), 400

    @app.errorhandler(404)
    def not_found(_: Exception) -> Any:
        message = "There is nothing here, or it belongs to another session."
        return render_template("message.html", title="Not found", message=message), 404

    return app


def _download_name(job: Job, path: Path) -> str:
    """A report's name after the clerk's own file name (``名簿-report.xlsx``), not the stored one."""
    if len(job.uploads) == 1:
        stored, shown = job.uploads[0].stem, Path(job.file_name).stem
        if path.name.startswith(stored):
            return shown + path.name[len(stored) :]
    return path.name


def _matching_context(job: Job, problems: list[str]) -> dict[str, Any]:
    """What the matching screen shows: the clerk's last choices (or the suggestion) and the lists."""
    shown = job.draft or job.suggestion
    assert shown is not None
    return {
        "s": shown,
        "problems": problems,
        "groups": job.field_groups,
        "entities": ENTITY_CHOICES,
        "option_value": option_value,
        "value_options": lambda col: value_options(shown, col),
        "name": job.draft_name or shown.name,
        "note": job.suggest_note,
        "yaml": job.draft_yaml,
    }


def _may_administer(client: OdooClient) -> bool:
    """Whether the login may save layouts for every clerk: it may change the registry's settings.

    Odoo lets only "Administration / Settings" (``base.group_system``) write
    ``ir.model.fields`` (a deployment's fields are its schema), so a yes from
    ``check_access_rights`` there is the same group the registry trusts with its
    own configuration.  Any failure to ask is a no: nothing is saved for everyone.
    """
    return client.check_access("ir.model.fields", "write")


def _may_import(client: OdooClient) -> bool:
    """Whether the signed-in login may create every kind of record an import writes."""
    from importer.catalog import MODELS_WRITTEN

    return all(client.check_access(model, "create") for model in MODELS_WRITTEN)


def _clock(config: dict[str, Any]) -> dict[str, Any]:
    return {"clock": config["CLOCK"]} if config.get("CLOCK") else {}


def _settings(config: dict[str, Any], login: str, secret: Secret) -> ConnectionSettings:
    return ConnectionSettings(
        url=config["SPP_URL"],
        db=config["SPP_DB"],
        login=login,
        secret=secret,
        verify_tls=bool(config["SPP_VERIFY_TLS"]),
        timeout=Timeout(connect=10.0, read=float(config["SPP_TIMEOUT"])),
    )


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The app's configuration from ``spp-import serve`` flags (config file < environment < flags).

    Only *where* the registry is comes from there; who signs in is up to each
    clerk, so a secret in the config file or environment is ignored here.
    """
    settings = load_settings(
        config_file=getattr(args, "config", None),
        url=getattr(args, "url", None),
        db=getattr(args, "db", None),
        login=getattr(args, "login", None) or "clerk",
        insecure=bool(getattr(args, "insecure", False)),
        default={"url": SANDBOX_URL, "db": SANDBOX_DB, "login": "clerk"},
    )
    return {
        "SPP_URL": settings.url,
        "SPP_DB": settings.db,
        "SPP_VERIFY_TLS": settings.verify_tls,
        "SPP_TIMEOUT": float(getattr(args, "timeout", None) or 300.0),
        "MAPPINGS_DIR": getattr(args, "mappings", None) or "mappings",
        "DEFAULT_LOGIN": getattr(args, "login", None) or "",
    }
