"""Which mappings the page offers, and which one fits an uploaded file best.

"Detect from the headers" lets a clerk who does not know the layout's name
upload anyway: the mapping whose columns (and sheets) best match the file's
headers wins, and the page says which one it picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from importer.mapping import Mapping, load_mapping
from importer.outcome import ENTITY_PLURALS, ImportFailure
from importer.read import SourceTable

#: Below this share of a mapping's columns found in the file, it is not a match.
MIN_SCORE = 0.6


@dataclass(frozen=True)
class MappingChoice:
    """A mapping as the page lists it."""

    key: str  # the file's stem, used in forms and URLs
    name: str
    description: str
    path: Path


def list_mappings(folder: Path) -> list[MappingChoice]:
    """Every readable mapping in ``folder``, sorted by name; broken ones are left out."""
    choices: list[MappingChoice] = []
    for path in sorted(Path(folder).glob("*.y*ml")):
        try:
            mapping = load_mapping(path)
        except ImportFailure:
            continue
        choices.append(MappingChoice(path.stem, mapping.name, mapping.description, path))
    return choices


def score(mapping: Mapping, tables: Sequence[SourceTable]) -> float:
    """Share of the columns each entity reads that its table has (0..1), averaged over entities.

    An entity bound to a sheet only looks at that sheet; one without a sheet
    takes the best table, so a flat roster and a three-sheet workbook are
    told apart by the sheets as well as by the headers.
    """
    if not mapping.entities:
        return 0.0
    total = 0.0
    for spec in mapping.entities.values():
        wanted = {c.strip().casefold() for c in spec.columns()}
        if not wanted:
            continue
        best = 0.0
        for table in tables:
            if not spec.source.matches(table):
                continue
            headers = {str(h).strip().casefold() for h in table.frame.columns}
            best = max(best, len(wanted & headers) / len(wanted))
        total += best
    return total / len(mapping.entities)


def detect_mapping(
    choices: Sequence[MappingChoice], tables: Sequence[SourceTable]
) -> tuple[MappingChoice | None, float]:
    """The best-fitting mapping and its score, or ``(None, best score)`` when none fits well enough.

    Ties go to the mapping that reads more columns: it explains more of the file.
    """
    ranked: list[tuple[float, int, MappingChoice]] = []
    for choice in choices:
        mapping = load_mapping(choice.path)
        n_columns = sum(len(s.columns()) for s in mapping.entities.values())
        ranked.append((score(mapping, tables), n_columns, choice))
    if not ranked:
        return None, 0.0
    ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
    best_score, _, best = ranked[0]
    return (best if best_score >= MIN_SCORE else None), best_score


@dataclass(frozen=True)
class EntityFit:
    """The columns one entity of a layout reads, each found in the file or not."""

    what: str  # "people", "households"...
    where: str  # "sheet 'People'", "the only table"...
    columns: list[tuple[str, bool]]  # (column, found)
    table_found: bool = True  # False: the file has no sheet (or file) by the name this entity reads


@dataclass(frozen=True)
class LayoutFit:
    """How well one layout fits an uploaded file, column by column, for the clerk to judge."""

    choice: MappingChoice
    score: float
    entities: list[EntityFit]
    ignored: list[tuple[str, list[str]]]  # (table label, its columns this layout does not read)

    @property
    def missing(self) -> int:
        return sum(1 for e in self.entities for _, found in e.columns if not found)

    @property
    def percent(self) -> int:
        return round(100 * self.score)


def _headers(table: SourceTable) -> list[str]:
    return [str(h) for h in table.frame.columns]


def _fold(text: str) -> str:
    return text.strip().casefold()


def layout_fit(choice: MappingChoice, tables: Sequence[SourceTable]) -> LayoutFit:
    """Compare a layout's expected columns with the file's: found, missing, and ignored."""
    mapping = load_mapping(choice.path)
    entities: list[EntityFit] = []
    read: dict[int, set[str]] = {i: set() for i in range(len(tables))}
    for entity, spec in mapping.entities.items():
        wanted = list(dict.fromkeys(spec.columns()))
        candidates = [i for i, t in enumerate(tables) if spec.source.matches(t)]
        best = max(
            candidates,
            key=lambda i: len({_fold(c) for c in wanted} & {_fold(h) for h in _headers(tables[i])}),
            default=None,
        )
        have = {_fold(h) for h in _headers(tables[best])} if best is not None else set()
        for i in candidates:
            read[i] |= {_fold(c) for c in wanted}
        entities.append(
            EntityFit(
                what=ENTITY_PLURALS.get(entity.value, entity.value),
                where=spec.source.describe(),
                columns=[(c, _fold(c) in have) for c in wanted],
                table_found=bool(candidates),
            )
        )
    ignored = []
    for i, table in enumerate(tables):
        left = [h for h in _headers(table) if _fold(h) not in read[i]]
        if left:
            ignored.append((table.label, left))
    return LayoutFit(choice, score(mapping, tables), entities, ignored)


def layout_fits(choices: Sequence[MappingChoice], tables: Sequence[SourceTable]) -> list[LayoutFit]:
    """Every layout's fit, the closest first: what a clerk chooses from when none matched."""
    fits = [layout_fit(c, tables) for c in choices]
    return sorted(fits, key=lambda f: (-f.score, f.missing, f.choice.name))
