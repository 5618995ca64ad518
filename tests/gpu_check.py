"""``make gpu-check``: the CUDA path's tests and figures, in one run of at most 8 minutes.

1. the ``gpu``-marked tests (``tests/test_gpu.py``): fused equals unfused on CUDA, CUDA
   agrees with the CPU within per-proxy tolerances, reruns are identical, the model and the
   caller's RNG are untouched, out of memory is a recorded ``oom``;
2. ``zcbench perf --device cuda`` on 20 architectures: seconds per proxy fused and unfused,
   peak GPU memory, the GPU's own matmul GFLOP/s;
3. ``zcbench score --device cuda`` of the same 200 seeded NB201 architectures (CIFAR-10,
   batch 64) with 1, 4 and 8 worker processes sharing the GPU, for the full panel and the
   cheap panel: architectures per second, and from it the time to score all 15,625;
4. writes ``reports/gpu/``: ``gpu.md`` (the summary), ``throughput.csv``, ``tests.txt``,
   ``perf.md``, ``perf.json``, ``per_proxy_seconds.csv``, ``nvidia-smi.txt``.

Without a CUDA device it says so in one line and exits 0 (CI runs it that way).
Run as ``python tests/gpu_check.py [--out reports/gpu] [--archs 200]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
FULL = "all"
CHEAP = "synflow,naswot,meco,zico,params,flops"
SPACE_SIZE = 15_625


def run(cmd: list[str], log: Path | None = None, timeout: float = 300) -> tuple[int, str, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    if log is not None:
        log.write_text(text)
    return proc.returncode, text, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/gpu")
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--workers", default="1,4,8")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA device here (torch {torch.__version__}); nothing to check")
        return 0
    out = (ROOT / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    zcbench = [sys.executable, "-m", "zcbench.cli"]
    if shutil.which("nvidia-smi"):
        run(["nvidia-smi"], out / "nvidia-smi.txt", timeout=30)
    name = torch.cuda.get_device_name(0)
    summary: dict = {"device": name, "torch": torch.__version__, "cuda": torch.version.cuda}

    code, text, secs = run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "tests/test_gpu.py", "-q", "-p",
         "no:cacheprovider"], out / "tests.txt", timeout=240,
    )  # fmt: skip
    summary["tests"] = {"exit": code, "seconds": round(secs, 1), "last_line": text.strip()[-200:]}
    print(f"gpu tests: exit {code} in {secs:.0f} s: {text.strip().splitlines()[-1]}")

    perf_dir = out / "perf"
    code, text, secs = run(
        [*zcbench, "-q", "perf", "--device", "cuda", "--archs", "20", "--out", str(perf_dir)],
        timeout=240,
    )
    if code == 0:
        for f in ("perf.md", "perf.json", "per_proxy_seconds.csv"):
            shutil.move(str(perf_dir / f), out / f)
        shutil.rmtree(perf_dir, ignore_errors=True)
        perf = json.loads((out / "perf.json").read_text())
        summary["perf"] = {k: perf.get(k) for k in ("fused_s_per_arch", "unfused_s_per_arch",
                           "peak_gpu_mb", "matmul_gflops", "achieved_gflops")}  # fmt: skip
    else:
        (out / "perf_error.txt").write_text(text)
    print(f"perf: exit {code} in {secs:.0f} s")

    rows = []
    for panel_name, panel in (("full", FULL), ("cheap", CHEAP)):
        for workers in [int(w) for w in args.workers.split(",")]:
            store = out / f"throughput_{panel_name}_{workers}.db"
            store.unlink(missing_ok=True)
            cmd = [*zcbench, "-q", "score", "--device", "cuda", "--sample", str(args.archs),
                   "--sample-seed", "7", "--proxies", panel, "--workers", str(workers),
                   "--store", str(store)]  # fmt: skip
            code, text, secs = run(cmd, timeout=240)
            scored = next((line for line in text.splitlines() if line.startswith("scored")), "")
            # "scored N architectures in S s (R arch/s)": the scoring time, start-up excluded
            try:
                run_s = float(scored.split(" in ")[1].split(" s")[0])
            except (IndexError, ValueError):
                run_s = float("nan")
            rate = args.archs / run_s if run_s == run_s and run_s > 0 else float("nan")
            rows.append({"panel": panel_name, "workers": workers, "exit": code,
                         "archs": args.archs, "wall_s": round(secs, 1), "scoring_s": run_s,
                         "archs_per_s": round(rate, 2),
                         "ms_per_arch": round(1000 / rate, 1) if rate == rate else None,
                         "all_15625_min": round(SPACE_SIZE / rate / 60, 1) if rate == rate
                         else None})  # fmt: skip
            store.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{store}{suffix}").unlink(missing_ok=True)
            print(f"score {panel_name} x{workers}: exit {code}, {rate:.2f} arch/s")
            if code != 0:
                (out / f"throughput_{panel_name}_{workers}_error.txt").write_text(text)
    import pandas as pd

    table = pd.DataFrame(rows)
    table.to_csv(out / "throughput.csv", index=False)
    summary["throughput"] = rows
    (out / "gpu.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    lines = [
        "# zcbench gpu-check",
        "",
        f"{name}, torch {torch.__version__} (CUDA {torch.version.cuda}); command: make gpu-check.",
        "",
        f"- gpu tests: exit {summary['tests']['exit']} ({summary['tests']['seconds']} s); "
        "tests.txt has the output",
    ]
    if "perf" in summary:
        p = summary["perf"]
        lines.append(
            f"- perf, 20 architectures, every proxy: fused {p['fused_s_per_arch']:.3f} s/arch, "
            f"unfused {p['unfused_s_per_arch']:.3f} s/arch; peak GPU memory "
            f"{p.get('peak_gpu_mb') or float('nan'):.0f} MiB; matmul {p['matmul_gflops']:.0f} "
            "GFLOP/s (float32, no TF32)"
        )
    lines += [
        "",
        f"## Throughput: {args.archs} NB201 architectures, CIFAR-10, batch 64, N processes "
        "on one GPU",
        "",
        f"Cheap panel: {CHEAP}. `all_15625_min`: the whole space at the measured rate.",
        "",
        table.to_markdown(index=False),
        "",
    ]
    (out / "gpu.md").write_text("\n".join(lines))
    print(f"wrote {out}/gpu.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
