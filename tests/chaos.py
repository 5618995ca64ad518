"""Chaos check of resumable scoring (``make chaos``; a short version runs in CI).

For each mode (one process, ``--workers 2``, Ray): score a few cheap architectures once
uninterrupted, then again into fresh stores while SIGKILLing ``zcbench score`` at random
moments (seeded), each kill followed by a rerun, until at least ``--kills`` kills landed.
Kill moments alternate: uniform over the uninterrupted run's duration from the start, and
uniform over its scoring phase from the moment the run stores its first architecture.
Every run uses one torch thread per process, so every mode must store exactly the values
of the one-process reference. After each kill: the SQLite file passes ``integrity_check``
and every stored architecture has all of its proxies (one transaction per architecture).
After each store is complete: every (architecture, dataset, proxy, seed, batch size) is
there exactly once, every status is ok, the values equal the reference bit for bit.

The kill goes to the ``zcbench score`` process only (what an OOM killer or a lost node
does); its worker processes should then exit on their own. Whatever of its process session
is still alive 3 s later is killed and counted as ``orphans``: worker processes still
starting (importing torch) when their parent dies notice it at their first message to it and
exit by themselves, which took 4-6 s on the 2-core CI machine (checked by hand, no kill).
Ray mode joins a local two-CPU cluster this script starts (``--address``): a driver that
dies has its actors removed by the cluster.

Run: ``python tests/chaos.py --out reports/chaos`` (prints and writes ``result.txt``).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ARCHS = "0-11"
PROXIES = "params,flops,naswot,synflow"
MODES = {
    "in-process": [],
    "workers-2": ["--workers", "2"],
    "ray": ["--executor", "ray", "--workers", "2"],
}
KEY = "arch_index, dataset, proxy, seed, batch_size"


def command(store: Path, archs: str, proxies: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "zcbench.cli", "-q", "score", "--archs", archs, "--proxies",
        proxies, "--batch-size", "8", "--threads", "1", "--store", str(store), *extra,
    ]  # fmt: skip


def stored_rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute(f"SELECT {KEY}, status, value FROM results").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


def session(sid: int) -> list[int]:
    """Live processes of the session ``sid`` (the killed run's workers, Ray agents ...)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def integrity(db: Path) -> str:
    if not db.exists():
        return "ok"
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@dataclass
class ModeResult:
    mode: str
    reference_s: float = 0.0
    first_row_s: float = 0.0
    kills: int = 0
    mid_run: int = 0  # kills of a run that had stored some but not all of what it had to do
    finished_before_kill: int = 0
    orphans: int = 0
    cycles: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "OK" if not self.problems else "FAILED: " + "; ".join(self.problems[:5])
        return (
            f"{self.mode}: {self.kills} SIGKILLs ({self.mid_run} while scoring: after the run "
            f"stored some of its architectures) in {self.cycles} kill-and-rerun cycles, "
            f"{self.finished_before_kill} runs finished before their kill, "
            f"{self.orphans} orphaned processes killed; "
            f"uninterrupted run {self.reference_s:.1f} s (first row at {self.first_row_s:.1f} "
            f"s); {verdict}"
        )


def timed_run(cmd: list[str], db: Path) -> tuple[float, float]:
    """Run to completion; (seconds, seconds until the first row was stored)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    while proc.poll() is None:
        if first is None and stored_rows(db):
            first = time.monotonic() - start
        time.sleep(0.1)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.read()[-2000:]}")
    total = time.monotonic() - start
    return total, first if first is not None else total


def kill_run(
    cmd: list[str], delay: float, result: ModeResult, after_row: Path | None = None
) -> bool:
    """Start ``cmd``; SIGKILL it ``delay`` s after it starts (``after_row``: after it stores
    its first architecture into that store, or 120 s). True if killed, False if it finished."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    if after_row is not None:
        before, deadline = len(stored_rows(after_row)), time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if len(stored_rows(after_row)) > before:
                break
            time.sleep(0.05)
    try:
        rc = proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 3
        while session(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in session(proc.pid):
            result.orphans += 1
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return True
    if rc != 0:
        result.problems.append(f"a run exited with {rc}")
    return False


def check_partial(db: Path, proxies: int, result: ModeResult, where: str) -> int:
    if (ok := integrity(db)) != "ok":
        result.problems.append(f"{where}: integrity_check {ok}")
    rows = stored_rows(db)
    per_arch = Counter(r[0] for r in rows)
    if any(n != proxies for n in per_arch.values()):
        result.problems.append(f"{where}: an architecture stored in part")
    return len(rows)


def check_complete(db: Path, reference: list[tuple], result: ModeResult, where: str) -> None:
    rows = stored_rows(db)
    keys = Counter(r[:5] for r in rows)
    if any(n != 1 for n in keys.values()):
        result.problems.append(f"{where}: a result stored more than once")
    if set(keys) != {r[:5] for r in reference}:
        result.problems.append(f"{where}: {len(set(keys))} of {len(reference)} results stored")
    if {r[5] for r in rows} != {"ok"}:
        result.problems.append(f"{where}: statuses {sorted({r[5] for r in rows})}")
    if sorted(rows) != sorted(reference):  # bit-identical floats (SQLite REAL round-trips)
        result.problems.append(f"{where}: values differ from the uninterrupted run")


def run_mode(
    mode: str,
    kills: int,
    workdir: Path,
    *,
    seed: int = 0,
    archs: str = ARCHS,
    proxies: str = PROXIES,
    per_cycle: int = 5,
    reference: list[tuple] | None = None,
    address: str | None = None,
) -> ModeResult:
    """At least ``kills`` SIGKILLs of ``mode`` runs; ``reference``: the one-process rows."""
    rng = random.Random(f"{seed}-{mode}")
    extra = MODES[mode] + (["--address", address] if address else [])
    result = ModeResult(mode)
    n_proxies = len(proxies.split(","))
    uninterrupted = workdir / f"{mode}-uninterrupted.db"
    result.reference_s, result.first_row_s = timed_run(
        command(uninterrupted, archs, proxies, extra), uninterrupted
    )
    reference = reference if reference is not None else stored_rows(uninterrupted)
    check_complete(uninterrupted, reference, result, "uninterrupted")
    scoring = result.reference_s - result.first_row_s  # from the first stored row to the end
    while result.kills < kills:
        result.cycles += 1
        db = workdir / f"{mode}-cycle{result.cycles}.db"
        for i in range(per_cycle):
            before = len(stored_rows(db))
            # alternately at a random moment of the whole run, and of its scoring after it
            # stored its first architecture (a rerun can take long to start: Ray's actors wait
            # until the cluster has reaped the killed driver's)
            if i % 2:
                delay, after_row = rng.uniform(0, scoring), db
            else:
                delay, after_row = rng.uniform(0.5 * result.first_row_s, result.reference_s), None
            if not kill_run(command(db, archs, proxies, extra), delay, result, after_row):
                result.finished_before_kill += 1
                break
            result.kills += 1
            after = check_partial(db, n_proxies, result, f"cycle {result.cycles}")
            result.mid_run += before < after < len(reference)
        if kill_run(command(db, archs, proxies, extra), 3600, result):  # the rerun to the end
            result.problems.append("a rerun did not finish")
        check_complete(db, reference, result, f"cycle {result.cycles}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per mode (default 20)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for result.txt")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    lines = [
        f"chaos: {ARCHS} nb201 architectures x {PROXIES}, batch 8, 1 thread per process, "
        f"seed {args.seed}, at least {args.kills} SIGKILLs per mode"
    ]
    print(lines[0], flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="zcbench-chaos-") as tmp:
        workdir = Path(tmp)
        reference_db = workdir / "reference.db"
        seconds, _ = timed_run(command(reference_db, ARCHS, PROXIES, []), reference_db)
        reference = stored_rows(reference_db)
        line = f"reference: {len(reference)} results, one process, {seconds:.1f} s"
        print(line, flush=True)
        lines.append(line)
        for mode in modes:
            address = None
            if mode == "ray":
                import ray

                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                address = ray.get_runtime_context().gcs_address
            start = time.monotonic()
            try:
                result = run_mode(
                    mode, args.kills, workdir, seed=args.seed, reference=reference, address=address
                )
            finally:
                if address:
                    ray.shutdown()
            line = result.line() + f"; mode took {time.monotonic() - start:.0f} s"
            print(line, flush=True)
            lines.append(line)
            failed |= bool(result.problems)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "result.txt").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
