"""The accounting check must catch what it exists to catch (a judge that never fails proves nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import settings_for
from reliability_support import ROSTER_MAPPING, assert_accounted, write_roster

from importer.client import OdooClient
from importer.pipeline import ImportOptions, run_import
from importer.sandbox import Sandbox


def test_accounting_check_catches_missing_rows_missing_records_and_unreported_records(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    frame = write_roster(csv, 20, seed=1)
    with Sandbox() as sb, OdooClient(settings_for(sb)) as c:
        result = run_import([csv], ImportOptions(mapping=ROSTER_MAPPING, write_files=False), settings_for(sb))
        rows, records = result.report.rows, result.report.records
        assert_accounted(rows, len(frame), c, records=records, nothing_else=True)  # the honest case passes
        with pytest.raises(AssertionError, match="report rows"):
            assert_accounted(rows.iloc[1:], len(frame), c)  # a row without a status
        # a record the server holds that the report does not mention
        c.load("res.partner", ["id", "name", "is_registrant"], [["spp_roster.ind_stowaway", "STOWAWAY", "1"]])
        with pytest.raises(AssertionError, match="not in the report"):
            assert_accounted(rows, len(frame), c, nothing_else=True)
        # a record the report says was written, gone from the server
        membership = int(records.query("entity == 'membership'")["server_id"].iloc[0])
        c.unlink("g2p.group.membership", [membership])
        with pytest.raises(AssertionError):
            assert_accounted(rows, len(frame), c, records=records)
