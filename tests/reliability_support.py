"""Shared machinery of the reliability and security tests: rosters, the CLI, the judge, the kill switch.

The server is the judge.  Two checks are used by every reliability test:

- :func:`assert_accounted` — the accounting invariant: one report row per
  input row, one status each, and every record the report says was written
  (created / updated / unchanged) is on the server under its external id with
  the server id the report gives; nothing of ours is on the server that the
  report does not mention.
- :func:`verify_registry` — after a run that finished, the server holds
  exactly the file: counts, no external id or person twice, every membership
  joining the right pair, and every field of a sample equal to the file.

:class:`Tripwire` wraps the in-process sandbox's dispatcher to SIGKILL a
client process at a chosen call (the stage is read off the call itself), so
kills land inside a given load stage on purpose rather than by luck.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from importer.client import OdooClient
from importer.demo_data import roster
from importer.outcome import Entity
from importer.plan import make_xids
from importer.sandbox import ADMIN_LOGIN, Sandbox

ROOT = Path(__file__).resolve().parents[1]
ROSTER_MAPPING = ROOT / "mappings" / "roster.yaml"
NAMESPACE = "spp_roster"
FULL = os.environ.get("SPP_RELIABILITY_FULL") == "1"

OK_STATUSES = {"created", "updated", "unchanged", "valid"}
ALL_STATUSES = OK_STATUSES | {"failed", "skipped", "invalid", "partly written"}
#: Row statuses that may claim records on the server: a failed or skipped row claims none.
CLAIMING_STATUSES = {"created", "updated", "unchanged", "partly written"}
MODEL_OF_PREFIX = {
    "grp": "res.partner",
    "ind": "res.partner",
    "rid": "g2p.reg.id",
    "mem": "g2p.group.membership",
}
READY = re.compile(r"serving (http://\S+) \(database '([^']+)'\)")


# -- input --------------------------------------------------------------------------------


def write_roster(path: Path, people: int, *, seed: int = 11) -> pd.DataFrame:
    """A flat roster CSV of ``people`` rows (about four to a household); returns the frame written."""
    frame = roster(max(1, people // 4), seed=seed, people=people)
    frame.to_csv(path, index=False)
    return frame


# -- running the CLI ----------------------------------------------------------------------


def cli_env(url: str, db: str = "openspp", login: str = ADMIN_LOGIN, **secret: str) -> dict[str, str]:
    """The environment of a CLI run pointed at a server (``api_key=`` or ``password=``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPP_")}
    env.update(SPP_URL=url, SPP_DB=db, SPP_LOGIN=login)
    if "api_key" in secret:
        env["SPP_API_KEY"] = secret["api_key"]
    if "password" in secret:
        env["SPP_PASSWORD"] = secret["password"]
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def import_command(csv: Path, out_dir: Path, *extra: str) -> list[str]:
    """The exact command a migration team runs (quiet, reports into ``out_dir``)."""
    return [
        sys.executable,
        "-m",
        "importer.cli",
        "import",
        str(csv),
        "-m",
        str(ROSTER_MAPPING),
        "--out",
        str(out_dir),
        "--quiet",
        *extra,
    ]


@contextlib.contextmanager
def patched_env(env: dict[str, str]):
    """Run an in-process ``cli.main`` with exactly these SPP_* variables."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("SPP_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("SPP_")})
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("SPP_")]:
            del os.environ[key]
        os.environ.update(saved)


def run_cli_inprocess(argv: Sequence[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``importer.cli.main(argv)`` with stdout/stderr captured (no subprocess start-up cost)."""
    from importer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with patched_env(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# -- sandbox in its own process -----------------------------------------------------------


@dataclass
class SandboxProcess:
    """``python -m importer.sandbox`` on a SQLite file: killable and restartable on the same port."""

    db_file: Path
    log_file: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    url: str = ""

    def start(self, timeout: float = 30.0) -> SandboxProcess:
        cmd = [sys.executable, "-m", "importer.sandbox", "--port", str(self.port), "--db", str(self.db_file)]
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            match = READY.search(line or "")
            if match:
                self.url = match.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                # The rest of stdout is a few fixed lines; drain it so the pipe never fills.
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return self
        self.proc.kill()
        raise RuntimeError(f"sandbox did not start; see {self.log_file}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no final commit, like a power cut of the process."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def sqlite_orphans(db_file: Path) -> dict[str, int]:
    """In one consistent snapshot of a stopped sandbox's file: records without our external id, and back.

    ``load`` writes a record and its external id in one transaction, so after
    any crash both counts must be zero (nothing half-written to duplicate later).
    """
    conn = sqlite3.connect(db_file)
    try:
        out = {}
        for table, model, where in (
            ("res_partner", "res.partner", "r.is_registrant = 1"),
            ("g2p_reg_id", "g2p.reg.id", "1 = 1"),
            ("g2p_group_membership", "g2p.group.membership", "1 = 1"),
        ):
            out[f"{model} without external id"] = conn.execute(
                f"SELECT COUNT(*) FROM {table} r WHERE {where} AND NOT EXISTS (SELECT 1 FROM ir_model_data d "
                "WHERE d.model = ? AND d.res_id = r.id)",
                (model,),
            ).fetchone()[0]
            out[f"{model} external id without record"] = conn.execute(
                f"SELECT COUNT(*) FROM ir_model_data d WHERE d.model = ? AND d.module = ? "
                f"AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.id = d.res_id)",
                (model, NAMESPACE),
            ).fetchone()[0]
        return {k: v for k, v in out.items() if v}
    finally:
        conn.close()


def sqlite_integrity(db_file: Path) -> str:
    """SQLite's own verdict on the file (``"ok"``), after recovering its write-ahead log."""
    conn = sqlite3.connect(db_file)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# -- the kill switch ----------------------------------------------------------------------

STAGES = ("read", "validate", "load:group", "load:individual", "load:reg_id", "load:membership")


def call_stage(payload: Any) -> str:
    """Which pipeline stage a request comes from, read off the request itself."""
    params = payload.get("params", {}) if isinstance(payload, dict) else {}
    args = params.get("args") or []
    if params.get("service") != "object" or len(args) < 6 or args[4] != "load":
        return "validate"
    model = args[3]
    if model == "g2p.reg.id":
        return "load:reg_id"
    if model == "g2p.group.membership":
        return "load:membership"
    fields, rows = args[5][0], args[5][1]
    first = str(rows[0][fields.index("id")]) if rows and "id" in fields else ""
    return "load:group" if ".grp_" in first else "load:individual"


@dataclass
class Kill:
    """One planned kill: at the ``nth`` call of ``stage``, ``when`` = before | after | delay."""

    stage: str
    nth: int = 1
    when: str = "before"
    delay: float = 0.0
    landed: str | None = None  # the stage the process was in when it died, if it died


@dataclass
class Tripwire:
    """Wraps an in-process sandbox's dispatcher: SIGKILLs the armed client at the chosen call."""

    sandbox: Sandbox
    pid: int | None = None
    kill: Kill | None = None
    seen: dict[str, int] = field(default_factory=dict)
    first_call_at: float | None = None
    started_at: float = 0.0
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._original = self.sandbox.dispatcher.handle
        self.sandbox.dispatcher.handle = self._handle  # type: ignore[method-assign]

    def arm(self, pid: int, kill: Kill | None) -> None:
        with self._lock:
            self.pid, self.kill, self.seen = pid, kill, {}
            self.first_call_at, self.started_at = None, time.monotonic()

    def _fire(self, stage: str) -> None:
        with self._lock:
            if self.kill is None or self.pid is None or self.kill.landed:
                return
            self.kill.landed = stage
            pid = self.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def fire_if_no_call(self) -> None:
        """For read-stage kills: SIGKILL now, unless the client already reached the server."""
        with self._lock:
            reached = self.first_call_at is not None
        if not reached:
            self._fire("read")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the server has finished the calls a killed client left in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.in_flight:
                    return
            time.sleep(0.01)
        raise AssertionError("the sandbox is still busy with a dead client's call")

    def _handle(self, payload: Any) -> dict:
        try:
            with self._lock:
                self.in_flight += 1
            return self._handle_counted(payload)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle_counted(self, payload: Any) -> dict:
        stage = call_stage(payload)
        with self._lock:
            if self.first_call_at is None:
                self.first_call_at = time.monotonic() - self.started_at
            n = self.seen[stage] = self.seen.get(stage, 0) + 1
            kill = self.kill
            hit = kill is not None and not kill.landed and kill.stage == stage and n == kill.nth
            if kill is not None and kill.stage == "read" and not kill.landed:
                hit = True  # too late for "read": kill now, and record where it really landed
        if hit and kill is not None:
            if kill.when == "before" or kill.stage == "read":
                self._fire(stage)
            elif kill.when == "delay":
                threading.Timer(kill.delay, self._fire, args=(stage,)).start()
        answer = self._original(payload)
        if hit and kill is not None and kill.when == "after":
            self._fire(stage)
        return answer


# -- reading what a run wrote ---------------------------------------------------------------


def report_rows(out_dir: Path) -> pd.DataFrame:
    """The per-input-row report (``<stem>.csv``) of the one run that wrote into ``out_dir``."""
    found = [p for p in out_dir.glob("*.csv") if not p.name.endswith("-errors.csv")]
    assert len(found) == 1, f"expected one report in {out_dir}, found {found}"
    return pd.read_csv(found[0], dtype=str, keep_default_na=False, encoding="utf-8-sig")


def audit_events(out_dir: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*-audit.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # a SIGKILL may cut the last line
                events.append(json.loads(line))
    return events


def all_written_text(out_dir: Path) -> str:
    """Every file a run wrote, as text (XLSX parts unzipped), for secret hunting."""
    parts: list[str] = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


# -- the judge ------------------------------------------------------------------------------


def server_xids(client: OdooClient, namespace: str = NAMESPACE) -> dict[str, tuple[str, int]]:
    """Every external id of ``namespace`` on the server: full name -> (model, res_id)."""
    rows = client.search_read(
        "ir.model.data", [["module", "=", namespace]], ["name", "model", "res_id"], order="id"
    )
    names = [f"{namespace}.{r['name']}" for r in rows]
    assert len(names) == len(set(names)), "an external id exists twice"
    return {f"{namespace}.{r['name']}": (r["model"], int(r["res_id"])) for r in rows}


def _split(text: str) -> list[str]:
    return [p for p in (text or "").split("; ") if p]


def assert_accounted(
    rows: pd.DataFrame,
    expected_rows: int,
    client: OdooClient | None,
    *,
    records: pd.DataFrame | None = None,
    namespace: str = NAMESPACE,
    nothing_else: bool = False,
) -> None:
    """The accounting invariant (issue 4, §5), for one finished run.

    ``rows`` is the report's per-input-row table (RunReport.rows or the CSV);
    ``records`` the per-record table when the run was in-process.  With
    ``nothing_else`` the server must hold nothing of ``namespace`` beyond
    what this report mentions (a run against a fresh server).
    """
    assert len(rows) == expected_rows, f"{len(rows)} report rows for {expected_rows} input rows"
    statuses = rows["status"].astype(str)
    assert statuses.isin(ALL_STATUSES).all(), sorted(set(statuses) - ALL_STATUSES)
    where = list(
        zip(rows["file"].astype(str), rows["sheet"].astype(str), rows["row"].astype(str), strict=True)
    )
    assert len(where) == len(set(where)), "an input row has two lines in the report"
    not_ok = ~statuses.isin(OK_STATUSES)
    reasons = rows["reasons"].astype(str)
    assert (reasons[not_ok].str.strip() != "").all(), "a row that was not written says no reason"
    claiming = statuses.isin(CLAIMING_STATUSES | {"valid"})
    server_ids = rows["server_ids"].fillna("").astype(str)
    greedy = [i for i in rows.index[~claiming] if set(_split(server_ids[i])) - {"nan", "<NA>"}]
    assert not greedy, (
        f"failed or skipped rows that claim server records: {rows.loc[greedy[:5], 'row'].tolist()}"
    )
    if client is None:
        return
    on_server = server_xids(client, namespace)
    # Rows whose every record was written: each external id is there, with the id the report gives.
    written: dict[str, int] = {}
    for xids, ids, status in zip(rows["external_ids"], rows["server_ids"], statuses, strict=True):
        if status not in {"created", "updated", "unchanged"}:
            continue
        x, i = _split(str(xids)), _split(str(ids))
        assert len(x) == len(i), f"{x} / {i}"
        written.update(zip(x, (int(v) for v in i), strict=True))
    if records is not None:
        done = records[records["status"].isin(["created", "updated", "unchanged"])]
        for xid, sid in zip(done["external_id"], done["server_id"], strict=True):
            written[str(xid)] = int(sid)
        _assert_claimed_once(rows, done)
    missing = sorted(set(written) - set(on_server))
    assert not missing, f"report says written, server lacks: {missing[:5]}"
    wrong = [x for x, sid in written.items() if on_server[x][1] != sid]
    assert not wrong, f"report's server id differs from the server's: {wrong[:5]}"
    for prefix, model in MODEL_OF_PREFIX.items():
        ids = [sid for x, sid in written.items() if x.split(".", 1)[1].startswith(prefix + "_")]
        if ids:
            found = client.search_count(model, [["id", "in", ids]])
            assert found == len(set(ids)), f"{model}: {len(ids) - found} reported ids do not exist"
    if nothing_else:
        mentioned = set(written) | {x for v in rows["external_ids"] for x in _split(str(v))}
        extra = sorted(set(on_server) - mentioned)
        assert not extra, f"on the server but not in the report: {extra[:5]}"
        if records is not None:
            gone = records[~records["status"].isin(["created", "updated", "unchanged"])]
            leaked = sorted(set(gone["external_id"].dropna().astype(str)) & set(on_server) - set(written))
            assert not leaked, f"report says not written, server has: {leaked[:5]}"


def _assert_claimed_once(rows: pd.DataFrame, written: pd.DataFrame) -> None:
    """Every written record is claimed by exactly one input row, and that row says it was written."""
    twice = written["external_id"][written["external_id"].duplicated()]
    assert twice.empty, f"records claimed by two rows: {twice.tolist()[:5]}"
    status_of = {
        (str(f), str(s), int(r)): str(st)
        for f, s, r, st in zip(rows["file"], rows["sheet"], rows["row"], rows["status"], strict=True)
    }
    claims = zip(written["file"], written["sheet"], written["row"], written["external_id"], strict=True)
    wrong = [
        (xid, status_of.get((str(f), str(s), int(r))))
        for f, s, r, xid in claims
        if status_of.get((str(f), str(s), int(r))) not in CLAIMING_STATUSES
    ]
    assert not wrong, f"written records claimed by rows that say otherwise: {wrong[:5]}"


def _iso(day_first: str) -> str:
    d, m, y = day_first.split("/")
    return f"{y}-{m}-{d}"


GENDER = {"M": "Male", "F": "Female", "male": "Male", "female": "Female"}


def verify_registry(
    client: OdooClient,
    frame: pd.DataFrame,
    *,
    sample: int | None = 200,
    seed: int = 0,
    namespace: str = NAMESPACE,
) -> None:
    """The server holds exactly ``frame``: counts, uniqueness, pairs, and a sample field by field."""
    xids = server_xids(client, namespace)
    targets = list(xids.values())
    assert len(targets) == len(set(targets)), "one record carries two of our external ids"
    households = frame.drop_duplicates("household_id")
    with_id = frame[frame["national_id"] != ""]
    assert client.search_count("res.partner", [["is_group", "=", True]]) == len(households)
    assert client.search_count(
        "res.partner", [["is_group", "=", False], ["is_registrant", "=", True]]
    ) == len(frame)
    assert client.search_count("g2p.group.membership", []) == len(frame)
    assert client.search_count("g2p.reg.id", []) == len(with_id)

    grp = dict(
        zip(
            make_xids(namespace, Entity.GROUP, households["household_id"]),
            households["household_id"],
            strict=True,
        )
    )
    ind = dict(
        zip(make_xids(namespace, Entity.INDIVIDUAL, frame["person_id"]), frame["person_id"], strict=True)
    )
    assert {x for x in xids if ".grp_" in x} == set(grp), "group external ids differ from the file"
    assert {x for x in xids if ".ind_" in x} == set(ind), "person external ids differ from the file"
    key_of = {xids[x][1]: grp[x] for x in grp} | {xids[x][1]: ind[x] for x in ind}
    person_id_of = {ind[x]: xids[x][1] for x in ind}
    assert len(set(person_id_of.values())) == len(frame), "a person is on the server twice"

    head = client.search_read("g2p.group.membership.kind", [["name", "=", "Head"]], ["id"])[0]["id"]
    members = client.search_read("g2p.group.membership", [], ["group", "individual", "kind"])
    pairs = [(key_of[m["group"][0]], key_of[m["individual"][0]]) for m in members]
    assert len(pairs) == len(set(pairs)), "a membership exists twice"
    assert set(pairs) == set(zip(frame["household_id"], frame["person_id"], strict=True))
    heads = {key_of[m["individual"][0]] for m in members if head in m["kind"]}
    assert heads == set(frame.loc[frame["relationship"] == "head", "person_id"])

    reg = client.search_read("g2p.reg.id", [], ["partner_id", "value"])
    assert {(key_of[r["partner_id"][0]], r["value"]) for r in reg} == set(
        zip(with_id["person_id"], with_id["national_id"], strict=True)
    )

    picked = frame if sample is None or sample >= len(frame) else frame.sample(sample, random_state=seed)
    people = client.read(
        "res.partner",
        [person_id_of[k] for k in picked["person_id"]],
        ["name", "given_name", "family_name", "gender", "birthdate", "phone", "is_group"],
    )
    by_key = {key_of[p["id"]]: p for p in people}
    for row in picked.itertuples(index=False):
        got = by_key[row.person_id]
        want = {
            "name": f"{row.family_name.upper()}, {row.given_name.upper()}",
            "given_name": row.given_name,
            "family_name": row.family_name,
            "gender": GENDER[row.sex],
            "birthdate": _iso(row.date_of_birth),
            "phone": row.phone or False,
            "is_group": False,
        }
        assert {k: got[k] for k in want} == want, f"{row.person_id}: {got} != {want}"
    groups = client.search_read("res.partner", [["is_group", "=", True]], ["name", "kind"])
    want_groups = set(
        zip(
            households["household_id"],
            households["household_name"],
            households["household_kind"],
            strict=True,
        )
    )
    assert {(key_of[g["id"]], g["name"], g["kind"][1]) for g in groups} == want_groups


def pick(rng: random.Random, options: Iterable[Any]) -> Any:
    return rng.choice(list(options))


class CallHook:
    """Run ``action`` once, just before the ``nth`` call of ``stage`` reaches the in-process sandbox.

    ``exclusive``: other calls wait while the action runs (it changes what they will see);
    otherwise only the chosen call waits for it (an action that holds that call back).
    """

    def __init__(
        self, sandbox: Sandbox, stage: str, nth: int, action: Any, *, exclusive: bool = True
    ) -> None:
        self.stage, self.nth, self.action, self.exclusive = stage, nth, action, exclusive
        self.seen = 0
        self.fired = False
        self._lock = threading.Lock()
        self._original = sandbox.dispatcher.handle
        sandbox.dispatcher.handle = self._handle  # type: ignore[method-assign]

    def _handle(self, payload: Any) -> dict:
        with self._lock:
            hit = call_stage(payload) == self.stage and not self.fired
            if hit:
                self.seen += 1
                hit = self.fired = self.seen == self.nth
            if hit and self.exclusive:
                self.action()
        if hit and not self.exclusive:
            self.action()
        return self._original(payload)
