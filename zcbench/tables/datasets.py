"""The three NAS-Bench-201 datasets: names, classes, resolution and NB201's normalisation."""

from __future__ import annotations

from dataclasses import dataclass

from zcbench.errors import unknown


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    input_size: int  # square images: 32 for CIFAR, 16 for ImageNet16-120
    mean: tuple[float, float, float]  # per-channel, on the [0, 1] scale, as NB201 normalises
    std: tuple[float, float, float]
    image_file: str  # relative to the data directory


# Normalisation constants of xautodl's get_datasets (pixel values / 255).
DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(
        "cifar10", 10, 32,
        tuple(x / 255 for x in (125.3, 123.0, 113.9)),
        tuple(x / 255 for x in (63.0, 62.1, 66.7)),
        "images/cifar10_sample.npz",
    ),
    "cifar100": DatasetInfo(
        "cifar100", 100, 32,
        tuple(x / 255 for x in (129.3, 124.1, 112.4)),
        tuple(x / 255 for x in (68.2, 65.4, 70.4)),
        "images/cifar100_sample.npz",
    ),
    "ImageNet16-120": DatasetInfo(
        "ImageNet16-120", 120, 16,
        tuple(x / 255 for x in (122.68, 116.66, 104.01)),
        tuple(x / 255 for x in (63.22, 61.26, 65.09)),
        "images/imagenet16_120_sample.npz",
    ),
}  # fmt: skip

_ALIASES = {
    "cifar10": "cifar10",
    "c10": "cifar10",
    "cifar-10": "cifar10",
    "cifar100": "cifar100",
    "c100": "cifar100",
    "cifar-100": "cifar100",
    "imagenet16-120": "ImageNet16-120",
    "imagenet16_120": "ImageNet16-120",
    "in16": "ImageNet16-120",
    "in16-120": "ImageNet16-120",
}


def dataset_info(name: str) -> DatasetInfo:
    """Look up a dataset by its official name or a common alias (case-insensitive)."""
    canon = _ALIASES.get(str(name).strip().lower())
    if canon is None:
        raise unknown("dataset", name, list(DATASETS))
    return DATASETS[canon]
