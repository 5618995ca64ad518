"""NASWOT's protocol (the best of N uniform architectures by a proxy) estimated by resampling
the proxy scores already stored for a uniform random pool of architectures.

Every run of ``zcbench search --searcher zc:n=N --budget 1`` scores N fresh uniform
architectures; the union of the architectures scored so far (seeded permutation prefixes) is
itself a uniform random sample of the space. Drawing N of them without replacement and taking
the best by the proxy is therefore a draw from the same protocol, without scoring anything
new. Draws share architectures, so they are not independent runs: the mean is a good estimate,
the spread is that of the protocol, but no interval of the mean is claimed from them.

    .venv/bin/python reports/search/zc/best_of_n.py --store reports/search/zc/proxies.db \
        --proxy naswot --n 10 100 1000 --draws 1000
"""

from __future__ import annotations

import argparse

import numpy as np

from zcbench.engine.store import ResultStore
from zcbench.proxies import resolve_proxies
from zcbench.tables.benchmarks import load_nb201_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--proxy", default="naswot")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="the proxies' seed (scoring)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sampling", default="random")
    ap.add_argument("--metric", default="test_acc_200ep")
    args = ap.parse_args()

    (spec,) = resolve_proxies(args.proxy)
    rows = ResultStore(args.store).lookup(
        space="nb201", dataset=args.dataset, seed=args.seed, batch_size=args.batch_size,
        sampling=args.sampling, versions={spec.name: spec.version},
    )
    index = np.array([r[0] for r in rows])
    # signed (higher is better); a recorded failure ranks last, as in the searchers
    value = np.array([r[2] if r[3] == "ok" and r[2] is not None else np.nan for r in rows])
    signed = value if spec.higher_is_better else -value
    signed = np.where(np.isfinite(signed), signed, -np.inf)
    acc = load_nb201_table().get(args.dataset, args.metric, index.tolist()).to_numpy()
    print(
        f"{spec.name}: {len(index):,} stored architectures ({int(np.isinf(signed).sum())} failed), "
        f"{args.dataset} {args.metric}; {args.draws} draws per N"
    )
    print("| N | draws | mean +- std of the chosen architecture's accuracy |")
    print("|---|---|---|")
    rng = np.random.default_rng(0)
    for n in args.n:
        if n > len(index):
            print(f"| {n} | - | needs at least {n} stored architectures |")
            continue
        chosen = []
        for _ in range(args.draws):
            pick = rng.choice(len(index), size=n, replace=False)
            chosen.append(acc[pick[np.argmax(signed[pick])]])
        chosen = np.array(chosen)
        print(f"| {n} | {args.draws} | {chosen.mean():.2f} +- {chosen.std(ddof=1):.2f} |")


if __name__ == "__main__":
    main()
