"""The audit log: JSON lines, checksums, every call, safe from threads, never a secret."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from importer.audit import AuditLog, file_sha256, redact

SECRET = "s3cr3t-Pa$$"


class FakeSecret:
    """Like settings.Secret: hides its value except through reveal()."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class Call:
    """Shaped like client.CallRecord."""

    service: str
    model: str | None
    method: str
    rows: int
    duration_s: float
    outcome: str
    error_name: str | None
    attempt: int


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_event_is_one_json_line_with_time_and_event(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.retry(reason="batch resent without failed rows", attempt=2)
        log.run_end(counts={"individual": {"created": 3}}, exit_code=0)
    events = lines(path)
    assert [e["event"] for e in events] == ["retry", "run_end"]
    assert all(e["time"].endswith("Z") for e in events)
    assert events[1]["counts"] == {"individual": {"created": 3}}


def test_run_start_records_inputs_with_checksums(tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text("id,name\n1,Ann\n", encoding="utf-8")
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.run_start(
            server="http://127.0.0.1:8069",
            database="reg",
            login="clerk",
            input_files=[data],
            mapping="mappings/roster.yaml",
            mode="import",
            version="0.1.0",
        )
    (event,) = lines(path)
    assert event["event"] == "run_start"
    assert event["input_files"] == [
        {
            "path": str(data),
            "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
            "bytes": len(data.read_bytes()),
        }
    ]
    assert (event["server"], event["database"], event["login"]) == ("http://127.0.0.1:8069", "reg", "clerk")
    assert (event["mode"], event["tool_version"], event["mapping"]) == (
        "import",
        "0.1.0",
        "mappings/roster.yaml",
    )


def test_file_sha256_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = tmp_path / "blob.bin"
    data.write_bytes(bytes(range(256)) * 1000)
    assert file_sha256(data, chunk_size=1000) == hashlib.sha256(data.read_bytes()).hexdigest()


def test_secrets_are_never_written_even_if_passed_in(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, secrets=[FakeSecret(SECRET)]) as log:
        log.run_start(
            server=f"https://admin:{SECRET}@registry.example.org",
            database="reg",
            login="admin",
            input_files=[],
            mapping=None,
            mode="import",
            note=f"password is {SECRET}",
            options={"password": "other-pw", "api_key": "k-42"},
        )
        log.call(
            service="object",
            model="res.partner",
            method="load",
            rows=1,
            duration_ms=3.0,
            outcome="error",
            error_name=f"odoo.exceptions.AccessDenied {SECRET}",
        )
        log.event("custom", nested={"deep": [SECRET, {"again": SECRET}]}, raw=FakeSecret("x-9999"))
        log.event("quoted", text=f'"{SECRET}"')
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert json.dumps(SECRET)[1:-1] not in text
    assert "other-pw" not in text and "k-42" not in text and "x-9999" not in text
    assert "***" in text
    events = lines(path)
    assert events[0]["server"] == "https://registry.example.org"
    assert len(events) == 4


def test_secret_added_later_is_scrubbed_too(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.add_secret("late-secret-value")
        log.event("note", text="late-secret-value leaked?")
    assert "late-secret-value" not in path.read_text(encoding="utf-8")


def test_redact_masks_nested_values_and_secret_keys() -> None:
    cleaned = redact({"a": ["x hunter22 y", {"token": "abc"}], "hunter22": 1}, ["hunter22"])
    assert cleaned == {"a": ["x *** y", {"token": "***"}], "***": 1}


def test_call_observer_accepts_call_records_and_dicts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.call_observer(Call("object", "res.partner", "load", 500, 0.25, "ok", None, 1))
        log.call_observer(
            {
                "service": "object",
                "model": "res.partner",
                "method": "load",
                "rows": 500,
                "duration_s": 1.5,
                "outcome": "outcome_unknown",
                "error_name": "ReadTimeout",
                "attempt": 2,
            }
        )
    first, second = lines(path)
    assert first["event"] == "call"
    assert {
        k: first[k]
        for k in ("service", "model", "method", "rows", "duration_ms", "outcome", "error_name", "attempt")
    } == {
        "service": "object",
        "model": "res.partner",
        "method": "load",
        "rows": 500,
        "duration_ms": 250.0,
        "outcome": "ok",
        "error_name": None,
        "attempt": 1,
    }
    assert (second["outcome"], second["attempt"], second["duration_ms"]) == ("outcome_unknown", 2, 1500.0)


def test_concurrent_calls_are_each_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    workers, per_worker = 8, 200

    with AuditLog(path) as log:

        def work(w: int) -> None:
            for i in range(per_worker):
                log.call_observer(Call("object", "res.partner", "load", i, 0.001, "ok", None, w))

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    events = lines(path)
    assert len(events) == workers * per_worker
    per = pd.Series([e["attempt"] for e in events]).value_counts()
    assert (per == per_worker).all()


def test_events_after_close_are_dropped_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.close()
    log.event("late")
    assert path.read_text(encoding="utf-8") == ""


def test_run_end_accepts_a_counts_table(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    counts = pd.DataFrame({"created": [2, 2]}, index=["individual", "input rows"])
    with AuditLog(path) as log:
        log.run_end(counts=counts, exit_code=1)
    (event,) = lines(path)
    assert event["counts"] == {"created": {"individual": 2, "input rows": 2}}
    assert event["exit_code"] == 1


def test_repr_shows_no_secret(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", secrets=[SECRET])
    assert SECRET not in repr(log)
    log.close()
