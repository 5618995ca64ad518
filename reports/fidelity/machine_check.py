"""How much do stored proxy values, and the fidelity figures computed from them, depend on the
machine that scored them? Compares a committed store with a rescoring of some of its
architectures (the same proxy versions and configuration, another machine or thread count).

Per proxy, over the architectures both stores hold: how many values are bit-identical, the
largest relative difference, Spearman between the two stores' values, and the signed Spearman
of each against the ground truth with their paired difference (95% paired bootstrap).

    .venv/bin/zcbench score --dataset cifar10 \
        --archs "$(cat reports/fidelity/machine_check/archs.txt)" --proxies all \
        --seed 0 --batch-size 64 --store reports/fidelity/machine_check/rescore.db
    .venv/bin/python reports/fidelity/machine_check.py --a reports/fidelity/results.db \
        --b reports/fidelity/machine_check/rescore.db --dataset cifar10 \
        --out reports/fidelity/machine_check

(``archs.txt``: 200 of the seeded 1,000 CIFAR-10 architectures, drawn with
``random.Random(0).sample(sorted indexes, 200)``; ``rescore.db``: their rescoring on the
2-core CI machine, 2 threads, 994 s.)

``--across-versions`` compares a proxy's newest version in b with its newest in a (a speed-up
that moves values in the last bits bumps the version; this shows what the bump changed), for
the proxies b holds:

    .venv/bin/zcbench score --dataset cifar10 \
        --archs "$(cat reports/fidelity/machine_check/archs.txt)" --proxies zen \
        --seed 0 --batch-size 64 --store reports/fidelity/speed_check/rescore.db
    .venv/bin/python reports/fidelity/machine_check.py --a reports/fidelity/results.db \
        --b reports/fidelity/speed_check/rescore.db --dataset cifar10 --across-versions \
        --out reports/fidelity/speed_check
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.analysis.correlate import paired_spearman_difference, spearman
from zcbench.engine.store import ResultStore, compare_stores, environment_differences
from zcbench.proxies import get_proxy
from zcbench.tables.benchmarks import load_nb201_table


class _Rows:
    """A store's rows as :func:`compare_stores` reads them (its ``frame()``)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def frame(self) -> pd.DataFrame:
        return self._frame


def newest_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """Each proxy's rows at its newest stored version, the version column set to 0 so that
    two stores' rows of one proxy meet on the result key whatever their versions."""
    newest = frame.groupby("proxy")["proxy_version"].transform("max")
    frame = frame[frame["proxy_version"] == newest].copy()
    frame["proxy_version"] = 0
    return frame


def compare(
    a: str, b: str, dataset: str, target: str, across_versions: bool = False
) -> tuple[pd.DataFrame, dict]:
    with ResultStore(a) as sa, ResultStore(b) as sb:
        if across_versions:
            fa, fb = sa.frame(), sb.frame()
            versions_a = fa.groupby("proxy")["proxy_version"].max()
            versions_b = fb.groupby("proxy")["proxy_version"].max()
            fa = newest_versions(fa[fa["proxy"].isin(set(fb["proxy"]))])
            merged = compare_stores(_Rows(fa), _Rows(newest_versions(fb)))  # type: ignore[arg-type]
        else:
            merged = compare_stores(sa, sb)
    both = merged[(merged["where"] == "both") & (merged["dataset"] == dataset)]
    truth = load_nb201_table().get(dataset, target)
    rows = []
    for proxy, g in both.groupby("proxy"):
        ok = g[(g.status_a == "ok") & (g.status_b == "ok")]
        va, vb = ok.value_a.to_numpy(float), ok.value_b.to_numpy(float)
        sign = 1.0 if get_proxy(proxy).higher_is_better else -1.0
        y = truth.loc[ok.arch_index.to_numpy()].to_numpy(float)
        scale = np.maximum(np.abs(va), np.abs(vb))
        rel = np.divide(np.abs(va - vb), scale, out=np.zeros_like(va), where=scale > 0)
        diff, lo, hi = paired_spearman_difference(sign * vb, sign * va, y, n_boot=2000)
        versions = (
            {"version_a": int(versions_a[proxy]), "version_b": int(versions_b[proxy])}
            if across_versions
            else {}
        )
        rows.append(
            {
                "proxy": proxy,
                **versions,
                "n": len(g),
                "status_differs": int((g.status_a != g.status_b).sum()),
                "bit_identical": int(g.identical.sum()),
                "max_rel_diff": float(rel.max()) if len(rel) else np.nan,
                "median_rel_diff": float(np.median(rel)) if len(rel) else np.nan,
                "spearman_a_b": round(spearman(va, vb), 6),
                f"rho_a_{target}": round(sign * spearman(va, y), 4),
                f"rho_b_{target}": round(sign * spearman(vb, y), 4),
                "rho_b_minus_a": round(diff, 4),
                "ci_lo": round(lo, 4),
                "ci_hi": round(hi, 4),
            }
        )
    return pd.DataFrame(rows), environment_differences(both)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True, help="the committed store")
    ap.add_argument("--b", required=True, help="the rescoring")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--target", default="test_acc_200ep")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--across-versions",
        action="store_true",
        help="compare each proxy b holds at its newest version in each store (a bumped version "
        "against the committed one)",
    )
    args = ap.parse_args()
    table, env = compare(args.a, args.b, args.dataset, args.target, args.across_versions)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "machine_check.csv", index=False)
    n_archs = int(table.n.max()) if len(table) else 0
    settings = "; ".join(
        f"{k}: {', '.join(f'{a} vs {b}' for a, b in sorted(v))}" for k, v in env.items()
    )
    lines = [
        "# Bumped proxy versions against the fidelity store"
        if args.across_versions
        else "# Machine dependence of the fidelity store",
        "",
        f"`{args.a}` (a) against `{args.b}` (b): {n_archs} {args.dataset} architectures, "
        f"{len(table)} proxies. Recorded settings that differ: {settings or 'none'}.",
        "",
        f"rho: signed Spearman against `{args.target}` over the architectures both score; "
        "rho_b_minus_a with a 95% paired bootstrap interval (2,000 resamples of the "
        "architectures). bit_identical counts a failure stored by both as identical.",
        "",
        table.to_markdown(index=False, floatfmt=".3g"),
        "",
    ]
    (out / "machine_check.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
