"""Many sources: the size of measure.json and the time of the report stage.

Generates (or reuses) a workload of `--sources` sources with `--n`
conversations each (`gen_paper_scale.py`), measures it through the API with
light settings (`--allow-small`: sources this small would otherwise read
"too few"), fits the mixture, then times each part of the report:

  explain     explain.json (cluster labels, statuses per simulator and facet)
  simmap      simmap.json (tree, extreme and complementary pairs)
  blocks      the report's blocks and figures
  write       write_report with the in-memory measurement (what `run` does)
  from files  `ensemble-fit report DIR` (everything read back from disk)

and prints the sizes of measure.json and pairwise.npz. Issue 21's target:
the report under a minute at 2,000 sources.

    .venv/bin/python scripts/bench_report_scale.py --sources 2001 --n 6
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _timed(label: str, fn, times: dict):
    t0 = time.perf_counter()
    out = fn()
    times[label] = time.perf_counter() - t0
    print(f"  {label:<22} {times[label]:8.1f} s", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=2001, help="sources incl. real users (default 2001)")
    ap.add_argument("--n", type=int, default=6, help="conversations per source (default 6)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ensemble-fit-report-bench"))
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default OUT/cache)")
    ap.add_argument("--facets", default=None, help="comma-separated facets (default: all)")
    args = ap.parse_args(argv)

    import ensemble
    import measure
    from ensemble.report import render
    from ensemble.report import simmap as simmap_mod
    from ensemble.report.explain import explain as explain_measurement
    from measure.outputs import PAIRWISE_INLINE_MAX

    data = args.out / f"data-{args.sources}x{args.n}"
    if not data.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_paper_scale.py"), "--out", str(data),
                        "--n", str(args.n), "--sources", str(args.sources)], check=True, stdout=subprocess.DEVNULL)
    run_dir = args.out / "run"
    cache = args.cache or args.out / "cache"
    times: dict[str, float] = {}
    print(f"{args.sources} sources x {args.n} conversations ({data})")
    ds = _timed("load", lambda: measure.load_conversations([data], real=["real"]), times)
    kw = {"facets": tuple(args.facets.split(","))} if args.facets else {}
    mconf = measure.MeasureConfig(seed=0, heldout_fraction=0.3, n_bootstrap=2, n_codebook_seeds=1,
                                  allow_small=True, **kw)
    m = _timed("measure", lambda: measure.measure_gap(ds, mconf, cache_dir=cache), times)
    mix = _timed("fit", lambda: ensemble.fit_mixture(m, ensemble.FitConfig(weight_bootstrap=0, per_task=False)),
                 times)
    run_dir.mkdir(parents=True, exist_ok=True)
    _timed("write measure outputs", lambda: m.write(run_dir), times)
    mix.to_json(run_dir / "weights.json")
    weights = dict(mix.weights)
    explain = _timed("report: explain", lambda: explain_measurement(m, weights), times)
    smap = _timed("report: simmap", lambda: simmap_mod.from_measurement(m), times)
    mdoc = json.loads((run_dir / "measure.json").read_text())
    if "file" in mdoc["pairwise"]:
        from measure.outputs import read_pairwise
        mdoc = {**mdoc, "pairwise": read_pairwise(mdoc, run_dir, per_facet=False)}
    wdoc = json.loads((run_dir / "weights.json").read_text())
    _timed("report: blocks+plots", lambda: render.report_blocks(mdoc, wdoc, explain, smap), times)
    _timed("report (run: in memory)", lambda: render.write_report(run_dir, measurement=m, outcome=mix.outcome),
           times)
    _timed("report (from files)", lambda: render.write_report(run_dir), times)
    sizes = {p.name: p.stat().st_size for p in sorted(run_dir.iterdir()) if p.is_file()}
    print("\nfiles:")
    for name, size in sizes.items():
        print(f"  {name:<22} {size / 2**20:8.2f} MiB")
    print(f"\npairwise matrices inline up to {PAIRWISE_INLINE_MAX} sources; "
          f"report stages: run {times['report (run: in memory)']:.1f} s, "
          f"from files {times['report (from files)']:.1f} s (target < 60 s)")
    (args.out / "bench.json").write_text(json.dumps({"sources": args.sources, "n": args.n, "times_s": times,
                                                     "sizes_bytes": sizes}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
