"""AZ-NAS's component proxies (Lee and Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network
Architecture Search", CVPR 2024; the authors' ``NB201/ZeroShotProxy/compute_az_nas_score.py``
and ``custom/tss_model.py``, repository cvlab-yonsei/AZ-NAS).

AZ-NAS scores a network from the feature maps F_0 .. F_L of its stages: the stem's output and
every cell's (and reduction block's) output, for NB201 18 maps.

* **az_expressivity**: sum over stages of the entropy of the normalised eigenvalues of the
  channel covariance of F_i (pixels of every image as samples: (b*h*w) x c, centred,
  Sigma = F^T F / n, p = eig / sum eig, H = -sum p log(p + 1e-8)). A stage whose channels
  spread the input over many directions has high entropy.
* **az_progressivity**: min over i of H_i - H_{i-1}: expressivity should grow at every stage.
* **az_trainability**: mean over consecutive stages of -s - 1/(s + 1e-6) + 2, with s the
  largest singular value of the map from the output gradient to the input gradient of the
  stage (a random +-1 output gradient g_out, g_in = dF_i/dF_{i-1}^T g_out, pixel-unshuffled to
  the output's resolution where the stage downsamples, M = g_in^T g_out / (b*h*w)); the value
  is highest (0) at s = 1, a stage that neither amplifies nor damps gradients. A stage whose
  input gradient equals its output gradient (an identity cell) scores -inf, as theirs.
* **complexity** is FLOPs; AZ-NAS reads it from the benchmark API. zcbench's ``flops`` proxy
  is that number, so it is not registered twice; the ``az_nas`` ensemble
  (zcbench.analysis.ensembles) takes ``flops``.

As the authors' code: the network is re-initialised with Kaiming-normal (fan-in, ReLU gain)
weights, zero biases and unit / zero BatchNorm affine parameters (their ``init_model(model,
'kaiming_norm_fanin')``), in train mode (BatchNorm with batch statistics), and the input is
standard Gaussian noise of the batch's shape (az_nas is not among their "real input"
metrics), so the three values need neither labels nor images. zcbench draws the noise, the
Kaiming weights and the +-1 gradients from generators seeded by (architecture, seed), so
values are reproducible; theirs come from the global RNG.

Departures: (1) eigenvalues and entropies are computed in float64 (theirs float32); this only
removes rounding noise (in float32 an eigenvalue of about -1e-9 of an all-zero feature map can
make the entropy NaN, which they then record as -inf). (2) Which feature maps: the model's
``feature_stages()`` (zcbench's NB201 / NATS networks return the stem and every cell, as the
authors' ``extract_cell_features``); a model without that method is recorded ``skipped``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxySkipped, register_proxy
from zcbench.proxies.layers import kaiming_fanin_init

PAPER = (
    "Lee and Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024"
)
SOURCE = "stage feature maps of the Kaiming-initialised network on Gaussian noise (as theirs)"
DEPARTURES = "eigenvalues and entropies in float64 (theirs float32)"


@dataclass(frozen=True)
class AZComponents:
    expressivity: float
    progressivity: float
    trainability: float


def stage_modules(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are the model's stage feature maps, in order."""
    stages = getattr(model, "feature_stages", None)
    if not callable(stages):
        raise ProxySkipped(
            "AZ-NAS needs the model's stage feature maps: give the model a feature_stages() "
            "method returning the modules whose outputs they are (stem, then each block)"
        )
    modules = list(stages())
    if len(modules) < 2:
        raise ProxySkipped("AZ-NAS needs at least two stages; feature_stages() returned fewer")
    return modules


def covariance_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of a (b, c, h, w) map."""
    x = feature.detach().to(torch.float64)
    x = x.movedim(1, -1).reshape(-1, x.shape[1])
    x = x - x.mean(dim=0, keepdim=True)
    sigma = x.T @ x / x.shape[0]
    s = torch.linalg.eigvalsh(sigma)
    p = s / s.sum()
    return float((-p * torch.log(p + 1e-8)).sum())


def stage_trainability(
    f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator
) -> float:
    # +-1 with probability 1/2 each (theirs: (bernoulli(0.5) - 0.5) * 2)
    bits = torch.randint(0, 2, f_out.shape, generator=generator, dtype=torch.int8)
    g_out = (bits * 2 - 1).to(f_out.device, f_out.dtype)
    (g_in,) = torch.autograd.grad(f_out, f_in, g_out, allow_unused=True)  # frees this stage
    if g_in is None:  # the stage's output does not depend on its input at all
        g_in = torch.zeros_like(f_in)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    go = g_out.movedim(1, -1).reshape(-1, g_out.shape[1]).to(torch.float64)
    gi = g_in.movedim(1, -1).reshape(-1, g_in.shape[1]).to(torch.float64)
    s = float(torch.linalg.matrix_norm(gi.T @ go / go.shape[0], ord=2))
    return -s - 1.0 / (s + 1e-6) + 2.0


def az_components(ctx: ProxyContext) -> AZComponents:
    model = ctx.fresh_model()
    kaiming_fanin_init(model, ctx.generator("az_nas/init"))
    modules = stage_modules(model)
    features: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda m, i, o: features.append(o)) for m in modules]
    shape = tuple(ctx.batch.inputs.shape)
    noise = torch.randn(shape, generator=ctx.generator("az_nas/input"))
    try:
        with torch.enable_grad():
            model(noise.to(ctx.device, ctx.dtype))
    finally:
        for h in handles:
            h.remove()
    if len(features) != len(modules) or not all(isinstance(f, torch.Tensor) for f in features):
        raise ProxySkipped("feature_stages() must name modules called once each, returning tensors")
    entropies = [covariance_entropy(f) for f in features]
    progress = min(b - a for a, b in zip(entropies, entropies[1:]))
    g = ctx.generator("az_nas/grad")
    pairs = reversed(range(1, len(features)))  # last stage first, as theirs
    scores = [stage_trainability(features[i - 1], features[i], g) for i in pairs]
    return AZComponents(sum(entropies), progress, sum(scores) / len(scores))


class _AZProxy(OwnProxy):
    field: str

    def score(self, ctx: ProxyContext) -> float:
        return getattr(ctx.shared("az_nas/components", lambda: az_components(ctx)), self.field)


@register_proxy(
    "az_expressivity",
    kind="own",
    cost="backward",
    paper=PAPER,
    formula="sum over stages i of H(eig(Cov(F_i))/sum), H = -sum p log(p + 1e-8), F_i the "
    f"(b*h*w) x c stage map; {SOURCE}",
    departures=DEPARTURES,
)
class AZExpressivity(_AZProxy):
    field = "expressivity"


@register_proxy(
    "az_progressivity",
    kind="own",
    cost="backward",
    paper=PAPER,
    formula=f"min over i of H_i - H_(i-1) (the expressivity terms of consecutive stages); {SOURCE}",
    departures=DEPARTURES,
)
class AZProgressivity(_AZProxy):
    field = "progressivity"


@register_proxy(
    "az_trainability",
    kind="own",
    needs_grad=True,
    cost="backward",
    paper=PAPER,
    formula="mean over stages of -s - 1/(s + 1e-6) + 2, s = sigma_max(g_in^T g_out / n) for a "
    f"random +-1 g_out backpropagated through the stage (-inf for an identity stage); {SOURCE}",
    departures=DEPARTURES,
)
class AZTrainability(_AZProxy):
    field = "trainability"
