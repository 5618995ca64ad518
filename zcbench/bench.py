"""``zcbench bench``: the main job.

Until scoring lands (issue 3) the job is the foundation check: it loads and validates the
ground truth, round-trips every architecture of both spaces, checks the network builder's
parameter and FLOP counts against the published numbers, and draws real minibatches from every
dataset. Results are tidy CSVs plus a Markdown summary and a JSON sidecar with the config.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from zcbench import __version__
from zcbench.benchmarks import load_nb201_table
from zcbench.checks import explain_params, reference_cost_check
from zcbench.costs import cost_table
from zcbench.data import minibatch
from zcbench.datasets import DATASETS
from zcbench.selection import sample_indices
from zcbench.spaces import get_space
from zcbench.types import Arch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchConfig:
    out: str = "reports/bench"
    data_dir: str | None = None
    params_sample: int = 1000
    seed: int = 0
    batch_size: int = 64
    workers: int = 2
    progress: bool = True


def _check(rows: list[dict], name: str, expected: object, measured: object, ok: bool) -> None:
    rows.append(
        {
            "check": name,
            "expected": str(expected),
            "measured": str(measured),
            "status": "ok" if ok else "FAIL",
        }
    )


def _round_trips(space_name: str, data_dir: str | None) -> tuple[int, int, float]:
    space = get_space(space_name, data_dir)
    start, good = time.perf_counter(), 0
    for i in range(len(space)):
        arch = space.from_index(i)
        text = space.to_str(arch)
        back = space.parse(text)
        good += back == arch and space.index(back) == i and Arch.from_key(arch.key) == arch
    return good, len(space), time.perf_counter() - start


def run_foundation(cfg: BenchConfig) -> tuple[pd.DataFrame, Path]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    table = load_nb201_table(cfg.data_dir)
    timings["load_table_s"] = time.perf_counter() - t0
    _check(
        checks,
        "ground truth rows (3 datasets x 15,625)",
        46_875,
        len(table.frame),
        len(table.frame) == 46_875,
    )
    facts = {
        "cifar10": (6111, 94.3733),
        "cifar100": (9930, 73.5133),
        "ImageNet16-120": (857, 47.3111),
    }
    for ds, (index, acc) in facts.items():
        s = table.get(ds, "test_acc_200ep")
        best = (int(s.idxmax()), round(float(s.max()), 4))
        _check(checks, f"best test_acc_200ep on {ds}", (index, acc), best, best == (index, acc))

    nb201 = get_space("nb201", cfg.data_dir)
    for name in ("nb201", "nats-sss"):
        good, total, secs = _round_trips(name, cfg.data_dir)
        timings[f"round_trip_{name}_s"] = secs
        _check(
            checks, f"{name} string<->arch<->index<->key round trips", total, good, good == total
        )
    unique = len({nb201.canonical(a) for a in nb201})
    _check(
        checks,
        "nb201 canonical classes (zcbench rule; NB201 to_unique_str: 6,466)",
        5_425,
        unique,
        unique == 5_425,
    )

    ref = reference_cost_check(nb201)
    ref.to_csv(out / "reference_costs.csv", index=False)
    _check(
        checks,
        "README reference FLOPs (6 networks, float32)",
        6,
        int(ref.flops_ok.sum()),
        bool(ref.flops_ok.all()),
    )
    _check(
        checks,
        "README reference params (6 networks)",
        6,
        int(ref.params_ok.sum()),
        bool(ref.params_ok.all()),
    )

    t0 = time.perf_counter()
    archs = sample_indices(nb201, cfg.params_sample, cfg.seed)
    which = "all" if len(archs) == len(nb201) else f"a seeded sample of {len(archs)}"
    costs = cost_table(
        "nb201", archs, "cifar10", data_dir=cfg.data_dir, workers=cfg.workers, progress=cfg.progress
    )
    timings["params_flops_s"] = time.perf_counter() - t0
    costs.to_csv(out / "costs_cifar10.csv", index=False, float_format="%.6f")
    explained = explain_params(costs.set_index("index")["params_m"], table, nb201)
    explained.to_csv(out / "params_check.csv", index=False)
    counts = explained.status.value_counts().to_dict()
    _check(
        checks,
        f"params vs params_M_c10 on {which} archs: no unexplained mismatch",
        0,
        counts.get("MISMATCH", 0),
        "MISMATCH" not in counts,
    )

    batches = []
    for ds in DATASETS:
        for sampling in ("random", "balanced"):
            t0 = time.perf_counter()
            b = minibatch(ds, cfg.batch_size, cfg.seed, sampling=sampling, data_dir=cfg.data_dir)
            batches.append(
                {
                    "dataset": ds,
                    "sampling": sampling,
                    "shape": "x".join(map(str, b.inputs.shape)),
                    "classes": int(b.targets.unique().numel()),
                    "mean": round(float(b.inputs.mean()), 4),
                    "std": round(float(b.inputs.std()), 4),
                    "seconds": round(time.perf_counter() - t0, 4),
                }
            )
    again = minibatch("cifar10", cfg.batch_size, cfg.seed, data_dir=cfg.data_dir)
    first = minibatch("cifar10", cfg.batch_size, cfg.seed, data_dir=cfg.data_dir)
    _check(
        checks,
        "minibatch is identical for the same seed",
        True,
        bool(torch.equal(again.inputs, first.inputs)),
        torch.equal(again.inputs, first.inputs),
    )
    pd.DataFrame(batches).to_csv(out / "minibatches.csv", index=False)

    frame = pd.DataFrame(checks)
    frame.to_csv(out / "foundation_checks.csv", index=False)
    config = {
        **asdict(cfg),
        "zcbench": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "params_status_counts": counts,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    _write_markdown(out, frame, ref, counts, pd.DataFrame(batches), config)
    return frame, out


def _write_markdown(
    out: Path,
    checks: pd.DataFrame,
    ref: pd.DataFrame,
    counts: dict,
    batches: pd.DataFrame,
    config: dict,
) -> None:
    lines = [
        "# zcbench bench: foundation checks",
        "",
        f"zcbench {config['zcbench']}, torch {config['torch']}, Python {config['python']}; "
        f"data: `{config['data_dir'] or 'default'}`; seed {config['seed']}.",
        "",
        "## Checks",
        "",
        checks.to_markdown(index=False),
        "",
        "## Reference networks (data README) vs our counts",
        "",
        ref.to_markdown(index=False, floatfmt=".6f"),
        "",
        f"## Parameters vs `params_M_c10` ({config['params_sample']} archs, seed {config['seed']})",
        "",
        "Status counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ".",
        "`table_rounded`: the table stores 5 decimals; `table_seed_mixup`: the table value is a",
        "seed mean in which one seed recorded another network's parameter count (see",
        "`params_check.csv`, column `detail`).",
        "",
        "## Minibatches",
        "",
        batches.to_markdown(index=False),
        "",
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in config["timings_s"].items()) + ".",
        "",
    ]
    (out / "bench.md").write_text("\n".join(lines))
