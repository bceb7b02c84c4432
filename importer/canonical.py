"""The map stage: source tables in, canonical tables out.

A canonical table has one row per record (individual, group, membership),
columns named for registry fields, every value as tidy text (trimmed,
dates as ISO where they parse, numbers without thousands separators), and
where each record came from (``_file``, ``_sheet``, ``_row``).  Values that
do not parse are kept as the clerk wrote them, so validation can quote them.

Everything here is vectorised: a million-row roster is mapped with pandas
column operations, never a Python loop over rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from importer.mapping import Binding, EntitySpec, Mapping, slug
from importer.normalise import fold, gather_json, parse_dates, parse_datetimes, parse_json, parse_numbers
from importer.outcome import Entity, Problem
from importer.read import SourceTable

ORIGIN = ["_file", "_sheet", "_row"]
#: On a table made of several parts (relationships from a sheet and from people's rows): which
#: part each row is from (its position in ``CanonicalTable.parts``).
PART = "_part"
#: "1" on a relationship stated on a person's row (a roster's relationship column), which is part
#: of that row and held back with it (docs/architecture.md §4).
ON_PERSON_ROW = "on_person_row"
#: "1" on a relationship a person's row repeats from the other end of a two-way type ("B Spouse A"
#: on B's row after "A Spouse B" on A's): the same record, sent once (set by the resolver).
ECHO = "echo"


@dataclass(frozen=True)
class TablePart:
    """Where some rows of a canonical table come from, when its rows come from several tables."""

    table: SourceTable
    columns: dict[str, str]
    sources: dict[str, str]
    date_orders: dict[str, str]


@dataclass
class CanonicalTable:
    """One entity's records, in registry terms, with their provenance."""

    entity: Entity
    frame: pd.DataFrame  # key, fields..., id:<type>..., (group, individual); _file, _sheet, _row
    columns: dict[str, str]  # canonical column -> the clerk's header, for messages
    table: SourceTable
    derived_key: bool = False  # keys built from identity fields, not a key column
    problems: list[Problem] = field(default_factory=list)
    #: canonical column -> the one source column it is read from, so a message can quote the cell
    #: as the clerk wrote it (looked up in ``table`` when needed, never copied)
    sources: dict[str, str] = field(default_factory=dict)
    date_orders: dict[str, str] = field(default_factory=dict)  # date column -> "day-first", ...
    #: rows from several tables (a relationships sheet and the people's relationship columns): what
    #: each says of its rows, by the ``_part`` column; empty: every row is from ``table``
    parts: tuple[TablePart, ...] = ()
    #: the index is not the source table's (rows of several parts): cells are found by ``_row``
    by_row: bool = False

    def by_part(self, index: pd.Index) -> list[tuple[CanonicalTable, pd.Index]]:
        """These rows, split by the table they come from, each with a view of this table that
        speaks of that table's columns (the clerk's headers, the cells as written)."""
        if not self.parts:
            return [(self, index)]
        codes = self.frame.loc[index, PART].to_numpy()
        return [
            (
                replace(
                    self,
                    table=part.table,
                    columns=part.columns,
                    sources=part.sources,
                    date_orders=part.date_orders,
                    parts=(),
                    by_row=True,
                ),
                index[codes == n],
            )
            for n, part in enumerate(self.parts)
            if (codes == n).any()
        ]

    def as_written(self, column: str, index: pd.Index) -> pd.Series:
        """The cells behind ``column`` at these rows as the clerk typed them (trimmed), for messages.

        Looked up in the source table when asked, never copied per row.  Where
        there is no one source cell (a composed name, a derived key) or the
        cell was blank (filled by the mapping's default), the canonical value.
        """
        if column not in self.frame.columns:
            return pd.Series("", index=index, dtype="str")
        canonical = self.frame.loc[index, column].astype("str")
        header = self.sources.get(column)
        source = self.table.frame
        if header is None or header not in source.columns or not source.index.is_unique:
            return canonical
        where = self.frame.loc[index, "_row"].to_numpy() if self.by_row else index
        written = source[header].reindex(where, fill_value="").astype("str").str.strip().to_numpy()
        blank = written == ""
        return pd.Series(np.where(blank, canonical.to_numpy(), written), index=index, dtype="str")


def id_column(id_type: str) -> str:
    """The canonical column for one ID type's values."""
    return f"id:{id_type}"


def id_expiry_column(id_type: str) -> str:
    """The canonical column for one ID type's expiry dates."""
    return f"id_expiry:{id_type}"


def bank_account_column(n: int) -> str:
    """The canonical column of a person's n-th bank account number."""
    return f"bank_acc:{n}"


def bank_column(n: int) -> str:
    """The canonical column of the bank (BIC or name) of a person's n-th account."""
    return f"bank_id:{n}"


def phone_column(n: int) -> str:
    """The canonical column of a person's n-th phone number (1-based, in the mapping's order)."""
    return f"phone:{n}"


def phone_date_column(n: int) -> str:
    """The canonical column of the date the n-th phone number was collected."""
    return f"phone_date:{n}"


#: A relationship row whose ends are sent the other way round ("1"): its type was written by
#: its inverse name ("Child" for "Parent"), or it reads the same both ways and the ends are put
#: in one order (set by the resolver; absent: every row as written).
REVERSED = "reversed"
#: Which ends a relationship row's type takes, in words and in the clerk's column order (for messages).
RELATION_SIDES = "relation_sides"


def directed_ends(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """A relationship's (source, destination) as sent: the file's ends, swapped where reversed."""
    source, destination = frame["source"], frame["destination"]
    if REVERSED not in frame.columns:
        return source, destination
    swap = frame[REVERSED] == "1"
    return source.where(~swap, destination), destination.where(~swap, source)


def relationship_keys(frame: pd.DataFrame) -> pd.Series:
    """One key per (source, type, destination) as sent, so "A Parent B" and "B Child A" are one record."""
    source, destination = directed_ends(frame)
    kind = frame["relation"].map(lambda text: slug(fold(text)) or "_")
    return (source + "__" + kind + "__" + destination).astype("str")


def reg_id_keys(frame: pd.DataFrame) -> pd.Series:
    """A person's ID of one type from an IDs sheet: the same key (and record) as from an ID column."""
    kind = frame["id_type"].map(lambda text: slug(text) or "_")  # as an ID column's type (plan.reg_id_stage)
    return (frame["individual"] + "__" + kind).astype("str")


def column_id_keys(people: pd.DataFrame) -> pd.Series:
    """The keys of the IDs people's own ID columns give (``<person>__<type>``), as :func:`reg_id_keys`."""
    parts = [pd.Series([], dtype="str")]
    for column in people.columns:
        if column.startswith(id_column("")):
            given = people.loc[people[column] != "", "key"]
            parts.append(given + "__" + slug(column.removeprefix(id_column(""))))
    return pd.concat(parts, ignore_index=True).astype("str")


def shared_id_numbers(people: pd.DataFrame | None, sheet: pd.DataFrame) -> pd.MultiIndex:
    """(type, number) pairs given to more than one person, by the people's ID columns and an IDs sheet.

    The same person giving one ID twice (a column and a sheet row) is one holder:
    that is another fact (one ID of each type per person).
    """
    parts = [sheet[["individual", "id_type", "value"]]]
    if people is not None:
        for column in people.columns:
            if column.startswith(id_column("")):
                parts.append(
                    pd.DataFrame(
                        {
                            "individual": people["key"],
                            "id_type": column.removeprefix(id_column("")),
                            "value": people[column],
                        }
                    )
                )
    held = pd.concat(parts, ignore_index=True).astype("str")
    held = held[(held != "").all(axis=1)].drop_duplicates()
    holders = held.groupby(["id_type", "value"], sort=False).size()
    return holders.index[holders.to_numpy() > 1]


def constant(value: str, n: int) -> pd.Categorical:
    """One text repeated n times, stored once (a million copies of a file name cost ~30 MB)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def _origin(table: SourceTable, index: pd.Index) -> dict[str, object]:
    return {
        "_file": constant(table.path.name, len(index)),
        "_sheet": constant(table.sheet or "", len(index)),
        "_row": index.to_numpy(),
    }


def _derive_keys(frame: pd.DataFrame, identity: Sequence[str]) -> pd.Series:
    """A stable key from identity fields (normalised, hashed) for files without a key column."""
    joined = frame[next(iter(identity))].str.casefold().str.strip()
    for name in list(identity)[1:]:
        joined = joined + "\x1f" + frame[name].str.casefold().str.strip()
    uniques = pd.Series(joined.unique())
    digests = uniques.map(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest()[:16])
    return joined.map(dict(zip(uniques, digests, strict=True))).astype("str")


def compose_names(frame: pd.DataFrame) -> pd.Series:
    """The sheet's name, or OpenSPP's own form "FAMILY, GIVEN ADDL" in capitals.

    The server requires a name and does not compose one over the API (only
    its web form does), so the importer always sends one.
    """
    blank = pd.Series("", index=frame.index, dtype="str")
    family = frame.get("family_name", blank).str.upper()
    rest = (frame.get("given_name", blank) + " " + frame.get("addl_name", blank)).str.strip().str.upper()
    composed = (family + ", " + rest).str.strip(", ")
    given = frame.get("name", blank)
    return given.where(given != "", composed)


def _map_entity(binding: Binding, mapping: Mapping) -> CanonicalTable:
    spec: EntitySpec = binding.spec
    table = binding.table
    src = table.frame
    data: dict[str, object] = {}
    columns: dict[str, str] = {}
    sources: dict[str, str] = {}
    date_orders: dict[str, str] = {}
    problems: list[Problem] = []
    empty = pd.Series("", index=src.index, dtype="str")

    for name, fspec in spec.fields.items():
        series = src[fspec.column].astype("str").str.strip() if fspec.column else empty
        if fspec.default is not None:
            series = series.where(series != "", fspec.default)
        kind = mapping.registry_field(spec.entity, name).kind.cell
        if kind == "date":
            date_orders[name] = fspec.date_order or mapping.date_order
            series = parse_dates(series, date_orders[name])
        elif kind == "datetime":  # a deployment's date-and-time field
            date_orders[name] = fspec.date_order or mapping.date_order
            series = parse_datetimes(series, date_orders[name])
        elif kind in ("number", "integer"):
            series = parse_numbers(series)
        elif kind == "json":
            series = parse_json(series)
        data[name] = series
        columns[name] = fspec.column or f"(default of {name})"
        if fspec.column:
            sources[name] = fspec.column
    for id_type, column in spec.ids.items():
        data[id_column(id_type)] = src[column].astype("str").str.strip()
        columns[id_column(id_type)] = sources[id_column(id_type)] = column
    if spec.additional_info:  # columns gathered into the registrant's additional information
        gathered = {
            key: src[column].astype("str").str.strip() for key, column in spec.additional_info.items()
        }
        data["additional_g2p_info"] = gather_json(gathered)
        columns["additional_g2p_info"] = ", ".join(spec.additional_info.values())
    for id_type, column in spec.id_expiry.items():
        when = id_expiry_column(id_type)
        date_orders[when] = mapping.date_order
        data[when] = parse_dates(src[column].astype("str").str.strip(), mapping.date_order)
        columns[when] = sources[when] = column
    for n, bank in enumerate(spec.banks, 1):
        data[bank_account_column(n)] = src[bank.account].astype("str").str.strip()
        columns[bank_account_column(n)] = sources[bank_account_column(n)] = bank.account
        if bank.bank:
            data[bank_column(n)] = src[bank.bank].astype("str").str.strip()
            columns[bank_column(n)] = sources[bank_column(n)] = bank.bank
    for n, phone in enumerate(spec.phones, 1):
        data[phone_column(n)] = src[phone.column].astype("str").str.strip()
        columns[phone_column(n)] = sources[phone_column(n)] = phone.column
        if phone.collected:
            when = phone_date_column(n)
            date_orders[when] = mapping.date_order
            data[when] = parse_dates(src[phone.collected].astype("str").str.strip(), mapping.date_order)
            columns[when] = sources[when] = phone.collected
    if spec.entity is Entity.MEMBERSHIP:
        data["group"] = src[spec.group].astype("str").str.strip()
        data["individual"] = src[spec.individual].astype("str").str.strip()
        columns["group"], columns["individual"] = spec.group, spec.individual  # type: ignore[assignment]
        sources["group"], sources["individual"] = spec.group, spec.individual  # type: ignore[assignment]
    if spec.entity is Entity.REG_ID:
        data["individual"] = src[spec.individual].astype("str").str.strip()
        columns["individual"] = sources["individual"] = spec.individual  # type: ignore[assignment]
        for name in ("id_type", "value"):  # both required by the mapping; empty cells are row errors
            data.setdefault(name, empty)
    if spec.entity is Entity.RELATIONSHIP:
        for end, column in (("source", spec.rel_source), ("destination", spec.rel_destination)):
            data[end] = src[column].astype("str").str.strip()
            columns[end] = sources[end] = column

    frame = pd.DataFrame(data, index=src.index)
    if spec.entity in (Entity.INDIVIDUAL, Entity.GROUP):
        frame["name"] = compose_names(frame) if spec.entity is Entity.INDIVIDUAL else frame.get("name", empty)
        named_by = [columns.get(c) for c in ("name", "given_name", "family_name") if columns.get(c)]
        columns["name"] = named_by[0] if named_by else "name"
    derived = False
    if spec.entity is Entity.MEMBERSHIP:
        frame["key"] = frame["group"] + "__" + frame["individual"]
    elif spec.entity is Entity.RELATIONSHIP:  # one of each type between two registrants
        frame["key"] = relationship_keys(frame)
    elif spec.entity is Entity.REG_ID:  # one of each type per person
        frame["key"] = reg_id_keys(frame)
    elif spec.key:
        frame["key"] = src[spec.key].astype("str").str.strip()
        columns["key"] = sources["key"] = spec.key
    else:
        # identity names are mapped fields or ID types (whose column is id:<type>)
        identity = [id_column(n) if n in spec.ids else n for n in spec.identity]
        frame["key"] = _derive_keys(frame, identity)
        columns["key"] = " + ".join(columns.get(n, n) for n in identity)
        derived = True
        problems.append(
            Problem(
                code="derived_key",
                severity="warning",
                message=(
                    f"{table.label} has no key column for {spec.entity.value}s: each is identified by "
                    f"{columns['key']}. Correcting any of those later will look like a new "
                    f"{spec.entity.value}, not a change."
                ),
                file=table.path.name,
                sheet=table.sheet,
            )
        )
    for name, value in _origin(table, src.index).items():
        frame[name] = value
    frame = _drop_blank_rows(frame, [c for c in frame.columns if c not in ORIGIN])
    return CanonicalTable(
        spec.entity, frame, columns, table, derived, problems, sources=sources, date_orders=date_orders
    )


def _drop_blank_rows(frame: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
    """Rows with nothing in any mapped column are not records (the report calls them empty)."""
    values = frame[[c for c in value_columns if c != "key"]]
    if values.empty:
        return frame
    keep = (values != "").any(axis=1) | (frame["key"].str.strip("_") != "")
    return frame[keep]


def _collapse_groups(group: CanonicalTable, defaults: dict[str, str]) -> CanonicalTable:
    """A roster repeats each household on every member's row: keep one record per key.

    The first row of each household speaks for it; later rows that disagree
    are flagged (as warnings on those rows, quoting both cells as written),
    not silently merged.
    """
    frame = group.frame
    has_key = frame["key"] != ""
    dup = frame.duplicated("key", keep="first") & has_key
    if not dup.any():
        return group
    first = frame[has_key & ~dup].set_index("key")
    first_rows = pd.Series(frame.index[has_key & ~dup], index=first.index)  # key -> its first row
    later = frame[dup]
    for name in [c for c in frame.columns if c not in (*ORIGIN, "key")]:
        ref = later["key"].map(first[name])
        differs = (later[name].str.casefold() != ref.str.casefold()) & (later[name] != "")
        if name in defaults:  # a blank cell filled by the mapping's default is not a disagreement
            differs &= later[name] != defaults[name]
        flagged = later.index[differs][:1000]
        if not len(flagged):
            continue
        earlier = later.loc[flagged, "key"].map(first_rows)
        said_before = group.as_written(name, pd.Index(earlier)).to_list()
        said_here = group.as_written(name, flagged).to_list()
        header = group.columns.get(name, name)
        for idx, before, here in zip(flagged, said_before, said_here, strict=True):
            row = later.loc[idx]
            group.problems.append(
                Problem(
                    code="group_conflict",
                    severity="warning",
                    message=(
                        f"household '{row['key']}' has {header} '{before}' on an earlier row; "
                        f"this row's '{here}' is ignored"
                    ),
                    file=row["_file"],
                    sheet=row["_sheet"] or None,
                    row=int(row["_row"]),
                    column=group.columns.get(name),
                    value=here,
                    entity=Entity.GROUP.value,
                    key=str(row["key"]),
                )
            )
    group.frame = frame[~dup]
    return group


def _person_row_relations(
    binding: Binding, mapping: Mapping, people: CanonicalTable
) -> list[tuple[pd.DataFrame, TablePart]]:
    """Relationships stated on people's rows: one per filled related cell (``relationships:``).

    Each is a relationship record of its own, from the row's person to the
    registrant its column names, keyed as a relationships sheet's row is, and
    remembering the person's row (its origin) and the columns it was read from.
    """
    src = binding.table.frame
    person = people.frame["key"].reindex(src.index, fill_value="")
    key_header = people.columns.get("key", "key")
    out: list[tuple[pd.DataFrame, TablePart]] = []
    for spec in binding.spec.relations:
        related = src[spec.related].astype("str").str.strip()
        given = related != ""
        data: dict[str, object] = {"source": person[given], "destination": related[given]}
        columns = {"source": key_header, "destination": spec.related}
        sources = {"destination": spec.related}
        if "key" in people.sources:
            sources["source"] = people.sources["key"]
        if spec.relation_column:
            data["relation"] = src.loc[given, spec.relation_column].astype("str").str.strip()
            columns["relation"] = sources["relation"] = spec.relation_column
        else:
            data["relation"] = pd.Series(spec.relation or "", index=src.index[given], dtype="str")
            columns["relation"] = f"relationship of '{spec.related}'"
        orders: dict[str, str] = {}
        for name, column in (("start_date", spec.start_date), ("end_date", spec.end_date)):
            if column:
                orders[name] = mapping.date_order
                data[name] = parse_dates(src.loc[given, column].astype("str").str.strip(), mapping.date_order)
                columns[name] = sources[name] = column
        frame = pd.DataFrame(data, index=src.index[given])
        frame[ON_PERSON_ROW] = "1"
        for name, value in _origin(binding.table, frame.index).items():
            frame[name] = value
        out.append((frame, TablePart(binding.table, columns, sources, orders)))
    return out


def _with_person_row_relations(
    sheet: CanonicalTable | None, stated: list[tuple[pd.DataFrame, TablePart]]
) -> CanonicalTable:
    """One relationship table: those stated on people's rows (in row order), then a sheet's.

    The rows keep their origin; ``_part`` says which table (and columns) each
    was read from, so a message quotes the right cell.  People's rows come
    first: a sheet row repeating one is the duplicate, as an IDs sheet row
    repeating a person's ID column is.
    """
    frames = [frame.assign(**{PART: n}) for n, (frame, _part) in enumerate(stated)]
    parts = [part for _frame, part in stated]
    on_rows = pd.concat(frames).sort_index(kind="stable") if frames else pd.DataFrame()
    if sheet is not None:
        mine = sheet.frame.assign(**{PART: len(parts), ON_PERSON_ROW: ""})
        parts.append(TablePart(sheet.table, sheet.columns, sheet.sources, sheet.date_orders))
        on_rows = pd.concat([on_rows, mine])
    frame = on_rows.reset_index(drop=True)
    for column in frame.columns:  # a date column one part lacks is empty there
        if column not in (*ORIGIN, PART):
            frame[column] = frame[column].fillna("").astype("str")
    for column in ("_file", "_sheet"):
        frame[column] = frame[column].astype("str").astype("category")
    frame[PART] = frame[PART].astype("int16")
    frame["key"] = relationship_keys(frame)
    first = parts[0]
    return CanonicalTable(
        Entity.RELATIONSHIP,
        frame,
        first.columns,
        first.table,
        problems=list(sheet.problems) if sheet is not None else [],
        sources=first.sources,
        date_orders=first.date_orders,
        parts=tuple(parts),
        by_row=True,
    )


def map_tables(bindings: Sequence[Binding], mapping: Mapping) -> dict[Entity, CanonicalTable]:
    """Map every bound table into its canonical table.

    Relationships stated on people's rows join the relationships table (or make it).
    """
    out: dict[Entity, CanonicalTable] = {}
    stated: list[tuple[pd.DataFrame, TablePart]] = []
    for binding in bindings:
        canon = _map_entity(binding, mapping)
        if canon.entity is Entity.GROUP:
            defaults = {n: f.default for n, f in binding.spec.fields.items() if f.default is not None}
            canon = _collapse_groups(canon, defaults)
        if canon.entity is Entity.INDIVIDUAL and binding.spec.relations:
            stated = _person_row_relations(binding, mapping, canon)
        out[canon.entity] = canon
    if stated:
        out[Entity.RELATIONSHIP] = _with_person_row_relations(out.get(Entity.RELATIONSHIP), stated)
    return out
