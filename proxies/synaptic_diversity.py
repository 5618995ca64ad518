"""synaptic_diversity: a CNN adaptation, by zcbench, of the synaptic-diversity term of TF-TAS
(Zhou et al., "Training-free Transformer Architecture Search", CVPR 2022).

The paper defines it for vision transformers only: S_D = sum over the multi-head self-attention
weight matrices W_m of ||dR/dW_m||_nuc * ||W_m||_nuc. The authors' ``dss`` indicator (their
``compute_dss_per_weight``) computes it as ``|nuc(W.grad) * nuc(W)|`` for the qkv and projection
``Linear`` layers, with R not a loss on data but the synflow-style objective: every parameter
and buffer replaced by its absolute value, a single all-ones input image of the data's shape,
R = sum of the network's outputs, one backward; normalisation layers are off (``bn=False``).
Their DSS indicator adds synaptic *saliency* |dR/dW * W| for the MLP and head layers; that part
is not this proxy.

Our adaptation (there is no CNN definition by the authors): the same objective R on the same
linearised, BN-free network, and the diversity term taken over every Conv2d, whose weight is
read as the C_out x (C_in k k) matrix of its filters (the analogue of the per-head projection
matrices); the classifier is left out, as TF-TAS leaves the head out of the diversity term.

    score = sum over Conv2d l of ||W_l||_nuc * ||dR/dW_l||_nuc,   R = sum f_|theta|(1)

A layer that receives no gradient adds 0. Needs neither labels nor real images (only the batch
shape). Computed in float64, as zero-cost-nas's synflow from which the authors' indicator code
derives (theirs runs in float32; the product of nuclear norms of a BN-free NB201 network
overflows float32 for deep cells).
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import OwnProxy, ProxyContext, register_proxy
from zcbench.proxies.synflow import linearised_flow


def nuclear_norm(w: torch.Tensor) -> torch.Tensor:
    """Nuclear norm of a weight read as a matrix (rows = output channels)."""
    return torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord="nuc")


@register_proxy(
    "synaptic_diversity",
    kind="own",
    needs_grad=True,
    dtype="float64",
    removes_bn=True,
    cost="backward",
    paper="Zhou et al., Training-free Transformer Architecture Search (TF-TAS), CVPR 2022 "
    "(CNN adaptation by zcbench)",
    formula="sum over Conv2d l of ||W_l||_nuc * ||dR/dW_l||_nuc, W_l as C_out x C_in*k*k, "
    "R = sum of outputs of the |weights|, BN-free network on one all-ones image",
    departures="zcbench's CNN adaptation: the authors define it only for ViT self-attention "
    "(qkv / projection Linear layers); here every Conv2d weight, reshaped C_out x C_in*k*k, "
    "classifier excluded; float64 instead of float32",
)
class SynapticDiversity(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        model = linearised_flow(ctx)  # the synflow pass (shared with synflow when fused)
        total = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Conv2d) and m.weight.grad is not None:
                    total += (nuclear_norm(m.weight) * nuclear_norm(m.weight.grad)).cpu()
        return float(total)
