"""Benchmark 1: spp-import against "the guide's way" (one ``create`` per record).

(a) The OpenSPP "External API using JSON-RPC" guide writes one record per
call: each household with ``create``, each person with ``create`` carrying
its ID in ``reg_ids`` ([0, 0, {...}]), each membership with ``create`` and
``kind`` [[4, head_id]] for the Head.  It is measured on a subset (its rate
does not depend on the file's size: every call is alike) and reported as a
rate.  It is given a keep-alive session, which is kinder than the guide's
bare ``requests.post``.

(b) ``run_import`` with its defaults (mode "import"), the whole file, into a
fresh sandbox each time.

Both count records the same way: households + people + IDs + memberships
written.  Each repetition gets a fresh sandbox process; A and B take turns.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.common import (
    Section,
    import_options,
    median,
    roster_csv,
    roster_frame,
    sandbox_process,
    sent_records,
    timed,
    timed_import,
)
from importer.client import OdooClient

TARGET_RATIO = 20.0
GENDER = {"M": "Male", "F": "Female", "male": "Male", "female": "Female"}


def guide_way(client: OdooClient, frame: pd.DataFrame) -> int:
    """Write a roster as the guide does, one call per record; returns records written."""
    head = client.search("g2p.group.membership.kind", [["name", "=", "Head"]])[0]
    kinds = {r["name"]: r["id"] for r in client.search_read("g2p.group.kind", [], ["name"])}
    [nid_type] = client.search("g2p.id.type", [["name", "=", "National ID"]])
    gender_field = client.fields_get("res.partner", ["gender"])["gender"]
    by_id = gender_field.get("type") == "many2one"
    genders = {}
    if by_id:
        genders = {r["value"]: r["id"] for r in client.search_read("gender.type", [], ["value"])}
    records = 0
    groups: dict[str, int] = {}
    for row in frame.itertuples(index=False):
        gid = groups.get(row.household_id)
        if gid is None:
            gid = groups[row.household_id] = client.create(
                "res.partner",
                {
                    "name": row.household_name,
                    "is_registrant": True,
                    "is_group": True,
                    "kind": kinds.get(row.household_kind, False),
                },
            )
            records += 1
        gender = GENDER.get(row.sex, row.sex)
        day, month, year = row.date_of_birth.split("/")
        values: dict[str, Any] = {
            "name": f"{row.family_name.upper()}, {row.given_name.upper()}",
            "given_name": row.given_name,
            "family_name": row.family_name,
            "gender": genders.get(gender, False) if by_id else gender,
            "birthdate": f"{year}-{month}-{day}",
            "phone": row.phone or False,
            "is_registrant": True,
            "is_group": False,
        }
        if row.national_id:
            values["reg_ids"] = [[0, 0, {"id_type": nid_type, "value": row.national_id}]]
            records += 1
        iid = client.create("res.partner", values)
        records += 1
        membership: dict[str, Any] = {"group": gid, "individual": iid}
        if row.relationship == "head":
            membership["kind"] = [[4, head]]
        client.create("g2p.group.membership", membership)
        records += 1
    return records


def run_spp_import(people: int, label: str) -> tuple[float, int, float]:
    """One default import of a ``people``-person roster into a fresh sandbox: (seconds, records, in calls)."""
    run = timed_import(roster_csv(people), import_options(), label)
    assert run.result.exit_code == 0, f"import failed: exit {run.result.exit_code}"
    return run.seconds, sent_records(run.result), run.in_calls


def run_guide(people: int, label: str) -> tuple[float, int]:
    frame = roster_frame(people)
    with sandbox_process(label) as server:
        client = OdooClient(server.settings())
        client.authenticate()
        seconds, records = timed(lambda: guide_way(client, frame))
        client.close()
        return seconds, records


def run(people: int, guide_people: int, reps: int) -> Section:
    section = Section(
        f"1. Throughput: {people:,} people (~{people // 4:,} households) into a fresh sandbox, "
        "guide's way vs spp-import"
    )
    guide_rates: list[float] = []
    our_rates: list[float] = []
    our_times: list[float] = []
    our_records = 0
    for rep in range(reps):
        seconds, records = run_guide(guide_people, f"guide{rep}")
        guide_rates.append(records / seconds)
        seconds, our_records, _ = run_spp_import(people, f"import{rep}")
        our_times.append(seconds)
        our_rates.append(our_records / seconds)
    section.note(
        f"(a) measured on the first {guide_people:,} people of the file (extrapolated as a rate: "
        "every call is alike); (b) on the whole file; "
        f"{reps} repetition(s) each, A and B in turn, medians"
    )
    a, b = median(guide_rates), median(our_rates)
    section.add("(a) guide's way, one create per record", a, "rec/s")
    section.add(f"(b) spp-import defaults ({our_records:,} records in {median(our_times):.1f} s)", b, "rec/s")
    section.add("speed-up (b) / (a)", b / a, "x", f">= {TARGET_RATIO:g}x", b / a >= TARGET_RATIO)
    return section
