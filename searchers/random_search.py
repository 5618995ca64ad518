"""Random search [``random``]: uniform samples of the space (NATS-Bench's random_wo_share)."""

from __future__ import annotations

from zcbench.searchers.base import Searcher, register_searcher
from zcbench.types import Arch


@register_searcher("random")
class RandomSearch(Searcher):
    def ask(self) -> Arch:
        return self.space.sample(self.rng)

    def tell(self, arch: Arch, signal: float) -> None:
        pass  # nothing to learn
