"""What a value should look like, in a clerk's words: "a date like 31/12/1990 (day/month/year)", "10 digits".

A validation message quotes the cell as the clerk wrote it and then says the
form expected there.  Dates take their form from the mapping's date order;
ID types and the phone format come from the server as regular expressions,
so common shapes (``^[0-9]{10}$``, ``^[A-Z]{2}[0-9]{6}$``) are put into words
and any other pattern is shown as it is.
"""

from __future__ import annotations

import re
from datetime import date

DATE_ORDER_WORDS: dict[str, str] = {
    "day-first": "day/month/year",
    "month-first": "month/day/year",
    "iso": "year-month-day",
}
_DATE_EXAMPLES: dict[str, str] = {"day-first": "31/12/1990", "month-first": "12/31/1990", "iso": "1990-12-31"}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

NUMBER_FORM = "a number like 1234.50 (a point before any decimals)"
BOOLEAN_FORM = "yes/no, true/false or 1/0"
EMAIL_FORM = "an address like name@example.org"
PHONE_FORM = "digits (spaces and ( ) . / - allowed, + first for abroad), like +63 917 555 0101"


def date_form(order: str) -> str:
    """``"a date like 31/12/1990 (day/month/year)"`` for a mapping's date order."""
    return f"a date like {_DATE_EXAMPLES[order]} ({DATE_ORDER_WORDS[order]})"


def datetime_form(order: str) -> str:
    """A date-and-time field's form: the date as :func:`date_form`, then a time of day if known."""
    return f"{date_form(order)}, then a time like 14:30 if there is one"


def date_reading(iso: str, order: str) -> str:
    """How the importer read a date, spelled out: ``"15 June 2031 (day/month/year)"``.

    Saying the month in words shows a clerk at once when the file's day and
    month were the other way round.
    """
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year} ({DATE_ORDER_WORDS.get(order, order)})"


# -- patterns -------------------------------------------------------------------------------

#: Character classes a clerk can be told about, by the set of ranges they allow.
_CLASS_NOUNS: dict[frozenset[str], tuple[str, str]] = {
    frozenset({"digit"}): ("digit", "digits"),
    frozenset({"upper"}): ("capital letter", "capital letters"),
    frozenset({"lower"}): ("small letter", "small letters"),
    frozenset({"upper", "lower"}): ("letter", "letters"),
    frozenset({"upper", "digit"}): ("capital letter or digit", "capital letters or digits"),
    frozenset({"lower", "digit"}): ("small letter or digit", "small letters or digits"),
    frozenset({"upper", "lower", "digit"}): ("letter or digit", "letters or digits"),
}
_RANGES = {"0-9": "digit", "A-Z": "upper", "a-z": "lower", r"\d": "digit"}
_ATOM = re.compile(
    r"""
    (?P<cls>\[(?P<inner>(?:0-9|A-Z|a-z|\\d)+)\]) | (?P<digit>\\d)
    | \\(?P<escaped>[-./ +()#:_])
    | (?P<literal>[A-Za-z0-9 _/#:-])
    """,
    re.VERBOSE,
)
_QUANTIFIER = re.compile(r"\{(?P<low>\d+)(?:(?P<comma>,)(?P<high>\d*))?\}|(?P<sym>[+*?])")


def pattern_form(regex: str) -> str:
    """The words for an ID or phone pattern, or the pattern itself when it has no simple words."""
    words = pattern_words(regex)
    return words if words else f"text matching the pattern {regex}"


def pattern_words(regex: str) -> str | None:
    """``^[A-Z]{2}[0-9]{6}$`` → ``"2 capital letters then 6 digits"``; ``None`` if not a simple shape.

    Understands a sequence of digit/letter classes and literal characters,
    each with an optional count (``{n}``, ``{m,n}``, ``{m,}``, ``+``, ``*``,
    ``?``); alternatives, groups and other classes are shown as the pattern.
    """
    body = _unwrap(regex.strip())
    parts: list[str] = []
    literal = ""
    pos = 0
    while pos < len(body):
        atom = _ATOM.match(body, pos)
        if atom is None:
            return None
        pos = atom.end()
        quantifier = _QUANTIFIER.match(body, pos)
        if quantifier:
            pos = quantifier.end()
        char = atom.group("escaped") or atom.group("literal")
        if char is not None and quantifier is None:
            literal += char
            continue
        if literal:
            parts.append(f"'{literal}'")
            literal = ""
        if char is not None:
            if quantifier.group("sym") != "?":  # type: ignore[union-attr]
                return None
            parts.append(f"optionally '{char}'")
            continue
        kinds = frozenset({"digit"}) if atom.group("digit") else _class_kinds(atom.group("inner"))
        parts.append(_counted(_CLASS_NOUNS[kinds], quantifier))
    if literal:
        parts.append(f"'{literal}'")
    return " then ".join(parts) if parts else None


def _unwrap(regex: str) -> str:
    """The pattern without its anchors and one group around the whole of it."""
    regex = regex.removeprefix("^").removesuffix("$")
    for opening in ("(?:", "("):
        if regex.startswith(opening) and regex.endswith(")") and regex.count("(") == 1:
            return regex[len(opening) : -1]
    return regex


def _class_kinds(inner: str) -> frozenset[str]:
    return frozenset(_RANGES[r] for r in re.findall(r"0-9|A-Z|a-z|\\d", inner))


def _counted(nouns: tuple[str, str], quantifier: re.Match[str] | None) -> str:
    """``("digit", "digits")`` with ``{8,12}`` → ``"8 to 12 digits"``."""
    one, many = nouns
    if quantifier is None:
        return f"1 {one}"
    sym = quantifier.group("sym")
    if sym == "+":
        return f"one or more {many}"
    if sym == "*":
        return f"any number of {many}"
    if sym == "?":
        return f"optionally 1 {one}"
    low = int(quantifier.group("low"))
    if not quantifier.group("comma"):
        return f"{low} {one if low == 1 else many}"
    high = quantifier.group("high")
    return f"at least {low} {many}" if not high else f"{low} to {high} {many}"
