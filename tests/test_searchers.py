"""Contract over every searcher, the oracle's accounting, and the search CLI."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.cli import main
from zcbench.engine.store import ResultStore
from zcbench.errors import ZCBenchError
from zcbench.search.loop import parse_searcher, run_once, summarise
from zcbench.search.oracle import BudgetExhausted, Oracle
from zcbench.search.proxy_source import StoreProxySource
from zcbench.searchers import get_searcher, list_searchers
from zcbench.tables.benchmarks import load_nb201_table
from zcbench.types import Arch

pytestmark = pytest.mark.data
#: zero-cost guided searchers run with small candidate sets here (the proxy is #params, real
#: but cheap: each candidate's model is built and counted)
SMALL = {"zc": "zc:n=60", "zc-rea": "zc-rea:n=40", "predictor": "predictor:n=60:trees=10"}


@pytest.fixture(scope="module")
def table():
    return load_nb201_table()


@pytest.fixture(scope="module")
def source(tmp_path_factory, nb201):
    store = ResultStore(tmp_path_factory.mktemp("zc") / "proxies.db")
    yield StoreProxySource(store, nb201, "cifar10", "params", progress=False)
    store.close()


@pytest.mark.parametrize("name", list_searchers())
def test_searcher_contract(nb201, table, source, name):
    spec = SMALL.get(name, name)
    extra = {"proxy_source": source} if get_searcher(name).needs_proxy else {}
    trace = run_once(spec, nb201, table, "cifar10", 37, seed=3, **extra)
    assert len(trace) == 37 and list(trace.step) == list(range(1, 38))  # budget, exactly
    assert trace["index"].is_unique  # each query a distinct architecture
    assert all(nb201.index(nb201.parse(a)) == i for a, i in zip(trace.arch, trace["index"]))
    again = run_once(spec, nb201, table, "cifar10", 37, seed=3, **extra)
    pd.testing.assert_frame_equal(trace, again)  # identical traces from identical seeds
    other = run_once(spec, nb201, table, "cifar10", 37, seed=4, **extra)
    assert not trace["index"].equals(other["index"])
    if extra:
        assert (trace.proxy_evaluations > 0).all()
    signal = table.get("cifar10", "valid_acc_12ep")
    assert (trace.signal.to_numpy() == signal.loc[trace["index"]].to_numpy()).all()
    assert trace.incumbent_signal.is_monotonic_increasing


def test_zero_cost_searchers_follow_the_proxy(nb201, table, source):
    # zc with budget 1 is NASWOT's protocol: the best of n uniform candidates by the proxy
    candidates = np.random.default_rng(5).permutation(len(nb201))[:60]
    params = source.scores([nb201.from_index(int(i)) for i in candidates])[:, 0]
    trace = run_once("zc:n=60", nb201, table, "cifar10", 1, seed=5, proxy_source=source)
    assert trace["index"].iloc[0] == candidates[int(np.argmax(params))]
    assert trace.proxy_evaluations.iloc[0] == 60
    # zc-rea's initial population is the proxy's top 10 of its candidates, best first
    candidates = np.random.default_rng(6).permutation(len(nb201))[:40]
    params = source.scores([nb201.from_index(int(i)) for i in candidates])[:, 0]
    top = candidates[np.argsort(-params, kind="stable")[:10]]
    trace = run_once("zc-rea:n=40", nb201, table, "cifar10", 10, seed=6, proxy_source=source)
    assert list(trace["index"]) == list(top)


def test_zc_prefilter_keeps_the_cheap_proxys_top_k_ties_included(nb201, table, source):
    # stage 1: flops ranks all 60 candidates; stage 2: the run's proxy (#params) picks among
    # the kept ones. Every candidate tied with the 8th by flops survives (NB201 cells share
    # FLOP counts), so the kept set does not depend on the draw order.
    candidates = [
        nb201.from_index(int(i)) for i in np.random.default_rng(7).permutation(len(nb201))[:60]
    ]
    flops = source.sibling("flops").scores(candidates)[:, 0]
    kept = flops >= np.sort(flops)[::-1][7]
    assert kept.sum() >= 8
    params = source.scores(candidates)[:, 0]
    best = int(np.flatnonzero(kept)[np.argmax(params[kept])])
    spec = "zc:n=60:prefilter=flops:keep=8"
    trace = run_once(spec, nb201, table, "cifar10", 1, seed=7, proxy_source=source)
    assert trace["index"].iloc[0] == nb201.index(candidates[best])
    assert trace.prefilter_evaluations.iloc[0] == 60
    assert trace.proxy_evaluations.iloc[0] == kept.sum()  # only the survivors reach stage 2
    plain = run_once("zc:n=60", nb201, table, "cifar10", 1, seed=7, proxy_source=source)
    assert plain.prefilter_evaluations.iloc[0] == 0 and plain.proxy_evaluations.iloc[0] == 60
    for bad, message in [
        ("zc:n=60:keep=8", "prefilter=PROXY and keep=K"),
        ("zc:n=60:prefilter=flops", "prefilter=PROXY and keep=K"),
        ("zc:n=60:prefilter=flopz:keep=8", "unknown proxy 'flopz'"),
    ]:
        with pytest.raises(ZCBenchError, match=message):
            run_once(bad, nb201, table, "cifar10", 1, seed=7, proxy_source=source)


def test_zc_rea_and_predictor_take_the_prefilter(nb201, table, source):
    # the same cascade as zc's: flops keeps its top 20 (ties kept) of the 60 candidates
    candidates = [
        nb201.from_index(int(i)) for i in np.random.default_rng(8).permutation(len(nb201))[:60]
    ]
    flops = source.sibling("flops").scores(candidates)[:, 0]
    kept = flops >= np.sort(flops)[::-1][19]
    survivors = [nb201.index(a) for a, k in zip(candidates, kept) if k]
    params = source.scores(candidates)[:, 0]
    order = np.flatnonzero(kept)[np.argsort(-params[kept], kind="stable")]
    top = [nb201.index(candidates[i]) for i in order[:10]]
    spec = "zc-rea:n=60:prefilter=flops:keep=20"
    trace = run_once(spec, nb201, table, "cifar10", 10, seed=8, proxy_source=source)
    assert list(trace["index"]) == top  # the warm population: params' top 10 of the survivors
    assert trace.prefilter_evaluations.iloc[-1] == 60
    assert trace.proxy_evaluations.iloc[-1] == kept.sum()
    spec = "predictor:n=60:trees=10:init=5:prefilter=flops:keep=20"
    trace = run_once(spec, nb201, table, "cifar10", 15, seed=8, proxy_source=source)
    assert set(trace["index"]) <= set(survivors)  # its pool is the survivors
    assert list(trace["index"][:5]) == top[:5]  # its initial design: the survivors' top 5
    for bad, message in [
        ("zc-rea:n=60:prefilter=flops:keep=5", "keep must be at least 10"),
        ("predictor:n=60:init=8:prefilter=flops:keep=4", "keep must be at least 8"),
        ("predictor:n=60:keep=8", "prefilter=PROXY and keep=K"),
    ]:
        with pytest.raises(ZCBenchError, match=message):
            run_once(bad, nb201, table, "cifar10", 1, seed=8, proxy_source=source)


def test_parse_searcher_options():
    cls, options = parse_searcher("predictor:n=50:kappa=0.25")
    assert cls is get_searcher("predictor") and options == {"n": 50, "kappa": 0.25}
    with pytest.raises(ZCBenchError, match="bad searcher option 'm=3'.*n=VALUE"):
        parse_searcher("zc:m=3")
    with pytest.raises(ZCBenchError, match="takes a number"):
        parse_searcher("zc:n=many")
    with pytest.raises(ZCBenchError, match="no options"):
        parse_searcher("random:n=3")


def test_oracle_counts_distinct_queries_and_refuses_past_budget(nb201, table):
    oracle = Oracle(nb201, table, "cifar10", budget=2)
    a, b, c = (nb201.from_index(i) for i in (0, 1, 2))
    first = oracle.query(a)
    assert oracle.query(a) == first and oracle.queries == 1  # a repeat is free
    oracle.query(b)
    with pytest.raises(BudgetExhausted):
        oracle.query(c)
    with pytest.raises(ZCBenchError, match="no proxy source"):
        oracle.proxy_scores([a])
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
    rea, rnd = summary.set_index("searcher").loc["rea"], summary.set_index("searcher").loc["random"]
    assert np.isnan(rea.vs_rea)  # the baseline itself
    assert rnd.vs_rea == pytest.approx(rnd.mean_test_acc - rea.mean_test_acc, abs=2e-3)
    assert rnd.vs_rea_lo < rnd.vs_rea < rnd.vs_rea_hi
    assert main(["search", "--searcher", "nope", "--out", str(out)]) == 2
    assert "unknown searcher 'nope'" in capsys.readouterr().err
    assert main(["search", "--max-latency", "pixel3", "--out", str(out)]) == 2
    assert "bad --max-latency" in capsys.readouterr().err


def test_guided_search_cli_caches_scores_in_the_store(tmp_path, capsys):
    store = tmp_path / "proxies.db"
    argv = ["search", "--searcher", "zc:n=15,rea", "--proxy", "params", "--store", str(store)]
    argv += ["--budget", "5", "--runs", "2", "-q"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    first = capsys.readouterr().out
    assert "proxy params" in first and "30 architectures scored now" in first
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "0 architectures scored now" in capsys.readouterr().out  # read back from the store
    a, b = (pd.read_csv(tmp_path / d / "trace.csv") for d in "ab")
    pd.testing.assert_frame_equal(a, b)
    assert set(a.searcher) == {"zc:n=15", "rea"}
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert summary.set_index("searcher").loc["zc:n=15", "mean_proxy_evaluations"] == 15


def test_runs_side_by_side_give_the_traces_of_runs_one_after_another(tmp_path, capsys):
    argv = ["search", "--searcher", "zc:n=15,rea,predictor:n=30:trees=10", "--proxy", "params"]
    argv += ["--budget", "6", "--runs", "4", "--seed", "7", "-q"]
    one, two = (tmp_path / d for d in ("one", "two"))
    assert main([*argv, "--store", str(one / "p.db"), "--out", str(one)]) == 0
    assert main([*argv, "--store", str(two / "p.db"), "--out", str(two), "--run-workers", "2"]) == 0
    assert "architectures scored now" in capsys.readouterr().out
    a, b = (pd.read_csv(d / "trace.csv") for d in (one, two))
    pd.testing.assert_frame_equal(a, b)
    assert sorted(a.run.unique()) == [0, 1, 2, 3] and len(a) == 3 * 4 * 6
    # the runs scored the same architectures, whichever process scored them
    rows = [ResultStore(d / "p.db").frame()[["arch_index", "proxy", "status"]] for d in (one, two)]
    key = ["arch_index", "proxy"]
    pd.testing.assert_frame_equal(
        *(r.sort_values(key).reset_index(drop=True) for r in rows), check_dtype=False
    )


def test_a_pooled_search_ranks_by_every_datasets_minibatch(nb201, tmp_path, capsys):
    from zcbench.analysis.correlate import wide_scores
    from zcbench.analysis.ensembles import pooled_rule_score
    from zcbench.proxies import get_proxy
    from zcbench.search.loop import SearchJob
    from zcbench.search.proxy_source import ProxySnapshot, SnapshotProxySource

    store, pooled = tmp_path / "p.db", ("cifar10", "cifar100")
    argv = ["search", "--searcher", "zc:n=5", "--proxy", "params,naswot", "--budget", "1"]
    argv += ["--runs", "1", "--seed", "3", "--dataset", "cifar100", "--store", str(store), "-q"]
    assert main([*argv, "--pool-datasets", ",".join(pooled), "--out", str(tmp_path / "a")]) == 0
    assert "proxy params+naswot through cifar10 + cifar100" in capsys.readouterr().out
    trace = pd.read_csv(tmp_path / "a" / "trace.csv")
    with ResultStore(store, readonly=True) as db:
        frames = {d: wide_scores(db.frame("dataset = ?", (d,))) for d in pooled}
    dirs = {p: get_proxy(p).higher_is_better for p in ("params", "naswot")}
    candidates = np.random.default_rng(3).permutation(len(nb201))[:5]
    both = {d: f.loc[candidates] for d, f in frames.items()}
    assert trace["index"].iloc[0] == pooled_rule_score(both, dirs, ("params", "naswot")).idxmax()
    # the source a Ray run worker gets holds the same columns: members x datasets
    job = SearchJob(["zc:n=5"], proxy="params,naswot", pool_datasets=pooled)
    with ResultStore(store) as db:
        source = job.proxy_sources(db, nb201, ["cifar100"], progress=False)["cifar100"]
        archs = [nb201.from_index(int(i)) for i in trace["index"]]
        values = source.scores(archs)
        assert source.members == [f"{p}@{d}" for d in pooled for p in ("params", "naswot")]
        assert values.shape == (1, 4) and source.scored == 0  # read from the store
        assert values[0, 1] != values[0, 3]  # naswot through each minibatch
        frozen = SnapshotProxySource(ProxySnapshot.of(source), nb201)
        assert np.array_equal(frozen.scores(archs), values)
        assert frozen.stored_indices() == source.stored_indices()
    assert main([*argv, "--pool-datasets", "cifar10,svhn", "--out", str(tmp_path / "b")]) == 2
    assert "error: unknown dataset 'svhn'" in capsys.readouterr().err


def test_runs_side_by_side_refuse_training(nb201, table, tmp_path):
    from zcbench.search.loop import SearchJob, run_search

    job = SearchJob(["rea"], runs=2, budgets=(3,), run_workers=2)
    with pytest.raises(ZCBenchError, match="need a tabulated ground truth; with --truth"):
        run_search(job, nb201, table, tmp_path, trainer=object(), progress=False)


def test_an_interrupted_search_resumes_to_the_same_outputs(tmp_path, capsys, monkeypatch):
    import zcbench.search.loop as loop

    argv = ["search", "--searcher", "rea,random", "--budget", "5", "--runs", "3", "-q"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main([*argv, "--out", str(whole)]) == 0
    real, calls = loop.run_once, []

    def interrupted_at_the_fifth_run(*args, **kwargs):
        calls.append(args)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "run_once", interrupted_at_the_fifth_run)
    assert main([*argv, "--out", str(cut)]) == 130
    monkeypatch.setattr(loop, "run_once", real)
    journal = cut / "runs.partial.csv"
    assert not (cut / "trace.csv").exists() and journal.exists()
    kept = pd.read_csv(journal)
    assert kept.groupby(["searcher", "run"]).ngroups == 4 and len(kept) == 4 * 5
    rows = (whole / "trace.csv").read_text().splitlines()
    next_run = [r for r in rows if r.startswith("random,cifar10,5,1,")]
    with journal.open("a") as fh:  # the next run cut short by a kill mid-write
        fh.write(next_run[0] + "\n" + next_run[1][:30])
    assert main([*argv, "--seed", "1", "--out", str(cut)]) == 2
    err = capsys.readouterr().err
    assert "holds runs of a search with other settings (seed 0 vs 1)" in err
    assert main([*argv, "--out", str(cut)]) == 0
    assert "resuming: 4 of 6 runs read back" in capsys.readouterr().out
    for name in ("trace.csv", "summary.csv", "search.md"):
        assert (cut / name).read_text() == (whole / name).read_text()
    assert not journal.exists() and not (cut / "runs.partial.json").exists()


def test_difference_interval_is_welchs():
    from zcbench.search.loop import difference_interval

    rng = np.random.default_rng(3)
    a, b = rng.normal(93.8, 0.4, 50), rng.normal(93.5, 0.7, 30)
    diff, lo, hi = difference_interval(a, b)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(a.mean() - b.mean())
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert all(math.isnan(v) for v in difference_interval(a, [1.0]))
