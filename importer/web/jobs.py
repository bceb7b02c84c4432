"""Dry runs and imports in a background thread, with progress the page can poll.

A request must not wait for a 50,000-row file: the upload starts a
:class:`Job`, the browser polls its status (a small JSON document) and
reloads when it is finished.  The job runs the very same
:func:`importer.pipeline.run_import` as the command line; the web page adds
nothing to the import itself.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.errors import AuthenticationError, SppError, TransportError
from importer.load import LoadOptions
from importer.outcome import ENTITIES, Entity, ImportFailure
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.read import read_source
from importer.settings import ConnectionSettings
from importer.web.mappings import LayoutFit, MappingChoice, detect_mapping, layout_fit, layout_fits

if TYPE_CHECKING:  # pragma: no cover
    from importer.suggest import Suggestion
    from importer.web.matching import FieldGroup

log = logging.getLogger("importer.web")

STAGE_WORDS = {
    "detect": "Reading the column headers",
    "read": "Reading the file",
    "validate": "Checking every row against the registry",
    "load group": "Writing households",
    "load individual": "Writing people",
    "load reg_id": "Writing ID numbers",
    "load membership": "Writing memberships",
}

STOPPING = "Stopping: the batches already sent finish, nothing more is sent"
SHUTTING_DOWN = "Stopping: this page is restarting; the batches already sent finish, nothing more is sent"

#: What each load stage writes, in the words of the restart notice ("1,500 households ... written").
ENTITY_WORDS = {entity: info.plural for entity, info in ENTITIES.items()}


@dataclass(eq=False)
class Job:
    """One dry run or import of one uploaded file, owned by one session."""

    kind: str  # "dry-run" or "import"
    uploads: list[Path]
    out_dir: Path
    mapping: MappingChoice | None  # None: detect from the headers
    detected: bool = False
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    state: str = "queued"  # queued, running, done, stopped (by its clerk, the registry or a restart), failed
    stage: str = "Waiting to start"
    done: int = 0
    total: int = 0
    percent: float = 0.0
    written: int = 0
    error: str | None = None
    details: list[str] = field(default_factory=list)
    result: RunResult | None = None
    source_job: str | None = None  # the dry run an import was started from
    fit: LayoutFit | None = None  # the layout's columns against the file's (found, missing, ignored)
    fits: list[LayoutFit] = field(default_factory=list)  # no layout matched: every layout, closest first
    file_columns: list[tuple[str, list[str]]] = field(default_factory=list)  # (table label, its headers)
    # No layout matched: what `mapping suggest` proposes, for the matching screen (docs/architecture.md §7)
    suggestion: Suggestion | None = None
    field_groups: list[FieldGroup] = field(default_factory=list)  # the fields a column may feed
    codes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # coded columns' values
    suggest_note: str = ""  # why the suggestion was made without the server, if it was
    draft: Suggestion | None = None  # the clerk's last choices on the matching screen
    draft_name: str = ""
    draft_yaml: str = ""
    matched_from: str | None = None  # a dry run of a matching screen's choices: that screen's job
    stop: threading.Event = field(default_factory=threading.Event)  # the page's Stop button
    started: float = field(default_factory=time.time)
    names: dict[str, str] = field(default_factory=dict)  # stored file name -> the clerk's own name
    login: str = ""
    stopped_by_shutdown: bool = False  # the server is stopping: tell the clerk at their next sign-in
    record: Callable[[Job], None] | None = None  # keeps the import's progress in the state folder
    digest: str = ""  # the uploaded files' content, to serialize imports of the same file
    thread: threading.Thread | None = field(default=None, repr=False)
    _entities: list[Entity] = field(default_factory=list)
    _load_stages: int = 1
    #: per load stage: (records the server confirmed, records to send); stages of a wave interleave
    _load_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    @property
    def stoppable(self) -> bool:
        """An import still going, that its clerk has not yet asked to stop."""
        return self.kind == "import" and not self.finished and not self.stop.is_set()

    def request_stop(self) -> None:
        """Finish the batches already sent, send nothing more, then show the report."""
        if self.stoppable:
            self.stop.set()
            self.stage = STOPPING

    def stop_for_shutdown(self) -> None:
        """The server is stopping: end the import as Stop does, and say why."""
        if self.kind == "import" and not self.finished:
            self.stopped_by_shutdown = True
            self.stop.set()
            self.stage = SHUTTING_DOWN

    @property
    def file_name(self) -> str:
        """The files' names as the clerk gave them (stored under safe names)."""
        return ", ".join(self.names.get(p.name, p.name) for p in self.uploads)

    def written_by_entity(self) -> dict[str, int]:
        """Records the server confirmed so far, per kind of record (``group``, ``individual``...)."""
        return {stage.removeprefix("load "): d for stage, (d, _t) in self._load_counts.items()}

    def outcome(self) -> dict[str, Any]:
        """The import's progress and outcome as kept in the state folder (no paths, no secrets)."""
        written = self.written_by_entity()
        pending = [e.value for e in self._entities if written.get(e.value, -1) < self._total_of(e)]
        return {
            "id": self.id,
            "login": self.login,
            "file": self.file_name,
            "state": self.state,
            "started": self.started,
            "written": written,
            "pending": pending,
            "tell": self.stopped_by_shutdown or self.state in ("queued", "running"),
        }

    def _total_of(self, entity: Entity) -> int:
        counts = self._load_counts.get(f"load {entity.value}")
        return counts[1] if counts else 1

    def _save(self) -> None:
        if self.record is not None and self.kind == "import":
            try:
                self.record(self)
            except OSError as exc:  # the import goes on; only the notice after a restart is lost
                log.warning("could not record the import's progress: %s", exc)

    def status(self) -> dict[str, Any]:
        """What the polling page needs, and nothing else (no paths, no secrets)."""
        return {
            "state": self.state,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "percent": round(self.percent, 1),
            "written": self.written,
            "finished": self.finished,
            "stoppable": self.stoppable,
            "announce": self.announcement,
        }

    @property
    def announcement(self) -> str:
        """What a screen reader hears: the stage and the progress in steps of 10 %, not every tick."""
        step = int(self.percent // 10) * 10
        return f"{self.stage}: {step}% done." if self.state == "running" else f"{self.stage}."

    def on_progress(self, stage: str, done: int, total: int) -> None:
        """Pipeline callback: turn stage counters into one bar that only moves forward."""
        if self.stop.is_set():
            self.stage = SHUTTING_DOWN if self.stopped_by_shutdown else STOPPING
        else:
            self.stage = STAGE_WORDS.get(stage, stage)
        self.done, self.total = done, total
        fraction = done / total if total else 1.0
        if self.kind == "import":
            if stage == "read":
                percent = 5 * fraction
            elif stage == "validate":
                percent = 5 + 5 * fraction
            else:
                self._load_counts[stage] = (done, total)
                fractions = sum(d / t if t else 1.0 for d, t in self._load_counts.values())
                percent = 10 + 90 * min(1.0, fractions / self._load_stages)
                self.written = sum(d for d, _t in self._load_counts.values())  # confirmed, never ahead
                self._save()
        else:
            percent = {"read": 40 * fraction, "validate": 40 + 55 * fraction}.get(stage, self.percent)
        self.percent = max(self.percent, percent)

    def fail(self, message: str, details: list[str] | None = None) -> None:
        self.error = message
        self.details = details or []
        self.state = "failed"
        self.stage = "Stopped"


def news_sentence(record: dict[str, Any]) -> str:
    """What a clerk is told at sign-in about an import a restart cut off (from its record)."""
    how = "stopped by" if record.get("state") == "stopped" else "interrupted by"
    counts = {Entity(k): int(v) for k, v in (record.get("written") or {}).items()}
    # In the registry's order (households before people), not the order the batches happened to finish in.
    done = _and([f"{counts[e]:,} {words}" for e, words in ENTITY_WORDS.items() if counts.get(e)]) or "nothing"
    pending = _and([ENTITY_WORDS[Entity(k)] for k in record.get("pending") or []])
    name = record.get("file") or "your file"
    sentence = f"The import of {name} was {how} a restart of this page: {done} written"
    return sentence + (f", {pending} not yet; import the same file again to finish." if pending else ".")


def _and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


def files_digest(paths: list[Path]) -> str:
    """One fingerprint of the uploaded files' content: the same rows uploaded twice match."""
    digests = []
    for path in paths:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                h.update(chunk)
        digests.append(h.hexdigest())
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


def _load_entities(mapping_path: Path) -> list[Entity]:
    """The kinds of record an import with this mapping writes, in load order."""
    from importer.mapping import load_mapping

    mapping = load_mapping(mapping_path)
    present = set(mapping.entities)
    spec = mapping.entities.get(Entity.INDIVIDUAL)
    if spec is not None and spec.ids:
        present.add(Entity.REG_ID)
    if spec is not None and spec.phones:
        present.add(Entity.PHONE)
    if spec is not None and spec.banks:
        present.add(Entity.BANK)
    return [e for e in Entity if e in present]


def run_job(
    job: Job,
    settings: ConnectionSettings,
    choices: list[MappingChoice],
    *,
    batch_size: int,
    gate: threading.Semaphore,
) -> None:
    """Run the job to its end; every outcome lands on the job, nothing is raised."""
    with gate:
        job.state = "running"
        try:
            if job.kind == "dry-run":
                _read_and_fit(job, choices, settings)
                if job.mapping is None:
                    return
            job._entities = _load_entities(job.mapping.path)
            job._load_stages = max(1, len(job._entities))
            job._save()
            options = ImportOptions(
                mapping=job.mapping.path,
                mode=job.kind,
                out_dir=job.out_dir,
                load=LoadOptions(batch_size=batch_size, stop=job.stop),
            )
            result = run_import(job.uploads, options, settings, progress=job.on_progress)
            result.tables = {}  # the page needs the report, not the canonical tables: free the memory
            job.result = result
            if result.stopped:  # the clerk, the registry or a restart stopped it: never "done", never 100 %
                job.stage = "Stopped"
                job.state = "stopped"
            else:
                job.percent = 100.0
                job.stage = "Finished"
                job.state = "done"
        except ImportFailure as exc:
            details = [f"{p.location.describe()}: {p.message}" for p in exc.problems[1:21]]
            job.fail(_sentence(exc.message), details)
        except AuthenticationError:
            job.fail("The registry no longer accepts your password. Sign out and sign in again.")
        except TransportError as exc:
            job.fail(f"The registry could not be reached: {exc}. Nothing more was written; try again later.")
        except SppError as exc:
            job.fail(f"The registry refused the run: {exc}")
        except Exception as exc:  # the last guard: a clerk never sees a traceback
            log.exception("job %s failed (%s)", job.id[:6], type(exc).__name__)
            job.fail(
                "Something went wrong inside spp-import; nothing more was written. "
                "Tell your administrator the time it happened."
            )
        finally:
            job._save()


def _read_and_fit(job: Job, choices: list[MappingChoice], settings: ConnectionSettings) -> None:
    """Read the upload's headers once: pick the layout if asked to, and compare it with the file.

    When no layout matches, every layout's fit is kept on the job so the
    page can show the clerk which columns each one expects and let them choose,
    and a suggested mapping for the matching screen.
    """
    job.on_progress("detect", 0, 1)
    tables = [t for path in job.uploads for t in read_source(path)]
    job.file_columns = [(t.label, [str(h) for h in t.frame.columns]) for t in tables]
    if job.mapping is None:
        choice, _ = detect_mapping(choices, tables)
        if choice is None:
            job.fits = layout_fits(choices, tables)
            _suggest(job, tables, settings)
            job.fail(
                "The columns of this file do not match any layout we know. "
                "Match them to the registry's fields below (a field is suggested for each), choose the "
                "closest layout, or download an empty template and copy your data in."
            )
            return
        job.mapping, job.detected = choice, True
    job.fit = layout_fit(job.mapping, tables)


def _suggest(job: Job, tables: list[Any], settings: ConnectionSettings) -> None:
    """What ``mapping suggest`` proposes for these tables, with the server's fields when it answers."""
    from importer.catalog import suggestion_catalog
    from importer.client import OdooClient
    from importer.mapping import slug
    from importer.suggest import suggest_mapping
    from importer.web.matching import distinct_values, field_groups

    catalog = None
    try:
        with OdooClient(settings) as client:
            client.authenticate()
            catalog = suggestion_catalog(client)
    except SppError as exc:
        job.suggest_note = (
            f"The registry could not be asked for its fields ({exc}); the usual ones are listed."
        )
    stem = Path(job.file_name.split(", ")[0]).stem  # the clerk's own name for the file
    job.suggestion = suggest_mapping(tables, catalog, name=stem if slug(stem) else None)
    job.field_groups = field_groups(catalog, job.suggestion)
    job.codes = distinct_values(tables)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else "The run could not start."


def start_job(job: Job, settings: ConnectionSettings, choices: list[MappingChoice], **kwargs: Any) -> None:
    """Run ``job`` in a daemon thread; :func:`drain` is how the server waits for it on the way out."""
    job.thread = threading.Thread(
        target=run_job, args=(job, settings, choices), kwargs=kwargs, daemon=True, name=f"job-{job.id[:6]}"
    )
    job.thread.start()


def drain(jobs: list[Job], timeout: float, stopping: Callable[[int], None] | None = None) -> list[Job]:
    """Stop every import as the Stop button does and wait for all runs to end; returns those that did not.

    The batches already sent finish and the reports are written, so what the
    registry holds is recorded before the uploads are deleted.  ``stopping``
    is told how many runs are still going once none of them sends anything new.
    """
    for job in jobs:
        job.stop_for_shutdown()
    if stopping is not None:
        stopping(sum(1 for j in jobs if not j.finished))
    end = time.monotonic() + timeout
    for job in jobs:
        if job.thread is not None:
            job.thread.join(max(0.0, end - time.monotonic()))
    return [j for j in jobs if j.thread is not None and j.thread.is_alive()]
