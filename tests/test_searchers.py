"""Contract over every searcher, the oracle's accounting, and the search CLI."""

import math

import pandas as pd
import pytest

from zcbench.benchmarks import load_nb201_table
from zcbench.cli import main
from zcbench.errors import ZCBenchError
from zcbench.oracle import BudgetExhausted, Oracle
from zcbench.search import run_once, summarise
from zcbench.searchers import get_searcher, list_searchers
from zcbench.types import Arch

pytestmark = pytest.mark.data
TABLE_SEARCHERS = [n for n in list_searchers() if not get_searcher(n).needs_proxy]


@pytest.fixture(scope="module")
def table():
    return load_nb201_table()


@pytest.mark.parametrize("name", TABLE_SEARCHERS)
def test_searcher_contract(nb201, table, name):
    trace = run_once(name, nb201, table, "cifar10", 37, seed=3)
    assert len(trace) == 37 and list(trace.step) == list(range(1, 38))  # budget, exactly
    assert trace["index"].is_unique  # each query a distinct architecture
    assert all(nb201.index(nb201.parse(a)) == i for a, i in zip(trace.arch, trace["index"]))
    again = run_once(name, nb201, table, "cifar10", 37, seed=3)
    pd.testing.assert_frame_equal(trace, again)  # identical traces from identical seeds
    other = run_once(name, nb201, table, "cifar10", 37, seed=4)
    assert not trace["index"].equals(other["index"])
    signal = table.get("cifar10", "valid_acc_12ep")
    assert (trace.signal.to_numpy() == signal.loc[trace["index"]].to_numpy()).all()
    assert trace.incumbent_signal.is_monotonic_increasing


def test_oracle_counts_distinct_queries_and_refuses_past_budget(nb201, table):
    oracle = Oracle(nb201, table, "cifar10", budget=2)
    a, b, c = (nb201.from_index(i) for i in (0, 1, 2))
    first = oracle.query(a)
    assert oracle.query(a) == first and oracle.queries == 1  # a repeat is free
    oracle.query(b)
    with pytest.raises(BudgetExhausted):
        oracle.query(c)
    with pytest.raises(ZCBenchError, match="no proxy source"):
        oracle.proxy(a)
    with pytest.raises(ZCBenchError):
        oracle.query(Arch("nb201", (9,) * 6))  # not in the space


def test_latency_constraint(nb201, table):
    lat = table.for_dataset("cifar10")["lat_pixel3"]
    limit = float(lat.quantile(0.2))
    oracle = Oracle(nb201, table, "cifar10", budget=50, max_latency={"pixel3": limit})
    slow = nb201.from_index(int(lat.idxmax()))
    assert oracle.query(slow) == -math.inf
    trace = run_once("random", nb201, table, "cifar10", 50, 0, max_latency={"pixel3": limit})
    assert (lat.loc[trace.incumbent.dropna().astype(int)] <= limit).all()
    with pytest.raises(ZCBenchError, match="unknown latency device 'toaster'"):
        Oracle(nb201, table, "cifar10", 5, max_latency={"toaster": 1.0})


def test_summary_and_cli(tmp_path, capsys, table):
    out = tmp_path / "s"
    code = main(
        ["search", "--searcher", "random,rea", "--budget", "20", "--runs", "4", "--out", str(out)]
        + ["--max-latency", "pixel3=1000", "-q"]
    )
    assert code == 0
    summary = pd.read_csv(out / "summary.csv")
    needed = {"searcher", "dataset", "budget", "runs", "mean_test_acc", "std_test_acc"}
    assert needed | {"ci_lo", "ci_hi", "mean_regret"} <= set(summary.columns)
    assert set(summary.searcher) == {"random", "rea"} and (summary.runs == 4).all()
    trace = pd.read_csv(out / "trace.csv")
    assert len(trace) == 2 * 4 * 20
    assert {"run", "step", "arch", "signal", "incumbent_test_acc"} <= set(trace.columns)
    assert (out / "anytime_cifar10_20.png").is_file()
    assert (summary.ci_lo <= summary.mean_test_acc).all() and (summary.mean_regret >= 0).all()
    assert summarise(trace, table).equals(summarise(trace, table))
    assert main(["search", "--searcher", "nope", "--out", str(out)]) == 2
    assert "unknown searcher 'nope'" in capsys.readouterr().err
    assert main(["search", "--max-latency", "pixel3", "--out", str(out)]) == 2
    assert "bad --max-latency" in capsys.readouterr().err
