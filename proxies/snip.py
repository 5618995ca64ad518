"""snip (Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity",
ICLR 2019), as a zero-cost proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight
NAS", ICLR 2021 (their ``foresight/pruners/measures/snip.py``).

Formula: sum over Conv2d / Linear layers l of sum |dL/dW_l * W_l|, L = mean cross-entropy of
the labelled minibatch at initialisation (train mode, BatchNorm kept).

The authors multiply every weight by a mask of ones and read |dL/dmask|; since
dL/dmask = dL/dW * W at mask = 1, we read the weight gradients of the shared backward pass
directly, which gives the same value. No departure (``split_data=1``).
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, register_proxy
from zcbench.proxies.layers import grad_or_zero, sum_over_layers


@register_proxy(
    "snip",
    kind="backward",
    needs_labels=True,
    paper="Lee et al., SNIP: Single-shot Network Pruning based on Connection Sensitivity, "
    "ICLR 2019 (zero-cost proxy: Abdelfattah et al., ICLR 2021)",
    formula="sum_l sum |dL/dW_l * W_l| over Conv2d/Linear, L = cross-entropy of one minibatch",
)
class Snip(HookProxy):
    module_types = ()  # needs only the parameter gradients

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        return sum_over_layers(model, lambda layer: (grad_or_zero(layer) * layer.weight).abs())
