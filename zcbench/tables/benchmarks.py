"""Benchmark ground-truth tables.

One loader turns ``nb201/ground_truth.csv`` and ``nb201/latency_help.csv`` into a validated
:class:`BenchmarkTable`: a pandas DataFrame indexed by ``(dataset, index)`` with an ``arch``
column and one column per named metric. Missing values are NaN, never zero: e.g.
``valid_acc_200ep`` exists for cifar10 only, and ``params_m_c10`` / ``lat_*`` describe the
CIFAR-10-sized network, so they are filled on cifar10 rows only; HW-NAS-Bench's ``-1``
"not measured" sentinel (edge-TPU latency of 14,097 rows) becomes NaN.

Metric names are defined once, here (:class:`Metric` and the hardware lists).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.errors import DataError, unknown
from zcbench.paths import data_file
from zcbench.tables.datasets import DATASETS, dataset_info


class Metric(str, Enum):
    """Named ground-truth metrics (values are the column names of :class:`BenchmarkTable`)."""

    TEST_ACC_200EP = "test_acc_200ep"
    VALID_ACC_200EP = "valid_acc_200ep"
    C10VALID_TEST_ACC_200EP = "c10valid_test_acc_200ep"
    NB201_TEST_ACC_200EP = "nb201_test_acc_200ep"
    TEST_ACC_12EP = "test_acc_12ep"
    VALID_ACC_12EP = "valid_acc_12ep"
    PARAMS_M_C10 = "params_m_c10"

    def __str__(self) -> str:
        return self.value


ACCURACY_METRICS: tuple[str, ...] = tuple(m.value for m in Metric if m is not Metric.PARAMS_M_C10)
#: HW-NAS-Bench measurements of each dataset's network (ms / mJ)
HWNB_METRICS: tuple[str, ...] = (
    "hwnb_edgegpu_latency", "hwnb_edgegpu_energy", "hwnb_raspi4_latency",
    "hwnb_edgetpu_latency", "hwnb_pixel3_latency", "hwnb_eyeriss_latency",
    "hwnb_eyeriss_energy", "hwnb_eyeriss_arithmetic_intensity", "hwnb_fpga_latency",
    "hwnb_fpga_energy",
)  # fmt: skip
#: HELP latencies (ms) of the CIFAR-10 network on 23 devices (some at several batch sizes)
HELP_METRICS: tuple[str, ...] = (
    "lat_1080ti_1", "lat_1080ti_256", "lat_1080ti_32", "lat_2080ti_1", "lat_2080ti_256",
    "lat_2080ti_32", "lat_essential_ph_1", "lat_eyeriss", "lat_fpga", "lat_gold_6226",
    "lat_gold_6240", "lat_pixel2", "lat_pixel3", "lat_raspi4", "lat_samsung_a50",
    "lat_samsung_s7", "lat_silver_4114", "lat_silver_4210r", "lat_titan_rtx_1",
    "lat_titan_rtx_256", "lat_titan_rtx_32", "lat_titanx_1", "lat_titanx_256", "lat_titanx_32",
    "lat_titanxp_1", "lat_titanxp_256", "lat_titanxp_32",
)  # fmt: skip
ALL_METRICS: tuple[str, ...] = (
    ACCURACY_METRICS + (Metric.PARAMS_M_C10.value,) + HWNB_METRICS + HELP_METRICS
)

GROUND_TRUTH_FILE = "nb201/ground_truth.csv"
LATENCY_FILE = "nb201/latency_help.csv"
NB201_SIZE = 15_625
_CSV_RENAME = {"params_M_c10": Metric.PARAMS_M_C10.value}


@dataclass(frozen=True)
class BenchmarkTable:
    """Ground truth of one search space: ``frame`` is indexed by ``(dataset, index)``."""

    space: str
    frame: pd.DataFrame
    source: str = ""
    #: what the accuracies are, for reports (a measured table says how it was measured)
    description: str = ""
    #: what a searcher sees by default (NATS-Bench's protocol: the 12-epoch validation
    #: accuracy) and the metric its final pick is judged by
    signal: str = "valid_acc_12ep"
    final_metric: str = "test_acc_200ep"

    @functools.cached_property
    def _dataset_names(self) -> tuple[str, ...]:
        # every get() asks; the frame of a table is never changed after it is built
        return tuple(self.frame.index.get_level_values("dataset").unique())

    @property
    def datasets(self) -> list[str]:
        return list(self._dataset_names)

    @property
    def metrics(self) -> list[str]:
        return [c for c in self.frame.columns if c != "arch"]

    def _dataset(self, dataset: str) -> str:
        name = dataset_info(dataset).name if dataset not in self.datasets else dataset
        if name not in self.datasets:
            raise unknown(f"dataset for this {self.space} table", dataset, self.datasets)
        return name

    def _metric(self, metric: str | Metric) -> str:
        name = str(metric)
        if name not in self.frame.columns or name == "arch":
            raise unknown("metric", name, self.metrics)
        return name

    def for_dataset(self, dataset: str) -> pd.DataFrame:
        """All columns for one dataset, indexed by architecture index."""
        return self.frame.xs(self._dataset(dataset), level="dataset")

    def get(self, dataset: str, metric: str | Metric, indices=None) -> pd.Series:
        """One metric for one dataset as a Series indexed by architecture index (NaN = missing).

        ``indices`` (optional) selects and orders rows; unknown indexes raise a one-line error.
        """
        series = self.for_dataset(dataset)[self._metric(metric)]
        if indices is None:
            return series
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        missing = ~np.isin(idx, series.index.to_numpy())
        if missing.any():
            raise DataError(
                f"architecture index {int(idx[missing][0])} is not in the {self.space} table "
                f"for {dataset}; expected 0..{int(series.index.max())}"
            )
        return series.loc[idx]

    def available(self, dataset: str, metric: str | Metric) -> bool:
        """Whether ``metric`` has any value for ``dataset``."""
        return bool(self.get(dataset, metric).notna().any())


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"corrupt {what} {path}: {str(exc).splitlines()[0]}") from None


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"corrupt {what} {path}: missing column(s) {', '.join(missing[:5])}"
            f"{' ...' if len(missing) > 5 else ''}; expected the columns described in the data "
            "README"
        )


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], path: Path, what: str) -> None:
    for col in columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            converted = pd.to_numeric(frame[col], errors="coerce")
            bad = converted.isna() & frame[col].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"corrupt {what} {path}: non-numeric value {frame[col].iloc[row]!r} in "
                    f"column {col} (data row {row + 1}); expected a number or empty"
                )
            frame[col] = converted


def _check_range(series: pd.Series, lo: float, hi: float, path: Path, what: str) -> None:
    values = series.to_numpy(dtype=float)
    bad = ~np.isnan(values) & ((values < lo) | (values > hi))
    if bad.any():
        raise DataError(
            f"corrupt {what} {path}: {series.name}={values[bad][0]} outside [{lo}, {hi}]"
        )


@functools.lru_cache(maxsize=4)
def _load_nb201(gt_path: Path, lat_path: Path | None) -> BenchmarkTable:
    from zcbench.spaces.nb201 import decode_genotype, format_nb201, official_order

    what = "NB201 ground-truth table"
    raw = _read_csv(gt_path, what)
    expected = ("index", "arch", "dataset") + tuple(
        c for c in ACCURACY_METRICS + ("params_M_c10",) + HWNB_METRICS
    )
    _require_columns(raw, expected, gt_path, what)
    raw = raw.rename(columns=_CSV_RENAME)
    metric_cols = ACCURACY_METRICS + (Metric.PARAMS_M_C10.value,) + HWNB_METRICS
    _numeric(raw, ("index",) + metric_cols, gt_path, what)

    for col in ("index", "arch", "dataset"):
        empty = raw[col].isna().to_numpy()
        if empty.any():
            raise DataError(
                f"corrupt {what} {gt_path}: empty {col!r} in data row "
                f"{int(np.flatnonzero(empty)[0]) + 1} of {len(raw)} (truncated file?)"
            )
    datasets = sorted(raw["dataset"].astype(str).unique())
    unknown_ds = [d for d in datasets if d not in DATASETS]
    if unknown_ds:
        raise DataError(
            f"corrupt {what} {gt_path}: unknown dataset {unknown_ds[0]!r}; expected "
            + ", ".join(DATASETS)
        )
    for ds, group in raw.groupby("dataset"):
        idx = group["index"].to_numpy()
        if len(idx) != NB201_SIZE or len(np.unique(idx)) != NB201_SIZE:
            raise DataError(
                f"corrupt {what} {gt_path}: {ds} has {len(idx)} rows "
                f"({len(np.unique(idx))} distinct indexes); expected one per index "
                f"0..{NB201_SIZE - 1}"
            )
    # every (index, arch) pair must agree with the official order (parses every string)
    index_to_code, _ = official_order(gt_path)
    official = np.array(
        [format_nb201(decode_genotype(int(c))) for c in index_to_code], dtype=object
    )
    mismatch = official[raw["index"].to_numpy(dtype=np.int64)] != raw["arch"].to_numpy()
    if mismatch.any():
        row = int(np.flatnonzero(mismatch)[0])
        raise DataError(
            f"corrupt {what} {gt_path}: index {int(raw['index'].iloc[row])} names two different "
            "architectures across datasets"
        )
    for col in ACCURACY_METRICS:
        _check_range(raw[col], 0.0, 100.0, gt_path, what)
    for col in HWNB_METRICS:  # HW-NAS-Bench writes -1 where it has no measurement
        raw.loc[raw[col] == -1, col] = np.nan
    for col in (Metric.PARAMS_M_C10.value,) + HWNB_METRICS:
        _check_range(raw[col], 0.0, np.inf, gt_path, what)

    raw["index"] = raw["index"].astype(np.int64)
    frame = raw.set_index(["dataset", "index"]).sort_index()
    # params of the CIFAR-10 network: only meaningful on cifar10 rows
    c10 = frame.index.get_level_values("dataset") == "cifar10"
    frame.loc[~c10, Metric.PARAMS_M_C10.value] = np.nan

    source = str(gt_path)
    if lat_path is not None:
        lwhat = "HELP latency table"
        lat = _read_csv(lat_path, lwhat)
        _require_columns(lat, ("index", "arch") + HELP_METRICS, lat_path, lwhat)
        _numeric(lat, ("index",) + HELP_METRICS, lat_path, lwhat)
        if len(lat) != NB201_SIZE or lat["index"].nunique() != NB201_SIZE:
            raise DataError(
                f"corrupt {lwhat} {lat_path}: {len(lat)} rows; expected one per index "
                f"0..{NB201_SIZE - 1}"
            )
        lat["index"] = lat["index"].astype(np.int64)
        if (official[lat["index"].to_numpy()] != lat["arch"].to_numpy()).any():
            raise DataError(
                f"corrupt {lwhat} {lat_path}: index/arch pairs disagree with {gt_path.name}"
            )
        for col in HELP_METRICS:
            _check_range(lat[col], 0.0, np.inf, lat_path, lwhat)
        lat = lat.set_index("index")[list(HELP_METRICS)]
        for col in HELP_METRICS:
            frame[col] = np.nan
        rows = frame.index[c10]
        frame.loc[rows, list(HELP_METRICS)] = lat.loc[rows.get_level_values("index")].to_numpy()
        source += f" + {lat_path}"
    columns = ["arch"] + [c for c in ALL_METRICS if c in frame.columns]
    return BenchmarkTable("nb201", frame[columns], source)


def load_nb201_table(
    data_dir: str | os.PathLike[str] | None = None, *, latency: bool = True
) -> BenchmarkTable:
    """Load and validate the NB201 table (cached per file); DataError on missing/corrupt files."""
    gt = data_file(GROUND_TRUTH_FILE, data_dir).resolve()
    lat = data_file(LATENCY_FILE, data_dir).resolve() if latency else None
    return _load_nb201(gt, lat)
