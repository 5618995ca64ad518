"""The only path from a searcher to ground truth: a budgeted, counting oracle (one per run).

A searcher sees the *search signal* only (by default the NATS-Bench protocol's
``valid_acc_12ep`` of the searched dataset); the final 200-epoch test accuracy of what it
found is joined afterwards by the report, never shown to the searcher.

* ``query(arch)`` returns the signal and counts one ground-truth query per *distinct*
  architecture (asking again for one already queried returns the cached value for free, as a
  lookup table would); past ``budget`` distinct queries it raises :class:`BudgetExhausted`;
* ``proxy_scores(archs)`` returns zero-cost scores through the run's proxy source (a
  :class:`~zcbench.search.proxy_source.StoreProxySource`: signed, higher = better, NaN = failed) and
  counts the distinct architectures evaluated separately (they are not ground truth and do
  not use the budget); ``proxy_scores(archs, proxy="flops")`` reads one other proxy through
  the same store (a searcher's cheap prefilter) and counts those architectures apart
  (``prefilter_evaluations``);
* a measured table (:class:`~zcbench.training.truth.TrainedTruth`) trains an architecture it
  does not hold yet when it is queried (that is what the query costs), and adds it to the table;
* an optional latency constraint (``max_latency={"pixel3": 10.0}``, in the table's units)
  marks architectures over the limit as infeasible: querying one costs a query and returns
  ``-inf`` (the searcher learns it is unusable), and the incumbent never takes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from zcbench.errors import ZCBenchError
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable
from zcbench.types import Arch

DEFAULT_SIGNAL = "valid_acc_12ep"


class ProxySource(Protocol):
    proxies: list[str]

    def scores(self, archs: Sequence[Arch]) -> np.ndarray: ...


class BudgetExhausted(ZCBenchError):
    """The run has used every ground-truth query it was given."""


@dataclass
class Oracle:
    space: SearchSpace
    table: BenchmarkTable
    dataset: str
    budget: int
    signal: str = DEFAULT_SIGNAL
    #: device -> maximum latency (a column ``lat_<device>`` or ``hwnb_<device>_latency``)
    max_latency: dict[str, float] = field(default_factory=dict)
    #: a store-backed scorer with ``scores(archs) -> (n, n_proxies)``; None: proxy_scores()
    #: refuses
    proxy_source: ProxySource | None = None
    #: trains architectures the table lacks (a TrainedTruth); None: such a query is an error
    trainer: object | None = None
    queries: int = 0
    _seen: dict[int, float] = field(default_factory=dict, repr=False)
    _proxied: set[int] = field(default_factory=set, repr=False)
    _prefiltered: set[int] = field(default_factory=set, repr=False)

    @property
    def proxy_evaluations(self) -> int:
        """Distinct architectures the run's proxies scored (or read from the store)."""
        return len(self._proxied)

    @property
    def prefilter_evaluations(self) -> int:
        """Distinct architectures a cheap prefilter proxy ranked (``zc:prefilter=flops``)."""
        return len(self._prefiltered)

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ZCBenchError(f"the query budget must be at least 1; got {self.budget}")
        self._read_table()
        self._feasible = self._feasibility()

    def _read_table(self) -> None:
        # what every query reads, kept per table: the signal and the final metric
        self._signal = self.table.get(self.dataset, self.signal)
        self._final = self.table.get(self.dataset, self.table.final_metric)

    def _feasibility(self) -> pd.Series | None:
        if not self.max_latency:
            return None
        frame = self.table.for_dataset("cifar10")  # latency columns live on the cifar10 rows
        ok = pd.Series(True, index=frame.index)
        for device, limit in self.max_latency.items():
            column = next(
                (c for c in (f"lat_{device}", f"hwnb_{device}_latency") if c in frame.columns),
                None,
            )
            if column is None:
                options = sorted(
                    c.removeprefix("lat_") for c in frame.columns if c.startswith("lat_")
                )
                raise ZCBenchError(
                    f"unknown latency device {device!r}; expected one of {', '.join(options)}"
                )
            ok &= frame[column] <= limit  # NaN (not measured) is not feasible
        return ok

    @property
    def remaining(self) -> int:
        return self.budget - self.queries

    def feasible(self, arch: Arch) -> bool:
        return self._feasible is None or bool(self._feasible.loc[self.space.index(arch)])

    def query(self, arch: Arch) -> float:
        index = self.space.index(arch)
        if index in self._seen:
            return self._seen[index]
        if self.queries >= self.budget:
            raise BudgetExhausted(f"the budget of {self.budget} queries is used up")
        self.queries += 1
        if not self.feasible(arch):
            value = -math.inf
        else:
            if index not in self._signal.index:
                self._fill(arch)
            value = float(self._signal.loc[index])
        self._seen[index] = value
        return value

    def _fill(self, arch: Arch) -> None:
        if self.trainer is None:
            raise ZCBenchError(
                f"{self.space.to_str(arch)} has no ground truth in the {self.space.name} table "
                f"for {self.dataset}; search with --truth DIR to train what is missing"
            )
        self.trainer.train([arch])  # type: ignore[attr-defined]
        self.table = self.trainer.table  # type: ignore[attr-defined]
        self._read_table()

    def final(self, index: int) -> float:
        """The table's final metric for an architecture already queried (for the trace,
        after the searcher has seen the signal; never shown to the searcher)."""
        return float(self._final.loc[index])

    def stored_candidates(self) -> list[Arch]:
        """The architectures the proxy source's store already scored with every proxy (a
        candidate pool that costs no scoring); counted as proxy evaluations when ranked."""
        if self.proxy_source is None or not hasattr(self.proxy_source, "stored_indices"):
            raise ZCBenchError("pool=stored needs a store-backed proxy source (--proxy, --store)")
        indices = self.proxy_source.stored_indices()
        if not indices:
            raise ZCBenchError(
                "pool=stored: the store holds no architecture scored with every proxy"
            )
        return [self.space.from_index(i) for i in indices]

    def proxy_scores(self, archs: Sequence[Arch], proxy: str | None = None) -> np.ndarray:
        """Signed zero-cost scores, one row per architecture (one column per proxy of the
        run's source; with ``proxy``, the one column of that proxy, read and scored through
        the same store and configuration: a searcher's prefilter)."""
        if self.proxy_source is None:
            raise ZCBenchError("this run has no proxy source; pass --proxy to search with one")
        seen = self._proxied if proxy is None else self._prefiltered
        seen.update(self.space.indices(archs).tolist())
        if proxy is None:
            return self.proxy_source.scores(archs)
        if not hasattr(self.proxy_source, "sibling"):
            raise ZCBenchError(f"a prefilter ({proxy}) needs a store-backed proxy source")
        return self.proxy_source.sibling(proxy).scores(archs)
