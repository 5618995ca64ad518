"""Speed and memory benchmarks of the scoring engine (``zcbench perf``, ``make perf``).

* seconds per architecture for the whole proxy panel, fused vs unfused (one proxy at a time,
  each with its own freshly built model), on the same seeded architectures and minibatch;
* achieved GFLOP/s: the floating-point work the fused panel really executes, counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products, forward and
  backward), divided by its wall time, next to a large float32 matmul on the same machine;
* resident memory growth while scoring many architectures in one process.
"""

from __future__ import annotations

import gc
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from zcbench.analysis.correlate import percentile_bootstrap
from zcbench.engine.runner import package_versions, rss_mb
from zcbench.engine.scoring import device_policy, score_arch
from zcbench.proxies import resolve_proxies
from zcbench.spaces import get_space
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
from zcbench.tables.selection import sample_indices

#: the 17-proxy panel ``make perf`` measures (the Makefile's ``PANEL17``, which a test keeps
#: equal to this), fixed so the figure stays comparable while new proxies join ``all``
PANEL17 = (
    "epe_nas,fisher,flops,grad_norm,grasp,jacob_cov,l2_norm,meco,naswot,params,plain,snip,swap,"
    "synaptic_diversity_tftas,synflow,zen,zico"
)


def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(n: int = 2048, repeats: int = 5, device: str = "cpu") -> float:
    """Best-of float32 GFLOP/s of an n x n matmul (2 n^3 flops) on ``device`` (no TF32)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    with device_policy(torch.device(device)):
        torch.mm(a, b)  # warm up
        best = float("inf")
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            torch.mm(a, b)
            _sync(device)
            best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def panel_timing(
    space_name: str = "nb201",
    dataset: str = "cifar10",
    n_archs: int = 10,
    proxies: str = "all",
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
) -> dict:
    space = get_space(space_name)
    info = dataset_info(dataset)
    specs = resolve_proxies(proxies)
    batch = minibatch(info.name, batch_size, seed)
    archs = sample_indices(space, n_archs, seed)
    on = dict(num_classes=info.num_classes, device=device)
    score_arch(space, archs[0], batch, specs, **on)  # warm up
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    out: dict = {"n_archs": n_archs, "proxies": [s.name for s in specs], "batch_size": batch_size,
                 "device": device}  # fmt: skip
    # interleaved per architecture, alternating which mode goes first, so that a slow spell of
    # a shared machine falls on both modes alike instead of biasing the ratio
    walls: dict[str, list[float]] = {"fused": [], "unfused": []}
    sums: dict[str, dict[str, float]] = {"fused": defaultdict(float), "unfused": defaultdict(float)}
    for i, arch in enumerate(tqdm(archs, desc="perf fused/unfused", disable=not progress)):
        modes = ("fused", "unfused") if i % 2 == 0 else ("unfused", "fused")
        for mode in modes:
            start = time.perf_counter()
            results = score_arch(space, arch, batch, specs, fused=mode == "fused", **on)
            _sync(device)
            walls[mode].append(time.perf_counter() - start)
            for r in results:
                sums[mode][r.proxy] += r.seconds
    per_proxy: dict[str, dict[str, float]] = defaultdict(dict)
    for mode in ("fused", "unfused"):
        out[f"{mode}_s_per_arch"] = sum(walls[mode]) / n_archs
        for name, secs in sums[mode].items():
            per_proxy[name][f"{mode}_s"] = secs / n_archs
    fused, unfused = np.array(walls["fused"]), np.array(walls["unfused"])
    out["speedup_per_arch_median"] = float(np.median(unfused / fused))
    out["speedup"] = out["unfused_s_per_arch"] / out["fused_s_per_arch"]
    # architectures differ in cost and a shared machine in speed: the ratio of sums over
    # architectures resampled with replacement gives the measurement's spread
    out["speedup_lo"], out["speedup_hi"] = percentile_bootstrap(
        np.column_stack([unfused, fused]),
        lambda u, f: u.sum(1) / f.sum(1),
        n_boot=2000, level=0.95, seed=seed,
    )  # fmt: skip
    out["per_arch"] = pd.DataFrame(
        {
            "arch": [space.to_str(a) for a in archs],
            "fused_s": fused,
            "unfused_s": unfused,
            "speedup": unfused / fused,
        }
    )
    own = {s.name for s in specs if s.kind == "own"}
    out["own_fused_s_per_arch"] = sum(v for k, v in sums["fused"].items() if k in own) / n_archs
    # the cheapest shared pass there can be: a build, a forward and a labelled backward, i.e.
    # the unfused seconds of the cheapest backward proxy (None without one in the panel)
    backward = [s.name for s in specs if s.kind == "backward"]
    out["min_shared_pass_s"] = (
        min(sums["unfused"][n] for n in backward) / n_archs if backward else None
    )
    counter = FlopCounterMode(display=False)
    start = time.perf_counter()
    with counter:
        for arch in archs:
            score_arch(space, arch, batch, specs, **on)
    _sync(device)
    wall = time.perf_counter() - start
    if cuda:
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    out["executed_gflop_per_arch"] = counter.get_total_flops() / 1e9 / n_archs
    out["achieved_gflops"] = counter.get_total_flops() / 1e9 / wall
    out["counted_wall_s_per_arch"] = wall / n_archs
    out["per_proxy"] = pd.DataFrame(per_proxy).T.rename_axis("proxy").reset_index()
    return out


def memory_growth(
    n_archs: int = 1000,
    proxies: str = "all",
    dataset: str = "cifar10",
    batch_size: int = 64,
    seed: int = 0,
    warmup: int = 20,
    progress: bool = True,
) -> pd.DataFrame:
    """RSS after each architecture while scoring ``n_archs`` in this process."""
    space = get_space("nb201")
    info = dataset_info(dataset)
    specs = resolve_proxies(proxies)
    batch = minibatch(info.name, batch_size, seed)
    archs = sample_indices(space, n_archs + warmup, seed)
    rows = []
    for i, arch in enumerate(tqdm(archs, desc="memory", disable=not progress)):
        score_arch(space, arch, batch, specs, num_classes=info.num_classes)
        if i % 10 == 0 or i == len(archs) - 1:
            gc.collect()
            rows.append({"scored": i + 1 - warmup, "rss_mb": round(rss_mb(), 1)})
    return pd.DataFrame(rows)


def _bound_with_cheapest_pass(timing: dict) -> str:
    least = timing.get("min_shared_pass_s")
    if not least:
        return ""
    bound = timing["unfused_s_per_arch"] / (timing["own_fused_s_per_arch"] + least)
    return (
        f"; with the cheapest shared pass (a build, a forward and a labelled backward: the "
        f"cheapest backward proxy alone, unfused, {least:.3f} s) not more than {bound:.2f}x"
    )


def write_perf_report(
    out_dir: str | Path,
    timing: dict,
    peak_gflops: float,
    memory: pd.DataFrame | None,
    warmup: int = 0,
) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_proxy = timing.pop("per_proxy")
    per_proxy.to_csv(out / "per_proxy_seconds.csv", index=False, float_format="%.4f")
    timing.pop("per_arch").to_csv(out / "per_arch_seconds.csv", index=False, float_format="%.4f")
    summary = {
        **timing,
        "matmul_gflops": peak_gflops,
        "fraction_of_matmul": timing["achieved_gflops"] / peak_gflops,
        "threads": torch.get_num_threads(),
        **package_versions(),
    }
    if memory is not None:
        memory.to_csv(out / "memory_rss.csv", index=False)
        base = memory[memory.scored >= 0].rss_mb.iloc[0]
        summary["memory_archs"] = int(memory.scored.max())
        summary["rss_start_mb"] = float(base)
        summary["rss_end_mb"] = float(memory.rss_mb.iloc[-1])
        summary["rss_growth_mb"] = float(memory.rss_mb.iloc[-1] - base)
    (out / "perf.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    lines = [
        "# zcbench perf",
        "",
        f"{timing['n_archs']} seeded NB201 architectures, CIFAR-10, batch {timing['batch_size']}, "
        f"{len(timing['proxies'])} proxies, {timing.get('device', 'cpu')}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
        + (f"; peak GPU memory {timing['peak_gpu_mb']:.0f} MiB" if "peak_gpu_mb" in timing else "")
        + ".",
        "",
        f"- fused: **{timing['fused_s_per_arch']:.3f} s/arch**; unfused (one proxy at a time, "
        f"fresh model each): **{timing['unfused_s_per_arch']:.3f} s/arch**; speed-up "
        f"**{timing['speedup']:.2f}x** [{timing['speedup_lo']:.2f}, {timing['speedup_hi']:.2f}] "
        f"(95% bootstrap over architectures; median of per-architecture ratios "
        f"{timing['speedup_per_arch_median']:.2f}x; modes interleaved per architecture; "
        f"per_arch_seconds.csv)",
        f"- `own` proxies' own passes (those that cannot share the pass: their seconds when "
        f"fused): {timing['own_fused_s_per_arch']:.3f} s/arch, "
        f"{timing['own_fused_s_per_arch'] / timing['fused_s_per_arch']:.0%} of fused; even a "
        f"free shared pass could not make fused more than "
        f"{timing['unfused_s_per_arch'] / timing['own_fused_s_per_arch']:.2f}x faster"
        + _bound_with_cheapest_pass(timing),
        f"- executed work (FlopCounterMode, conv + matmul, fwd + bwd): "
        f"{timing['executed_gflop_per_arch']:.2f} GFLOP/arch at {timing['achieved_gflops']:.1f} "
        f"GFLOP/s; a 2048^2 float32 matmul reaches {peak_gflops:.1f} GFLOP/s "
        f"({summary['fraction_of_matmul']:.0%})",
    ]
    if memory is not None:
        lines.append(
            f"- resident memory over {summary['memory_archs']} architectures in one process (after "
            f"{warmup} warm-up): "
            f"{summary['rss_start_mb']:.0f} MB -> {summary['rss_end_mb']:.0f} MB "
            f"(**{summary['rss_growth_mb']:+.0f} MB**)"
        )
    lines += [
        "",
        "## Seconds per architecture, per proxy",
        "",
        per_proxy.to_markdown(index=False, floatfmt=".4f"),
        "",
    ]
    (out / "perf.md").write_text("\n".join(lines))
    return out
