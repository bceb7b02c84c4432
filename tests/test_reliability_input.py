"""Hostile and broken input: every file in tests/data/bad/, and random cells in random column orders.

Through the real CLI (``validate`` offline and ``import --dry-run`` against a
sandbox, mapping ``roster.yaml``) each file ends one of three ways: a plain
message naming the file (and the sheet, row or column where that is the
point) with exit 2; per-row errors in the report with exit 1; or exit 0.
Never a traceback, never "internal error", and never anything written: the
report accounts for every row the reader found, and the server stays empty.
"""

from __future__ import annotations

import csv
import string
from pathlib import Path

import pandas as pd
import pytest
from conftest import settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import (
    ROSTER_MAPPING,
    assert_accounted,
    cli_env,
    report_rows,
    run_cli_inprocess,
    server_xids,
)

from importer.client import OdooClient
from importer.demo_data import ROSTER_COLUMNS
from importer.outcome import ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.read import read_source
from importer.sandbox import ADMIN_PASSWORD, Sandbox

BAD = Path(__file__).parent / "data" / "bad"
BAD_FILES = sorted(p for p in BAD.iterdir() if p.is_file())

#: Where the message must also point inside the file, beyond naming it.
POINTS_AT = {
    "unterminated_quote.csv": ["row 5"],
    "blank_headers.csv": ["'household_kind'"],
    "whitespace_headers.csv": ["'phone'"],
    "duplicate_blank_headers.xlsx": ["[People]", "'household_id'"],
    "hidden_sheet.xlsx": ["[People]", "[Old people]"],
    "two_sheets.xlsx": ["[Households]", "[People]"],
}


@pytest.fixture(scope="module")
def registry():
    with Sandbox() as sb:
        yield sb


def test_the_corpus_is_big_enough() -> None:
    assert len(BAD_FILES) >= 40


def _rows_read(path: Path) -> int:
    return sum(len(t.frame) for t in read_source(path))


def _rows_with_errors(out: Path, rows: pd.DataFrame) -> pd.Series:
    """Which report rows an error problem names (by file, sheet and row), from ``-errors.csv``."""
    (found,) = out.glob("*-errors.csv")
    errors = pd.read_csv(found, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    named = errors[(errors["severity"] == "error") & (errors["row"] != "")]
    keys = set(zip(named["file"], named["sheet"], named["row"], strict=True))
    return pd.Series(
        [k in keys for k in zip(rows["file"], rows["sheet"], rows["row"], strict=True)], rows.index
    )


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.name for p in BAD_FILES])
def test_bad_file_gives_a_plain_message_or_per_row_errors_and_writes_nothing(
    path: Path, registry: Sandbox, tmp_path: Path
) -> None:
    env = cli_env(registry.url, password=ADMIN_PASSWORD)
    codes = {}
    for mode, extra in (("validate", []), ("import", ["--dry-run"])):
        out = tmp_path / mode
        argv = [mode, str(path), "-m", str(ROSTER_MAPPING), "--out", str(out), "--quiet", *extra]
        code, stdout, stderr = run_cli_inprocess(argv, env)
        said = stdout + stderr
        assert "Traceback" not in said and "internal error" not in said, said[-3000:]
        assert code in (0, 1, 2)
        codes[mode] = code
        if code == 2:
            assert stderr.startswith("spp-import: cannot run: "), stderr
            assert path.name in stderr, stderr
            for where in POINTS_AT.get(path.name, []):
                assert where in stderr, (where, stderr)
            assert not out.exists() or not any(out.glob("*.csv")), "a failed start wrote a report"
            continue
        rows = report_rows(out)
        with OdooClient(settings_for(registry)) as client:
            assert_accounted(rows, _rows_read(path), client if mode == "import" else None, nothing_else=True)
        bad = ~rows["status"].isin(["valid", "unchanged"]) & (rows["reasons"] != "empty row")
        bad |= _rows_with_errors(out, rows)  # a cell with no value, formula-like text: the row's error
        assert bad.any() == (code == 1), rows[["row", "status", "reasons"]].head().to_dict("records")
        if code == 1:
            assert "Problems:" in stdout and "error(s)" in stdout
    # Offline and online agree on what cannot run at all.
    assert (codes["validate"] == 2) == (codes["import"] == 2), codes
    with OdooClient(settings_for(registry)) as client:
        assert server_xids(client) == {}
        assert client.search_count("res.partner", [["is_registrant", "=", True]]) == 0


# -- random cells ---------------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12
)
_CELL = st.one_of(
    st.just(""),
    st.just(" "),
    _TEXT,
    st.sampled_from(["M", "F", "female", "X", "head", "child", "Household", "Family", "HH-1", "P1"]),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates().map(lambda d: d.isoformat()),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["=1+2", "@SUM(A1)", "#N/A", "0000123", "1e5", "NaN", "None", "null", "TRUE"]),
    st.text(alphabet=string.digits, min_size=1, max_size=12),
)


@st.composite
def rosters(draw) -> tuple[list[str], list[list[str]]]:
    columns = draw(st.permutations(ROSTER_COLUMNS))
    if draw(st.booleans()):
        columns = [*columns, draw(st.sampled_from(["notes", "Comments", "extra"]))]
    rows = draw(st.lists(st.lists(_CELL, min_size=len(columns), max_size=len(columns)), max_size=8))
    return list(columns), rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rosters())
def test_random_cells_and_column_orders_never_crash_and_every_row_gets_one_status(
    data: tuple[list[str], list[list[str]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    columns, rows = data
    path = tmp_path_factory.mktemp("prop") / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        writer.writerows(rows)
    options = ImportOptions(mapping=ROSTER_MAPPING, mode="validate", write_files=False)
    try:
        result = run_import([path], options)
    except ImportFailure as exc:  # a clean refusal of the whole file is allowed; a crash is not
        assert path.name in exc.message or "roster" in exc.message, exc.message
        assert not any(c.strip() for row in rows for c in row) or rows == [], exc.message
        return
    report = result.report
    assert_accounted(report.rows, _rows_read(path), None)
    seen = report.rows["row"].astype(int).tolist()
    for i, row in enumerate(rows):
        if any(c.strip() for c in row):
            assert seen.count(i + 2) == 1, (i + 2, seen)  # line i+2 of the file: exactly one status
    assert set(report.rows["status"]) <= {"valid", "invalid", "skipped"}
