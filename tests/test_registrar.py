"""A Registrar imports: Odoo 17 keeps ir.model.data to "Administration / Access Rights".

Found against a real OpenSPP 17 server: a user with only the registry's
Registrar group could not import at all, because the importer read
``ir.model.data`` directly to find what a file had already written.  The
sandbox's ``registrar`` user has the same rights (writes the registry, may not
touch ``ir.model.data``; ``load`` and ``get_external_id`` still work, as in
Odoo), and these tests hold the importer to them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, people_in, registrant_holding, settings_for

from importer.cli import main
from importer.client import OdooClient
from importer.errors import AccessError
from importer.outcome import ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import REGISTRAR_LOGIN, REGISTRAR_PASSWORD, Sandbox


def _as_registrar(sb: Sandbox, files: list[Path], mode: str = "import"):
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", mode=mode, write_files=False)
    return run_import(files, options, settings_for(sb, REGISTRAR_LOGIN, REGISTRAR_PASSWORD))


def test_the_sandbox_refuses_a_registrar_ir_model_data_as_odoo_does() -> None:
    with Sandbox() as sb, OdooClient(settings_for(sb, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)) as c:
        with pytest.raises(AccessError) as info:
            c.search_read("ir.model.data", [], ["name"])
        assert "Administration/Access Rights" in info.value.server_message
        assert c.check_access("ir.model.data", "read") is False
        assert c.check_access("res.partner", "create") is True
        answer = c.load("res.partner", ["id", "name", "is_registrant"], [["t.p1", "ONE, PERSON", "1"]])
        assert len(answer["ids"]) == 1 and not answer["messages"]
        assert c.execute_kw("res.partner", "get_external_id", [answer["ids"]]) == {
            str(answer["ids"][0]): "t.p1"
        }


def test_a_registrar_imports_re_runs_and_updates_without_writing_anyone_twice(tmp_path: Path) -> None:
    with Sandbox() as sb:
        first = _as_registrar(sb, [SAMPLES / "roster.csv"])
        assert first.exit_code == 0
        assert set(first.report.rows["status"]) == {"created"}
        assert people_in(sb) == 238

        again = _as_registrar(sb, [SAMPLES / "roster.csv"])
        assert set(again.report.rows["status"]) == {"unchanged"}
        assert not any(k.endswith(".load") for k in again.report.meta["calls"])

        frame = pd.read_csv(SAMPLES / "roster.csv", dtype=str, keep_default_na=False)
        frame.loc[3, "given_name"] = "Changed"
        edited = tmp_path / "roster.csv"
        frame.to_csv(edited, index=False)
        changed = _as_registrar(sb, [edited])
        assert changed.report.rows["status"].value_counts().to_dict() == {"unchanged": 237, "updated": 1}
        assert people_in(sb) == 238

        dry = _as_registrar(sb, [edited], mode="dry-run")  # a supervisor's check with the same rights
        assert set(dry.report.rows["status"]) == {"unchanged"}


def test_a_registrar_cannot_link_people_found_by_id_and_is_told_so_before_anything_is_written() -> None:
    frame = pd.read_csv(SAMPLES / "roster.csv", dtype=str, keep_default_na=False)
    person = frame[frame["national_id"] != ""].iloc[0]
    with Sandbox() as sb:
        registrant_holding(sb, person["national_id"])
        with pytest.raises(ImportFailure) as info:
            _as_registrar(sb, [SAMPLES / "roster.csv"])
        assert "1 people in the file are already in the registry" in info.value.message
        assert "Ask an administrator" in info.value.message
        assert people_in(sb) == 1  # nothing was written


def test_ping_says_what_a_registrar_may_do(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox() as sb:
        monkeypatch.setenv("SPP_URL", sb.url)
        monkeypatch.setenv("SPP_DB", sb.db)
        monkeypatch.setenv("SPP_LOGIN", REGISTRAR_LOGIN)
        monkeypatch.setenv("SPP_PASSWORD", REGISTRAR_PASSWORD)
        assert main(["ping"]) == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "may create res.partner yes" in lines
    assert "may read ir.model.data no" in lines
    assert "imports still work" in out


def test_every_external_id_is_found_whether_read_in_one_page_or_in_several() -> None:
    """An administrator's run reads ir.model.data in pages shared by the server's workers;
    a Registrar's asks the records for their own. Both find every one, and only the namespace's."""
    from importer.plan import existing_xids

    with Sandbox() as sb, OdooClient(settings_for(sb)) as admin:
        rows = [[f"mine.p{i}", f"P{i}", "1"] for i in range(2501)]  # more than one page of 2,000
        admin.load("res.partner", ["id", "name", "is_registrant"], rows)
        admin.load("res.partner", ["id", "name", "is_registrant"], [["other.p1", "OTHER", "1"]])
        sb.clear_call_log()
        found = existing_xids(admin, "mine", workers=2)
        pages = [e for e in sb.call_log if e[3] == "search_read" and e[2] == "ir.model.data"]
        assert len(pages) == 2
        with OdooClient(settings_for(sb, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)) as registrar:
            asked = existing_xids(registrar, "mine", workers=2)
    assert set(found) == {row[0] for row in rows} == set(asked)
    assert found == asked and all(model == "res.partner" for model, _id in found.values())


def test_a_small_file_into_a_much_bigger_namespace_asks_for_its_own_ids_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A correction file into a namespace a migration filled with millions costs what it names:
    its external ids are asked for by name, and the namespace is never read whole."""
    import importer.plan

    monkeypatch.setattr(importer.plan, "XID_PAGE", 100)  # "much bigger" is now 2 x the file + 100
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", write_files=False)
    with Sandbox() as sb, OdooClient(settings_for(sb)) as admin:
        first = run_import([SAMPLES / "roster.csv"], options, settings_for(sb))
        namespace = first.report.meta["namespace"]
        others = [[f"{namespace}.other_{i}", f"OTHER {i}", "1"] for i in range(1500)]
        admin.load("res.partner", ["id", "name", "is_registrant"], others)
        asked: list[tuple[list, int]] = []
        search_read = OdooClient.search_read

        def spy(self: OdooClient, model: str, domain=None, *args, **kwargs):  # type: ignore[no-untyped-def]
            rows = search_read(self, model, domain, *args, **kwargs)
            if model == "ir.model.data":
                asked.append((domain, len(rows)))
            return rows

        monkeypatch.setattr(OdooClient, "search_read", spy)
        again = run_import([SAMPLES / "roster.csv"], replace(options, mode="dry-run"), settings_for(sb))
    statuses = set(again.report.records["status"])
    assert statuses == {"unchanged"}, statuses  # every record found, none planned new
    assert asked and all(any(term[:2] == ["name", "in"] for term in d) for d, _n in asked)
    assert sum(n for _d, n in asked) == len(again.report.records) < 1500


def test_what_the_namespace_holds_is_asked_beside_the_catalog_not_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalog waits here until the namespace has been asked for: a run that asked only
    after its catalog came back would leave it waiting, and the run would find no catalog."""
    import threading

    import importer.catalog

    counted = threading.Event()
    search_count, fetch_catalog = OdooClient.search_count, importer.catalog.fetch_catalog

    def counting(self: OdooClient, model: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if model == "ir.model.data":
            counted.set()
        return search_count(self, model, *args, **kwargs)

    def catalog_once_counted(client: OdooClient):  # type: ignore[no-untyped-def]
        assert counted.wait(timeout=30), "the namespace was not asked for beside the catalog"
        return fetch_catalog(client)

    monkeypatch.setattr(OdooClient, "search_count", counting)
    monkeypatch.setattr(importer.catalog, "fetch_catalog", catalog_once_counted)
    options = ImportOptions(mapping=MAPPINGS / "roster.yaml", write_files=False)
    with Sandbox() as sb:
        first = run_import([SAMPLES / "roster.csv"], options, settings_for(sb))
        again = run_import([SAMPLES / "roster.csv"], replace(options, mode="dry-run"), settings_for(sb))
    assert first.exit_code == 0 and set(first.report.records["status"]) == {"created"}
    assert set(again.report.records["status"]) == {"unchanged"}
