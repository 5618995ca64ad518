"""Real-image minibatches for zero-cost proxies.

Images come from ``images/*.npz`` in the data directory (uint8 NHWC + int labels), are scaled to
[0, 1] and normalised with NAS-Bench-201's per-dataset mean/std, and returned NCHW float32 as a
:class:`~zcbench.types.Batch`. Sampling is seeded (``numpy.random.default_rng(seed)``):

* ``random``: a uniform sample without replacement from the chosen split;
* ``balanced``: ``batch_size // K`` images of every class plus one more for
  ``batch_size % K`` randomly chosen classes (fewer than K images: that many distinct classes).

Splits: ``train`` (default; proxies look at training data), ``test`` or ``all``. The
ImageNet16-120 stand-in (one photo per class) has no split, so every split is all 120 images.
"""

from __future__ import annotations

import functools
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from zcbench.errors import DataError, ZCBenchError, shown
from zcbench.paths import data_file
from zcbench.tables.datasets import DatasetInfo, dataset_info
from zcbench.types import Batch

log = logging.getLogger(__name__)

SPLITS = ("train", "test", "all")
SAMPLINGS = ("random", "balanced")


@dataclass(frozen=True)
class ImageSet:
    """Raw images of one dataset split: ``x`` uint8 (N, H, W, 3), ``y`` int64 (N,)."""

    info: DatasetInfo
    split: str
    x: np.ndarray
    y: np.ndarray
    positions: np.ndarray  # row of each image in the source file

    def __len__(self) -> int:
        return len(self.y)


@functools.lru_cache(maxsize=8)
def load_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an image file (uint8 NHWC ``x``, labels ``y``); DataError if corrupt."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise DataError(f"corrupt image file {path}: {str(exc).splitlines()[0]}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"corrupt image file {path}: no array {key!r}; expected 'x' and 'y'")
    x, y = arrays["x"], arrays["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or len(y) != len(x):
        raise DataError(
            f"corrupt image file {path}: x {x.dtype}{x.shape}, y {y.shape}; expected uint8 "
            "(N, H, W, 3) images and N labels"
        )
    return arrays


def load_images(
    dataset: str, split: str = "train", data_dir: str | os.PathLike[str] | None = None
) -> ImageSet:
    """The images of ``dataset`` in ``split`` (``train``, ``test`` or ``all``)."""
    info = dataset_info(dataset)
    if split not in SPLITS:
        raise ZCBenchError(f"unknown split {shown(split)}; expected one of: {', '.join(SPLITS)}")
    path = data_file(info.image_file, data_dir).resolve()
    arrays = load_npz(path)
    x, y = arrays["x"], arrays["y"].astype(np.int64)
    if x.shape[1:3] != (info.input_size, info.input_size):
        raise DataError(
            f"corrupt image file {path}: images are {x.shape[1]}x{x.shape[2]}; expected "
            f"{info.input_size}x{info.input_size} for {info.name}"
        )
    if y.min() < 0 or y.max() >= info.num_classes:
        raise DataError(
            f"corrupt image file {path}: labels span {y.min()}..{y.max()}; expected "
            f"0..{info.num_classes - 1}"
        )
    tags = arrays.get("split")
    if split == "all" or tags is None or tags.ndim == 0:
        keep = np.ones(len(y), dtype=bool)  # no per-image split (ImageNet16-120 stand-in)
    else:
        is_train = np.char.startswith(tags.astype(str), "train")
        keep = is_train if split == "train" else ~is_train
    positions = np.flatnonzero(keep)
    return ImageSet(info, split, x[positions], y[positions], positions)


def _choose(
    labels: np.ndarray, batch_size: int, sampling: str, rng: np.random.Generator
) -> np.ndarray:
    if sampling == "random":
        return rng.choice(len(labels), size=batch_size, replace=False)
    classes = np.unique(labels)
    per, extra = divmod(batch_size, len(classes))
    counts = dict.fromkeys(classes.tolist(), per)
    for c in rng.choice(classes, size=extra, replace=False):
        counts[int(c)] += 1
    chosen = []
    for c, k in counts.items():
        pool = np.flatnonzero(labels == c)
        if k > len(pool):
            raise ZCBenchError(
                f"class-balanced batch of {batch_size} needs {k} images of class {c} but the "
                f"split has {len(pool)}; expected batch size <= {len(pool) * len(classes)}"
            )
        chosen.append(rng.choice(pool, size=k, replace=False))
    order = np.concatenate(chosen)
    rng.shuffle(order)
    return order


def normalise(x: np.ndarray, info, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 NHWC images -> NCHW tensors normalised with the dataset's mean / std, computed in
    float64 and then cast, so that scoring and training (``zcbench verify``) see the same
    values for the same pixels."""
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).to(torch.float64) / 255.0
    mean = torch.tensor(info.mean, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(info.std, dtype=torch.float64).view(1, 3, 1, 1)
    return ((t - mean) / std).to(dtype).contiguous()


def minibatch(
    dataset: str,
    batch_size: int = 64,
    seed: int = 0,
    *,
    sampling: str = "random",
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> Batch:
    """A seeded minibatch of real, NB201-normalised images and labels."""
    if sampling not in SAMPLINGS:
        raise ZCBenchError(
            f"unknown sampling {shown(sampling)}; expected one of: {', '.join(SAMPLINGS)}"
        )
    images = load_images(dataset, split, data_dir)
    n = len(images)
    if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n:
        raise ZCBenchError(
            f"batch size {batch_size} is not available for {images.info.name} {split} "
            f"({n} images); expected 1..{n}"
        )
    rng = np.random.default_rng(seed)
    rows = _choose(images.y, int(batch_size), sampling, rng)
    x = normalise(images.x[rows], images.info, dtype)
    y = torch.from_numpy(images.y[rows].copy())
    log.debug(
        "minibatch %s/%s n=%d seed=%d %s", images.info.name, split, batch_size, seed, sampling
    )
    batch = Batch(x, y, images.info.name, tuple(int(p) for p in images.positions[rows]))
    return batch.to(device) if str(device) != "cpu" else batch
