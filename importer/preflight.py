"""What a run asks the server before it reads a row: the catalog, the user's rights, required fields.

None of it depends on the file, so the command line asks it on its login thread, as soon as
the login is done, while the main thread is still loading pandas and pandera and reading the
file (docs/architecture.md §9).  A run handed nothing (the web page, a notebook) asks it
itself, in :func:`importer.pipeline.connect`.

The run's audit log is not open yet when it is asked early: :func:`ask_early` keeps the calls'
records, and the run hands them to its log when it starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from importer.catalog import MODELS_WRITTEN, Catalog, fetch_catalog
from importer.client import CallRecord, ClientPool, OdooClient
from importer.required import required_fields


@dataclass(frozen=True)
class Preflight:
    """The server's answers a run needs before it checks a row."""

    catalog: Catalog
    #: whether the user may create and change every kind of record an import writes
    writable: bool
    #: fields the server requires and fills no default for: technical name -> label
    required: dict[str, str]
    #: the calls that asked it, when asked before the run's audit log was open
    calls: tuple[CallRecord, ...] = ()


def may_write(client: OdooClient) -> bool:
    """Whether this user may create and change every kind of record an import writes (asked all at once)."""
    asks = [(model, operation) for model in MODELS_WRITTEN for operation in ("create", "write")]
    with ClientPool(client, len(asks)) as pool:
        return all(pool.map(lambda c, ask: c.check_access(*ask), asks))


def ask(client: OdooClient) -> Preflight:
    """Ask the catalog, then the rights and the required fields (the catalog's calls go out at once)."""
    catalog = fetch_catalog(client)
    return Preflight(catalog, may_write(client), required_fields(client, catalog))


def ask_early(client: OdooClient) -> Preflight:
    """:func:`ask`, for a run that has not started: its calls are recorded for the run's audit log.

    The client is the run's own and nothing else uses it meanwhile; the recorder is taken
    off before this returns, so the run sets its own observer on a client left as it was.
    """
    calls: list[CallRecord] = []
    before = client.observer
    client.observer = calls.append  # each worker's client is forked with it, and appends once a call
    try:
        asked = ask(client)
    finally:
        client.observer = before
    return dataclasses.replace(asked, calls=tuple(calls))
