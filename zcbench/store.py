"""Persistent results store: one SQLite file, no server.

One row per (space, architecture, dataset, proxy, proxy version, seed, batch size, batch
sampling) with the value (NULL unless the status is ``ok``), status, error, seconds, dtype,
device, whether the pass was fused, and the package versions with the thread count and CPU
instruction set (which decide a float32 value's last bits). Writes for one architecture go in
one transaction, so an interrupted run loses at most the architecture in flight; reruns ask
:meth:`ResultStore.done` and skip what is stored (resume). Several processes may write to the
same file at once: SQLite serialises the transactions (WAL journal, busy timeout).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from zcbench.errors import DataError, ZCBenchError
from zcbench.scoring import ProxyResult

SCHEMA_VERSION = 1
_KEY = (
    "space",
    "arch_index",
    "dataset",
    "proxy",
    "proxy_version",
    "seed",
    "batch_size",
    "sampling",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    space TEXT NOT NULL,
    arch_index INTEGER NOT NULL,
    arch TEXT NOT NULL,
    dataset TEXT NOT NULL,
    proxy TEXT NOT NULL,
    proxy_version INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    sampling TEXT NOT NULL,
    value REAL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    seconds REAL,
    dtype TEXT,
    device TEXT,
    fused INTEGER,
    versions TEXT,
    created TEXT,
    PRIMARY KEY ({", ".join(_KEY)})
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
#: architectures looked up per SQL statement (SQLite allows 32,766 host parameters)
_LOOKUP_CHUNK = 5000
#: the long export format (first columns fixed by the CLI contract)
EXPORT_COLUMNS = [
    "space",
    "index",
    "arch",
    "dataset",
    "proxy",
    "seed",
    "batch_size",
    "value",
    "status",
    "seconds",
    "proxy_version",
    "sampling",
    "error",
    "dtype",
    "device",
    "fused",
]


class ResultStore:
    """A results database at ``path`` (created on first use)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 120.0) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise ZCBenchError(
                f"cannot create store {self.path}: folder {self.path.parent} does not exist"
            )
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            with self._conn:
                self._conn.executescript(_SCHEMA)
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            version = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"corrupt results store {self.path}: {exc}; expected an SQLite file "
                "written by zcbench"
            ) from None
        if int(version) != SCHEMA_VERSION:
            raise DataError(
                f"results store {self.path} has schema {version}; this zcbench "
                f"reads schema {SCHEMA_VERSION}"
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def write(
        self,
        results: Sequence[ProxyResult],
        *,
        space: str,
        arch_index: int,
        arch: str,
        dataset: str,
        seed: int,
        batch_size: int,
        sampling: str,
        versions: dict[str, int],
        dtype: str,
        device: str,
        fused: bool,
        packages: dict[str, str],
    ) -> None:
        """Store the results of one architecture in one transaction (replacing old rows)."""
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        pkgs = json.dumps(packages, sort_keys=True)
        rows = [
            (
                space,
                arch_index,
                arch,
                dataset,
                r.proxy,
                versions[r.proxy],
                seed,
                batch_size,
                sampling,
                r.value,
                r.status,
                r.error,
                r.seconds,
                dtype,
                device,
                int(fused),
                pkgs,
                now,
            )
            for r in results
        ]
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO results VALUES (" + ",".join("?" * 18) + ")", rows
            )

    # -- reading ---------------------------------------------------------------------------
    def done(
        self,
        *,
        space: str,
        dataset: str,
        seed: int,
        batch_size: int,
        sampling: str,
        versions: dict[str, int],
        include_failures: bool = True,
    ) -> set[tuple[int, str]]:
        """(arch index, proxy) pairs already stored for this configuration."""
        rows = self.lookup(
            space=space, dataset=dataset, seed=seed, batch_size=batch_size, sampling=sampling,
            versions=versions,
        )  # fmt: skip
        return {(i, p) for i, p, _, status in rows if include_failures or status == "ok"}

    def environments(
        self, *, space: str, dataset: str, seed: int, batch_size: int, sampling: str
    ) -> list[dict[str, str]]:
        """The distinct recorded package versions and compute settings (``versions``) of this
        configuration's rows; rows without a record give ``{}``."""
        rows = self._conn.execute(
            "SELECT DISTINCT versions FROM results WHERE space=? AND dataset=? AND seed=? "
            "AND batch_size=? AND sampling=?",
            (space, dataset, seed, batch_size, sampling),
        ).fetchall()
        return [recorded_environment(v) for (v,) in rows]

    def lookup(
        self,
        *,
        space: str,
        dataset: str,
        seed: int,
        batch_size: int,
        sampling: str,
        versions: dict[str, int],
        indices: Iterable[int] | None = None,
    ) -> list[tuple[int, str, float | None, str]]:
        """(arch index, proxy, value, status) of these proxy versions in this configuration,
        for the given architectures (None: every stored architecture)."""
        if not versions:
            return []
        sql = (
            "SELECT arch_index, proxy, proxy_version, value, status FROM results WHERE space=? "
            "AND dataset=? AND seed=? AND batch_size=? AND sampling=? AND proxy IN "
            f"({','.join('?' * len(versions))})"
        )
        params = (space, dataset, seed, batch_size, sampling, *versions)
        if indices is None:
            chunks = [(sql, params)]
        else:
            indices = list(indices)
            chunks = [
                (sql + f" AND arch_index IN ({','.join('?' * len(c))})", (*params, *c))
                for c in (
                    indices[k : k + _LOOKUP_CHUNK] for k in range(0, len(indices), _LOOKUP_CHUNK)
                )
            ]
        out = []
        for query, args in chunks:
            rows = self._conn.execute(query, args).fetchall()
            out.extend((i, p, value, status) for i, p, v, value, status in rows if v == versions[p])
        return out

    def frame(self, where: str = "", params: Iterable[object] = ()) -> pd.DataFrame:
        """All rows (optionally filtered by an SQL ``where`` clause) as a DataFrame."""
        sql = "SELECT * FROM results" + (f" WHERE {where}" if where else "")
        frame = pd.read_sql_query(
            sql + " ORDER BY space, dataset, proxy, arch_index", self._conn, params=list(params)
        )
        return frame

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def export(self, out: str | os.PathLike[str]) -> pd.DataFrame:
        """Write the long format to ``out`` (.csv or .parquet) and return it."""
        frame = self.frame().rename(columns={"arch_index": "index"})[EXPORT_COLUMNS]
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix == ".csv":
            frame.to_csv(out, index=False)
        elif suffix in (".parquet", ".pq"):
            try:
                frame.to_parquet(out, index=False)
            except ImportError:
                raise ZCBenchError(
                    "Parquet export needs pyarrow: pip install 'zcbench[parquet]'"
                ) from None
        else:
            raise ZCBenchError(
                f"unknown export format {suffix or out.name!r}; expected .csv or .parquet"
            )
        return frame


def compare_stores(a: ResultStore, b: ResultStore) -> pd.DataFrame:
    """Rows of two stores side by side on the result key, with ``identical``: the same status
    and bit-identical values (both missing counts as identical), and ``where`` = both | a | b.
    For reproducibility checks: score the same work twice (or on two machines) and compare."""
    cols = [*_KEY, "value", "status", "versions"]
    merged = a.frame()[cols].merge(
        b.frame()[cols], on=list(_KEY), how="outer", suffixes=("_a", "_b"), indicator="where"
    )
    merged["where"] = merged["where"].map({"both": "both", "left_only": "a", "right_only": "b"})
    va, vb = merged["value_a"], merged["value_b"]
    same_value = (va == vb) | (va.isna() & vb.isna())
    merged["identical"] = (
        (merged["where"] == "both") & same_value & (merged["status_a"] == merged["status_b"])
    )
    return merged


def recorded_environment(versions: object) -> dict[str, str]:
    """A row's ``versions`` column (JSON of package versions and compute settings) as a
    dict; an empty or missing record (older rows, the absent side of a merge) gives ``{}``."""
    return json.loads(versions) if isinstance(versions, str) and versions else {}


def environment_differences(merged: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """For the differing rows of :func:`compare_stores`: which recorded package versions or
    compute settings (threads, CPU instruction set) differ between the two sides, as
    ``{key: {(a, b), ...}}``. Empty when both sides ran in the same recorded environment."""
    differ = merged[(merged["where"] == "both") & ~merged["identical"]]
    out: dict[str, set[tuple[str, str]]] = {}
    for va, vb in differ[["versions_a", "versions_b"]].drop_duplicates().itertuples(index=False):
        a, b = recorded_environment(va), recorded_environment(vb)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.setdefault(key, set()).add(
                    (str(a.get(key, "unrecorded")), str(b.get(key, "unrecorded")))
                )
    return out
