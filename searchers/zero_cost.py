"""Zero-cost guided searchers: [``zc``] and [``zc-rea``].

* ``zc`` (NASWOT, Mellor et al., ICML 2021, section 5): draw ``n`` architectures uniformly,
  score them with the proxy (or ensemble), and take the best. Under a ground-truth budget the
  candidates are queried in descending proxy order, so budget 1 is exactly NASWOT's protocol
  (the one query only reveals what was chosen). Should the budget exceed ``n``, later asks are
  uniform samples.
* ``zc-rea`` (Abdelfattah et al., ICLR 2021, "warmup"): regularized evolution whose initial
  population is the top ``population`` of ``n`` uniform candidates by proxy score, instead
  of ``population`` uniform samples; the evolution itself is unchanged (:mod:`rea`).

Candidates are distinct (drawn without replacement). With a latency constraint, infeasible
candidates (known from the table's measured latency, not from ground truth) rank last.
Several proxies combine by their mean normalised rank among the candidates, or with
``agg=log`` by AZ-NAS's sum of log ranks (:func:`zcbench.search.proxy_source.combined`).

``pool=stored`` draws the candidates from the architectures the store already scored with
every proxy (for example the committed 1,000-architecture fidelity sample) instead of the
whole space, so an expensive ensemble costs no scoring; ``n`` larger than the pool takes the
whole pool.

``zc:prefilter=flops:keep=K`` is a two-stage cascade for candidate sets too large for the
ensemble (``n=15625``: the whole NB201 space): a cheap proxy (here the analytic FLOP count,
about 0.04 s per architecture on one CPU core) ranks all ``n`` candidates, the top ``K`` of
them (every candidate tied with the ``K``-th kept too, so the kept set never depends on the
draw order) go on to the run's proxies, and those rank the survivors as above. The trace
counts the two stages apart (``prefilter_evaluations``, ``proxy_evaluations``). ``zc-rea`` and
``predictor`` take the same two options: zc-rea's warm population is then the top of the
survivors, and the predictor's candidate pool is the survivors.
"""

from __future__ import annotations

import numpy as np

from zcbench.proxies import get_proxy
from zcbench.search.proxy_source import AGGREGATIONS, combined, top_k_with_ties
from zcbench.searchers.base import Searcher, register_searcher
from zcbench.searchers.rea import RegularizedEvolution
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch

POOLS: tuple[str, ...] = ("space", "stored")


def check_options(
    name: str, pool: str, agg: str, prefilter: str = "", keep: int = 0, least: int = 1
) -> None:
    """One-line errors for the options every guided searcher takes; ``least`` is the fewest
    survivors of a prefilter the searcher can work with (its population, its initial design)."""
    if pool not in POOLS:
        raise ValueError(f"{name}: unknown pool {pool!r}; expected one of {', '.join(POOLS)}")
    if agg not in AGGREGATIONS:
        raise ValueError(f"{name}: unknown agg {agg!r}; expected one of {', '.join(AGGREGATIONS)}")
    if bool(prefilter) != (keep > 0):
        raise ValueError(
            f"{name}: prefilter=PROXY and keep=K (K >= 1) go together; got "
            f"prefilter={prefilter!r}, keep={keep}"
        )
    if prefilter:
        get_proxy(prefilter)  # an unknown name fails here, before any scoring
        if keep < least:
            raise ValueError(f"{name}: keep must be at least {least} here; got keep={keep}")


def ranked_candidates(searcher: Searcher, n: int) -> tuple[list[Arch], np.ndarray]:
    """``n`` distinct uniform architectures, best proxy score first (feasible ones first),
    with their signed proxy scores (rows in the same order).

    The candidates are the first ``n`` of a seeded permutation of the space, so runs with the
    same seed and a smaller ``n`` see a subset (zc:n=10 within zc:n=100 within zc:n=1000, and
    zc / zc-rea / predictor share candidates): the store scores each architecture once."""
    space = searcher.space
    if getattr(searcher, "pool", "space") == "stored":
        pool = searcher.oracle.stored_candidates()
        archs = [pool[int(i)] for i in searcher.rng.permutation(len(pool))[:n]]
    else:
        indices = searcher.rng.permutation(len(space))[:n]
        archs = [space.from_index(int(i)) for i in indices]
    prefilter, keep = getattr(searcher, "prefilter", ""), getattr(searcher, "keep", 0)
    if prefilter and keep < len(archs):
        archs = prefiltered(searcher, archs, prefilter, keep)
    signed = searcher.oracle.proxy_scores(archs)
    score = combined(signed, getattr(searcher, "agg", "mean"))
    feasible = np.array([searcher.oracle.feasible(a) for a in archs])
    order = np.lexsort((-score, ~feasible))  # feasible first, then by descending score
    return [archs[i] for i in order], signed[order]


def prefiltered(searcher: Searcher, archs: list[Arch], proxy: str, keep: int) -> list[Arch]:
    """The candidates among ``archs`` (in their order) that ``proxy`` puts in the top ``keep``,
    feasible ones first; candidates tied with the ``keep``-th are kept as well."""
    value = searcher.oracle.proxy_scores(archs, proxy=proxy)[:, 0]
    feasible = np.array([searcher.oracle.feasible(a) for a in archs])
    kept = top_k_with_ties(value, keep, first=feasible)
    return [a for a, k in zip(archs, kept) if k]


@register_searcher("zc")
class ZeroCostSearch(Searcher):
    needs_proxy = True

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        n: int = 100,
        pool: str = "space",
        agg: str = "mean",
        prefilter: str = "",
        keep: int = 0,
    ) -> None:
        super().__init__(space, seed)
        if n < 1:
            raise ValueError(f"zc needs n >= 1 candidates; got {n}")
        check_options("zc", pool, agg, prefilter, keep)
        self.n, self.pool, self.agg = n, pool, agg
        self.prefilter, self.keep = prefilter, keep
        self._ranked: list[Arch] | None = None

    def ask(self) -> Arch:
        if self._ranked is None:
            self._ranked = ranked_candidates(self, self.n)[0][::-1]  # pop() from the end
        return self._ranked.pop() if self._ranked else self.space.sample(self.rng)

    def tell(self, arch: Arch, signal: float) -> None:
        pass  # the ranking is fixed by the proxy


@register_searcher("zc-rea")
class ZeroCostWarmREA(RegularizedEvolution):
    needs_proxy = True

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        n: int = 1000,
        population: int = 10,
        sample_size: int = 3,
        pool: str = "space",
        agg: str = "mean",
        prefilter: str = "",
        keep: int = 0,
    ) -> None:
        super().__init__(space, seed, population=population, sample_size=sample_size)
        if n < population:
            raise ValueError(f"zc-rea needs n >= population ({population}); got {n}")
        check_options("zc-rea", pool, agg, prefilter, keep, least=population)
        self.n, self.pool, self.agg = n, pool, agg
        self.prefilter, self.keep = prefilter, keep
        self._warm: list[Arch] | None = None

    def seed_population(self) -> Arch:
        if self._warm is None:
            self._warm = ranked_candidates(self, self.n)[0][: self.population_size][::-1]
        return self._warm.pop()
