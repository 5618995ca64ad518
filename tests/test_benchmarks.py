import shutil

import numpy as np
import pandas as pd
import pytest

from zcbench.errors import DataError, UnknownNameError
from zcbench.paths import data_dir
from zcbench.tables.benchmarks import ALL_METRICS, HELP_METRICS, Metric, load_nb201_table

pytestmark = pytest.mark.data


def test_shape_and_columns(table):
    assert table.space == "nb201"
    assert table.frame.shape == (46_875, 1 + len(ALL_METRICS))
    assert sorted(table.datasets) == ["ImageNet16-120", "cifar10", "cifar100"]
    assert table.metrics == list(ALL_METRICS)


def test_checked_facts_from_the_readme(table):
    best = {
        "cifar10": (6111, 94.3733),
        "cifar100": (9930, 73.5133),
        "ImageNet16-120": (857, 47.3111),
    }
    for ds, (index, acc) in best.items():
        series = table.get(ds, Metric.TEST_ACC_200EP)
        assert series.idxmax() == index
        assert series.max() == pytest.approx(acc, abs=1e-4)
    none_cell = [table.get(ds, "test_acc_200ep", [1651]).iloc[0] for ds in best]
    assert none_cell == pytest.approx([10.0, 1.0, 0.833], abs=1e-3)


def test_missing_metrics_are_nan_not_zero(table):
    for ds in ("cifar100", "ImageNet16-120"):
        for m in ("valid_acc_200ep", "params_m_c10", *HELP_METRICS[:3]):
            assert table.get(ds, m).isna().all()
    c10 = table.for_dataset("cifar10")
    assert c10[["valid_acc_200ep", "params_m_c10", *HELP_METRICS]].notna().all().all()
    edgetpu = table.frame["hwnb_edgetpu_latency"]
    assert edgetpu.isna().sum() == 14_097 and (edgetpu.dropna() > 0).all()


def test_get_selects_and_orders(table):
    s = table.get("c10", "test_acc_12ep", [5, 1, 3])
    assert list(s.index) == [5, 1, 3]
    with pytest.raises(DataError, match="index 99999 is not in"):
        table.get("cifar10", "test_acc_12ep", [99_999])
    with pytest.raises(UnknownNameError, match="unknown metric 'acc'"):
        table.get("cifar10", "acc")
    with pytest.raises(UnknownNameError, match="unknown dataset"):
        table.get("mnist", "test_acc_12ep")


@pytest.fixture()
def data_copy(tmp_path):
    """A writable copy of the data directory layout (files linked, nb201 copied)."""
    src = data_dir()
    (tmp_path / "nb201").mkdir()
    for f in ("ground_truth.csv", "latency_help.csv"):
        shutil.copy(src / "nb201" / f, tmp_path / "nb201" / f)
    (tmp_path / "images").symlink_to(src / "images")
    return tmp_path


def _one_line_error(path, match):
    with pytest.raises(DataError, match=match) as err:
        load_nb201_table(path)
    assert "\n" not in str(err.value)


def test_missing_file(data_copy):
    (data_copy / "nb201" / "latency_help.csv").unlink()
    _one_line_error(data_copy, "missing data file .*latency_help.csv")


def test_truncated_file(data_copy):
    gt = data_copy / "nb201" / "ground_truth.csv"
    gt.write_bytes(gt.read_bytes()[:2_000_000])
    _one_line_error(data_copy, "corrupt")


def test_missing_column(data_copy):
    gt = data_copy / "nb201" / "ground_truth.csv"
    pd.read_csv(gt).drop(columns=["test_acc_12ep"]).to_csv(gt, index=False)
    _one_line_error(data_copy, "missing column.*test_acc_12ep")


def test_non_numeric_value(data_copy):
    gt = data_copy / "nb201" / "ground_truth.csv"
    frame = pd.read_csv(gt)
    frame["test_acc_200ep"] = frame["test_acc_200ep"].astype(object)
    frame.loc[17, "test_acc_200ep"] = "n/a?"
    frame.to_csv(gt, index=False)
    _one_line_error(data_copy, "non-numeric value 'n/a\\?' in column test_acc_200ep")


def test_out_of_range_accuracy(data_copy):
    gt = data_copy / "nb201" / "ground_truth.csv"
    frame = pd.read_csv(gt)
    frame.loc[3, "test_acc_12ep"] = 140.0
    frame.to_csv(gt, index=False)
    _one_line_error(data_copy, "test_acc_12ep=140.0 outside")


def test_binary_garbage(data_copy):
    gt = data_copy / "nb201" / "ground_truth.csv"
    gt.write_bytes(np.random.default_rng(0).bytes(5000))
    _one_line_error(data_copy, "corrupt")
