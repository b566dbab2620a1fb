"""Peak memory of reading a large Hugging Face dataset with --max-per-source.

Builds a WildChat-shaped dataset (default 200,000 rows, 10 Parquet shards)
as a hub repository in a private hub cache, then reads it in a fresh
process as `hf:bench/wildchat-large` with HF_DATASETS_OFFLINE=1 and
`max_per_source=2000`, the way `--data hf:... --max-per-source 2000` does,
and prints the child's peak RSS. With --disk the same rows are also saved
with `save_to_disk` and read from that folder; with --arrow they are also
published as Arrow files, which `datasets` streams (as it streams hub
files online; that path imports torch, about 200 MB).

    .venv/bin/python scripts/bench_hub_memory.py [--rows 200000] [--max-per-source 2000] [--disk] [--arrow]

The target (issue 16): peak RSS under 500 MB for 200k rows and 2,000 kept.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = "bench/wildchat-large"
ARROW_REPO = "bench/wildchat-large-arrow"
REVISION = "b" * 40
SHARD_ROWS = 20_000
LANGS = ["English"] * 6 + ["Chinese", "Russian", "French", "Spanish"]


def _sentences(rng, n: int) -> list[str]:
    words = [f"w{i}" for i in range(3000)] + ["please", "fix", "the", "code", "why", "error"]
    return [" ".join(rng.choice(words, size=rng.integers(6, 25))) + "." for _ in range(n)]


def build_repo(hub_cache: Path, rows: int, seed: int = 0) -> Path:
    """The repo laid out as huggingface_hub caches it: refs/main -> snapshots/<commit>/data/*.parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    pool = _sentences(rng, 4000)
    root = hub_cache / ("datasets--" + REPO.replace("/", "--"))
    data = root / "snapshots" / REVISION / "data"
    data.mkdir(parents=True, exist_ok=True)
    n_shards = max(1, -(-rows // SHARD_ROWS))
    for shard in range(n_shards):
        start, stop = shard * SHARD_ROWS, min(rows, (shard + 1) * SHARD_ROWS)
        batch = []
        for i in range(start, stop):
            turns = int(rng.integers(1, 5))
            conv = []
            for _ in range(turns):
                user = " ".join(pool[j] for j in rng.integers(0, len(pool), size=rng.integers(2, 12)))
                bot = " ".join(pool[j] for j in rng.integers(0, len(pool), size=rng.integers(8, 30)))
                conv += [{"role": "user", "content": user}, {"role": "assistant", "content": bot}]
            batch.append({"conversation_hash": f"{i:032x}", "model": "gpt-3.5-turbo",
                          "conversation": conv, "turn": turns, "language": LANGS[i % len(LANGS)],
                          "toxic": bool(i % 17 == 0), "redacted": False})
        pq.write_table(pa.Table.from_pylist(batch),
                       data / f"train-{shard:05d}-of-{n_shards:05d}.parquet", row_group_size=1000)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(REVISION)
    return data.parent


def arrow_copy(snap: Path, hub_cache: Path) -> None:
    """The same rows as Arrow IPC shards in a second repo: a format the
    loader does not read itself, so `datasets` streams it (the path hub
    files take when read online)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = hub_cache / ("datasets--" + ARROW_REPO.replace("/", "--"))
    data = root / "snapshots" / REVISION / "data"
    if data.is_dir():
        return
    data.mkdir(parents=True)
    for f in sorted((snap / "data").glob("*.parquet")):
        pf = pq.ParquetFile(f)
        with pa.OSFile(str(data / f.name.replace(".parquet", ".arrow")), "wb") as sink, \
                pa.ipc.new_stream(sink, pf.schema_arrow) as writer:
            for batch in pf.iter_batches(batch_size=1000):
                writer.write_batch(batch)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(REVISION)


def _status_mb(key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB. Not ru_maxrss:
    Linux carries the parent's resident size at fork into the child's."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(source: str, max_per_source: int) -> None:
    """Read `source` and print the figures as JSON (run in a fresh process)."""
    import datasets  # noqa: F401  (imported first so the baseline includes it)

    from measure.loaders import load_dataset
    baseline = _status_mb("VmRSS")
    t0 = time.perf_counter()
    ds = load_dataset([source], max_per_source=max_per_source, min_conversations=1)
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    print(json.dumps({"source": source, "read": ds.report.records_read,
                      "kept": len(ds.conversations), "seconds": round(seconds, 1),
                      "baseline_rss_mb": round(baseline), "peak_rss_mb": round(peak)}))


def _run_child(source: str, max_per_source: int, hf_home: Path) -> dict:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
           "HF_DATASETS_CACHE": str(hf_home / "datasets"), "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, __file__, "--child", source,
                          "--max-per-source", str(max_per_source)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--max-per-source", type=int, default=2000)
    ap.add_argument("--disk", action="store_true", help="also read a save_to_disk copy")
    ap.add_argument("--arrow", action="store_true",
                    help="also read an Arrow-file copy of the repo, streamed by `datasets`")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the generated data here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.max_per_source)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-hub-"))
    hf_home = work / "hf"
    try:
        t0 = time.perf_counter()
        snap = hf_home / "hub" / ("datasets--" + REPO.replace("/", "--")) / "snapshots" / REVISION
        if not (snap / "data").is_dir():  # a --workdir from an earlier run is reused
            snap = build_repo(hf_home / "hub", args.rows)
        size = sum(f.stat().st_size for f in snap.rglob("*.parquet")) / 2**20
        print(f"{args.rows:,} WildChat-shaped rows as {REPO} ({size:,.0f} MB of Parquet), "
              f"ready in {time.perf_counter() - t0:.0f} s")
        sources = [f"hf:{REPO}"]
        if args.arrow:
            arrow_copy(snap, hf_home / "hub")
            sources.append(f"hf:{ARROW_REPO}")
        if args.disk:
            import datasets
            folder = work / "wildchat-large"
            if not folder.is_dir():
                    datasets.Dataset.from_parquet(sorted(str(f) for f in snap.rglob("*.parquet")),
                                              cache_dir=str(work / "build-cache")).save_to_disk(str(folder))
            sources.append(str(folder))
        for source in sources:
            r = _run_child(source, args.max_per_source, hf_home)
            print(f"{source}: read {r['read']:,} rows, kept {r['kept']:,} "
                  f"(--max-per-source {args.max_per_source:,}) in {r['seconds']} s; "
                  f"peak RSS {r['peak_rss_mb']} MB (after imports {r['baseline_rss_mb']} MB); "
                  f"target < 500 MB: {'met' if r['peak_rss_mb'] < 500 else 'MISSED'}")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
