"""Is the measurement unchanged by a faster representation? (issue 20, goal 1)

Measures the same data twice, with the reference representation (every
rule description embedded whole, `ENSEMBLE_FIT_EMBED_COMPOSE=off`, the
default until `acts` passed this check) and a candidate (`--candidate acts`,
now the default: dialogue_acts descriptions composed from cached phrase
embeddings; `phrases`: every behaviour facet),
and prints for every data set:

- Kendall tau between the two simulator rankings (target >= 0.98);
- the largest change of a simulator's overall gap, in bits (target <= 0.01),
  beside the bootstrap CI width and the noise floor for scale;
- the largest change per facet;

and, with `--demo`, the planted mixture recovery of `run` on the demo data
(L1 distance between fitted and planted weights, target <= 0.05) under
both representations.

    .venv/bin/python scripts/check_quality.py --data data/paper-scale \\
        --data data/sharegpt-scale --cache /tmp/q-cache --demo

Both representations share `--cache` (facet table, phrase and text
embeddings, codebooks), so a second call is fast. `--out FILE` keeps the
figures as JSON. Env overrides (e.g. ENSEMBLE_FIT_EMBED_PRECISION) apply
to both sides.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from measure.compose import COMPOSE_ENV  # noqa: E402

SIDES = {"reference": "off", "candidate": "acts"}
TARGETS = {"tau": 0.98, "max_gap_change": 0.01, "l1": 0.05}


@contextlib.contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def merged_vs_fit(prep, cfg, k_fine: dict, ks: list[int], cache: Path) -> dict:
    """Overall gaps at each k in `ks` from direct k-means fits and from merges of the
    k_fine codebook (what sweep trials use): Kendall tau and largest gap change."""
    from scipy.stats import kendalltau

    from measure.pipeline import REAL, fit_labels, fit_labels_merged, overall_js, source_distributions
    fw = cfg.weights(prep.facets)
    out = {}
    for k in ks:
        gaps = {}
        for how in ("fit", "merged"):
            labels, kk = {}, {}
            for f in prep.facets:
                if how == "fit":
                    labels[f], kk[f] = fit_labels(prep, f, k, cfg.seed, cfg.pca_variance, cache_dir=cache)
                else:
                    labels[f], kk[f] = fit_labels_merged(prep, f, k, k_fine[f], cfg.seed, cfg.pca_variance,
                                                         cache_dir=cache)
            dist = source_distributions(prep, labels, kk)
            gaps[how] = {s: overall_js({f: dist[f][REAL] for f in prep.facets},
                                       {f: dist[f][s] for f in prep.facets}, fw) for s in prep.simulators}
        sims = sorted(gaps["fit"])
        out[k] = {"tau": float(kendalltau([gaps["fit"][s] for s in sims], [gaps["merged"][s] for s in sims]).statistic),
                  "max_gap_change": max(abs(gaps["fit"][s] - gaps["merged"][s]) for s in sims),
                  "mean_gap_fit": sum(gaps["fit"].values()) / len(sims),
                  "mean_gap_merged": sum(gaps["merged"].values()) / len(sims)}
    return out


def measure_side(conversations, real, sims, mode: str, cache: Path, bootstrap: int, seeds: int,
                 merged_ks: list[int] | None = None):
    """One measurement with ENSEMBLE_FIT_EMBED_COMPOSE=mode; returns (gaps, extras)."""
    from measure.embed import Embedder
    from measure.facets.base import BEHAVIOUR_FACETS
    from measure.facets.offline import RuleFacetExtractor
    from measure.pipeline import MeasureConfig, measure, prepare

    t0 = time.process_time()
    w0 = time.perf_counter()
    with _env(COMPOSE_ENV, mode):
        emb = Embedder(cache_dir=cache)
        prep = prepare(conversations, real, sims, RuleFacetExtractor(), emb, list(BEHAVIOUR_FACETS),
                       cache_dir=cache)
        cfg = MeasureConfig(n_bootstrap=bootstrap, n_codebook_seeds=seeds)
        if hasattr(cfg, "discriminator"):
            cfg.discriminator = False  # not part of the gap figures compared here
        m = measure(prep, cfg, cache_dir=cache)
    rows = {s: (m.gap[s].to_dict() if hasattr(m.gap[s], "to_dict") else m.gap[s]) for s in prep.simulators}
    gaps = {s: _js(rows[s]["overall"]) for s in prep.simulators}
    facets = {f: {s: _js(rows[s][f]) for s in prep.simulators} for f in prep.facets}
    ci = [_ci(rows[s]["overall"]) for s in prep.simulators]
    nf = getattr(m, "floor", None) or getattr(m, "noise_floor")
    floor = nf["overall"]["js"] if isinstance(nf, dict) else getattr(nf, "js", getattr(nf, "mean_overall", float("nan")))
    if merged_ks:
        merged_vs_fit_out = merged_vs_fit(prep, cfg, m.k, merged_ks, cache)
    else:
        merged_vs_fit_out = None
    return {"gaps": gaps, "facets": facets, "ci_width_median": float(sorted(ci)[len(ci) // 2]),
            "merged_vs_fit": merged_vs_fit_out,
            "noise_floor": float(floor), "encoded": emb.n_encoded,
            "distinct_texts": {f: len(c.texts) for f, c in prep.table.columns.items()},
            "cpu_s": round(time.process_time() - t0, 1), "wall_s": round(time.perf_counter() - w0, 1)}


def _js(g) -> float:
    return float(g["js"] if isinstance(g, dict) else g.js)


def _ci(g) -> float:
    lo, hi = g["js_ci"] if isinstance(g, dict) else g.js_ci
    return float(hi - lo)


def compare(ref: dict, cand: dict) -> dict:
    from scipy.stats import kendalltau
    sims = sorted(ref["gaps"])
    a = [ref["gaps"][s] for s in sims]
    b = [cand["gaps"][s] for s in sims]
    tau = float(kendalltau(a, b).statistic)
    diffs = {s: cand["gaps"][s] - ref["gaps"][s] for s in sims}
    worst = max(diffs, key=lambda s: abs(diffs[s]))
    per_facet = {f: max(abs(cand["facets"][f][s] - ref["facets"][f][s]) for s in sims) for f in ref["facets"]}
    return {"tau": tau, "max_gap_change": abs(diffs[worst]), "worst_simulator": worst,
            "mean_gap_change": sum(diffs.values()) / len(diffs), "max_facet_change": per_facet}


def demo_recovery(cache: Path, mode: str, demo_dir: Path) -> float:
    """L1 between `run`'s weights on the demo and the planted mixture."""
    out = Path(tempfile.mkdtemp(prefix=f"q-demo-{mode}-"))
    env = dict(os.environ, **{COMPOSE_ENV: mode})
    subprocess.run([sys.executable, "-m", "ensemble.cli", "run", "--data", str(demo_dir), "--out", str(out),
                    "--cache", str(cache), "--quiet", "--no-report"], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    w = json.loads((out / "weights.json").read_text())["weights"]
    truth = json.loads((demo_dir / "true_mixture.json").read_text())["expected_weights"]
    return float(sum(abs(w.get(s, 0.0) - truth.get(s, 0.0)) for s in set(w) | set(truth)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", type=Path, default=[], help="a data folder (repeatable)")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--demo", action="store_true", help="also the planted demo mixture recovery")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--codebook-seeds", type=int, default=1)
    ap.add_argument("--merged-k", default="", help="also compare the sweep's merged codebooks with "
                    "direct fits at these k (comma-separated), on the reference representation")
    ap.add_argument("--candidate", default="acts", choices=["phrases", "acts"],
                    help="composition to test: every behaviour facet, or dialogue_acts only")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    SIDES["candidate"] = args.candidate
    merged_ks = [int(x) for x in args.merged_k.split(",") if x.strip()]

    from measure.loaders import load_dataset

    report: dict = {"targets": TARGETS, "sets": {}, "load_avg_start": os.getloadavg()[0]}
    for data in args.data:
        ds = load_dataset(data)
        sides = {name: measure_side(ds.conversations, ds.real_sources, ds.simulators, mode, args.cache,
                                    args.bootstrap, args.codebook_seeds,
                                    merged_ks if name == "reference" else None)
                 for name, mode in SIDES.items()}
        cmp = compare(sides["reference"], sides["candidate"])
        report["sets"][str(data)] = {"n_conversations": len(ds.conversations), **cmp, "sides": sides}
        print(f"\n{data} ({len(ds.conversations):,} conversations, {len(ds.simulators)} simulators)")
        for name, side in sides.items():
            print(f"  {name:9} ({SIDES[name]}): texts encoded {side['encoded']:,}, cpu {side['cpu_s']} s, "
                  f"wall {side['wall_s']} s, noise floor {side['noise_floor']:.4f}, "
                  f"median CI width {side['ci_width_median']:.4f}")
        print(f"  Kendall tau of the ranking     {cmp['tau']:.3f}   (target >= {TARGETS['tau']})  "
              f"{'ok' if cmp['tau'] >= TARGETS['tau'] else 'MISSED'}")
        print(f"  largest overall-gap change     {cmp['max_gap_change']:.4f} bits ({cmp['worst_simulator']}; "
              f"target <= {TARGETS['max_gap_change']})  "
              f"{'ok' if cmp['max_gap_change'] <= TARGETS['max_gap_change'] else 'MISSED'}")
        print(f"  mean overall-gap change        {cmp['mean_gap_change']:+.4f} bits")
        print("  largest change per facet       " + ", ".join(f"{f} {v:.4f}" for f, v in cmp["max_facet_change"].items()))
        for k, r in (sides["reference"].get("merged_vs_fit") or {}).items():
            print(f"  sweep codebooks at k={k}: merged vs fit, ranking tau {r['tau']:.3f}, largest gap change "
                  f"{r['max_gap_change']:.4f} bits (mean gap {r['mean_gap_fit']:.4f} fit, {r['mean_gap_merged']:.4f} merged)")
    if args.demo:
        from ensemble.demo.generator import write_demo
        demo_dir = write_demo(Path(tempfile.mkdtemp(prefix="q-demo-data-")))
        rec = {name: demo_recovery(args.cache, mode, demo_dir) for name, mode in SIDES.items()}
        report["demo_l1"] = rec
        print("\nplanted demo mixture, L1 to the planted weights (target <= 0.05): "
              + ", ".join(f"{n} {v:.3f}" for n, v in rec.items())
              + ("  ok" if rec["candidate"] <= TARGETS["l1"] else "  MISSED"))
    report["load_avg_end"] = os.getloadavg()[0]
    print(f"\nload average (1 min): {report['load_avg_start']:.1f} at start, {report['load_avg_end']:.1f} at end")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
