"""What the discriminator adds to a warm `measure`: wall time with and without it.

Runs the CLI (through `_timed_cli.py`, which prints each stage's seconds on
stderr) on a dataset whose facets, embeddings and codebooks are already in
the cache: once to warm up (skipped with --no-warmup), then `--repeats`
times each of `measure` and `measure --no-discriminator`, alternating so a
change in the machine's load hits both. Prints per run the wall time, the
discriminator stage and its share of the warm measure, and the load average;
the target is a share of at most 20%.

    .venv/bin/python scripts/gen_paper_scale.py --out data/paper-scale
    .venv/bin/python scripts/bench_discriminator.py --data data/paper-scale --cache /tmp/ef-cache
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
SHIM = ROOT / "scripts" / "_timed_cli.py"
PREFIX = "BENCH-STAGE "
STAGE = "discriminator (classifier per simulator)"
TARGET = 0.20


def timed_measure(data: Path, cache: Path, out: Path, discriminator: bool) -> dict:
    cmd = [sys.executable, str(SHIM), "measure", "--data", str(data), "--out", str(out),
           "--cache", str(cache), "--quiet"] + ([] if discriminator else ["--no-discriminator"])
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"measure failed ({proc.returncode}): {proc.stderr[-2000:]}")
    stages: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if line.startswith(PREFIX):
            rec = json.loads(line[len(PREFIX):])
            stages[rec["stage"]] = stages.get(rec["stage"], 0.0) + rec["s"]
    return {"discriminator": discriminator, "wall": wall, "stages": stages, "load": load}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="the cache a cold measure filled")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ensemble-fit-bench-disc"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-warmup", action="store_true")
    args = ap.parse_args(argv)
    if not args.no_warmup:
        timed_measure(args.data, args.cache, args.out / "warmup", True)
    runs = []
    for i in range(args.repeats):
        for disc in (True, False):
            runs.append(timed_measure(args.data, args.cache, args.out / f"run{i}-{int(disc)}", disc))
    print(f"{'run':<22} {'wall s':>7} {'discriminator s':>16} {'share':>6} {'load':>5}")
    for r in runs:
        d = r["stages"].get(STAGE, 0.0)
        print(f"{'measure' if r['discriminator'] else 'measure --no-discriminator':<22} {r['wall']:>7.1f} "
              f"{d:>16.2f} {d / r['wall']:>6.1%} {r['load']:>5.1f}")
    with_d = [r for r in runs if r["discriminator"]]
    without = [r for r in runs if not r["discriminator"]]
    stage = min(r["stages"].get(STAGE, 0.0) for r in with_d)
    base = min(r["wall"] for r in without)
    added = stage / base
    print(f"discriminator stage (best of {len(with_d)}): {stage:.2f} s; warm measure without it (best of "
          f"{len(without)}): {base:.1f} s; added: {added:.1%} (target <= {TARGET:.0%}: "
          f"{'met' if added <= TARGET else 'missed'})")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_discriminator.json").write_text(json.dumps(
        {"runs": runs, "stage_s": stage, "warm_without_s": base, "added_share": added}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
