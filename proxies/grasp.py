"""grasp (Wang et al., "Picking Winning Tickets Before Training by Preserving Gradient Flow",
ICLR 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021).

Formula: S = sum over Conv2d / Linear layers l of sum(-W_l * (H g)_l), g = dL/dW and H the
Hessian of L over all Conv2d / Linear weights, L = mean cross-entropy of the minibatch at
initialisation (train mode, BatchNorm kept, float32).

As the authors' ``foresight/pruners/measures/grasp.py`` (read in NASLib's copy,
``naslib/predictors/utils/pruners/measures/grasp.py``, which is the same code): temperature
T = 1, one iteration, ``split_data = 1``, the whole minibatch; Hg by the double-backward trick
(g without a graph, then z = sum_l <g_l, dL/dW_l> with a graph, Hg = dz/dW); per-weight
``-W * Hg``; the sum over weights and layers, higher is better (their sign, chosen because
accuracy correlated negatively with +W*Hg). Weights the loss does not reach get Hg = 0.

Departures: none in value. Wang et al.'s own GraSP pruning code uses T = 200 and a
class-balanced batch (10 images per class) split in two halves; we follow Abdelfattah et al.,
whose NAS-Bench-201 numbers are the anchor. Abdelfattah's code runs two forward passes (one
for g, one for the graph); in train mode both give the same logits, so we run one forward and
one backward with ``create_graph=True`` and take g from it (identical values, one pass fewer).
Fused, that forward and backward are the shared labelled pass's own
(:meth:`~zcbench.proxies.base.TrainGraph.weight_grads`): GraSP adds only the
Hessian-vector product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxyFailure, register_proxy

#: softmax temperature (Abdelfattah et al.'s default; Wang et al. use 200)
TEMPERATURE = 1.0


@register_proxy(
    "grasp",
    kind="own",
    higher_is_better=True,
    needs_labels=True,
    needs_grad=True,
    dtype="float32",
    removes_bn=False,
    cost="heavy",
    uses=("train_graph", "weight_grads"),
    paper=(
        "Wang et al., Picking Winning Tickets Before Training by Preserving Gradient Flow, "
        "ICLR 2020 (as in Abdelfattah et al., ICLR 2021)"
    ),
    formula="sum_l sum(-W_l * (H g)_l), g = dL/dW, H = d2L/dW2, L = cross-entropy (T = 1)",
    departures=(
        "T = 1, one minibatch, no split (Abdelfattah et al.), not Wang et al.'s T = 200 "
        "with a class-balanced batch"
    ),
)
class GraSP(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        graph = ctx.train_graph(torch.float32)
        weights = graph.weights
        if not weights:
            raise ProxyFailure("the model has no Conv2d / Linear layer")
        if TEMPERATURE == 1.0:  # the shared pass's loss gradients, graph included
            grads = graph.weight_grads(ctx.targets)
        else:
            loss = F.cross_entropy(graph.logits / TEMPERATURE, ctx.targets)
            grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        terms = [(g.detach() * g).sum() for g in grads if g is not None]
        if not terms:
            raise ProxyFailure("the loss does not depend on any Conv2d / Linear weight")
        z = torch.stack(terms).sum()
        hg = torch.autograd.grad(z, weights, retain_graph=True, allow_unused=True)
        total = torch.zeros((), dtype=torch.float64)
        for w, h in zip(weights, hg):
            if h is not None:
                total = total + (-w.detach() * h).double().sum()
        return float(total)
