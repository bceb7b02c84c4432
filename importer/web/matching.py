"""The matching screen: a clerk corrects a suggested mapping on the page, checks it, saves it.

When no known layout fits an upload, the job keeps what
:func:`importer.suggest.suggest_mapping` proposed (``docs/architecture.md`` §6).
This module turns that :class:`~importer.suggest.Suggestion` into what the
form shows (every registry field a column may feed, grouped per entity, with
its label and type), turns the posted form back into a corrected Suggestion
(:func:`apply_form`), and that into a mapping file checked by
``importer.mapping.load_mapping`` (:func:`build_layout`).  Saving is
:func:`save_layout`: for every clerk (the page's mappings folder) when the
login may administer the registry's settings, else for the clerk's session.

Nothing here talks to the server or starts a run: the routes in
``importer.web.app`` do, with what this module hands them.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from importer.catalog import MEMBERSHIP, PARTNER, Catalog
from importer.fields import FIELDS, server_field
from importer.mapping import DATE_ORDERS, Mapping, load_mapping, slug
from importer.outcome import Entity, ImportFailure
from importer.read import SourceTable
from importer.suggest import (
    BANK_LIST,
    CODED,
    EXPIRY,
    INFO,
    LOW,
    PHONE_LIST,
    RELATIONSHIP_ENDS,
    REPEATABLE,
    ColumnGuess,
    PersonList,
    Suggestion,
    ValueGuess,
    describe,
    guess_values,
    lone_columns,
)
from importer.web.mappings import MappingChoice

#: The confidence of a choice the clerk made on the screen (shown, and written in the YAML's comments).
CHOSEN = "chosen"
#: What a sheet or file may hold, in the order a mapping lists them.
ENTITY_CHOICES: tuple[tuple[str, str], ...] = (
    ("group", "Households"),
    ("individual", "People"),
    ("membership", "Memberships (who belongs to which household)"),
    ("relationship", "Relationships (between two people)"),
)
#: A coded value the clerk leaves untranslated (the dry run then reports it as an unknown code).
UNTRANSLATED = "?"
#: Columns with more distinct values than this are not coded: their values are not kept.
MAX_CODES = 60
#: A layout's name: letters (any script), digits, spaces and a little punctuation; no path.
_NAME = re.compile(r"[^\W_][\w .,()'+-]{0,59}")
#: Kinds of cell in a clerk's words.
KIND_WORDS = {
    "text": "text",
    "phone": "phone",
    "email": "e-mail",
    "number": "number",
    "integer": "whole number",
    "bool": "yes/no",
    "date": "date",
    "datetime": "date and time",
    "coded": "from a list",
    "coded_list": "several from a list",
    "json": "JSON",
}


class FormData(Protocol):
    """What a posted form offers (Werkzeug's MultiDict): one value, or every value of a name."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


@dataclass(frozen=True)
class FieldOption:
    """One choice in a column's list: ``value`` is ``entity|target`` (``group|key``, ``individual|id:X``)."""

    value: str
    label: str
    kind: str = ""


@dataclass(frozen=True)
class FieldGroup:
    """An optgroup: the fields of one entity (or the keys, the ID types)."""

    label: str
    options: tuple[FieldOption, ...]


@dataclass(frozen=True)
class Layout:
    """A mapping built from the screen and read back by the loader: its text, file and meaning."""

    yaml: str
    path: Path
    mapping: Mapping


class LayoutRefused(Exception):
    """The form's choices cannot make a mapping; ``problems`` says why, in a clerk's words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def option_value(entity: str | None, target: str | None) -> str:
    return f"{entity}|{target}" if entity and target else ""


def _parse_option(raw: str) -> tuple[str, str] | None:
    entity, _, target = raw.partition("|")
    return (entity, target) if entity and target else None


def _humane(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def field_groups(catalog: Catalog | None, suggestion: Suggestion) -> list[FieldGroup]:
    """Every field a column may feed, per entity, with the server's labels and the deployment's fields.

    Offline (the server could not be asked) the built-in fields of
    :mod:`importer.fields` are listed with their names made readable.
    """
    partner = catalog.fields.get(PARTNER, {}) if catalog is not None else {}
    member = catalog.fields.get(MEMBERSHIP, {}) if catalog is not None else {}

    def label(name: str, described: dict[str, dict[str, Any]]) -> str:
        server = str(described.get(name, {}).get("string") or "")
        return (
            f"{server} ({name})"
            if server and server.casefold() != _humane(name).casefold()
            else _humane(name)
        )

    groups = [
        FieldGroup(
            "Keys (identify each record)",
            (
                FieldOption("group|key", "Household key", "a code unique to each household"),
                FieldOption("individual|key", "Person key", "a code unique to each person"),
            ),
        )
    ]
    for entity, title, described in (
        (Entity.GROUP, "Households", partner),
        (Entity.INDIVIDUAL, "People", partner),
        (Entity.MEMBERSHIP, "Memberships", member),
        (Entity.RELATIONSHIP, "Relationships", {}),
    ):
        options = [
            FieldOption(
                f"{entity.value}|{name}", label(name, described), KIND_WORDS.get(f.kind.cell, f.kind.cell)
            )
            for name, f in FIELDS[entity].items()
        ]
        if entity is Entity.RELATIONSHIP:
            ends = [
                FieldOption(f"relationship|{end}", f"Person key: {words}", "a person's key")
                for end, words in RELATIONSHIP_ENDS.items()
            ]
            options = ends + options
        if entity in (Entity.GROUP, Entity.INDIVIDUAL):
            options += _custom_options(entity, partner)
            options.append(
                FieldOption(
                    f"{entity.value}|{INFO}",
                    "Kept in the additional information, under the column's name",
                    "a value of its own in the JSON; several columns may",
                )
            )
        groups.append(FieldGroup(title, tuple(options)))
    id_types = list(catalog.id_types) if catalog is not None and catalog.online else []
    id_types += [
        c.target.partition(":")[2]
        for t in suggestion.tables
        for c in t.columns
        if c.target and c.target.startswith(("id:", EXPIRY)) and c.target.partition(":")[2] not in id_types
    ]
    if not id_types:
        id_types = ["National ID"]
    groups.append(
        FieldGroup(
            "A person's ID numbers",
            tuple(
                option
                for n in dict.fromkeys(id_types)
                for option in (
                    FieldOption(f"individual|id:{n}", f"ID: {n}", "an ID number"),
                    FieldOption(f"individual|{EXPIRY}{n}", f"Expiry of ID: {n}", "the date it expires"),
                )
            ),
        )
    )
    groups.append(
        _list_group("A person's bank account", BANK_LIST, ("the account number", "the bank's name or BIC"))
    )
    groups.append(
        _list_group("A person's phone numbers", PHONE_LIST, ("a phone number; several columns may", "a date"))
    )
    return groups


def _list_group(title: str, kind: PersonList, hints: tuple[str, str]) -> FieldGroup:
    """A person's list of two-column records (an account and its bank, a number and its date) as options."""
    return FieldGroup(
        title,
        tuple(
            FieldOption(f"individual|{target}", words.capitalize(), hint)
            for target, words, hint in zip((kind.main, kind.extra), kind.words, hints, strict=True)
        ),
    )


def _custom_options(entity: Entity, partner: dict[str, dict[str, Any]]) -> list[FieldOption]:
    """The deployment's own fields (``x_cst_indv_*`` for people, ``x_cst_grp_*`` for households)."""
    out = []
    other = "_grp_" if entity is Entity.INDIVIDUAL else "_indv_"
    for name, desc in sorted(partner.items()):
        if not name.startswith(("x_", "z_")) or other in name or name in FIELDS[entity]:
            continue
        found = server_field(name, desc)
        if isinstance(found, str):
            continue  # computed or of a type no column can feed
        out.append(
            FieldOption(
                f"{entity.value}|{name}",
                f"{found.label} ({name})",
                f"{KIND_WORDS.get(found.kind.cell, found.kind.cell)}, this registry's own field",
            )
        )
    return out


def distinct_values(tables: Sequence[SourceTable]) -> dict[str, dict[str, dict[str, int]]]:
    """table label -> column -> its distinct values and counts, for columns that look coded.

    Kept on the job so a column the clerk turns into a coded one (gender, a
    member's kind) gets each of its values guessed without reading the file again.
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    for table in tables:
        per: dict[str, dict[str, int]] = {}
        for column in table.frame.columns:
            series = table.frame[column].astype("str")
            counts = series[series != ""].value_counts(sort=True)
            if len(counts) <= MAX_CODES:
                per[str(column)] = {str(k): int(v) for k, v in counts.items()}
        out[table.label] = per
    return out


def value_options(suggestion: Suggestion, col: ColumnGuess) -> list[tuple[str, str]]:
    """(value, label) a coded value may be translated to: the server's list, and "leave it"."""
    key = _coded_key(col.entity, col.target)
    if key is None:
        return []
    options = [(v, v) for v in suggestion.allowed.get(key, [])]
    if key == "membership.kind":
        options.append(("", "a member (no kind)"))
    options.append((UNTRANSLATED, "— leave as it is —"))
    return options


def _coded_key(entity: str | None, target: str | None) -> str | None:
    try:
        return CODED.get((Entity(entity), target or "")) if entity else None
    except ValueError:
        return None


def apply_form(
    base: Suggestion,
    form: FormData,
    *,
    login: str,
    codes: dict[str, dict[str, dict[str, int]]] | None = None,
    groups: Sequence[FieldGroup] | None = None,
) -> tuple[Suggestion, list[str]]:
    """The suggestion with the clerk's choices, and what is wrong with them (in words).

    A column whose field the clerk changed is marked ``chosen``; one left as
    suggested keeps its confidence and reason.  Every value of a coded column
    shown on the form counts as confirmed, so a guess the suggestion only
    dared as a question ("a typo?") is written once the clerk keeps it.
    """
    s = copy.deepcopy(base)
    problems: list[str] = []
    order = str(form.get("date_order") or s.date_order)
    if order not in DATE_ORDERS:
        problems.append(f"Choose how dates are written: {', '.join(DATE_ORDERS)}.")
    elif order != s.date_order:
        s.date_order, s.date_order_confidence = order, CHOSEN
        s.date_order_reason = f"chosen by {login} on the matching screen"
    known = {o.value for g in (groups or field_groups(None, s)) for o in g.options}
    for i, table in enumerate(s.tables):
        if f"t{i}-shown" in form_keys(form):
            table.entities = [e for e, _ in ENTITY_CHOICES if e in form.getlist(f"t{i}-entities")]
        for j, col in enumerate(table.columns):
            raw = form.get(f"t{i}-c{j}")
            if raw is None:
                continue  # not on the form: as suggested
            raw = str(raw)
            chosen = _parse_option(raw)
            if raw and (chosen is None or raw not in known):
                problems.append(f"{table.label} '{col.column}': choose a field from the list.")
                continue
            if chosen != ((col.entity, col.target) if col.placed else None):
                _choose(col, chosen, login)
                key = _coded_key(*chosen) if chosen else None
                column_codes = (codes or {}).get(table.label, {}).get(col.column)
                if key is not None and column_codes:
                    guess_values(col, key, s.allowed.get(key, []), column_codes)
            _apply_values(s, table.label, i, j, col, form, login, problems)
    problems += _check(s)
    s.questions = []  # the clerk answered them on the form; the dry run checks the answers
    return s, problems


def form_keys(form: FormData) -> set[str]:
    keys = getattr(form, "keys", None)
    return set(keys()) if callable(keys) else set()


def _choose(col: ColumnGuess, chosen: tuple[str, str] | None, login: str) -> None:
    col.values = []
    if chosen is None:
        col.entity = col.target = col.confidence = None
        col.reason = f"left out by {login} on the matching screen"
        return
    col.entity, col.target = chosen
    col.confidence = CHOSEN
    col.reason = f"chosen by {login} on the matching screen"


def _apply_values(
    s: Suggestion,
    label: str,
    i: int,
    j: int,
    col: ColumnGuess,
    form: FormData,
    login: str,
    problems: list[str],
) -> None:
    allowed = {v for v, _ in value_options(s, col)}
    for k, guess in enumerate(list(col.values)):
        raw = form.get(f"t{i}-c{j}-v{k}")
        if raw is None:
            continue
        raw = str(raw)
        if raw not in allowed:
            problems.append(f"{label} '{col.column}': choose what '{guess.value}' means from the list.")
            continue
        target = None if raw == UNTRANSLATED else raw
        if target != guess.target:
            col.values[k] = ValueGuess(guess.value, guess.count, target, CHOSEN, f"chosen by {login}")
        elif target is not None and guess.confidence == LOW:
            col.values[k] = ValueGuess(guess.value, guess.count, target, CHOSEN, f"confirmed by {login}")


def _check(s: Suggestion) -> list[str]:
    """What would make a wrong or silently partial mapping: said before the loader is asked."""
    problems: list[str] = []
    words = dict(ENTITY_CHOICES)
    for entity, title in ENTITY_CHOICES:
        holders = [t.label for t in s.tables if entity in t.entities]
        if len(holders) > 1:
            problems.append(f"{title} are ticked for {' and '.join(holders)}: tick them for one only.")
    if not any(t.entities for t in s.tables):
        problems.append("Tick what the file holds (households, people, memberships).")
    for t in s.tables:
        seen: dict[tuple[str, str], str] = {}
        for col in t.columns:
            if not col.placed:
                continue
            key = (col.entity or "", col.target or "")
            if key in seen:
                problems.append(
                    f"{t.label}: '{seen[key]}' and '{col.column}' are both set to {describe(*key)}: keep one."
                )
            if col.target not in REPEATABLE:
                seen.setdefault(key, col.column)
            is_key = col.target == "key"
            fed = col.entity in t.entities or (is_key and "membership" in t.entities)
            if not fed:
                what = words.get(col.entity or "", col.entity)
                problems.append(
                    f"{t.label} '{col.column}' is set to {describe(*key)}, but {t.label} is not ticked "
                    f"as holding {what.split(' (')[0].lower()}: tick it, or choose another field."
                )
        problems += [
            f"{t.label} '{col.column}' is set to {describe(col.entity or '*', col.target or '')}: "
            f"choose the column holding {missing} too, or leave it out."
            for col, missing in lone_columns(t)
        ]
        for entity in t.entities:
            if entity == "relationship":
                problems += [
                    f"{t.label} holds relationships: choose the column holding the key of {words} "
                    f"(Person key: {words})."
                    for end, words in RELATIONSHIP_ENDS.items()
                    if t.column("relationship", end) is None
                ]
                if t.column("relationship", "relation") is None:
                    problems.append(f"{t.label} holds relationships: choose the column holding their type.")
                continue
            ends = ("group", "individual") if entity == "membership" else (entity,)
            for end in ends:
                if t.column(end, "key") is None:
                    problems.append(
                        f"{t.label} holds {words[entity].split(' (')[0].lower()}: choose the column that "
                        f"identifies each {'household' if end == 'group' else 'person'} "
                        f"({describe(end, 'key').capitalize()})."
                    )
    return list(dict.fromkeys(problems))


def layout_yaml(s: Suggestion, name: str, login: str) -> str:
    """The mapping file the screen's choices make (the suggestion's YAML, named and credited)."""
    named = copy.copy(s)
    named.name = name
    text = named.to_yaml()
    _first, _, rest = text.partition("\n")
    sources = ", ".join(s.sources)
    credit = f"# Matched on the spp-import page by {login} from {sources}, starting from a suggestion."
    return credit.replace("\n", " ") + "\n" + rest


def build_layout(s: Suggestion, name: str, login: str, folder: Path) -> Layout:
    """Write the screen's mapping into ``folder`` and read it back; refused with the loader's words."""
    text = layout_yaml(s, name, login)
    folder.mkdir(parents=True, exist_ok=True)
    # a file per check: an import started from an earlier check keeps the layout that check used
    path = folder / f"draft-{secrets.token_hex(6)}.yaml"
    _write(path, text)
    try:
        mapping = load_mapping(path)
    except ImportFailure as exc:
        raise LayoutRefused([_loader_words(exc)]) from None
    return Layout(text, path, mapping)


def _loader_words(exc: ImportFailure) -> str:
    """The loader's message without the draft file's path (the clerk never sees that file)."""
    message = re.sub(r"\S*draft-\w+\.yaml:?\s*", "", exc.message).strip()
    return "The layout cannot be used: " + (
        message[:1].lower() + message[1:] if message else "it is incomplete."
    )


def layout_key(name: str) -> tuple[str, str | None]:
    """The file name stem for a layout's name, or why the name is refused."""
    name = name.strip()
    if not name:
        return "", "Give the layout a name."
    if not _NAME.fullmatch(name) or ".." in name:
        return "", (
            "A layout's name is letters, digits, spaces and - _ . , ( ) ' +, at most 60 characters, "
            "starting with a letter or a digit."
        )
    return slug(name) or "layout_" + hashlib.sha256(name.encode()).hexdigest()[:10], None


@dataclass(frozen=True)
class Saved:
    """A layout the clerk saved: the choice the page now offers, and for whom."""

    choice: MappingChoice
    for_everyone: bool


def save_layout(
    layout_text: str,
    name: str,
    *,
    shared_dir: Path,
    shared: Sequence[MappingChoice],
    session_dir: Path,
    session: dict[str, MappingChoice],
    administer: bool,
    replace: bool,
) -> Saved:
    """Save for every clerk (``shared_dir``) when ``administer``, else into the clerk's session.

    Never over a layout of the same name unless ``replace`` (and a shared one
    only by someone who may administer); the name cannot reach outside the folder.
    """
    key, why = layout_key(name)
    if why:
        raise LayoutRefused([why])
    folded = name.strip().casefold()
    same_shared = [c for c in shared if c.key == key or c.name.casefold() == folded]
    same_mine = [c for c in session.values() if c.key == f"mine-{key}" or c.name.casefold() == folded]
    if administer:
        if same_shared and not replace:
            raise LayoutRefused(
                [
                    f"A layout named “{same_shared[0].name}” exists already for every clerk: tick "
                    "“Replace it” to overwrite it, or choose another name."
                ]
            )
        if any(c.key != key for c in same_shared):
            raise LayoutRefused(
                [f"Another layout file is already named “{name.strip()}”: choose another name."]
            )
        folder, stem, everyone = shared_dir, key, True
    else:
        if same_shared:
            raise LayoutRefused(
                [f"“{same_shared[0].name}” is a layout every clerk uses: choose another name for yours."]
            )
        if same_mine and not replace:
            raise LayoutRefused(
                [
                    f"You saved a layout named “{same_mine[0].name}” already: tick “Replace it”, "
                    "or choose another name."
                ]
            )
        folder, stem, everyone = session_dir, key, False
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / f"{stem}.yaml").resolve()
    if path.parent != folder.resolve():
        raise LayoutRefused(["This name cannot be used for a layout: choose another."])
    text = re.sub(r"(?m)^name: .*$", f"name: {_yaml_text(name.strip())}", layout_text, count=1)
    _write(path, text)
    try:
        mapping = load_mapping(path)
    except ImportFailure as exc:  # pragma: no cover - the same text was loaded before
        path.unlink(missing_ok=True)
        raise LayoutRefused([_loader_words(exc)]) from None
    description = mapping.description if everyone else "matched on this page; for your session only"
    choice = MappingChoice(key if everyone else f"mine-{key}", mapping.name, description, path)
    if not everyone:
        for old in same_mine:
            session.pop(old.key, None)
        session[choice.key] = choice
    return Saved(choice, everyone)


def _yaml_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write(path: Path, text: str) -> None:
    """Write atomically: a reader (another clerk's upload) sees the old layout or the new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".yaml.part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
