"""Parameter and FLOP counting in the convention of the NAS-Bench-201 zero-cost "flops" proxy.

The reference FLOPs that the suite checks against (``17.958592`` / ``222.86099`` / ``187.04147``
M for the cifar10 networks of NB201 indexes 0 / 1462 / 9930; ``4.497472`` / ``55.723072`` /
``46.768192`` M for ImageNet16-120) are *not* the NB201/NATS API's ``get_cost_info`` FLOPs:
xautodl's ``get_model_infos`` (``xautodl/utils/flop_benchmark.py``) sums only Conv2d and Linear
(``compute_average_flops_cost``), which gives 220.11969 M for index 1462. They are the
``flops`` proxy of NASLib / NAS-Bench-Suite-Zero, which calls
``tensorwatch.ModelStats(net, [1, C, H, W]).Flops / 1e6`` (NASLib
``naslib/predictors/utils/pruners/measures/model_stats.py``; the input shape is one batch of
the dataset with batch size 1). tensorwatch 0.9.1 (``tensorwatch/model_graph/torchstat/
compute_flops.py``, a fork of torchstat) hooks every *leaf* module during one forward pass and
counts, per image:

* Conv2d: ``k_h * k_w * C_in * (C_out // groups)`` per output position (+ ``C_out`` per position
  for a bias);
* BatchNorm2d: ``numel(input)``, doubled when ``affine``;
* ReLU, ReLU6, PReLU, ELU, LeakyReLU: ``numel(input)``;
* AvgPool2d / MaxPool2d: ``k_h * k_w`` per output element (padding and
  ``count_include_pad`` ignored);
* AdaptiveAvgPool2d / AdaptiveMaxPool2d: for each output cell, ``C * (rows + 1) * (cols + 1)``
  where ``rows`` / ``cols`` is the cell's input window (torchstat's off-by-one is kept; global
  pooling of a ``C x H x W`` map counts ``C * (H + 1) * (W + 1)``);
* Linear: ``in * out`` per row, the bias *not* counted;
* nothing else: Identity, the ``none`` op, padding, concatenation, tensor additions and other
  functional ops count 0 (Upsample, which tensorwatch counts, does not occur in our spaces).

Running tensorwatch 0.9.1 itself on our networks gives exactly the integers this module counts
(17958592, 222860992, 187041472, 4497472, 55723072, 46768192). The published table holds these
numbers rounded through float32 (``float32(222.860992)`` prints as ``222.86099``,
``float32(187.041472)`` as ``187.04147``), so two of its six entries differ from the exact
counts by 2e-6 M in the 6th decimal; all six agree as float32. One deliberate difference from
tensorwatch: a module called more than once is counted for every call (tensorwatch keeps the
last call only); no NB201 / NATS module is called twice.

This is a real counter: forward hooks record each module's input/output shapes during one
forward pass of a single image (on PyTorch's ``meta`` device when the model is there, so no
arithmetic is done). FLOPs are per image; parameters are all parameters; ``model_cost`` gives
both in millions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelCost:
    params_m: float
    flops_m: float


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv_flops(m: nn.Conv2d, x: torch.Tensor, out: torch.Tensor) -> int:
    kh, kw = _pair(m.kernel_size)
    positions = out.shape[0] * out.shape[2] * out.shape[3]
    flops = kh * kw * x.shape[1] * (out.shape[1] // m.groups) * positions
    if m.bias is not None:
        flops += out.shape[1] * positions
    return flops


def _bn_flops(m: nn.BatchNorm2d, x: torch.Tensor, _out: torch.Tensor) -> int:
    return x.numel() * (2 if m.affine else 1)


def _act_flops(_m: nn.Module, x: torch.Tensor, _out: torch.Tensor) -> int:
    return x.numel()


def _pool_flops(m: nn.AvgPool2d | nn.MaxPool2d, _x: torch.Tensor, out: torch.Tensor) -> int:
    kh, kw = _pair(m.kernel_size)
    return out.numel() * kh * kw


def _adaptive_pool_flops(_m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    # window of output cell i: [floor(i*H/oh), ceil((i+1)*H/oh)), counted with torchstat's +1
    rows = sum(-(-(i + 1) * h // oh) - i * h // oh + 1 for i in range(oh))
    cols = sum(-(-(j + 1) * w // ow) - j * w // ow + 1 for j in range(ow))
    return n * c * rows * cols


def _linear_flops(m: nn.Linear, x: torch.Tensor, _out: torch.Tensor) -> int:
    return x.numel() // m.in_features * m.in_features * m.out_features


_Counter = Callable[[nn.Module, torch.Tensor, torch.Tensor], int]

# checked with isinstance, in this order (as tensorwatch's ``compute_flops``)
_COUNTERS: tuple[tuple[tuple[type[nn.Module], ...], _Counter], ...] = (
    ((nn.Conv2d,), _conv_flops),
    ((nn.BatchNorm2d,), _bn_flops),
    ((nn.AvgPool2d, nn.MaxPool2d), _pool_flops),
    ((nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d), _adaptive_pool_flops),
    ((nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU), _act_flops),
    ((nn.Linear,), _linear_flops),
)


def _counter_for(module: nn.Module) -> _Counter | None:
    if next(module.children(), None) is not None:  # only leaf modules are counted
        return None
    for types, counter in _COUNTERS:
        if isinstance(module, types):
            return counter
    return None


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_flops(model: nn.Module, input_size: int, channels: int = 3) -> float:
    """FLOPs (tensorwatch/torchstat convention, see the module docstring) of one
    ``channels x input_size x input_size`` image.

    The model is left as it was: one forward in eval mode under ``no_grad`` (no BatchNorm
    statistics move, no graph is kept), every module's train/eval mode restored and the hooks
    removed afterwards, so it may be the scoring context's pristine model."""
    total = 0

    def make_hook(counter: _Counter) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            nonlocal total
            total += int(counter(module, inputs[0], output))

        return hook

    handles = []
    try:
        for m in model.modules():
            counter = _counter_for(m)
            if counter is not None:
                handles.append(m.register_forward_hook(make_hook(counter)))
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        modes = [(m, m.training) for m in model.modules()]
        model.eval()
        try:
            with torch.no_grad():
                model(torch.zeros(1, channels, input_size, input_size, device=device))
        finally:
            for m, training in modes:
                m.training = training
    finally:
        for h in handles:
            h.remove()
    return float(total)


def model_cost(model: nn.Module, input_size: int) -> ModelCost:
    return ModelCost(count_params(model) / 1e6, count_flops(model, input_size) / 1e6)
