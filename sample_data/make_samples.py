"""Regenerate the sample spreadsheets in this folder (deterministic: same seed, same files).

    python sample_data/make_samples.py

Good files (60 households, about 240 people, in every shipped layout):
  roster.xlsx / roster.csv        flat roster, mapping mappings/roster.yaml
  workbook.xlsx                   Individuals / Groups / Memberships sheets, mapping mappings/workbook.yaml
  households.csv, individuals.csv, memberships.csv   three CSVs, mapping mappings/csv-files.yaml
Broken file (every validation rule, once or more; its expected report is tests/data/workbook_broken.expected.csv):
  workbook_broken.xlsx
An enrollment as a programme sends it (mapping mappings/enrollment.yaml, a sandbox started with
`--preset enrollment`): custom fields, two ID types, phones, tags, areas, bank accounts,
additional information and relationships, with planted errors; its expected report is
enrollment_expected.csv (one line per input row: sheet, row, status, problem codes):
  enrollment.xlsx
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


ENROLLMENT_HOUSEHOLDS = [
    "Household ID", "Household name", "Type", "Registered on", "Area code", "Household tags",
    "Water source", "Latrine", "Rooms", "Dwelling notes",
]  # fmt: skip
ENROLLMENT_PEOPLE = [
    "Person ID", "Household ID", "Role", "Given name", "Middle name", "Family name", "Sex",
    "Date of birth", "Registered on", "National ID", "Passport no", "Passport expiry", "Mobile",
    "Other phone", "Email", "Area code", "Tags", "Disability level", "Pregnant", "Education",
    "Occupation", "Bank", "Account no", "Savings account", "School name", "Livestock",
]  # fmt: skip
ENROLLMENT_LINKS = ["Person ID", "Related person ID", "Relationship", "Since"]


def enrollment_workbook() -> dict[str, pd.DataFrame]:
    """An enrollment as a programme sends it, good rows first, then one planted error a row.

    Each planted error is commented with the problem code its row must report
    (the oracle is enrollment_expected.csv, checked by tests/test_enrollment_sample.py).
    """
    households = pd.DataFrame(
        [
            ["H01", "Ramos household", "Household", "10/01/2026", "R1-D1", "Vulnerable", "Tap water", "yes", "3", "Concrete walls, tin roof"],
            ["H02", "Okafor household", "Household", "10/01/2026", "R1-D2", "", "Well", "no", "2", ""],
            ["H03", "Nguyen family", "Family", "11/01/2026", "Riverbend", "Pilot 2026, Remote", "river", "no", "1", "Bamboo; flooded in 2024"],
            ["H04", "Mensah household", "", "11/01/2026", "R2-D2 - Central", "Female-headed", "Rainwater", "yes", "4", ""],
            ["H05", "Diallo household", "Household", "12/01/2026", "R2-D1", "", "Well", "yes", "three", ""],  # bad_integer: its members are not written
            ["H06", "Silva household", "Household", "12/01/2026", "R1", "Remote", "Tap water", "yes", "2", ""],
        ],
        columns=ENROLLMENT_HOUSEHOLDS,
    )  # fmt: skip
    people = pd.DataFrame(
        [
            ["P001", "H01", "head", "Ana", "Maria", "Ramos", "F", "14/03/1985", "10/01/2026", "0012345678", "P1234567", "31/12/2030", "0917 555 0101", "0918 555 0102", "ana.ramos@example.org", "R1-D1", "Vulnerable", "0", "no", "Secondary", "Market vendor", "RURLPHMM", "0012-3456-7890", "SA-0001", "", "3"],
            ["P002", "H01", "spouse", "Jose", "", "Ramos", "M", "02/07/1982", "10/01/2026", "0012345679", "", "", "0917 555 0103", "", "", "R1-D1", "", "0", "", "primary", "Farmer", "Metro Bank", "7788-1122", "", "", ""],
            ["P003", "H01", "child", "Lito", "", "Ramos", "M", "05/05/2012", "10/01/2026", "", "", "", "", "", "", "R1-D1", "", "", "", "Primary", "", "", "", "", "San Isidro Elementary", ""],
            ["P004", "H01", "child", "Rosa", "", "Ramos", "F", "20/09/2015", "10/01/2026", "", "", "", "", "", "", "R1-D1", "", "", "", "primary", "", "", "", "", "San Isidro Elementary", ""],
            ["P005", "H02", "head", "Grace", "", "Okafor", "F", "01/01/1979", "10/01/2026", "0023456781", "A9876543", "15/06/2028", "0920 111 2222", "", "", "R1-D2", "Female-headed, Vulnerable", "2", "no", "Tertiary", "Teacher", "Coop Savings", "55-66-77", "", "", "0"],
            ["P006", "H02", "child", "Chidi", "", "Okafor", "M", "12/12/2008", "10/01/2026", "", "", "", "", "", "", "R1-D2", "", "", "", "Secondary", "Student", "", "", "", "Hillside High", ""],
            ["P007", "H02", "parent", "Ngozi", "", "Okafor", "F", "03/03/1950", "10/01/2026", "0023456782", "", "", "", "", "", "R1-D2", "Person with disability", "3", "", "none", "", "", "", "", "", ""],
            ["P008", "H03", "head", "Minh", "", "Nguyen", "M", "22/02/1975", "11/01/2026", "0034567891", "", "", "0930 222 3333", "0931 222 3334", "", "R2-D1", "Pilot 2026", "", "", "Secondary", "Fisher", "MBTCPHMM", "1234567890", "", "", "12"],
            ["P009", "H03", "spouse", "Thuy", "", "Nguyen", "F", "30/04/1980", "11/01/2026", "0034567892", "", "", "", "", "", "R2-D1", "", "", "yes", "Primary", "", "", "", "", "", ""],
            ["P010", "H03", "child", "Lan", "", "Nguyen", "F", "01/06/2010", "11/01/2026", "", "", "", "", "", "", "R2-D1", "", "1", "", "Primary", "", "", "", "", "Riverbend Primary", ""],
            ["P011", "H04", "head", "Akosua", "", "Mensah", "F", "17/08/1988", "11/01/2026", "0045678912", "", "", "0940 333 4444", "", "", "R2-D2", "Female-headed", "", "no", "Secondary", "Tailor", "", "", "SV-4411", "", "5"],
            ["P012", "H04", "child", "Kwame", "", "Mensah", "M", "09/09/2014", "11/01/2026", "", "", "", "", "", "", "R2-D2", "", "", "", "Primary", "", "", "", "", "Central Primary", ""],
            ["P013", "H04", "sibling", "Esi", "", "Mensah", "F", "11/11/1992", "11/01/2026", "0045678913", "", "", "0941 333 4455", "", "", "R2-D2", "", "", "", "Secondary", "", "", "", "", "", ""],
            ["P014", "H05", "head", "Musa", "", "Diallo", "M", "10/10/1970", "12/01/2026", "0056789123", "", "", "0950 444 5555", "", "", "R2-D1", "", "", "", "Primary", "Herder", "", "", "", "", "30"],  # skipped: household H05 refused
            ["P015", "H05", "spouse", "Hawa", "", "Diallo", "F", "05/05/1975", "12/01/2026", "0056789124", "", "", "", "", "", "R2-D1", "", "", "", "None", "", "", "", "", "", ""],  # skipped: household H05 refused
            ["P016", "H06", "head", "Carlos", "", "Silva", "M", "25/12/1960", "12/01/2026", "0067891234", "X1234567", "01/01/2029", "0960 555 6666", "", "", "R1", "Remote", "1", "", "Primary", "Retired", "Rural Bank", "3344-5566", "", "", "2"],
            ["P017", "H01", "other", "Teresa", "", "", "F", "01/02/1990", "10/01/2026", "", "", "", "", "", "", "R1-D1", "", "", "", "", "", "", "", "", "", ""],  # missing_family_name
            ["P018", "H02", "other", "Emeka", "", "Okafor", "M", "07/07/1995", "10/01/2026", "12345", "", "", "", "", "", "R1-D2", "", "", "", "", "", "", "", "", "", ""],  # bad_id (National ID: 10 digits)
            ["P019", "H03", "other", "Bao", "", "Nguyen", "M", "02/02/1999", "11/01/2026", "", "", "", "", "", "", "R9-D9", "", "", "", "", "", "", "", "", "", ""],  # unknown_code (area)
            ["P020", "H03", "other", "Mai", "", "Nguyen", "F", "03/03/2001", "11/01/2026", "", "", "", "", "", "", "R2-D1", "Vulnerable, VIP", "", "", "", "", "", "", "", "", ""],  # unknown_code (tag)
            ["P021", "H04", "other", "Kofi", "", "Mensah", "M", "04/04/1990", "11/01/2026", "", "", "", "", "", "", "R2-D2", "", "", "", "", "", "Rural Bank", "0099-8877", "00998877", "", ""],  # duplicate_account
            ["P022", "H04", "other", "Ama", "", "Mensah", "F", "05/05/1996", "11/01/2026", "", "", "", "", "", "", "R2-D2", "", "", "maybe", "", "", "", "", "", "", ""],  # bad_boolean
            ["P023", "H01", "other", "Pedro", "", "Ramos", "M", "06/06/1960", "10/01/2026", "", "", "", "", "", "", "R1-D1", "", "two", "", "", "", "", "", "", "", ""],  # bad_integer
            ["P024", "H02", "other", "Ifeoma", "", "Okafor", "F", "08/08/1998", "10/01/2026", "", "", "", "", "", "", "R1-D2", "", "", "", "Univ", "", "", "", "", "", ""],  # unknown_code (selection)
            ["P025", "H03", "other", "Hoa", "", "Nguyen", "F", "09/09/1994", "11/01/2026", "", "B7654321", "31/02/2030", "", "", "", "R2-D1", "", "", "", "", "", "", "", "", "", ""],  # bad_date (passport expiry)
            ["P026", "H04", "other", "Yaw", "", "Mensah", "M", "10/10/1993", "11/01/2026", "", "", "", "0942 333 4466", "call me", "", "R2-D2", "", "", "", "", "", "", "", "", "", ""],  # bad_phone
            ["P027", "H01", "other", "Carmen", "", "Ramos", "F", "11/11/1991", "10/01/2026", "", "", "", "", "", "", "R1-D1", "", "", "", "", "Seasonal agricultural day labourer", "", "", "", "", ""],  # too_long (30 characters)
            ["P028", "H02", "other", "Obi", "", "Okafor", "M", "12/12/1997", "10/01/2026", "", "ab-12", "01/01/2030", "", "", "", "R1-D2", "", "", "", "", "", "", "", "", "", ""],  # bad_id (Passport)
        ],
        columns=ENROLLMENT_PEOPLE,
    )  # fmt: skip
    links = pd.DataFrame(
        [
            ["P001", "P002", "Spouse", "15/06/2005"],
            ["P001", "P003", "Parent", ""],
            ["P001", "P004", "Parent", ""],
            ["P005", "P006", "Parent", ""],
            ["P007", "P005", "Parent", ""],
            ["P008", "P009", "Spouse", "01/01/2000"],
            ["P011", "P013", "Sibling", ""],
            ["P003", "P004", "Sibling", ""],
            ["P016", "P016", "Spouse", ""],  # related_to_self
            ["P001", "P002", "Spouse", ""],  # duplicate_relationship
            ["P008", "P999", "Parent", ""],  # unknown_registrant
            ["P011", "P012", "Cousin", ""],  # unknown_code (relationship type)
            ["P014", "P015", "Spouse", ""],  # skipped: both people are held back with household H05
            ["P017", "P001", "Sibling", ""],  # skipped: P017 has no family name
        ],
        columns=ENROLLMENT_LINKS,
    )
    return {"Households": households, "Individuals": people, "Relationships": links}


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
    _xlsx(HERE / "enrollment.xlsx", enrollment_workbook())
    print(f"wrote samples to {HERE} ({len(people)} people in {HOUSEHOLDS} households)")


if __name__ == "__main__":
    main()
