"""How long `ensemble-fit plan` takes on the demo, and what a round of the
sequential loop (pilot -> plan -> generate -> plan again) costs.

Each step is a fresh subprocess of the CLI with one cache folder:
  1. cold:   the demo pilot (200 per simulator, 600 real users), empty cache;
  2. warm:   the same again (descriptions, embeddings and codebooks cached);
  3. round 2: the simulators' conversations grown to what round 1 recommended
     (the demo generator writes the same first conversations and new ones
     after them), planned with the remaining budget: only the new
     conversations are described and embedded.
Prints wall times and the 1-minute load average next to each (the machine
may be shared).

    .venv/bin/python scripts/bench_plan.py --work /tmp/bench-plan [--budget 1400 --rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_plan(data: Path, out: Path, cache: Path, budget: float, rounds: int) -> float:
    cmd = [sys.executable, "-m", "ensemble.cli", "plan", "--data", str(data), "--out", str(out),
           "--cache", str(cache), "--budget", f"{budget:g}", "--rounds", str(rounds), "--quiet"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"plan failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
    return wall


def grown_demo(folder: Path, recommended: dict[str, int], base_n: int, n_real: int) -> Path:
    """The demo with each simulator grown by its recommendation (real users unchanged)."""
    from ensemble.demo.generator import PERSONAS, generate_source, write_demo
    write_demo(folder, n_per_simulator=base_n, n_real=n_real)
    for sim, extra in recommended.items():
        if extra and sim in PERSONAS:
            convs = generate_source(sim, base_n + extra, "A", 0, source=sim)
            (folder / f"{sim}.jsonl").write_text(
                "\n".join(json.dumps(c.to_record(), ensure_ascii=False) for c in convs) + "\n")
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (data, outputs, cache)")
    ap.add_argument("--budget", type=float, default=1400)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep-cache", action="store_true", help="do not empty the cache first (no cold run)")
    args = ap.parse_args(argv)
    from ensemble.demo.generator import write_demo
    work = args.work
    cache = work / "cache"
    if cache.exists() and not args.keep_cache:
        shutil.rmtree(cache)
    data = write_demo(work / "pilot", n_per_simulator=200, n_real=600)
    rows = []
    if not args.keep_cache:
        rows.append(("cold (empty cache)", run_plan(data, work / "out1", cache, args.budget, args.rounds),
                     os.getloadavg()[0]))
    rows.append(("warm", run_plan(data, work / "out1", cache, args.budget, args.rounds), os.getloadavg()[0]))
    plan1 = json.loads((work / "out1" / "plan.json").read_text())
    rec = {s: r["recommended_additional"] for s, r in plan1["simulators"].items()}
    grown = grown_demo(work / "round2", rec, 200, 600)
    remaining = plan1["rounds"]["remaining_after_this_round"]
    rows.append((f"round 2 (+{sum(rec.values())} new conversations)",
                 run_plan(grown, work / "out2", cache, remaining, max(1, args.rounds - 1)), os.getloadavg()[0]))
    plan2 = json.loads((work / "out2" / "plan.json").read_text())
    print(f"{'step':<40} {'wall s':>8} {'load':>6}")
    for name, wall, load in rows:
        print(f"{name:<40} {wall:>8.1f} {load:>6.1f}")
    print("round 1 recommended: " + ", ".join(f"{s} +{n}" for s, n in rec.items() if n))
    print("round 2 recommended: " + ", ".join(f"{s} +{r['recommended_additional']}"
                                              for s, r in plan2["simulators"].items() if r["recommended_additional"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
