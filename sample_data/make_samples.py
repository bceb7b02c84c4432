"""Regenerate the sample spreadsheets in this folder (deterministic: same seed, same files).

    python sample_data/make_samples.py

Good files (60 households, about 240 people, in every shipped layout):
  roster.xlsx / roster.csv        flat roster, mapping mappings/roster.yaml
  workbook.xlsx                   Individuals / Groups / Memberships sheets, mapping mappings/workbook.yaml
  households.csv, individuals.csv, memberships.csv   three CSVs, mapping mappings/csv-files.yaml
Broken file (every validation rule, once or more; its expected report is tests/data/workbook_broken.expected.csv):
  workbook_broken.xlsx
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.demo_data import roster, workbook_tables  # noqa: E402

HOUSEHOLDS = 60


def _xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)


def broken_workbook() -> dict[str, pd.DataFrame]:
    """A small workbook where each row breaks one rule (the test oracle lists them)."""
    individuals = pd.DataFrame(
        [
            # Person ID, First, Middle, Last, Gender, DOB, POB, Registered, Phone, Email, Income, Occupation, NID
            ["P1", "Ana", "", "Santos", "F", "1990-05-01", "", "2024-01-10", "0917 555 0101", "", "", "", "0012345678"],
            ["P2", "Jose", "", "Santos", "M", "1988-02-03", "", "2024-01-10", "", "", "1200.50", "", "0012345679"],
            ["", "Nobody", "", "Keyless", "M", "1980-01-01", "", "", "", "", "", "", ""],  # missing_key
            ["P4", "Twin", "", "One", "F", "1991-01-01", "", "", "", "", "", "", ""],
            ["P4", "Twin", "", "Two", "F", "1991-01-01", "", "", "", "", "", "", ""],  # duplicate_key (both)
            ["P6", "", "", "", "F", "1992-01-01", "", "", "", "", "", "", ""],  # missing_name
            ["P7", "Mara", "", "Cruz", "Femal", "1993-03-03", "", "", "", "", "", "", ""],  # unknown_code
            ["P8", "Leo", "", "Cruz", "M", "31/02/1990", "", "", "", "", "", "", ""],  # bad_date
            ["P9", "Fut", "", "Ure", "M", "2999-01-01", "", "", "", "", "", "", ""],  # date_in_future
            ["P10", "Old", "", "Timer", "M", "1850-01-01", "", "", "", "", "", "", ""],  # too_old
            ["P11", "Early", "", "Bird", "F", "2000-01-01", "", "1999-01-01", "", "", "", "", ""],  # reg before birth
            ["P12", "Call", "", "Me", "M", "1990-01-01", "", "", "call me maybe", "", "", "", ""],  # bad_phone
            ["P13", "Mail", "", "Me", "F", "1990-01-01", "", "", "", "not-an-email", "", "", ""],  # bad_email
            ["P14", "Rich", "", "Er", "M", "1990-01-01", "", "", "", "", "lots", "", ""],  # bad_number
            ["P15", "Bad", "", "Id", "M", "1990-01-01", "", "", "", "", "", "", "ABC"],  # bad_id
            ["P16", "Same", "", "Id", "F", "1990-01-01", "", "", "", "", "", "", "0099999999"],
            ["P17", "Same", "", "Id", "M", "1990-01-01", "", "", "", "", "", "", "0099999999"],  # duplicate_id
            ["P18", "Kid", "", "Santos", "F", "2015-06-01", "", "", "", "", "", "", ""],
        ],
        columns=[
            "Person ID", "First name", "Middle name", "Last name", "Gender", "Date of birth", "Place of birth",
            "Registered on", "Phone", "Email", "Monthly income", "Occupation", "National ID",
        ],
    )  # fmt: skip
    groups = pd.DataFrame(
        [
            ["G1", "Santos household", "Household", "2024-01-10", "", ""],
            ["G2", "", "Household", "", "", ""],  # missing_name
            ["G3", "Cruz family", "Clan", "", "", ""],  # unknown_code (kind)
            ["G4", "Tomorrow household", "Household", "2999-12-31", "", ""],  # date_in_future
        ],
        columns=["Group ID", "Group name", "Kind", "Registered on", "Phone", "Address"],
    )
    memberships = pd.DataFrame(
        [
            ["G1", "P1", "head", "2024-01-10", ""],
            ["G1", "P2", "member", "2024-01-10", ""],
            ["G1", "P18", "head", "2024-01-10", ""],  # second_head
            ["G1", "P2", "member", "2024-01-10", ""],  # duplicate_member
            ["G1", "P99", "member", "", ""],  # unknown_individual
            ["G9", "P1", "member", "", ""],  # unknown_group
            ["", "P1", "member", "", ""],  # missing_reference
            [
                "G4",
                "P16",
                "member",
                "2024-05-01",
                "2024-01-01",
            ],  # ended_before_start (+ G4 invalid → skipped)
            ["G2", "P17", "member", "", ""],  # skipped in a run: group G2 is invalid
        ],
        columns=["Group ID", "Person ID", "Role", "Member since", "Left on"],
    )
    return {"Individuals": individuals, "Groups": groups, "Memberships": memberships}


def main() -> None:
    people = roster(HOUSEHOLDS, seed=17)
    _xlsx(HERE / "roster.xlsx", {"Roster": people})
    people.to_csv(HERE / "roster.csv", index=False)
    sheets = workbook_tables(people)
    _xlsx(HERE / "workbook.xlsx", sheets)
    csv_people = people.assign(
        date_of_birth=pd.to_datetime(people["date_of_birth"], format="%d/%m/%Y").dt.strftime("%m/%d/%Y")
    )
    households = csv_people.drop_duplicates("household_id")
    households[["household_id", "household_name", "household_kind"]].set_axis(
        ["hh_code", "hh_name", "hh_type"], axis=1
    ).assign(village="San Isidro").to_csv(HERE / "households.csv", index=False)
    csv_people[
        ["person_id", "given_name", "family_name", "sex", "date_of_birth", "phone", "national_id"]
    ].set_axis(["member_code", "first_name", "surname", "gender", "dob", "mobile", "nid"], axis=1).to_csv(
        HERE / "individuals.csv", index=False
    )
    pd.DataFrame(
        {
            "hh_code": csv_people["household_id"],
            "member_code": csv_people["person_id"],
            "role": csv_people["relationship"].map(lambda r: "HEAD" if r == "head" else "MEMBER"),
            "joined": "01/15/2024",
        }
    ).to_csv(HERE / "memberships.csv", index=False)
    _xlsx(HERE / "workbook_broken.xlsx", broken_workbook())
    print(f"wrote samples to {HERE} ({len(people)} people in {HOUSEHOLDS} households)")


if __name__ == "__main__":
    main()
