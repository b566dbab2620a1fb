"""How long `ensemble-fit plan` takes on the demo, and what a round of the
sequential loop (pilot -> plan -> generate -> plan again) costs.

Each step is a fresh subprocess of the CLI with one cache folder:
  1. cold:   the demo pilot (200 per simulator, 600 real users), empty cache;
  2. warm:   the same again (descriptions, embeddings and codebooks cached);
  3. round 2: the pilot plus round 1's recommended conversations (new ones,
     generated with another seed), planned with the remaining budget: only
     the new conversations are described, and only their new description
     texts embedded.
Prints wall and CPU times (user + system of the subprocess) and the 1-minute
load average after each (on a shared machine the wall time grows with the
load; the CPU time much less).

    .venv/bin/python scripts/bench_plan.py --work /tmp/bench-plan [--budget 1400 --rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_plan(data: Path, out: Path, cache: Path, budget: float, rounds: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the subprocess: user + system)."""
    cmd = [sys.executable, "-m", "ensemble.cli", "plan", "--data", str(data), "--out", str(out),
           "--cache", str(cache), "--budget", f"{budget:g}", "--rounds", str(rounds), "--quiet"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"plan failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def grown_demo(folder: Path, pilot: Path, recommended: dict[str, int], seed: int) -> Path:
    """The pilot plus each simulator's recommended new conversations, generated
    with another seed (new texts, as a real generation round gives)."""
    from ensemble.demo.generator import PERSONAS, generate_source
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(pilot, folder)
    for sim, extra in recommended.items():
        if extra and sim in PERSONAS:
            convs = generate_source(sim, extra, "A", seed, source=sim)
            with open(folder / f"{sim}.jsonl", "a", encoding="utf-8") as fh:
                for c in convs:
                    rec = c.to_record()
                    rec["id"] = f"{sim}-round2-{seed}-{rec['id']}"
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (data, outputs, cache)")
    ap.add_argument("--budget", type=float, default=1400)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep-cache", action="store_true", help="do not empty the cache first (no cold run)")
    ap.add_argument("--round-seed", type=int, default=1,
                    help="seed of round 2's new conversations (change it to keep them out of a kept cache)")
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
    grown = grown_demo(work / "round2", data, rec, args.round_seed)
    remaining = plan1["rounds"]["remaining_after_this_round"]
    rows.append((f"round 2 (+{sum(rec.values())} new conversations)",
                 run_plan(grown, work / "out2", cache, remaining, max(1, args.rounds - 1)), os.getloadavg()[0]))
    plan2 = json.loads((work / "out2" / "plan.json").read_text())
    print(f"{'step':<40} {'wall s':>8} {'CPU s':>7} {'load':>6}")
    for name, (wall, cpu), load in rows:
        print(f"{name:<40} {wall:>8.1f} {cpu:>7.1f} {load:>6.1f}")
    print("round 1 recommended: " + ", ".join(f"{s} +{n}" for s, n in rec.items() if n))
    print("round 2 recommended: " + ", ".join(f"{s} +{r['recommended_additional']}"
                                              for s, r in plan2["simulators"].items() if r["recommended_additional"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
