"""Predictor-guided search [``predictor``]: a surrogate on the architecture encoding plus
zero-cost features chooses what to query next.

The loop is BANANAS's (White et al., AAAI 2021): fit a surrogate with an uncertainty estimate
on every architecture queried so far, score candidates by an acquisition function, query the
best, repeat. The features follow NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022
Datasets and Benchmarks), which showed that adding zero-cost scores to the encoding makes
predictors far more sample-efficient.

Our choices, where those papers leave room (or differ):

* surrogate: a random forest (scikit-learn), its spread over trees as the uncertainty
  (BANANAS uses an ensemble of MLPs, Suite-Zero mostly XGBoost); the forest needs no tuning
  on 10-50 points;
* features: the one-hot encoding (30 for nb201) and each proxy's normalised rank among the
  candidates (scale-free; a failed proxy ranks last);
* candidates: a pool of ``n`` uniform architectures drawn at the start of the run (proxy scores
  for a fixed pool are computed once and cached in the store, where BANANAS mutates its best
  architectures and would need fresh proxy scores each step);
* initial design: the top ``init`` of the pool by proxy score (a zero-cost warm start, as
  ``zc-rea``), then one query per step by upper confidence bound, mean + ``kappa`` x std.

``pool`` and ``agg`` are ``zc``'s (:mod:`zero_cost`): ``pool=stored`` draws the candidates from
the architectures the store already scored with every proxy, and ``agg`` orders the initial
design (mean normalised rank, or AZ-NAS's log-rank sum with ``agg=log``); the surrogate sees
every member's own rank either way. ``prefilter=PROXY:keep=K`` is ``zc``'s cascade: the pool
is then the ``K`` best of the ``n`` by the cheap proxy (ties kept), so the run's proxies and
the surrogate see only those.
"""

from __future__ import annotations

import math

import numpy as np
import sklearn
from scipy import stats
from sklearn.ensemble import RandomForestRegressor

from zcbench.searchers.base import Searcher, register_searcher
from zcbench.searchers.zero_cost import check_options, ranked_candidates
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch


@register_searcher("predictor")
class PredictorGuided(Searcher):
    needs_proxy = True

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        n: int = 1000,
        init: int = 10,
        trees: int = 100,
        kappa: float = 0.5,
        pool: str = "space",
        agg: str = "mean",
        prefilter: str = "",
        keep: int = 0,
    ) -> None:
        super().__init__(space, seed)
        if init < 2 or n < init:
            raise ValueError(f"predictor needs 2 <= init <= n; got init={init}, n={n}")
        check_options("predictor", pool, agg, prefilter, keep, least=init)
        self.n, self.init, self.trees, self.kappa = n, init, trees, kappa
        self.pool, self.agg = pool, agg
        self.prefilter, self.keep = prefilter, keep
        self._pool: list[Arch] | None = None
        self._features: np.ndarray | None = None
        self._asked: set[int] = set()
        self._told: dict[int, float] = {}

    def _setup(self) -> None:
        pool, signed = ranked_candidates(self, self.n)  # best proxy score first
        ranks = stats.rankdata(np.where(np.isnan(signed), -np.inf, signed), axis=0) / len(pool)
        encoding = np.stack([self.space.encode(a) for a in pool])
        self._pool = pool
        self._features = np.hstack([encoding, ranks]).astype(np.float64)
        self._feasible = np.array([self.oracle.feasible(a) for a in pool])
        self._position = {self.space.index(a): i for i, a in enumerate(pool)}

    def ask(self) -> Arch:
        if self._pool is None:
            self._setup()
        open_ = [i for i in range(len(self._pool)) if i not in self._asked and self._feasible[i]]
        if not open_:
            return self.space.sample(self.rng)  # the pool is used up
        if len(self._told) < self.init:
            pick = open_[0]  # initial design: next best by proxy
        else:
            pick = open_[int(np.argmax(self._acquisition(open_)))]
        self._asked.add(pick)
        return self._pool[pick]

    def _acquisition(self, open_: list[int]) -> np.ndarray:
        known = [i for i, v in self._told.items() if math.isfinite(v)]
        if len(known) < 2:
            return -np.arange(len(open_), dtype=np.float64)  # keep the proxy order
        forest = RandomForestRegressor(
            n_estimators=self.trees,
            min_samples_leaf=1,
            random_state=int(self.rng.integers(2**31)),
            n_jobs=1,
        )
        # the features are finite and the parameters fixed: scikit-learn's checks of both,
        # repeated for every tree, cost more than the trees (the values are the same)
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            forest.fit(self._features[known], [self._told[i] for i in known])
        candidates = np.ascontiguousarray(self._features[open_], dtype=np.float32)  # as fit
        per_tree = np.stack([t.predict(candidates, check_input=False) for t in forest.estimators_])
        return per_tree.mean(axis=0) + self.kappa * per_tree.std(axis=0)

    def tell(self, arch: Arch, signal: float) -> None:
        if self._pool is not None and (i := self._position.get(self.space.index(arch))) is not None:
            self._told[i] = signal
