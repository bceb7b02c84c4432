"""What the two replays of a recorded real server share: reading a recording, and its ids mapped to ours.

``test_sandbox_transcript.py`` replays the first recording (shapes compared),
``test_sandbox_registry_transcript.py`` the wider registry's (answers equal).
Both send each recorded request to a sandbox; the ids the real server gave
out are not the sandbox's, so each replay learns which sandbox id stands for
which recorded one from the answers, in replay order, and rewrites later
requests with them.  Which answers teach ids differs between the two; the
map itself and the rewriting do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox import ADMIN_PASSWORD


def recorded_exchanges(transcript: Path) -> list[dict]:
    """The recorded exchanges (request, response, HTTP status, label); the test is skipped without them.

    The recordings live beside the repository, not in it.
    """
    if not transcript.exists():
        pytest.skip(f"recorded transcript not found at {transcript}")
    return json.loads(transcript.read_text())


class RecordedIds:
    """Recorded ids -> sandbox ids; a subclass's ``learn`` says which answers teach them."""

    def __init__(self) -> None:
        self.map: dict[int, int] = {}

    def pair(self, recorded: int, actual: int) -> None:
        """Remember that the sandbox's ``actual`` stands for ``recorded``; an id maps to one id only."""
        known = self.map.setdefault(recorded, actual)
        assert known == actual, f"recorded id {recorded} maps to both {known} and {actual}"

    def apply(self, value: Any) -> Any:
        """``value`` (a request's arguments) with recorded ids replaced and the password filled in."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return self.map.get(value, value)
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        return ADMIN_PASSWORD if value == "<password>" else value
