#!/usr/bin/env python
"""Figures for the training hand-off (issues 15 and 21 item 9).

    python scripts/bench_sampler_assign.py [--rows 10000 --draws 20000]

Prints:
- the import time of `ensemble.sampler` in fresh interpreters (median of 5)
  and which heavy modules it loaded (none expected);
- the cost of one low-discrepancy draw at 3, 25, 500 and 2,000 simulators
  (and iid at 2,000), after the stream is built;
- `assign` on ROWS rows over three tasks with per-task weights: the largest
  |count - n*w| per task, whether two runs with one seed give the same bytes
  in JSONL, Parquet and save_to_disk form, and whether a shuffled input gives
  every id the same simulator.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAVY = ("torch", "sentence_transformers", "cvxpy", "optuna", "matplotlib", "sklearn", "scipy",
         "numpy", "pyarrow", "datasets")


def import_time(repeats: int = 5) -> tuple[float, list[str]]:
    code = ("import time, sys, json; t = time.perf_counter(); import ensemble.sampler; "
            "print(json.dumps([time.perf_counter() - t, sorted({m.split('.')[0] for m in sys.modules})]))")
    times, loaded = [], []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-X", "frozen_modules=on", "-c", code], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        t, mods = json.loads(out.stdout)
        times.append(t)
        loaded = [m for m in HEAVY if m in mods]
    return statistics.median(times), loaded


def draw_cost(n_sims: int, n_draws: int, mode: str) -> float:
    from ensemble.sampler import SimulatorSampler
    rng = random.Random(n_sims)
    raw = [rng.random() ** 3 for _ in range(n_sims)]
    total = sum(raw)
    w = {f"sim{i:04d}": x / total for i, x in enumerate(raw)}
    w["sim0000"] += 1.0 - sum(w.values())
    s = SimulatorSampler(w, seed=0, mode=mode)
    s.draw()                                             # build the stream first
    t = time.perf_counter()
    s.draw_many(n_draws)
    return (time.perf_counter() - t) / n_draws


def digest(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update((str(f.relative_to(path)) if path.is_dir() else "").encode() + f.read_bytes())
    return h.hexdigest()[:16]


def assign_figures(n_rows: int) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ensemble.assign import assign_dataset
    from ensemble.weights_file import write_weights

    datasets.disable_progress_bars()
    per_task = {"math": {"sim_a": 0.2, "sim_b": 0.8},
                "code": {"sim_a": 0.1, "sim_b": 0.3, "sim_c": 0.6},
                "chat": {"sim_a": 0.37, "sim_b": 0.33, "sim_c": 0.3}}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_weights(d / "weights.json", {"sim_a": 0.5, "sim_b": 0.3, "sim_c": 0.2}, per_task=per_task)
        rng = random.Random(0)
        rows = [{"id": f"r{i}", "task": rng.choice(sorted(per_task)), "prompt": f"question {i}"}
                for i in range(n_rows)]
        (d / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        pq.write_table(pa.Table.from_pylist(rows), d / "tasks.parquet")
        datasets.Dataset.from_list(rows).save_to_disk(str(d / "tasks_ds"))
        shuffled = rows[:]
        random.Random(1).shuffle(shuffled)
        (d / "shuffled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in shuffled))

        t = time.perf_counter()
        res = assign_dataset(d / "weights.json", d / "tasks.jsonl", d / "a1.jsonl", seed=0)
        print(f"assign {n_rows} rows (JSONL): {time.perf_counter() - t:.2f} s")
        for g in res.groups:
            print(f"  task {g.task}: n={g.rows} counts={g.counts} "
                  f"n*w={ {s: round(g.rows * w, 2) for s, w in g.weights.items()} } "
                  f"max|count-n*w|={g.max_deviation:.3f}")
        for src, a, b in (("tasks.jsonl", "a1.jsonl", "a2.jsonl"),
                          ("tasks.parquet", "p1.parquet", "p2.parquet"),
                          ("tasks_ds", "ds1", "ds2")):
            for out in (a, b):
                if not (d / out).exists():
                    assign_dataset(d / "weights.json", d / src, d / out, seed=0)
            print(f"  same seed, same bytes ({src}): {digest(d / a) == digest(d / b)} ({digest(d / a)})")
        assign_dataset(d / "weights.json", d / "shuffled.jsonl", d / "s.jsonl", seed=0)
        first = {json.loads(x)["id"]: json.loads(x)["simulator"] for x in (d / "a1.jsonl").open()}
        again = {json.loads(x)["id"]: json.loads(x)["simulator"] for x in (d / "s.jsonl").open()}
        print(f"  shuffled input, same simulator for every id: {first == again} "
              f"({sum(first[k] == again[k] for k in first)}/{len(first)})")
        print("  summary excerpt:")
        summary = json.loads((d / "a1.jsonl.assignment.json").read_text())
        excerpt = {k: summary[k] for k in ("schema", "seed", "rows", "kept", "new", "counts")}
        excerpt["groups"] = [{k: g[k] for k in ("task", "rows", "counts", "max_deviation")}
                             for g in summary["groups"][:1]]
        print("   " + json.dumps(excerpt, indent=1).replace("\n", "\n   "))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=20_000)
    args = ap.parse_args()
    t, heavy = import_time()
    print(f"import ensemble.sampler: {t * 1000:.1f} ms (median of 5 fresh interpreters); "
          f"heavy modules loaded: {heavy or 'none'}")
    for n in (3, 25, 500, 2000):
        print(f"low-discrepancy draw, {n:>5} simulators: {draw_cost(n, args.draws, 'low_discrepancy') * 1e6:7.1f} us")
    print(f"iid draw,             2000 simulators: {draw_cost(2000, args.draws, 'iid') * 1e6:7.1f} us")
    assign_figures(args.rows)


if __name__ == "__main__":
    main()
