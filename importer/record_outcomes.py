"""What each record's row becomes: the outcome tables the report is built from.

One table per entity, one row per record (``record_frame``): rows the checks
refused (``invalid_outcomes``), rows held back by ``--all-or-nothing``
(``all_refused``), rows sent (``stage_outcomes``, from the loader's
``StageResult``), rows a dry run only plans (``dry_outcomes``), and those an
import expects before it writes, for the workbook drafted meanwhile
(``expecting``, docs/architecture.md §9).  Each carries its changes in words
(``with_changes``) and where they sit in the file (``changed_cells``).
``pipeline`` calls these between its stages; they read the plan and the
results and return new tables, never writing to the server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from importer.canonical import CanonicalTable, constant
from importer.catalog import Catalog
from importer.load import StageResult, expected_result
from importer.outcome import LOAD_WAVES, Entity, Problem, Status
from importer.plan import CHANGE_COLUMNS, Plan, StagePlan, owned_stages
from importer.validate import Validation

#: works out the outcomes an import will have if all goes as planned, and their changes
Expected = Callable[[], tuple[list[pd.DataFrame], list[pd.DataFrame]]]


def record_frame(
    entity: Entity,
    frame: pd.DataFrame,
    status: Status | pd.Series,
    reasons: str | pd.Series,
    external_id: pd.Series | str = "",
    server_id: pd.Series | float = np.nan,
) -> pd.DataFrame:
    """Outcomes of one entity's records as a table (one row per record), built column-wise."""
    n = len(frame)
    status = status.astype("category") if isinstance(status, pd.Series) else constant(status.value, n)
    if isinstance(reasons, str):
        reasons = constant(reasons, n)
    return pd.DataFrame(
        {
            "entity": constant(entity.value, n),
            "key": frame["key"],
            "file": frame["_file"],
            "sheet": frame["_sheet"],
            "row": frame["_row"],
            "status": status,
            "external_id": external_id,
            "server_id": server_id,
            "reasons": reasons,
        },
        index=frame.index,
    )


def error_messages(problems: Sequence[Problem]) -> pd.DataFrame:
    """Each record's validation errors joined, keyed by (entity, file, sheet, row)."""
    keys = ["entity", "_file", "_sheet", "_row"]
    found = [
        (p.entity, p.file, p.sheet or "", p.row, p.message)
        for p in problems
        if p.severity == "error" and p.entity and p.row is not None
    ]
    frame = pd.DataFrame(found, columns=[*keys, "message"])
    frame["_row"] = frame["_row"].astype("int64")
    grouped = frame.drop_duplicates().groupby(keys, sort=False)["message"]
    return grouped.agg("; ".join).rename("reasons").reset_index()


def invalid_outcomes(
    canon: CanonicalTable, invalid: pd.Index, mode: str, messages: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Outcomes for rows refused by validation, and their keys (with why) for dependants."""
    status = Status.FAILED if mode == "import" else Status.INVALID
    frame = canon.frame.loc[invalid]
    mine = messages[messages["entity"] == canon.entity.value].drop(columns="entity")
    where = frame[["_file", "_sheet", "_row"]].astype({"_file": object, "_sheet": object, "_row": "int64"})
    joined = where.merge(mine.astype({"_file": object, "_sheet": object}), how="left", on=list(where.columns))
    reasons = pd.Series(joined["reasons"].fillna("invalid").to_numpy(), index=frame.index, dtype=object)
    why = "row " + frame["_row"].astype(str) + ": " + reasons.str.split("; ").str[0]
    firsts = ~frame["key"].duplicated(keep="first")
    failed = dict(zip(frame.loc[firsts, "key"], why[firsts], strict=True))
    return record_frame(canon.entity, frame, status, reasons), failed


def all_refused(
    tables: dict[Entity, CanonicalTable], validation: Validation, mode: str, catalog: Catalog, namespace: str
) -> list[pd.DataFrame]:
    """--all-or-nothing with errors: nothing is written; valid rows say why they were held back."""
    messages = error_messages(validation.problems)
    held = "not written: --all-or-nothing and other rows of the file are invalid"
    outcomes: list[pd.DataFrame] = []
    for entity, canon in tables.items():
        invalid = validation.invalid_rows(entity)
        bad, _ = invalid_outcomes(canon, invalid, mode, messages)
        outcomes += [bad, record_frame(entity, canon.frame.drop(index=invalid), Status.SKIPPED, held)]
    if Entity.INDIVIDUAL in tables:  # a person's IDs, phones and accounts are counted too, as in any run
        for stage in owned_stages(tables[Entity.INDIVIDUAL], catalog, namespace):
            outcomes.append(record_frame(stage.entity, stage.rows, Status.SKIPPED, held, stage.rows["xid"]))
    return outcomes


def changes_of(outcomes: list[pd.DataFrame], plan: Plan) -> list[pd.DataFrame]:
    """Where the changes that stand sit in the file, for these outcomes (see :func:`changed_cells`)."""
    changed = [changed_cells(o, plan.changes.get(Entity(o["entity"].iloc[0]))) for o in outcomes if len(o)]
    return [c for c in changed if c is not None]


def guessed_stages(
    stages: dict[Entity, StagePlan], xids: dict[str, tuple[str, int]]
) -> dict[Entity, StagePlan]:
    """The stages as a re-run of an unchanged file finds them: each record ours unchanged, the rest new.

    A guess made before the server's records are read; :func:`compare_existing`
    then sets the real actions on the stages themselves, which stay untouched here.
    """
    guessed: dict[Entity, StagePlan] = {}
    for entity, stage in stages.items():
        rows = stage.rows.copy()
        ours = rows["xid"].astype(object).isin(xids.keys()).to_numpy()
        codes = np.where(ours, rows["action"].cat.categories.get_loc("unchanged"), 0).astype(np.int8)
        rows["action"] = pd.Categorical.from_codes(codes, categories=rows["action"].cat.categories)
        guessed[entity] = dataclasses.replace(stage, rows=rows)
    return guessed


def as_guessed(stages: dict[Entity, StagePlan], guess: dict[Entity, StagePlan], plan: Plan) -> bool:
    """Whether the plan is the guess: every action the same, no change to show (an unchanged re-run)."""
    if any(c is not None and len(c) for c in plan.changes.values()):
        return False
    return all(stage.rows["action"].equals(guess[e].rows["action"]) for e, stage in stages.items())


def expecting(
    outcomes: list[pd.DataFrame],
    stages: dict[Entity, StagePlan],
    plan: Plan,
    failed_parents: dict[Entity, dict[str, str]],
) -> Expected:
    """How to work out (on the drafting thread) the outcomes so far and those the load stages add if all
    goes as planned, with the changes; what the run changes from here on is copied now."""
    done = list(outcomes)
    parents = {entity: dict(keys) for entity, keys in failed_parents.items()}

    def expected() -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
        records = [*done, *expected_outcomes(stages, plan, parents)]
        return records, changes_of(records, plan)

    return expected


def expected_outcomes(
    stages: dict[Entity, StagePlan], plan: Plan, parents: dict[Entity, dict[str, str]]
) -> list[pd.DataFrame]:
    """The outcomes the load stages will have if the server writes every row sent as planned.

    In the loader's order, wave after wave; a record not sent still skips its
    dependants in the next wave, as in the load (``parents``, the failed parents'
    keys, is the caller's copy: it is added to).
    """
    expected: list[pd.DataFrame] = []
    for wave in LOAD_WAVES:
        results = {
            entity: expected_result(stages[entity], plan.existing.get(entity, {}), parents)
            for entity in wave
            if entity in stages
        }
        for entity, result in results.items():
            parents.setdefault(entity, {}).update(result.failed_keys(stages[entity].rows))
            expected.append(stage_outcomes(stages[entity], result, plan.changes.get(entity)))
    return expected


def stage_outcomes(
    stage: StagePlan, result: StageResult, changes: pd.DataFrame | None = None
) -> pd.DataFrame:
    frame = record_frame(
        stage.entity,
        stage.rows,
        result.status.fillna(Status.SKIPPED).astype(str),
        result.reason.fillna(""),
        stage.rows["xid"],
        result.server_id,
    )
    return with_changes(frame, stage, changes, frame["status"] == Status.UPDATED.value)


def with_changes(
    frame: pd.DataFrame, stage: StagePlan, changes: pd.DataFrame | None, changed: pd.Series
) -> pd.DataFrame:
    """Add each record's planned action and, where ``changed``, its changes in words (before → after)."""
    frame["action"] = stage.rows["action"]  # categorical: three texts, stored once
    frame["changes"] = constant("", len(frame))  # most records change nothing: one text, stored once
    if changes is not None and len(changes):
        frame["changes"] = frame["changes"].astype(object)
        quote = "'" + changes["before"].astype(str) + "'"
        before = quote.where(changes["before"] != "", "(empty)")
        after = ("'" + changes["after"].astype(str) + "'").where(changes["after"] != "", "(empty)")
        after = after.where(~changes["cleared"].astype(bool), "(cleared)")
        text = (changes["column"].astype(str) + ": " + before + " → " + after).groupby(level=0).agg("; ".join)
        hit = text.index[changed.reindex(text.index, fill_value=False).to_numpy(dtype=bool)]
        frame.loc[hit, "changes"] = text[hit]
    return frame


def changed_cells(outcomes: pd.DataFrame, changes: pd.DataFrame | None) -> pd.DataFrame | None:
    """Where each change sits in the file (file, sheet, row + CHANGE_COLUMNS), for changes that stand."""
    if changes is None or not len(changes) or "changes" not in outcomes.columns:
        return None
    shown = outcomes.index[outcomes["changes"].astype(str) != ""]
    lines = changes[changes.index.isin(shown)]
    if not len(lines):
        return None
    where = outcomes.loc[lines.index, ["file", "sheet", "row"]].astype({"file": object, "sheet": object})
    return pd.concat([where, lines[CHANGE_COLUMNS]], axis=1).reset_index(drop=True)


def dry_outcomes(
    stage: StagePlan,
    existing: dict[str, int],
    failed_parents: dict[Entity, dict[str, str]],
    changes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What a real run would do with each row, without sending anything."""
    rows = stage.rows
    status = pd.Series(Status.VALID.value, index=rows.index, dtype=object)
    reasons = pd.Series("would be created", index=rows.index, dtype=object)
    reasons[rows["action"] == "update"] = "would update the registry's record"
    unchanged = rows["action"] == "unchanged"
    status[unchanged] = Status.UNCHANGED.value
    reasons[unchanged] = "already on the server as in the file"
    blocked = stage.blocked_notes(failed_parents, "would be skipped: ", "is invalid")
    if len(blocked):
        status[blocked.index] = Status.SKIPPED.value
        reasons[blocked.index] = blocked
        failed_here = failed_parents.setdefault(stage.entity, {})
        failed_here.update(dict(zip(rows.loc[blocked.index, "key"], reasons[blocked.index], strict=True)))
    frame = record_frame(stage.entity, rows, status, reasons, rows["xid"], rows["key"].map(existing))
    return with_changes(frame, stage, changes, (rows["action"] == "update") & (status == Status.VALID.value))
