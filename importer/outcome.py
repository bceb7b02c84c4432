"""What happened to each row: the vocabulary every stage reports in.

Every stage (read, map, validate, resolve, load) speaks of problems in the
same terms, so the report can join them back to the row and cell the clerk
sees, and so that every input row ends with exactly one status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """The one status each record (and each input row) ends with."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # already on the server exactly as in the file: nothing sent
    FAILED = "failed"  # refused by the server, or invalid in a real run
    SKIPPED = "skipped"  # not sent because something it depends on failed
    VALID = "valid"  # dry run: would be written
    INVALID = "invalid"  # dry run: would be refused
    #: An input row only, never a record: some of its records are in the registry, others were
    #: refused by the server or not sent after those committed (``load`` commits per call).
    #: Re-running the file after the fix completes it.
    PARTLY_WRITTEN = "partly written"


class Entity(StrEnum):
    """The canonical tables a spreadsheet is mapped into, in load order."""

    GROUP = "group"
    INDIVIDUAL = "individual"
    REG_ID = "reg_id"
    PHONE = "phone"
    BANK = "bank"
    MEMBERSHIP = "membership"
    RELATIONSHIP = "relationship"


@dataclass(frozen=True, slots=True)
class EntityInfo:
    """Everything the code says of one kind of record it writes, said once (docs/architecture.md §5)."""

    model: str  # the server's model
    prefix: str  # external ids: <namespace>.<prefix>_<key>
    word: str  # one record, in a clerk's words ("household")
    plural: str  # many of them ("households"): summaries, the page's tables, the restart notice
    wave: int  # 1: households and people; 2: what points at them (sent once they have committed)


ENTITIES: dict[Entity, EntityInfo] = {
    Entity.GROUP: EntityInfo("res.partner", "grp", "household", "households", 1),
    Entity.INDIVIDUAL: EntityInfo("res.partner", "ind", "person", "people", 1),
    Entity.REG_ID: EntityInfo("g2p.reg.id", "rid", "ID number", "ID numbers", 2),
    Entity.PHONE: EntityInfo("g2p.phone.number", "tel", "phone number", "phone numbers", 2),
    Entity.BANK: EntityInfo("res.partner.bank", "bnk", "bank account", "bank accounts", 2),
    Entity.MEMBERSHIP: EntityInfo("g2p.group.membership", "mem", "membership", "memberships", 2),
    Entity.RELATIONSHIP: EntityInfo("g2p.reg.rel", "rel", "relationship", "relationships", 2),
}

#: The order records are written in (a dry run reports them in it too).
LOAD_ORDER = tuple(ENTITIES)
#: Stages sent together: a wave only starts when everything it references has committed
#: (IDs and memberships point at people and households by external id).
LOAD_WAVES = tuple(
    tuple(e for e, info in ENTITIES.items() if info.wave == wave)
    for wave in sorted({info.wave for info in ENTITIES.values()})
)

#: What a clerk calls many records of each entity, by the entity's name (report tables).
ENTITY_PLURALS: dict[str, str] = {entity.value: info.plural for entity, info in ENTITIES.items()}


#: Why a run stopped when the person running it asked it to (Ctrl-C, the page's Stop button).
STOPPED_ON_REQUEST = "you asked it to stop; what was already sent is written, nothing more was sent"


#: When one input row yields several records (a roster row is an individual
#: and a membership), the row takes the status of its worst record.
STATUS_SEVERITY: dict[Status, int] = {
    Status.FAILED: 6,
    Status.INVALID: 5,
    Status.SKIPPED: 4,
    Status.CREATED: 3,
    Status.UPDATED: 2,
    Status.VALID: 1,
    Status.UNCHANGED: 0,
}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from, as the clerk sees it: file, sheet, row, column."""

    file: str
    sheet: str | None = None
    row: int | None = None  # the row number shown by Excel or a text editor
    column: str | None = None  # the clerk's own header text

    def describe(self) -> str:
        """A short human phrase: ``roster.xlsx, sheet 'People', row 12, column 'Sex'``."""
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, with a stable code, where it is and a sentence a clerk understands.

    ``severity`` is ``"error"`` (the record is not written) or ``"warning"``
    (written, but worth a look).  ``entity``/``key`` tie the problem to a
    canonical record when there is one, so dependants can be skipped.
    """

    code: str
    message: str
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    suggestion: str | None = None
    severity: str = "error"
    entity: str | None = None
    key: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.sheet, self.row, self.column)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class ImportFailure(Exception):
    """The run cannot go on at all (unreadable file, bad mapping, no connection).

    Carries the problems that explain why; the CLI turns it into exit code 2
    and a plain message, never a traceback.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = problems or []


@dataclass(slots=True)
class RecordOutcome:
    """The fate of one canonical record (a person, a household, an ID, a membership)."""

    entity: str
    key: str
    file: str
    sheet: str | None
    row: int | None
    status: Status
    external_id: str | None = None
    server_id: int | None = None
    reasons: list[str] = field(default_factory=list)
