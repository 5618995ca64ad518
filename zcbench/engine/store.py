"""Persistent results store: one SQLite file, no server.

One row per (space, architecture, dataset, proxy, proxy version, seed, batch size, batch
sampling) with the value (NULL unless the status is ``ok``), status, error, seconds, dtype,
device, whether the pass was fused, and the package versions with the thread count and CPU
instruction set (which decide a float32 value's last bits). Writes for one architecture go in
one transaction, so an interrupted run loses at most the architecture in flight; reruns ask
:meth:`ResultStore.done` and skip what is stored (resume). Several processes may write to the
same file at once: SQLite serialises the transactions (WAL journal, busy timeout).

Opening inspects the file read-only before writing anything: an SQLite file that is not a
zcbench store, or one of a newer schema, is refused and left byte-for-byte as it was.
``ResultStore(path, readonly=True)`` never writes (no WAL files on read-only media), for
export, reports and diffs; a writable open of a store this process cannot write, and a disk
that fills during a write, raise one-line errors (committed architectures are kept).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from zcbench.engine.scoring import ProxyResult
from zcbench.errors import DataError, ZCBenchError

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
#: SQLite primary result codes (the low byte of an extended code)
_SQLITE_READONLY, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 13, 14
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
    """A results database at ``path`` (created on first use unless ``readonly``).

    ``readonly=True`` opens an existing store for reading only (``mode=ro``; ``immutable``
    when its folder cannot be written, so no ``-wal``/``-shm`` files are needed) and
    :meth:`write` refuses. Either way a file that is not a zcbench store of this schema
    version is refused with a one-line :class:`DataError` and left untouched.
    """

    def __init__(
        self, path: str | os.PathLike[str], timeout: float = 120.0, *, readonly: bool = False
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if self.path.exists() and not self.path.is_file():
            raise ZCBenchError(f"results store {self.path} is a folder, not a file")
        if readonly and not self.path.is_file():
            raise ZCBenchError(f"no results store at {self.path}")
        if not readonly and self.path.parent and not self.path.parent.exists():
            raise ZCBenchError(
                f"cannot create store {self.path}: folder {self.path.parent} does not exist"
            )
        initialised = False
        if self.path.exists():  # inspect first, creating nothing: refused files stay as they were
            conn = self._open_readonly(timeout, immutable=True)
            try:
                initialised = self._check(conn)
            finally:
                conn.close()
        if readonly:
            if not initialised:
                raise DataError(
                    f"results store {self.path} is empty (no tables); expected an SQLite file "
                    "written by zcbench"
                )
            # with locks (and -shm/-wal files) where it can, for writers at work meanwhile
            self._conn = self._open_readonly(timeout, immutable=not _writable(self.path.parent))
            return
        for where in (self.path.parent, self.path):
            if where.exists() and not _writable(where):
                kind = "folder" if where.is_dir() else "file"
                raise self._cannot_write(f"the {kind} {where} is not writable")
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            # one transaction (other processes see all of it or nothing); on an existing
            # store it changes nothing but still fails where SQLite can only read the file
            self._conn.executescript(
                "BEGIN IMMEDIATE;"
                + _SCHEMA
                + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
                "COMMIT;"
            )
            if not initialised:
                self._check(self._conn)
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise self._error(exc) from None
            raise

    # -- opening -----------------------------------------------------------------------------
    def _open_readonly(self, timeout: float, *, immutable: bool) -> sqlite3.Connection:
        """A connection that cannot write the store. ``immutable`` takes no locks and needs no
        -shm/-wal files; it is only used while no write-ahead log exists (it would ignore one,
        and one means a writer may be at work)."""
        immutable = immutable and not Path(f"{self.path}-wal").exists()
        uri = self.path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
        try:
            return sqlite3.connect(uri, uri=True, timeout=timeout)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _check(self, conn: sqlite3.Connection) -> bool:
        """Whether ``conn`` holds a zcbench store of this schema (False: no tables yet); a
        newer schema, an older one or any other schema raises a one-line DataError."""
        try:
            tables = {
                name: [c for (c,) in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))]
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                ).fetchall()
            }
            if not tables:
                return False
            version = None
            if tables.get("meta") == ["key", "value"]:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = row[0] if row else None
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        if version is not None and str(version).isdecimal() and len(str(version)) < 10:
            if int(version) > SCHEMA_VERSION:
                raise DataError(
                    f"results store {self.path} has schema {int(version)}; this zcbench reads "
                    f"schema {SCHEMA_VERSION} (upgrade zcbench)"
                )
            if int(version) != SCHEMA_VERSION:
                raise DataError(
                    f"results store {self.path} has schema {int(version)}; this zcbench "
                    f"reads schema {SCHEMA_VERSION}"
                )
            if tables == _store_tables():
                return True
        names = sorted(tables)
        shown = ", ".join(repr(n)[:40] for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise DataError(
            f"{self.path} is an SQLite file but not a zcbench results store (tables {shown}; "
            "expected 'meta' and 'results' of schema "
            f"{SCHEMA_VERSION}); left untouched, pass another --store path"
        )

    def _cannot_write(self, reason: str) -> ZCBenchError:
        return ZCBenchError(
            f"cannot write results store {self.path}: {reason}; pass another --store path to "
            "score into (export, report and diff can read it where it is)"
        )

    def _error(self, exc: sqlite3.DatabaseError, during: str = "") -> ZCBenchError:
        """The one-line error for an SQLite failure on this store."""
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        code = _result_code(exc)
        if code == _SQLITE_FULL:
            return ZCBenchError(
                f"disk full writing results store {self.path}{during}: everything committed "
                "before is kept; free space (or pass another --store path) and rerun to resume"
            )
        if code == _SQLITE_READONLY or (code == _SQLITE_CANTOPEN and not self.readonly):
            return self._cannot_write(f"{text} (read-only media or permissions)")
        if code == _SQLITE_CANTOPEN:
            return DataError(f"cannot open results store {self.path} read-only: {text}")
        return DataError(
            f"corrupt results store {self.path}: {text}; expected an SQLite file written by zcbench"
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
        if self.readonly:
            raise ZCBenchError(f"results store {self.path} was opened read-only; cannot write")
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
        try:
            with self._conn:  # all or nothing: a failure rolls this architecture back
                self._conn.executemany(
                    "INSERT OR REPLACE INTO results VALUES (" + ",".join("?" * 18) + ")", rows
                )
        except sqlite3.OperationalError as exc:
            if _result_code(exc) not in (_SQLITE_FULL, _SQLITE_READONLY):
                raise
            raise self._error(exc, f" (architecture {arch_index} not stored)") from None

    def merge(self, source: ResultStore, where: str = "", params: Iterable[object] = ()) -> int:
        """Copy ``source``'s results (optionally filtered by an SQL ``where``) that this
        store lacks, in one transaction; a result both hold (same key: architecture,
        dataset, proxy and version, seed, batch, sampling) is kept as this store has it.
        Returns the number of rows added."""
        return self.add_rows(source.rows(where, params))

    def rows(self, where: str = "", params: Iterable[object] = ()) -> list[tuple]:
        """The stored rows (every column, in the table's order), optionally filtered by an
        SQL ``where``: what :meth:`add_rows` takes, in another process or machine."""
        return self._conn.execute(
            "SELECT * FROM results" + (f" WHERE {where}" if where else ""), list(params)
        ).fetchall()

    def rows_after(self, mark: int = 0) -> tuple[list[tuple], int]:
        """The rows written (or rewritten) since ``mark`` (0: all), and the mark to pass
        next time: what a process scoring into its own store hands on, a batch at a time."""
        top = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM results").fetchone()[0]
        return self.rows("rowid > ? AND rowid <= ?", (mark, top)), top

    def add_rows(self, rows: Sequence[tuple]) -> int:
        """Add rows read by :meth:`rows` that this store lacks (a result both hold is kept as
        this store has it), in one transaction; returns the number added."""
        if self.readonly:
            raise ZCBenchError(f"results store {self.path} was opened read-only; cannot write")
        rows = [tuple(r) for r in rows]
        before = len(self)
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO results VALUES (" + ",".join("?" * 18) + ")", rows
                )
        except sqlite3.OperationalError as exc:
            if _result_code(exc) not in (_SQLITE_FULL, _SQLITE_READONLY):
                raise
            raise self._error(exc, " (nothing merged)") from None
        return len(self) - before

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


def _writable(path: Path) -> bool:
    """Whether this process may write ``path`` (False on read-only media, even for root)."""
    return os.access(path, os.W_OK)


def _result_code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``exc`` (from its message before Python 3.11)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF
    text = str(exc)
    for needle, primary in (
        ("disk is full", _SQLITE_FULL),
        ("readonly database", _SQLITE_READONLY),
        ("unable to open database", _SQLITE_CANTOPEN),
    ):
        if needle in text:
            return primary
    return None


@functools.cache
def _store_tables() -> dict[str, list[str]]:
    """The tables and columns of a store of this schema version."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_SCHEMA)
        return {
            name: [c for (c,) in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))]
            for name in ("results", "meta")
        }
    finally:
        conn.close()


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
