"""Published reference numbers the suite is measured against (``shared/docs/anchors.md``).

Spearman rho of each proxy against final accuracy on NAS-Bench-201, per dataset. Sources:

* ``abdelfattah``: Abdelfattah et al., ICLR 2021, all 15,625 architectures, |rho| vs 200-epoch
  test accuracy, one random batch, default init (synflow without BN, float64);
* ``suite_zero``: Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022, 1,000 random
  architectures, vs validation accuracy;
* ``zico``: Li et al., ZiCo, ICLR 2023, Spearman vs test accuracy;
* ``az_nas``: Lee and Ham, AZ-NAS, CVPR 2024 (their notebook), all architectures, vs test
  accuracy (the VKDNW authors' re-run: 0.892 / 0.880 / 0.859);
* ``vkdnw``: Tybl and Neumann, VKDNW, CVPR 2025, VKDNW_agg, mean of 5 runs, all
  architectures, vs test accuracy.

``reference_rho`` compares like with like: against test accuracy it picks Abdelfattah where
given, else ZiCo / MeCo (both vs test), else Suite-Zero; against validation accuracy
(Suite-Zero's protocol) it picks Suite-Zero first. ``published`` lists every source. Signs as
the papers report them (plain is negative in Suite-Zero).
"""

from __future__ import annotations

import math

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_NA = math.nan

#: proxy -> source -> (C10, C100, IN16)
PUBLISHED_SPEARMAN: dict[str, dict[str, tuple[float, float, float]]] = {
    "grad_norm": {"abdelfattah": (0.594, 0.637, 0.578), "suite_zero": (0.58, 0.63, 0.57),
                  "zico": (0.63, 0.63, 0.58)},
    "snip": {"abdelfattah": (0.596, 0.637, 0.578), "suite_zero": (0.58, 0.63, 0.57),
             "zico": (0.63, 0.63, 0.58)},
    "grasp": {"abdelfattah": (0.514, 0.547, 0.549), "suite_zero": (0.51, 0.54, 0.55),
              "zico": (0.54, 0.51, 0.56)},
    "fisher": {"abdelfattah": (0.360, 0.385, 0.327), "suite_zero": (0.50, 0.54, 0.48),
               "zico": (0.55, 0.55, 0.50)},
    "synflow": {"abdelfattah": (0.737, 0.763, 0.751), "suite_zero": (0.73, 0.76, 0.75),
                "zico": (0.73, 0.76, 0.75)},
    "jacob_cov": {"abdelfattah": (0.731, 0.704, 0.701), "suite_zero": (0.75, 0.71, 0.71)},
    "naswot": {"suite_zero": (0.77, 0.80, 0.77), "zico": (0.77, 0.80, 0.78)},
    "epe_nas": {"suite_zero": (0.70, 0.60, 0.33)},
    "zen": {"suite_zero": (0.35, 0.35, 0.39), "zico": (0.38, 0.36, 0.40)},
    "l2_norm": {"suite_zero": (0.68, 0.72, 0.69)},
    "plain": {"suite_zero": (-0.26, -0.21, -0.22)},
    "params": {"suite_zero": (0.72, 0.73, 0.69), "zico": (0.75, 0.73, 0.69)},
    "flops": {"suite_zero": (0.69, 0.71, 0.67), "zico": (0.73, 0.71, 0.67)},
    "zico": {"zico": (0.80, 0.81, 0.79)},
    "meco": {"meco": (0.89, 0.88, 0.85)},  # MeCo (NeurIPS'23), "about", as anchors.md says
    "az_nas": {"az_nas": (0.913, 0.900, 0.886)},
    "vkdnw_agg": {"vkdnw": (0.919, 0.919, 0.906)},
}  # fmt: skip

#: sources measured against test accuracy first (Suite-Zero's numbers are vs validation)
_PREFERENCE = ("abdelfattah", "zico", "meco", "az_nas", "vkdnw", "suite_zero")
#: Suite-Zero correlates with validation accuracy: its numbers come first for a valid target
_PREFERENCE_VALID = ("suite_zero", "abdelfattah", "zico", "meco", "az_nas", "vkdnw")
SOURCES: tuple[str, ...] = ("abdelfattah", "suite_zero", "zico", "meco", "az_nas", "vkdnw")


def published(proxy: str, dataset: str) -> dict[str, float]:
    """Every published Spearman for ``proxy`` on ``dataset``, by source (NaN where none)."""
    sources = PUBLISHED_SPEARMAN.get(proxy, {})
    col = DATASETS.index(dataset)
    return {src: sources[src][col] if src in sources else _NA for src in SOURCES}


def reference_rho(proxy: str, dataset: str, target: str = "test_acc_200ep") -> tuple[float, str]:
    """(published Spearman, source) for ``proxy`` on ``dataset`` against ``target`` (a
    ``valid_*`` target prefers Suite-Zero, others Abdelfattah); (nan, '') if none."""
    sources = PUBLISHED_SPEARMAN.get(proxy, {})
    col = DATASETS.index(dataset)
    order = _PREFERENCE_VALID if target.startswith("valid") else _PREFERENCE
    for source in order:
        if source in sources:
            return sources[source][col], source
    return _NA, ""


#: published records an ensemble is read against (``shared/docs/anchors.md``): signed Spearman
#: vs 200-epoch test accuracy over all NB201 architectures, (C10, C100, IN16), and whether
#: the method uses accuracy labels
RECORDS: dict[str, tuple[tuple[float, float, float], bool]] = {
    "VKDNW (CVPR'25)": ((0.919, 0.919, 0.906), False),
    "AZ-NAS (CVPR'24)": ((0.913, 0.900, 0.886), False),
    "GRAF (ICML'24)": ((0.953, 0.948, 0.941), True),
}


def records(dataset: str, labels: bool) -> dict[str, float]:
    """The published records on ``dataset`` for methods with (``labels``) or without accuracy
    labels, best first ({} for a dataset outside NB201's three)."""
    if dataset not in DATASETS:
        return {}
    col = DATASETS.index(dataset)
    found = {name: v[col] for name, (v, with_labels) in RECORDS.items() if with_labels == labels}
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))
