"""Fields the server requires: a mapping must fill them; a new registrant's empty cell is a row error.

The field is made on the sandbox as the custom-fields screen makes a required
one (manual ``ir.model.fields`` with ``required``); the server is the judge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.errors import OdooError
from importer.outcome import ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox

HEADER = "hh,hh_name,consent,pid,given,family,status"
ROWS = [
    "H1,Ramos household,yes,P1,Ana,Ramos,Resident",
    "H1,Ramos household,yes,P2,Ben,Ramos,Visitor",
]


def _setup(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        model = c.search("ir.model", [["model", "=", "res.partner"]])[0]
        c.create(
            "ir.model.fields",
            {"model_id": model, "name": "x_cst_residency", "field_description": "Residency Status",
             "ttype": "char", "state": "manual", "required": True},
        )  # fmt: skip


def _mapping(tmp_path: Path, people: dict[str, object], groups: dict[str, object] | None = None) -> Path:
    mapping = {
        "name": "required",
        "namespace": "spp_required",
        "entities": {
            "group": {"key": "hh", "fields": {"name": "hh_name", **(groups or {})}},
            "individual": {
                "key": "pid",
                "fields": {"given_name": "given", "family_name": "family", **people},
            },
            "membership": {"group": "hh", "individual": "pid"},
        },
    }
    path = tmp_path / "required.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


MAPPED = {"Residency Status": "status"}  # by its label
HOUSEHOLDS = {"x_cst_residency": {"default": "Household"}}  # households get a constant


def _run(sb: Sandbox, tmp_path: Path, mapping: Path, *rows: str, mode: str = "import"):
    path = tmp_path / "people.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return run_import([path], ImportOptions(mapping=mapping, mode=mode, write_files=False), settings_for(sb))


def _status(sb: Sandbox) -> dict[str, str]:
    with OdooClient(settings_for(sb)) as c:
        found = c.search_read("res.partner", [["is_registrant", "=", True]], ["name", "x_cst_residency"])
    return {r["name"]: r["x_cst_residency"] for r in found}


def test_the_sandbox_refuses_a_registrant_without_a_required_field(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        with OdooClient(settings_for(sb)) as c, pytest.raises(OdooError, match="Residency Status"):
            c.create("res.partner", {"name": "X", "is_registrant": True})


def test_a_mapping_that_leaves_a_required_field_unfilled_is_refused_before_any_row(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        with pytest.raises(
            ImportFailure, match=r"every household needs 'Residency Status' \(x_cst_residency\)"
        ):
            _run(sb, tmp_path, _mapping(tmp_path, MAPPED), *ROWS, mode="dry-run")
        with pytest.raises(ImportFailure, match=r"every person needs 'Residency Status'"):
            _run(sb, tmp_path, _mapping(tmp_path, {}, HOUSEHOLDS), *ROWS, mode="dry-run")
        assert _status(sb) == {}


def test_an_empty_required_cell_refuses_a_new_registrant_but_leaves_an_existing_ones_value(
    tmp_path: Path,
) -> None:
    with Sandbox() as sb:
        _setup(sb)
        mapping = _mapping(tmp_path, MAPPED, HOUSEHOLDS)
        result = _run(sb, tmp_path, mapping, ROWS[0], "H2,Lee household,yes,P3,Cy,Lee,")
        problems = result.report.problems
        missing = problems[problems["code"] == "missing_required"]
        assert missing[["row", "column"]].values.tolist() == [[3, "status"]]
        assert "requires 'Residency Status'" in missing["message"].iloc[0]
        assert result.report.rows.set_index("row")["status"].to_dict() == {2: "created", 3: "failed"}
        assert _status(sb) == {"RAMOS, ANA": "Resident", "Ramos household": "Household"}

        # Ana is on the server now: her empty cell keeps the registry's value (nothing to send).
        again = _run(sb, tmp_path, mapping, ROWS[0].removesuffix("Resident"), ROWS[1])
        assert again.exit_code == 0, again.report.rows["reasons"].tolist()
        assert set(again.report.rows.set_index("row")["status"]) == {"unchanged", "created"}
        assert _status(sb)["RAMOS, ANA"] == "Resident" and _status(sb)["RAMOS, BEN"] == "Visitor"
