"""synflow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving
synaptic flow", NeurIPS 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021).

Formula: S = sum over Conv2d / Linear layers l of sum |W_l * dR/dW_l|, R = sum of the outputs of
the network with every parameter replaced by its absolute value, fed one all-ones input
``[1, C, H, W]`` (no data, no labels).

As the authors' ``foresight/pruners/measures/synflow.py`` (mode ``synflow``, the one their
NAS-Bench-201 numbers use): BatchNorm removed, float64 model and input, a single all-ones image
of the batch's shape, absolute values of every parameter (biases too), ``R.backward()``, then
the per-weight ``|W * grad|`` summed over Conv2d / Linear weights (biases are not scored).
They flip the signs back afterwards; we work on a private copy, so nothing is restored. Values
reach 1e30 and beyond on large cells: they are kept in float64 and an overflow is returned as
Inf (recorded as such), never clipped. No departure from the authors' definition. A model
with normalisation other than BatchNorm (LayerNorm, GroupNorm, InstanceNorm) is ``skipped``:
such layers cannot be removed as BatchNorm is, and kept they divide the flow by its own
scale.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxySkipped, register_proxy
from zcbench.proxies.layers import OTHER_NORMS, grad_or_zero, sum_over_layers


@register_proxy(
    "synflow",
    kind="own",
    higher_is_better=True,
    needs_labels=False,
    needs_grad=True,
    dtype="float64",
    removes_bn=True,
    cost="backward",
    paper=(
        "Tanaka et al., Pruning neural networks without any data by iteratively conserving "
        "synaptic flow, NeurIPS 2020 (as in Abdelfattah et al., ICLR 2021)"
    ),
    formula=(
        "sum_l sum |W_l * dR/dW_l|, R = sum of outputs of the |theta| network (no BN, float64) "
        "on one all-ones input"
    ),
)
class SynFlow(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        model = linearised_flow(ctx)
        return sum_over_layers(model, lambda layer: (layer.weight * grad_or_zero(layer)).abs())


def linearised_flow(ctx: ProxyContext) -> nn.Module:
    """The synflow pass: a float64, BN-free copy with every parameter and buffer by its
    absolute value, after ``R.backward()`` for R = sum of its outputs on one all-ones image
    (``.grad`` set). Shared per context: synaptic_diversity differentiates the same objective
    on the same network, so fused scoring runs this pass once for both. Read, never modify."""

    norms = sorted(
        {type(m).__name__ for m in ctx.initial_model().modules() if isinstance(m, OTHER_NORMS)}
    )
    if norms:
        raise ProxySkipped(
            f"the synflow pass removes normalisation and the model has {', '.join(norms)}, "
            "which only BatchNorm can be (a transformer's LayerNorm cannot)"
        )

    def compute() -> nn.Module:
        model = ctx.fresh_model(dtype=torch.float64, remove_bn=True)
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                if tensor.is_floating_point():
                    tensor.abs_()
        model.zero_grad(set_to_none=True)
        shape = ctx.batch.inputs.shape[1:]
        ones = torch.ones((1, *shape), dtype=torch.float64, device=ctx.device)
        with torch.enable_grad():
            model(ones).sum().backward()
        return model

    return ctx.shared("synflow_pass/float64", compute)
