"""Objects set aside on disk by a chunked run, appended one after another and read back in order.

A chunked run keeps memory a block's worth by writing what it must come back
to later into its temporary folder (docs/architecture.md §8): the pieces of a
chunk whose rows are still to come, the rows a long sheet's copy will show.
Each is a sequence of pickles in one file, appended as the run goes; the file
is the run's own, so pickle's trust in its input holds.
"""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path
from typing import Any


def append(path: Path, item: Any) -> None:
    """Add ``item`` at the end of the file ``path`` (made if absent)."""
    with path.open("ab") as handle:
        pickle.dump(item, handle)


def read_back(path: Path) -> list[Any]:
    """Everything appended to ``path``, in the order it was written; nothing if there is no file."""
    items: list[Any] = []
    with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
        while True:
            try:
                items.append(pickle.load(handle))
            except EOFError:
                return items
    return items
