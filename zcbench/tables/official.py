"""Adapters for the official benchmark files (NATS-Bench and NAS-Bench-201).

Users who have the official archives can turn them into a :class:`~zcbench.tables.benchmarks.
BenchmarkTable` (the same shape as our CSV table: indexed by ``(dataset, index)``, an ``arch``
column with the official string, one float column per metric, NaN where a value is missing):

* :func:`load_official` opens a file through the official packages: a NATS-Bench single file
  (``NATS-tss-v1_0-3ffb9.pickle.pbz2``, ``NATS-sss-v1_0-50262.pickle.pbz2``), a NATS-Bench
  fast-mode directory (``NATS-tss-v1_0-3ffb9-simple/`` with ``meta.pickle.pbz2`` and
  ``{index:06d}.pickle.pbz2``), or a NAS-Bench-201 file (``NAS-Bench-201-v1_1-096897.pth``);
* :func:`table_from_nats_api` reads an API object the user already created
  (``nats_bench.create(...)`` or ``nas_201_api.NASBench201API(...)``).

Metric columns and the official queries they come from (every value is the mean over the
archive's seeds, ``is_random=False``, after the last epoch). ``get_more_info(i, d, hp=hp)``
returns ``test-accuracy`` (``ori-test`` for cifar10 and cifar10-valid, ``x-test`` for cifar100
and ImageNet16-120) and ``valid-accuracy`` (``x-valid``):

=============================  ==========================================================
column (row dataset ``d``)     query
=============================  ==========================================================
``test_acc_200ep``             ``get_more_info(i, d, hp='200')['test-accuracy']``
``valid_acc_200ep``            cifar10: ``get_more_info(i, 'cifar10-valid', hp='200')
                               ['valid-accuracy']``; others: ``get_more_info(i, d,
                               hp='200')['valid-accuracy']``
``c10valid_test_acc_200ep``    cifar10 only: ``get_more_info(i, 'cifar10-valid',
                               hp='200')['test-accuracy']``
``nb201_test_acc_200ep``       cifar10 only, NAS-Bench-201 ``.pth`` files only: the same
                               value as that file's ``test_acc_200ep``; NaN from NATS files
``test_acc_12ep``              as ``test_acc_200ep`` with ``hp='12'``
``valid_acc_12ep``             as ``valid_acc_200ep`` with ``hp='12'``
``params_m_c10``               cifar10 only: ``params_m`` of the cifar10 network
:data:`FLOPS_M`                ``get_cost_info(i, d, hp=full)['flops']`` (millions; xautodl's
                               conv + linear count, not ``zcbench.tables.flops``'s convention)
:data:`PARAMS_M`               ``get_cost_info(i, d, hp=full)['params']`` (millions)
:data:`TEST_ACC_90EP`,         NATS-sss only (it trains 90 epochs, not 200): as the 200-epoch
:data:`VALID_ACC_90EP`,        columns with ``hp='90'``
:data:`C10VALID_TEST_ACC_90EP`
=============================  ==========================================================

(``full`` is ``'200'`` for the topology space, ``'90'`` for the size space; the costs come from
another hp where an architecture lacks that one.)

Differences from our CSV table: the official files also give ``valid_acc_200ep`` for cifar100
and ImageNet16-120 (their ``x-valid`` split), and FLOPs / params for every dataset. In a table
read from a NAS-Bench-201 ``.pth`` file every accuracy is that file's (NAS-Bench-201, not
NATS-Bench) value; NAS-Bench-201 v1.0 has 12-epoch results for cifar10-valid only, so the
other 12-epoch cells are NaN. A NATS-sss table has the 200-epoch columns too, all NaN.

Only architectures the archive has evaluated become rows. Indexes are the file's own
(``meta_archs`` order); arch strings are checked: nb201 strings must parse, and a NATS-sss
string must be the one whose official index is the row's index.

Security: the official formats are Python pickles (NATS files are read with ``pickle.load``;
NAS-Bench-201 ``.pth`` files with ``torch.load``, retried with ``weights_only=False`` when the
file needs it), so only open files from a source you trust.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zcbench.errors import ArchError, DataError, unknown
from zcbench.tables.benchmarks import BenchmarkTable, Metric
from zcbench.tables.datasets import DATASETS, dataset_info

logger = logging.getLogger(__name__)

#: FLOPs (millions) of the network for the row's dataset, from the API's cost info. This is
#: xautodl's conv + linear count (e.g. 220.11969 for NB201 index 1462), *not* the convention of
#: ``zcbench.tables.flops`` / ``zcbench info`` (NASLib's tensorwatch count, 222.860992 for 1462).
FLOPS_M = "api_flops_m"
#: parameters (millions) of the network for the row's dataset, from the API's cost info
PARAMS_M = "api_params_m"
#: NATS-sss: test accuracy after the full 90-epoch schedule (``hp='90'``), seed mean
TEST_ACC_90EP = "test_acc_90ep"
#: NATS-sss: validation accuracy after 90 epochs (cifar10: the cifar10-valid ``x-valid``)
VALID_ACC_90EP = "valid_acc_90ep"
#: NATS-sss, cifar10 rows only: the 90-epoch cifar10-valid runs evaluated on the test set
C10VALID_TEST_ACC_90EP = "c10valid_test_acc_90ep"

#: metric columns that only tables from the official files have
COST_METRICS: tuple[str, ...] = (FLOPS_M, PARAMS_M)
SSS_METRICS: tuple[str, ...] = (TEST_ACC_90EP, VALID_ACC_90EP, C10VALID_TEST_ACC_90EP)
OFFICIAL_METRICS: tuple[str, ...] = SSS_METRICS + COST_METRICS

SPACE_TSS = "nb201"
SPACE_SSS = "nats-sss"
#: the pseudo-dataset of the cifar10 runs trained on the train split only (valid = x-valid)
C10_VALID = "cifar10-valid"

_SPACE_ALIASES = {
    "nb201": SPACE_TSS,
    "nas-bench-201": SPACE_TSS,
    "nats-tss": SPACE_TSS,
    "tss": SPACE_TSS,
    "topology": SPACE_TSS,
    "nats-sss": SPACE_SSS,
    "sss": SPACE_SSS,
    "size": SPACE_SSS,
}
#: (hp, test column, valid column, cifar10-valid test column) per space
_SCHEDULES: dict[str, tuple[tuple[str, str, str, str | None], ...]] = {
    SPACE_TSS: (
        (
            "200",
            Metric.TEST_ACC_200EP.value,
            Metric.VALID_ACC_200EP.value,
            Metric.C10VALID_TEST_ACC_200EP.value,
        ),
        ("12", Metric.TEST_ACC_12EP.value, Metric.VALID_ACC_12EP.value, None),
    ),
    SPACE_SSS: (
        ("90", TEST_ACC_90EP, VALID_ACC_90EP, C10VALID_TEST_ACC_90EP),
        ("12", Metric.TEST_ACC_12EP.value, Metric.VALID_ACC_12EP.value, None),
    ),
}
_ACCURACY_COLUMNS = frozenset(
    [m.value for m in Metric if m is not Metric.PARAMS_M_C10] + list(SSS_METRICS)
)
_PICKLE_EXT = "pickle.pbz2"
_FORMS = (
    "a NATS-Bench .pickle.pbz2 file or fast-mode directory (NATS-tss-*/NATS-sss-*), or a "
    "NAS-Bench-201 .pth file"
)
_NAME_SPACE_RE = re.compile(r"(?:^|[^a-z])(tss|sss)(?:[^a-z]|$)", re.IGNORECASE)


# -- helpers ------------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    """The first line of an exception's message (or its type), for a one-line DataError."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    line = text.splitlines()[0].strip() if text else ""
    line = line or type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def canonical_space(space: str) -> str:
    """``nb201`` or ``nats-sss`` for a space name or alias (``tss``, ``sss``, ``topology``...)."""
    canon = _SPACE_ALIASES.get(str(space).strip().lower())
    if canon is None:
        raise unknown("search space for an official file", space, sorted(set(_SPACE_ALIASES)))
    return canon


def _dataset_names(datasets: str | Iterable[str] | None) -> list[str]:
    if datasets is None:
        return list(DATASETS)
    if isinstance(datasets, str):
        datasets = [datasets]
    names: list[str] = []
    for d in datasets:
        name = dataset_info(d).name
        if name not in names:
            names.append(name)
    if not names:
        raise DataError(f"no dataset selected; expected some of: {', '.join(DATASETS)}")
    return names


def _space_of_api(api: Any) -> str:
    from nas_201_api import NASBench201API
    from nats_bench import NATSsize, NATStopology

    if isinstance(api, NATSsize):
        return SPACE_SSS
    if isinstance(api, (NATStopology, NASBench201API)):
        return SPACE_TSS
    raise TypeError(
        f"expected a nats_bench NATStopology/NATSsize or a nas_201_api NASBench201API object, "
        f"got {type(api).__name__}"
    )


def _is_nb201_api(api: Any) -> bool:
    from nas_201_api import NASBench201API

    return isinstance(api, NASBench201API)


def _arch_file(archive_dir: str, index: int) -> str | None:
    """The per-architecture file of a fast-mode archive, named as the API's ``reload`` does."""
    for name in (f"{index:06d}.{_PICKLE_EXT}", f"{index:d}.{_PICKLE_EXT}"):
        path = os.path.join(archive_dir, name)
        if os.path.isfile(path):
            return path
    return None


def _fallback_info(results: Any, dataset: str) -> dict[str, float]:
    """``get_more_info``'s accuracy keys read straight from an ``ArchResults`` (set by set)."""
    if dataset == C10_VALID:
        sets = {"valid-accuracy": "x-valid", "test-accuracy": "ori-test"}
    elif dataset == "cifar10":
        sets = {"test-accuracy": "ori-test", "valid-accuracy": "x-valid"}
    else:
        sets = {
            "test-accuracy": "x-test",
            "valid-accuracy": "x-valid",
            "valtest-accuracy": "ori-test",
        }
    out: dict[str, float] = {}
    for key, setname in sets.items():
        try:
            out[key] = results.get_metrics(dataset, setname, is_random=False)["accuracy"]
        except (KeyError, ValueError, AssertionError, TypeError, IndexError):
            continue
    return out


class _Reader:
    """Reads one architecture's values through an API object (loading fast-mode files)."""

    def __init__(self, api: Any, space: str) -> None:
        self.api = api
        self.space = space
        self.fast_dir = (
            api.archive_dir
            if getattr(api, "fast_mode", False) and getattr(api, "archive_dir", None)
            else None
        )
        self._warned: set[str] = set()

    def candidates(self) -> list[int]:
        loaded = set(self.api.arch2infos_dict)
        if self.fast_dir is not None:
            on_disk = {i for i in range(len(self.api.meta_archs)) if _arch_file(self.fast_dir, i)}
            return sorted(loaded | on_disk)
        evaluated = {int(i) for i in self.api.evaluated_indexes}
        missing = evaluated - loaded
        if missing:
            logger.warning(
                "%d evaluated architectures have no results in the archive (e.g. index %d); "
                "skipping them",
                len(missing),
                min(missing),
            )
        return sorted(evaluated & loaded)

    def load(self, index: int) -> tuple[dict[str, Any], bool]:
        """(hp -> ArchResults, whether we loaded it from disk and should release it)."""
        infos = self.api.arch2infos_dict
        if index in infos:
            return infos[index], False
        path = _arch_file(self.fast_dir, index) if self.fast_dir else None
        try:
            self.api.reload(self.fast_dir, index)
        except MemoryError:
            raise
        except Exception as exc:  # the packages raise many types for a bad file
            raise DataError(
                f"corrupt NATS-Bench archive entry {path or index}: {_reason(exc)}; expected a "
                f"{{index:06d}}.{_PICKLE_EXT} file with per-hp ArchResults"
            ) from None
        return infos[index], True

    def release(self, index: int) -> None:
        self.api.arch2infos_dict.pop(index, None)
        evaluated = self.api.evaluated_indexes
        if isinstance(evaluated, set):
            evaluated.discard(index)

    def more_info(self, index: int, hp2res: dict[str, Any], dataset: str, hp: str) -> dict:
        results = hp2res.get(hp)
        if results is None or dataset not in results.get_dataset_names():
            return {}
        try:
            return self.api.get_more_info(index, dataset, hp=hp, is_random=False)
        except (KeyError, ValueError, AssertionError, TypeError, IndexError) as exc:
            # e.g. NATSsize.get_more_info divides the training time, which is None in archives
            # without timing information; read the same keys set by set instead
            if type(exc).__name__ not in self._warned:
                self._warned.add(type(exc).__name__)
                logger.warning(
                    "get_more_info(%d, %r, hp=%r) failed (%s: %s); reading the accuracies from "
                    "ArchResults.get_metrics instead",
                    index,
                    dataset,
                    hp,
                    type(exc).__name__,
                    _reason(exc),
                )
            return _fallback_info(results, dataset)

    def cost(self, index: int, hp2res: dict[str, Any], dataset: str) -> tuple[float, float]:
        """(flops, params) in millions, as ``get_cost_info`` computes them (without its copy)."""
        for hp in (_SCHEDULES[self.space][0][0], *hp2res):
            results = hp2res.get(hp)
            if results is None or dataset not in results.get_dataset_names():
                continue
            try:
                info = results.get_compute_costs(dataset)
            except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
                logger.warning(
                    "cost info of index %d on %s (hp=%s) unavailable: %s",
                    index,
                    dataset,
                    hp,
                    _reason(exc),
                )
                continue
            return _float(info.get("flops")), _float(info.get("params"))
        return math.nan, math.nan


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _check_arch(space_obj: Any, space: str, index: int, arch: Any, where: str) -> str:
    try:
        parsed = space_obj.parse(arch)
    except ArchError as exc:
        raise DataError(f"corrupt official {where}: index {index}: {exc}") from None
    if space == SPACE_SSS:
        official = space_obj.index(parsed)
        if official != index:
            raise DataError(
                f"corrupt official {where}: index {index} holds {arch!r}, whose official "
                f"nats-sss index is {official}"
            )
    return arch.strip()


def _table(api: Any, datasets: str | Iterable[str] | None, where: str) -> BenchmarkTable:
    from zcbench.spaces import get_space

    space = _space_of_api(api)
    names = _dataset_names(datasets)
    reader = _Reader(api, space)
    space_obj = get_space(space)
    schedule = _SCHEDULES[space]
    is_nb201_file = _is_nb201_api(api)
    columns = (
        ["arch"]
        + [m.value for m in Metric]
        + (list(SSS_METRICS) if space == SPACE_SSS else [])
        + list(COST_METRICS)
    )
    data: dict[str, list] = {c: [] for c in columns}
    keys_ds: list[str] = []
    keys_idx: list[int] = []

    verbose = getattr(api, "verbose", False)
    api.verbose = False  # the packages print on every query when verbose
    try:
        candidates = reader.candidates()
        for index in candidates:
            if not 0 <= index < len(api.meta_archs):
                raise DataError(
                    f"corrupt official {where}: evaluated index {index} is outside meta_archs "
                    f"(0..{len(api.meta_archs) - 1})"
                )
            arch = _check_arch(space_obj, space, index, api.meta_archs[index], where)
            hp2res, release = reader.load(index)
            try:
                c10v = {hp: reader.more_info(index, hp2res, C10_VALID, hp) for hp, *_ in schedule}
                for ds in names:
                    row = dict.fromkeys(columns, math.nan)
                    row["arch"] = arch
                    for hp, test_col, valid_col, c10v_test_col in schedule:
                        info = reader.more_info(index, hp2res, ds, hp)
                        row[test_col] = _float(info.get("test-accuracy"))
                        if ds == "cifar10":
                            row[valid_col] = _float(c10v[hp].get("valid-accuracy"))
                            if c10v_test_col is not None:
                                row[c10v_test_col] = _float(c10v[hp].get("test-accuracy"))
                        else:
                            row[valid_col] = _float(info.get("valid-accuracy"))
                    row[FLOPS_M], row[PARAMS_M] = reader.cost(index, hp2res, ds)
                    if ds == "cifar10":
                        row[Metric.PARAMS_M_C10.value] = row[PARAMS_M]
                        if is_nb201_file:
                            row[Metric.NB201_TEST_ACC_200EP.value] = row[
                                Metric.TEST_ACC_200EP.value
                            ]
                    for c in columns:
                        data[c].append(row[c])
                    keys_ds.append(ds)
                    keys_idx.append(index)
            finally:
                if release:
                    reader.release(index)
    finally:
        api.verbose = verbose

    if not keys_idx:
        raise DataError(
            f"official {where} has no evaluated architectures for "
            f"{', '.join(names)}; expected a benchmark archive with results"
        )
    index = pd.MultiIndex.from_arrays(
        [keys_ds, np.asarray(keys_idx, dtype=np.int64)], names=["dataset", "index"]
    )
    frame = pd.DataFrame(data, index=index, columns=columns)
    for c in columns[1:]:
        frame[c] = frame[c].astype(np.float64)
        values = frame[c].to_numpy()
        hi = 100.0 if c in _ACCURACY_COLUMNS else np.inf
        bad = ~np.isnan(values) & ((values < 0.0) | (values > hi))
        if bad.any():
            ds, i = frame.index[int(np.flatnonzero(bad)[0])]
            raise DataError(
                f"corrupt official {where}: {c}={values[bad][0]} for index {i} on {ds} "
                f"outside [0, {hi}]"
            )
    frame = frame.sort_index()
    logger.info(
        "read %d %s architectures x %d datasets from %s", len(candidates), space, len(names), where
    )
    return BenchmarkTable(space, frame, where)


# -- public API -------------------------------------------------------------------------------
def table_from_nats_api(api: Any, datasets: str | Iterable[str] | None = None) -> BenchmarkTable:
    """A :class:`BenchmarkTable` from an official API object (see the module docstring).

    ``api`` is a ``nats_bench`` ``NATStopology`` (space ``nb201``) or ``NATSsize``
    (``nats-sss``), or a ``nas_201_api.NASBench201API`` (``nb201``). In fast mode the
    per-architecture files of ``api.archive_dir`` are read one by one and released afterwards,
    so the API is left as it was. ``datasets`` selects rows (default: all three).
    """
    name = getattr(api, "filename", None)
    where = f"{type(api).__name__} archive" + (f" {name}" if name else "")
    return _table(api, datasets, where)


def _infer(path: Path, space: str | None, fast_mode: bool) -> tuple[str, str]:
    """(format, space) with format one of ``nats-file``, ``nats-dir``, ``nb201-pth``."""
    canon = canonical_space(space) if space is not None else None
    name = path.name
    if path.is_dir():
        fmt = "nats-dir"
        if not (path / f"meta.{_PICKLE_EXT}").is_file():
            raise DataError(
                f"not a NATS-Bench fast-mode directory: {path} has no meta.{_PICKLE_EXT}; "
                f"expected {_FORMS}"
            )
    elif name.endswith(".pth"):
        fmt = "nb201-pth"
        if fast_mode:
            raise DataError(
                f"fast_mode=True applies to NATS-Bench directories, not to the NAS-Bench-201 "
                f"file {path}"
            )
        if canon == SPACE_SSS:
            raise DataError(
                f"a NAS-Bench-201 .pth file ({path}) holds the topology space; expected "
                "space='nb201' or None"
            )
        return fmt, SPACE_TSS
    elif name.endswith(".pbz2"):
        fmt = "nats-file"
        if fast_mode:
            raise DataError(
                f"fast_mode=True needs the NATS-Bench archive directory (e.g. "
                f"NATS-tss-v1_0-3ffb9-simple), got the file {path}"
            )
    else:
        raise DataError(f"unrecognised official benchmark file {path}; expected {_FORMS}")
    m = _NAME_SPACE_RE.search(name)
    named = _SPACE_ALIASES[m.group(1).lower()] if m else None
    if canon is None:
        if named is None:
            raise DataError(
                f"cannot tell the NATS-Bench search space from the name {name!r}; pass "
                "space='nb201' (tss) or space='nats-sss' (sss)"
            )
        canon = named
    elif named is not None and named != canon:
        logger.warning("%s is named like a %s archive but is read as %s", path, named, canon)
    return fmt, canon


def _open_nb201(path: Path) -> Any:
    import torch
    from nas_201_api import NASBench201API

    try:
        return NASBench201API(str(path), verbose=False)
    except MemoryError:
        raise
    except Exception as exc:
        if not (
            isinstance(exc, pickle.UnpicklingError)
            and "weights only load failed" in str(exc).lower()
        ):
            raise
        logger.warning(
            "%s needs torch.load(weights_only=False) (it pickles more than tensors and plain "
            "types); loading it fully: only do this for files you trust",
            path,
        )
        data = torch.load(str(path), map_location="cpu", weights_only=False)
        return NASBench201API(data, verbose=False)


def load_official(
    path: str | os.PathLike[str],
    space: str | None = None,
    fast_mode: bool = False,
    datasets: str | Iterable[str] | None = None,
) -> BenchmarkTable:
    """Open an official benchmark file and return its :class:`BenchmarkTable`.

    ``path``: a NATS-Bench ``.pickle.pbz2`` file, a NATS-Bench fast-mode directory (a
    directory always opens in fast mode) or a NAS-Bench-201 ``.pth`` file. ``space``
    (``nb201``/``tss`` or ``nats-sss``/``sss``) defaults to what the name says
    (``NATS-tss-...`` / ``NATS-sss-...``; ``.pth`` is always ``nb201``). A missing,
    unreadable or wrong-format file raises a one-line :class:`~zcbench.errors.DataError`.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"missing official benchmark file {p}; expected {_FORMS}")
    fmt, canon = _infer(p, space, fast_mode)
    if fmt == "nb201-pth":
        kind = "NAS-Bench-201 file"
    else:
        kind = f"NATS-Bench {'tss' if canon == SPACE_TSS else 'sss'} " + (
            "directory" if fmt == "nats-dir" else "file"
        )
    logger.info("opening %s %s", kind, p)
    try:
        if fmt == "nb201-pth":
            api = _open_nb201(p)
        else:
            import nats_bench

            api = nats_bench.create(
                str(p),
                "tss" if canon == SPACE_TSS else "sss",
                fast_mode=fmt == "nats-dir",
                verbose=False,
            )
    except MemoryError:
        raise
    except Exception as exc:  # the packages raise many types (ValueError, OSError, IndexError...)
        raise DataError(
            f"cannot read {kind} {p}: {_reason(exc)}; expected an official "
            f"{'NAS-Bench-201 .pth' if fmt == 'nb201-pth' else 'NATS-Bench'} archive"
        ) from None
    return _table(api, datasets, f"{kind} {p}")


__all__ = [
    "C10VALID_TEST_ACC_90EP",
    "COST_METRICS",
    "FLOPS_M",
    "OFFICIAL_METRICS",
    "PARAMS_M",
    "SSS_METRICS",
    "TEST_ACC_90EP",
    "VALID_ACC_90EP",
    "canonical_space",
    "load_official",
    "table_from_nats_api",
]
