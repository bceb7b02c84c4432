"""Messages a clerk can act on: the cell as written, the expected form in words, once per cell.

Also the registry form's rule that a person has a given name and a family
name: refused on the row (judged by the sandbox's state after a real import)
and, for a mapping that could never give them, refused up front.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.canonical import map_tables
from importer.catalog import Catalog, LinkedRecords
from importer.client import OdooClient
from importer.forms import pattern_form, pattern_words
from importer.mapping import bind, load_mapping
from importer.outcome import Entity, ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.read import SourceTable
from importer.resolve import resolve_codes
from importer.sandbox import Sandbox
from importer.validate import Validation, validate_tables

ROSTER = {
    "household_id": ["H1", "H1", "H2"],
    "household_name": ["Doe household", "Doe household", "Roe household"],
    "household_kind": ["HH", "", "Family"],
    "person_id": ["P1", "P2", "P3"],
    "given_name": ["Jane", "John", "Rita"],
    "family_name": ["Doe", "Doe", "Roe"],
    "sex": ["F", "male", "F"],
    "date_of_birth": ["03/04/1990", "01/01/1985", "15/12/2001"],
    "relationship": ["head", "spouse", "Head"],
    "national_id": ["0000000001", "", "0000000003"],
    "phone": ["0917 555 0101", "", ""],
}


def _catalog(id_regex: str = r"^[0-9]{10}$") -> Catalog:
    return Catalog(
        genders=["Male", "Female"],
        group_kinds={"Household": 1, "Family": 2},
        membership_kinds={"Head": 1},
        unique_kinds={"Head"},
        id_types={"National ID": (1, id_regex)},
        online=True,
    )


def _table(columns: dict[str, list[str]], name: str = "people.csv") -> SourceTable:
    frame = pd.DataFrame(columns).astype("str")
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="row")  # row 1 is the header
    return SourceTable(path=Path(name), sheet=None, frame=frame, header_row=1)


def _validate(mapping: Path, catalog: Catalog | None = None, **overrides: list[str]) -> Validation:
    m = load_mapping(mapping)
    tables = map_tables(bind(m, [_table({**ROSTER, **overrides})]), m)
    cat = catalog or _catalog()
    resolve_codes(tables, cat, m)
    return validate_tables(tables, cat)


def _roster(catalog: Catalog | None = None, **overrides: list[str]) -> Validation:
    return _validate(MAPPINGS / "roster.yaml", catalog, **overrides)


def _only(result: Validation, code: str):
    found = [p for p in result.problems if p.code == code]
    assert len(found) == 1, [(p.code, p.row, p.message) for p in result.problems]
    return found[0]


def _people_mapping(tmp_path: Path, fields: str, date_order: str = "day-first") -> Path:
    path = tmp_path / "people.yaml"
    path.write_text(
        f"date_order: {date_order}\n"
        "entities:\n"
        "  individual:\n"
        "    key: person_id\n"
        f"    fields: {{given_name: given_name, family_name: family_name, {fields}}}\n"
    )
    return path


# -- the value as the clerk wrote it ---------------------------------------------------------


def test_a_date_in_the_future_is_quoted_as_written_and_read_back_in_words() -> None:
    result = _roster(date_of_birth=["15/06/2031", "01/01/1985", "15/12/2001"], sex=["  Femal ", "male", "F"])
    problem = _only(result, "date_in_future")
    assert problem.value == "15/06/2031"
    assert "'15/06/2031'" in problem.message and "2031-06-15" not in problem.message
    assert "15 June 2031 (day/month/year)" in problem.message
    coded = _only(result, "unknown_code")  # quoted from the sheet, not from the resolved column
    assert (coded.value, coded.message) == ("Femal", "'Femal' is not one of the registry's sex values")
    assert coded.suggestion == "did you mean 'Female'?"


def test_a_very_old_date_is_quoted_as_written() -> None:
    problem = _only(_roster(date_of_birth=["01/01/1850", "01/01/1985", "15/12/2001"]), "too_old")
    assert problem.message == "'01/01/1850' reads as 1 January 1850 (day/month/year), more than 120 years ago"


def test_a_bad_date_says_the_form_of_the_mappings_date_order(tmp_path: Path) -> None:
    day_first = _only(_roster(date_of_birth=["31/02/1990", "01/01/1985", "15/12/2001"]), "bad_date")
    assert day_first.message == "'31/02/1990' is not a date: expected a date like 31/12/1990 (day/month/year)"
    mapping = _people_mapping(tmp_path, "birthdate: date_of_birth", date_order="month-first")
    month_first = _only(
        _validate(mapping, date_of_birth=["13/31/1990", "01/01/1985", "12/15/2001"]), "bad_date"
    )
    assert month_first.message.endswith("expected a date like 12/31/1990 (month/day/year)")
    iso = _people_mapping(tmp_path, "birthdate: date_of_birth", date_order="iso")
    dates = ["1990-04-03", "1985-01-01", "15/12/2001"]
    assert _only(_validate(iso, date_of_birth=dates), "bad_date").message.endswith(
        "a date like 1990-12-31 (year-month-day)"
    )


def test_two_dates_compared_are_both_quoted_as_written(tmp_path: Path) -> None:
    mapping = _people_mapping(tmp_path, "birthdate: date_of_birth, registration_date: registered")
    result = _validate(mapping, registered=["02/04/1990", "01/01/2000", "01/01/2002"])
    problem = _only(result, "registration_before_birth")
    assert (problem.row, problem.column, problem.value) == (2, "registered", "02/04/1990")
    assert problem.message == (
        "the registration date '02/04/1990' is before the birthdate '03/04/1990' (column 'date_of_birth')"
    )


def test_a_household_value_that_disagrees_is_quoted_as_written_on_both_rows(tmp_path: Path) -> None:
    mapping = tmp_path / "households.yaml"
    mapping.write_text(
        "date_order: day-first\n"
        "entities:\n"
        "  group:\n"
        "    key: household_id\n"
        "    fields: {name: household_name, registration_date: registered}\n"
    )
    m = load_mapping(mapping)
    registered = {"registered": ["01/02/2024", "02/01/2024", "05/05/2024"]}
    tables = map_tables(bind(m, [_table({**ROSTER, **registered})]), m)
    [conflict] = [p for p in tables[Entity.GROUP].problems if p.code == "group_conflict"]
    assert conflict.row == 3 and conflict.value == "02/01/2024"
    assert conflict.message == (
        "household 'H1' has registered '01/02/2024' on an earlier row; this row's '02/01/2024' is ignored"
    )


# -- the expected form in words --------------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "words"),
    [
        (r"^[0-9]{10}$", "10 digits"),
        (r"^\d{10}$", "10 digits"),
        (r"[0-9]{10}", "10 digits"),
        (r"^[0-9]{8,12}$", "8 to 12 digits"),
        (r"^[A-Z]{2}[0-9]{6}$", "2 capital letters then 6 digits"),
        (r"^[A-Z0-9]{5,}$", "at least 5 capital letters or digits"),
        (r"^(?:\d{3}-\d{4})$", "3 digits then '-' then 4 digits"),
        (r"^PH-[0-9]+$", "'PH-' then one or more digits"),
        (r"^[0-9]{3}\.[0-9]{3}$", "3 digits then '.' then 3 digits"),
        (r"^X?[0-9]{1}$", "optionally 'X' then 1 digit"),
    ],
)
def test_common_id_patterns_are_said_in_words(regex: str, words: str) -> None:
    assert pattern_words(regex) == words


@pytest.mark.parametrize("regex", [r"^(A|B)[0-9]+$", r"^\w+$", r"^.{3}$", r"^[0-9 ()-]{4,}$"])
def test_other_patterns_are_shown_as_they_are(regex: str) -> None:
    assert pattern_words(regex) is None
    assert pattern_form(regex) == f"text matching the pattern {regex}"


def test_a_bad_id_says_the_servers_pattern_in_words_or_shows_it() -> None:
    bad = ["12AB", "", "0000000003"]
    assert _only(_roster(national_id=bad), "bad_id").message == (
        "'12AB' is not a valid national_id: expected 10 digits"
    )
    lettered = _only(_roster(_catalog(r"^[A-Z]{2}[0-9]{6}$"), national_id=["12AB", "", "AB123456"]), "bad_id")
    assert lettered.message.endswith("expected 2 capital letters then 6 digits")
    odd = _only(_roster(_catalog(r"^(A|B)[0-9]+$"), national_id=["12AB", "", "A1"]), "bad_id")
    assert odd.message.endswith("expected text matching the pattern ^(A|B)[0-9]+$")


def test_numbers_yes_no_phones_and_emails_say_their_form(tmp_path: Path) -> None:
    mapping = _people_mapping(
        tmp_path, "income: income, birthdate_not_exact: guessed, mobile: mobile, email: email"
    )
    result = _validate(
        mapping,
        income=["lots", "", ""],
        guessed=["maybe", "", ""],
        mobile=["call me", "", ""],
        email=["not-an-email", "", ""],
    )
    assert _only(result, "bad_number").message == (
        "'lots' is not a number: expected a number like 1234.50 (a point before any decimals)"
    )
    assert (
        _only(result, "bad_boolean").message == "'maybe' is not yes or no: expected yes/no, true/false or 1/0"
    )
    assert _only(result, "bad_phone").message.startswith("'call me' is not a phone number: expected digits")
    assert _only(result, "bad_email").message == (
        "'not-an-email' is not an e-mail address: expected an address like name@example.org"
    )


# -- one message per problem per cell --------------------------------------------------------


def _cells(problems) -> list[tuple[object, ...]]:
    return [(p.file, p.sheet, p.row, p.column) for p in problems]


def test_an_empty_person_id_on_a_roster_is_one_message_for_its_cell() -> None:
    result = _roster(person_id=["P1", "", "P3"])
    reported = result.reported()
    assert _cells(p for p in reported if p.row == 3) == [("people.csv", None, 3, "person_id")]
    assert [p.code for p in reported if p.row == 3] == ["missing_key"]
    # the membership on that row is still refused, in the same words
    membership = [p for p in result.problems if p.entity == "membership" and p.row == 3]
    assert [p.message for p in membership] == ["the person_id is empty: every row needs its own identifier"]
    assert 3 in result.invalid_rows(Entity.MEMBERSHIP)


def test_a_person_listed_twice_in_a_household_is_one_message_per_cell() -> None:
    result = _roster(person_id=["P1", "P1", "P3"])
    reported = result.reported()
    assert sorted(_cells(reported)) == [
        ("people.csv", None, 2, "person_id"),
        ("people.csv", None, 3, "person_id"),
    ]
    assert {p.code for p in reported} == {"duplicate_key"}


def test_different_problems_of_one_cell_are_each_reported() -> None:
    result = _roster(national_id=["12AB", "12AB", "0000000003"])
    codes = sorted((p.row, p.code) for p in result.reported() if p.column == "national_id")
    assert codes == [(2, "bad_id"), (2, "duplicate_id"), (3, "bad_id"), (3, "duplicate_id")]


# -- a person needs a given name and a family name -------------------------------------------


def test_a_person_without_a_given_or_family_name_is_refused_on_that_cell() -> None:
    result = _roster(given_name=["", "John", ""], family_name=["Doe", "", ""])
    found = sorted((p.row, p.column, p.code) for p in result.reported())
    assert found == [
        (2, "given_name", "missing_given_name"),
        (3, "family_name", "missing_family_name"),
        (4, "family_name", "missing_family_name"),
        (4, "given_name", "missing_given_name"),
    ]
    given = next(p for p in result.problems if p.code == "missing_given_name")
    assert given.message == (
        "no given name: the registry refuses a person without a given name and a family name"
    )
    assert sorted(result.invalid_rows(Entity.INDIVIDUAL)) == [2, 3, 4]


def test_a_mapping_without_given_and_family_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    path.write_text(
        "entities:\n  individual:\n    key: id\n    fields: {name: full_name, given_name: first}\n"
    )
    with pytest.raises(ImportFailure) as info:
        load_mapping(path)
    message = info.value.message
    assert "family_name" in message and "refuses a person without a given name and a family name" in message


def test_a_person_without_a_given_name_is_not_written_to_the_registry(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLES / "roster.csv", dtype=str, keep_default_na=False)
    nameless = frame.index[frame["national_id"] != ""][3]
    frame.loc[nameless, "given_name"] = ""
    person, national_id = frame.loc[nameless, ["person_id", "national_id"]]
    edited = tmp_path / "roster.csv"
    frame.to_csv(edited, index=False)
    row = int(nameless) + 2  # the header is row 1
    with Sandbox() as sb:
        for mode, refused in (("dry-run", "invalid"), ("import", "failed")):
            options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode=mode, write_files=False)
            report = run_import([edited], options, settings_for(sb)).report
            line = report.rows[report.rows["row"] == row].iloc[0]
            assert line["status"] == refused, mode
            assert line["reasons"].startswith("no given name: the registry refuses a person"), line["reasons"]
            problems = report.problems[report.problems["row"] == row]
            assert problems[["column", "code"]].values.tolist() == [["given_name", "missing_given_name"]]
        with OdooClient(settings_for(sb)) as c:
            people = c.search_count("res.partner", [["is_registrant", "=", True], ["is_group", "=", False]])
            held = c.search_count("g2p.reg.id", [["value", "=", national_id]])
            xids = c.search_count("ir.model.data", [["name", "ilike", person], ["model", "=", "res.partner"]])
        assert people == len(frame) - 1
        assert held == 0 and xids == 0


def test_an_import_reports_each_problem_once_per_cell(tmp_path: Path) -> None:
    """A roster row with an empty household_id: the group's key and the membership's pointer, one message."""
    frame = pd.read_csv(SAMPLES / "roster.csv", dtype=str, keep_default_na=False)
    frame.loc[1, "household_id"] = ""
    frame.loc[2, "date_of_birth"] = "15/06/2031"
    edited = tmp_path / "roster.csv"
    frame.to_csv(edited, index=False)
    with Sandbox() as sb:
        options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode="dry-run", write_files=False)
        report = run_import([edited], options, settings_for(sb)).report
    problems = report.problems
    assert not problems.duplicated(["file", "sheet", "row", "column"]).any(), problems
    empty = problems[problems["row"] == 3]
    assert empty[["column", "code"]].values.tolist() == [["household_id", "missing_key"]]
    reasons = report.rows.loc[report.rows["row"] == 3, "reasons"].iloc[0]
    assert reasons.count("the household_id is empty") == 1, reasons
    future = problems[problems["row"] == 4].iloc[0]
    assert future["value"] == "15/06/2031" and "'15/06/2031' is in the future" in future["message"]


# -- a value the registry does not have ------------------------------------------------------


def _coded_catalog() -> Catalog:
    """The roster's catalog, with areas (one per cell) and tags (several per cell) on the server."""
    catalog = _catalog()
    catalog.linked = {
        "area_id": LinkedRecords("Area", {"Lakeside": 1}, {"r1-d1": "Lakeside", "lakeside": "Lakeside"}, {}),
        "tags_ids": LinkedRecords(
            "Tags",
            {"Vulnerable": 1, "Pilot": 2},
            {"vulnerable": "Vulnerable", "pilot": "Pilot"},
            {},
            many=True,
        ),
    }
    return catalog


def test_an_unknown_value_is_said_without_a_wrong_article(tmp_path: Path) -> None:
    mapping = _people_mapping(tmp_path, "area_id: 'Area code', tags_ids: Tags")
    result = _validate(
        mapping,
        _coded_catalog(),
        **{"Area code": ["R9", "R1-D1", ""], "Tags": ["", "", ""]},
    )
    problem = _only(result, "unknown_code")
    assert problem.message == "'R9' is not one of the registry's Area code values"
    assert " a Area" not in problem.message


def test_an_unknown_tag_among_several_is_named_within_the_cell(tmp_path: Path) -> None:
    mapping = _people_mapping(tmp_path, "tags_ids: Tags")
    result = _validate(mapping, _coded_catalog(), Tags=["Vulnerable, VIP", "vip", "Pilot, Vulnrable, Gold"])
    by_row = {p.row: p for p in result.problems if p.code == "unknown_code"}
    assert set(by_row) == {2, 3, 4}
    one = by_row[2]
    assert one.value == "Vulnerable, VIP"  # the cell as the clerk wrote it
    assert one.message == "'VIP' (in 'Vulnerable, VIP') is not one of the registry's Tags values"
    assert one.suggestion != "did you mean 'Vulnerable'?"  # never a tag the cell already names right
    assert by_row[3].message == "'vip' is not one of the registry's Tags values"  # alone: quoted whole
    two = by_row[4]
    assert two.message == (
        "'Vulnrable' and 'Gold' (in 'Pilot, Vulnrable, Gold') are not among the registry's Tags values"
    )
    assert two.suggestion == "did you mean 'Vulnerable'?"
