"""``zcbench bench``: the main job, score -> correlate -> search -> report.

1. Foundation checks (:func:`run_foundation`): load and validate the ground truth, round-trip
   every architecture of both spaces, check the builder's parameter and FLOP counts against
   the published numbers, draw real minibatches from every dataset (``bench.md``).
2. Scoring (:func:`run_pipeline`): a seeded sample of architectures per dataset with every
   proxy, into ``scores.db`` in the output folder (resumable: a rerun only scores what is
   missing).
3. Search (:func:`zcbench.search.loop.run_search`) into ``search/``: table-only and zero-cost
   guided searchers at a small budget (their proxy scores cached in ``scores.db``).
4. The correlation report (:func:`zcbench.analysis.report.build_report`): ``correlations.csv``,
   ``report.md``, ``report.html`` and figures in the same folder, the search as a section.

The default configuration fits about 20 minutes on a 2-core CPU; ``--config FILE`` (TOML)
changes any of it (see :class:`PipelineConfig` and docs/bench.md).

It writes to an untracked folder (``bench-out/`` by default, ignored by git) and compares its
figures with the committed reference run in ``reports/bench/`` (:func:`reference_result`,
:func:`reference_lines`); ``make bench-reference`` refreshes that reference.
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
from zcbench.spaces import get_space
from zcbench.tables.benchmarks import load_nb201_table
from zcbench.tables.checks import explain_params, reference_cost_check
from zcbench.tables.costs import cost_table
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import DATASETS
from zcbench.tables.selection import sample_indices
from zcbench.types import Arch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchConfig:
    out: str = "bench-out"
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


@dataclass
class PipelineConfig:
    """What ``zcbench bench`` scores and reports; every field may be set in a TOML file."""

    space: str = "nb201"
    datasets: tuple[str, ...] = ("cifar10",)
    proxies: str = "all"
    #: architectures per dataset (a seeded sample; 3.5-6.4 s each for the full panel on the
    #: 2-core CPUs measured, so the default fits the 20-minute budget with the checks, the
    #: search and the report on the slower one)
    sample: int = 120
    sample_seed: int = 0
    seed: int = 0
    batch_size: int = 64
    targets: tuple[str, ...] = ("test_acc_200ep", "valid_acc_200ep", "test_acc_12ep")
    bootstrap: int = 1000
    learned_labels: int = 50
    params_sample: int = 1000
    #: the search stage (empty: skipped): searchers on the first dataset, their zero-cost
    #: scores (``search_proxy``) read from and cached in the same scores.db
    searchers: tuple[str, ...] = ("random", "rea", "zc-rea:n=50")
    search_budget: int = 50
    search_runs: int = 10
    #: synflow: about 0.1 s per candidate on 2 cores (naswot 0.5 s)
    search_proxy: str = "synflow"
    #: for a space without a tabulated benchmark (a plug-in space), the ground truth is
    #: measured by training the sample with this recipe (``zcbench study``)
    epochs: int = 5
    train_size: int = 3000
    valid_size: int = 500
    train_batch_size: int = 64
    device: str = "cpu"

    def study(self):
        """This configuration as a :class:`~zcbench.jobs.study.StudyConfig` (first dataset)."""
        from zcbench.jobs.study import StudyConfig

        return StudyConfig(
            space=self.space, dataset=self.datasets[0], sample=self.sample,
            sample_seed=self.sample_seed, proxies=self.proxies, seed=self.seed,
            batch_size=self.batch_size, epochs=self.epochs, train_size=self.train_size,
            valid_size=self.valid_size, train_batch_size=self.train_batch_size,
            device=self.device, bootstrap=self.bootstrap,
        )  # fmt: skip

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        import tomllib

        from zcbench.errors import ZCBenchError

        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ZCBenchError(f"no bench config at {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ZCBenchError(f"bench config {path} is not valid TOML: {exc}") from None
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ZCBenchError(
                f"unknown bench config key {unknown[0]!r} in {path}; expected one of "
                f"{', '.join(sorted(known))}"
            )
        for key in ("datasets", "targets", "searchers"):
            if key in raw:
                value = raw[key]
                raw[key] = tuple([value] if isinstance(value, str) else value)
        return cls(**raw)


def bench_sample(cfg: PipelineConfig, data_dir: str | None = None) -> list[int]:
    """The indexes of the architectures the pipeline scores (and reports)."""
    space = get_space(cfg.space, data_dir)
    return [space.index(a) for a in sample_indices(space, cfg.sample, cfg.sample_seed)]


def run_pipeline(
    cfg: PipelineConfig, out: str | Path, data_dir: str | None = None, progress: bool = True
):
    """Score every dataset's sample into ``out/scores.db``; returns the run summaries."""
    from zcbench.engine.runner import run_scoring
    from zcbench.engine.store import ResultStore
    from zcbench.proxies import resolve_proxies
    from zcbench.tables.datasets import dataset_info

    space = get_space(cfg.space, data_dir)
    specs = resolve_proxies(cfg.proxies)
    archs = sample_indices(space, cfg.sample, cfg.sample_seed)
    summaries = {}
    with ResultStore(Path(out) / "scores.db") as store:
        for dataset in cfg.datasets:
            summaries[dataset_info(dataset).name] = run_scoring(
                space,
                dataset_info(dataset).name,
                archs,
                specs,
                store,
                seed=cfg.seed,
                batch_size=cfg.batch_size,
                data_dir=data_dir,
                progress=progress,
            )
    return summaries


def _reference_dir(reference: str | Path | None, out: str | Path) -> Path | None:
    """The reference folder, or None when there is none to compare with (``none``, missing,
    or the output folder itself)."""
    if reference is None or str(reference).lower() == "none":
        return None
    ref = Path(reference)
    if not (ref / "correlations.csv").is_file() or ref.resolve() == Path(out).resolve():
        return None
    return ref


def reference_result(reference: str | Path | None, out: str | Path) -> pd.DataFrame | None:
    """The reference run's ``correlations.csv`` (None when there is none to compare with)."""
    ref = _reference_dir(reference, out)
    return pd.read_csv(ref / "correlations.csv") if ref is not None else None


def reference_lines(reference: str | Path | None, out: str | Path) -> list[str]:
    """How this run's stored values compare with the reference's, result by result, in a few
    lines (the leaderboard beside the reference's says how the correlations compare)."""
    from zcbench.engine.store import ResultStore, compare_stores, environment_differences

    ref = _reference_dir(reference, out)
    if ref is None:
        same = reference is not None and Path(reference).resolve() == Path(out).resolve()
        return ["this run is the reference"] if same else ["no reference to compare with"]
    if not (ref / "scores.db").is_file() or not (Path(out) / "scores.db").is_file():
        return [f"reference: {ref} (no scores.db to compare values with)"]
    with (
        ResultStore(Path(out) / "scores.db", readonly=True) as a,
        ResultStore(ref / "scores.db", readonly=True) as b,
    ):
        merged = compare_stores(a, b)
    both = merged[merged["where"] == "both"]
    lines = [
        f"values vs the reference {ref}/scores.db: {len(both):,} results in both, "
        f"{int(both['identical'].sum()):,} bit-identical"
    ]
    differ = both[~both["identical"]]
    if len(differ):
        rel = ((differ["value_a"] - differ["value_b"]).abs() / differ["value_b"].abs()).groupby(
            differ["proxy"]
        )
        worst = rel.max().sort_values(ascending=False).head(4)
        lines.append(
            "largest relative differences: "
            + ", ".join(f"{proxy} {v:.1e}" for proxy, v in worst.items())
        )
        env = environment_differences(merged)
        if env:
            lines.append(
                "recorded environments differ ("
                + "; ".join(f"{key}: {', '.join(sorted(f'{x} vs {y}' for x, y in values))}"
                            for key, values in env.items())
                + "): values agree to rounding, not bit for bit (docs/engine.md)"
            )  # fmt: skip
    return lines
