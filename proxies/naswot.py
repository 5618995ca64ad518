"""naswot (Mellor et al., "Neural Architecture Search without Training", ICML 2021).

Formula: log|K_H| with K_H[i, j] = N_A - d_H(c_i, c_j), where c_i is the binary code of image
i (which ReLU inputs are positive, over every ReLU of the network) and N_A the code length.
The ReLUs are the network's ``nn.ReLU`` modules; a model that runs none (SiLU, GELU, or
``F.relu`` calls that hooks cannot see) is ``skipped``, as the codes are defined for ReLU.
As the authors' final code: for each ReLU, with x = 1[input > 0] flattened per image,
K += x x^T + (1 - x)(1 - x)^T; the score is ``slogdet(K)[1]``. The model is in train mode
(batch statistics), as in their scoring script. Computed in float64.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import (
    HookProxy,
    ProxyContext,
    ProxyFailure,
    ProxySkipped,
    register_proxy,
)


def hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """c c^T + (1-c)(1-c)^T of (N, D) binary codes: D minus the Hamming distances, float64.

    One matrix product instead of the authors' two: (1-c)(1-c)^T = D - s_i - s_j + c c^T with
    s the row sums. Every entry is an integer <= D, so the float32 product is exact for
    D < 2^24 (any order of summation); larger layers use float64.
    """
    d = codes.shape[1]
    x = codes.to(torch.float32 if d < 2**24 else torch.float64)
    common = (x @ x.T).to(torch.float64)
    s = x.sum(1, dtype=torch.float64)
    return 2 * common - s[:, None] - s[None, :] + d


def binary_codes(pre_activation: torch.Tensor) -> torch.Tensor:
    """1[x > 0] of a ReLU input, flattened per image (N, D), as 0 / 1 floats.

    ``sign`` clamped at 0 gives the same 0 / 1 values five times faster than the comparison's
    booleans converted to float (which :func:`hamming_kernel` multiplies); a NaN input, whose
    code is 0, takes the comparison instead."""
    x = pre_activation.reshape(pre_activation.shape[0], -1)
    if x.shape[1] >= 2**24 or not x.is_floating_point():
        return x > 0  # hamming_kernel takes float64 here / codes of an integer map
    codes = x.sign().clamp_(min=0)
    if codes.dtype != torch.float32:
        codes = codes.to(torch.float32)
    if torch.isnan(codes.sum()):
        return x > 0
    return codes


@register_proxy(
    "naswot",
    kind="forward",
    paper="Mellor et al., Neural Architecture Search without Training, ICML 2021",
    formula="log|K_H|, K_H = sum over ReLUs of c c^T + (1-c)(1-c)^T, c = 1[pre-activation > 0]",
)
class NASWOT(HookProxy):
    module_types = (nn.ReLU,)

    def start(self, ctx: ProxyContext, model: nn.Module) -> None:
        n = ctx.batch.inputs.shape[0]
        self.kernel = torch.zeros(n, n, dtype=torch.float64)
        self.relus = 0

    def on_forward(self, name, module, inputs, output) -> None:
        self.relus += 1
        self.kernel += hamming_kernel(binary_codes(inputs[0])).cpu()

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        if not self.relus:
            raise ProxySkipped(
                "naswot reads the binary codes of nn.ReLU inputs and the model ran no nn.ReLU "
                "module (other activations and functional relu calls are not seen)"
            )
        sign, logdet = torch.linalg.slogdet(self.kernel)
        if sign <= 0:
            raise ProxyFailure(f"K_H is singular or not positive definite (sign {float(sign)})")
        return float(logdet)
