"""Server-side sessions: who is signed in, with which password, and which files are theirs.

The password a clerk types is needed for every call to the registry while
they work, but it must never leave this process: it is not put in the
cookie (the cookie carries only a random session id, signed), not on disk
and not in a log.  It lives here, in memory, in a :class:`ClerkSession`,
and is dropped on sign-out and after an idle timeout.  Each session owns a
private temporary folder for its uploads and reports, removed with it.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from importer.settings import Secret

if TYPE_CHECKING:  # pragma: no cover
    from importer.web.jobs import Job
    from importer.web.mappings import MappingChoice

Clock = Callable[[], float]


@dataclass(eq=False)
class ClerkSession:
    """One signed-in clerk: credentials (in memory only), private folder and jobs."""

    sid: str
    login: str
    secret: Secret
    uid: int
    folder: Path
    last_seen: float
    may_import: bool = True  # the registry lets this login create registrants (checked at sign-in)
    jobs: dict[str, Job] = field(default_factory=dict)
    #: may save layouts for every clerk: the registry lets this login change its settings (at sign-in)
    may_administer: bool = False
    #: layouts this clerk saved on the matching screen, for this session only (files in ``folder``)
    layouts: dict[str, MappingChoice] = field(default_factory=dict)
    #: held while a request checks for a running job and starts one: four clicks start one run
    launch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __repr__(self) -> str:  # never the secret, never the full session id
        return f"ClerkSession(login={self.login!r}, sid={self.sid[:4]}…, jobs={len(self.jobs)})"

    def running_job(self) -> Job | None:
        """The job still running for this clerk, if any (one at a time keeps double clicks harmless)."""
        return next((j for j in self.jobs.values() if not j.finished), None)


class SessionStore:
    """Signed-in clerks by random session id; idle ones expire and take their files with them."""

    def __init__(self, base_dir: Path, idle_timeout: float, clock: Clock = time.monotonic) -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions: dict[str, ClerkSession] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(
        self, login: str, secret: Secret, uid: int, *, may_import: bool = True, may_administer: bool = False
    ) -> ClerkSession:
        """A new session with a fresh random id (never reuse the visitor's: no fixation)."""
        sid = secrets.token_urlsafe(32)
        folder = Path(tempfile.mkdtemp(prefix="clerk-", dir=self.base_dir))  # mode 0700
        session = ClerkSession(sid, login, secret, uid, folder, self.clock(), may_import)
        session.may_administer = may_administer
        with self._lock:
            self._sessions[sid] = session
        return session

    def get(self, sid: str | None) -> ClerkSession | None:
        """The live session for ``sid`` (touching it), or None if unknown or idle too long."""
        self.sweep()
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                session.last_seen = self.clock()
            return session

    def drop(self, sid: str | None) -> None:
        """Forget a session: its password goes, and its folder is deleted."""
        if not sid:
            return
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None:
            _forget(session)

    def sweep(self) -> int:
        """Drop every session idle for longer than the timeout; returns how many went.

        A session with a job still running is kept until the job ends, so an
        import is never cut off half-way by a clerk who stopped clicking.
        """
        now = self.clock()
        with self._lock:
            stale = [
                s
                for s in self._sessions.values()
                if now - s.last_seen > self.idle_timeout and s.running_job() is None
            ]
            for session in stale:
                del self._sessions[session.sid]
        for session in stale:
            _forget(session)
        return len(stale)

    def all_jobs(self) -> list[Job]:
        """Every job of every signed-in clerk (the server drains them on the way out)."""
        with self._lock:
            return [j for s in self._sessions.values() for j in s.jobs.values()]

    def close(self) -> None:
        """Drop everything (the server is stopping)."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            _forget(session)


def _forget(session: ClerkSession) -> None:
    session.secret = Secret("")
    shutil.rmtree(session.folder, ignore_errors=True)
