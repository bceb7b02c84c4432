"""The plan stage: what to send, in which order, and what the server already holds.

For each entity the plan is one table of ``load`` rows (external id first,
then field paths), built in bulk from the canonical tables and the catalog.
Before anything is sent the plan reads back, in bulk, what the server
holds under the file's external ids, so unchanged rows are not re-sent
(a re-run of an unchanged file sends nothing) and each row's fate is known
in advance: created, updated or unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from importer.canonical import (
    ECHO,
    CanonicalTable,
    bank_account_column,
    bank_column,
    compose_names,
    directed_ends,
    id_column,
    id_expiry_column,
    phone_column,
    phone_date_column,
)
from importer.catalog import BANK_FIELD, MEMBERSHIP, PARTNER, REG_ID, Catalog
from importer.client import ClientPool, OdooClient
from importer.errors import AccessError
from importer.fields import FIELDS, RegistryField, compare_kinds, linked_fields, partner_fields, server_field
from importer.mapping import Mapping, slug
from importer.normalise import isin
from importer.outcome import ENTITIES, Entity

PREFIX = {entity: info.prefix for entity, info in ENTITIES.items()}
MODEL = {entity: info.model for entity, info in ENTITIES.items()}
READ_CHUNK = 2000
ORIGIN = ["_file", "_sheet", "_row"]

#: canonical column -> (load column, how it compares), for the registrant fields sent as they are
PARTNER_FIELDS = {name: (f.path, f.kind.compare) for name, f in partner_fields().items()}
TRUE = {"1", "true", "yes", "y", "x"}


ENTITY_WORDS = {entity: info.word for entity, info in ENTITIES.items()}


PayloadBuilder = Callable[[pd.DataFrame], pd.DataFrame]
#: skeleton rows -> (which optional cells the file left empty, the file's values in words)
#: (the words are only worked out when asked: a re-run compares every row but words few)
FileView = Callable[[pd.DataFrame, bool], "tuple[pd.DataFrame, pd.DataFrame | None]"]
#: One line per field that differs from the server, per record: see :class:`Comparison`.
CHANGE_COLUMNS = ["field", "column", "before", "after", "cleared"]
DATE_FORMATS = {"day-first": "{d}/{m}/{y}", "month-first": "{m}/{d}/{y}", "iso": "{y}-{m}-{d}"}


#: A skeleton column of records people own: True where the person is on another input row
#: (an IDs sheet's row), so a note that the person failed names them instead of "on this row".
PARENT_APART = "parent_apart"
#: Skeleton columns saying, per row, how a load column reads to the clerk, where the stage's
#: rows come from tables that differ (relationships from a sheet and from people's rows) or
#: a record has several columns (an ID and its expiry date): its header, its date order, and
#: the cell as written where the load column holds an id (an account's bank).
HEADER_OF, ORDER_OF, WORDS_OF = "header:", "order:", "words:"


@dataclass
class StagePlan:
    """The rows of one entity to send with ``load``, with their origin and expected fate.

    ``rows`` is the skeleton (key, xid, action, parents' keys, origin); the
    load columns are built on demand for the rows that need them
    (:meth:`payload`), batch by batch, so a million-row dry run never holds
    every payload in memory at once.
    """

    entity: Entity
    model: str
    fields: list[str]  # load columns; "id" first
    rows: pd.DataFrame  # key, xid, action, _file, _sheet, _row (+ parents' keys); index = canonical index
    #: parent entity -> the column(s) holding its key (a relationship names two registrants)
    depends: dict[Entity, str | tuple[str, ...]] = field(default_factory=dict)
    #: parents that always stand on the record's own input row (a person's IDs): a note that they
    #: failed does not repeat the row's own reasons
    same_row: frozenset[Entity] = frozenset()
    build: PayloadBuilder | None = None  # skeleton rows -> load columns; None: they are in ``rows``
    #: load column -> canonical column, for the fields an empty cell may leave as the server has them
    optional: dict[str, str] = field(default_factory=dict)
    clear: frozenset[str] = frozenset()  # optional load columns whose empty cell clears the server's value
    #: optional load columns the server fills in on create (a phone's ``date_collected``: today), so
    #: an empty cell is left out of a create too: sending it would store "no value" instead
    defaulted: frozenset[str] = frozenset()
    #: optional load column -> the skeleton's bool column saying the row's table has no column for it
    #: (a phone column without a "collected" column): that cell is never sent, ``clear`` or not
    absent: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # load column -> the clerk's column header
    date_orders: dict[str, str] = field(default_factory=dict)  # load column -> how the file writes dates
    view: FileView | None = None  # the file's side of a change, in words
    #: load column -> values for some rows that replace the built ones (a composed name, see
    #: :func:`_keep_name_parts`); set by :func:`compare_existing`
    overrides: dict[str, pd.Series] = field(default_factory=dict)

    def blocked_by(self, failed_parents: dict[Entity, dict[str, str]]) -> pd.DataFrame:
        """Rows whose parent did not make it: ``what`` ("its household 'H1'") and ``why``.

        Only the first failed parent of a row is named.
        """
        parts = []
        blocked = pd.Series(False, index=self.rows.index)
        for parent, column in (
            (parent, column)
            for parent, columns in self.depends.items()
            for column in ((columns,) if isinstance(columns, str) else columns)
        ):
            failed = failed_parents.get(parent, {})
            if not failed:
                continue
            hit = isin(self.rows[column], failed.keys()) & ~blocked
            keys = self.rows.loc[hit, column]
            what, why = f"its {ENTITY_WORDS[parent]} '" + keys + "'", keys.map(failed)
            if parent in self.same_row:  # the row's own reasons already say why: no repeat
                apart = self.rows.loc[hit, PARENT_APART] if PARENT_APART in self.rows else False
                here = ~pd.Series(apart, index=keys.index, dtype=bool)
                what = what.where(~here, f"its {ENTITY_WORDS[parent]} on this row")
                why = why.where(~here, "")
            parts.append(pd.DataFrame({"what": what, "why": why}, index=keys.index))
            blocked |= hit
        return pd.concat(parts) if parts else pd.DataFrame({"what": [], "why": []}, dtype="str")

    def blocked_notes(self, failed_parents: dict[Entity, dict[str, str]], lead: str, verb: str) -> pd.Series:
        """Why each blocked row is not sent: "not sent: its household 'H1' was not written (row 3: …)"."""
        blocked = self.blocked_by(failed_parents)
        why = blocked["why"].astype(str)
        because = pd.Series(np.where(why != "", " (" + why + ")", ""), index=blocked.index, dtype=object)
        return (lead + blocked["what"].astype(str) + " " + verb + because).astype(object)

    def payload(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The load columns (``fields``) for these skeleton rows, in their order."""
        built = rows if self.build is None else self.build(rows)
        if self.overrides:
            built = built.copy()
            for column, values in self.overrides.items():
                hit = rows.index.intersection(values.index)
                built.loc[hit, column] = values[hit]
        return built[self.fields]

    @property
    def kept(self) -> list[str]:
        """Load columns whose empty cell leaves the server's value alone on an update ("keep")."""
        return [c for c in self.fields if c in self.optional and c not in self.clear]

    @property
    def _leavable(self) -> list[str]:
        """Load columns a row may leave out of its ``load`` call, one bit each in :meth:`_left_alone`."""
        return [c for c in self.fields if c in self.optional]

    def file_view(self, rows: pd.DataFrame, words: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """(empty: optional cells the file left empty, words: the file's values as a clerk reads them).

        With no ``view`` (records people own) the skeleton holds the values
        as sent: a cell is empty when its value is ``""``.
        """
        if self.view is None:
            built = self.payload(rows)
            empty = pd.DataFrame({c: built[c] == "" for c in self._leavable}, index=rows.index)
            if not words:
                return empty, None
            shown = built.drop(columns="id")
            for column in shown.columns:
                if WORDS_OF + column in rows:
                    shown[column] = rows[WORDS_OF + column].astype(str)
                elif ORDER_OF + column in rows:
                    shown[column] = date_words(shown[column], rows[ORDER_OF + column].astype(str))
            return empty, shown
        return self.view(rows, words)

    def unread(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Per optional column, the rows whose table has no column for it (:attr:`absent`)."""
        return pd.DataFrame(
            {c: rows[flag].to_numpy(dtype=bool) for c, flag in self.absent.items()}, index=rows.index
        )

    def _left_alone(self, rows: pd.DataFrame) -> np.ndarray:
        """Per row, a bit mask of the optional columns it must not send.

        An update leaves out a "keep" column whose cell is empty, and any
        column its table does not have; a create leaves out an empty cell of a
        column the server fills in itself (``defaulted``).  Other creates
        send every field (an empty cell is no value, as leaving it out would be).
        """
        leavable = self._leavable
        mask = np.zeros(len(rows), dtype=np.int64)
        if not leavable:
            return mask
        kept, defaulted = set(self.kept), self.defaulted & set(leavable)
        action = rows["action"]
        update = (action == "update").to_numpy() & bool(kept or self.absent)
        create = (action == "create").to_numpy() & bool(defaulted)
        asked = update | create
        if not asked.any():
            return mask
        empty = self.file_view(rows[asked], False)[0]
        unread = self.unread(rows[asked])
        sub = np.zeros(int(asked.sum()), dtype=np.int64)
        on_update, on_create = update[asked], create[asked]
        for bit, column in enumerate(leavable):
            hole = empty[column].to_numpy(dtype=bool)
            out = on_update & (hole if column in kept else False)
            if column in unread.columns:
                out |= on_update & unread[column].to_numpy(dtype=bool)
            if column in defaulted:
                out |= on_create & hole
            sub |= out.astype(np.int64) << bit
        mask[asked] = sub
        return mask

    def batches(self, rows: pd.DataFrame, size: int) -> list[pd.DataFrame]:
        """Rows to send, cut into batches that each share one field list (:meth:`load_fields`).

        ``load`` takes one field list per call, and an update must not send
        the fields its file left empty (they would blank the server's value):
        updates are grouped by which of their cells are empty.  A concurrent
        edit of a field the file left empty is never overwritten, which
        sending the server's current value instead could not promise.
        """
        mask = self._left_alone(rows)
        groups = [rows] if not mask.any() else [rows[mask == m] for m in np.unique(mask)]
        return [g.iloc[i : i + size] for g in groups for i in range(0, len(g), size)]

    def load_fields(self, rows: pd.DataFrame) -> list[str]:
        """The field list to send these rows with (one batch from :meth:`batches`)."""
        mask = np.unique(self._left_alone(rows))
        if len(mask) > 1:
            raise ValueError("rows with different empty cells cannot share one load call: use batches()")
        if not len(mask) or not mask[0]:
            return self.fields
        skip = {c for bit, c in enumerate(self._leavable) if int(mask[0]) >> bit & 1}
        return [c for c in self.fields if c not in skip]


@dataclass
class Plan:
    namespace: str
    stages: dict[Entity, StagePlan]
    existing: dict[Entity, dict[str, int]]  # key -> server id, for records already on the server
    #: per entity, one line per field an update changes (CHANGE_COLUMNS; index = the stage's row index)
    changes: dict[Entity, pd.DataFrame] = field(default_factory=dict)


_UNSAFE = r"[^A-Za-z0-9_-]"


def _xid_name(key: str) -> str:
    """The name part for a key with characters an external id should not carry."""
    safe = slug(key) or "key"
    return f"{safe}_{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


def xid_name(key: str) -> str:
    """One key's name part of an external id, spelled as :func:`make_xids` spells it."""
    return key if key and not re.search(_UNSAFE, key) else _xid_name(key)


def make_xids(namespace: str, entity: Entity, keys: pd.Series) -> pd.Series:
    """Deterministic external ids ``<namespace>.<prefix>_<key>``, safe for any key text.

    Keys made of letters, digits, ``_`` and ``-`` are used as they are (the
    common case, vectorised); any other key is slugged and suffixed with a
    short hash of the original, so "A B" and "A_B" never collide.
    """
    keys = keys.astype("str")
    names = keys.copy()
    unsafe = keys.str.contains(_UNSAFE, regex=True) | (keys == "")
    if unsafe.any():
        uniques = keys[unsafe].unique()
        table = {u: _xid_name(u) for u in uniques}
        names[unsafe] = keys[unsafe].map(table)
    return (f"{namespace}.{PREFIX[entity]}_" + names).astype("str")


def _bool_text(series: pd.Series) -> pd.Series:
    return series.str.casefold().isin(TRUE).map({True: "1", False: "0"}).astype("str")


def _skeleton(frame: pd.DataFrame, xids: pd.Series, **extra: pd.Series) -> pd.DataFrame:
    rows = pd.DataFrame({"key": frame["key"], "xid": xids, **extra}, index=frame.index)
    for c in ORIGIN:
        rows[c] = frame[c]
    return rows


def _sent_fields(entity: Entity, columns: pd.Index, catalog: Catalog) -> dict[str, tuple[str, str]]:
    """canonical column -> (load column, compare kind) of the registrant fields sent as they are.

    The standard ones (importer.fields), then the deployment's own that the
    mapping names, as the server's ``fields_get`` describes them.
    """
    sent = {c: v for c, v in PARTNER_FIELDS.items() if c in columns}
    for column, own in _server_fields(entity, columns, catalog).items():
        if not own.relation:  # a relational one names records: see _links
            sent[column] = (own.path, own.kind.compare)
    return sent


def _server_fields(entity: Entity, columns: pd.Index, catalog: Catalog) -> dict[str, RegistryField]:
    """The deployment's own fields among ``columns``, as the server's ``fields_get`` describes them."""
    described = catalog.fields.get(PARTNER, {})
    found: dict[str, RegistryField] = {}
    for column in columns:
        if column in FIELDS[entity] or column not in described:
            continue
        own = server_field(column, described[column])
        if isinstance(own, RegistryField):
            found[column] = own
    return found


def _links(entity: Entity, columns: pd.Index, catalog: Catalog) -> dict[str, RegistryField]:
    """Canonical column -> field, for the registrant fields that name records looked up this run.

    Areas and tags (importer.fields), and the deployment's own many2one and
    many2many fields: each cell holds record names (the resolver's), sent as ids.
    """
    links = {n: f for n, f in linked_fields(entity).items() if n in columns}
    links |= {n: f for n, f in _server_fields(entity, columns, catalog).items() if f.relation}
    return {n: f for n, f in links.items() if n in catalog.linked}


def _partner_fields(
    entity: Entity, columns: pd.Index, catalog: Catalog, sent: dict[str, tuple[str, str]]
) -> list[str]:
    fields = ["id"] + [path for path, _k in sent.values()]
    fields += ["is_registrant", "is_group"]
    if entity is Entity.INDIVIDUAL and "gender" in columns:
        fields.append("gender/.id" if catalog.gender_type == "many2one" else "gender")
    if entity is Entity.GROUP and "kind" in columns:
        fields.append("kind/.id")
    fields += [f.path for f in _links(entity, columns, catalog).values()]
    return fields


def _linked_ids(values: pd.Series, ids: dict[str, int]) -> pd.Series:
    """Names of areas or tags (comma-separated) as the ids ``load`` takes, decided once per value."""

    def one(text: str) -> str:
        return ",".join(str(ids[p]) for p in text.split(",") if p in ids)

    uniques = values.unique()
    return values.map(dict(zip(uniques, map(one, uniques), strict=True))).astype("str")


def _partner_payload(
    entity: Entity,
    frame: pd.DataFrame,
    xids: pd.Series,
    catalog: Catalog,
    sent: dict[str, tuple[str, str]],
) -> pd.DataFrame:
    """Load columns for people or households, from their canonical rows (``sent``: :func:`_sent_fields`)."""
    out = pd.DataFrame({"id": xids}, index=frame.index)
    for column, (path, kind) in sent.items():
        out[path] = _bool_text(frame[column]) if kind == "bool" else frame[column]
        if kind in ("float", "int"):  # the server reads an unset number back as 0: send both alike
            out[path] = out[path].where(out[path] != "0", "")
    out["is_registrant"] = "1"
    out["is_group"] = "1" if entity is Entity.GROUP else "0"
    if entity is Entity.INDIVIDUAL and "gender" in frame.columns:
        if catalog.gender_type == "many2one":
            ids = frame["gender"].map(catalog.gender_ids)
            out["gender/.id"] = ids.map(lambda v: "" if pd.isna(v) else str(int(v))).astype("str")
        else:
            out["gender"] = frame["gender"]
    if entity is Entity.GROUP and "kind" in frame.columns:
        ids = frame["kind"].map(catalog.group_kinds)
        out["kind/.id"] = ids.map(lambda v: "" if pd.isna(v) else str(int(v))).astype("str")
    for name, linked in _links(entity, frame.columns, catalog).items():
        out[linked.path] = _linked_ids(frame[name], catalog.linked[name].names)
    return out


@dataclass(frozen=True)
class EmptyCells:
    """How one run treats empty cells: which fields clear, and how the file writes each date field."""

    cleared: dict[Entity, frozenset[str]] = field(default_factory=dict)  # entity -> canonical fields
    date_orders: dict[Entity, dict[str, str]] = field(default_factory=dict)  # entity -> field -> order
    run_default: str = "keep"  # the run's choice (--empty-cells): for the records people own

    @classmethod
    def of(cls, mapping: Mapping | None, run_default: str = "keep") -> EmptyCells:
        if mapping is None:
            return cls(run_default=run_default)
        return cls(
            run_default=run_default,
            cleared={e: mapping.cleared_fields(e, run_default) for e in mapping.entities},
            date_orders={
                e: {n: f.date_order or mapping.date_order for n, f in spec.fields.items()}
                for e, spec in mapping.entities.items()
            },
        )


def date_words(series: pd.Series, order: str | pd.Series) -> pd.Series:
    """ISO dates (or datetimes) written the way the file writes them (day-first: 26/03/1950).

    ``order``: the file's, or one per row (by ``series``' index) for rows read from
    tables that write dates differently.
    """
    if isinstance(order, pd.Series):
        shown = series.astype("str")
        for one in order.unique():
            hit = (order == one).to_numpy()
            shown[hit] = date_words(shown[hit], str(one))
        return shown
    text = series.astype("str")
    parts = text.str.extract(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
    pattern = DATE_FORMATS.get(order, DATE_FORMATS["iso"])
    first, second, third = (pattern[i] for i in (1, 5, 9))  # the letters y/m/d in their order
    sep = pattern[3]
    shown = parts[first] + sep + parts[second] + sep + parts[third]
    time = text.str.extract(r"^\d{4}-\d{2}-\d{2}[ T](\d{2}:\d{2}(?::\d{2})?)")[0].fillna("")
    shown = shown.where(time.isin(["", "00:00:00", "00:00"]), shown + " " + time)  # a time, unless midnight
    return shown.where(parts["y"].notna(), text).astype("str")


def _words(column: str, kind: str, part: pd.DataFrame, canon: CanonicalTable, order: str) -> pd.Series:
    """One canonical column as a clerk reads it: dates in the file's order, yes/no, codes by name."""
    values = part[column]
    if kind in ("date", "datetime"):
        return date_words(values, order)
    if kind == "bool":
        return _bool_text(values).map({"1": "yes", "0": "no"}).astype("str")
    if kind == "coded":  # the server's name, or the clerk's word when it maps to none ("spouse" -> "")
        raw = canon.as_written(column, values.index)
        return values.where(values != "", raw).astype("str")
    return values.astype("str")


def _file_view(
    canon: CanonicalTable,
    columns: dict[str, tuple[str, str]],
    orders: dict[str, str],
) -> FileView:
    """A stage's :data:`FileView`: ``columns`` is load column -> (canonical column, kind).

    A coded cell is empty only when the clerk left it empty: "spouse" resolves
    to no membership kind, which is a value to send, not a cell to keep.
    """
    source = canon.frame

    def cells(column: str, kind: str, index: pd.Index) -> pd.Series:
        return canon.as_written(column, index) if kind == "coded" else source[column].reindex(index)

    def view(rows: pd.DataFrame, words: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        empty = pd.DataFrame(
            {load: cells(c, kind, rows.index) == "" for load, (c, kind) in columns.items()}, index=rows.index
        )
        if not words:
            return empty, None
        part = source.loc[rows.index, list(dict.fromkeys(c for c, _k in columns.values()))]
        shown = pd.DataFrame(
            {load: _words(c, kind, part, canon, orders.get(c, "iso")) for load, (c, kind) in columns.items()},
            index=rows.index,
        )
        return empty, shown

    return view


def _labels(canon: CanonicalTable, columns: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Load column -> the clerk's header; a name made from its parts is the "full name"."""
    labels = {load: canon.columns.get(c, c) for load, (c, _k) in columns.items()}
    names = canon.columns
    if "name" in labels and names.get("name") in (names.get("given_name"), names.get("family_name")):
        labels["name"] = "full name"
    return labels


def _partner_stage(
    entity: Entity,
    canon: CanonicalTable,
    catalog: Catalog,
    namespace: str,
    valid: pd.Index,
    empty_cells: EmptyCells,
) -> StagePlan:
    frame = canon.frame.loc[valid, ["key", *ORIGIN]]
    rows = _skeleton(frame, make_xids(namespace, entity, frame["key"]))
    source = canon.frame
    sent = _sent_fields(entity, source.columns, catalog)  # once per stage, not per batch

    def build(part: pd.DataFrame) -> pd.DataFrame:
        return _partner_payload(entity, source.loc[part.index], part["xid"], catalog, sent)

    fields = _partner_fields(entity, source.columns, catalog, sent)
    columns = {path: (c, kind) for c, (path, kind) in sent.items()}
    links = _links(entity, source.columns, catalog)
    for load in fields:
        if load.split("/")[0] in ("gender", "kind", *links):
            columns[load] = (load.split("/")[0], "coded")
    return StagePlan(entity, PARTNER, fields, rows, build=build, **_cell_rules(canon, columns, empty_cells))


def owned_stages(
    people: CanonicalTable, catalog: Catalog, namespace: str, empty_cells: EmptyCells | None = None
) -> list[StagePlan]:
    """The records every person owns: IDs, phones, bank accounts, in load order.

    Built for every person, the invalid ones too: those records are then
    skipped with their person's reason (StagePlan.blocked_by) instead of
    vanishing from the report's counts.  An empty cell of theirs (an expiry
    date, a collection date, a bank) leaves the server's value alone unless
    the run clears (``empty_cells``).
    """
    clears = (empty_cells or EmptyCells()).run_default == "clear"
    stages = [reg_id_stage(people, catalog, namespace, clears)] if catalog.id_types else []
    return [*stages, phone_stage(people, namespace, clears), bank_stage(people, catalog, namespace, clears)]


def _owned_part(
    canon: CanonicalTable, namespace: str, entity: Entity, column: str, suffix: str, value: str, header: str
) -> pd.DataFrame:
    """Records of a person's own (an ID, a phone, an account): one per filled cell of ``column``.

    Keyed ``<person>__<suffix>``, so a person's n-th number is always the
    same record; ``value`` names the load column the cell goes to, ``header``
    the clerk's column for the report's changes.
    """
    frame = canon.frame
    given = frame[frame[column] != ""]
    keys = given["key"] + "__" + suffix
    part = _skeleton(
        given.assign(key=keys),
        make_xids(namespace, entity, keys),
        parent=given["key"],
        **{value: given[column]},
    )
    part["partner_id/id"] = make_xids(namespace, Entity.INDIVIDUAL, given["key"])
    part["header"] = header
    return part


def _reads_as(
    rows: pd.DataFrame,
    canon: CanonicalTable,
    load: str,
    column: str,
    dated: bool = False,
    index: pd.Index | None = None,
) -> None:
    """Say how a load column reads to the clerk on these rows (``index``: all of them), as
    ``canon``'s table names it: its header and, for a date, the file's order.  For a record's
    further column (an ID's expiry date, a phone's date, an account's bank) and for a stage
    whose rows come from several tables (relationships)."""
    reads = {HEADER_OF + load: canon.columns.get(column, column)}
    if dated:
        reads[ORDER_OF + load] = canon.date_orders.get(column, "iso")
    for name, value in reads.items():
        _put(rows, index, name, value)


def _put(rows: pd.DataFrame, index: pd.Index | None, name: str, value: Any) -> None:
    """``value`` in column ``name`` on the rows at ``index`` (None: every row).

    A stage with no rows left (every relationship refused, say) gets the
    column empty: pandas refuses to set a value by label on no rows at all.
    """
    if index is None or rows.empty:
        rows[name] = value
    else:
        rows.loc[index, name] = value


def _readings_as_categories(rows: pd.DataFrame) -> None:
    """The columns :func:`_reads_as` set, as categories (a few values on every row of a big stage);
    a row that no part spoke for reads as the load column holds it, a date in ISO order."""
    for column in [c for c in rows.columns if c.startswith((HEADER_OF, ORDER_OF, WORDS_OF))]:
        rows[column] = rows[column].fillna("iso" if column.startswith(ORDER_OF) else "").astype("category")


#: The skeleton column saying a row's table has no column for an optional field (StagePlan.absent).
UNREAD = "unread:"


def _owned_stage(
    entity: Entity,
    fields: list[str],
    parts: list[pd.DataFrame],
    optional: tuple[str, ...] = (),
    clears: bool = False,
    defaulted: frozenset[str] = frozenset(),
) -> StagePlan:
    """The stage of records people own, built eagerly; a refused person's are skipped with them.

    ``optional``: load columns whose empty cell an update leaves out (the
    server's value is kept) unless the run ``clears``; a part without a
    column for one (no expiry column for this ID type) never sends it on an
    update (``UNREAD`` flags, set by the parts).
    """
    optional = tuple(c for c in optional if c in fields)
    if parts:
        rows = pd.concat(parts, ignore_index=True)  # a person with two IDs has two rows
    else:
        rows = pd.DataFrame(columns=["key", "xid", "parent", *ORIGIN, "header", *fields[1:]])
    rows["id"] = rows["xid"]
    rows["header"] = rows["header"].astype("category")
    _readings_as_categories(rows)
    for column in optional:
        flag = UNREAD + column
        rows[flag] = rows[flag].fillna(True).astype(bool) if flag in rows else True
        rows[column] = rows[column].fillna("").astype("str")
    return StagePlan(
        entity,
        MODEL[entity],
        fields,
        rows,
        depends={Entity.INDIVIDUAL: "parent"},
        same_row=frozenset({Entity.INDIVIDUAL}),
        optional={c: c for c in optional},
        clear=frozenset(optional) if clears else frozenset(),
        defaulted=defaulted & frozenset(optional),
        absent={c: UNREAD + c for c in optional},
    )


def _numbered(columns: pd.Index, column_of: Callable[[int], str]) -> list[int]:
    """1, 2, … for as long as the table has that numbered column (a person's phones, accounts)."""
    return list(itertools.takewhile(lambda n: column_of(n) in columns, itertools.count(1)))


def _cells_or_empty(frame: pd.DataFrame, column: str, index: pd.Index) -> pd.Series | str:
    """A column's cells at these rows, or "" for every row when the mapping has no such column."""
    return frame.loc[index, column] if column in frame.columns else ""


def reg_id_stage(canon: CanonicalTable, catalog: Catalog, namespace: str, clears: bool = False) -> StagePlan:
    """Every person's IDs: records of their own (g2p.reg.id) with their own external ids, built eagerly."""
    frame = canon.frame
    parts = []
    for id_type, (type_id, _regex) in catalog.id_types.items():
        col = id_column(id_type)
        if col not in frame.columns:
            continue
        part = _owned_part(
            canon, namespace, Entity.REG_ID, col, slug(id_type), "value", canon.columns.get(col, id_type)
        )
        part["id_type/.id"] = str(type_id or "")
        part["expiry_date"] = _cells_or_empty(frame, id_expiry_column(id_type), part.index)
        part[UNREAD + "expiry_date"] = id_expiry_column(id_type) not in frame.columns
        _reads_as(part, canon, "expiry_date", id_expiry_column(id_type), dated=True)
        parts.append(part)
    fields = ["id", "partner_id/id", "id_type/.id", "value"]
    if any(c.startswith(id_expiry_column("")) for c in frame.columns):
        fields.append("expiry_date")
    return _owned_stage(Entity.REG_ID, fields, parts, ("expiry_date",), clears)


def with_id_sheet(
    stage: StagePlan | None,
    sheet: CanonicalTable,
    catalog: Catalog,
    namespace: str,
    valid: pd.Index,
    empty_cells: EmptyCells | None = None,
) -> StagePlan:
    """The people's IDs with those of an IDs sheet (one ID per row) added: one stage, one key scheme.

    A sheet row is keyed ``<person>__<type>`` as an ID column is, so the same
    ID given either way is the same record; the validator refused a sheet row
    repeating one (``duplicate_id``).  Its person is on another row: a note
    that the person failed names them.  An empty expiry cell keeps the
    server's date unless the sheet's ``expiry_date`` field (or the run) clears.
    """
    frame = sheet.frame.loc[valid]
    part = _skeleton(
        frame,
        make_xids(namespace, Entity.REG_ID, frame["key"]),
        parent=frame["individual"],
        value=frame["value"],
    )
    part["partner_id/id"] = make_xids(namespace, Entity.INDIVIDUAL, frame["individual"])
    part["header"] = sheet.columns.get("value", "value")
    type_ids = {name: str(type_id or "") for name, (type_id, _regex) in catalog.id_types.items()}
    part["id_type/.id"] = frame["id_type"].map({t: type_ids.get(t, "") for t in frame["id_type"].unique()})
    part["expiry_date"] = frame["expiry_date"] if "expiry_date" in frame.columns else ""
    part[UNREAD + "expiry_date"] = "expiry_date" not in frame.columns
    _reads_as(part, sheet, "expiry_date", "expiry_date", dated=True)
    part[PARENT_APART] = True
    fields = ["id", "partner_id/id", "id_type/.id", "value"]
    if "expiry_date" in frame.columns or (stage is not None and "expiry_date" in stage.fields):
        fields.append("expiry_date")
    parts = [part]
    if stage is not None:
        parts.insert(0, stage.rows.drop(columns=["id"]).assign(**{PARENT_APART: False}))
    cleared = (empty_cells or EmptyCells()).cleared.get(Entity.REG_ID, frozenset())
    merged = _owned_stage(Entity.REG_ID, fields, parts, ("expiry_date",), "expiry_date" in cleared)
    merged.rows[PARENT_APART] = merged.rows[PARENT_APART].astype(bool)
    return merged


def phone_stage(canon: CanonicalTable, namespace: str, clears: bool = False) -> StagePlan:
    """Every person's phone numbers: records of their own (g2p.phone.number), one per number given.

    The n-th phone column of a person is always the same record (its external
    id ends in ``__tel<n>``), so a corrected number updates it and a re-run
    sends nothing.  An empty cell makes no record and removes none.  An empty
    (or unmapped) collection date is not sent: a new number gets the server's
    date (today), an existing one keeps its date.
    """
    frame = canon.frame
    parts = []
    numbers = _numbered(frame.columns, phone_column)
    for n in numbers:
        column = phone_column(n)
        part = _owned_part(
            canon, namespace, Entity.PHONE, column, f"tel{n}", "phone_no", canon.columns.get(column, column)
        )
        part["date_collected"] = _cells_or_empty(frame, phone_date_column(n), part.index)
        part[UNREAD + "date_collected"] = phone_date_column(n) not in frame.columns
        _reads_as(part, canon, "date_collected", phone_date_column(n), dated=True)
        parts.append(part)
    dated = any(phone_date_column(n) in frame.columns for n in numbers)
    fields = ["id", "partner_id/id", "phone_no", *(["date_collected"] if dated else [])]
    return _owned_stage(
        Entity.PHONE, fields, parts, ("date_collected",), clears, frozenset({"date_collected"})
    )


def bank_stage(canon: CanonicalTable, catalog: Catalog, namespace: str, clears: bool = False) -> StagePlan:
    """Every person's bank accounts: records of their own (res.partner.bank), one per account given.

    The n-th account column of a person is always the same record
    (``__bnk<n>``); its bank is sent as the id the catalog found for its BIC
    or name (``load`` would only match the bank's plain name).  An empty bank
    cell keeps the bank the server has for the account.
    """
    frame = canon.frame
    banks = catalog.linked.get(BANK_FIELD)
    parts = []
    numbers = _numbered(frame.columns, bank_account_column)
    for n in numbers:
        column = bank_account_column(n)
        part = _owned_part(
            canon, namespace, Entity.BANK, column, f"bnk{n}", "acc_number", canon.columns.get(column, column)
        )
        names = frame.loc[part.index, bank_column(n)] if bank_column(n) in frame.columns else None
        part["bank_id/.id"] = _linked_ids(names, banks.names) if names is not None and banks else ""
        part[UNREAD + "bank_id/.id"] = names is None
        _reads_as(part, canon, "bank_id/.id", bank_column(n))
        if names is not None:  # the bank as the clerk named it, not the id it stands for
            part[WORDS_OF + "bank_id/.id"] = canon.as_written(bank_column(n), part.index)
        parts.append(part)
    with_bank = banks is not None and any(bank_column(n) in frame.columns for n in numbers)
    fields = ["id", "partner_id/id", "acc_number", *(["bank_id/.id"] if with_bank else [])]
    return _owned_stage(Entity.BANK, fields, parts, ("bank_id/.id",), clears)


def _midnight(dates: pd.Series) -> pd.Series:
    """ISO dates sent to a datetime field: the server stores a date as its midnight, and reads it so."""
    return dates.where(dates == "", dates + " 00:00:00")


def _membership_payload(
    frame: pd.DataFrame, rows: pd.DataFrame, catalog: Catalog, namespace: str
) -> pd.DataFrame:
    out = pd.DataFrame({"id": rows["xid"]}, index=frame.index)
    out["group/id"] = make_xids(namespace, Entity.GROUP, frame["group"])
    out["individual/id"] = make_xids(namespace, Entity.INDIVIDUAL, frame["individual"])
    if "kind" in frame.columns:
        kinds = catalog.membership_kinds

        def ids(text: str) -> str:
            return ",".join(str(kinds[k]) for k in text.split(",") if k in kinds)

        uniques = frame["kind"].unique()
        out["kind/.id"] = frame["kind"].map(dict(zip(uniques, map(ids, uniques), strict=True))).astype("str")
    for column in ("start_date", "ended_date"):
        if column in frame.columns:
            out[column] = _midnight(frame[column])
    return out


def _membership_stage(
    canon: CanonicalTable, catalog: Catalog, namespace: str, valid: pd.Index, empty_cells: EmptyCells
) -> StagePlan:
    frame = canon.frame.loc[valid, ["key", "group", "individual", *ORIGIN]]
    rows = _skeleton(
        frame,
        make_xids(namespace, Entity.MEMBERSHIP, frame["key"]),
        group_key=frame["group"],
        individual_key=frame["individual"],
    )
    source = canon.frame
    fields = ["id", "group/id", "individual/id"]
    fields += [c for c in ("kind", "start_date", "ended_date") if c in source.columns]
    fields = [f"{f}/.id" if f == "kind" else f for f in fields]

    def build(part: pd.DataFrame) -> pd.DataFrame:
        return _membership_payload(source.loc[part.index], part, catalog, namespace)

    columns = {f: (f.split("/")[0], "coded" if f == "kind/.id" else "datetime") for f in fields[3:]}
    return StagePlan(
        Entity.MEMBERSHIP,
        MEMBERSHIP,
        fields,
        rows,
        depends={Entity.GROUP: "group_key", Entity.INDIVIDUAL: "individual_key"},
        build=build,
        **_cell_rules(canon, columns, empty_cells),
    )


def _cell_rules(
    canon: CanonicalTable, columns: dict[str, tuple[str, str]], empty_cells: EmptyCells
) -> dict[str, Any]:
    """A stage's rules for its cells: which may be left out when empty, which clear, how they read.

    ``columns`` is load column -> (canonical column, kind).
    """
    cleared = empty_cells.cleared.get(canon.entity, frozenset())
    orders = empty_cells.date_orders.get(canon.entity, {})
    return {
        "optional": {load: c for load, (c, _k) in columns.items()},
        "clear": frozenset(load for load, (c, _k) in columns.items() if c in cleared),
        "labels": _labels(canon, columns),
        "date_orders": {load: orders.get(c, "iso") for load, (c, _k) in columns.items()},
        "view": _file_view(canon, columns, orders),
    }


def _relationship_stage(
    canon: CanonicalTable,
    catalog: Catalog,
    namespace: str,
    valid: pd.Index,
    households: pd.Series,
    empty_cells: EmptyCells,
) -> StagePlan:
    """Relationships between registrants (g2p.reg.rel): each end by the external id of a person or
    of a household (``households``: the keys known to be households, the file's and the server's).

    A two-way relationship a person's row repeats from the other end (``ECHO``)
    is the record its first row sends, sent once.  An empty date cell leaves
    the server's date as it is unless the run clears, as any other field's;
    rows read from a table without a date column (a sheet without start dates
    beside people's rows with them) never send it.  Each row's dates read as
    its own table names and writes them.
    """
    frame = canon.frame.loc[valid]
    if ECHO in frame.columns:
        echo = frame[ECHO] == "1"
        frame = frame[~(echo & isin(frame["key"], frame.loc[~echo, "key"]))]
    source, destination = directed_ends(frame)  # "B Child A" is sent as "A Parent B"
    rows = _skeleton(
        frame,
        make_xids(namespace, Entity.RELATIONSHIP, frame["key"]),
        source_key=source,
        destination_key=destination,
    )
    relations = catalog.linked.get("relation")
    dated = [c for c in ("start_date", "end_date") if c in frame.columns]

    def end(keys: pd.Series) -> pd.Series:
        group = isin(keys, households)
        return make_xids(namespace, Entity.INDIVIDUAL, keys).where(
            ~group, make_xids(namespace, Entity.GROUP, keys)
        )

    rows["source/id"] = end(source)
    rows["destination/id"] = end(destination)
    rows["relation/.id"] = _linked_ids(frame["relation"], relations.names) if relations else ""
    for column in dated:  # a datetime on the server: a date is stored as its midnight
        rows[column] = _midnight(frame[column])
        for table, index in canon.by_part(frame.index):
            _reads_as(rows, table, column, column, dated=True, index=index)
            _put(rows, index, UNREAD + column, column not in table.columns)
        rows[UNREAD + column] = rows[UNREAD + column].astype(bool)
    _readings_as_categories(rows)
    rows["id"] = rows["xid"]
    fields = ["id", "source/id", "destination/id", "relation/.id", *dated]
    both = ("source_key", "destination_key")
    cleared = empty_cells.cleared.get(Entity.RELATIONSHIP)  # a sheet's fields' empty: options
    if cleared is None:  # relationships from people's columns only: the run's choice
        cleared = frozenset(dated) if empty_cells.run_default == "clear" else frozenset()
    return StagePlan(
        Entity.RELATIONSHIP,
        MODEL[Entity.RELATIONSHIP],
        fields,
        rows,
        depends={Entity.INDIVIDUAL: both, Entity.GROUP: both},
        optional={c: c for c in dated},
        clear=frozenset(dated) & cleared,
        absent={c: UNREAD + c for c in dated},
    )


def build_stages(
    tables: dict[Entity, CanonicalTable],
    catalog: Catalog,
    namespace: str,
    valid: Callable[[Entity], pd.Index],
    empty_cells: EmptyCells | None = None,
    server_households: set[str] | None = None,
) -> dict[Entity, StagePlan]:
    """Payloads for every entity, in load order, from the rows that passed validation.

    ``empty_cells`` says which fields an empty cell clears on an update;
    by default none does (the server's value is kept).
    """
    empty_cells = empty_cells or EmptyCells()
    stages: dict[Entity, StagePlan] = {}
    for entity in (Entity.GROUP, Entity.INDIVIDUAL):
        if entity in tables:
            stages[entity] = _partner_stage(
                entity, tables[entity], catalog, namespace, valid(entity), empty_cells
            )
    if Entity.INDIVIDUAL in tables:
        for stage in owned_stages(tables[Entity.INDIVIDUAL], catalog, namespace, empty_cells):
            if len(stage.rows):
                stages[stage.entity] = stage
    if Entity.REG_ID in tables:  # an IDs sheet: its rows join the IDs of the people's own columns
        stages[Entity.REG_ID] = with_id_sheet(
            stages.get(Entity.REG_ID),
            tables[Entity.REG_ID],
            catalog,
            namespace,
            valid(Entity.REG_ID),
            empty_cells,
        )
    if Entity.MEMBERSHIP in tables:
        stages[Entity.MEMBERSHIP] = _membership_stage(
            tables[Entity.MEMBERSHIP], catalog, namespace, valid(Entity.MEMBERSHIP), empty_cells
        )
    if Entity.RELATIONSHIP in tables:
        known = [pd.Series(sorted(server_households or ()), dtype="str")]
        if Entity.GROUP in tables:
            known.append(tables[Entity.GROUP].frame["key"])
        stages[Entity.RELATIONSHIP] = _relationship_stage(
            tables[Entity.RELATIONSHIP],
            catalog,
            namespace,
            valid(Entity.RELATIONSHIP),
            pd.concat(known, ignore_index=True),
            empty_cells,
        )
    for stage in stages.values():
        stage.rows["action"] = pd.Categorical.from_codes(
            np.zeros(len(stage.rows), dtype=np.int8), categories=["create", "update", "unchanged"]
        )
    return stages


# -- what the server holds -------------------------------------------------------


#: Where records that carry our external ids live, with archived ones ("active" named in the
#: domain turns Odoo's implicit active filter off), for users who may not read ir.model.data.
XID_HOLDERS: tuple[tuple[str, list[list[Any]]], ...] = tuple(
    (model, [["is_registrant", "=", True], ["active", "in", [True, False]]] if model == PARTNER else [])
    for model in dict.fromkeys(MODEL.values())
)
XID_CHUNK = 5000
XID_PAGE = 10000  # external ids read from ir.model.data in one call, at most
XID_NAMES = 5000  # external ids asked for by name in one call


def existing_xids(
    client: OdooClient, namespace: str, workers: int = 1, total: int | None = None
) -> dict[str, tuple[str, int]]:
    """Every external id of this namespace on the server: name -> (model, res_id).

    Read from ``ir.model.data`` in pages (``total``: how many there are, when
    already counted).  Odoo 17 lets only "Administration / Access Rights" read
    that table, so for anyone else (a Registrar, a read-only user) the records
    that could hold ours are asked for their own (:func:`_xids_from_records`).
    ``load`` resolves external ids itself, as superuser, so either way nothing
    can be written twice.
    """
    domain = [["module", "=", namespace]]
    if total is None:
        try:
            total = client.search_count("ir.model.data", domain)
        except AccessError:
            return _xids_from_records(client, namespace, workers)
    # At least two pages, so that a second server worker shares the read: 9,000 external ids
    # took a real two-worker Odoo 362 ms in one page, 188 ms in two, 307 ms in five.
    page = min(XID_PAGE, max(READ_CHUNK, -(-total // 2)))

    def one(c: OdooClient, offset: int) -> list[dict[str, Any]]:
        fields = ["name", "model", "res_id"]
        return c.search_read("ir.model.data", domain, fields, offset=offset, limit=page, order="id")

    with ClientPool(client, workers) as pool:
        pages = pool.map(one, list(range(0, total, page)))
    return {f"{namespace}.{r['name']}": (r["model"], int(r["res_id"])) for rows in pages for r in rows}


class NamespaceIds:
    """External ids of this namespace, as a run asks for them (docs/architecture.md §3).

    Called with external ids, it answers name -> (model, res_id) for those on
    the server.  A namespace not much bigger than what the run may name
    (``expected`` records) is read whole at the first ask (:func:`existing_xids`):
    two pages cost less than asking by name.  A bigger one (a correction file
    into a namespace a migration filled with millions; a chunk of a national
    file, ``expected`` None) is asked by name, a page of names per call, so a
    run costs what it names, not what the namespace holds.  Anyone who may not
    read ``ir.model.data`` gets the records' own answers, read once and kept.

    :meth:`start` settles which (and reads the namespace whole, if so) on a
    thread of its own, so it overlaps the run's other first calls.
    """

    def __init__(self, client: OdooClient, namespace: str, workers: int, expected: int | None = None) -> None:
        self.client, self.namespace, self.workers, self.expected = client, namespace, workers, expected
        self.domain = [["module", "=", namespace]]
        self.whole: dict[str, tuple[str, int]] | None = None
        #: what the last ask found by name: a run asks twice (its registrants, then all its
        #: records), and what it found is not asked again (a run deletes nothing); what it did
        #: not find is (a chunk written since may have created it).  The last ask's only: a
        #: chunked run's memory stays a chunk's.
        self.found: dict[str, tuple[str, int]] = {}
        self._settled = expected is None  # by name from the start: nothing to settle
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> NamespaceIds:
        """Settle, on a thread with a client of its own, while the caller goes on."""
        if not self._settled and self._thread is None:
            fork = self.client.fork()
            self._thread = threading.Thread(target=self._settle_on, args=(fork,), daemon=True)
            self._thread.start()
        return self

    def _settle_on(self, fork: OdooClient) -> None:
        try:
            self._settle(fork)
        except BaseException as exc:  # raised again to the caller that asks (__call__)
            self._error = exc
        finally:
            fork.close()

    def _settle(self, client: OdooClient) -> None:
        """Read the namespace whole when it is not much bigger than the run (else ask by name)."""
        try:
            total = client.search_count("ir.model.data", self.domain)
        except AccessError:
            self.whole = existing_xids(client, self.namespace, self.workers)
        else:
            if total <= 2 * (self.expected or 0) + XID_PAGE:
                self.whole = existing_xids(client, self.namespace, self.workers, total)
        self._settled = True

    def __call__(self, names: Sequence[str]) -> dict[str, tuple[str, int]]:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                error, self._error = self._error, None
                raise error
        if not self._settled:
            self._settle(self.client)
        if self.whole is not None:
            return {n: self.whole[n] for n in names if n in self.whole}
        module = self.namespace + "."
        short = sorted({n[len(module) :] for n in names if n.startswith(module) and n not in self.found})
        pages = [short[i : i + XID_NAMES] for i in range(0, len(short), XID_NAMES)]
        fields = ["name", "model", "res_id"]

        def ask(c: OdooClient, part: list[str]) -> list[dict[str, Any]]:
            return c.search_read("ir.model.data", [*self.domain, ["name", "in", part]], fields)

        try:
            with ClientPool(self.client, self.workers) as pool:
                answers = pool.map(ask, pages)
        except AccessError:
            self.whole = existing_xids(self.client, self.namespace, self.workers)
            return self(names)
        found = {n: self.found[n] for n in names if n in self.found}
        found |= {module + r["name"]: (r["model"], int(r["res_id"])) for rows in answers for r in rows}
        self.found = found
        return found


def _xids_from_records(client: OdooClient, namespace: str, workers: int) -> dict[str, tuple[str, int]]:
    """Our external ids, asked of every registrant, ID and membership (``get_external_id``).

    Odoo answers that method as superuser, so any user may call it; it costs
    one call per few thousand records of the registry, not of the file.  It
    gives each record's oldest external id only: a registrant an administrator
    linked to ours after matching it by ID shows its older one, is planned as
    new, and ``load`` then updates it (reported "created", never duplicated).
    """
    prefix = namespace + "."
    found: dict[str, tuple[str, int]] = {}
    with ClientPool(client, workers) as pool:
        for model, domain in XID_HOLDERS:
            ids = client.search(model, domain)
            chunks = [ids[i : i + XID_CHUNK] for i in range(0, len(ids), XID_CHUNK)]
            pages = pool.map(lambda c, part, m=model: c.execute_kw(m, "get_external_id", [part]), chunks)
            for page in pages:
                found.update(
                    (xid, (model, int(res_id))) for res_id, xid in page.items() if xid.startswith(prefix)
                )
    return found


def _server_column(values: list[Any], kind: str) -> list[str]:
    """Server field values in the same text form the plan sends (one comprehension per kind)."""
    if kind == "bool":
        return ["1" if v else "0" for v in values]
    if kind == "m2o":
        return [
            str(v[0]) if isinstance(v, list | tuple) else "" if v is False or v is None else str(v)
            for v in values
        ]
    if kind == "m2m":
        return [",".join(str(i) for i in sorted(v)) if v else "" for v in values]
    if kind == "float":
        return [_float_form(v) for v in values]
    if kind == "json":  # a JSON object reads back as a dict: compare its normal spelling
        return ["" if not v else json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values]
    if kind == "int":  # an unset integer reads back as 0
        return ["" if v is False or v is None or v == 0 else str(int(v)) for v in values]
    return ["" if v is False or v is None else str(v) for v in values]


def _float_form(value: Any) -> str:
    if value is False or value is None:
        return ""
    number = float(value)
    if number == 0:
        return ""
    return repr(number).removesuffix(".0") if number.is_integer() else repr(number)


def _compare_kinds(stage: StagePlan, catalog: Catalog) -> dict[str, tuple[str, str]]:
    """load column -> (server field, kind) for every column the diff compares (importer.fields)."""
    declared = compare_kinds(stage.entity)
    if stage.entity in (Entity.INDIVIDUAL, Entity.GROUP):  # and the deployment's own fields
        names = pd.Index([f.split("/")[0] for f in stage.fields])
        sent = _sent_fields(stage.entity, names, catalog)
        declared = {path: kind for path, kind in sent.values()} | declared
        declared |= {f.path: f.kind.compare for f in _links(stage.entity, names, catalog).values()}
    kinds: dict[str, tuple[str, str]] = {}
    for column in stage.fields[1:]:
        base = column.split("/")[0]
        kinds[column] = (base, "xid" if column.endswith("/id") else declared.get(column, "text"))
    return kinds


@dataclass
class Comparison:
    """What the server already holds, as :func:`compare_existing` found it.

    ``existing``: per entity, key -> server id of the records already there.
    ``changes``: per entity, one line per field an update changes
    (:data:`CHANGE_COLUMNS`: load field, the clerk's column, the server's
    value and the file's, in words, and whether the file's empty cell clears
    it), indexed by the stage's row index.  Rows planned unchanged have none.
    """

    existing: dict[Entity, dict[str, int]]
    changes: dict[Entity, pd.DataFrame]


def mark_existing(
    client: OdooClient,
    stages: dict[Entity, StagePlan],
    catalog: Catalog,
    xids: dict[str, tuple[str, int]],
    workers: int = 1,
) -> dict[Entity, dict[str, int]]:
    """:func:`compare_existing` for callers that only need the server ids."""
    return compare_existing(client, stages, catalog, xids, workers).existing


def compare_existing(
    client: OdooClient,
    stages: dict[Entity, StagePlan],
    catalog: Catalog,
    xids: dict[str, tuple[str, int]],
    workers: int = 1,
) -> Comparison:
    """Set each row's action (create / update / unchanged) from what the server holds.

    Reads the records behind the file's external ids in bulk (one ``read``
    per few thousand records) and compares them with the payload, field by
    field, in the payload's own text form.  A cell the file leaves empty
    does not count as a difference unless its field clears ("keep", the
    default: the update will not send it, see :meth:`StagePlan.batches`).
    """
    res_ids = pd.Series(
        [res_id for _m, res_id in xids.values()], index=pd.Index(list(xids), dtype=object), dtype="int64"
    )
    existing: dict[Entity, dict[str, int]] = {}
    reads: dict[Entity, _ReadBack] = {}
    for entity, stage in stages.items():
        ids = stage.rows["xid"].astype(object).map(res_ids)
        on_server = ids.notna()
        server_ids = ids[on_server].astype("int64")
        existing[entity] = dict(zip(stage.rows.loc[on_server, "key"], server_ids.astype(int), strict=True))
        if on_server.any():
            reads[entity] = _ReadBack.of(stage, catalog, server_ids)
    jobs = [(stages[e].model, chunk, read.fields) for e, read in reads.items() for chunk in read.chunks]
    changes: dict[Entity, pd.DataFrame] = {}
    # Every stage's reads go out at once; each stage is compared as soon as its own are back.
    with (
        ClientPool(client, workers) as pool,
        contextlib.closing(pool.imap(lambda c, job: c.read(*job, names=False), jobs)) as pages,
    ):
        for entity, read in reads.items():
            records = [rec for _chunk in read.chunks for rec in next(pages)]
            changes[entity] = _compare(stages[entity], catalog, read, records, res_ids, client)
    return Comparison(existing, changes)


@dataclass(frozen=True)
class _ReadBack:
    """One stage's records to read back: their server ids by row, and what to compare."""

    server_ids: pd.Series  # int64, indexed by the stage's rows already on the server
    kinds: dict[str, tuple[str, str]]  # load column -> (server field, kind)
    fields: list[str]
    chunks: list[list[int]]

    @classmethod
    def of(cls, stage: StagePlan, catalog: Catalog, server_ids: pd.Series) -> _ReadBack:
        kinds = _compare_kinds(stage, catalog)
        wanted = server_ids.unique().tolist()
        chunks = [wanted[i : i + READ_CHUNK] for i in range(0, len(wanted), READ_CHUNK)]
        return cls(server_ids, kinds, sorted({f for f, _k in kinds.values()}), chunks)


def _compare(
    stage: StagePlan,
    catalog: Catalog,
    read: _ReadBack,
    records: list[dict[str, Any]],
    res_ids: pd.Series,
    client: OdooClient,
) -> pd.DataFrame:
    """Set the stage's actions from its records read back; its change lines (:class:`Comparison`)."""
    rows, kinds, server_ids = stage.rows, read.kinds, read.server_ids
    on_server = rows.index.isin(server_ids.index)
    server = _server_frame(records, kinds)
    found = server_ids.isin(server.index).to_numpy()
    same = found.copy()
    empty = stage.file_view(rows[on_server], False)[0]
    kept = set(stage.kept)
    unread = stage.unread(rows[on_server])
    _keep_name_parts(stage, server, server_ids, empty)
    payload = stage.payload(rows[on_server])
    differs: dict[str, np.ndarray] = {}
    for column, (_field, kind) in kinds.items():
        sent = payload[column].astype(object)
        if kind == "xid":  # compare the database id the external id stands for
            held_id = sent.map(res_ids)
            sent = pd.Series(
                np.where(held_id.isna(), "", held_id.fillna(0).astype("int64").astype(str)), dtype=object
            )
        elif kind == "m2m":
            sent = sent.map(lambda s: ",".join(sorted(s.split(","), key=_num)) if s else "")
        held = server[column].reindex(server_ids.to_numpy()).fillna("\x00missing")
        equal = sent.astype(str).to_numpy() == held.astype(str).to_numpy()
        if column in kept:  # "keep": the file's empty cell is not sent, so it changes nothing
            equal |= empty[column].to_numpy(dtype=bool)
        if column in unread.columns:  # a column its table does not have is not sent either
            equal |= unread[column].to_numpy(dtype=bool)
        same &= equal
        if not equal.all():
            differs[column] = ~equal & found
    rows.loc[on_server, "action"] = "update"
    rows.loc[rows.index[on_server][same], "action"] = "unchanged"
    by_id = _with_link_names(client, stage.model, records, read, differs) if differs else {}
    return _change_lines(stage, catalog, differs, server_ids, by_id, empty)


def _with_link_names(
    client: OdooClient,
    model: str,
    records: list[dict[str, Any]],
    read: _ReadBack,
    differs: dict[str, np.ndarray],
) -> dict[int, dict[str, Any]]:
    """The records by id, with ``[id, name]`` for the links an update changes.

    They were read back as bare ids (cheaper by far); a change line names the
    record a link held before, so only the records that change one are read
    again, with names.
    """
    by_id = {rec["id"]: rec for rec in records}
    linked = [c for c, hit in differs.items() if read.kinds[c][1] in ("m2o", "xid") and hit.any()]
    if not linked:
        return by_id
    hit = np.logical_or.reduce([differs[c] for c in linked])
    ids = read.server_ids[hit].unique().tolist()
    fields = sorted({read.kinds[c][0] for c in linked})
    for start in range(0, len(ids), READ_CHUNK):
        for rec in client.read(model, ids[start : start + READ_CHUNK], fields):
            by_id[rec["id"]] = by_id[rec["id"]] | rec
    return by_id


NAME_PARTS = ("family_name", "given_name", "addl_name")


def _keep_name_parts(
    stage: StagePlan, server: pd.DataFrame, server_ids: pd.Series, empty: pd.DataFrame
) -> None:
    """A person's composed name, on an update whose file leaves a name part empty, uses the server's part.

    Otherwise "keep" would keep the given name on the server and still send
    a name composed without it ("RAMOS" for "RAMOS, ANA").
    """
    parts = [c for c in NAME_PARTS if c in stage.kept]
    if stage.labels.get("name") != "full name" or not parts or "name" not in server.columns:
        return
    hole = empty[parts].any(axis=1).to_numpy()
    if not hole.any():
        return
    index = server_ids.index[hole]
    ids = server_ids[hole].to_numpy()
    file_parts = stage.payload(stage.rows.loc[index])
    frame = pd.DataFrame(index=index)
    for column in NAME_PARTS:
        if column in file_parts.columns:
            mine = file_parts[column].astype("str")
            held = pd.Series(server[column].reindex(ids).fillna("").to_numpy(), index=index, dtype="str")
            frame[column] = mine.where(mine != "", held) if column in parts else mine
    stage.overrides["name"] = compose_names(frame)


def _change_lines(
    stage: StagePlan,
    catalog: Catalog,
    differs: dict[str, np.ndarray],
    server_ids: pd.Series,
    records: dict[int, dict[str, Any]],
    empty: pd.DataFrame,
) -> pd.DataFrame:
    """One line per (record, field) that an update changes: CHANGE_COLUMNS, by stage row index."""
    kinds = _compare_kinds(stage, catalog)
    hit_any = np.zeros(len(server_ids), dtype=bool)
    for hit in differs.values():
        hit_any |= hit
    if not hit_any.any():
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in CHANGE_COLUMNS})
    words = stage.file_view(stage.rows.loc[server_ids.index[hit_any]])[1]
    assert words is not None
    kind_names = {v: k for k, v in catalog.membership_kinds.items()}
    parts = []
    for column, hit in differs.items():
        if column not in words.columns or not hit.any():
            continue
        index = server_ids.index[hit]
        server_field, kind = kinds[column]
        held = [records[int(i)].get(server_field) for i in server_ids[hit]]
        linked = catalog.linked.get(server_field)
        names = {v: k for k, v in linked.names.items()} if linked else kind_names  # tags by name
        order = _by_row(stage, ORDER_OF, column, index, stage.date_orders.get(column, "iso"))
        before = _server_words(held, kind, order, names)
        header = _by_row(stage, HEADER_OF, column, index, stage.labels.get(column, column))
        cleared = empty[column].loc[index] if column in empty.columns else False
        parts.append(
            pd.DataFrame(
                {
                    "field": column,
                    "column": header,
                    "before": before,
                    "after": words[column].loc[index].to_numpy(),
                    "cleared": cleared,
                },
                index=index,
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in CHANGE_COLUMNS})
    lines = pd.concat(parts)
    full = lines["column"] == "full name"
    if full.any():  # a name part changed: the composed name changing with it is no news
        parts_changed = lines.index[~full & lines["field"].isin(["given_name", "family_name", "addl_name"])]
        lines = lines[~(full & lines.index.isin(parts_changed))]
    return lines.astype({"cleared": bool})


def _by_row(stage: StagePlan, prefix: str, column: str, index: pd.Index, default: str) -> str | pd.Series:
    """A column's header or date order on these rows: the skeleton's own (``HEADER_OF`` …) where
    its rows come from tables that differ, an owned record's ``header``, else the stage's."""
    if prefix + column in stage.rows:
        return stage.rows.loc[index, prefix + column].astype(str)
    if prefix == HEADER_OF and "header" in stage.rows:
        return stage.rows.loc[index, "header"].astype(str)
    return default


def _server_words(
    values: list[Any], kind: str, order: str | pd.Series, kind_names: dict[int, str]
) -> list[str]:
    """The server's values as a clerk reads them: names, not ids; dates as the file writes them."""
    if kind in ("m2o", "xid"):
        return [str(v[1]) if isinstance(v, list | tuple) else "" if not v else str(v) for v in values]
    if kind == "m2m":
        return [",".join(kind_names.get(int(i), str(i)) for i in v) if v else "" for v in values]
    if kind == "bool":
        return ["yes" if v else "no" for v in values]
    if kind == "float":
        return [_float_form(v) for v in values]
    index = order.index if isinstance(order, pd.Series) else None
    text = pd.Series(["" if v is False or v is None else str(v) for v in values], index=index, dtype="str")
    if kind in ("date", "datetime"):
        text = date_words(text, order)
    return text.tolist()


def _server_frame(records: list[dict[str, Any]], kinds: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The server's records in the payload's text form: one column per load column, indexed by id."""
    index = pd.Index([rec["id"] for rec in records], dtype="int64")
    return pd.DataFrame(
        {
            column: _server_column([rec.get(field) for rec in records], "m2o" if kind == "xid" else kind)
            for column, (field, kind) in kinds.items()
        },
        index=index,
        dtype=object,
    )


def _num(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)


@dataclass
class IdMatches:
    """Registrants already on the server with a person's ID number, for people not yet linked to the file."""

    matched: dict[str, tuple[int, int]]  # person key -> (partner id, g2p.reg.id id)
    #: People whose ID number several registrants hold: canonical index -> those registrants' ids.
    ambiguous: dict[Any, list[int]]
    column: str  # the canonical column of that ID type


def match_by_id(
    client: OdooClient,
    individuals: CanonicalTable,
    id_type: str,
    catalog: Catalog,
    known: Iterable[str],
) -> IdMatches:
    """Find registrants already on the server with the same ID (type + value).

    A person found once gets our external ids (:func:`matched_xids`), so
    ``load`` updates them instead of adding a second one.  The server does not
    forbid two registrants the same ID number; a person whose number several
    hold is never guessed at: it is returned as ambiguous, for the report.
    Only keys not already linked to an external id of ours are looked up.
    """
    col = id_column(id_type)
    type_id = catalog.id_types.get(id_type, (None, None))[0]
    if type_id is None or col not in individuals.frame.columns:
        return IdMatches({}, {}, col)
    frame = individuals.frame
    todo = frame[(frame[col] != "") & ~isin(frame["key"], known)]
    values = todo[col].unique().tolist()
    holders: dict[str, dict[int, int]] = {}  # value -> partner id -> reg id
    for start in range(0, len(values), READ_CHUNK):
        chunk = values[start : start + READ_CHUNK]
        for rec in client.search_read(
            REG_ID, [["id_type", "=", type_id], ["value", "in", chunk]], ["value", "partner_id"], order="id"
        ):
            if rec.get("partner_id"):
                holders.setdefault(rec["value"], {}).setdefault(int(rec["partner_id"][0]), int(rec["id"]))
    single = {v: next(iter(h.items())) for v, h in holders.items() if len(h) == 1}
    several = {v: sorted(h) for v, h in holders.items() if len(h) > 1}
    matched = todo[col].map(single)
    found = matched.notna()
    clash = todo[todo[col].isin(list(several))]
    return IdMatches(
        matched=dict(zip(todo.loc[found, "key"], matched[found], strict=True)),
        ambiguous={index: several[value] for index, value in clash[col].items()},
        column=col,
    )


def matched_xids(
    namespace: str, id_type: str, matched: dict[str, tuple[int, int]]
) -> dict[str, tuple[str, int]]:
    """The external ids (person and ID) that registrants matched by ID will carry."""
    keys = pd.Series(list(matched), dtype="str")
    people = make_xids(namespace, Entity.INDIVIDUAL, keys)
    ids = make_xids(namespace, Entity.REG_ID, keys + "__" + slug(id_type))
    out: dict[str, tuple[str, int]] = {}
    for key, person, reg in zip(keys, people, ids, strict=True):
        partner_id, reg_id = matched[key]
        out[person] = (PARTNER, partner_id)
        out[reg] = (REG_ID, reg_id)
    return out
