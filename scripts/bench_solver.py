#!/usr/bin/env python
"""Time the mixture solve on a paper-sized problem with random Dirichlet data.

    python scripts/bench_solver.py [--sims 25 --facets 6 --k 500 --repeats 5]

"cold" includes building and compiling the cvxpy problem (what a fit on new
data, e.g. a bootstrap replicate, pays); "warm" re-solves the cached problem
(what a change of bounds / budget on the same data pays). Medians after one
warm-up run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from ensemble.mixture import optimizer as opt  # noqa: E402


def make_data(S, F, k, seed, alpha):
    rng = np.random.default_rng(seed)
    P = {f"facet{j}": rng.dirichlet(np.full(k, alpha), size=S) for j in range(F)}
    q = {f"facet{j}": rng.dirichlet(np.full(k, alpha)) for j in range(F)}
    return P, q, [f"sim{i:02d}" for i in range(S)]


def timed(fn, repeats, cold):
    times, res = [], None
    fn()                                           # warm-up (imports, first compile)
    for _ in range(repeats):
        if cold:
            opt.clear_cache()
        t = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=25)
    ap.add_argument("--facets", type=int, default=6)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--alpha", type=float, default=1.0, help="Dirichlet concentration")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--K", type=int, default=3, help="max_simulators for the greedy run")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    P, q, names = make_data(args.sims, args.facets, args.k, args.seed, args.alpha)
    print(f"{args.sims} simulators x {args.facets} facets x k={args.k}, "
          f"Dirichlet({args.alpha}), median of {args.repeats} after warm-up")
    for div in opt.DIVERGENCES:
        for cold in (True, False):
            t, r = timed(lambda: opt.solve_mixture(P, q, names, divergence=div), args.repeats, cold)
            print(f"  {div:<10} {'cold' if cold else 'warm'}: {t:7.3f} s   "
                  f"objective {r.objective:.6f} {r.units}  solver {r.solver}  status {r.status}  "
                  f"duality gap {r.duality_gap:.1e}  FW gap {r.fw_gap:.1e}  "
                  f"support {len(r.support)}")
    reps = max(1, args.repeats // 2)
    plain = opt._constraints(names, 0.0, 1.0, (), (), None, None, 0.0)
    for K in (args.K, 2):
        n_supports = opt._n_supports(plain, K)
        for div in opt.DIVERGENCES:
            t, r = timed(lambda: opt.solve_mixture(P, q, names, divergence=div, max_simulators=K),
                         reps, cold=True)
            print(f"  {div:<10} max_simulators={K} ({n_supports} supports -> {r.method}): "
                  f"{t:7.3f} s   {r.n_solves} support solves   objective {r.objective:.6f} "
                  f"{r.units}  FW gap {r.fw_gap:.1e}  support {r.support}")


if __name__ == "__main__":
    main()
