"""Zero-cost scores for search, read from the results store and scored on demand.

A :class:`StoreProxySource` answers "what do these proxies say about these architectures?"
for a searcher's oracle. It looks in its in-memory cache, then in the SQLite store (the same
rows ``zcbench score`` writes, keyed by proxy version, seed, batch size and sampling), and
scores whatever is still missing with the fused engine, writing it to the store before
answering. Repeated runs, and other processes sharing the store, therefore reuse every score
ever computed: the first guided run on a CPU pays for its proxy evaluations, later ones read
them back in milliseconds.

Scores come back *signed* (higher = better for every proxy) with NaN where a proxy failed on
an architecture (its status and reason stay in the store). With several proxies, searchers
combine them by :func:`combined` (the mean of the members' normalised ranks among the
architectures being compared), so an ensemble needs no reference population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from zcbench.engine.runner import run_scoring
from zcbench.engine.store import ResultStore
from zcbench.errors import ZCBenchError
from zcbench.proxies import DERIVED, member_inputs, resolve_proxies
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch


class StoreProxySource:
    def __init__(
        self,
        store: ResultStore,
        space: SearchSpace,
        dataset: str,
        proxies: str | Sequence[str],
        *,
        seed: int = 0,
        batch_size: int = 64,
        sampling: str = "random",
        device: str = "cpu",
        data_dir: str | None = None,
        progress: bool = True,
        executor: str = "local",
        workers: int = 1,
        address: str | None = None,
        threads: int | None = None,
    ) -> None:
        names = [p.strip() for p in (proxies.split(",") if isinstance(proxies, str) else proxies)]
        #: the members searchers combine: stored proxies and derived ones
        #: (:data:`zcbench.proxies.DERIVED`, e.g. ``vkdnw_single``)
        self.members = list(names)
        self.specs = resolve_proxies(",".join(member_inputs(names)))
        self.proxies = [s.name for s in self.specs]
        self.signs = np.array([1.0 if s.higher_is_better else -1.0 for s in self.specs])
        self.store = store
        self.space = space
        self.dataset = dataset
        self.config = dict(seed=seed, batch_size=batch_size, sampling=sampling)
        self.device = device
        self.data_dir = data_dir
        self.progress = progress
        #: how missing scores are computed (see :func:`zcbench.engine.runner.run_scoring`)
        self.execution = dict(executor=executor, workers=workers, address=address, threads=threads)
        self._cache: dict[int, np.ndarray] = {}
        #: architectures this source scored itself (not found in the store)
        self.scored = 0
        self._siblings: dict[str, StoreProxySource] = {}

    @property
    def label(self) -> str:
        return "+".join(self.members)

    def sibling(self, proxies: str) -> StoreProxySource:
        """A source for other proxies on the same store, dataset, minibatch configuration and
        execution (a zero-cost searcher's cheap prefilter, ``zc:prefilter=flops``), made once
        and kept, so its cache serves every run that shares this source."""
        if proxies not in self._siblings:
            self._siblings[proxies] = StoreProxySource(
                self.store, self.space, self.dataset, proxies, device=self.device,
                data_dir=self.data_dir, progress=self.progress, **self.config, **self.execution,
            )  # fmt: skip
        return self._siblings[proxies]

    def _members(self, signed: np.ndarray) -> np.ndarray:
        """(n, members) from (n, stored proxies) signed scores."""
        if self.members == self.proxies:
            return signed
        column = {p: i for i, p in enumerate(self.proxies)}
        out = []
        for m in self.members:
            if m in DERIVED:
                inputs = (signed[:, column[q]] for q in DERIVED[m].needs)
                with np.errstate(invalid="ignore"):
                    out.append(DERIVED[m].combine(*inputs))
            else:
                out.append(signed[:, column[m]])
        return np.stack(out, axis=1)

    def _read(self, indices: Sequence[int]) -> None:
        column = {p: i for i, p in enumerate(self.proxies)}
        versions = {s.name: s.version for s in self.specs}
        found: dict[int, np.ndarray] = {}
        count: dict[int, int] = {}
        rows = self.store.lookup(
            space=self.space.name, dataset=self.dataset, versions=versions, indices=indices,
            **self.config,
        )  # fmt: skip
        for index, proxy, value, status in rows:
            vec = found.setdefault(index, np.full(len(column), np.nan))
            if status == "ok" and value is not None and np.isfinite(value):
                vec[column[proxy]] = value
            count[index] = count.get(index, 0) + 1
        for index, vec in found.items():
            if count[index] == len(column):  # every proxy has a row (a value or a failure)
                self._cache[index] = vec * self.signs

    def cached_rows(self) -> dict[int, np.ndarray]:
        """The members' signed scores of every architecture read so far, by index."""
        indices = list(self._cache)
        if not indices:
            return {}
        return dict(zip(indices, self._members(np.stack([self._cache[i] for i in indices]))))

    def siblings(self) -> dict[str, StoreProxySource]:
        return dict(self._siblings)

    def stored_indices(self) -> list[int]:
        """Architectures the store already holds a result (value or failure) for every proxy
        of, in this configuration, sorted: a searcher's candidate pool that costs no scoring
        (``zc:pool=stored``)."""
        versions = {s.name: s.version for s in self.specs}
        rows = self.store.lookup(
            space=self.space.name, dataset=self.dataset, versions=versions, **self.config
        )
        count: dict[int, int] = {}
        for index, _proxy, _value, _status in rows:
            count[index] = count.get(index, 0) + 1
        return sorted(i for i, c in count.items() if c == len(versions))

    def scores(self, archs: Sequence[Arch]) -> np.ndarray:
        """(len(archs), members) signed scores; NaN where a proxy failed."""
        indices = self.space.indices(archs).tolist()
        missing = list(dict.fromkeys(i for i in indices if i not in self._cache))
        if missing:
            self._read(missing)
            todo = [i for i in missing if i not in self._cache]
            if todo:
                run_scoring(
                    self.space,
                    self.dataset,
                    [self.space.from_index(i) for i in todo],
                    self.specs,
                    self.store,
                    device=self.device,
                    data_dir=self.data_dir,
                    progress=self.progress and len(todo) > 1,
                    **self.config,
                    **self.execution,
                )
                self.scored += len(todo)
                self._read(todo)
                lost = [i for i in todo if i not in self._cache]
                if lost:
                    raise ZCBenchError(
                        f"scored {len(lost)} architectures but could not read them back from "
                        f"the store (first: {lost[0]})"
                    )
        if not indices:
            return np.empty((0, 0))
        return self._members(np.stack([self._cache[i] for i in indices]))


class PooledProxySource:
    """The same members read through several datasets' minibatches: one
    :class:`StoreProxySource` per dataset in ``parts``, their columns side by side
    (``meco@cifar10``, ``meco@cifar100``, ...), so that :func:`combined` sums every member's
    log-rank term once per dataset, as :func:`zcbench.analysis.ensembles.pooled_rule_score`
    does (reports/ensemble_dev/POOLED.md). No accuracy of any dataset enters it. A prefilter
    (:meth:`sibling`) reads the target dataset's minibatch, through ``own``."""

    def __init__(self, parts: dict[str, StoreProxySource], own: StoreProxySource) -> None:
        if not parts:
            raise ValueError("a pooled source needs at least one dataset")
        self.parts, self.own = parts, own
        self.members = [f"{m}@{d}" for d, part in parts.items() for m in part.members]
        self.proxies = [f"{q}@{d}" for d, part in parts.items() for q in part.proxies]

    @property
    def label(self) -> str:
        first = next(iter(self.parts.values()))
        return f"{first.label} through {' + '.join(self.parts)}"

    @property
    def scored(self) -> int:
        """Architecture scorings this source made, over its datasets."""
        return sum(part.scored for part in self.parts.values())

    def sibling(self, proxies: str) -> StoreProxySource:
        return self.own.sibling(proxies)

    def siblings(self) -> dict[str, StoreProxySource]:
        return self.own.siblings()

    def stored_indices(self) -> list[int]:
        """Architectures stored with every proxy on every dataset (``zc:pool=stored``)."""
        pools = [set(part.stored_indices()) for part in self.parts.values()]
        return sorted(set.intersection(*pools))

    def cached_rows(self) -> dict[int, np.ndarray]:
        rows = [part.cached_rows() for part in self.parts.values()]
        common = [i for i in rows[0] if all(i in r for r in rows[1:])]
        return {i: np.concatenate([r[i] for r in rows]) for i in common}

    def scores(self, archs: Sequence[Arch]) -> np.ndarray:
        """(len(archs), members x datasets) signed scores; NaN where a proxy failed."""
        if not archs:
            return np.empty((0, 0))
        return np.hstack([part.scores(archs) for part in self.parts.values()])


class NotInSnapshot(ZCBenchError):
    """A run asked a :class:`SnapshotProxySource` for scores it does not hold."""


@dataclass(frozen=True)
class ProxySnapshot:
    """What a :class:`StoreProxySource` has read, frozen for a process that cannot reach its
    store (a run worker on another machine of a Ray cluster): the members' signed scores per
    architecture index, the store's pool (``zc:pool=stored``) and the prefilter siblings'."""

    members: tuple[str, ...]
    proxies: tuple[str, ...]
    values: dict[int, np.ndarray]
    stored: tuple[int, ...]
    siblings: dict[str, ProxySnapshot]

    @classmethod
    def of(cls, source: StoreProxySource | PooledProxySource) -> ProxySnapshot:
        return cls(
            tuple(source.members), tuple(source.proxies), source.cached_rows(),
            tuple(source.stored_indices()),
            {name: cls.of(sib) for name, sib in source.siblings().items()},
        )  # fmt: skip


class SnapshotProxySource:
    """A :class:`ProxySnapshot` answering as a store-backed source does. Asked for an
    architecture it does not hold, it asks ``fallback`` (a run worker's source on a store of
    its own, which scores it there), or, without one, raises :class:`NotInSnapshot`."""

    def __init__(
        self,
        snapshot: ProxySnapshot,
        space: SearchSpace,
        fallback: StoreProxySource | PooledProxySource | None = None,
    ) -> None:
        self.snapshot, self.space, self.fallback = snapshot, space, fallback
        self.members, self.proxies = list(snapshot.members), list(snapshot.proxies)

    @property
    def label(self) -> str:
        return "+".join(self.members)

    @property
    def scored(self) -> int:
        """Architectures the fallback scored (the snapshot's cost nothing here)."""
        return self.fallback.scored if self.fallback is not None else 0

    def sibling(self, proxies: str) -> SnapshotProxySource | StoreProxySource:
        fallback = self.fallback.sibling(proxies) if self.fallback is not None else None
        if proxies in self.snapshot.siblings:
            return SnapshotProxySource(self.snapshot.siblings[proxies], self.space, fallback)
        if fallback is None:
            raise NotInSnapshot(f"no scores of {proxies} in the snapshot")
        return fallback

    def stored_indices(self) -> list[int]:
        return list(self.snapshot.stored)

    def scores(self, archs: Sequence[Arch]) -> np.ndarray:
        indices = self.space.indices(archs).tolist()
        if not indices:
            return np.empty((0, 0))
        known = self.snapshot.values
        lacking = list(dict.fromkeys(i for i in indices if i not in known))
        fresh: dict[int, np.ndarray] = {}
        if lacking:
            if self.fallback is None:
                raise NotInSnapshot(f"{len(lacking)} architectures are not in the snapshot")
            values = self.fallback.scores([self.space.from_index(i) for i in lacking])
            fresh = dict(zip(lacking, values))
        return np.stack([known[i] if i in known else fresh[i] for i in indices])


#: how several proxies combine: ``mean`` (mean normalised rank) or ``log`` (AZ-NAS's sum of
#: log normalised ranks, which punishes a poor rank on any member)
AGGREGATIONS: tuple[str, ...] = ("mean", "log")


def combined(scores: np.ndarray, agg: str = "mean") -> np.ndarray:
    """One value per row (higher = better) from signed scores: the score itself for one proxy;
    for several, the mean (``agg="mean"``) or the sum of logs (``"log"``) over members of their
    normalised rank among these rows (a failed member counts as the worst). NaN (one proxy
    that failed) sorts below every number."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError("expected a 2-D array (architectures x proxies)")
    if agg not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {agg!r}; expected one of {', '.join(AGGREGATIONS)}")
    if scores.shape[1] == 1:
        return np.where(np.isnan(scores[:, 0]), -np.inf, scores[:, 0])
    filled = np.where(np.isnan(scores), -np.inf, scores)
    ranks = stats.rankdata(filled, method="average", axis=0) / len(filled)
    return np.log(ranks).sum(axis=1) if agg == "log" else ranks.mean(axis=1)


def top_k_with_ties(values: np.ndarray, k: int, first: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the ``k`` largest ``values`` and every value tied with the ``k``-th, so
    the kept set never depends on the order of the entries. NaN (a failed score) ranks last.
    With ``first`` (a boolean mask, e.g. feasibility), its entries rank ahead of the others
    whatever their value: the top ``k`` are filled from them before any other is kept."""
    value = np.asarray(values, dtype=np.float64)
    value = np.where(np.isnan(value), -np.inf, value)
    first = np.ones(len(value), bool) if first is None else np.asarray(first, bool)
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    if k >= len(value):
        return np.ones(len(value), bool)
    last = np.lexsort((-value, ~first))[k - 1]
    return (first > first[last]) | ((first == first[last]) & (value >= value[last]))
