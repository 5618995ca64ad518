"""synaptic diversity, after TF-TAS (Zhou et al., "Training-free Transformer Architecture Search",
CVPR 2022), in two versions.

**What TF-TAS meant.** The paper motivates the term from rank collapse in multi-head
self-attention: heads whose weight matrices are low-rank (redundant, "not diverse") train
into worse transformers. The nuclear norm is the convex surrogate of rank, so TF-TAS scores
each MSA weight matrix W_m by ||W_m||_nuc * ||dL/dW_m||_nuc: a layer whose weights *and* the
error signal reaching them on the data span many independent directions is diverse.

**Why the authors' objective measures nothing new on a CNN.** Their code
(``compute_dss_per_weight``) takes L to be the synflow objective: every parameter replaced by
its absolute value, normalisation off, an all-ones input, R = sum of the outputs. That network
is positively homogeneous in each layer's weights, so by Euler's theorem sum W * dR/dW over a
layer equals R, and both nuclear norms are driven by the same path product that synflow sums.
On NB201 the two rank 1,000 architectures alike (signed Spearman 0.999 on CIFAR-10).

* ``synaptic_diversity_tftas``: the authors' objective, adapted to CNNs (every Conv2d weight
  read as the C_out x (C_in k k) matrix of its filters, the classifier left out as TF-TAS
  leaves the head out): sum over Conv2d l of ||W_l||_nuc * ||dR/dW_l||_nuc with R the synflow
  objective on the |theta|, BN-free network and one all-ones image. float64, as
  zero-cost-nas's synflow from which their indicator code derives (theirs float32, which
  overflows for deep NB201 cells). This proxy used to be called ``synaptic_diversity``;
  its values are unchanged (the committed stores' rows renamed, version 1).
* ``synaptic_diversity`` (zcbench's CNN adaptation of what TF-TAS meant): the *rank spread*
  of each layer's weights and of their gradients on the real labelled minibatch's
  cross-entropy, on the network as it is (BatchNorm kept, train mode, default
  initialisation; the shared labelled backward pass of grad_norm / snip):

      score = sum over Conv2d / Linear l of s(W_l) * s(dL/dW_l),  s(A) = ||A||_nuc / ||A||_F

  with each weight read as C_out x rest. s(A) lies between 1 (rank one) and sqrt(rank(A))
  (every singular value equal): it is the nuclear norm with the matrix's scale divided out,
  so it measures how many directions the weights and the data's error signal span, which is
  what TF-TAS uses the nuclear norm for. Dividing out the scale is necessary on a real loss:
  the raw product ||W||_nuc ||dL/dW||_nuc is dominated by the gradient's magnitude and ranks
  architectures as grad_norm does (Spearman 0.991 between them on 80 NB201 architectures,
  CIFAR-10; 0.69 with test accuracy), while the spread does not (0.81 with grad_norm; 0.87
  with test accuracy on the same 80). Every Conv2d and Linear counts (a CNN has no attention
  heads to single out); a layer whose gradient is zero or absent adds nothing.

A layer that receives no gradient adds 0. Neither version is published on NB201; both are
zcbench's adaptations, and the correlation report shows how each relates to synflow and to
#params ("redundant with").
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, OwnProxy, ProxyContext, register_proxy
from zcbench.proxies.layers import sum_over_layers
from zcbench.proxies.synflow import linearised_flow


def nuclear_norm(w: torch.Tensor) -> torch.Tensor:
    """Nuclear norm of a weight read as a matrix (rows = output channels)."""
    return torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord="nuc")


def rank_spread(w: torch.Tensor) -> torch.Tensor:
    """||A||_nuc / ||A||_F of a weight read as a matrix, in float64: 1 for rank one, up to
    sqrt(rank) when every singular value is equal; 0 for an all-zero matrix."""
    a = w.reshape(w.shape[0], -1).double()
    fro = torch.linalg.matrix_norm(a)
    if not bool(fro > 0):
        return torch.zeros((), dtype=torch.float64, device=a.device)
    return torch.linalg.matrix_norm(a, ord="nuc") / fro


@register_proxy(
    "synaptic_diversity_tftas",
    kind="own",
    needs_grad=True,
    dtype="float64",
    removes_bn=True,
    cost="backward",
    paper="Zhou et al., Training-free Transformer Architecture Search (TF-TAS), CVPR 2022 "
    "(CNN adaptation by zcbench)",
    formula="sum over Conv2d l of ||W_l||_nuc * ||dR/dW_l||_nuc, W_l as C_out x C_in*k*k, "
    "R = sum of outputs of the |weights|, BN-free network on one all-ones image",
    departures="zcbench's CNN adaptation of the authors' objective: they define it only for ViT "
    "self-attention (qkv / projection Linear layers); here every Conv2d weight, reshaped "
    "C_out x C_in*k*k, classifier excluded; float64 instead of float32",
)
class SynapticDiversityTFTAS(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        model = linearised_flow(ctx)  # the synflow pass (shared with synflow when fused)
        total = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Conv2d) and m.weight.grad is not None:
                    total += (nuclear_norm(m.weight) * nuclear_norm(m.weight.grad)).cpu()
        return float(total)


@register_proxy(
    "synaptic_diversity",
    kind="backward",
    needs_labels=True,
    version=3,
    paper="Zhou et al., Training-free Transformer Architecture Search (TF-TAS), CVPR 2022 "
    "(CNN adaptation by zcbench)",
    formula="sum over Conv2d/Linear l of s(W_l) * s(dL/dW_l), s(A) = ||A||_nuc / ||A||_F (the "
    "rank spread), W_l as C_out x rest, L = cross-entropy of the real minibatch (BN kept)",
    departures="zcbench's CNN adaptation of what TF-TAS measures: the nuclear norms with their "
    "matrices' scale divided out, on the real cross-entropy with normalisation kept, every "
    "Conv2d / Linear (theirs: the raw nuclear-norm product under the synflow objective on ViT "
    "self-attention weights; that version is synaptic_diversity_tftas)",
)
class SynapticDiversity(HookProxy):
    module_types = ()  # needs only the weights and their gradients

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        def term(layer: nn.Module) -> torch.Tensor:
            grad = layer.weight.grad
            if grad is None or not bool(grad.any()):
                return torch.zeros((), dtype=torch.float64)
            return rank_spread(layer.weight.detach()) * rank_spread(grad.detach())

        return sum_over_layers(model, term)
