"""Benchmark 8: the wide workbook against the narrow roster, records per second.

(a) The narrow roster: 20,000 people in 5,000 households with the roster
mapping (household, person with a National ID, membership).

(b) The same 20,000 people as a wide enrollment: every person also has 30 of
the deployment's own columns (24 on the person, 6 on the household: integer,
float, boolean, selection, text and date fields, created on the server as its
custom-fields screen creates them), two phone numbers, two IDs (National ID,
and a passport with its expiry date), two tags and one relationship (to the
next person of the file, from the roster's own columns).

Both are imported with the defaults into a fresh sandbox process each time
(started with ``--preset enrollment`` for its tags and relationship types),
A and B in turn, medians. Records are counted alike: every record written
(households, people, IDs, phone numbers, memberships, relationships). The
issue's target: (b) within 10 % of (a)'s records per second.

With ``--profile``, one wide import is run under cProfile and the importer's
functions are printed by their own time (the file goes to bench/out/).
"""

from __future__ import annotations

import pstats
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bench.common import (
    OUT,
    ROSTER_MAPPING,
    Section,
    import_options,
    median,
    roster_csv,
    roster_frame,
    sent_records,
    timed_import,
)
from importer.client import OdooClient
from importer.pipeline import RunResult

TARGET = 0.90  # wide's records/s at least 90 % of narrow's
PRESET = "enrollment"
#: The kinds of the 30 fields, in turn: (ttype, its other ir.model.fields values)
_KINDS: tuple[tuple[str, dict[str, object]], ...] = (
    ("integer", {}),
    ("float", {}),
    ("boolean", {}),
    ("selection", {"selection": "[('a', 'Low'), ('b', 'Medium'), ('c', 'High')]"}),
    ("char", {"size": 40}),
    ("date", {}),
)
PERSON_FIELDS = 24
HOUSEHOLD_FIELDS = 6


def custom_fields() -> list[dict[str, object]]:
    """The 30 fields of the wide workbook, as the custom-fields screen creates them."""
    out: list[dict[str, object]] = []
    for prefix, count in (("x_cst_indv_w", PERSON_FIELDS), ("x_cst_grp_w", HOUSEHOLD_FIELDS)):
        for n in range(count):
            ttype, extra = _KINDS[n % len(_KINDS)]
            out.append(
                {
                    "name": f"{prefix}{n:02d}",
                    "field_description": f"{prefix} {n:02d}",
                    "ttype": ttype,
                    **extra,
                }
            )
    return out


def _cells(ttype: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if ttype == "integer":
        return rng.integers(0, 100, n).astype(str)
    if ttype == "float":
        return np.char.mod("%.2f", rng.random(n) * 1000)
    if ttype == "boolean":
        return np.where(rng.random(n) < 0.5, "yes", "no")
    if ttype == "selection":
        return np.array(["Low", "Medium", "High"], dtype=object)[rng.integers(0, 3, n)]
    if ttype == "char":
        return np.array(["farming", "trade", "fishing", "day labour", "none"], dtype=object)[
            rng.integers(0, 5, n)
        ]
    days = rng.integers(0, 3650, n)
    return (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).strftime("%d/%m/%Y").to_numpy()


def wide_frame(people: int, seed: int = 7) -> pd.DataFrame:
    """The narrow roster's people with the wide columns added (all text)."""
    frame = roster_frame(people, seed)
    rng = np.random.default_rng(seed + 1)
    n = len(frame)
    frame["national_id"] = pd.Series(rng.integers(0, 10**10, n, dtype=np.int64)).astype(str).str.zfill(10)
    frame["passport"] = "P" + pd.Series(np.arange(n) + 1).astype(str).str.zfill(7)
    frame["passport_expiry"] = _cells("date", rng, n)
    frame["phone2"] = "08" + pd.Series(rng.integers(10**8, 10**9, n)).astype(str)
    frame["phone"] = "09" + pd.Series(rng.integers(10**8, 10**9, n)).astype(str)
    tags = np.array(["Vulnerable", "Pilot 2026", "Remote", "Female-headed"], dtype=object)
    first = rng.integers(0, 4, n)
    frame["tags"] = tags[first] + ", " + tags[(first + rng.integers(1, 4, n)) % 4]  # two different tags
    frame["related_to"] = np.roll(frame["person_id"].to_numpy(), -1)  # the next person (the last: the first)
    frame["relation"] = "Sibling"
    by_household = frame.groupby("household_id", sort=False).ngroup().to_numpy()
    for spec in custom_fields():
        name = str(spec["name"])
        if name.startswith("x_cst_grp_"):
            per_household = _cells(str(spec["ttype"]), rng, int(by_household.max()) + 1)
            frame[name] = per_household[by_household]
        else:
            frame[name] = _cells(str(spec["ttype"]), rng, n)
    return frame.astype("str")


def wide_mapping(path: Path) -> Path:
    """The roster mapping, widened: the 30 fields, two phones, two IDs, tags and a relationship."""
    narrow = yaml.safe_load(ROSTER_MAPPING.read_text(encoding="utf-8"))
    people = narrow["entities"]["individual"]
    people["fields"].pop("phone", None)
    people["fields"]["tags_ids"] = "tags"
    people["ids"] = {
        "National ID": "national_id",
        "Passport": {"column": "passport", "expiry": "passport_expiry"},
    }
    people["phones"] = ["phone", "phone2"]
    households = narrow["entities"]["group"]
    for spec in custom_fields():
        name = str(spec["name"])
        (households if name.startswith("x_cst_grp_") else people)["fields"][name] = name
    narrow["entities"]["relationship"] = {
        "source": "person_id",
        "destination": "related_to",
        "fields": {"relation": "relation"},
    }
    narrow.update(name="wide", namespace="spp_wide")
    narrow.pop("match_by_id", None)  # as in the narrow run's first import: nothing to match
    path.write_text(yaml.safe_dump(narrow, sort_keys=False), encoding="utf-8")
    return path


def wide_inputs(people: int) -> tuple[Path, Path]:
    """The wide CSV and its mapping under bench/out, generated once per size."""
    OUT.mkdir(parents=True, exist_ok=True)
    csv = OUT / f"wide-{people}.csv"
    if not csv.exists():
        tmp = csv.with_suffix(".tmp")
        wide_frame(people).to_csv(tmp, index=False)
        tmp.replace(csv)
    return csv, wide_mapping(OUT / "wide.yaml")


def _configure(client: OdooClient) -> None:
    """The wide workbook's 30 fields on a fresh sandbox (the preset made its tags and relationship types)."""
    [model] = client.search("ir.model", [["model", "=", "res.partner"]])
    for spec in custom_fields():
        client.create("ir.model.fields", {**spec, "model_id": model, "state": "manual"})


def _import(
    csv: Path, mapping: Path, label: str, profile: Path | None = None
) -> tuple[float, RunResult, float]:
    options = import_options(mapping)
    preset = ("--preset", PRESET)
    run = timed_import(csv, options, label, server_options=preset, prepare=_configure, profile=profile)
    assert run.result.exit_code == 0, (
        f"{label}: exit {run.result.exit_code}: {run.result.report.problems.head()}"
    )
    return run.seconds, run.result, run.in_calls


def _print_profile(path: Path, top: int = 20) -> None:
    stats = pstats.Stats(str(path))
    rows = [
        (tot, cum, calls, f"{Path(file).name}:{func}")
        for (file, _line, func), (_cc, calls, tot, cum, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if "/importer/" in file or "pandas" in file
    ]
    rows.sort(reverse=True)
    print("    wide import, functions by own time (cProfile, inflated):")
    for tot, cum, calls, name in rows[:top]:
        print(f"      {tot:7.2f} s own {cum:7.2f} s cum {calls:>8} calls  {name}")


def run(people: int, reps: int, profile: bool = False) -> Section:
    section = Section(
        f"8. Wide workbook: {people:,} people with 30 custom columns, 2 phones, 2 IDs, tags and a "
        "relationship each vs the narrow roster, into a fresh sandbox"
    )
    narrow_csv = roster_csv(people)
    wide_csv, mapping = wide_inputs(people)
    rates: dict[str, list[float]] = {"narrow": [], "wide": []}
    seconds: dict[str, list[float]] = {"narrow": [], "wide": []}
    busy: dict[str, list[float]] = {"narrow": [], "wide": []}
    records: dict[str, int] = {}
    counts: dict[str, pd.DataFrame] = {}
    for rep in range(reps):
        for label, csv, mapping_path in (
            ("narrow", narrow_csv, ROSTER_MAPPING),
            ("wide", wide_csv, mapping),
        ):
            took, result, in_calls = _import(csv, mapping_path, f"{label}{rep}")
            records[label] = sent_records(result)
            counts[label] = result.report.counts()
            seconds[label].append(took)
            rates[label].append(records[label] / took)
            busy[label].append(in_calls / took)
    for label in ("narrow", "wide"):
        written = counts[label].drop(index="input rows", errors="ignore")
        per_entity = ", ".join(f"{e} {int(n):,}" for e, n in written.get("created", pd.Series()).items())
        section.note(
            f"{label}: {records[label]:,} records ({per_entity}) in {median(seconds[label]):.1f} s; "
            f"a call in flight {100 * median(busy[label]):.0f} % of the time"
        )
    section.note(f"{reps} repetition(s) each, narrow and wide in turn, a fresh sandbox process each; medians")
    a, b = median(rates["narrow"]), median(rates["wide"])
    section.add("(a) narrow roster", a, "rec/s")
    section.add("(b) wide workbook", b, "rec/s")
    section.add("(b) / (a)", b / a, "x", f">= {TARGET:g}x", b / a >= TARGET)
    section.add(
        "people per second, wide / narrow",
        (people / median(seconds["wide"])) / (people / median(seconds["narrow"])),
        "x",
        note=f"for information: a wide person carries {records['wide'] / records['narrow']:.2f}x the records "
        "of a narrow one",
    )
    if profile:
        path = OUT / f"profile-wide-{people}.prof"
        _import(wide_csv, mapping, "wide-profile", profile=path)
        section.note(f"profile of one wide import written to {path.relative_to(OUT.parents[1])}")
        _print_profile(path)
    return section
