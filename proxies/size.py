"""Model-size baselines: ``params`` and ``flops``.

Not proxies in the zero-cost sense but the baselines every proxy must beat on NAS-Bench-201
(NAS-Bench-Suite-Zero reports Spearman 0.72 / 0.73 / 0.69 for #params on C10 / C100 / IN16).

* params: number of parameters of the network, in millions.
* flops: FLOPs of one image at the batch's resolution, in millions, counted with
  :mod:`zcbench.tables.flops` (NASLib's tensorwatch convention).
"""

from __future__ import annotations

from zcbench.proxies.base import OwnProxy, ProxyContext, register_proxy
from zcbench.tables.flops import count_flops, count_params


@register_proxy(
    "params",
    kind="own",
    cost="free",
    paper="baseline (#parameters; see NAS-Bench-Suite-Zero, Krishnakumar et al. NeurIPS'22)",
    formula="sum over parameters of numel(theta) / 1e6",
)
class Params(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        return count_params(ctx.initial_model()) / 1e6


@register_proxy(
    "flops",
    kind="own",
    cost="free",
    paper="baseline (FLOPs; see NAS-Bench-Suite-Zero, Krishnakumar et al. NeurIPS'22)",
    formula="FLOPs of one image (tensorwatch convention) / 1e6",
)
class Flops(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        size = int(ctx.batch.inputs.shape[-1])
        # the pristine model, not a fresh copy: count_flops changes nothing (one eval-mode,
        # no_grad forward), and skipping the copy makes this stage of a whole-space
        # ``zc:prefilter=flops`` cascade about a third cheaper
        return count_flops(ctx.initial_model(), size) / 1e6
