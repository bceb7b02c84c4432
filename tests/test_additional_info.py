"""Additional information (additional_g2p_info): columns gathered into its JSON, or a JSON cell.

The server is the judge: the JSON each person holds is read back from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.outcome import ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox


def _run(sb: Sandbox, tmp_path: Path, people: dict, header: str, *rows: str):
    mapping = {"name": "info", "namespace": "spp_info", "entities": {"individual": {"key": "pid", **people}}}
    (tmp_path / "info.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    path = tmp_path / "people.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=tmp_path / "info.yaml", write_files=False)
    return run_import([path], options, settings_for(sb))


def _info(sb: Sandbox) -> dict[str, object]:
    with OdooClient(settings_for(sb)) as c:
        rows = c.search_read("res.partner", [["is_group", "=", False]], ["given_name", "additional_g2p_info"])
    return {r["given_name"]: r["additional_g2p_info"] for r in rows}


NAMES = {"given_name": "given", "family_name": "family"}


def test_columns_gathered_into_the_json_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    people = {"fields": NAMES, "additional_info": {"school": "school", "livestock": "cattle"}}
    header = "pid,given,family,school,cattle"
    rows = ["P1,Ana,Ramos,Primary,3", "P2,Ben,Ramos,,"]
    with Sandbox() as sb:
        assert _run(sb, tmp_path, people, header, *rows).exit_code == 0
        assert _info(sb) == {"Ana": {"livestock": "3", "school": "Primary"}, "Ben": False}
        again = _run(sb, tmp_path, people, header, *rows)
        assert set(again.report.rows["status"]) == {"unchanged"}


def test_a_json_cell_is_checked_and_kept_in_one_spelling(tmp_path: Path) -> None:
    people = {"fields": {**NAMES, "additional_g2p_info": "info"}}
    header = "pid,given,family,info"
    rows = ['P1,Ana,Ramos,"{""school"": ""Primary"", ""livestock"": 3}"', "P2,Ben,Ramos,{not json"]
    with Sandbox() as sb:
        result = _run(sb, tmp_path, people, header, *rows)
        bad = result.report.problems[result.report.problems["code"] == "bad_json"]
        assert bad[["row", "value"]].values.tolist() == [[3, "{not json"]]
        assert _info(sb) == {"Ana": {"school": "Primary", "livestock": 3}}
        spelled = ['P1,Ana,Ramos,"{""livestock"":3,""school"":""Primary""}"']  # same object, other spelling
        assert set(_run(sb, tmp_path, people, header, *spelled).report.rows["status"]) == {"unchanged"}


def test_a_server_without_the_field_refuses_the_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """g2p_registry_addl_info not installed: one plain refusal before any row is read."""
    from importer import client as client_module

    real = client_module.OdooClient.fields_get

    def without_info(self, model, *args, **kwargs):
        found = real(self, model, *args, **kwargs)
        found.pop("additional_g2p_info", None)
        return found

    monkeypatch.setattr(client_module.OdooClient, "fields_get", without_info)
    people = {"fields": NAMES, "additional_info": {"school": "school"}}
    with Sandbox() as sb, pytest.raises(ImportFailure, match="no field 'additional_g2p_info'"):
        _run(sb, tmp_path, people, "pid,given,family,school", "P1,Ana,Ramos,Primary")
