"""Fields the server requires of every registrant: named by the mapping, filled on every new row.

The server says which fields it requires (``fields_get``: ``required``), and
which of those it fills itself when a record is created (``default_get``: the
company, the active flag…).  A required field with no default is a
deployment's rule (a required custom field, say): the registry's screens
refuse a registrant without it, and so does the database.

- A mapping that does not name such a field for people or households is
  refused before any row is read (:func:`check_mapped`): every new record
  would be refused.
- A row that would create a registrant with that cell empty is a row error,
  ``missing_required`` (:func:`missing_required`).  A registrant already on
  the server keeps its value: an empty cell is not sent on an update (unless
  the field's ``empty: clear`` asks for it, which the server would refuse).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from importer.canonical import CanonicalTable
from importer.catalog import PARTNER, Catalog
from importer.client import OdooClient
from importer.mapping import Mapping
from importer.normalise import isin
from importer.outcome import ENTITIES, Entity, ImportFailure, Problem

REGISTRANTS = (Entity.INDIVIDUAL, Entity.GROUP)
#: Fields the importer always fills itself (a person's name is composed when not mapped).
SENT_ANYWAY = frozenset({"name", "is_registrant", "is_group"})


def required_fields(client: OdooClient, catalog: Catalog) -> dict[str, str]:
    """Technical name -> label of the registrant fields the server requires and does not fill itself."""
    described = catalog.fields.get(PARTNER, {})
    required = {
        name: str(d.get("string") or name)
        for name, d in described.items()
        if d.get("required")
        and not d.get("readonly")
        and d.get("store", True)
        and d.get("type") not in ("one2many", "many2many")
        and name not in SENT_ANYWAY
    }
    if not required:
        return {}
    defaults: dict[str, Any] = client.execute_kw(PARTNER, "default_get", [sorted(required)]) or {}
    return {name: label for name, label in required.items() if defaults.get(name) in (None, False, "")}


def check_mapped(mapping: Mapping, required: dict[str, str]) -> None:
    """Refuse a mapping whose new people or households could never carry a field the server requires."""
    problems: list[str] = []
    for entity in REGISTRANTS:
        spec = mapping.entities.get(entity)
        if spec is None:
            continue
        missing = [f"'{label}' ({name})" for name, label in required.items() if name not in spec.fields]
        if missing:
            problems.append(f"every {ENTITIES[entity].word} needs " + ", ".join(missing))
    if problems:
        message = (
            "the server requires fields the mapping does not fill, so every new registrant would be "
            "refused: " + "; ".join(problems) + ". Map a column to each (or give it a default:)"
        )
        raise ImportFailure(
            message, [Problem(code="bad_mapping", message=message, file=str(mapping.path or mapping.name))]
        )


def missing_required(
    tables: dict[Entity, CanonicalTable],
    required: dict[str, str],
    on_server: dict[Entity, set[str]],
    cleared: dict[Entity, frozenset[str]],
) -> dict[Entity, tuple[list[Problem], pd.Index]]:
    """Per entity, a ``missing_required`` error per empty required cell that must not be, and their rows.

    A row whose registrant is not on the server yet (``on_server``: keys per
    entity) would create it without the field; one that is there keeps the
    server's value, unless its empty cell clears (``cleared``).
    """
    found: dict[Entity, tuple[list[Problem], pd.Index]] = {}
    for entity in REGISTRANTS:
        canon = tables.get(entity)
        if canon is None:
            continue
        frame = canon.frame
        known = isin(frame["key"], on_server.get(entity, set()))
        problems: list[Problem] = []
        rows = pd.Index([])
        for name, label in required.items():
            if name not in frame.columns:
                continue
            clears = name in cleared.get(entity, frozenset())
            empty = (frame[name] == "") & (~known | clears)
            header = canon.columns.get(name, name)
            hit = frame.index[empty.to_numpy()]
            rows = rows.union(hit)
            for index in hit:
                row = frame.loc[index]
                problems.append(
                    Problem(
                        code="missing_required",
                        message=(
                            f"the {header} is empty: the registry requires '{label}' of every "
                            f"{ENTITIES[entity].word}"
                        ),
                        file=str(row["_file"]),
                        sheet=str(row["_sheet"]) or None,
                        row=int(row["_row"]),
                        column=header,
                        value="",
                        entity=entity.value,
                        key=str(row["key"]),
                    )
                )
        if problems:
            found[entity] = (problems, rows)
    return found
