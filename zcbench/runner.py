"""Score many architectures into a store: resume, progress, summary (``zcbench score``)."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy
import torch
from tqdm.auto import tqdm

from zcbench import __version__
from zcbench.data import minibatch
from zcbench.datasets import dataset_info
from zcbench.proxies.base import ProxySpec
from zcbench.scoring import DTYPES, score_arch
from zcbench.spaces.base import SearchSpace
from zcbench.store import ResultStore
from zcbench.types import Arch

log = logging.getLogger(__name__)


def package_versions() -> dict[str, str]:
    return {
        "zcbench": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def compute_environment() -> dict[str, str]:
    """What besides the code decides the last bits of a float32 value: CPU kernels differ
    by instruction set and split reductions by thread count. The same architecture scored
    with 1 and with 2 threads agrees to about 1e-7 relative, but proxies that subtract
    near-equal quantities amplify it (grasp 2e-4, plain and zico 1e-5); between two machines
    grasp differed in its second significant digit. Recorded with every result beside the
    package versions."""
    return {
        "threads": str(torch.get_num_threads()),
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
    }


#: the recorded settings that change a float32 value's last bits
VALUE_SETTINGS = ("torch", "threads", "cpu")


def _warn_mixed_environments(store: ResultStore, config: dict, packages: dict[str, str]) -> None:
    """Resuming into a store that holds this configuration's results from another torch, thread
    count or CPU instruction set mixes values that agree only to rounding: say so once."""

    def settings(env: dict[str, str]) -> tuple[str, ...]:
        return tuple(env.get(k, "unrecorded") for k in VALUE_SETTINGS)

    def describe(values: tuple[str, ...]) -> str:
        return ", ".join(f"{k} {v}" for k, v in zip(VALUE_SETTINGS, values))

    current = settings(packages)
    others = sorted({settings(env) for env in store.environments(**config)} - {current})
    if others:
        log.warning(
            "%s already holds %s/%s results recorded with %s; this run uses %s: the store will "
            "mix values that agree only to rounding (more for grasp, zico, epe_nas)",
            store.path,
            config["space"],
            config["dataset"],
            "; ".join(describe(e) for e in others),
            describe(current),
        )


@dataclass
class RunSummary:
    archs: int = 0
    scored: int = 0
    skipped: int = 0
    seconds: float = 0.0
    status: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    proxy_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def table(self) -> pd.DataFrame:
        rows = []
        for proxy, counts in sorted(self.status.items()):
            n = sum(counts.values())
            rows.append(
                {
                    "proxy": proxy,
                    "scored": n,
                    "ok": counts.get("ok", 0),
                    "failed": n - counts.get("ok", 0),
                    "failures": ", ".join(
                        f"{k} {v}" for k, v in sorted(counts.items()) if k != "ok"
                    ),
                    "s/arch": round(self.proxy_seconds[proxy] / n, 4) if n else None,
                }
            )
        return pd.DataFrame(rows)


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError("VmRSS not found in /proc/self/status")


def _log_rss(path: str, scored: int) -> None:
    new = not os.path.exists(path)
    with open(path, "a") as fh:
        if new:
            fh.write("time,scored,rss_mb\n")
        fh.write(f"{time.time():.0f},{scored},{rss_mb():.1f}\n")


def run_scoring(
    space: SearchSpace,
    dataset: str,
    archs: Sequence[Arch],
    specs: Sequence[ProxySpec],
    store: ResultStore,
    *,
    seed: int = 0,
    batch_size: int = 64,
    sampling: str = "random",
    device: str = "cpu",
    dtype: str = "float32",
    fused: bool = True,
    labels: bool = True,
    retry_failed: bool = False,
    data_dir: str | None = None,
    progress: bool = True,
    rss_log: str | None = None,
) -> RunSummary:
    """Score ``archs`` with ``specs`` on one minibatch, skipping what the store already has.

    ``rss_log``: a CSV path; the process's resident memory is appended to it every 25 scored
    architectures (to check that long runs do not leak).
    """
    info = dataset_info(dataset)
    batch = minibatch(info.name, batch_size, seed, sampling=sampling, data_dir=data_dir)
    if not labels:
        batch = batch.without_labels()
    versions = {s.name: s.version for s in specs}
    config = dict(
        space=space.name, dataset=info.name, seed=seed, batch_size=batch_size, sampling=sampling
    )
    done = store.done(**config, versions=versions, include_failures=not retry_failed)
    summary = RunSummary(archs=len(archs))
    packages = {**package_versions(), **compute_environment()}
    _warn_mixed_environments(store, config, packages)
    start = time.perf_counter()
    bar = tqdm(
        archs,
        desc=f"score {space.name}/{info.name}",
        unit="arch",
        disable=not progress,
        smoothing=0.1,
    )
    for arch in bar:
        index = space.index(arch)
        todo = [s for s in specs if (index, s.name) not in done]
        if not todo:
            summary.skipped += 1
            continue
        results = score_arch(
            space,
            arch,
            batch,
            todo,
            num_classes=info.num_classes,
            seed=seed,
            device=device,
            dtype=DTYPES[dtype],
            fused=fused,
        )
        store.write(
            results,
            arch_index=index,
            arch=space.to_str(arch),
            versions=versions,
            dtype=dtype,
            device=str(device),
            fused=fused,
            packages=packages,
            **config,
        )
        summary.scored += 1
        if rss_log and summary.scored % 25 == 1:
            _log_rss(rss_log, summary.scored)
        for r in results:
            summary.status[r.proxy][r.status] += 1
            summary.proxy_seconds[r.proxy] += r.seconds
        del results
    summary.seconds = time.perf_counter() - start
    return summary
