"""``zcbench study``: which proxy to trust on a space without a benchmark, end to end.

For a search space with no tabulated ground truth (a user's own, or the example
``resnet-macro``), one command:

1. draws a seeded sample of architectures;
2. scores every proxy on them (``scores.db``, resumable);
3. trains each briefly with a stated recipe (``truth/``: checkpoints, learning curves and the
   measured ground truth, :mod:`zcbench.training.truth`; resumable);
4. writes the correlation report against that ground truth (``report.html`` / ``.md``,
   ``correlations.csv``, figures), with the training as a section and the target described
   as what it is: a short-schedule accuracy measured here;
5. records the stages' wall-clock times and the configuration in ``study.json``.

The defaults (24 architectures of CIFAR-10, 5 epochs on 3,000 training images, 500 held out
for validation, batch 64) take 7 minutes on a 2-core CPU for ``resnet-macro`` (measured:
``reports/study/console.txt``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from zcbench.errors import ZCBenchError
from zcbench.tables.datasets import dataset_info

log = logging.getLogger(__name__)


@dataclass
class StudyConfig:
    space: str
    dataset: str = "cifar10"
    sample: int = 24
    sample_seed: int = 0
    proxies: str = "all"
    #: scoring seed and minibatch size
    seed: int = 0
    batch_size: int = 64
    #: the training recipe of the ground truth (NAS-Bench-201's, shortened)
    epochs: int = 5
    train_size: int = 3000
    valid_size: int = 500
    train_batch_size: int = 64
    lr: float = 0.1
    device: str = "cpu"
    bootstrap: int = 1000
    #: labelled architectures of the learned ensemble (0: left out, as 24 are too few)
    learned_labels: int = 0

    def recipe(self):
        from zcbench.training.verify import Recipe

        recipe = Recipe(
            epochs=self.epochs, batch_size=self.train_batch_size, lr=self.lr,
            train_size=self.train_size, seed=self.seed, valid_size=self.valid_size,
        )  # fmt: skip
        recipe.check()
        return recipe


def run_study(
    cfg: StudyConfig, out: str | Path, *, data_dir: str | None = None, progress: bool = True
) -> dict:
    """Run the study into ``out``; returns ``study.json``'s content (timings, config, the
    leaderboard's top rows)."""
    from zcbench.analysis.report import ReportConfig, build_report
    from zcbench.engine.runner import package_versions, run_scoring
    from zcbench.engine.store import ResultStore
    from zcbench.proxies import resolve_proxies
    from zcbench.spaces import get_space
    from zcbench.tables.selection import sample_indices
    from zcbench.training.truth import load_truth, metric_names
    from zcbench.training.verify import verify

    space = get_space(cfg.space, data_dir)
    info = dataset_info(cfg.dataset)
    if info.name == "ImageNet16-120":
        raise ZCBenchError("a study trains its ground truth; the ImageNet16-120 stand-in cannot")
    specs = resolve_proxies(cfg.proxies)
    recipe = cfg.recipe()
    archs = sample_indices(space, cfg.sample, cfg.sample_seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    start = time.perf_counter()
    with ResultStore(out / "scores.db") as store:
        run_scoring(
            space, info.name, archs, specs, store, seed=cfg.seed, batch_size=cfg.batch_size,
            device=cfg.device, data_dir=data_dir, progress=progress,
        )  # fmt: skip
    timings["score"] = time.perf_counter() - start

    start = time.perf_counter()
    verify(space, None, info.name, archs, recipe, out / "truth", device=cfg.device,
           data_dir=data_dir, progress=progress)  # fmt: skip
    timings["train"] = time.perf_counter() - start

    start = time.perf_counter()
    names = metric_names(cfg.epochs)
    table = load_truth(out / "truth")
    targets = tuple(n for n in (names["test"], names["valid"]) if n in table.metrics)
    report = ReportConfig(
        store=str(out / "scores.db"), space=space.name, datasets=[info.name], targets=targets,
        seed=cfg.seed, batch_size=cfg.batch_size, n_boot=cfg.bootstrap,
        learned_labels=cfg.learned_labels, packages=package_versions(),
        verify=str(out / "truth"), archs=[space.index(a) for a in archs],
    )  # fmt: skip
    result = build_report(report, table, out)
    timings["report"] = time.perf_counter() - start
    main = result[(result.subset == "all") & (result.target == targets[0])]
    top = main.sort_values("spearman", ascending=False)[["proxy", "n", "spearman"]]
    summary = {
        "config": asdict(cfg),
        "space_description": space.description,
        "target": table.description,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "total_s": round(sum(timings.values()), 1),
        "leaderboard": top.round(3).to_dict(orient="records"),
    }
    (out / "study.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def leaderboard_lines(summary: dict, top: int = 8) -> list[str]:
    board = pd.DataFrame(summary["leaderboard"]).head(top)
    return [f"  {r.proxy:<20} {r.spearman:+.3f} (n={r.n})" for r in board.itertuples()]
