"""Realistic synthetic enrollment data: the demo's sample files, the tests' and the benchmarks' inputs.

Deterministic for a given seed, vectorised with numpy so a million-person
roster takes seconds, and shaped like real registry lists: households of
one to eight people with exactly one Head, a mix of names and ages, IDs and
phone numbers with leading zeros that must survive the trip.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

GIVEN_F = [
    "Maria", "Ana", "Grace", "Amina", "Fatima", "Nimal", "Wanjiru", "Aisha", "Rosa", "Joy",
    "Mary", "Ruth", "Esther", "Nadia", "Salma", "Chandra", "Akosua", "Leila", "Lucia", "Mercy",
    "Hawa", "Zainab", "Imelda", "Rahima", "Dilnoza", "Thuy", "Sofía", "Josefina", "Priya", "Nala",
]  # fmt: skip
GIVEN_M = [
    "Jose", "Juan", "Peter", "Omar", "Ibrahim", "Kamal", "Otieno", "Musa", "Carlos", "Mark",
    "John", "David", "Samuel", "Hassan", "Rahim", "Sunil", "Kwame", "Ali", "Miguel", "Joseph",
    "Abdul", "Yusuf", "Ramon", "Karim", "Bekzod", "Minh", "José", "Andrés", "Arjun", "Tendai",
]  # fmt: skip
FAMILY = [
    "Santos", "Reyes", "Cruz", "Bautista", "Ochieng", "Mwangi", "Kamau", "Hassan", "Rahman",
    "Perera", "Fernando", "Silva", "Mensah", "Osei", "Diallo", "Traoré", "Nguyen", "Tran",
    "Garcia", "Lopez", "Hossain", "Akter", "Karimov", "Banda", "Phiri", "Dela Cruz", "Mendoza",
    "Wanjala", "Haddad", "Abubakar", "Okafor", "Yilmaz", "Ramos", "Aquino", "Gonzales",
]  # fmt: skip
RELATIONS = ["child", "child", "child", "parent", "other relative"]

ROSTER_COLUMNS = [
    "household_id", "household_name", "household_kind", "person_id", "given_name", "family_name",
    "sex", "date_of_birth", "relationship", "national_id", "phone",
]  # fmt: skip


def roster(
    households: int, *, seed: int = 7, today: date | None = None, people: int | None = None
) -> pd.DataFrame:
    """A flat roster (one row per person, household columns repeated), all text.

    ``people`` fixes the total (sizes are then drawn to add up, about four a
    household); otherwise sizes are 1-8, mostly 3-5.
    """
    rng = np.random.default_rng(seed)
    today = today or date(2026, 1, 1)
    if people is None:
        sizes = rng.choice(
            [1, 2, 3, 4, 5, 6, 7, 8], size=households, p=[5, 10, 20, 25, 20, 10, 6, 4] / np.array(100)
        )
    else:
        sizes = np.full(households, people // households)
        sizes[: people - sizes.sum()] += 1
    n = int(sizes.sum())
    hh = np.repeat(np.arange(households), sizes)
    first = np.zeros(n, dtype=bool)
    first[np.concatenate([[0], np.cumsum(sizes)[:-1]])] = True
    position = np.arange(n) - np.repeat(np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)

    family = np.array(FAMILY, dtype=object)[rng.integers(0, len(FAMILY), households)][hh]
    female = rng.random(n) < 0.5
    given = np.where(
        female,
        np.array(GIVEN_F, dtype=object)[rng.integers(0, len(GIVEN_F), n)],
        np.array(GIVEN_M, dtype=object)[rng.integers(0, len(GIVEN_M), n)],
    )
    relation = np.where(first, "head", np.array(RELATIONS, dtype=object)[rng.integers(0, len(RELATIONS), n)])
    relation = np.where((position == 1) & (sizes[hh] > 1), "spouse", relation)
    adult_age = rng.integers(18 * 365, 80 * 365, n)
    child_age = rng.integers(0, 18 * 365, n)
    parent_age = rng.integers(60 * 365, 95 * 365, n)
    age_days = np.where(relation == "child", child_age, np.where(relation == "parent", parent_age, adult_age))
    born = pd.to_datetime(today) - pd.to_timedelta(age_days, unit="D")
    dob = born.strftime("%d/%m/%Y")
    sex = np.where(female, "F", "M")
    variants = rng.random(n)
    sex = np.where(variants < 0.05, np.where(female, "female", "male"), sex)
    kinds = np.where(rng.random(households) < 0.85, "Household", "Family")[hh]
    nid_digits = rng.integers(0, 10**10, n, dtype=np.int64)
    nid = pd.Series(nid_digits).astype(str).str.zfill(10).to_numpy()
    has_nid = (age_days >= 18 * 365) | (rng.random(n) < 0.2)
    phone_digits = pd.Series(rng.integers(0, 10**7, n)).astype(str).str.zfill(7)
    phone = ("09" + pd.Series(rng.integers(10, 99, n)).astype(str) + " " + phone_digits).to_numpy()
    has_phone = (relation == "head") | (rng.random(n) < 0.3)
    frame = pd.DataFrame(
        {
            "household_id": pd.Series(hh + 1).map(lambda i: f"HH-{i:06d}").to_numpy(),
            "household_name": family + " household",
            "household_kind": kinds,
            "person_id": pd.Series(np.arange(n) + 1).map(lambda i: f"P{i:07d}").to_numpy(),
            "given_name": given,
            "family_name": family,
            "sex": sex,
            "date_of_birth": dob,
            "relationship": relation,
            "national_id": np.where(has_nid, nid, ""),
            "phone": np.where(has_phone, phone, ""),
        }
    )
    return frame.astype("str")


def workbook_tables(roster_frame: pd.DataFrame, *, today: date | None = None) -> dict[str, pd.DataFrame]:
    """The same people as the workbook layout: Individuals, Groups, Memberships (ISO dates)."""
    today = today or date(2026, 1, 1)
    r = roster_frame
    dob = pd.to_datetime(r["date_of_birth"], format="%d/%m/%Y").dt.strftime("%Y-%m-%d")
    registered = (today - timedelta(days=30)).isoformat()
    individuals = pd.DataFrame(
        {
            "Person ID": r["person_id"],
            "First name": r["given_name"],
            "Middle name": "",
            "Last name": r["family_name"],
            "Gender": r["sex"].str[0].str.upper(),
            "Date of birth": dob,
            "Place of birth": "",
            "Registered on": registered,
            "Phone": r["phone"],
            "Email": "",
            "Monthly income": "",
            "Occupation": "",
            "National ID": r["national_id"],
        }
    )
    groups = (
        r.drop_duplicates("household_id")
        .rename(
            columns={"household_id": "Group ID", "household_name": "Group name", "household_kind": "Kind"}
        )[["Group ID", "Group name", "Kind"]]
        .assign(**{"Registered on": registered, "Phone": "", "Address": ""})
    )
    memberships = pd.DataFrame(
        {
            "Group ID": r["household_id"],
            "Person ID": r["person_id"],
            "Role": np.where(r["relationship"] == "head", "head", "member"),
            "Member since": registered,
            "Left on": "",
        }
    )
    return {"Individuals": individuals, "Groups": groups.reset_index(drop=True), "Memberships": memberships}
