"""Updates never erase by accident: an empty cell keeps the server's value unless clearing was asked.

Odoo's ``load`` empties a field sent as an empty cell, so a re-import of a
file with a blank cell would blank the registry.  The server is the judge:
every test reads the records back from the sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for

from importer.canonical import map_tables
from importer.catalog import offline_catalog
from importer.client import OdooClient
from importer.load import LoadOptions
from importer.mapping import bind, load_mapping
from importer.outcome import Entity, ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.plan import build_stages
from importer.read import read_source
from importer.report import headline
from importer.resolve import resolve_codes
from importer.sandbox import Sandbox

ROSTER = SAMPLES / "roster.csv"


def _roster() -> pd.DataFrame:
    return pd.read_csv(ROSTER, dtype=str, keep_default_na=False)


def _with_phones(frame: pd.DataFrame) -> list[int]:
    """Positions of rows whose person has a phone in the sample."""
    return frame.index[frame["phone"] != ""].tolist()


def _run(sb: Sandbox, path: Path, mode: str = "import", mapping: Path | str = "roster.yaml", **kw):
    mapping = mapping if isinstance(mapping, Path) else MAPPINGS / mapping
    options = ImportOptions(mapping=mapping, mode=mode, write_files=False, **kw)
    return run_import([path], options, settings_for(sb))


def _person(sb: Sandbox, person_id: str, fields: list[str]) -> dict:
    """A person as the server holds them, found by the external id the roster gives them."""
    with OdooClient(settings_for(sb)) as c:
        ref = c.search_read("ir.model.data", [["name", "=", f"ind_{person_id}"]], ["res_id"])
        return c.read("res.partner", [ref[0]["res_id"]], fields)[0]


def _loads(sb: Sandbox) -> int:
    return len([c for c in sb.call_log if c[3] == "load"])


def test_an_emptied_cell_keeps_the_server_value_and_the_row_is_unchanged(tmp_path: Path) -> None:
    frame = _roster()
    row = _with_phones(frame)[0]
    person, phone = frame.loc[row, "person_id"], frame.loc[row, "phone"]
    with Sandbox() as sb:
        _run(sb, ROSTER)
        frame.loc[row, "phone"] = ""
        frame.to_csv(edited := tmp_path / "roster.csv", index=False)
        before = _loads(sb)
        result = _run(sb, edited)
        assert result.exit_code == 0
        assert set(result.report.rows["status"]) == {"unchanged"}  # nothing to update: a re-run is quiet
        assert _loads(sb) == before  # not one load call
        assert _person(sb, person, ["phone"])["phone"] == phone


def test_an_update_with_an_empty_cell_sends_the_rest_and_keeps_that_value(tmp_path: Path) -> None:
    """Two updates in one batch with different empty cells: each keeps what its file left empty."""
    frame = _roster()
    first, second = _with_phones(frame)[:2]
    a, b = frame.loc[first, "person_id"], frame.loc[second, "person_id"]
    phone_a = frame.loc[first, "phone"]
    with Sandbox() as sb:
        _run(sb, ROSTER)
        frame.loc[first, "phone"] = ""  # emptied ...
        frame.loc[first, "given_name"] = "Renamed"  # ... on a row that changes otherwise
        frame.loc[second, "phone"] = "0711 000000"  # a phone that does change
        frame.to_csv(edited := tmp_path / "roster.csv", index=False)
        result = _run(sb, edited, load=LoadOptions(batch_size=500, workers=1))  # one batch holds both
        assert result.exit_code == 0
        assert result.report.rows["status"].value_counts().to_dict() == {"unchanged": 236, "updated": 2}
        assert _person(sb, a, ["phone", "given_name"])["phone"] == phone_a  # kept
        assert _person(sb, a, ["given_name"])["given_name"] == "Renamed"
        assert _person(sb, b, ["phone"])["phone"] == "0711 000000"


def test_an_emptied_given_name_is_refused_and_the_registry_keeps_the_name(tmp_path: Path) -> None:
    """A person needs a given name (the registry's form), so an emptied one is an error, not a keep."""
    frame = _roster()
    person = frame.loc[0, "person_id"]
    with Sandbox() as sb:
        _run(sb, ROSTER)
        held = _person(sb, person, ["name", "given_name"])
        frame.loc[0, "given_name"] = ""
        frame.loc[0, "family_name"] = "Silva"  # the row's other change is held back with it
        frame.to_csv(edited := tmp_path / "roster.csv", index=False)
        result = _run(sb, edited)
        rows = result.report.rows
        assert rows.loc[rows["row"] == 2, "status"].tolist() == ["failed"]
        assert set(rows.loc[rows["row"] != 2, "status"]) == {"unchanged"}
        assert "missing_given_name" in set(result.report.problems["code"])
        now = _person(sb, person, ["name", "given_name", "family_name"])
        assert now["given_name"] == held["given_name"] and now["name"] == held["name"]
        assert now["family_name"] != "Silva"


def test_empty_cells_clear_empties_the_server_value_and_the_report_names_it(tmp_path: Path) -> None:
    frame = _roster()
    row = _with_phones(frame)[0]
    person, phone = frame.loc[row, "person_id"], frame.loc[row, "phone"]
    with Sandbox() as sb:
        _run(sb, ROSTER)
        frame.loc[row, "phone"] = ""
        frame.to_csv(edited := tmp_path / "roster.csv", index=False)
        dry = _run(sb, edited, mode="dry-run", empty_cells="clear")
        said = dry.report.rows.loc[dry.report.rows["row"] == row + 2, "changes"].iloc[0]
        assert said == f"phone: '{phone}' → (cleared)"
        fates = dry.report.fates
        assert (fates["to_update"], fates["cleared"], fates["values_change"]) == (1, 1, 0)
        assert _person(sb, person, ["phone"])["phone"] == phone  # a dry run writes nothing
        done = _run(sb, edited, empty_cells="clear")
        assert done.exit_code == 0
        assert done.report.rows["status"].value_counts().to_dict() == {"unchanged": 237, "updated": 1}
        assert _person(sb, person, ["phone"])["phone"] is False
        assert headline(done.report) == "0 added, 1 updated (1 cleared), 237 already there"


def test_a_mapping_field_can_clear_while_the_others_keep(tmp_path: Path) -> None:
    mapping = tmp_path / "roster.yaml"
    text = (MAPPINGS / "roster.yaml").read_text(encoding="utf-8")
    mapping.write_text(text.replace("      phone: phone\n", "      phone: {column: phone, empty: clear}\n"))
    frame = _roster()
    row = _with_phones(frame)[0]
    person = frame.loc[row, "person_id"]
    with Sandbox() as sb:
        _run(sb, ROSTER, mapping=mapping)
        born = _person(sb, person, ["birthdate"])["birthdate"]
        frame.loc[row, ["phone", "date_of_birth"]] = ""
        frame.to_csv(edited := tmp_path / "roster.csv", index=False)
        result = _run(sb, edited, mapping=mapping)
        assert result.exit_code == 0
        assert list(result.report.changes["field"]) == ["phone"]  # the date of birth is kept, not news
        now = _person(sb, person, ["phone", "birthdate"])
        assert (now["phone"], now["birthdate"]) == (False, born)


def test_a_mapping_with_an_unknown_empty_option_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "roster.yaml"
    text = (MAPPINGS / "roster.yaml").read_text(encoding="utf-8")
    mapping.write_text(text.replace("      phone: phone\n", "      phone: {column: phone, empty: wipe}\n"))
    with pytest.raises(ImportFailure, match=r"individual\.phone: empty must be one of \('keep', 'clear'\)"):
        load_mapping(mapping)


def test_updates_are_batched_by_their_empty_cells_and_new_records_by_none() -> None:
    """Offline: the load stage's batches share one field list, and only updates leave fields out."""
    m = load_mapping(MAPPINGS / "roster.yaml")
    sources = read_source(ROSTER)
    sources[0].frame.iloc[0, sources[0].frame.columns.get_loc("phone")] = ""
    tables = map_tables(bind(m, sources), m)
    catalog = offline_catalog(m)
    resolve_codes(tables, catalog, m)
    stage = build_stages(tables, catalog, "ns", lambda e: tables[e].frame.index)[Entity.INDIVIDUAL]
    rows = stage.rows
    first = rows.index[0]
    no_phone = rows.index[tables[Entity.INDIVIDUAL].frame.loc[rows.index, "phone"] == ""]
    assert first in no_phone and len(no_phone) > 1
    # all new: one field list, phone included (an empty cell on a new record just has no value)
    assert [len(b) for b in stage.batches(rows, 1000)] == [len(rows)]
    assert "phone" in stage.load_fields(rows)
    rows["action"] = "update"
    batches = stage.batches(rows, 1000)
    assert sorted(len(b) for b in batches) == sorted([len(no_phone), len(rows) - len(no_phone)])
    for batch in batches:
        fields = stage.load_fields(batch)
        assert ("phone" in fields) == (batch.index[0] not in no_phone)
    with pytest.raises(ValueError, match="batches"):
        stage.load_fields(rows)  # mixed empty cells cannot share one call
