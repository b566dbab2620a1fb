"""WildChat scale on one machine: `measure` cold on a million conversations.

Writes a workload shaped like a large log (real users plus simulators,
default 500,000 + 10 x 50,000 = 1,000,000 conversations, generated from the
demo personas like `gen_paper_scale.py`, in blocks so the generator never
holds a source in memory), then runs `ensemble-fit measure` on it with an
empty cache as its own subprocess (through `_timed_cli.py`) and prints the
stage times, wall and CPU time, peak memory (largest process and the sampled
sum over the process tree) and the load average, against the targets
(<= 20 min, <= 6 GiB).

    .venv/bin/python scripts/bench_wildchat_scale.py --out /tmp/wildchat-bench
    # a smaller run on a busy machine (say so when quoting it)
    .venv/bin/python scripts/bench_wildchat_scale.py --out /tmp/wc --n-real 100000 --n-sim 10000

`--data DIR` skips generation and measures an existing folder; `--extra`
passes flags to `measure` (e.g. '--max-per-source 20000'). Figures land in
OUT/bench.json, logs in OUT/logs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TARGET_S = 20 * 60
TARGET_RSS_GIB = 6.0
BLOCK = 10000  # conversations generated and written at a time


def write_block_source(path: Path, name: str, mixture: dict[str, float], n: int, seed: int) -> int:
    """n conversations of `name` in blocks of BLOCK (each its own seed), streamed to JSONL."""
    from gen_paper_scale import exact_counts

    from ensemble.demo.generator import generate_source
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for b, start in enumerate(range(0, n, BLOCK)):
            m = min(BLOCK, n - start)
            convs = []
            for behaviour, c in exact_counts(mixture, m).items():
                if c:
                    convs += generate_source(behaviour, c, "A", seed * 1000 + b, source=name)
            random.Random(f"{seed}:{name}:{b}").shuffle(convs)
            for i, c in enumerate(convs):
                fh.write(json.dumps(replace(c, id=f"{name}-{start + i:07d}").to_record(), ensure_ascii=False))
                fh.write("\n")
            written += len(convs)
    return written


def generate(out: Path, n_real: int, n_sim: int, sims: int, seed: int) -> dict:
    from gen_paper_scale import real_mixture, simulator_mixtures
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    c0 = time.process_time()
    n = write_block_source(out / "real.jsonl", "real", real_mixture(seed), n_real, seed)
    for name, mix in simulator_mixtures(sims, seed).items():
        n += write_block_source(out / f"{name}.jsonl", name, mix, n_sim, seed)
    size = sum(p.stat().st_size for p in out.glob("*.jsonl"))
    return {"conversations": n, "mib": round(size / 2**20), "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(time.process_time() - c0, 1)}


def main(argv=None) -> int:
    from bench_paper_scale import print_step, run_step

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/ensemble-fit-wildchat"))
    ap.add_argument("--data", type=Path, default=None, help="measure this folder instead of generating one")
    ap.add_argument("--n-real", type=int, default=500_000)
    ap.add_argument("--n-sim", type=int, default=50_000)
    ap.add_argument("--sims", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra", default="", help="extra flags for measure")
    args = ap.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}}
    data = args.data
    if data is None:
        data = out / "data"
        marker = data / ".generated.json"
        want = {"n_real": args.n_real, "n_sim": args.n_sim, "sims": args.sims, "seed": args.seed}
        if not (marker.exists() and json.loads(marker.read_text()).get("args") == want):
            shutil.rmtree(data, ignore_errors=True)
            gen = generate(data, args.n_real, args.n_sim, args.sims, args.seed)
            marker.write_text(json.dumps({"args": want, **gen}))
            print(f"generated {gen['conversations']:,} conversations ({gen['mib']} MiB) in {gen['wall_s']} s "
                  f"wall, {gen['cpu_s']} s CPU")
        report["data"] = json.loads(marker.read_text())
    cache = out / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    argv_ = ["measure", "--data", str(data.resolve()), "--cache", str(cache), "--quiet",
             "--out", str(out / "measure"), *args.extra.split()]
    r = run_step("measure-cold", argv_, out / "logs", env)
    report["measure"] = r
    (out / "bench.json").write_text(json.dumps(report, indent=2))

    n = report.get("data", {}).get("conversations")
    print_step(r)
    cpu = r["user_cpu_s"] + r["sys_cpu_s"]
    # PSS counts the fork()ed describing workers' copy-on-write pages once; the
    # summed RSS counts them in every process (an upper bound).
    rss = r.get("tree_pss_peak_gib") or r["tree_rss_peak_gib"]
    print(f"\nmeasure cold{f' on {n:,} conversations' if n else ''}:")
    print(f"  wall {r['wall_s']:.0f} s (target <= {TARGET_S} s: {'met' if r['wall_s'] <= TARGET_S else 'MISSED'}), "
          f"CPU {cpu:.0f} s, peak memory {rss:.2f} GiB process tree (PSS; summed RSS "
          f"{r['tree_rss_peak_gib']:.2f} GiB), {r['max_process_rss_gib']:.2f} GiB largest "
          f"process (target <= {TARGET_RSS_GIB:.0f} GiB: {'met' if rss <= TARGET_RSS_GIB else 'MISSED'}); "
          f"load average {r['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after")
    print(f"\nfigures: {out / 'bench.json'}; logs: {out / 'logs'}")
    return 0 if r.get("rc") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
