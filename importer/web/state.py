"""What the page keeps on disk between restarts, and the clean-up of what it must not keep.

The state folder (``spp-import serve --state-dir``, created 0700) holds:

- ``secret_key`` (0600): signs the session cookie, so a cookie from before a
  restart is still recognised and the clerk is told *why* they must sign in
  again (passwords are never on disk, so every clerk signs in again);
- ``imports/<id>.json``: each import's progress and outcome (login, file name,
  counts written), so a clerk who signs in after a restart is told what became
  of an import the restart cut off; removed once shown, or after the retention;
- ``work/<process>/``: the uploads and reports of the sessions of one running
  process.  A process holds a lock on its folder; at start-up the folders no
  process holds (a process that was killed) are deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("importer.web")

Clock = Callable[[], float]


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/spp-import``, else ``~/.local/state/spp-import``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "spp-import"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it readable by this user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def secret_key(state_dir: Path) -> str:
    """The cookie-signing key kept in the state folder (0600); made once, then reused."""
    path = private_dir(state_dir) / "secret_key"
    with contextlib.suppress(FileNotFoundError):
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            path.chmod(0o600)
            return key
    key = secrets.token_hex(32)
    _write_private(path, key)
    return key


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 (a crash leaves the old file or the new)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class WorkArea:
    """This process's folder for the clerks' files, locked while the process lives."""

    def __init__(self, state_dir: Path) -> None:
        root = private_dir(state_dir / "work")
        self.removed = sweep_leftovers(root)
        self.path = Path(tempfile.mkdtemp(prefix="serve-", dir=root))
        self._lock: IO[str] | None = (self.path / ".lock").open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Delete every clerk file of this process and release the folder."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def sweep_leftovers(root: Path) -> list[Path]:
    """Delete the work folders of processes that ended without cleaning up; returns them.

    A live process holds an exclusive lock on its folder's ``.lock``; a folder
    whose lock can be taken belongs to no one (its process was killed), and
    nobody can use its files any more: the sessions they belonged to are gone.
    """
    removed = []
    for folder in sorted(root.glob("serve-*")):
        if not folder.is_dir():
            continue
        try:
            with (folder / ".lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except BlockingIOError:
            continue  # another serve process is using it
        except OSError as exc:
            log.warning("could not remove the leftover folder %s: %s", folder, exc)
    return removed


class ImportRecords:
    """Each import's progress and outcome, one small JSON file per import.

    A record says ``running`` while the import goes on; at start-up the
    records still ``running`` belong to a process that was killed and become
    ``interrupted``.  The clerk is shown the records of imports that did not
    end while they watched (interrupted, or stopped by a restart) at their
    next sign-in; shown records and records older than the retention go.
    """

    def __init__(self, state_dir: Path, retention: float, clock: Clock = time.time) -> None:
        self.dir = private_dir(state_dir / "imports")
        self.retention = retention
        self.clock = clock
        self._lock = threading.Lock()

    def save(self, record: dict[str, Any]) -> None:
        """Write (or overwrite) one import's record."""
        record = {**record, "updated": self.clock()}
        with self._lock:
            _write_private(self.dir / f"{record['id']}.json", json.dumps(record))

    def keep(self, record: dict[str, Any]) -> None:
        """Keep a record the clerk must be told about; forget one that ended while they watched."""
        if record.get("tell"):
            self.save(record)
        else:
            (self.dir / f"{record['id']}.json").unlink(missing_ok=True)

    def _records(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in sorted(self.dir.glob("*.json")):
            try:
                yield path, json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # half-written or unreadable: nothing to tell anyone

    def recover(self) -> int:
        """At start-up: mark the imports a killed process left ``running`` as interrupted."""
        count = 0
        for _path, record in list(self._records()):
            if record.get("state") in ("queued", "running"):
                record.update(state="interrupted", tell=True)
                self.save(record)
                count += 1
        return count

    def sweep(self) -> int:
        """Delete the records older than the retention; returns how many went."""
        now, count = self.clock(), 0
        for path, record in list(self._records()):
            if now - float(record.get("updated", 0)) > self.retention:
                path.unlink(missing_ok=True)
                count += 1
        return count

    def take_news(self, login: str) -> list[dict[str, Any]]:
        """The records to tell ``login`` about at sign-in; they are deleted once taken."""
        self.sweep()
        news = []
        for path, record in list(self._records()):
            if record.get("login") == login and record.get("tell"):
                news.append(record)
                path.unlink(missing_ok=True)
        return sorted(news, key=lambda r: float(r.get("started", 0)))
