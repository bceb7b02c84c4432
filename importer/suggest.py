"""Suggest a mapping for a spreadsheet layout nobody has described yet (``spp-import mapping suggest``).

:func:`suggest_mapping` takes the tables the reader made (``importer.read``)
and, when a server is at hand, its catalog (``importer.catalog``), and
returns a :class:`Suggestion`: plain data the CLI prints and the web page's
matching screen shows.  It says which table is which entity, each entity's
key column, each column's registry field, the date order, and for coded
columns each distinct value with the server value it likely means; every
guess carries a confidence (high / medium / low) and the reason for it.

What it cannot place is listed (``unplaced``), never dropped; when two
fields are equally likely (a header "Date") it asks a question instead of
guessing, and the written mapping leaves the column out with the candidates
in a comment.  :meth:`Suggestion.to_yaml` writes a mapping that
``importer.mapping.load_mapping`` reads, with a comment on every guess;
``spp-import validate`` with it on the same file is the test of the guess.

Headers are matched first against the words of :mod:`importer.suggest_words`
(English, French, Spanish, Portuguese) and the server's own field labels,
then fuzzily (rapidfuzz) for typos; values refine or overrule the header
(dates that are not dates, a key that is not unique).  See
``docs/architecture.md`` §7.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from rapidfuzz import fuzz, process

from importer.catalog import PARTNER, Catalog
from importer.fields import FIELDS, looks_like_server_field, server_field
from importer.mapping import slug
from importer.normalise import fold
from importer.outcome import Entity
from importer.read import SourceTable
from importer.suggest_words import (
    EXPIRY,
    EXPIRY_WORDS,
    GENERIC,
    GROUP_WORDS,
    KEY_TOKENS,
    PERSON_WORDS,
    PHRASES,
    RECORD_PREFIXES,
    WEAK,
    Concept,
    value_words,
    words,
)

HIGH, MEDIUM, LOW = "high", "medium", "low"
_RANK = {HIGH: 3, MEDIUM: 2, LOW: 1, None: 0}
#: Offline, the coded values a fresh OpenSPP with genders configured knows (as the shipped mappings say).
OFFLINE_ALLOWED: dict[str, list[str]] = {
    "gender": ["Male", "Female"],
    "group.kind": ["Household", "Family"],
    "membership.kind": ["Head"],
}
#: A relationship's type, coded like the fields above; its ``values:`` are read with the
#: server's types (by name or inverse name), and offline validation does not read an
#: ``allowed:`` list of them, so the mapping is given none.
RELATION_KEY = "relationship.relation"
#: The types an install usually has, for a suggestion made without a server.
OFFLINE_RELATIONS = ["Spouse", "Parent", "Child"]
#: Coded fields: (entity, field) -> the key of ``values:`` / ``allowed:`` in a mapping.
CODED: dict[tuple[Entity, str], str] = {
    (Entity.INDIVIDUAL, "gender"): "gender",
    (Entity.GROUP, "kind"): "group.kind",
    (Entity.MEMBERSHIP, "kind"): "membership.kind",
    (Entity.RELATIONSHIP, "relation"): RELATION_KEY,
}
DATE_FIELDS = frozenset({"birthdate", "registration_date", "start_date", "ended_date"})
#: What only people carry, in words: an ID, its expiry, a bank account (``_settle``).
PEOPLE_ONLY = {"id:": "IDs", EXPIRY: "IDs", "bank:": "bank accounts", "phone:": "phone number records"}
#: A relationship's two people, in a clerk's words: the one it starts from, the related one.
RELATIONSHIP_ENDS = {"source": "the person it starts from", "destination": "the related person"}
#: A column kept in the registrant's additional information (``additional_info:``, a JSON object),
#: under a key made from its header.  Never guessed: only a clerk's choice, or a commented line.
INFO = "info"


@dataclass(frozen=True)
class PersonList:
    """A person's list option of a mapping: a column per item, the extra column beside the first.

    ``main`` / ``extra``: the two columns' targets, ``words`` what each is in a clerk's words;
    ``keys``: an item's two keys in the mapping (``{account: A, bank: B}``); ``lacking``: what
    an extra column alone lacks.
    """

    option: str
    main: str
    extra: str
    words: tuple[str, str]
    keys: tuple[str, str]
    lacking: str


#: A person's bank accounts, the bank beside the first (``bank_accounts:``).
BANK_LIST = PersonList(
    "bank_accounts",
    "bank:account",
    "bank:bank",
    ("bank account", "bank of that account"),
    ("account", "bank"),
    "the account number",
)
#: A person's phone numbers as records of their own, the date beside the first (``phones:``).
PHONE_LIST = PersonList(
    "phones",
    "phone:number",
    "phone:collected",
    ("phone number (a record of its own)", "date the phone number was collected"),
    ("column", "collected"),
    "a phone number",
)
PERSON_LISTS = (BANK_LIST, PHONE_LIST)
_LIST_WORDS = {t: w for k in PERSON_LISTS for t, w in zip((k.main, k.extra), k.words, strict=True)}
#: Targets several columns of one table may feed: a person may hold several accounts and phones,
#: a registrant's additional information several keys.
REPEATABLE = frozenset({*(kind.main for kind in PERSON_LISTS), INFO})
#: Registrant fields that only a server with their module has (docs/architecture.md §7): a
#: suggestion made with a server that lacks one leaves its column out, and says why.
MODULE_FIELDS = {"area_id": "areas (OpenSPP's spp_area module)"}
_DATE = re.compile(r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Why a column is not placed when nothing in the registry matches it (its header follows).
NO_FIELD = "no registry field matches the header"
SPARE_HINT = "columns no field matches: uncomment a line to keep it in the additional information (JSON)"
_FUZZY_CUTOFF = 84
SAMPLES = 5


# -- the suggestion, as data --------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One field a column may feed: ``entity`` (or ``*``: whichever the table holds) and ``target``.

    ``target`` is a registry field name, ``key`` (the entity's own identifier),
    ``id:<ID type>`` and ``expiry:<ID type>`` (when it stops being valid), or
    ``bank:account`` / ``bank:bank`` (a person's bank account and the bank it is
    held at: ``bank_accounts:`` in a mapping), ``phone:number`` / ``phone:collected``
    (a phone number record and the date it was collected: ``phones:``).
    """

    entity: str
    target: str
    confidence: str
    reason: str

    @property
    def label(self) -> str:
        return describe(self.entity, self.target)


@dataclass(frozen=True)
class ValueGuess:
    """One distinct value of a coded column and the server value it likely means.

    ``target`` ``""`` means "no kind" (a plain member); ``None``: not placed.
    """

    value: str
    count: int
    target: str | None
    confidence: str | None
    reason: str


@dataclass
class ColumnGuess:
    """One column: what it feeds (``entity``, ``target``), how sure, why, and what else it could be."""

    column: str
    entity: str | None = None
    target: str | None = None
    confidence: str | None = None
    reason: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    filled: int = 0
    distinct: int = 0
    values: list[ValueGuess] = field(default_factory=list)
    date_order: str | None = None  # the order its values show, when they are dates
    date_example: str = ""  # a value that shows that order (a part above 12, a year first)

    @property
    def placed(self) -> bool:
        return self.target is not None


@dataclass
class TableGuess:
    """One CSV file or sheet: which entities it feeds (``role``) and its columns."""

    label: str
    path: str
    sheet: str | None
    rows: int
    role: str  # roster, households, people, memberships, relationships, or unknown
    reason: str
    entities: list[str] = field(default_factory=list)
    columns: list[ColumnGuess] = field(default_factory=list)
    selector: dict[str, str] = field(default_factory=dict)  # {"sheet": ...} / {"file": ...} / {}

    def column(self, entity: str, target: str) -> ColumnGuess | None:
        return next((c for c in self.columns if c.entity == entity and c.target == target), None)


@dataclass(frozen=True)
class Question:
    """Something only a person can decide; the written mapping leaves it out and says so."""

    text: str
    table: str | None = None
    column: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass
class Suggestion:
    """A proposed mapping for some files: every guess with its confidence, the questions left."""

    name: str
    layout: str  # roster, sheets, files, or unknown
    tables: list[TableGuess]
    date_order: str
    date_order_confidence: str
    date_order_reason: str
    allowed: dict[str, list[str]]
    questions: list[Question]
    online: bool
    sources: list[str]

    def entity_table(self, entity: Entity) -> TableGuess | None:
        """The table an entity reads."""
        return next((t for t in self.tables if entity.value in t.entities), None)

    def unplaced(self) -> list[tuple[str, str, str]]:
        """(table, column, why) for every column the mapping does not read."""
        return [(t.label, c.column, c.reason) for t in self.tables for c in t.columns if not c.placed]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (for the web page)."""
        return asdict(self)

    def to_yaml(self) -> str:
        return _yaml(self)

    def summary(self) -> str:
        return _summary(self)


def describe(entity: str, target: str) -> str:
    """A guess in words: "household key", "person: birthdate", "ID: National ID"."""
    who = {
        "group": "household",
        "individual": "person",
        "membership": "membership",
        "relationship": "relationship",
        "*": "registrant",
    }
    if target == "key":
        return f"{who.get(entity, entity)} key"
    if target.startswith("id:"):
        return f"ID: {target[3:]}"
    if target.startswith(EXPIRY):
        return f"expiry of ID: {target[len(EXPIRY) :]}"
    if target in _LIST_WORDS:
        return f"person: {_LIST_WORDS[target]}"
    if target == INFO:
        return f"{who.get(entity, entity)}: additional information (JSON)"
    if entity == "relationship" and target in RELATIONSHIP_ENDS:
        return f"relationship: {RELATIONSHIP_ENDS[target]}"
    return f"{who.get(entity, entity)}: {target}"


# -- the vocabulary: our words and the server's ------------------------------------------------


@dataclass
class _Vocabulary:
    phrases: dict[str, list[Concept]]
    weak: dict[str, list[Concept]]
    server: dict[str, list[Concept]]  # the server's own labels (custom fields, ID types)

    def all_phrases(self) -> dict[str, list[Concept]]:
        merged: dict[str, list[Concept]] = {}
        for table in (self.phrases, self.weak, self.server):
            for phrase, concepts in table.items():
                merged.setdefault(phrase, []).extend(c for c in concepts if c not in merged.get(phrase, []))
        return merged


def _vocabulary(catalog: Catalog | None) -> _Vocabulary:
    server: dict[str, list[Concept]] = {}
    if catalog is not None and catalog.online:
        for name in catalog.id_types:
            server.setdefault(words(name), []).append(("*", f"id:{name}"))
        for name, desc in catalog.fields.get(PARTNER, {}).items():
            label = str(desc.get("string") or "")
            known = [e.value for e in (Entity.INDIVIDUAL, Entity.GROUP) if name in FIELDS[e]]
            if known:
                scope = "*" if len(known) == 2 else known[0]
            elif isinstance(server_field(name, desc), str):
                continue  # computed, relational...: not something a column can feed
            elif not looks_like_server_field(name):
                continue  # Odoo's own contact fields ("Type": contact or invoice address): not the registry's
            else:
                scope = "individual" if "_indv_" in name else "group" if "_grp_" in name else "*"
            bare = re.sub(r"^[xz]_(cst_)?((indv|grp|ind)_)?", "", name)
            for phrase in {words(label), words(bare), words(name)} - {""}:
                server.setdefault(phrase, []).append((scope, name))
    return _Vocabulary(PHRASES, WEAK, server)


# -- one column ----------------------------------------------------------------------------------


@dataclass
class _Profile:
    series: pd.Series
    filled: int
    counts: dict[str, int]
    date_share: float
    digit_share: float
    date_order: str | None
    order_example: str


def _profile(series: pd.Series) -> _Profile:
    values = series[series != ""]
    counts = {str(k): int(v) for k, v in values.value_counts(sort=True).items()}
    filled = len(values)
    distinct = list(counts)
    dates = [v for v in distinct if _DATE.match(v)]
    date_share = sum(counts[v] for v in dates) / filled if filled else 0.0
    digit_share = sum(counts[v] for v in distinct if any(ch.isdigit() for ch in v)) / filled if filled else 0
    order, example = _date_order(dates) if date_share >= 0.8 else (None, "")
    return _Profile(series, filled, counts, date_share, digit_share, order, example)


def _date_order(values: Sequence[str]) -> tuple[str | None, str]:
    """The order the values are written in, and a value that shows it (a part above 12, a year first)."""
    seen: dict[str, str] = {}
    for value in values:
        a, b, _c = _DATE.match(value).groups()  # type: ignore[union-attr]
        if len(a) == 4:
            seen.setdefault("iso", value)
        elif int(a) > 12:
            seen.setdefault("day-first", value)
        elif int(b) > 12:
            seen.setdefault("month-first", value)
    if len(seen) == 1:
        order, example = next(iter(seen.items()))
        return order, example
    if not seen:
        return None, ""
    return "mixed", ", ".join(seen.values())


def _header_candidates(header: str, vocab: _Vocabulary) -> list[Candidate]:
    """What a header names, best first: exact words, then household/person word + generic word, then typos."""
    text = words(header)
    if not text:
        return []
    for table, confidence, why in (
        (vocab.server, HIGH, "the registry's own label"),
        (vocab.phrases, HIGH, "a usual header"),
        (vocab.weak, MEDIUM, "often used"),
    ):
        if text in table:
            return [
                Candidate(s, w, confidence, f"'{header}' is {why} for {describe(s, w)}")
                for s, w in table[text]
            ]
    expiry = _expiry(header, text, vocab)
    if expiry:
        return expiry
    tokens = text.split()
    if len(tokens) == 1 and tokens[0] in KEY_TOKENS:
        scope = KEY_TOKENS[tokens[0]]
        return [
            Candidate(scope, "key", HIGH, f"'{header}' is a usual header for the {describe(scope, 'key')}")
        ]
    scoped = _scoped(header, tokens, vocab)
    if scoped:
        return scoped
    if text in GENERIC:  # "ID", "Kind", "Name": what, but not whose (the table says)
        what = GENERIC[text]
        return [Candidate("*", what, MEDIUM, f"'{header}' = {what}, of whatever the table holds")]
    return _fuzzy(header, text, vocab)


def _expiry(header: str, text: str, vocab: _Vocabulary) -> list[Candidate]:
    """An ID's expiry: "Passport expiry", "Date d'expiration CNI" = an ID's header + a word for expiring."""
    tokens = text.split()
    said = [t for t in tokens if t in EXPIRY_WORDS]
    if not any(t != "date" for t in said):  # "date" alone says nothing of expiring
        return []
    rest = " ".join(t for t in tokens if t not in EXPIRY_WORDS)
    found = vocab.server.get(rest) or vocab.phrases.get(rest) or []
    return [
        Candidate(
            "*",
            EXPIRY + what[3:],
            HIGH,
            f"'{header}': '{rest}' = {describe(scope, what)}, '{' '.join(said)}' = when it expires",
        )
        for scope, what in found
        if what.startswith("id:")
    ]


def _scoped(header: str, tokens: list[str], vocab: _Vocabulary) -> list[Candidate]:
    """A household or person word plus a generic one: "Nº de ménage" = household + number = household key."""
    group = [t for t in tokens if t in GROUP_WORDS]
    person = [t for t in tokens if t in PERSON_WORDS]
    if bool(group) == bool(person):
        return []
    scope, said = ("group", group[0]) if group else ("individual", person[0])
    rest = " ".join(t for t in tokens if t not in GROUP_WORDS and t not in PERSON_WORDS)
    who = "household" if scope == "group" else "person"
    if not rest:
        why = f"'{header}' names the {who} but not what of it"
        return [Candidate(scope, "key", LOW, why), Candidate(scope, "name", LOW, why)]
    if rest in GENERIC:
        what = GENERIC[rest]
        if what == "kind" and scope == "individual":
            scope, what = "membership", "kind"  # "member type"
        return [Candidate(scope, what, HIGH, f"'{header}': '{said}' = {who}, '{rest}' = {what}")]
    found = vocab.phrases.get(rest) or vocab.server.get(rest) or []
    out = []
    for s, w in found:
        if s in ("*", scope) or (scope == "individual" and s == "membership"):
            s = scope if s == "*" else s
            out.append(Candidate(s, w, HIGH, f"'{header}': '{said}' = {who}, '{rest}' = {describe(s, w)}"))
    return out


def _fuzzy(header: str, text: str, vocab: _Vocabulary) -> list[Candidate]:
    """Near spellings of known headers (typos): medium when very close, low otherwise."""
    if len(text) < 5:
        return []
    table = vocab.all_phrases()
    hits = process.extract(text, list(table), scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF, limit=4)
    out: list[Candidate] = []
    for phrase, score, _ in hits:
        confidence = MEDIUM if score >= 90 else LOW
        for s, w in table[phrase]:
            if not any(c.entity == s and c.target == w for c in out):
                out.append(Candidate(s, w, confidence, f"'{header}' is close to '{phrase}' ({score:.0f} %)"))
    return out


def _value_candidates(profile: _Profile, catalog: Catalog | None) -> list[Candidate]:
    """What the values alone say, when the header says nothing: genders, roles, e-mails, ID patterns."""
    distinct = [v for v in profile.counts if v]
    if not distinct:
        return []
    normal = {words(v) for v in distinct}
    shown = ", ".join(distinct[:4])
    for field_key, (entity, target) in (
        ("gender", ("individual", "gender")),
        ("membership.kind", ("membership", "kind")),
        ("group.kind", ("*", "kind")),
    ):
        table = value_words(field_key)
        if len(normal) >= 2 and normal <= set(table):
            if field_key == "membership.kind" and "Head" not in {table[n] for n in normal}:
                continue
            return [
                Candidate(entity, target, MEDIUM, f"its values ({shown}) are {describe(entity, target)}s")
            ]
    if all(_EMAIL.match(v) for v in distinct):
        return [Candidate("*", "email", MEDIUM, f"its values ({shown}) are e-mail addresses")]
    if catalog is not None:
        for name, (_id, regex) in catalog.id_types.items():
            if regex and all(re.fullmatch(regex, v) for v in distinct):
                why = f"every value matches the pattern of the ID type '{name}'"
                return [Candidate("*", f"id:{name}", MEDIUM, why)]
    if profile.date_share >= 0.8:
        why = "its values are dates, and nothing says which date"
        return [Candidate(*c, LOW, why) for c in PHRASES["date"]]
    return []


def _guess_column(column: str, profile: _Profile, vocab: _Vocabulary, catalog: Catalog | None) -> ColumnGuess:
    guess = ColumnGuess(
        column=column,
        samples=list(profile.counts)[:SAMPLES],
        filled=profile.filled,
        distinct=len(profile.counts),
        date_order=profile.date_order,
        date_example=profile.order_example,
    )
    candidates = _header_candidates(column, vocab)
    by_values = _value_candidates(profile, catalog)
    if not candidates:
        candidates = by_values
    elif by_values and len(candidates) > 1:  # the values pick among equal header readings
        agree = [
            c for c in candidates if any((v.entity, v.target) == (c.entity, c.target) for v in by_values)
        ]
        if len(agree) == 1:
            candidates = agree + [c for c in candidates if c is not agree[0]]
            candidates[0] = Candidate(
                agree[0].entity, agree[0].target, MEDIUM, f"{agree[0].reason}; {by_values[0].reason}"
            )
    elif by_values and len(candidates) == 1 and candidates[0].confidence != HIGH:
        top, seen = candidates[0], by_values[0]
        if (top.target, top.entity) == (seen.target, seen.entity) or (top.target == seen.target == "kind"):
            candidates = [Candidate(top.entity, top.target, HIGH, f"{top.reason}; {seen.reason}")]
    if len(candidates) > 1 and {c.target for c in candidates} == {"key", "name"}:  # "Ménage": key or name?
        pick = "key" if profile.digit_share >= 0.8 else "name"
        first = next(c for c in candidates if c.target == pick)
        why = "its values hold digits, like codes" if pick == "key" else "its values are words, like names"
        candidates = [Candidate(first.entity, pick, LOW, f"{first.reason}; {why}")]
    guess.candidates = candidates
    if not candidates:
        guess.reason = f"{NO_FIELD} '{column}'"
        return guess
    top = candidates[0]
    ties = [c for c in candidates if _RANK[c.confidence] == _RANK[top.confidence]]
    if len({(c.entity, c.target) for c in ties}) > 1:
        names = " or ".join(c.label for c in ties)
        guess.reason = f"ambiguous: '{column}' may be {names}"
        return guess
    confidence, reason = top.confidence, top.reason
    if _is_date(top.target) and profile.filled and profile.date_share < 0.5:
        confidence, reason = LOW, f"{reason}, but its values are not dates ({', '.join(guess.samples[:3])})"
    elif profile.filled == 0:
        reason += " (the column is empty)"
    guess.entity, guess.target, guess.confidence, guess.reason = top.entity, top.target, confidence, reason
    return guess


# -- which table is which entity ---------------------------------------------------------------

_PERSON_ONLY = frozenset(
    {"given_name", "family_name", "addl_name", "gender", "birthdate", "birth_place", "occupation", "name"}
)
_TABLE_WORDS = {
    "memberships": frozenset({"membership", "memberships", "composition", "links", "liens", "membresias"}),
    "households": GROUP_WORDS | {"families", "familles", "familias"},
    "people": PERSON_WORDS,
}


def _role(table: SourceTable, columns: list[ColumnGuess]) -> tuple[str, str]:
    """Roster, households, people, memberships, relationships or unknown, from what the columns hold
    (and the name)."""
    has = {(c.entity, c.target) for c in columns if c.placed}
    person = sorted(t for e, t in has if e == "individual" and t in _PERSON_ONLY)
    if ("relationship", "destination") in has and ("individual", "key") in has and not person:
        return "relationships", "a person's key and a related person's key on each row"
    group_key = ("group", "key") in has
    person_key = ("individual", "key") in has
    if person and group_key:
        return "roster", f"people ({', '.join(person[:3])}) with their household's key on each row"
    if person:
        return "people", f"people's columns ({', '.join(person[:3])})"
    if group_key and person_key:
        return "memberships", "a household key and a person key on each row, no person's details"
    if group_key or any(e == "group" for e, _ in has):
        return "households", "household columns and no person's"
    name = set(words(table.sheet or table.path.stem).split())
    for role, hints in _TABLE_WORDS.items():
        if name & hints:
            return role, f"its name '{table.sheet or table.path.name}'"
    return "unknown", "no column says whose it is"


def _main_entity(role: str) -> str | None:
    return {"roster": "individual", "people": "individual", "households": "group"}.get(role)


def _settle(table: TableGuess, feeds: set[str], fed: set[str]) -> None:
    """Give ``*`` guesses the table's entity, and leave out what this table does not feed."""
    if table.role == "relationships":
        _settle_relationships(table)
        return
    main = _main_entity(table.role) if table.role != "memberships" else None
    for col in table.columns:
        if not col.placed:
            continue
        if col.entity == "*" and col.target == "kind" and main != "group":
            col.entity = "membership"  # "Type" beside people: their role in the household
        elif col.entity == "*":
            col.entity = main or "membership"
        if col.target == "key" and col.entity not in ("group", "individual"):
            col.entity = main
        only = next((what for prefix, what in PEOPLE_ONLY.items() if col.target.startswith(prefix)), None)
        if col.entity == "relationship":  # a related person's key on a person's own row
            _unplace(
                col,
                "a related person on the person's own row is not read yet: put relationships on a "
                "sheet of their own (a person's key, the related person's key, the relationship)",
            )
        elif only and col.entity != "individual":
            _unplace(col, f"only people carry {only}, and this table holds no people")
        elif table.role == "memberships" and col.target != "key" and col.entity != "membership":
            _unplace(col, f"a memberships table does not feed {describe(col.entity or '*', col.target)}")
        elif col.target != "key" and col.entity not in feeds:
            where = {"group": "households", "individual": "people", "membership": "memberships"}
            what = where.get(col.entity or "", col.entity)
            if col.entity in fed:
                _unplace(col, f"{what} are read from another table")
            else:
                _unplace(col, f"no table holds {what} (no household key column beside the people)")
        elif col.entity == "group" and col.target == "kind" and table.role == "people":
            _unplace(col, "households are read from another table")


#: What a relationships table's columns are, from what they would be beside people: the person's
#: key is where the relationship starts, a member's role its type ("Spouse"), their dates its own.
_IN_RELATIONSHIPS = {
    ("individual", "key"): "source",
    ("relationship", "destination"): "destination",
    ("membership", "kind"): "relation",
    ("membership", "start_date"): "start_date",
    ("membership", "ended_date"): "end_date",
}


def _settle_relationships(table: TableGuess) -> None:
    """A relationships table feeds its two people's keys, the relationship's type and dates; no more.

    Without a column for the type the loader would refuse the whole mapping, so
    the table is then not read, and its columns say why.
    """
    for col in table.columns:
        if not col.placed:
            continue
        target = _IN_RELATIONSHIPS.get((col.entity or "", col.target or ""))
        if target is None:
            _unplace(col, "a relationships table feeds only the two people, the type and its dates")
        else:
            if col.entity != "relationship":  # read otherwise beside people: say what it is here
                col.reason += f"; in a relationships table: {describe('relationship', target)}"
            col.entity, col.target = "relationship", target
    if table.column("relationship", "relation") is None:
        table.entities = [e for e in table.entities if e != "relationship"]
        for col in table.columns:
            if col.placed:
                _unplace(col, "no column of its table says what each relationship is (Spouse, Parent...)")


def _phone_records(table: TableGuess) -> None:
    """A person's phones become records of their own (``phones:``) where one field each would not do.

    That is, with more than one phone column (the registry lists a person's
    numbers, and a third column would have no field left), or with the date a
    number was collected beside it.  A lone phone column stays the person's
    ``phone`` (or ``mobile``) field, as the shipped roster writes it.
    """
    phones = [
        c for c in table.columns if c.placed and c.entity == "individual" and c.target in ("phone", "mobile")
    ]
    if len(phones) > 1 or (phones and table.column("individual", PHONE_LIST.extra) is not None):
        for col in phones:
            col.target = PHONE_LIST.main
            col.reason += "; kept with the person's other phone numbers, one record each"


def _unplace(col: ColumnGuess, why: str) -> None:
    guessed = describe(col.entity or "*", col.target or "")
    col.candidates = [Candidate(col.entity or "*", col.target or "", col.confidence or LOW, col.reason)]
    col.entity = col.target = col.confidence = None
    col.reason = f"looks like {guessed}, but {why}"


def _one_per_target(table: TableGuess, questions: list[Question]) -> None:
    """Two columns for one field: keep the surer one; equally sure ones are a question."""
    seen: dict[tuple[str, str], ColumnGuess] = {}
    for col in table.columns:
        if not col.placed:
            continue
        key = (col.entity or "", col.target or "")
        other = seen.get(key)
        if other is None or col.target in REPEATABLE:
            seen.setdefault(key, col)
            continue
        if _RANK[col.confidence] > _RANK[other.confidence]:
            seen[key], col, other = col, other, col
        if _RANK[col.confidence] == _RANK[other.confidence]:
            questions.append(
                Question(
                    f"{table.label}: '{other.column}' and '{col.column}' both look like "
                    f"{describe(*key)}; the first one is used",
                    table.label,
                    col.column,
                    (other.column, col.column),
                )
            )
        _unplace(col, f"'{other.column}' already feeds it")


def _check_key(table: TableGuess, entity: str, profiles: dict[str, _Profile], repeats: bool) -> None:
    """A key must be filled on every row and, where the table holds one row per record, unique."""
    col = table.column(entity, "key")
    if col is None:
        return
    prof = profiles[col.column]
    empty = table.rows - prof.filled
    repeated = prof.filled - len(prof.counts)
    if repeats:
        col.reason += (
            f"; {len(prof.counts)} {'households' if entity == 'group' else 'people'} over {table.rows} rows"
        )
    elif empty or repeated:
        col.confidence = LOW
        col.reason += f"; but {repeated} value(s) repeat and {empty} row(s) are empty: check it"
    else:
        col.reason += "; unique and filled on every row"
    if empty and repeats:
        col.confidence = LOW
        col.reason += f"; {empty} row(s) are empty: check it"


def _find_key(
    table: TableGuess, entity: str, profiles: dict[str, _Profile], questions: list[Question]
) -> None:
    """No header says which column is the key: a column of unique, filled codes may be."""
    if table.column(entity, "key") is not None:
        return
    who = "household" if entity == "group" else "person"
    fits = [
        c
        for c in table.columns
        if not c.placed
        and profiles[c.column].filled == table.rows
        and len(profiles[c.column].counts) == table.rows
        and profiles[c.column].digit_share >= 0.8
        and profiles[c.column].date_share < 0.5
    ]
    if len(fits) == 1:
        col = fits[0]
        col.entity, col.target, col.confidence = entity, "key", LOW
        col.reason = f"no header names the {who} key; '{col.column}' holds a different code on every row"
        return
    questions.append(
        Question(
            f"{table.label}: which column identifies each {who} (a code unique to each, on every row)?",
            table.label,
            None,
            tuple(c.column for c in fits),
        )
    )


# -- coded values --------------------------------------------------------------------------------


def _server_values(field_key: str, catalog: Catalog | None) -> list[str]:
    if field_key == RELATION_KEY:  # a type by its name or by its inverse name ("Child" of Parent)
        if catalog is None or not catalog.online:
            return list(OFFLINE_RELATIONS)
        names = (n for t in catalog.relation_types.values() for n in (t.name, t.inverse) if n)
        return list(dict.fromkeys(names))
    if catalog is None or not catalog.online:
        return list(OFFLINE_ALLOWED[field_key])
    if field_key == "gender":
        return list(catalog.genders)
    if field_key == "group.kind":
        return list(catalog.group_kinds)
    return list(catalog.membership_kinds)


def _guess_values(col: ColumnGuess, field_key: str, known: list[str], profile: _Profile) -> None:
    guess_values(col, field_key, known, profile.counts)


def guess_values(col: ColumnGuess, field_key: str, known: list[str], counts: dict[str, int]) -> None:
    """Each distinct value against the server's list: same spelling, a known word, an abbreviation, a typo.

    Public for the web page's matching screen, which calls it when a clerk makes
    a column coded (``counts``: the column's distinct values and how often each comes).
    """
    vocab = value_words(field_key)
    by_fold = {fold(k): k for k in known}

    def server_value(usual: str) -> str | None:
        if usual == "":
            return ""
        if fold(usual) in by_fold:
            return by_fold[fold(usual)]
        synonyms = {w for w, t in vocab.items() if t == usual}
        return next((k for k in known if words(k) in synonyms), None)

    guesses: list[ValueGuess] = []
    for value, count in counts.items():
        said = words(value)
        if fold(value) in by_fold:
            guesses.append(ValueGuess(value, count, by_fold[fold(value)], HIGH, "the registry's own value"))
            continue
        if said in vocab and server_value(vocab[said]) is not None:
            target = server_value(vocab[said])
            why = "a member with no kind" if target == "" else f"'{value}' means {target}"
            guesses.append(ValueGuess(value, count, target, HIGH, why))
            continue
        # "Fem.", "Masc": an abbreviation; "Femal" (one letter short of a word) is more likely a typo.
        short = 3 <= len(said) <= 4 or (len(said) >= 3 and value.rstrip().endswith("."))
        prefixed = {t for w, t in vocab.items() if short and w.startswith(said)}
        prefixed |= {k for k in known if short and words(k).startswith(said)}
        targets = {server_value(t) for t in prefixed} - {None}
        if len(targets) == 1:
            target = targets.pop()
            guesses.append(
                ValueGuess(value, count, target, MEDIUM, f"'{value}' abbreviates {target or 'member'}")
            )
            continue
        choices = {**{w: t for w, t in vocab.items()}, **{words(k): k for k in known}}
        near = process.extractOne(said, list(choices), scorer=fuzz.ratio, score_cutoff=75) if said else None
        if near is not None and server_value(choices[near[0]]) is not None:
            target = server_value(choices[near[0]])
            why = f"'{value}' is close to '{near[0]}': a typo? (not written: confirm it)"
            guesses.append(ValueGuess(value, count, target, LOW, why))
            continue
        guesses.append(ValueGuess(value, count, None, None, f"'{value}' matches none of {', '.join(known)}"))
    col.values = guesses


# -- the whole suggestion ------------------------------------------------------------------------


def suggest_mapping(
    tables: Sequence[SourceTable], catalog: Catalog | None = None, *, name: str | None = None
) -> Suggestion:
    """Propose a mapping for these tables; ``catalog`` (the server's) sharpens fields and values."""
    vocab = _vocabulary(catalog)
    questions: list[Question] = []
    guesses: list[TableGuess] = []
    profiles: dict[str, dict[str, _Profile]] = {}
    for table in tables:
        profs = {str(c): _profile(table.frame[c].astype("str")) for c in table.frame.columns}
        profiles[table.label] = profs
        columns = [_guess_column(c, p, vocab, catalog) for c, p in profs.items()]
        role, why = _role(table, columns)
        guesses.append(
            TableGuess(
                table.label, str(table.path), table.sheet, len(table.frame), role, why, columns=columns
            )
        )
    _assign_entities(guesses, questions)
    fed = {e for g in guesses for e in g.entities}
    for guess in guesses:
        _settle(guess, set(guess.entities), fed)
        _phone_records(guess)
        _one_per_target(guess, questions)
        profs = profiles[guess.label]
        for entity in ("group", "individual"):
            if entity in guess.entities:
                _find_key(guess, entity, profs, questions)
        _check_key(guess, "individual", profs, repeats=guess.role == "memberships")
        _check_key(guess, "group", profs, repeats=guess.role != "households")
    _selectors(guesses, tables)
    for guess in guesses:
        _leave_out_unusable(guess, catalog)
    allowed = {k: _server_values(k, catalog) for k in (*OFFLINE_ALLOWED, RELATION_KEY)}
    for guess in guesses:
        for col in guess.columns:
            key = CODED.get((Entity(col.entity), col.target)) if col.placed and col.entity else None
            if key is not None:
                _guess_values(col, key, allowed[key], profiles[guess.label][col.column])
    order, confidence, reason = _overall_date_order(guesses, questions)
    _ask(guesses, questions, catalog)
    sources = list(dict.fromkeys(str(t.path.name) for t in tables))
    layout = _layout(guesses)
    return Suggestion(
        name=name or slug(Path(sources[0]).stem if sources else "suggested") or "suggested",
        layout=layout,
        tables=guesses,
        date_order=order,
        date_order_confidence=confidence,
        date_order_reason=reason,
        allowed=allowed,
        questions=questions,
        online=bool(catalog is not None and catalog.online),
        sources=sources,
    )


def _leave_out_unusable(table: TableGuess, catalog: Catalog | None) -> None:
    """Leave out what cannot be written: a field of a module this server lacks; a bank, or an
    ID's expiry, with no account or ID number beside it.

    Offline nothing is known of the server, so a guess stands (the shipped
    mappings read areas); ``spp-import validate`` with the server says the rest.
    """
    fields = catalog.fields.get(PARTNER, {}) if catalog is not None and catalog.online else None
    for col in table.columns:
        if col.placed and fields is not None and col.target in MODULE_FIELDS and col.target not in fields:
            _unplace(col, f"this server has no {MODULE_FIELDS[col.target]}")
    for col, missing in lone_columns(table):
        _unplace(col, f"no column beside it holds {missing}")


def lone_columns(table: TableGuess) -> list[tuple[ColumnGuess, str]]:
    """Columns that mean nothing alone, with what they lack: a bank without the account number
    beside it, an ID's expiry without the ID's number, the date a phone number was collected
    without a phone number (the suggestion leaves them out, the matching screen asks for the
    missing column)."""
    lone: list[tuple[ColumnGuess, str]] = []
    for col in table.columns:
        if not col.placed:
            continue
        kind = next((k for k in PERSON_LISTS if col.target == k.extra), None)
        if kind is not None and table.column("individual", kind.main) is None:
            lone.append((col, kind.lacking))
        elif col.target.startswith(EXPIRY):
            id_type = col.target[len(EXPIRY) :]
            if table.column("individual", "id:" + id_type) is None:
                lone.append((col, f"the {id_type} number"))
    return lone


def _assign_entities(guesses: list[TableGuess], questions: list[Question]) -> None:
    """Households from a households table (else the roster), people from the people or roster table,
    memberships from a memberships table (else the table with both keys)."""

    def pick(role: str, entity: str) -> TableGuess | None:
        found = [g for g in guesses if g.role == role]
        if len(found) > 1:
            questions.append(
                Question(
                    f"several tables look like {role}: {', '.join(g.label for g in found)}; "
                    f"{found[0].label} is used for {entity}s",
                    candidates=tuple(g.label for g in found),
                )
            )
        return max(found, key=lambda g: sum(c.placed for c in g.columns)) if found else None

    people = pick("people", "individual") or pick("roster", "individual")
    households = pick("households", "group") or (people if people and people.role == "roster" else None)
    links = pick("memberships", "membership") or (people if people and people.role == "roster" else None)
    relationships = pick("relationships", "relationship")
    for entity, table in (
        ("group", households),
        ("individual", people),
        ("membership", links),
        ("relationship", relationships),
    ):
        if table is not None:
            table.entities.append(entity)
    if people is None:
        questions.append(Question("no table holds people (given name, family name, gender, birth date...)"))
    if links is None and people is not None and households is not None:
        questions.append(Question("no table says which person belongs to which household"))
    for guess in guesses:
        if not guess.entities:
            for col in guess.columns:
                if col.placed:
                    _unplace(col, f"its table ({guess.role}) is not read: {guess.reason}")


def _selectors(guesses: list[TableGuess], tables: Sequence[SourceTable]) -> None:
    """How the mapping finds each table: nothing for one table, the sheet's name, or a file pattern."""
    if len(tables) == 1:
        return
    names = [t.path.name for t in tables]
    for guess in guesses:
        if guess.sheet is not None:
            guess.selector = {"sheet": guess.sheet}
            continue
        path = Path(guess.path)
        pattern = f"{path.stem}*{path.suffix}"
        wide = sum(fnmatch.fnmatch(n.casefold(), pattern.casefold()) for n in names) == 1
        guess.selector = {"file": pattern if wide else path.name}


def _is_date(target: str | None) -> bool:
    """Whether a column of this target holds dates: a date field, an ID's expiry, a phone's collection."""
    return target is not None and (
        target in DATE_FIELDS or target.startswith(EXPIRY) or target == PHONE_LIST.extra
    )


def _overall_date_order(guesses: list[TableGuess], questions: list[Question]) -> tuple[str, str, str]:
    """One order for the mapping: the one the mapped date columns show (a differing column gets its own)."""
    shown = [
        (c.date_order, c, g)
        for g in guesses
        for c in g.columns
        if c.placed and _is_date(c.target) and c.date_order and c.date_order != "mixed"
    ]
    for g in guesses:
        for c in g.columns:
            if c.placed and _is_date(c.target) and c.date_order == "mixed":
                questions.append(
                    Question(
                        f"{g.label} '{c.column}' mixes date orders ({c.samples[0]}...)", g.label, c.column
                    )
                )
    if not shown:
        dated = [c for g in guesses for c in g.columns if c.placed and _is_date(c.target) and c.filled]
        if not dated:
            return "iso", MEDIUM, "no dates to read"
        questions.append(
            Question(
                "no date shows its order (no part above 12): is 03/04/2020 3 April (day-first) or "
                "March 4 (month-first)? day-first is assumed",
                candidates=("day-first", "month-first"),
            )
        )
        return "day-first", LOW, "no date shows its order: assumed"
    counts: dict[str, int] = {}
    for order, _c, _g in shown:
        counts[order] = counts.get(order, 0) + 1
    order = max(counts, key=lambda o: counts[o])
    col = next(c for o, c, _g in shown if o == order)
    why = {
        "iso": "a year first",
        "day-first": "a first part above 12",
        "month-first": "a second part above 12",
    }
    return order, HIGH, f"'{col.date_example}' in '{col.column}' has {why[order]}"


def _ask(guesses: list[TableGuess], questions: list[Question], catalog: Catalog | None) -> None:
    """Questions for what the mapping needs and the guess could not settle."""
    for g in guesses:
        for col in g.columns:
            if not col.placed and col.reason.startswith("ambiguous"):
                questions.append(
                    Question(
                        f"{g.label} '{col.column}': {col.reason[len('ambiguous: ') :]}? It is left out",
                        g.label,
                        col.column,
                        tuple(c.label for c in col.candidates),
                    )
                )
            if (
                col.placed
                and col.target
                and col.target.startswith("id:")
                and catalog is not None
                and catalog.online
            ):
                id_type = col.target[3:]
                if id_type not in catalog.id_types:
                    known = ", ".join(catalog.id_types) or "none"
                    questions.append(
                        Question(
                            f"{g.label} '{col.column}' looks like {id_type}, which the server lacks "
                            f"(it has: {known})",
                            g.label,
                            col.column,
                            tuple(catalog.id_types),
                        )
                    )
            for v in col.values:
                if v.confidence == LOW or v.target is None:
                    questions.append(Question(f"{g.label} '{col.column}': {v.reason}", g.label, col.column))
    households = next((g for g in guesses if "group" in g.entities), None)
    if households is not None and households.column("group", "name") is None:
        questions.append(
            Question(
                f"{households.label}: no column for the household's name; the registry needs one "
                "(add a column, or give the mapping's group name field a default)",
                households.label,
            )
        )
    people = next((g for g in guesses if "individual" in g.entities), None)
    if people is not None:
        missing = [f for f in ("given_name", "family_name") if people.column("individual", f) is None]
        if missing:
            questions.append(
                Question(
                    f"{people.label}: no column for {' and '.join(missing)}; the registry needs both",
                    people.label,
                )
            )


def _layout(guesses: list[TableGuess]) -> str:
    used = [g for g in guesses if g.entities]
    if len(used) == 1 and used[0].role == "roster":
        return "roster"
    if used and all(g.sheet is not None for g in used) and len({g.path for g in used}) == 1:
        return "sheets"
    if len({g.path for g in used}) > 1:
        return "files"
    return "unknown" if not used else used[0].role


# -- the mapping file ----------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .()/'-]*")


def _q(text: str) -> str:
    """A YAML scalar: plain when it reads back as the same string, else double-quoted."""
    if _PLAIN.fullmatch(text) and text == text.strip():
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _note(confidence: str | None, reason: str) -> str:
    return f"  # {confidence}: {reason}".replace("\n", " ")


def _yaml(s: Suggestion) -> str:
    out: list[str] = [
        f"# Suggested by `spp-import mapping suggest` from {', '.join(s.sources)}"
        f" ({'with the server' if s.online else 'offline'}).",
        "# Every guess says how sure it is; check each 'low' one and answer the questions at the end.",
        f"name: {_q(s.name)}",
        f"description: {_q('Suggested for ' + ', '.join(s.sources))}",
        f"namespace: {_q(slug('spp_' + s.name))}",
        f"date_order: {s.date_order}" + _note(s.date_order_confidence, s.date_order_reason),
        "",
        "entities:",
    ]
    for entity in (Entity.GROUP, Entity.INDIVIDUAL, Entity.MEMBERSHIP, Entity.RELATIONSHIP):
        table = s.entity_table(entity)
        if table is not None:
            out += _entity_yaml(s, entity, table)
    used_keys = {
        CODED[(Entity(c.entity), c.target)]
        for t in s.tables
        for c in t.columns
        if c.placed and c.entity and (Entity(c.entity), c.target) in CODED
    }
    value_lines: list[str] = []
    for key in (*OFFLINE_ALLOWED, RELATION_KEY):
        cols = [
            c
            for t in s.tables
            for c in t.columns
            if c.placed and c.entity and CODED.get((Entity(c.entity), c.target)) == key
        ]
        lines: list[str] = []
        for col in cols:
            for v in col.values:
                if v.target is None:
                    lines.append(f"    # {_q(v.value)}: ?  # not placed: {v.reason}")
                elif v.confidence == LOW:
                    lines.append(f"    # {_q(v.value)}: {_q(v.target)}" + _note(v.confidence, v.reason))
                elif fold(v.value) != fold(v.target) or v.target == "":
                    lines.append(f"    {_q(v.value)}: {_q(v.target)}" + _note(v.confidence, v.reason))
        if lines:
            value_lines += [f"  {key}:", *lines]
    if value_lines:
        out += ["", "values:", *value_lines]
    source = "the server's lists" if s.online else "a usual OpenSPP setup: check them against the server"
    out += ["", f"allowed:  # for `spp-import validate` without a server; from {source}"]
    for key, values in ((k, v) for k, v in s.allowed.items() if k in OFFLINE_ALLOWED):
        mark = "" if key in used_keys or values else "  # the server has none"
        out.append(f"  {key}: [{', '.join(_q(v) for v in values)}]{mark}")
    unplaced = s.unplaced()
    if unplaced:
        out += ["", "# Columns not read by this mapping:"]
        out += [f"#   {table} '{column}': {why}" for table, column, why in unplaced]
    if s.questions:
        out += ["", "# Questions:"]
        out += [f"#   {i}. {q.text}" for i, q in enumerate(s.questions, 1)]
    return "\n".join(out) + "\n"


#: What a membership or a relationship names, as (mapping option, the guess's entity, its target).
_ENDS: dict[Entity, tuple[tuple[str, str, str], ...]] = {
    Entity.MEMBERSHIP: (("group", "group", "key"), ("individual", "individual", "key")),
    Entity.RELATIONSHIP: (
        ("source", "relationship", "source"),
        ("destination", "relationship", "destination"),
    ),
}


def _entity_yaml(s: Suggestion, entity: Entity, table: TableGuess) -> list[str]:
    e = entity.value
    out = [f"  {e}:  # {table.label}: {table.role} ({table.reason})"]
    out += [f"    {k}: {_q(v)}" for k, v in table.selector.items()]
    if entity in _ENDS:  # the two keys a link names: (mapping option, whose, which guess)
        for option, owner, target in _ENDS[entity]:
            col = table.column(owner, target)
            if col is not None:
                out.append(f"    {option}: {_q(col.column)}" + _note(col.confidence, col.reason))
            else:
                out.append(f"    # {option}: ?  # no column holds the {describe(owner, target)}")
    else:
        col = table.column(e, "key")
        if col is not None:
            out.append(f"    key: {_q(col.column)}" + _note(col.confidence, col.reason))
        else:
            out.append(f"    # key: ?  # no column holds the {describe(e, 'key')}: see the questions")
    ends = ("key", "source", "destination")
    fields = [c for c in table.columns if c.entity == e and c.placed and c.target not in ends]
    plain = [c for c in fields if c.target != INFO and not c.target.startswith(RECORD_PREFIXES)]
    ambiguous = [
        c
        for c in table.columns
        if not c.placed
        and c.reason.startswith("ambiguous")
        and any(x.entity in (e, "*") for x in c.candidates)
    ]
    if plain or ambiguous:
        out.append("    fields:")
    for col in plain:
        value = _q(col.column)
        if col.target in DATE_FIELDS and col.date_order and col.date_order not in (s.date_order, "mixed"):
            value = f"{{column: {value}, date_order: {col.date_order}}}"
        out.append(f"      {_q(col.target)}: {value}" + _note(col.confidence, col.reason))
    if entity is not Entity.MEMBERSHIP:
        for col in ambiguous:
            names = ", ".join(c.label for c in col.candidates)
            out.append(f"      # ?: {_q(col.column)}  # question: one of {names}; left out")
    ids = [c for c in fields if c.target.startswith("id:")]
    if ids:
        out.append("    ids:")
        for col in ids:
            until = table.column(e, EXPIRY + col.target[3:])
            out.append(f"      {_q(col.target[3:])}: " + _paired(col, until, "column", "expiry"))
    for kind in PERSON_LISTS:
        items = [c for c in fields if c.target == kind.main]
        if items:
            out.append(f"    {kind.option}:")
            extra = table.column(e, kind.extra)  # beside the first item: the one it is read with
            for n, col in enumerate(items):
                out.append("      - " + _paired(col, extra if n == 0 else None, *kind.keys))
    return out + _info_yaml(table, e, [c for c in fields if c.target == INFO])


def _info_yaml(table: TableGuess, entity: str, kept: list[ColumnGuess]) -> list[str]:
    """``additional_info:``: the columns kept there, then, commented, the ones no field matches.

    A column no field matches is not written unless someone says so: the
    commented line keeps it one keystroke away (``entity`` must be the table's
    own registrants, so a roster's spare columns go with its people).
    """
    spare = [
        c
        for c in table.columns
        if not c.placed and c.reason.startswith(NO_FIELD) and _main_entity(table.role) == entity
    ]
    if not kept and not spare:
        return []
    keys = info_keys([c.column for c in kept + spare])
    out = ["    additional_info:" if kept else f"    # additional_info:  # {SPARE_HINT}"]
    out += [f"      {_q(keys[c.column])}: {_q(c.column)}" + _note(c.confidence, c.reason) for c in kept]
    if kept and spare:
        out.append(f"      # {SPARE_HINT}:")
    out += [f"    #   {_q(keys[c.column])}: {_q(c.column)}" for c in spare]
    return out


def info_keys(columns: Sequence[str]) -> dict[str, str]:
    """The key each column is kept under in the additional information: its header's words
    (accents and punctuation dropped) joined by underscores, numbered when two give the same."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        base = words(column).replace(" ", "_") or "column"
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        keys[column] = key
        taken.add(key)
    return keys


def _paired(col: ColumnGuess, other: ColumnGuess | None, main: str, extra: str) -> str:
    """A column and the one read with it (an ID and its expiry, an account and its bank), as one
    mapping item: ``{main: A, extra: B}``, or ``A`` alone; its comment gives both guesses."""
    if other is None:
        return _q(col.column) + _note(col.confidence, col.reason)
    value = f"{{{main}: {_q(col.column)}, {extra}: {_q(other.column)}}}"
    return value + _note(_weaker(col, other), f"{col.reason}; {other.reason}")


def _weaker(col: ColumnGuess, other: ColumnGuess) -> str | None:
    """The lower confidence of two guesses written as one line (a clerk's choice outranks any guess)."""
    if _RANK.get(col.confidence, 9) <= _RANK.get(other.confidence, 9):
        return col.confidence
    return other.confidence


def _summary(s: Suggestion) -> str:
    """The suggestion in words, for a terminal: per table what each column feeds, then what is left."""
    out = [f"Layout: {s.layout} ({'matched with the server' if s.online else 'offline'})"]
    for t in s.tables:
        feeds = ", ".join(t.entities) or "nothing"
        out += ["", f"{t.label}: {t.role}, {t.rows} rows; feeds {feeds} ({t.reason})"]
        width = max((len(c.column) for c in t.columns), default=0)
        said = {
            id(c): describe(c.entity or "*", c.target or "") if c.placed else "(not placed)"
            for c in t.columns
        }
        wide = max([28, *map(len, said.values())])
        for c in t.columns:
            out.append(f"  {c.column:<{width}}  -> {said[id(c)]:<{wide}} {c.confidence or '':<6} {c.reason}")
            for v in c.values:
                target = "?" if v.target is None else (v.target or "(member, no kind)")
                out.append(
                    f"  {'':<{width}}       {v.value!r} x{v.count} -> {target} ({v.confidence or '-'})"
                )
    out += ["", f"Date order: {s.date_order} ({s.date_order_confidence}: {s.date_order_reason})"]
    unplaced = s.unplaced()
    out.append(f"Columns not placed: {len(unplaced)}")
    out += [f"  {table} '{column}': {why}" for table, column, why in unplaced]
    out.append(f"Questions: {len(s.questions)}")
    out += [f"  {i}. {q.text}" for i, q in enumerate(s.questions, 1)]
    return "\n".join(out)
