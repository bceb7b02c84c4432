"""Tags the mapping allows creating: named in the file, unknown to the server, created once.

With ``create_tags: true`` a tag name the server does not know is not a row
error: before validation it is admitted as *pending* (so rows naming it pass),
and before the registrants are sent the pending tags that rows being written
name are created, one ``g2p.registrant.tags`` each, under the run's namespace
(``<namespace>.tag_<name>``), so a re-run finds them by name and creates
nothing.  A dry run creates nothing and says what a real run would create.
The same tag written two ways ("Pilot 2027", "pilot 2027") is one tag: the
server refuses a second tag with the same name in another case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from importer.canonical import CanonicalTable
from importer.catalog import Catalog, LinkedRecords
from importer.client import IMPORT_CONTEXT, OdooClient
from importer.fields import FIELDS
from importer.normalise import fold
from importer.outcome import Entity, ImportFailure, Problem
from importer.plan import xid_name

TAGS = "tags_ids"
TAG_MODEL = FIELDS[Entity.INDIVIDUAL][TAGS].relation
XID_PREFIX = "tag"


@dataclass(frozen=True)
class PendingTag:
    """A tag the file names that the server lacks, and where it is first named."""

    name: str  # as first written
    file: str
    sheet: str | None
    row: int
    column: str


def _parts(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def admit_new_tags(tables: dict[Entity, CanonicalTable], catalog: Catalog) -> dict[str, PendingTag]:
    """Admit the tags the file names that the server lacks (folded name -> where first named).

    They join the catalog's tags with ids below zero (never sent: a real run
    replaces them by :func:`create_new_tags`), and every cell naming them is
    spelled as first written.
    """
    records = catalog.linked.get(TAGS)
    if records is None:
        return {}
    pending: dict[str, PendingTag] = {}
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        canon = tables.get(entity)
        if canon is None or TAGS not in canon.frame.columns:
            continue
        frame = canon.frame
        firsts = frame[TAGS].drop_duplicates()  # each distinct cell, at the first row that has it
        for index, text in firsts.items():
            for part in _parts(str(text)):
                folded = fold(part)
                if part in records.names or folded in records.by_text or folded in records.ambiguous:
                    continue
                row = frame.loc[index]
                pending.setdefault(
                    folded,
                    PendingTag(
                        part,
                        str(row["_file"]),
                        str(row["_sheet"]) or None,
                        int(row["_row"]),
                        canon.columns.get(TAGS, TAGS),
                    ),
                )
    if not pending:
        return {}
    names = dict(records.names)
    by_text = dict(records.by_text)
    for n, (folded, tag) in enumerate(sorted(pending.items()), start=1):
        names[tag.name] = -n
        by_text[folded] = tag.name
    catalog.linked[TAGS] = replace(records, names=names, by_text=by_text)
    _respell(tables, catalog.linked[TAGS])
    return pending


def _respell(tables: dict[Entity, CanonicalTable], records: LinkedRecords) -> None:
    """Every spelling of a tag as the catalog names it, once per distinct cell."""
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        canon = tables.get(entity)
        if canon is None or TAGS not in canon.frame.columns:
            continue
        cells = canon.frame[TAGS]
        table = {u: ",".join(records.by_text.get(fold(p), p) for p in _parts(u)) for u in cells.unique()}
        canon.frame[TAGS] = cells.map(table).astype("str")


def tags_named(
    tables: dict[Entity, CanonicalTable],
    pending: dict[str, PendingTag],
    written: Callable[[Entity], pd.Index],
) -> dict[str, PendingTag]:
    """The pending tags that rows being written name (``written``: an entity's rows to be sent)."""
    wanted = {tag.name: folded for folded, tag in pending.items()}
    used: dict[str, PendingTag] = {}
    for entity in (Entity.INDIVIDUAL, Entity.GROUP):
        canon = tables.get(entity)
        if canon is None or TAGS not in canon.frame.columns:
            continue
        for text in canon.frame.loc[written(entity), TAGS].unique():
            for part in _parts(str(text)):
                if part in wanted:
                    used[wanted[part]] = pending[wanted[part]]
    return used


def create_new_tags(
    client: OdooClient | None,
    catalog: Catalog,
    tags: dict[str, PendingTag],
    namespace: str,
    create: bool,
) -> list[Problem]:
    """Create the tags (``create``) or say a real run would; one warning per tag, on its first row.

    A tag the server refuses stops the run before any registrant is sent:
    every row naming it would fail.
    """
    if not tags:
        return []
    ordered = sorted(tags.values(), key=lambda t: (t.file, t.sheet or "", t.row, t.name))
    if create and client is not None:
        rows = [[f"{namespace}.{XID_PREFIX}_{xid_name(t.name)}", t.name] for t in ordered]
        result = client.load(TAG_MODEL, ["id", "name"], rows, context=IMPORT_CONTEXT, idempotent=True)
        ids = result.get("ids") or []
        if len(ids) != len(rows):
            why = "; ".join(str(m.get("message")) for m in result.get("messages") or []) or "refused"
            raise ImportFailure(
                f"the mapping allows creating tags, but the server refused to create "
                f"{', '.join(repr(t.name) for t in ordered)}: {why}. Nothing was written."
            )
        records = catalog.linked[TAGS]
        names = dict(records.names) | {t.name: int(i) for t, i in zip(ordered, ids, strict=True)}
        catalog.linked[TAGS] = replace(records, names=names)
    code, said = (
        ("tag_created", "was created in the registry")
        if create
        else (
            "tag_to_create",
            "is not in the registry: a real run will create it",
        )
    )
    return [
        Problem(
            code=code,
            severity="warning",
            message=f"tag '{t.name}' {said} (create_tags: true in the mapping)",
            file=t.file,
            sheet=t.sheet,
            row=t.row,
            column=t.column,
            value=t.name,
        )
        for t in ordered
    ]
