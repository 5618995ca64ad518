"""Graph features, the few-label predictor, seed stability, redundancy, the published
aggregations and the store-pool searchers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis import ensembles
from zcbench.analysis.correlate import redundant_with, wide_scores
from zcbench.analysis.graph_features import cell_features, graph_features
from zcbench.analysis.predictors import label_curve, rank_features, summarise_curve
from zcbench.analysis.stability import averaging_gain, seed_stability
from zcbench.proxies import get_proxy

# genotype order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2; ops: 0 none, 1 skip, 2 conv1, 3 conv3, 4 pool


def test_graph_features_of_a_full_conv3_cell():
    f = cell_features((3, 3, 3, 3, 3, 3))
    assert f["count_nor_conv_3x3"] == 6 and f["count_none"] == 0
    # paths 0->3: direct, via 1, via 2, via 1 and 2
    assert (f["conv3_paths"], f["conv3_min_path"], f["conv3_max_path"]) == (4, 1, 3)
    assert f["skip_paths"] == 0 and f["skip_min_path"] == 0
    assert f["conv3_in_out_degree"] == 3 and f["conv3_out_in_degree"] == 3


def test_graph_features_follow_the_edges():
    # 0 -skip-> 1 -conv1-> 3, everything else none: one path of length 2 using skip and conv
    f = cell_features((1, 0, 0, 0, 2, 0))
    assert f["any_paths"] == 1 and f["any_min_path"] == 2
    assert f["conv_paths"] == 0 and f["conv_skip_paths"] == 1
    assert f["count_none"] == 4
    with pytest.raises(ValueError, match="6 operations"):
        cell_features((1, 2))
    frame = graph_features(pd.Series([(3,) * 6, (0,) * 6], index=[7, 9]))
    assert list(frame.index) == [7, 9] and frame.loc[9, "any_paths"] == 0


def test_rank_features_put_failures_last():
    frame = pd.DataFrame({"a": [3.0, np.nan, 1.0, np.inf], "b": [1e60, 1e30, 1e45, 0.0]})
    ranks = rank_features(frame)
    assert ranks["a"].tolist() == [1.0, 0.0, 0.5, 0.0]
    assert ranks["b"].max() == 1.0 and ranks.to_numpy().dtype == np.float64


def test_feature_sets_rank_signed_proxies_beside_the_cell_graph():
    from zcbench.analysis.predictors import feature_sets

    # "loss" is lower-is-better
    scores = pd.DataFrame({"acc": [1.0, 2.0], "loss": [1.0, 2.0]}, index=[0, 1])
    sets = feature_sets(scores, {"acc": True, "loss": False})
    assert sets["proxies"]["acc"].tolist() == [0.5, 1.0]
    assert sets["proxies"]["loss"].tolist() == [1.0, 0.5]  # signed: the lower loss ranks high
    # the cells of NB201's architectures 0 and 1 (one op code per edge)
    assert sets["graph"].equals(graph_features(pd.Series([(4, 2, 1, 2, 1, 1), (3, 3, 4, 1, 3, 1)])))
    both = sets["proxies+graph"]
    assert list(both.columns) == [*sets["proxies"].columns, *sets["graph"].columns]


def test_label_curve_learns_an_informative_feature():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.normal(size=300))
    good = pd.DataFrame({"x": y + 0.1 * rng.normal(size=300)})
    noise = pd.DataFrame({"x": rng.normal(size=300)})
    curve = label_curve({"good": good, "noise": noise}, y, labels=(20, 250), repeats=3)
    assert set(curve["labels"]) == {20}  # 250 labels would leave fewer than 100 held out
    summary = summarise_curve(curve)
    by = summary.set_index("features")["spearman"]
    assert by["good"] > 0.9 and abs(by["noise"]) < 0.3
    assert (summary["repeats"] == 3).all() and (summary["ci_lo"] <= summary["spearman"]).all()


def test_cv_predictor_chooses_on_the_labelled_architectures_alone():
    from zcbench.analysis.predictors import MODELS, choose_model, fit_predict

    rng = np.random.default_rng(2)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = pd.Series(np.exp(3 * x["a"]) + 0.1 * rng.normal(size=200))
    train = x.index[:60]
    hidden = y.copy()
    hidden.iloc[60:] = np.nan  # the held-out accuracies are never read
    pred = fit_predict(x, hidden, train, seed=1, model="cv")
    assert np.isfinite(pred).all()
    chosen = choose_model(x.loc[train].to_numpy(), y.loc[train].to_numpy(), seed=1)
    assert chosen in MODELS
    # cv is the chosen model refitted on every labelled architecture
    assert pred.equals(fit_predict(x, hidden, train, seed=1, model=chosen))
    assert stats.spearmanr(pred.iloc[60:], y.iloc[60:])[0] > 0.8
    with pytest.raises(ValueError, match="unknown predictor model"):
        fit_predict(x, y, train, model="boosting")


def test_records_table_leads_with_the_development_chosen_predictor():
    from zcbench.analysis.predictors import HEADLINE, MODELS
    from zcbench.analysis.report import HEADLINE_COLUMN, records_table

    assert HEADLINE in (*MODELS, "cv")
    result = pd.DataFrame(
        [
            {"dataset": "cifar10", "proxy": p, "subset": "all", "target": "test_acc_200ep",
             "spearman": r, "spearman_lo": r - 0.01, "spearman_hi": r + 0.01}
            for p, r in (("zc_ensemble", 0.937), ("az_nas", 0.911))
        ]
    )  # fmt: skip
    curve = pd.DataFrame(
        [
            {"dataset": "cifar10", "features": "proxies+graph", "model": m, "labels": n,
             "spearman": r, "ci_lo": r - 0.005, "ci_hi": r + 0.005}
            for m, n, r in ((HEADLINE, 100, 0.963), ("forest", 100, 0.952), ("cv", 100, 0.958),
                            (HEADLINE, 50, 0.93))
        ]
    )  # fmt: skip
    row = records_table(result, curve, "test_acc_200ep").iloc[0]
    assert row[f"100 labels: {HEADLINE_COLUMN} on proxies + graph"].startswith("+0.963 [")
    assert row["100 labels: forest on proxies + graph"].startswith("+0.952 [")
    assert row["label-free: zc_ensemble"].startswith("+0.937 [")
    assert "VKDNW" in row["label-free records"] and "GRAF" in row["with-label records"]
    # no records table for a target or space without published records
    assert records_table(result, curve, "valid_acc_200ep").empty


def _long(values: dict[int, list[float]], proxy: str = "p") -> pd.DataFrame:
    rows = [
        {"arch_index": a, "proxy": proxy, "seed": s, "value": v, "status": "ok"}
        for s, column in values.items()
        for a, v in enumerate(column)
    ]
    return pd.DataFrame(rows)


def test_seed_stability_and_averaging():
    base = np.arange(20, dtype=float)
    same = _long({s: list(base) for s in range(3)}, "same")
    rng = np.random.default_rng(1)
    noisy = _long({s: list(base + rng.normal(scale=8, size=20)) for s in range(5)}, "noisy")
    long = pd.concat([same, noisy])
    stab = seed_stability(long).set_index("proxy")
    assert stab.loc["same", "stability"] == pytest.approx(1.0)
    assert stab.loc["same", "seeds"] == 3 and stab.loc["same", "n"] == 20
    assert stab.loc["noisy", "stability"] < 0.9
    gain = averaging_gain(long, pd.Series(base), {"same": True, "noisy": True}).set_index("proxy")
    assert gain.loc["same", "rho_k1"] == pytest.approx(1.0)
    assert math.isnan(gain.loc["same"].get("rho_k4", math.nan))  # only 3 seeds
    assert gain.loc["noisy", "rho_k4"] > gain.loc["noisy", "rho_k1"]  # averaging helps noise


def test_redundant_with():
    m = pd.DataFrame(
        [[1.0, 0.99, 0.5], [0.99, 1.0, 0.4], [0.5, 0.4, 1.0]],
        index=list("abc"),
        columns=list("abc"),
    )
    out = redundant_with(m)
    assert out == {"a": ["b (0.990)"], "b": ["a (0.990)"], "c": []}


def test_choose_rule_takes_the_best_worst_dataset_then_the_fewest_members():
    spear = pd.DataFrame(
        {"c10": [0.93, 0.95, 0.95, 0.99], "in16": [0.90, 0.91, 0.91, 0.80]},
        index=["A", "C", "B", "D"],
    )
    # C and B tie at 0.91 in the worst dataset; B has fewer members; D's 0.99 does not count
    assert ensembles.choose_rule(spear) == "B"
    # another candidate family brings its own tie-break (predictor_dev.py: listed first wins)
    listed = ["C", "B", "A", "D"]
    assert ensembles.choose_rule(spear, tie_break=listed.index) == "C"
    assert set(ensembles.RULE_FAMILY) == set("ABCDEFGH")
    assert ensembles.RULE_FAMILY["A"] == ensembles.ZC_ENSEMBLE


def test_rule_score_derives_vkdnw_single_and_ranks_failures_last():
    frame = pd.DataFrame(
        {
            "vkdnw_dim": [10.0, 20.0, 20.0, 5.0],
            "vkdnw": [2.0, 0.1, 0.2, 1.0],
            "meco": [1.0, 2.0, 3.0, np.nan],
        }  # fmt: skip
    )
    dirs = {"vkdnw_dim": True, "vkdnw": True, "meco": True}
    out = ensembles.rule_score(frame, dirs, ("vkdnw_single", "meco"))
    # vkdnw_single ranks 2, 3, 4, 1 of 4; meco 2, 3, 4, and the failure last (1)
    expected = np.log([2 / 4, 3 / 4, 4 / 4, 1 / 4]) + np.log([2 / 4, 3 / 4, 4 / 4, 1 / 4])
    assert np.allclose(out.to_numpy(), expected)


def test_pooled_rule_sums_each_datasets_terms_on_the_architectures_all_hold():
    a = pd.DataFrame({"meco": [1.0, 2.0, 3.0, 4.0], "zico": [4.0, 3.0, np.nan, 1.0]})
    b = pd.DataFrame({"meco": [3.0, 1.0, 2.0], "zico": [1.0, 2.0, 3.0]}, index=[1, 2, 3])
    dirs = {"meco": True, "zico": False}
    out = ensembles.pooled_rule_score({"x": a, "y": b}, dirs, ("meco", "zico"))
    assert list(out.index) == [1, 2, 3]  # architecture 0 is not scored on y
    # ranks among 1, 2, 3 on x: meco 1/3, 2/3, 3/3; zico (lower is better) 2/3, the failure
    # last 1/3, 3/3; on y: meco 3/3, 1/3, 2/3; zico 3/3, 2/3, 1/3
    x = np.array([1 / 3, 2 / 3, 1]) * np.array([2 / 3, 1 / 3, 1])
    y = np.array([1, 1 / 3, 2 / 3]) * np.array([1, 2 / 3, 1 / 3])
    assert np.allclose(out.to_numpy(), np.log(x * y))
    one = ensembles.rule_score(a, dirs, ("meco", "zico"))
    assert np.allclose(ensembles.pooled_rule_score({"x": a}, dirs, ("meco", "zico")), one)


def test_az_nas_ranks_failures_last_and_vkdnw_single_is_lexicographic():
    frame = pd.DataFrame(
        {
            "az_expressivity": [3.0, 2.0, np.nan],
            "az_progressivity": [1.0, 2.0, 3.0],
            "az_trainability": [1.0, 2.0, 3.0],
            "flops": [1.0, 2.0, 3.0],
            "vkdnw_dim": [10.0, 20.0, 20.0],
            "vkdnw": [2.0, 0.1, 0.2],
        }
    )
    dirs = dict.fromkeys(frame.columns, True)
    az = ensembles.az_nas(frame, dirs)
    # arch 2 is best on three members but its failed expressivity ranks last
    expected = [
        np.log([1.0, 1 / 3, 1 / 3, 1 / 3]).sum(),
        np.log([2 / 3, 2 / 3, 2 / 3, 2 / 3]).sum(),
        np.log([1 / 3, 1.0, 1.0, 1.0]).sum(),
    ]
    assert az.to_numpy() == pytest.approx(expected)
    assert ensembles.vkdnw_single(frame).tolist() == [1.0, 2.0, 3.0]


# -- searchers on a store's pool -------------------------------------------------------------
@pytest.mark.data
def test_zc_searchers_draw_from_the_stored_pool(tmp_path, nb201):
    from zcbench.engine.runner import run_scoring
    from zcbench.engine.store import ResultStore
    from zcbench.errors import ZCBenchError
    from zcbench.proxies import resolve_proxies
    from zcbench.search.loop import run_once
    from zcbench.search.proxy_source import StoreProxySource
    from zcbench.tables.benchmarks import load_nb201_table

    pool = [nb201.from_index(i) for i in (3, 50, 700, 4000, 9000, 12000)]
    with ResultStore(tmp_path / "s.db") as store:
        run_scoring(nb201, "cifar10", pool, resolve_proxies("params,flops"), store,
                    batch_size=8, progress=False)  # fmt: skip
        source = StoreProxySource(store, nb201, "cifar10", "params,flops", batch_size=8)
        assert source.stored_indices() == [3, 50, 700, 4000, 9000, 12000]
        table = load_nb201_table()
        trace = run_once(
            "zc:n=100:pool=stored:agg=log", nb201, table, "cifar10", 6, 0, proxy_source=source
        )
        assert sorted(trace["index"]) == [3, 50, 700, 4000, 9000, 12000]
        predictor = run_once(
            "predictor:n=100:init=2:trees=5:pool=stored:agg=log", nb201, table, "cifar10", 5, 0,
            proxy_source=source,
        )  # fmt: skip
        assert set(predictor["index"]) <= {3, 50, 700, 4000, 9000, 12000}
        assert len(set(predictor["index"])) == 5  # distinct pool members, no repeats
        assert source.scored == 0  # nothing outside the store was scored
        with pytest.raises(ZCBenchError, match="unknown pool"):
            run_once("zc:pool=disk", nb201, table, "cifar10", 1, 0, proxy_source=source)
        with pytest.raises(ZCBenchError, match="unknown agg"):
            run_once("predictor:agg=max", nb201, table, "cifar10", 1, 0, proxy_source=source)


def test_the_dev_rule_is_the_one_the_development_sample_chose():
    from pathlib import Path

    dev = pd.read_csv(Path(__file__).parents[1] / "reports/ensemble_dev/dev.csv")
    chosen = set(dev.loc[dev["chosen"], "rule"])
    assert chosen == {ensembles.ZC_DEV_RULE}
    wide = dev.pivot(index="rule", columns="dataset", values="spearman")
    assert ensembles.choose_rule(wide) == ensembles.ZC_DEV_RULE


def test_the_pooled_rule_is_the_one_round_two_chose():
    from pathlib import Path

    dev = pd.read_csv(Path(__file__).parents[1] / "reports/ensemble_dev/pooled_dev.csv")
    assert set(dev.loc[dev["chosen"], "rule"]) == {f"{ensembles.ZC_POOL_RULE}/3"}
    assert set(dev.loc[dev["chosen"], "pooled"]) == {True}
    frames = {d: pd.DataFrame({"meco": [1.0, 2.0]}) for d in ensembles.POOL_DATASETS[:2]}
    with pytest.raises(KeyError, match="no ImageNet16-120"):
        ensembles.zc_pool(frames, {"meco": True})


def test_pooled_scores_reads_every_dataset_or_gives_none():
    needs = ensembles.rule_needs(ensembles.RULE_FAMILY[ensembles.ZC_POOL_RULE])
    rng = np.random.default_rng(0)
    long = pd.DataFrame(
        [
            {"dataset": d, "arch_index": i, "proxy": p, "proxy_version": 1,
             "value": float(rng.normal()), "status": "ok"}
            for d in ensembles.POOL_DATASETS for i in range(6) for p in needs
        ]
    )  # fmt: skip
    out = ensembles.pooled_scores(long)
    frames = {d: wide_scores(long[long.dataset == d]) for d in ensembles.POOL_DATASETS}
    dirs = {p: get_proxy(p).higher_is_better for p in needs}
    assert np.allclose(out, ensembles.zc_pool(frames, dirs)) and len(out) == 6
    assert ensembles.pooled_scores(long[long.dataset != "cifar100"]) is None
    assert ensembles.pooled_scores(long[long.proxy != "meco"]) is None
