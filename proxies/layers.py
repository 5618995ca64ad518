"""Shared helpers for proxies: which layers count, and per-layer reductions.

Most zero-cost proxies are sums over the "weight layers" of a network, which the reference
implementations (Abdelfattah et al.'s zero-cost-nas, NASLib) define as every ``Conv2d`` and
``Linear``; we follow that everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def weight_layers(model: nn.Module) -> Iterator[nn.Module]:
    for m in model.modules():
        if isinstance(m, WEIGHT_LAYERS):
            yield m


def sum_over_layers(model: nn.Module, fn: Callable[[nn.Module], torch.Tensor]) -> float:
    """``sum(fn(layer).sum() for each Conv2d / Linear)`` as a Python float (float64 sum); a
    model without any such layer is skipped (a sum over nothing is no score)."""
    from zcbench.proxies.base import ProxySkipped

    total = torch.zeros((), dtype=torch.float64)
    layers = 0
    for layer in weight_layers(model):
        total = total + fn(layer).detach().double().sum().cpu()
        layers += 1
    if not layers:
        raise ProxySkipped("the model has no Conv2d or Linear layer to sum over")
    return float(total)


#: normalisation layers other than BatchNorm: synflow's |theta| network cannot drop them
#: (they are not folded into the weights) and keeping them breaks positive homogeneity
OTHER_NORMS: tuple[type[nn.Module], ...] = tuple(
    t
    for t in (
        nn.LayerNorm,
        nn.GroupNorm,
        nn.LocalResponseNorm,
        nn.modules.instancenorm._InstanceNorm,
        getattr(nn, "RMSNorm", None),
    )
    if t is not None
)


def grad_or_zero(layer: nn.Module) -> torch.Tensor:
    """A layer's weight gradient, or zeros where no gradient reached it (e.g. dead edges)."""
    g = layer.weight.grad
    return torch.zeros_like(layer.weight) if g is None else g


def kaiming_fanin_init(model: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise as AZ-NAS's and VKDNW's ``init_model(model, 'kaiming_norm_fanin')``:
    Conv2d / Linear weights Kaiming-normal (fan-in, ReLU gain), their biases 0; BatchNorm /
    GroupNorm affine weights 1 and biases 0. Draws from ``generator`` (on the CPU; copied to
    the parameters' device)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, WEIGHT_LAYERS):
                w = torch.empty(m.weight.shape, dtype=m.weight.dtype)
                nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator)
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
