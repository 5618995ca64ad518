"""plain (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; their
``foresight/pruners/measures/plain.py``, also NASLib's ``plain``).

Formula: sum over Conv2d / Linear layers l of sum (dL/dW_l * W_l), signed (to first order,
minus the change of the loss if every weight were set to 0), L = mean cross-entropy of the
labelled minibatch at initialisation (train mode, BatchNorm kept).

As the authors' code with ``split_data=1``, including its direction: like every proxy there,
a larger value is taken to be better (its published correlation is negative). No departure.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, register_proxy
from zcbench.proxies.layers import grad_or_zero, sum_over_layers


@register_proxy(
    "plain",
    kind="backward",
    needs_labels=True,
    paper="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    formula="sum_l sum (dL/dW_l * W_l) over Conv2d/Linear, L = cross-entropy of one minibatch",
)
class Plain(HookProxy):
    module_types = ()  # needs only the parameter gradients

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        return sum_over_layers(model, lambda layer: grad_or_zero(layer) * layer.weight)
