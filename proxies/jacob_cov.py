"""jacob_cov (Mellor et al., "Neural Architecture Search without Training", arXiv:2006.04647 v1,
2020; as a proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).

Formula: S = -sum_i [log(lambda_i + k) + 1 / (lambda_i + k)], k = 1e-5, lambda_i the
eigenvalues of the correlation matrix of J, J[n] = d(sum of all logits)/d(image n) flattened
(one row per image); higher is better.

As the authors' code (``eval_score`` / ``get_batch_jacobian`` in BayesWatch's
nas-without-training v1, repeated verbatim in Abdelfattah's
``foresight/pruners/measures/jacob_cov.py``): model in train mode with BatchNorm kept, float32
forward and backward with ``y.backward(ones_like(y))`` on the whole batch, the correlation
matrix (``np.corrcoef`` semantics: float64, rows = images), k = 1e-5, the minus sign.

Departures: the eigenvalues come from ``eigvalsh`` (symmetric solver) instead of ``np.linalg.eig``;
for the symmetric correlation matrix they are the same up to rounding, and ``eig`` can return
complex values with round-off imaginary parts. Where the authors print an exception and
store NaN (a Jacobian row with zero variance makes the correlation matrix NaN, and ``eig``
refuses it), we raise :class:`ProxyFailure` so the reason is recorded. A value that is NaN
because an eigenvalue is below -k is returned as NaN (recorded as such), as theirs.
"""

from __future__ import annotations

import torch

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxyFailure, register_proxy

#: the authors' regulariser of the eigenvalues
K = 1e-5


def input_jacobian(ctx: ProxyContext, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """d(sum of all outputs)/d(inputs) of the train-mode forward (BN kept), one row per image.

    In train mode BatchNorm couples the images of the batch, so row n is the gradient of the
    sum over the whole batch's outputs with respect to image n, as in the authors' code
    (``y.backward(ones_like(y))``). Computed once per context from the shared
    :meth:`~ProxyContext.train_graph` (fused: the engine's own forward), so jacob_cov and
    epe_nas pay one input backward between them.
    """

    def compute() -> torch.Tensor:
        graph = ctx.train_graph(dtype)
        x, y = graph.inputs, graph.logits
        # .backward(inputs=[x]) rather than autograd.grad(y, x): the same values, and it also
        # runs under FlopCounterMode (whose module tracker rejects autograd.grad to a leaf
        # input). Only x.grad is written; the labelled backward's value there is put back.
        kept, x.grad = x.grad, None
        y.backward(torch.ones_like(y), inputs=[x], retain_graph=True)
        grad, x.grad = x.grad.detach(), kept
        return grad.reshape(grad.shape[0], -1)

    return ctx.shared(f"input_jacobian/{dtype}", compute)


def correlation(rows: torch.Tensor) -> torch.Tensor:
    """``np.corrcoef`` of the rows in float64 (rows = variables)."""
    return torch.corrcoef(rows.to(torch.float64))


@register_proxy(
    "jacob_cov",
    kind="own",
    higher_is_better=True,
    needs_labels=False,
    needs_grad=True,
    dtype="float32",
    removes_bn=False,
    cost="backward",
    uses=("train_graph",),
    paper=(
        "Mellor et al., Neural Architecture Search without Training, arXiv:2006.04647 v1, 2020 "
        "(as in Abdelfattah et al., ICLR 2021)"
    ),
    formula=(
        "-sum_i [log(l_i + k) + 1/(l_i + k)], l_i eigenvalues of corr(J), "
        "J = d sum(logits)/dx per image, k = 1e-5"
    ),
    departures=(
        "eigvalsh instead of np.linalg.eig (same eigenvalues of a symmetric matrix); a NaN "
        "correlation matrix is a recorded failure instead of a printed exception"
    ),
)
class JacobCov(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        jacob = input_jacobian(ctx)
        if jacob.shape[0] < 2:
            raise ProxyFailure("jacob_cov needs at least two images")
        corrs = correlation(jacob)
        if not torch.isfinite(corrs).all():
            raise ProxyFailure(
                "the Jacobian correlation matrix is not finite (an image's Jacobian is constant)"
            )
        eigenvalues = torch.linalg.eigvalsh(corrs)
        return float(-torch.sum(torch.log(eigenvalues + K) + 1.0 / (eigenvalues + K)))
