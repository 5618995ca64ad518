"""l2_norm (NAS-Bench-Suite-Zero, Krishnakumar et al. NeurIPS'22; NASLib ``l2_norm``).

Formula: sum over Conv2d / Linear layers l of ||W_l||_2 at initialisation (no data needed).
Follows NASLib's definition (per-layer Frobenius norm, summed).
"""

from __future__ import annotations

from zcbench.proxies.base import OwnProxy, ProxyContext, register_proxy
from zcbench.proxies.layers import sum_over_layers


@register_proxy(
    "l2_norm",
    kind="own",
    cost="free",
    paper="Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022 (NASLib l2_norm)",
    formula="sum_l ||W_l||_2 over Conv2d/Linear weights at initialisation",
)
class L2Norm(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        return sum_over_layers(ctx.initial_model(), lambda layer: layer.weight.norm())
