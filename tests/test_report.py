"""The report folder: files, columns, embedded figures, ensembles on held-out rows."""

import re

import pandas as pd
import pytest

from zcbench.analysis.report import ReportConfig, build_report
from zcbench.cli import main
from zcbench.tables.benchmarks import load_nb201_table

pytestmark = pytest.mark.data
REQUIRED = [
    "dataset",
    "target",
    "proxy",
    "n",
    "n_failed",
    "spearman",
    "spearman_lo",
    "spearman_hi",
    "kendall",
    "pearson",
    "top10_precision",
    "partial_spearman_params",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = tmp_path_factory.mktemp("report") / "r.db"
    code = main(
        ["score", "--proxies", "params,flops,l2_norm,synflow,naswot", "--sample", "40"]
        + ["--batch-size", "8", "--store", str(db), "-q"]
    )
    assert code == 0
    return db


def test_report_writes_every_file(store, tmp_path):
    config = ReportConfig(store=str(store), batch_size=8, n_boot=50, learned_labels=12)
    result = build_report(config, load_nb201_table(), tmp_path)
    assert set(REQUIRED) <= set(result.columns)
    csv = pd.read_csv(tmp_path / "correlations.csv")
    assert len(csv) == len(result) and set(csv.subset) == {"all", "unique", "held_out"}
    assert set(csv.target) == {"test_acc_200ep", "valid_acc_200ep", "test_acc_12ep"}
    held = csv[csv.subset == "held_out"]
    assert {"learned", "mean_rank", "log_rank"} <= set(held.proxy)
    assert "vote" not in set(csv.proxy)  # jacob_cov and snip were not scored
    assert "learned" not in set(csv[csv.subset == "all"].proxy)  # read on held-out only
    assert (held.n <= 40 - 12).all()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == [
        "bars.png", "heatmap_cifar10.png", "leaderboard.png", "scatter_cifar10.png",
        "topk_cifar10.png",
    ]  # fmt: skip
    page = (tmp_path / "report.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{100,}'", page)) == 5
    md = (tmp_path / "report.md").read_text()
    assert "## Protocol" in md and "batch size 8" in md
    assert "## Ensembles vs the best single proxy" in md and "(paired bootstrap)" in md
    assert "held-out architectures" in page and "paired bootstrap" in page


def test_report_cli_and_errors(store, tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["report", "--store", str(store), "--batch-size", "8", "--bootstrap", "30"]
    assert main([*args, "--learned-labels", "10", "--out", str(out)]) == 0
    assert "best vs test_acc_200ep" in capsys.readouterr().out
    assert main([*args, "--targets", "nope", "--out", str(out)]) == 2
    assert "unknown target 'nope'" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--seed", "9"]) == 2
    assert "no nb201 scores with seed 9" in capsys.readouterr().err


def test_search_and_verify_outputs_join_the_report(store, tmp_path, capsys):
    from zcbench.training.verify import Recipe, write_outputs

    search = tmp_path / "search"
    assert main(["search", "--searcher", "random,rea", "--budget", "10", "--runs", "3"]
                + ["--out", str(search), "-q"]) == 0  # fmt: skip
    verify = tmp_path / "verify"
    verify.mkdir()
    # a verify folder as `zcbench verify` writes it (training itself is tested elsewhere)
    result = pd.DataFrame({"index": [1, 2, 3], "arch": ["a", "b", "c"], "epochs": 2,
                           "our_acc": [30.0, 50.0, 40.0], "table_test_acc_12ep": [60.0, 80, 70],
                           "table_test_acc_200ep": [80.0, 90, 85]})  # fmt: skip
    states = [{"index": i, "history": [{"epoch": 1, "test_acc": 20.0, "train_loss": 2.0},
              {"epoch": 2, "test_acc": a, "train_loss": 1.5}]}
              for i, a in zip(result["index"], result.our_acc)]  # fmt: skip
    write_outputs(result, states, verify, "cifar10", Recipe(epochs=2), "sample", 100, 50, "cpu")
    out = tmp_path / "rep"
    args = ["report", "--store", str(store), "--batch-size", "8", "--bootstrap", "20"]
    args += ["--learned-labels", "10", "--search", str(search), "--verify", str(verify)]
    assert main([*args, "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## Search" in md and "## Full-training verification" in md
    assert "rank agreement with the table" in md
    assert re.search(r"\| test_acc_12ep +\| +3 \| +1 \| +1 \|", md)
    page = (out / "report.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 5 + 1 + 2
    assert (out / "verify_curves.png").is_file() and (
        out / "search_anytime_cifar10_10.png"
    ).is_file()
    assert main([*args[:-2], "--verify", str(search), "--out", str(out)]) == 2
    assert "no verify.csv" in capsys.readouterr().err


def test_architectures_scored_by_only_some_proxies_are_left_out(store, tmp_path):
    # a search's candidates: one proxy only, 15 more architectures (copied store, same config)
    import shutil
    import sqlite3

    db = tmp_path / "mixed.db"
    shutil.copyfile(store, db)
    with sqlite3.connect(db) as con:
        scored = {i for (i,) in con.execute("SELECT DISTINCT arch_index FROM results")}
    extra = [i for i in range(100) if i not in scored][:15]
    argv = ["score", "--proxies", "params", "--archs", ",".join(map(str, extra))]
    assert main([*argv, "--batch-size", "8", "--store", str(db), "-q"]) == 0
    config = ReportConfig(store=str(db), batch_size=8, n_boot=20, learned_labels=12)
    result = build_report(config, load_nb201_table(), tmp_path / "rep")
    main_rows = result[(result.subset == "all") & (result.target == "test_acc_200ep")]
    single = main_rows[main_rows.proxy.isin(["params", "flops", "synflow"])]
    assert (single.n == 40).all() and (single.n_failed == 0).all()  # not 55, no fake failures
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "'cifar10': 40" in md and "{'cifar10': 15}" in md
    # the bench reports its own sample only
    config = ReportConfig(
        store=str(db), batch_size=8, n_boot=20, learned_labels=12, archs=sorted(scored)[:30]
    )
    result = build_report(config, load_nb201_table(), tmp_path / "rep30")
    rows = result[result.subset == "all"]
    assert ((rows.n + rows.n_failed) == 30).all()


def test_report_opens_with_the_leaderboard_and_folds_the_tables(store, tmp_path):
    from zcbench.analysis.report import leaderboard, leaderboard_text

    config = ReportConfig(store=str(store), batch_size=8, n_boot=30, learned_labels=12)
    result = build_report(config, load_nb201_table(), tmp_path)
    page = (tmp_path / "report.html").read_text()
    summary = page[page.index("<section id='summary'>") : page.index("</section>")]
    assert "Leaderboard" in summary and summary.count("<img") == 1  # the one picture first
    assert "best size baseline" in summary and "paired bootstrap" in summary
    assert "<figcaption>" in summary  # one sentence on what to read from it
    after = page[page.index("</section>") :]
    assert after.count("<details>") >= 3 and "<table" not in after.split("<details>")[0]
    md = (tmp_path / "report.md").read_text()
    assert md.index("leaderboard.png") < md.index("## Protocol")
    # the same leaderboard as a terminal table, alone and beside a reference run's
    board = leaderboard(result, "test_acc_200ep")
    assert set(board.kind) == {"proxy", "baseline", "ensemble"}
    assert (board.loc[board.proxy == "learned", "subset"] == "held_out").all()
    text = leaderboard_text(board, "test_acc_200ep")
    lines = text.splitlines()
    assert lines[0].startswith("best vs test_acc_200ep") and "params*" in text
    assert len(lines) == 2 + board.proxy.nunique()
    shifted = board.assign(spearman=board.spearman - 0.01)
    beside = leaderboard_text(board, "test_acc_200ep", shifted)
    assert "reference  diff" in beside and beside.count("+0.010") == board.proxy.nunique()


def test_records_line_shows_a_dash_where_a_dataset_lacks_the_ensemble():
    from zcbench.analysis.report import _records_line

    recs = pd.DataFrame(
        {
            "dataset": ["cifar10", "cifar100"],
            "label-free: zc_dev": ["0.944 [0.94, 0.95]", float("nan")],
        }
    )
    assert _records_line(recs).endswith("label-free: zc_dev 0.944 / -")
