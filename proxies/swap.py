"""swap (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR
2024; the authors' ``src/metrics/swap.py``).

Formula: |{ (1[r_n,j > 0])_{n=1..N} : neurons j }|, the number of distinct sample-wise
activation patterns: every ReLU output element j (channel x position) of every ReLU applied
to a 4-D tensor gives the binary vector of its signs over the N images of the batch; the
score counts the distinct vectors over all ReLUs together (at most 2^N). The model is in
train mode (batch statistics), as in their code (they never call ``eval()``).

As the authors' code: ReLU *outputs* (post-activation) hooked, ``sign`` of them (0 / 1),
ReLUs with a non-4-D input skipped, unique rows of the (neurons x samples) matrix. We pack
each neuron's N bits into 64-bit words before counting, which gives the same count.

Departures: (1) their evaluation script re-initialises the network with N(0, 1) weights and
averages 32 repeats; we score the engine's single seeded PyTorch-default initialisation like
every other proxy (one pass, comparable across proxies). (2) The regularised SWAP-Score
(times exp(-(params_K - mu)^2 / sigma), with mu and sigma chosen per search space to steer
model size) is not implemented: it needs tuned, space-specific hyper-parameters; this is the
plain SWAP-Score.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, ProxySkipped, register_proxy

_WORD = 64


#: bit b of a byte: packs 8 images' bits into one byte with integer ops
_BIT_VALUES = tuple(1 << b for b in range(8))


def pack_patterns(active: torch.Tensor) -> torch.Tensor:
    """(N, M) booleans -> (M, ceil(N/64)) int64 words: one row per neuron, its N bits
    (image n is bit n % 64 of word n // 64; unused high bits are 0).

    The same words as ``np.packbits(active.T, axis=1, bitorder="little")`` viewed as
    little-endian int64 (the authors' count needs only that equal patterns give equal words),
    computed in torch on uint8: the booleans' bytes, 8 images weighted 1, 2, ..., 128 and
    summed into one byte, the bytes of a neuron made contiguous and read as int64 words. Six
    times faster than going through numpy, which transposed every feature map bit by bit.
    """
    n, m = active.shape
    bits = active.to(torch.bool).contiguous().view(torch.uint8)
    pad = (-n) % _WORD
    if pad:
        bits = torch.cat([bits, bits.new_zeros(pad, m)])
    weights = torch.tensor(_BIT_VALUES, dtype=torch.uint8, device=bits.device).reshape(1, 8, 1)
    packed = torch.sum(bits.reshape(-1, 8, m) * weights, dim=1, dtype=torch.uint8)  # (N/8, M)
    words = packed.T.contiguous().view(torch.int64)  # 8 bytes of a neuron: one little-endian word
    return words.cpu()


def unique_rows(words: torch.Tensor) -> torch.Tensor:
    if words.shape[1] == 1:
        return torch.unique(words[:, 0])[:, None]
    return torch.unique(words, dim=0)


@register_proxy(
    "swap",
    kind="forward",
    paper="Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024",
    formula="number of distinct binary vectors (1[ReLU output_j > 0] over the batch) over all "
    "ReLU neurons j",
    departures="one seeded default initialisation, not the mean of 32 N(0,1) re-inits; the "
    "regularised SWAP-Score (space-tuned mu, sigma) is not implemented",
)
class SWAP(HookProxy):
    module_types = (nn.ReLU,)

    def start(self, ctx: ProxyContext, model: nn.Module) -> None:
        self.patterns: list[torch.Tensor] = []

    def on_forward(self, name, module, inputs, output) -> None:
        if inputs[0].dim() != 4:
            return
        active = (output > 0).reshape(output.shape[0], -1)
        self.patterns.append(unique_rows(pack_patterns(active)))

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        if not self.patterns:
            raise ProxySkipped(
                "swap counts the patterns of nn.ReLU modules on 4-D feature maps and the model "
                "ran none (other activations and functional relu calls are not seen)"
            )
        return float(unique_rows(torch.cat(self.patterns)).shape[0])
