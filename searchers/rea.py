"""Regularized evolution [``rea``] (Real et al., AAAI 2019), as NATS-Bench runs it
(xautodl ``regularized_ea.py``: population 10, tournament of 3).

The first ``population`` architectures are uniform samples; afterwards each step draws
``sample_size`` members of the population uniformly *with* replacement (as xautodl), mutates
the one with the best signal (one edge to a different operation, uniformly), and the child
replaces the oldest member (aging).
"""

from __future__ import annotations

from collections import deque

from zcbench.searchers.base import Searcher, register_searcher
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch


@register_searcher("rea")
class RegularizedEvolution(Searcher):
    def __init__(
        self, space: SearchSpace, seed: int = 0, population: int = 10, sample_size: int = 3
    ) -> None:
        super().__init__(space, seed)
        self.population_size = population
        self.sample_size = sample_size
        self.population: deque[tuple[Arch, float]] = deque()
        self._initial = 0

    def seed_population(self) -> Arch:
        """The next member of the initial population (subclasses choose differently)."""
        return self.space.sample(self.rng)

    def ask(self) -> Arch:
        if self._initial < self.population_size:
            self._initial += 1
            return self.seed_population()
        picks = self.rng.integers(len(self.population), size=self.sample_size)
        parent = max((self.population[int(i)] for i in picks), key=lambda m: m[1])[0]
        return self.space.mutate(parent, self.rng)

    def tell(self, arch: Arch, signal: float) -> None:
        self.population.append((arch, signal))
        if len(self.population) > self.population_size:
            self.population.popleft()
