"""``create_tags: true``: a tag the server lacks is created once, before the registrants.

The server is the judge: which tags exist, under which external ids, and who carries them.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import settings_for

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.report import summary_text
from importer.sandbox import Sandbox

HEADER = "hh,hh_name,pid,given,family,birth,tags"
ROWS = [
    'H1,Ramos household,P1,Ana,Ramos,1990-01-01,"Vulnerable, Pilot 2027"',
    'H1,Ramos household,P2,Ben,Ramos,1992-01-01,"pilot 2027,Elderly"',  # the same new tag, other case
]


def _mapping(tmp_path: Path, create: bool = True) -> Path:
    mapping = {
        "name": "tags",
        "namespace": "spp_tags",
        "create_tags": create,
        "entities": {
            "group": {"key": "hh", "fields": {"name": "hh_name", "tags_ids": "tags"}},
            "individual": {
                "key": "pid",
                "fields": {
                    "given_name": "given",
                    "family_name": "family",
                    "birthdate": "birth",
                    "tags_ids": "tags",
                },
            },
            "membership": {"group": "hh", "individual": "pid"},
        },
    }
    path = tmp_path / "tags.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


def _run(sb: Sandbox, tmp_path: Path, *rows: str, mode: str = "import", create: bool = True):
    path = tmp_path / "people.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=_mapping(tmp_path, create), mode=mode, write_files=False)
    return run_import([path], options, settings_for(sb))


def _tags(sb: Sandbox) -> dict[str, int]:
    with OdooClient(settings_for(sb)) as c:
        return {r["name"]: r["id"] for r in c.search_read("g2p.registrant.tags", [], ["name"])}


def _tag_xids(sb: Sandbox) -> set[str]:
    with OdooClient(settings_for(sb)) as c:
        return {
            f"{r['module']}.{r['name']}"
            for r in c.search_read(
                "ir.model.data", [["model", "=", "g2p.registrant.tags"]], ["module", "name"]
            )
        }


def _carried(sb: Sandbox) -> dict[str, set[str]]:
    names = {i: n for n, i in _tags(sb).items()}
    with OdooClient(settings_for(sb)) as c:
        found = c.search_read("res.partner", [["is_registrant", "=", True]], ["name", "tags_ids"])
    return {r["name"]: {names[i] for i in r["tags_ids"]} for r in found}


def _setup(sb: Sandbox) -> None:
    with OdooClient(settings_for(sb)) as c:
        c.create("g2p.registrant.tags", {"name": "Vulnerable"})


def test_a_dry_run_names_the_tags_it_would_create_and_creates_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        dry = _run(sb, tmp_path, *ROWS, mode="dry-run")
        assert dry.exit_code == 0, dry.report.rows["reasons"].tolist()
        notes = dry.report.problems[dry.report.problems["code"] == "tag_to_create"]
        assert sorted(notes["value"]) == ["Elderly", "Pilot 2027"]  # one per tag, as first written
        assert set(notes["severity"]) == {"warning"}
        assert "Tags a real run would create: Pilot 2027, Elderly" in summary_text(dry.report)
        assert set(_tags(sb)) == {"Vulnerable"}


def test_new_tags_are_created_once_before_the_registrants_and_a_rerun_creates_nothing(tmp_path: Path) -> None:
    with Sandbox() as sb:
        _setup(sb)
        first = _run(sb, tmp_path, *ROWS)
        assert first.exit_code == 0, first.report.rows["reasons"].tolist()
        assert set(_tags(sb)) == {"Vulnerable", "Pilot 2027", "Elderly"}  # "pilot 2027" is the same tag
        ours = sorted(x for x in _tag_xids(sb) if x.startswith("spp_tags."))  # under the namespace
        assert len(ours) == 2 and ours[0] == "spp_tags.tag_Elderly"
        assert ours[1].startswith("spp_tags.tag_pilot_2027_")
        carried = _carried(sb)
        assert carried["RAMOS, ANA"] == {"Vulnerable", "Pilot 2027"}
        assert carried["RAMOS, BEN"] == {"Pilot 2027", "Elderly"}
        assert carried["Ramos household"] == {"Vulnerable", "Pilot 2027"}
        created = first.report.problems[first.report.problems["code"] == "tag_created"]
        assert sorted(created["value"]) == ["Elderly", "Pilot 2027"]
        assert "Tags created: Pilot 2027, Elderly" in summary_text(first.report)

        again = _run(sb, tmp_path, *ROWS)
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert not (again.report.problems["code"] == "tag_created").any()
        assert len(_tags(sb)) == 3

        more = _run(sb, tmp_path, ROWS[0], ROWS[1].replace("Elderly", "Disabled"))
        assert set(more.report.rows["status"]) == {"updated", "unchanged"}
        assert _carried(sb)["RAMOS, BEN"] == {"Pilot 2027", "Disabled"}
        assert set(_tags(sb)) == {"Vulnerable", "Pilot 2027", "Elderly", "Disabled"}


def test_without_the_option_an_unknown_tag_is_a_row_error_and_a_refused_rows_tag_is_not_created(
    tmp_path: Path,
) -> None:
    with Sandbox() as sb:
        _setup(sb)
        refused = _run(sb, tmp_path, *ROWS, create=False)
        problems = refused.report.problems
        assert {(int(r), c) for r, c in zip(problems["row"], problems["code"], strict=True)} >= {
            (2, "unknown_code"),
            (3, "unknown_code"),
        }
        assert set(_tags(sb)) == {"Vulnerable"}

        # With the option, a tag named only by a row refused for another reason is not created.
        bad = 'H2,Lee household,P3,Cy,Lee,1850-01-01,"Orphan Tag"'  # too old: refused
        result = _run(sb, tmp_path, ROWS[0], bad)
        assert "Orphan Tag" not in _tags(sb) and "Pilot 2027" in _tags(sb)
        assert result.report.rows.set_index("row").loc[3, "status"] == "failed"
