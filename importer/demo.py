"""``spp-import demo``: the whole job end to end on the embedded sandbox registry.

Starts ``spp-import sandbox`` as a separate process (a real HTTP server,
its registry in a SQLite file under ``reports/``), imports the sample
roster, prints the summary and where the report is, imports the same file
again to show that nothing is written twice, and stops the sandbox.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from importer.outcome import ImportFailure
from importer.settings import ConnectionSettings, Secret

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"serving (http://\S+) \(database '([^']+)'\)")


def start_sandbox(
    db_file: Path, *, bare: bool = False, timeout: float = 30.0
) -> tuple[subprocess.Popen, str, str]:
    """Start the sandbox registry in its own process and wait until it listens."""
    cmd = [sys.executable, "-m", "importer.sandbox", "--port", "0", "--db", str(db_file)]
    if bare:
        cmd.append("--bare")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        match = READY.search(line)
        if match:
            return proc, match.group(1), match.group(2)
    proc.kill()
    raise ImportFailure("the sandbox registry did not start")


def stop_sandbox(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=ROOT / "sample_data" / "roster.xlsx")
    parser.add_argument("--mapping", default=str(ROOT / "mappings" / "roster.yaml"))
    parser.add_argument("--out", type=Path, default=Path("reports"))


def run_demo(args: argparse.Namespace) -> int:
    """Start the sandbox, import the sample twice (the second writes nothing), show where the report is."""
    # The pipeline is imported here, not at the top, so building the command line stays light.
    from importer.load import LoadOptions
    from importer.pipeline import ImportOptions, run_import
    from importer.report import summary_text

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    db_file = out / "demo-registry.sqlite3"
    for stale in out.glob("demo-registry.sqlite3*"):
        stale.unlink()
    print(f"1. Starting the sandbox registry (data in {db_file}) ...")
    proc, url, db = start_sandbox(db_file)
    try:
        print(f"   listening on {url}, database '{db}', user admin")
        settings = ConnectionSettings(url=url, db=db, login="admin", secret=Secret("admin"))
        options = ImportOptions(mapping=args.mapping, mode="import", out_dir=out, load=LoadOptions())
        print(f"2. Importing {args.file.name} with mapping {Path(args.mapping).name} ...\n")
        first = run_import([args.file], options, settings)
        print(summary_text(first.report))
        print(f"\n3. Importing {args.file.name} again: nothing may be written twice ...")
        second = run_import([args.file], options, settings)
        rows = second.report.rows["status"].value_counts().to_dict()
        print("   second run, input rows by status: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
        return max(first.exit_code, second.exit_code)
    finally:
        stop_sandbox(proc)
        print("4. Sandbox stopped.")
        print(
            "\nNext: open the report above in Excel, or try the clerks' web page:\n"
            "  .venv/bin/spp-import sandbox &    then    .venv/bin/spp-import serve\n"
            "  and sign in at http://127.0.0.1:8080 as admin / admin."
        )
