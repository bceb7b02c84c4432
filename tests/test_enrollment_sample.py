"""The enrollment sample (sample_data/enrollment.xlsx, mappings/enrollment.yaml) end to end.

A workbook as a programme sends it, with the deployment's own fields, two ID
types, phones, tags, areas, bank accounts, additional information and
relationships, and planted errors. Imported over real HTTP into a sandbox
started with ``--preset enrollment``:

- the report equals the committed oracle (``sample_data/enrollment_expected.csv``:
  each input row's status and its problems, column and code);
- the server is the judge of what the report says was written: every record
  reported written is on the server under its external id, with the reported
  id, in its entity's model; nothing reported unwritten is there; each model
  holds exactly what was written; and every written person, household and
  relationship holds the values of its row of the workbook;
- a dry run says the same without writing, and a re-run sends nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.client import OdooClient
from importer.outcome import ENTITIES, Entity
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.sandbox import Sandbox, presets

WORKBOOK = SAMPLES / "enrollment.xlsx"
MAPPING = MAPPINGS / "enrollment.yaml"
ORACLE = SAMPLES / "enrollment_expected.csv"
NAMESPACE = "spp_enrollment"
WRITTEN = ("created", "updated", "unchanged")


def _run(sb: Sandbox, mode: str = "import") -> RunResult:
    options = ImportOptions(mapping=MAPPING, mode=mode, write_files=False)
    return run_import([WORKBOOK], options, settings_for(sb))


def report_table(result: RunResult) -> pd.DataFrame:
    """The report as the oracle states it: sheet, row, status, "column: code" problems (sorted)."""
    problems = result.report.problems
    problems = problems[problems["severity"] == "error"]
    said = (
        (problems["column"].fillna("").astype(str) + ": " + problems["code"].astype(str))
        .groupby([problems["sheet"].astype(str), problems["row"].astype(int)])
        .agg(lambda s: "; ".join(sorted(set(s))))
    )
    rows = result.report.rows
    table = pd.DataFrame(
        {
            "sheet": rows["sheet"].astype(str),
            "row": rows["row"].astype(int),
            "status": rows["status"].astype(str),
        }
    )
    table["problems"] = [said.get((s, r), "") for s, r in zip(table["sheet"], table["row"], strict=True)]
    return table.sort_values(["sheet", "row"]).reset_index(drop=True)


def _oracle() -> pd.DataFrame:
    frame = pd.read_csv(ORACLE, comment="#", dtype=str, keep_default_na=False)
    frame["row"] = frame["row"].astype(int)
    return frame.sort_values(["sheet", "row"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def imported() -> Iterator[tuple[Sandbox, RunResult]]:
    with Sandbox(preset="enrollment") as sb:
        yield sb, _run(sb)


def test_the_report_is_the_expected_one(imported: tuple[Sandbox, RunResult]) -> None:
    _, result = imported
    expected = _oracle()
    assert result.exit_code == 1  # some rows refused
    pd.testing.assert_frame_equal(report_table(result), expected)
    # every planted error is one of the oracle's problems, and every good row is written
    assert (expected["status"] == "created").sum() == 27
    assert set(expected.loc[expected["status"] == "failed", "problems"].str.len() > 0) == {True}


def test_the_server_holds_exactly_what_the_report_says_was_written(
    imported: tuple[Sandbox, RunResult],
) -> None:
    sb, result = imported
    records = result.report.records
    with OdooClient(settings_for(sb)) as c:
        xids = c.search_read("ir.model.data", [["module", "=", NAMESPACE]], ["name", "model", "res_id"])
        on_server = {f"{NAMESPACE}.{x['name']}": (x["model"], x["res_id"]) for x in xids}
        written = records[records["status"].isin(WRITTEN)]
        for entity, xid, sid in zip(
            written["entity"], written["external_id"], written["server_id"], strict=True
        ):
            assert on_server.get(xid) == (ENTITIES[Entity(entity)].model, int(sid)), xid
        refused = records[~records["status"].isin(WRITTEN)]
        leaked = set(refused["external_id"].dropna().astype(str)) & set(on_server)
        assert not leaked, f"reported not written, yet on the server: {sorted(leaked)[:5]}"
        assert len(on_server) == len(written), "the server holds records of ours the report does not name"
        # each model holds what was written and nothing else (the preset writes none of these)
        counts = written.groupby("entity").size().to_dict()
        group = [["is_registrant", "=", True], ["is_group", "=", True]]
        person = [["is_registrant", "=", True], ["is_group", "=", False]]
        assert c.search_count("res.partner", group) == counts["group"] == 5
        assert c.search_count("res.partner", person) == counts["individual"] == 14
        for entity in (Entity.REG_ID, Entity.PHONE, Entity.BANK, Entity.MEMBERSHIP, Entity.RELATIONSHIP):
            assert c.search_count(ENTITIES[entity].model, []) == counts[entity.value], entity


def _server_by_key(records: pd.DataFrame, entity: str) -> dict[int, str]:
    done = records[(records["entity"] == entity) & records["status"].isin(WRITTEN)]
    return {int(sid): str(key) for key, sid in zip(done["key"], done["server_id"], strict=True)}


def _sheet(name: str) -> pd.DataFrame:
    return pd.read_excel(WORKBOOK, sheet_name=name, dtype=str, keep_default_na=False, engine="openpyxl")


def _day_first(text: str) -> str | bool:
    return pd.to_datetime(text, format="%d/%m/%Y").strftime("%Y-%m-%d") if text else False


def _tags(cell: str) -> set[str]:
    return {t.strip() for t in cell.split(",") if t.strip()}


def test_every_written_person_holds_the_values_of_their_row(imported: tuple[Sandbox, RunResult]) -> None:
    sb, result = imported
    people = _server_by_key(result.report.records, "individual")
    sheet = _sheet("Individuals").set_index("Person ID")
    education = {
        "": False,
        "none": "none",
        "primary": "primary",
        "secondary": "secondary",
        "tertiary": "tertiary",
    }
    fields = [
        "given_name", "family_name", "birthdate", "area_id", "tags_ids", "additional_g2p_info",
        "x_cst_indv_disability_level", "x_cst_indv_pregnant", "x_cst_indv_education",
        "x_cst_indv_occupation_detail",
    ]  # fmt: skip
    with OdooClient(settings_for(sb)) as c:
        tags = {t["id"]: t["name"] for t in c.search_read("g2p.registrant.tags", [], ["name"])}
        areas = {a["id"]: a["code"] for a in c.search_read("spp.area", [], ["code"])}
        phones = c.search_read("g2p.phone.number", [], ["partner_id", "phone_no", "date_collected"])
        # a number with no collection date in the file gets the server's own (today), not none
        today = c.execute_kw("g2p.phone.number", "default_get", [["date_collected"]])["date_collected"]
        ids = c.search_read("g2p.reg.id", [], ["partner_id", "id_type", "value", "expiry_date"])
        banks = c.search_read("res.partner.bank", [], ["partner_id", "acc_number", "bank_id"])
        bank_names = {b["id"]: b["name"] for b in c.search_read("res.bank", [], ["name"])}
        for person in c.read("res.partner", list(people), fields):
            row = sheet.loc[people[person["id"]]]
            assert person["given_name"] == row["Given name"] and person["family_name"] == row["Family name"]
            assert person["birthdate"] == _day_first(row["Date of birth"])
            assert areas[person["area_id"][0]] == row["Area code"]
            assert {tags[t] for t in person["tags_ids"]} == _tags(row["Tags"])
            info = {k: v for k, v in (("school", row["School name"]), ("livestock", row["Livestock"])) if v}
            assert (person["additional_g2p_info"] or {}) == info
            assert person["x_cst_indv_disability_level"] == int(row["Disability level"] or 0)
            assert person["x_cst_indv_pregnant"] is (row["Pregnant"] == "yes")
            assert person["x_cst_indv_education"] == education[row["Education"].casefold()]
            assert person["x_cst_indv_occupation_detail"] == (row["Occupation"] or False)
            mine = [p for p in phones if p["partner_id"][0] == person["id"]]
            assert {(p["phone_no"], p["date_collected"]) for p in mine} == {
                (n, d)
                for n, d in ((row["Mobile"], _day_first(row["Registered on"])), (row["Other phone"], today))
                if n
            }
            held = {
                i["id_type"][1]: (i["value"], i["expiry_date"])
                for i in ids
                if i["partner_id"][0] == person["id"]
            }
            want = {
                "National ID": (row["National ID"], False),
                "Passport": (row["Passport no"], _day_first(row["Passport expiry"])),
            }
            assert held == {k: v for k, v in want.items() if v[0]}
            accounts = {
                (b["acc_number"], bank_names[b["bank_id"][0]] if b["bank_id"] else "")
                for b in banks
                if b["partner_id"][0] == person["id"]
            }
            by_bic = {"RURLPHMM": "Rural Bank", "MBTCPHMM": "Metro Bank"}
            want_accounts = {
                (row["Account no"], by_bic.get(row["Bank"], row["Bank"])),
                (row["Savings account"], ""),
            }
            assert accounts == {a for a in want_accounts if a[0]}


def test_every_written_household_and_relationship_holds_its_row(imported: tuple[Sandbox, RunResult]) -> None:
    sb, result = imported
    records = result.report.records
    households = _server_by_key(records, "group")
    sheet = _sheet("Households").set_index("Household ID")
    water = {"Tap water": "tap", "Well": "well", "river": "river", "Rainwater": "rain"}
    fields = [
        "name", "kind", "area_id", "tags_ids", "x_cst_grp_water_source", "x_cst_grp_has_latrine",
        "x_cst_grp_rooms", "x_cst_grp_dwelling_notes",
    ]  # fmt: skip
    with OdooClient(settings_for(sb)) as c:
        tags = {t["id"]: t["name"] for t in c.search_read("g2p.registrant.tags", [], ["name"])}
        areas = {
            a["id"]: (a["code"], a["draft_name"])
            for a in c.search_read("spp.area", [], ["code", "draft_name"])
        }
        for group in c.read("res.partner", list(households), fields):
            row = sheet.loc[households[group["id"]]]
            assert group["name"] == row["Household name"]
            assert group["kind"][1] == (row["Type"] or "Household")
            assert row["Area code"] in (
                areas[group["area_id"][0]][0],
                areas[group["area_id"][0]][1],
                group["area_id"][1],
            )
            assert {tags[t] for t in group["tags_ids"]} == _tags(row["Household tags"])
            assert group["x_cst_grp_water_source"] == water[row["Water source"]]
            assert group["x_cst_grp_has_latrine"] is (row["Latrine"] == "yes")
            assert group["x_cst_grp_rooms"] == int(row["Rooms"])
            assert group["x_cst_grp_dwelling_notes"] == (row["Dwelling notes"] or False)
        # memberships: who is in which household, and who heads it, as the Individuals sheet says
        people = _server_by_key(records, "individual")
        members = c.search_read("g2p.group.membership", [], ["group", "individual", "kind"])
        head = c.search("g2p.group.membership.kind", [["name", "=", "Head"]])[0]
        got = {(households[m["group"][0]], people[m["individual"][0]], head in m["kind"]) for m in members}
        individuals = _sheet("Individuals").set_index("Person ID")
        assert got == {
            (individuals.loc[p, "Household ID"], p, individuals.loc[p, "Role"] == "head")
            for p in people.values()
        }
        # relationships: the written rows of the Relationships sheet, both ends and the type
        links = _sheet("Relationships")
        done = records[(records["entity"] == "relationship") & records["status"].isin(WRITTEN)]
        rels = c.read(
            "g2p.reg.rel",
            [int(i) for i in done["server_id"]],
            ["source", "destination", "relation", "start_date"],
        )
        got_links = {
            (
                people[r["source"][0]],
                people[r["destination"][0]],
                r["relation"][1],
                (r["start_date"] or "")[:10],
            )
            for r in rels
        }
        rows = links.loc[[int(r) - 2 for r in done["row"]]]
        assert got_links == {
            (s, d, t, _day_first(since) or "")
            for s, d, t, since in rows[
                ["Person ID", "Related person ID", "Relationship", "Since"]
            ].itertuples(index=False)
        }
        assert len(got_links) == 8


def test_a_dry_run_says_the_same_and_writes_nothing() -> None:
    with Sandbox(preset="enrollment") as sb:
        result = _run(sb, mode="dry-run")
        with OdooClient(settings_for(sb)) as c:
            assert c.search_count("ir.model.data", [["module", "=", NAMESPACE]]) == 0
            assert c.search_count("res.partner", [["is_registrant", "=", True]]) == 0
    expected = _oracle()
    expected["status"] = expected["status"].map(
        {"created": "valid", "failed": "invalid", "skipped": "skipped"}
    )
    pd.testing.assert_frame_equal(report_table(result), expected)


def test_a_rerun_sends_nothing_and_says_unchanged(imported: tuple[Sandbox, RunResult]) -> None:
    sb, _ = imported
    sb.clear_call_log()
    again = _run(sb)
    assert not [call for call in sb.call_log if call[3] == "load"]  # not one load call
    expected = _oracle()
    expected["status"] = expected["status"].replace({"created": "unchanged"})
    pd.testing.assert_frame_equal(report_table(again), expected)


def test_the_preset_is_made_through_the_admins_requests_once_per_database(tmp_path) -> None:
    """`--preset enrollment` on a kept database: applied at the first start only, and its fields are
    the deployment's own (manual) fields, as the custom-fields screen makes them."""
    db = str(tmp_path / "registry.sqlite3")
    for _start in range(2):
        with Sandbox(db_path=db, preset="enrollment") as sb, OdooClient(settings_for(sb)) as c:
            manual = c.search_read(
                "ir.model.fields", [["model", "=", "res.partner"], ["state", "=", "manual"]], ["name"]
            )
            assert sorted(f["name"] for f in manual) == sorted(f["name"] for f in presets.ENROLLMENT_FIELDS)
            assert c.search_count("g2p.registrant.tags", []) == len(presets.ENROLLMENT_TAGS)
            assert c.search_count("spp.area", []) == len(presets.ENROLLMENT_AREAS)
            assert c.search_count("res.bank", []) == len(presets.ENROLLMENT_BANKS)
            assert c.search_count("g2p.relationship", []) == len(presets.ENROLLMENT_RELATIONSHIPS)
    with Sandbox() as plain, OdooClient(settings_for(plain)) as c:  # without it: none of them
        assert c.search_count("ir.model.fields", [["state", "=", "manual"]]) == 0
        assert c.search_count("g2p.registrant.tags", []) == 0


def test_a_corrected_household_is_added_with_its_members_and_their_relationship(tmp_path) -> None:
    sys.path.insert(0, str(SAMPLES))
    from make_samples import _xlsx, enrollment_workbook

    sheets = enrollment_workbook()
    households = sheets["Households"]
    households.loc[households["Household ID"] == "H05", "Rooms"] = "3"  # was "three"
    fixed = tmp_path / "enrollment.xlsx"
    _xlsx(fixed, sheets)
    options = ImportOptions(mapping=MAPPING, write_files=False)
    with Sandbox(preset="enrollment") as sb:
        _run(sb)
        result = run_import([fixed], options, settings_for(sb))
        table = report_table(result)
        created = table[table["status"] == "created"][["sheet", "row"]].values.tolist()
        assert created == [["Households", 6], ["Individuals", 15], ["Individuals", 16], ["Relationships", 14]]
        expected = _oracle().set_index(["sheet", "row"])
        rest = table[table["status"] != "created"].set_index(["sheet", "row"])
        assert (rest["status"] == expected.loc[rest.index, "status"].replace({"created": "unchanged"})).all()
        with OdooClient(settings_for(sb)) as c:
            [diallo] = c.search_read("res.partner", [["name", "=", "Diallo household"]], ["x_cst_grp_rooms"])
            assert diallo["x_cst_grp_rooms"] == 3
            members = c.search_read("g2p.group.membership", [["group", "=", diallo["id"]]], ["individual"])
            assert sorted(m["individual"][1] for m in members) == ["DIALLO, HAWA", "DIALLO, MUSA"]
            spouses = c.search_read(
                "g2p.reg.rel", [["relation.name", "=", "Spouse"]], ["source", "destination"]
            )
            assert ("DIALLO, MUSA", "DIALLO, HAWA") in {
                (r["source"][1], r["destination"][1]) for r in spouses
            }
