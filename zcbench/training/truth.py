"""Ground truth by training, for spaces without a tabulated benchmark.

``zcbench verify`` trains a seeded sample of a space with a stated recipe and writes, beside
its usual outputs, the measured accuracies as a table:

* ``ground_truth.csv``: one row per (dataset, architecture): ``dataset, index, arch,
  test_acc_<E>ep`` (held-out test images), ``valid_acc_<E>ep`` (images held out of the
  training split, when the recipe sets ``valid_size``), ``train_acc_<E>ep``,
  ``train_seconds``;
* ``ground_truth.json``: what the numbers are: the recipe, epochs, the number of training /
  validation / test images, the device, the zcbench version, and a one-line description the
  report prints ("held-out test accuracy after a 5-epoch schedule on 3,000 CIFAR-10 training
  images, measured here by zcbench verify").

:func:`load_truth` reads them back as a :class:`~zcbench.tables.benchmarks.BenchmarkTable`, so
``zcbench report --truth DIR`` correlates proxies against it with the same intervals, top-k
and partial correlations as against NB201's table, and a searcher's oracle queries it
(searchers read the validation accuracy; the report joins the test accuracy). A
:class:`TrainedTruth` also trains architectures the table does not hold yet, with the same
recipe, when a search asks for them (``zcbench search --truth DIR``), and adds them to the
table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench import __version__
from zcbench.errors import DataError, ZCBenchError
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable
from zcbench.tables.datasets import dataset_info
from zcbench.types import Arch

TRUTH_CSV = "ground_truth.csv"
TRUTH_JSON = "ground_truth.json"


def metric_names(epochs: int) -> dict[str, str]:
    """The table's column names for an ``epochs``-epoch schedule."""
    return {k: f"{k}_acc_{epochs}ep" for k in ("test", "valid", "train")}


def describe(meta: dict) -> str:
    """The sentence a report prints about the target (what was measured, how, where)."""
    info = dataset_info(meta["dataset"])
    recipe = meta["recipe"]
    valid = (
        f"; searchers read the accuracy on {meta['valid_images']:,} validation images held "
        "out of the training split"
        if meta.get("valid_images")
        else ""
    )
    return (
        f"held-out test accuracy ({meta['test_images']:,} {info.name} test images) after a "
        f"short {recipe['epochs']}-epoch schedule on {meta['train_images']:,} training images "
        f"(batch {recipe['batch_size']}, lr {recipe['lr']}, seed {recipe['seed']}), measured "
        f"here by zcbench verify on {meta['device']}, not a tabulated benchmark{valid}"
    )


def truth_rows(states: list[dict], dataset: str, epochs: int) -> pd.DataFrame:
    names = metric_names(epochs)
    rows = []
    for s in states:
        if not s.get("done"):
            continue
        last = s["history"][-1]
        row = {"dataset": dataset, "index": int(s["index"]), "arch": s["arch"],
               names["test"]: last["test_acc"]}  # fmt: skip
        if "valid_acc" in last:
            row[names["valid"]] = last["valid_acc"]
        row[names["train"]] = last["train_acc"]
        row["train_seconds"] = round(float(s["train_seconds"]), 1)
        rows.append(row)
    return pd.DataFrame(rows)


def write_truth(
    out: str | os.PathLike[str],
    space: SearchSpace,
    dataset: str,
    states: list[dict],
    recipe,
    *,
    test_set: str,
    device: str,
    n_train: int,
    n_valid: int,
    n_test: int,
) -> Path:
    """Write (or extend) ``ground_truth.csv`` / ``.json`` in ``out`` from finished training
    states. Rows already there for other architectures are kept; a different recipe or
    dataset in the folder is an error (one folder holds one protocol)."""
    from zcbench.spaces import space_ref

    out = Path(out)
    meta = {
        "space": space.name,
        "space_ref": space_ref(space),
        "dataset": dataset_info(dataset).name,
        "recipe": asdict(recipe),
        "test_set": test_set,
        "train_images": n_train,
        "valid_images": n_valid,
        "test_images": n_test,
        "device": str(device),
        "zcbench": __version__,
    }
    new = truth_rows(states, meta["dataset"], recipe.epochs)
    path = out / TRUTH_CSV
    if (out / TRUTH_JSON).is_file():
        old_meta = json.loads((out / TRUTH_JSON).read_text())
        protocol = ("space", "dataset", "recipe", "test_set", "train_images", "valid_images")
        if any(old_meta.get(k) != meta[k] for k in protocol):
            raise ZCBenchError(
                f"{out} holds ground truth measured with another protocol ({old_meta['space']}, "
                f"{old_meta['dataset']}, {old_meta['recipe']}); use another --out"
            )
        if path.is_file():
            old = pd.read_csv(path)
            new = pd.concat([old[~old["index"].isin(new["index"])], new], ignore_index=True)
    meta["description"] = describe(meta)
    new = new.sort_values("index", kind="stable")
    tmp = path.with_suffix(".tmp")
    new.to_csv(tmp, index=False)
    os.replace(tmp, path)  # atomic: a kill leaves the previous table
    (out / TRUTH_JSON).write_text(json.dumps(meta, indent=2) + "\n")
    return path


def _truth_paths(where: str | os.PathLike[str]) -> tuple[Path, Path]:
    p = Path(where)
    csv = p / TRUTH_CSV if p.is_dir() else p
    meta = csv.with_name(TRUTH_JSON)
    if not csv.is_file():
        raise DataError(
            f"no ground truth at {p}; expected a 'zcbench verify' output folder with {TRUTH_CSV}"
        )
    if not meta.is_file():
        raise DataError(
            f"ground truth {csv} has no {TRUTH_JSON} beside it saying how it was measured"
        )
    return csv, meta


def load_truth(where: str | os.PathLike[str]) -> BenchmarkTable:
    """A ``zcbench verify`` folder's (or its ``ground_truth.csv``'s) measured ground truth as a
    :class:`BenchmarkTable`, with ``description``, ``signal`` (validation accuracy where
    measured) and ``final_metric`` (test accuracy) set."""
    csv, meta_path = _truth_paths(where)
    try:
        meta = json.loads(meta_path.read_text())
        frame = pd.read_csv(csv)
    except (json.JSONDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"corrupt ground truth {csv}: {str(exc).splitlines()[0]}") from None
    try:
        names = metric_names(int(meta["recipe"]["epochs"]))
        space = str(meta["space"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"corrupt {meta_path}: expected the recipe and space of the run") from None
    needed = ["dataset", "index", "arch", names["test"]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"corrupt ground truth {csv}: missing column(s) {', '.join(missing)}")
    if frame.duplicated(["dataset", "index"]).any():
        raise DataError(f"corrupt ground truth {csv}: an architecture appears twice")
    frame["index"] = frame["index"].astype(np.int64)
    frame = frame.set_index(["dataset", "index"]).sort_index()
    columns = ["arch"] + [c for c in (names["test"], names["valid"], names["train"]) if c in frame]
    signal = names["valid"] if names["valid"] in frame else names["test"]
    return BenchmarkTable(
        space, frame[columns], str(csv), description=describe(meta), signal=signal,
        final_metric=names["test"],
    )  # fmt: skip


def truth_meta(where: str | os.PathLike[str]) -> dict:
    return json.loads(_truth_paths(where)[1].read_text())


class TrainedTruth:
    """Ground truth that grows by training: the table of a ``zcbench verify`` folder, and
    the recipe to train any architecture it does not hold yet (checkpointed in the same
    folder, so an interrupted search resumes its training)."""

    def __init__(
        self,
        where: str | os.PathLike[str],
        space: SearchSpace,
        *,
        data_dir: str | None = None,
        device: str | None = None,
        progress: bool = False,
    ) -> None:
        from zcbench.training.verify import Recipe

        self.folder = Path(where) if Path(where).is_dir() else Path(where).parent
        self.space = space
        self.meta = truth_meta(self.folder)
        if self.meta["space"] != space.name:
            raise ZCBenchError(
                f"{self.folder} holds ground truth of space {self.meta['space']!r}, "
                f"not {space.name!r}"
            )
        self.recipe = Recipe(**self.meta["recipe"])
        self.data_dir = data_dir
        self.device = device or self.meta["device"]
        self.progress = progress
        self.table = load_truth(self.folder)
        self.trained = 0

    def train(self, archs: list[Arch]) -> None:
        """Train the architectures the table lacks, add them to it (and to the folder)."""
        from zcbench.training.verify import verify

        have = set(self.table.for_dataset(self.meta["dataset"]).index)
        todo = [a for a in archs if self.space.index(a) not in have]
        if not todo:
            return
        keep = [self.space.parse(s) for s in self.table.for_dataset(self.meta["dataset"])["arch"]]
        verify(
            self.space, None, self.meta["dataset"], keep + todo, self.recipe, self.folder,
            device=self.device, test_set=self.meta["test_set"], data_dir=self.data_dir,
            progress=self.progress,
        )  # fmt: skip
        self.trained += len(todo)
        self.table = load_truth(self.folder)
