"""``zcbench bench``: its configuration file, and (slow) the whole pipeline on a tiny sample."""

import pytest

from zcbench.cli import main
from zcbench.errors import ZCBenchError
from zcbench.jobs.bench import PipelineConfig


def test_config_from_toml(tmp_path):
    path = tmp_path / "bench.toml"
    path.write_text('datasets = "cifar100"\nsample = 12\nproxies = "params,naswot"\n')
    cfg = PipelineConfig.from_toml(path)
    assert cfg.datasets == ("cifar100",) and cfg.sample == 12 and cfg.proxies == "params,naswot"
    assert cfg.batch_size == PipelineConfig().batch_size  # untouched keys keep their defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [("samples = 3\n", "unknown bench config key 'samples'"), ("sample = \n", "not valid TOML")],
)
def test_bad_config_is_one_line(tmp_path, text, message):
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with pytest.raises(ZCBenchError, match=message):
        PipelineConfig.from_toml(path)
    with pytest.raises(ZCBenchError, match="no bench config"):
        PipelineConfig.from_toml(tmp_path / "missing.toml")


@pytest.mark.slow
@pytest.mark.data
def test_bench_pipeline_end_to_end(tmp_path, capsys):
    path = tmp_path / "bench.toml"
    path.write_text(
        'proxies = "params,flops,synflow,naswot,snip,jacob_cov"\nsample = 24\n'
        "learned_labels = 8\nbootstrap = 50\nparams_sample = 20\nbatch_size = 16\n"
        'searchers = ["rea", "zc:n=30"]\nsearch_runs = 3\nsearch_budget = 5\n'
    )
    code = main(["bench", "--config", str(path), "--out", str(tmp_path / "b"), "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scoring 24 nb201 architectures" in out and "report.html" in out
    for name in ("bench.md", "scores.db", "correlations.csv", "report.html", "bars.png"):
        assert (tmp_path / "b" / name).is_file(), name
    assert "search zc:n=30:" in out and (tmp_path / "b" / "search" / "summary.csv").is_file()
    assert "## Search" in (tmp_path / "b" / "report.md").read_text()


def test_bench_compares_with_a_reference_run_not_with_itself(tmp_path):
    from zcbench.jobs.bench import reference_lines, reference_result

    ref = tmp_path / "ref"
    ref.mkdir()
    assert reference_result(ref, tmp_path / "out") is None  # no correlations.csv yet
    (ref / "correlations.csv").write_text("dataset,proxy\ncifar10,meco\n")
    assert list(reference_result(ref, tmp_path / "out").proxy) == ["meco"]
    assert reference_result(ref, ref) is None and reference_result("none", tmp_path) is None
    assert reference_lines(ref, ref) == ["this run is the reference"]
    assert reference_lines("none", tmp_path) == ["no reference to compare with"]
    assert "no scores.db" in reference_lines(ref, tmp_path / "out")[0]


def test_bench_writes_outside_the_repository_by_default():
    from zcbench.cli import build_parser

    args = build_parser().parse_args(["bench"])
    assert args.out == "bench-out" and args.reference == "reports/bench"
