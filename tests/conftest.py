"""Shared fixtures: a sandbox registry over real HTTP, settings and a client for it.

Every test that talks to a server talks to the sandbox through the real
client over real HTTP on 127.0.0.1; nothing is mocked below the wire.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from importer.client import OdooClient
from importer.outcome import Entity
from importer.pipeline import ImportOptions, RunResult, run_import
from importer.plan import MEMBERSHIP, StagePlan
from importer.sandbox import ADMIN_API_KEY, ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox
from importer.settings import ConnectionSettings, Retry, Secret, Timeout

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
MAPPINGS = ROOT / "mappings"


def settings_for(
    sb: Sandbox, login: str = ADMIN_LOGIN, secret: str = ADMIN_PASSWORD, **kw
) -> ConnectionSettings:
    """Connection settings for a running sandbox (fast retries: tests must not sleep long)."""
    return ConnectionSettings(
        url=sb.url,
        db=sb.db,
        login=login,
        secret=Secret(secret),
        timeout=kw.pop("timeout", Timeout(connect=5, read=30)),
        retry=kw.pop("retry", Retry(attempts=8, backoff=0.01, max_backoff=0.05)),
        **kw,
    )


INDIVIDUALS = [["is_registrant", "=", True], ["is_group", "=", False]]


def people_in(sb: Sandbox) -> int:
    """How many individuals the registry holds (the judge reads the server, not a report)."""
    with OdooClient(settings_for(sb)) as c:
        return c.search_count("res.partner", INDIVIDUALS)


def registrant_holding(sb: Sandbox, national_id: str, name: str = "ENTERED, BY HAND") -> int:
    """A registrant entered on the server by hand (by no file), holding this National ID."""
    with OdooClient(settings_for(sb)) as c:
        nid = c.search_read("g2p.id.type", [["name", "=", "National ID"]], ["id"])[0]["id"]
        held = [[0, 0, {"id_type": nid, "value": national_id}]]
        return c.create(
            "res.partner", {"name": name, "is_registrant": True, "is_group": False, "reg_ids": held}
        )


def household_mapping(
    name: str,
    namespace: str,
    *,
    household_fields: dict[str, str] | None = None,
    person_fields: dict[str, str] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A mapping of the household files the deployment tests write, the fields under test added.

    Their files share the columns ``hh,hh_name,pid,given,family``: households
    keyed by ``hh`` and named by ``hh_name``, people keyed by ``pid`` with their
    given and family names, each person a member of their household.  Only what
    a test adds to that is the subject of the test: ``household_fields`` and
    ``person_fields`` (field -> column), ``top`` (``date_order``, ``values``...).
    """
    return {
        "name": name,
        "namespace": namespace,
        **top,
        "entities": {
            "group": {"key": "hh", "fields": {"name": "hh_name", **(household_fields or {})}},
            "individual": {
                "key": "pid",
                "fields": {"given_name": "given", "family_name": "family", **(person_fields or {})},
            },
            "membership": {"group": "hh", "individual": "pid"},
        },
    }


def write_mapping(path: Path, mapping: dict) -> Path:
    """``mapping`` written to ``path`` as the YAML file a deployment would keep (keys in the test's order).

    Tests of a deployment's own fields describe their layout in Python, next to
    the rows it reads; the importer only ever reads a layout from a file.
    """
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


def import_lines(
    sb: Sandbox, csv: Path, lines: Sequence[str], mapping: Path, mode: str = "import"
) -> RunResult:
    """Write ``lines`` (a header, then rows) to ``csv`` and run it through the pipeline against ``sb``.

    No report files are written: these tests judge the run by what the
    sandbox holds afterwards and by the report the run returns.
    """
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ImportOptions(mapping=mapping, mode=mode, write_files=False)
    return run_import([csv], options, settings_for(sb))


def membership_stage(groups: list[str]) -> StagePlan:
    """A load stage of membership rows, one per entry of ``groups`` (its household), in this order.

    Built by hand, as the planner would, so that the loader's batching can be
    tested on households of any size without reading a file: person ``i`` is
    ``t.ind_{i}``, household ``g`` is ``t.grp_{g}``, rows are numbered from 2.
    """
    n = len(groups)
    rows = pd.DataFrame(
        {
            "id": [f"t.mem_{i}" for i in range(n)],
            "group/id": [f"t.grp_{g}" for g in groups],
            "individual/id": [f"t.ind_{i}" for i in range(n)],
            "key": [f"{g}__{i}" for i, g in enumerate(groups)],
            "group_key": groups,
            "individual_key": [str(i) for i in range(n)],
            "action": "create",
        },
        index=pd.RangeIndex(2, n + 2),
    )
    rows["xid"] = rows["id"]
    rows["_file"], rows["_sheet"], rows["_row"] = "members.csv", "", rows.index
    return StagePlan(
        Entity.MEMBERSHIP,
        MEMBERSHIP,
        ["id", "group/id", "individual/id"],
        rows,
        depends={Entity.GROUP: "group_key", Entity.INDIVIDUAL: "individual_key"},
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh, seeded, in-memory sandbox registry for one test."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def registry() -> Iterator[Sandbox]:
    """One sandbox registry for a whole test module (its tests add to it: none may count on it empty)."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def server_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A fresh sandbox that ``spp-import`` run in this test finds through the environment.

    SPP_URL, SPP_DB, SPP_LOGIN and SPP_API_KEY are set as a clerk's shell would
    set them, so a CLI test passes no connection flags.
    """
    with Sandbox() as sb:
        monkeypatch.setenv("SPP_URL", sb.url)
        monkeypatch.setenv("SPP_DB", sb.db)
        monkeypatch.setenv("SPP_LOGIN", "admin")
        monkeypatch.setenv("SPP_API_KEY", ADMIN_API_KEY)
        yield sb


@pytest.fixture
def settings(sandbox: Sandbox) -> ConnectionSettings:
    return settings_for(sandbox)


@pytest.fixture
def client(settings: ConnectionSettings) -> Iterator[OdooClient]:
    with OdooClient(settings) as c:
        yield c
