"""The speed benchmark's bookkeeping (its figures are measured by ``make perf``, not here)."""

import json

import pytest
import torch

from zcbench.jobs.perf import panel_timing, write_perf_report

pytestmark = pytest.mark.data


def test_panel_timing_reports_the_ratio_with_its_spread(tmp_path):
    timing = panel_timing(
        n_archs=3, proxies="naswot,params,synflow,grad_norm,snip", batch_size=8, progress=False
    )
    per_arch = timing["per_arch"]
    assert len(per_arch) == 3 and (per_arch.fused_s > 0).all()
    assert timing["speedup"] == pytest.approx(per_arch.unfused_s.sum() / per_arch.fused_s.sum())
    assert timing["speedup_lo"] <= timing["speedup"] <= timing["speedup_hi"]
    own = timing["per_proxy"].set_index("proxy").loc[["params", "synflow"], "fused_s"].sum()
    assert timing["own_fused_s_per_arch"] == pytest.approx(own)
    unfused = timing["per_proxy"].set_index("proxy").unfused_s
    assert timing["min_shared_pass_s"] == pytest.approx(unfused[["grad_norm", "snip"]].min())
    out = write_perf_report(tmp_path, timing, peak_gflops=100.0, memory=None)
    summary = json.loads((out / "perf.json").read_text())
    assert summary["threads"] >= 1 and "per_arch" not in summary
    assert (out / "per_arch_seconds.csv").read_text().count("\n") == 4
    text = (out / "perf.md").read_text()
    assert "95% bootstrap over architectures" in text and "cheapest shared pass" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: make gpu-check runs it")
def test_gpu_check_without_a_gpu_is_one_line_and_exit_0(capsys):
    import gpu_check

    assert gpu_check.main(["--out", "reports/gpu-never-written"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gpu-check: no CUDA device here") and out.count("\n") == 1


def test_the_makefiles_panel_is_the_perf_modules():
    """make perf (the Makefile's PANEL17) and the reports/perf scripts (zcbench.jobs.perf's)
    time the same 17 proxies."""
    import re
    from pathlib import Path

    from zcbench.jobs.perf import PANEL17
    from zcbench.proxies import resolve_proxies

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert re.search(r"^PANEL17 = (\S+)$", makefile, re.M).group(1) == PANEL17
    assert len(resolve_proxies(PANEL17)) == 17
