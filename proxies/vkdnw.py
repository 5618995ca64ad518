"""vkdnw (Tybl and Neumann, "Training-free Neural Architecture Search through Variance of
Knowledge of Deep Network Weights", CVPR 2025; the authors' ``NB201/ZeroShotProxy/
compute_vkdnw_score.py`` and ``tss_utils.py``, repository ondratybl/VKDNW).

VKDNW reads how evenly the network's weights can be estimated: the spectrum of the empirical
Fisher information matrix (FIM) at initialisation. A flat spectrum (every direction about
equally hard to estimate) predicts an architecture that trains well.

As the authors' code:

* the network re-initialised Kaiming-normal (fan-in, ReLU gain), zero biases, unit / zero
  BatchNorm affine parameters; BatchNorm with the statistics of the batch it sees and no
  running statistics (their networks have ``track_running_stats=False``);
* the input: 32 images of standard Gaussian noise of the batch's shape (vkdnw is not among
  their "real input" metrics; their batch size is 32);
* the parameters: the *first element* of every parameter tensor (``named_parameters()``,
  BatchNorm affine parameters and the classifier included), so the FIM is d x d with d the
  number of parameter tensors;
* per image n (forwarded alone, so BatchNorm normalises with that image's statistics), J_n is
  the Jacobian of the logits with respect to those d numbers, p_n = (1 - a) softmax(logits_n)
  + a / C with a = 0.05, and L_n the Cholesky factor of diag(p_n) - p_n p_n^T (their
  ``cholesky_covariance``); FIM = mean_n (L_n J_n)^T (L_n J_n), exactly their product
  (``matmul(L, jacobian)``; note that J^T Sigma J would be (L^T J)^T (L^T J));
* lambda = the singular values of the FIM, q_1..q_9 its deciles (0.1, ..., 0.9), q~ = q /
  (||q||_1 + 1e-10), and **vkdnw = -sum q~ log(q~ + 1e-10)** (their ``vkdnw_entropy``).

``vkdnw_dim`` is d, the number of parameter tensors (their ``vkdnw_dim``): their single-proxy
ranking VKDNW_single orders architectures by d first and vkdnw second (a dense rank of the
pair), and VKDNW_agg adds log-ranks of jacov, AZ-NAS's expressivity and trainability and FLOPs
(see :mod:`zcbench.analysis.ensembles`).

Departures: (1) L_n is computed from image n's own logits (the forward that J_n
differentiates); theirs from a separate forward of the whole batch, where BatchNorm uses the
batch's statistics. (2) The FIM and its spectrum in float64 (theirs float32). (3) The noise,
weights and everything else are drawn from generators seeded by (architecture, seed).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev, replace_all_batch_norm_modules_, vmap

from zcbench.proxies.base import (
    OwnProxy,
    ProxyContext,
    ProxySkipped,
    register_derived,
    register_proxy,
)
from zcbench.proxies.layers import kaiming_fanin_init

PAPER = (
    "Tybl and Neumann, Training-free Neural Architecture Search through Variance of Knowledge "
    "of Deep Network Weights (VKDNW), CVPR 2025"
)
#: the authors' batch of Gaussian noise
NOISE_BATCH = 32
#: the label smoothing of the predicted class probabilities in their Cholesky factor
ALPHA = 0.05
DECILES = tuple(round(0.1 * k, 1) for k in range(1, 10))


def cholesky_factor(logits: torch.Tensor, alpha: float = ALPHA) -> torch.Tensor:
    """(N, C, C) lower-triangular L with L L^T = diag(p) - p p^T for the smoothed softmax p
    of each row of ``logits`` (a closed form: Tanabe and Sagae 1992, as the authors use)."""
    c = logits.shape[1]
    p = torch.softmax(logits.to(torch.float64), dim=1) * (1 - alpha) + alpha / c
    q = 1 - torch.cumsum(p, dim=1)
    q[:, -1] = 0.0
    q_prev = torch.roll(q, 1, dims=1)
    q_prev[:, 0] = 1.0
    d = torch.sqrt((p * q / q_prev).clamp_min(0.0))
    below = torch.tril(torch.ones(c, c, dtype=torch.bool, device=logits.device), diagonal=-1)
    ratio = -p.unsqueeze(2) / torch.where(q > 0, q, 1.0).unsqueeze(1)  # -p_i / q_j
    lower = torch.where(below, ratio, torch.zeros((), dtype=ratio.dtype, device=ratio.device))
    lower = lower + torch.eye(c, dtype=ratio.dtype, device=ratio.device)
    return lower * d.unsqueeze(1)  # scale column j by d_j


def first_element_jacobian(model: nn.Module, images: torch.Tensor):
    """(J, logits): J (N, C, d) the Jacobian of each image's logits (forwarded alone) with
    respect to the first element of each of the model's d parameter tensors."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    firsts = {k: v.reshape(-1)[:1].clone() for k, v in params.items()}

    def logits_of(first: dict[str, torch.Tensor], image: torch.Tensor):
        full = {
            k: torch.cat([first[k], v.reshape(-1)[1:]]).reshape(v.shape) for k, v in params.items()
        }
        out = functional_call(model, (full, buffers), (image.unsqueeze(0),)).squeeze(0)
        return out, out

    jac, logits = vmap(jacrev(logits_of, has_aux=True), in_dims=(None, 0), randomness="same")(
        firsts, images
    )
    flat = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in jac.values()], dim=2)
    return flat.detach(), logits.detach()


class _InstanceBatchNorm(nn.Module):
    """A BatchNorm2d evaluated on each image alone (batch statistics of that image, as a
    batch of one in train mode): instance normalisation with the layer's affine parameters.
    Keeps the original module as ``bn`` (its parameters, its name in the delta hooks)."""

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        self.bn = bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xhat = nn.functional.instance_norm(x, eps=self.bn.eps)
        out = xhat * self.bn.weight.view(1, -1, 1, 1) + self.bn.bias.view(1, -1, 1, 1)
        self.xhat = xhat
        return out


def _per_image_network(model: nn.Module) -> nn.Module | None:
    """The model with every BatchNorm2d normalising each image alone, or None if it holds a
    parameter outside Conv2d / Linear / affine BatchNorm2d (then the generic path runs)."""
    for m in model.modules():
        own = list(m.parameters(recurse=False))
        if not own:
            continue
        if isinstance(m, nn.Conv2d) and isinstance(m.padding, tuple) and m.padding_mode == "zeros":
            continue
        if isinstance(m, nn.Linear) or (isinstance(m, nn.BatchNorm2d) and m.affine):
            continue
        return None

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, _InstanceBatchNorm(child))
            else:
                swap(child)

    swap(model)
    return model


def _first_element_terms(module: nn.Module, x: torch.Tensor, out: torch.Tensor):
    """(parameter, d out / d parameter.flatten()[0] per image, as a tensor shaped like the
    output channel 0 slice) for the module's parameters."""
    if isinstance(module, nn.Conv2d):
        # the kernel's first tap sits at offset 0 whatever the dilation; out channel 0 and
        # in channel 0 belong to the first group
        (ph, pw), (sh, sw) = module.padding, module.stride
        xp = nn.functional.pad(x[:, 0], (pw, pw, ph, ph))
        h, w = out.shape[2:]
        patch = xp[:, : (h - 1) * sh + 1 : sh, : (w - 1) * sw + 1 : sw]
        terms = [patch]
        if module.bias is not None:
            terms.append(torch.ones_like(patch))
        return terms
    if isinstance(module, nn.Linear):
        terms = [x[..., 0]]
        if module.bias is not None:
            terms.append(torch.ones_like(x[..., 0]))
        return terms
    if isinstance(module, _InstanceBatchNorm):
        return [module.xhat[:, 0], torch.ones_like(module.xhat[:, 0])]
    return []


class _FirstElementTap(torch.autograd.Function):
    """A module's output with per-image offsets delta (zero) on the first element of its
    parameters: the value is the output unchanged, and in backward d out / d delta_k is read
    as the sum over the channel-0 slice of grad * term_k (``term_k`` = d out[:, 0] / d
    parameter_k[0]), while the gradient passes through untouched. One node instead of the
    slice / add / cat a plain ``out[:, 0] + delta * term`` records (which cost a third of
    the backward time in zero fills and copies)."""

    @staticmethod
    def forward(ctx, out: torch.Tensor, dim: int, *tensors: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        k = len(tensors) // 2
        ctx.dim = dim
        ctx.save_for_backward(*tensors[:k])  # the terms; tensors[k:] are the zero deltas
        return out.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: ANN001, ANN205
        terms = ctx.saved_tensors
        g0 = grad.select(ctx.dim, 0)
        n = grad.shape[0]
        ddelta = [(g0 * t).reshape(n, -1).sum(dim=1) for t in terms]
        return (grad, None, *([None] * len(terms)), *ddelta)


def per_image_jacobian(model: nn.Module, images: torch.Tensor):
    """:func:`first_element_jacobian` for networks of Conv2d, Linear and BatchNorm2d, without
    per-image weight gradients: every parameter's first element gets a per-image offset
    delta_n (zero, so the forward is unchanged) whose effect on the output is added where the
    parameter acts (d out / d W[0, 0, 0, 0] is the input patch it multiplies, d out / d b[0]
    is 1, d out / d gamma[0] the normalised input; :class:`_FirstElementTap`), and backward
    passes read d logits[n, c] / d delta_n. The images are independent (BatchNorm per image),
    so the result equals forwarding each image alone, without any weight gradient.

    The backward passes are one per class of the sum over images of that logit, except when
    the logits are the output of a final Linear narrower than the class count (NB201's 64
    features for CIFAR-100's 100 classes): backpropagation is linear, so the Jacobian of the
    logits is W times the Jacobian of that layer's input, which takes one backward per
    feature (64, not 100 or 120); the Linear's own first elements enter only logit 0, with
    d logit_0 / d W[0, 0] = x[:, 0] and d logit_0 / d b[0] = 1. The same numbers up to float
    rounding (``tests/test_proxies_2025.py`` checks both routes against torch.func)."""
    n = images.shape[0]
    deltas: list[torch.Tensor] = []
    taps: list[tuple[nn.Module, torch.Tensor, torch.Tensor, int, list[torch.Tensor]]] = []

    def hook(module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        terms = _first_element_terms(module, inputs[0], out)
        if not terms:
            return out
        own = [
            torch.zeros(n, dtype=out.dtype, device=out.device, requires_grad=True) for _ in terms
        ]
        start = len(deltas)
        deltas.extend(own)
        dim = out.dim() - 1 if isinstance(module, nn.Linear) else 1
        tapped = _FirstElementTap.apply(out, dim, *terms, *own)
        taps.append((module, inputs[0], tapped, start, terms))
        return tapped

    modules = [
        m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, _InstanceBatchNorm))
    ]
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.enable_grad():
            logits = model(images)
    finally:
        for h in handles:
            h.remove()
    classes = logits.shape[1] if logits.dim() == 2 else 0
    head = taps[-1] if taps else None
    if (
        head is not None
        and head[2] is logits
        and isinstance(head[0], nn.Linear)
        and head[1].dim() == 2
        and head[0].in_features < classes
    ):
        return _jacobian_through_head(head, deltas, logits), logits.detach()
    return _jacobian_by_class(logits, deltas), logits.detach()


def _grads(output: torch.Tensor, deltas: list[torch.Tensor], retain: bool) -> torch.Tensor:
    """(n, d): d output[n] / d delta_n for every delta (zero where it does not reach)."""
    if not output.requires_grad:
        return torch.zeros(output.shape[0], len(deltas), dtype=output.dtype, device=output.device)
    grads = torch.autograd.grad(output.sum(), deltas, retain_graph=retain, allow_unused=True)
    zero = torch.zeros(output.shape[0], dtype=output.dtype, device=output.device)
    return torch.stack([zero if g is None else g for g in grads], dim=1)


def _jacobian_by_class(logits: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    classes = logits.shape[1]
    rows = [_grads(logits[:, c], deltas, c + 1 < classes) for c in range(classes)]
    return torch.stack(rows, dim=1).detach()  # (n, classes, d)


def _jacobian_through_head(head, deltas: list[torch.Tensor], logits: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    linear, x, _, start, terms = head
    features = x.shape[1]
    before = deltas[:start]
    g = torch.stack(
        [_grads(x[:, k], before, k + 1 < features) for k in range(features)], dim=1
    )  # (n, features, start)
    w = linear.weight.detach().to(torch.float64)
    jac = torch.einsum("cf,nfd->ncd", w, g.to(torch.float64))
    own = torch.zeros(x.shape[0], logits.shape[1], len(terms), dtype=torch.float64, device=x.device)
    for j, term in enumerate(terms):
        own[:, 0, j] = term.detach().to(torch.float64)
    return torch.cat([jac, own], dim=2).to(logits.dtype)  # as the per-class route


def fisher_spectrum(ctx: ProxyContext) -> torch.Tensor:
    model = ctx.fresh_model()
    kaiming_fanin_init(model, ctx.generator("vkdnw/init"))
    if not any(True for _ in model.parameters()):
        raise ProxySkipped("vkdnw needs a model with parameters")
    shape = (NOISE_BATCH, *ctx.batch.inputs.shape[1:])
    noise = torch.randn(shape, generator=ctx.generator("vkdnw/input")).to(ctx.device, ctx.dtype)
    fast = _per_image_network(model)
    with torch.enable_grad():
        if fast is not None:
            for p in fast.parameters():
                # the deltas carry every derivative wanted: no weight gradient is formed
                # in any backward (a quarter of the time on NB201)
                p.requires_grad_(False)
            jac, logits = per_image_jacobian(fast, noise)
        else:
            replace_all_batch_norm_modules_(model)  # batch statistics, nothing tracked
            jac, logits = first_element_jacobian(model, noise)
    if logits.dim() != 2:
        raise ProxySkipped(
            f"vkdnw needs (N, classes) logits; the model returns {tuple(logits.shape)}"
        )
    lj = cholesky_factor(logits) @ jac.to(torch.float64)
    fim = (lj.transpose(1, 2) @ lj).mean(dim=0)
    return torch.linalg.svdvals(fim)


def spectrum_entropy(lambdas: torch.Tensor) -> float:
    q = torch.quantile(lambdas, torch.tensor(DECILES, dtype=lambdas.dtype, device=lambdas.device))
    q = q / (q.abs().sum() + 1e-10)
    return float(-(q * torch.log(q + 1e-10)).sum())


@register_proxy(
    "vkdnw",
    kind="own",
    needs_grad=True,
    cost="heavy",
    paper=PAPER,
    formula="entropy of the normalised deciles of the singular values of the FIM mean_n "
    "(L_n J_n)^T (L_n J_n), J_n = d logits / d(first element of each parameter tensor) for one "
    "of 32 Gaussian-noise images, L_n the Cholesky factor of the smoothed softmax covariance",
    departures="L_n from each image's own forward (theirs from a whole-batch forward); "
    "float64 FIM and spectrum (theirs float32)",
)
class VKDNW(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        return spectrum_entropy(fisher_spectrum(ctx))


@register_proxy(
    "vkdnw_dim",
    kind="own",
    cost="free",
    paper=PAPER,
    formula="d, the number of parameter tensors (the FIM's size; VKDNW_single ranks by d, then "
    "by vkdnw)",
)
class VKDNWDim(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        return float(sum(1 for _ in ctx.initial_model().parameters()))


def _single(dim, value):
    """VKDNW_single's order as one number: vkdnw is an entropy of nine deciles (0 to log 9 <
    10), so 10 * d + vkdnw orders architectures exactly as the pair (d, vkdnw) does
    (:func:`zcbench.analysis.ensembles.vkdnw_single` ranks the pair itself); NaN (worst)
    where vkdnw failed."""
    return 10.0 * dim + value


register_derived("vkdnw_single", ("vkdnw_dim", "vkdnw"), _single)
