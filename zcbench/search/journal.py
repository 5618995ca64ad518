"""A search's finished runs, kept as they finish, so that an interrupted search resumes.

``zcbench search --out DIR`` appends each finished run's trace to ``DIR/runs.partial.csv``
(the job's settings in ``DIR/runs.partial.json``). Run again with the same ``--out`` and
settings, it reads those runs back and makes only the others: a run depends only on its
searcher, dataset, budget and seed, so the outputs are the ones of a search never interrupted
(tests/test_searchers.py checks it, byte for byte). Once the outputs are written the journal
is removed. A journal left by a search with other settings is a one-line error (pick another
``--out`` or remove it). A run whose rows were cut short (the process killed while writing)
is dropped and made again.
"""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path

import pandas as pd

from zcbench.errors import ZCBenchError

#: (searcher, dataset, budget) of a search job, and a run's number in it
Cell = tuple[str, str, int]
Key = tuple[Cell, int]
_CELL = ["searcher", "dataset", "budget", "run"]
#: columns that lose their type in CSV: node indices with gaps (no incumbent yet), and text
_DTYPES = {"incumbent": "Int64", "arch": str, "searcher": str, "dataset": str}


class RunJournal:
    def __init__(self, out: str | os.PathLike[str], settings: dict) -> None:
        self.path = Path(out) / "runs.partial.csv"
        self.meta = Path(out) / "runs.partial.json"
        self.settings = json.loads(json.dumps(settings))  # as it reads back

    def read(self) -> dict[Key, pd.DataFrame]:
        """The complete runs of an earlier attempt at this search ({} when there is none)."""
        if not self.path.exists():
            return {}
        try:
            before = json.loads(self.meta.read_text())
        except (OSError, ValueError):
            before = None
        if before != self.settings:
            differ = (
                ", ".join(
                    f"{k} {before.get(k)!r} vs {v!r}"
                    for k, v in self.settings.items()
                    if before.get(k) != v
                )
                if isinstance(before, dict)
                else f"{self.meta.name} is missing or unreadable"
            )
            raise ZCBenchError(
                f"{self.path} holds runs of a search with other settings ({differ}); "
                "use another --out, or remove it to start again"
            )
        text = self.path.read_text()
        if not text.endswith("\n"):  # cut short mid-line: keep what ends in a newline
            text = text[: text.rfind("\n") + 1]
        if text.count("\n") < 2:  # a header at most: nothing finished
            self.path.unlink()
            return {}
        try:
            rows = pd.read_csv(StringIO(text), dtype=_DTYPES)
        except (ValueError, pd.errors.ParserError) as exc:
            raise ZCBenchError(
                f"{self.path} is corrupt ({exc}); remove it to start again"
            ) from None
        runs, kept = {}, []
        for (searcher, dataset, budget, run), group in rows.groupby(_CELL, sort=False):
            trace = group.drop(columns=_CELL).reset_index(drop=True)
            if list(trace["step"]) == list(range(1, int(budget) + 1)):  # complete
                runs[(searcher, dataset, int(budget)), int(run)] = trace
                kept.append(group)
        if sum(map(len, kept)) < len(rows) or len(text) < self.path.stat().st_size:
            # keep only whole runs, so that what is appended next starts on its own line
            whole = pd.concat(kept) if kept else rows.iloc[:0]
            self.path.write_text(whole.to_csv(index=False))
        return runs

    def add(self, cell: Cell, run: int, trace: pd.DataFrame) -> None:
        """Append one finished run (one write, flushed)."""
        fresh = not self.path.exists()
        if fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.meta.write_text(json.dumps(self.settings, indent=1) + "\n")
        rows = trace.copy()
        for name, value in zip(_CELL, (*cell, run)):
            rows.insert(_CELL.index(name), name, value)
        with self.path.open("a") as fh:
            fh.write(rows.to_csv(index=False, header=fresh))
            fh.flush()

    def finish(self) -> None:
        """The search's outputs are written: the journal goes."""
        self.path.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)
