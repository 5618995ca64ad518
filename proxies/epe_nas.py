"""epe_nas (Lopes et al., "EPE-NAS: Efficient Performance Estimation Without Training for
Neural Architecture Search", ICANN 2021; NASLib ``epe_nas``).

Formula: with J[n] = d(sum of all logits)/d(image n) flattened and, for each class c present
in the batch, M_c the correlation matrix of the rows of J whose label is c,
e_c = sum_{ij} log(|M_c[i, j]| + k), k = 1e-5, the score is sum_c |e_c| when the task has
C <= 100 classes, and (sum_c sum_c' |e_c / n_c - e_c' / n_c'|) / (classes kept) when C > 100
(n_c = images of class c in the batch). Higher is better.

As the authors' ``eval_score_perclass`` (VascoLopes/EPE-NAS ``search.py``) in NASLib's version
(``naslib/predictors/utils/pruners/measures/epe_nas.py``, the one NAS-Bench-Suite-Zero ran):
input-Jacobian of the summed logits exactly as jacob_cov (train mode, BatchNorm kept, float32,
the whole batch in one backward), ``np.corrcoef`` semantics for M_c (float64, clipped to
[-1, 1], diagonal included), and C = the number of classes of the task (NASLib passes the
logits' width ``y.shape[-1]``; the authors' script leaves its default ``n_classes=10``; the
paper's C is the number of classes). A class with a single image has ``corrcoef`` = 1 (NaN if
its Jacobian is constant): it adds log(1 + k) to the C <= 100 sum and is dropped when C > 100
(there ``len()`` of the 0-d result raises inside their ``try``). A class whose Jacobian rows
have zero variance gives NaN, returned as NaN and recorded as such (as theirs).

Departure: when C > 100 and every class in the batch has a single image, no class is left;
NASLib then returns 0 (the authors' code divides by zero and stores NaN). We raise
:class:`ProxyFailure` so the case is recorded instead of ranking the network last.
"""

from __future__ import annotations

import math

import torch

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxyFailure, register_proxy
from zcbench.proxies.jacob_cov import correlation, input_jacobian

#: the authors' constant inside the log
K = 1e-5
#: above this many classes the authors switch to the normalised pairwise form
MANY_CLASSES = 100


def epe_score(jacob: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The EPE-NAS score of flattened input-Jacobians (one row per image) and their labels,
    for a task with ``num_classes`` classes."""
    labels = labels.detach().cpu()
    classes = list(dict.fromkeys(int(c) for c in labels.tolist()))  # first-seen order
    many = num_classes > MANY_CLASSES
    per_class: list[float] = []
    for c in classes:
        rows = jacob[labels == c]
        if rows.shape[0] == 1:
            if many:
                continue  # the authors' len() of a scalar fails: class dropped
            std = rows.to(torch.float64).std()
            corrs = torch.ones((), dtype=torch.float64) if std > 0 else torch.tensor(math.nan)
        else:
            corrs = correlation(rows)
        e = float(torch.log(corrs.abs() + K).sum())
        if many:
            e /= rows.shape[0]
        per_class.append(e)
    if not many:
        return math.fsum(abs(e) for e in per_class)
    if not per_class:  # NASLib returns 0 here, the authors' code 0 / 0 (NaN)
        raise ProxyFailure("more than 100 classes and every class in the batch has one image")
    pairwise = math.fsum(abs(a - b) for a in per_class for b in per_class)
    return pairwise / len(per_class)


@register_proxy(
    "epe_nas",
    kind="own",
    higher_is_better=True,
    needs_labels=True,
    needs_grad=True,
    dtype="float32",
    removes_bn=False,
    cost="backward",
    uses=("train_graph",),
    paper=(
        "Lopes et al., EPE-NAS: Efficient Performance Estimation Without Training for Neural "
        "Architecture Search, ICANN 2021 (NASLib epe_nas)"
    ),
    departures=("C > 100 with every class a singleton: a recorded failure, where NASLib returns 0"),
    formula=(
        "sum_c |sum_ij log(|corr(J_c)[i,j]| + 1e-5)| (C <= 100; class-normalised pairwise "
        "differences for C > 100), J_c = input-Jacobians of class c"
    ),
)
class EPENAS(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        targets = ctx.targets
        return epe_score(input_jacobian(ctx), targets, ctx.num_classes)
