"""Parameter and FLOP tables of whole search spaces (``zcbench info``)."""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Iterable

import pandas as pd
import torch
from tqdm.auto import tqdm

from zcbench.spaces import get_space, space_ref
from zcbench.tables.datasets import dataset_info
from zcbench.tables.flops import model_cost
from zcbench.types import Arch

log = logging.getLogger(__name__)
COLUMNS = ["index", "arch", "params_m", "flops_m"]


def _cost_row(args: tuple[str, str | None, tuple[int, ...], str]) -> tuple[int, str, float, float]:
    space_name, data_dir, genotype, dataset = args
    space = get_space(space_name, data_dir)
    arch = Arch(space.name, genotype)
    info = dataset_info(dataset)
    cost = model_cost(space.build(arch, info.num_classes), info.input_size)
    return space.index(arch), space.to_str(arch), cost.params_m, cost.flops_m


def _init_worker() -> None:
    torch.set_num_threads(1)


def cost_table(
    space_name: str,
    archs: Iterable[Arch],
    dataset: str,
    *,
    data_dir: str | None = None,
    workers: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per architecture: ``index, arch, params_m, flops_m`` of the official network
    for ``dataset`` (its classes and resolution), counted on the built model."""
    info = dataset_info(dataset)
    space = get_space(space_name, data_dir)
    genotypes = [space.validate(a).genotype for a in archs]
    parallel = workers > 1 and len(genotypes) > 50
    ref = space_ref(space) if parallel else space.name  # workers import a user's space
    jobs = [(ref, data_dir, g, info.name) for g in genotypes]
    bar = dict(
        total=len(jobs),
        desc=f"{space.name}/{info.name} params+FLOPs",
        unit="arch",
        disable=not progress,
        smoothing=0.05,
    )
    if parallel:
        ctx = mp.get_context("spawn")  # fork after torch threads is unsafe
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            rows = list(tqdm(pool.imap(_cost_row, jobs, chunksize=32), **bar))
    else:
        rows = [_cost_row(j) for j in tqdm(jobs, **bar)]
    log.info("counted %d %s architectures on %s", len(rows), space.name, info.name)
    return pd.DataFrame(rows, columns=COLUMNS)
