"""What a run asks the server before it reads a row: the catalog, the user's rights, required fields.

None of it depends on the file, so the command line asks it on its login thread, as soon as
the login is done, while the main thread is still loading pandas and pandera and reading the
file (docs/architecture.md §9): :class:`Early`.  A run handed nothing (the web page, a
notebook) asks it itself, in :func:`importer.pipeline.connect`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer.client import CallRecord, ClientPool, OdooClient

if TYPE_CHECKING:  # the command line imports this module before pandas loads; asking imports them
    from importer.catalog import Catalog


@dataclass(frozen=True)
class Preflight:
    """The server's answers a run needs before it checks a row."""

    catalog: Catalog
    #: whether the user may create and change every kind of record an import writes
    writable: bool
    #: fields the server requires and fills no default for: technical name -> label
    required: dict[str, str]


def may_write(client: OdooClient) -> bool:
    """Whether this user may create and change every kind of record an import writes (asked all at once)."""
    from importer.catalog import MODELS_WRITTEN

    asks = [(model, operation) for model in MODELS_WRITTEN for operation in ("create", "write")]
    with ClientPool(client, len(asks)) as pool:
        return all(pool.map(lambda c, ask: c.check_access(*ask), asks))


def ask(client: OdooClient) -> Preflight:
    """Ask the catalog, then the rights and the required fields (the catalog's calls go out at once)."""
    from importer.catalog import fetch_catalog
    from importer.required import required_fields

    catalog = fetch_catalog(client)
    return Preflight(catalog, may_write(client), required_fields(client, catalog))


class Early:
    """:func:`ask`, made before the run has started, for the run to take when it connects.

    The run's audit log is not open yet: every call's record is kept in :attr:`calls`,
    which the run hands to its log, whether the asking succeeded or not.
    """

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []
        self._found: Preflight | None = None
        self._failed: BaseException | None = None
        self._done = threading.Event()

    def ask(self, client: OdooClient) -> None:
        """Ask, on the caller's thread; whatever it raises is raised to whoever takes the answers.

        The client is the run's own and nothing else uses it meanwhile; the recorder is taken
        off before this returns, so the run sets its own observer on a client left as it was.
        """
        before = client.observer
        client.observer = self.calls.append  # each worker's client is forked with it
        try:
            self._found = ask(client)
        except BaseException as exc:  # raised where the run takes the answers (pipeline.connect)
            self._failed = exc
        finally:
            client.observer = before
            self._done.set()

    def __call__(self) -> Preflight:
        """The answers (waits for them); raises what asking them raised."""
        self._done.wait()
        if self._failed is not None:
            raise self._failed
        assert self._found is not None
        return self._found
