"""Side by side on the same embeddings: shared codebook vs. per-pair clustering vs. MAUVE.

All three methods read the embeddings of the pipeline's `Prepared` table (the
rule-based facet descriptions embedded with the pipeline's model and cache),
so only the quantization and the score differ:

  ours      one balanced PCA + k-means codebook per facet, shared by all
            sources (exactly the pipeline's `fit_labels`: fit on the distinct
            description texts with summed balance weights), then JS (bits)
            between real users and each simulator. A whole table costs one
            codebook per facet.
  per-pair  the reference method (Mehri et al. 2026): for every (real,
            simulator) pair and facet, stack the two sources' embeddings (one
            row per conversation), PCA to 90% variance, k-means with k=500
            (capped at the number of distinct rows), JS on the two
            histograms. k-means: sklearn KMeans (lloyd, n_init=1, max_iter
            300) by default, or `--kmeans faiss` with the reference's 5
            restarts and 500 iterations. A table costs one fit per
            (simulator, facet).
  mauve     `mauve.compute_mauve(p_features=real, q_features=simulator)` per
            pair and facet (its own PCA + faiss k-means, n/10 buckets);
            the gap is 1 - MAUVE.

The overall score of a simulator is the mean over facets. For each method:
the wall and CPU time of one full table; then the stability of the ranking
over `--boot` bootstrap resamples (conversations resampled within every
source, everything refit) and over `--seeds` clustering seeds: Kendall tau
between the rankings of every two replicates, and each simulator's score std
(also relative to the spread of scores between simulators, which makes the
methods' different scales comparable). "ours (fixed codebook)" is the
pipeline's own bootstrap: the codebook is kept and only histograms are
resampled.

BLAS/OpenMP are limited to one thread for every method (`ENSEMBLE_FIT_THREADS`
as in the pipeline), so the comparison is per core. The per-pair method and
MAUVE cost grows with the number of simulators; with `--pair-sims N` they run
on the first N simulators only and their full-table time is extrapolated
linearly (the cost per pair does not depend on the number of pairs).

    .venv/bin/python scripts/compare_methods.py --data data/paper-scale --cache CACHE
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from measure import divergence as dv  # noqa: E402
from measure.codebook import Codebook  # noqa: E402
from measure.distributions import histogram  # noqa: E402
from measure.pipeline import REAL, blas_threads, fit_labels, prepare  # noqa: E402


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau
    return float(kendalltau(a, b).statistic)


class Clock:
    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


# ------------------------------------------------------------------ methods

def ours_table(prep, facets, sims, k, seed, rows_by_source, clock: Clock | None = None,
               labels_out: dict | None = None) -> np.ndarray:
    """(len(sims),) overall JS with one shared codebook per facet fit on `rows_by_source`."""
    scores = np.zeros(len(sims))
    names = [REAL] + sims
    for f in facets:
        col = prep.table.columns[f]
        with clock or Clock():
            # The pipeline's pool weights: every source weighs the same in total,
            # summed over the rows that share a description text.
            w = np.zeros(len(col.texts))
            for s in names:
                r = rows_by_source[s]
                w += np.bincount(col.index[r], minlength=len(col.texts)) / len(r)
            used = np.flatnonzero(w > 0)
            book = Codebook(n_clusters=k, pca_variance=0.9, random_state=seed)
            book.fit(col.embeddings[used], sample_weight=w[used] * (sum(len(rows_by_source[s]) for s in names)
                                                                   / len(names)))
            lab = book.predict(col.embeddings)
            kk = book.n_clusters_
            if labels_out is not None:
                labels_out[f] = lab[col.index]
            real = histogram(lab[col.index[rows_by_source[REAL]]], kk)
            for i, s in enumerate(sims):
                scores[i] += dv.js(real, histogram(lab[col.index[rows_by_source[s]]], kk))
    return scores / len(facets)


def ours_fixed_bootstrap(labels, facets, sims, k_eff, rows_by_source) -> np.ndarray:
    """JS with the codebook fixed (labels given), histograms of resampled rows."""
    scores = np.zeros(len(sims))
    for f in facets:
        real = histogram(labels[f][rows_by_source[REAL]], k_eff[f])
        for i, s in enumerate(sims):
            scores[i] += dv.js(real, histogram(labels[f][rows_by_source[s]], k_eff[f]))
    return scores / len(facets)


def _pca90(X: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    X = X.astype(np.float32)
    pca = PCA(n_components=0.9, svd_solver="full", random_state=seed)
    return np.ascontiguousarray(pca.fit_transform(X), dtype=np.float32)


def _kmeans_labels(Z: np.ndarray, k: int, seed: int, backend: str) -> np.ndarray:
    k = min(k, len(np.unique(Z, axis=0)))
    if backend == "faiss":
        import faiss
        km = faiss.Kmeans(Z.shape[1], k, niter=500, nredo=5, seed=seed + 42, verbose=False)
        km.train(Z)
        return km.index.search(Z, 1)[1].ravel()
    from sklearn.cluster import KMeans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KMeans(n_clusters=k, n_init=1, max_iter=300, random_state=seed, algorithm="lloyd").fit_predict(Z)


def perpair_table(prep, facets, sims, k, seed, rows_by_source, backend: str, clock: Clock | None = None
                  ) -> np.ndarray:
    scores = np.zeros(len(sims))
    for f in facets:
        col = prep.table.columns[f]
        xr = col.embeddings[col.index[rows_by_source[REAL]]]
        for i, s in enumerate(sims):
            with clock or Clock():
                xs = col.embeddings[col.index[rows_by_source[s]]]
                lab = _kmeans_labels(_pca90(np.vstack([xr, xs]), seed), k, seed, backend)
                kk = int(lab.max()) + 1
                scores[i] += dv.js(histogram(lab[:len(xr)], kk), histogram(lab[len(xr):], kk))
    return scores / len(facets)


def mauve_table(prep, facets, sims, seed, rows_by_source, clock: Clock | None = None, redo: int = 5,
                max_iter: int = 500) -> np.ndarray:
    import mauve
    scores = np.zeros(len(sims))
    for f in facets:
        col = prep.table.columns[f]
        xr = col.embeddings[col.index[rows_by_source[REAL]]]
        for i, s in enumerate(sims):
            with clock or Clock():
                xs = col.embeddings[col.index[rows_by_source[s]]]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = mauve.compute_mauve(p_features=xr, q_features=xs, seed=seed + 25, verbose=False,
                                              kmeans_num_redo=redo, kmeans_max_iter=max_iter)
                scores[i] += 1.0 - float(out.mauve)
    return scores / len(facets)


# ---------------------------------------------------------------- stability

def stability(tables: list[np.ndarray]) -> dict | None:
    if len(tables) < 2:
        return None
    T = np.vstack(tables)  # (replicates, sims)
    taus = [kendall_tau(T[a], T[b]) for a, b in itertools.combinations(range(len(T)), 2)]
    std = T.std(axis=0, ddof=1) if len(T) > 1 else np.zeros(T.shape[1])
    spread = float(T.mean(axis=0).std(ddof=1))  # between-simulator spread of the mean score
    return {"replicates": len(T), "tau_mean": float(np.mean(taus)) if taus else None,
            "tau_min": float(np.min(taus)) if taus else None,
            "score_std_mean": float(std.mean()), "score_std_max": float(std.max()),
            "std_over_spread": float(std.mean() / spread) if spread > 0 else None}


def resample(rows_by_source: dict, rng: np.random.Generator) -> dict:
    return {s: rng.choice(r, size=len(r), replace=True) for s, r in rows_by_source.items()}


# --------------------------------------------------------------------- main

def load_prepared(data: list[Path], cache: Path):
    from measure.embed import Embedder
    from measure.facets.offline import RuleFacetExtractor
    from measure.loaders import load_dataset
    ds = load_dataset([str(p) for p in data])
    return prepare(ds.conversations, ds.real_sources, ds.simulators, RuleFacetExtractor(),
                   Embedder(cache_dir=cache), ("requests", "context", "responses", "style", "dialogue_acts"),
                   cache_dir=cache)


def fmt_table(rows: list[dict]) -> str:
    out = ["| method | sims timed | full-table wall | full-table CPU | CPU ratio vs ours | "
           "seed tau mean (min) | seed std/spread | boot tau mean (min) | boot std/spread |",
           "|---|---:|---:|---:|---:|---|---:|---|---:|"]
    ours_cpu = next((r["table_cpu_s"] for r in rows if r["method"] == "ours"), None)

    def tau(st):
        return "-" if not st or st.get("tau_mean") is None else f"{st['tau_mean']:.3f} ({st['tau_min']:.3f})"

    def rel(st):
        return "-" if not st or st.get("std_over_spread") is None else f"{st['std_over_spread']:.3f}"
    for r in rows:
        ratio = "-" if not ours_cpu or r.get("table_cpu_s") is None else f"{r['table_cpu_s'] / ours_cpu:.1f}x"
        wall = "-" if r.get("table_wall_s") is None else f"{r['table_wall_s']:.1f}s" + (" (extrap.)" if r.get("extrapolated") else "")
        cpu = "-" if r.get("table_cpu_s") is None else f"{r['table_cpu_s']:.1f}s" + (" (extrap.)" if r.get("extrapolated") else "")
        out.append(f"| {r['method']} | {r.get('sims_timed', '-')} | {wall} | {cpu} | {ratio} | "
                   f"{tau(r.get('seeds'))} | {rel(r.get('seeds'))} | {tau(r.get('boot'))} | {rel(r.get('boot'))} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--cache", type=Path, default=None, help="ensemble-fit cache (default: the CLI's)")
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--facets", default="requests,context,responses,style,dialogue_acts")
    ap.add_argument("--methods", default="ours,perpair,mauve")
    ap.add_argument("--kmeans", choices=["sklearn", "faiss"], default="sklearn",
                    help="per-pair k-means: sklearn KMeans n_init=1 (default) or faiss 5 restarts x 500 iterations")
    ap.add_argument("--pair-sims", type=int, default=None,
                    help="run per-pair and MAUVE on the first N simulators only (time extrapolated)")
    ap.add_argument("--seeds", type=int, default=3, help="clustering seeds for the seed stability")
    ap.add_argument("--boot", type=int, default=5, help="bootstrap resamples for the resampling stability")
    ap.add_argument("--stab-sims", type=int, default=None,
                    help="stability of per-pair/MAUVE on the first N simulators (default: --pair-sims)")
    ap.add_argument("--mauve-redo", type=int, default=5)
    ap.add_argument("--mauve-iter", type=int, default=500)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    from ensemble.cli.settings import default_cache_dir
    cache = args.cache or default_cache_dir()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    facets = [f.strip() for f in args.facets.split(",") if f.strip()]
    t0 = time.perf_counter()
    prep = load_prepared(args.data, cache)
    print(f"prepared {len(prep.conversations)} conversations, {len(prep.simulators)} simulators "
          f"({time.perf_counter() - t0:.0f}s; load avg {os.getloadavg()[0]:.1f})", flush=True)
    sims_all = list(prep.simulators)
    n_pair = min(args.pair_sims or len(sims_all), len(sims_all))
    n_stab = min(args.stab_sims or n_pair, len(sims_all))
    rows = {s: prep.rows_of(s) for s in [REAL] + sims_all}
    results = []
    with blas_threads():
        try:
            import faiss
            faiss.omp_set_num_threads(int(os.environ.get("ENSEMBLE_FIT_THREADS", "1")))
        except ImportError:
            pass
        if "ours" in methods:
            clk = Clock()
            mine: dict = {}
            base = ours_table(prep, facets, sims_all, args.k, 0, rows, clk, labels_out=mine)
            r = {"method": "ours", "sims_timed": len(sims_all), "table_wall_s": clk.wall, "table_cpu_s": clk.cpu,
                 "scores": dict(zip(sims_all, base.tolist()))}
            # The pipeline's own fit_labels must give the very same labels.
            labels, keff = {}, {}
            for f in facets:
                labels[f], keff[f] = fit_labels(prep, f, args.k, 0, 0.9)
            r["same_labels_as_pipeline"] = all(np.array_equal(labels[f], mine[f]) for f in facets)
            print(f"ours: {clk.wall:.1f}s wall, {clk.cpu:.1f}s CPU; labels identical to the pipeline's "
                  f"fit_labels: {r['same_labels_as_pipeline']}", flush=True)
            r["seeds"] = stability([base] + [ours_table(prep, facets, sims_all, args.k, s, rows)
                                             for s in range(1, args.seeds)])
            rng = np.random.default_rng(123)
            boots = [resample(rows, rng) for _ in range(args.boot)]
            r["boot"] = stability([ours_table(prep, facets, sims_all, args.k, 0, b) for b in boots])
            # the pipeline's bootstrap: codebook fixed, histograms resampled
            fixed = {"method": "ours (fixed codebook)",
                     "boot": stability([ours_fixed_bootstrap(labels, facets, sims_all, keff, b) for b in boots])}
            # restricted to the simulators the other methods' stability uses
            sub = {"method": f"ours, first {n_stab} sims",
                   "seeds": stability([ours_table(prep, facets, sims_all[:n_stab], args.k, s, rows)
                                       for s in range(args.seeds)]),
                   "boot": stability([ours_table(prep, facets, sims_all[:n_stab], args.k, 0, b) for b in boots])}
            results += [r, fixed, sub]
            print(fmt_table(results), flush=True)
        for m in methods:
            if m not in ("perpair", "mauve"):
                continue
            sims = sims_all[:n_pair]
            clk = Clock()
            if m == "perpair":
                def table(sims_, seed, rws, clock=None):
                    return perpair_table(prep, facets, sims_, args.k, seed, rws, args.kmeans, clock)
            else:
                def table(sims_, seed, rws, clock=None):
                    return mauve_table(prep, facets, sims_, seed, rws, clock, args.mauve_redo, args.mauve_iter)
            base = table(sims, 0, rows, clk)
            scale = len(sims_all) / len(sims)
            name = (f"mauve (redo {args.mauve_redo}, iter {args.mauve_iter})" if m == "mauve"
                    else f"per-pair ({args.kmeans})")
            r = {"method": name, "sims_timed": len(sims), "stability_sims": n_stab, "table_wall_s": clk.wall * scale,
                 "table_cpu_s": clk.cpu * scale, "extrapolated": len(sims) < len(sims_all),
                 "scores": dict(zip(sims, base.tolist()))}
            print(f"{name}: {len(sims)} simulators in {clk.wall:.0f}s wall / {clk.cpu:.0f}s CPU "
                  f"(load avg {os.getloadavg()[0]:.1f})", flush=True)
            stab_sims = sims_all[:n_stab]
            first = base[:n_stab] if n_stab <= len(sims) else table(stab_sims, 0, rows)
            seed_tabs = [first] + [table(stab_sims, s, rows) for s in range(1, args.seeds)]
            r["seeds"] = stability(seed_tabs)
            rng = np.random.default_rng(123)
            boots = [resample(rows, rng) for _ in range(args.boot)]
            r["boot"] = stability([table(stab_sims, 0, b) for b in boots])
            results.append(r)
            print(fmt_table(results), flush=True)
    # agreement of the rankings between methods
    scored = [r for r in results if "scores" in r]
    agree = {}
    for a, b in itertools.combinations(scored, 2):
        common = [s for s in a["scores"] if s in b["scores"]]
        if len(common) > 2:
            agree[f"{a['method']} vs {b['method']}"] = kendall_tau(
                np.array([a["scores"][s] for s in common]), np.array([b["scores"][s] for s in common]))
    print("\n" + fmt_table(results))
    print("\nKendall tau between the methods' rankings (same simulators): "
          + ", ".join(f"{k} {v:.3f}" for k, v in agree.items()))
    print(f"\nload average at the end: {os.getloadavg()}")
    if args.out:
        args.out.write_text(json.dumps({"results": results, "agreement": agree, "args": vars(args)},
                                       indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
