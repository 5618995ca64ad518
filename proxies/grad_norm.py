"""grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).

Formula: sum over Conv2d / Linear layers l of ||dL/dW_l||_2, L = mean cross-entropy of the
minibatch at initialisation (train mode). As the authors' ``grad_norm.py`` with
``split_data=1``. Shares the labelled backward pass with snip, fisher and plain.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, register_proxy
from zcbench.proxies.layers import grad_or_zero, sum_over_layers


@register_proxy(
    "grad_norm",
    kind="backward",
    needs_labels=True,
    paper="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    formula="sum_l ||dL/dW_l||_2 over Conv2d/Linear, L = cross-entropy of one minibatch",
)
class GradNorm(HookProxy):
    module_types = ()  # needs no activations, only the parameter gradients

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        return sum_over_layers(model, lambda layer: grad_or_zero(layer).norm())
