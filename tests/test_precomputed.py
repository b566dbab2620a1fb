"""Precomputed embeddings (embedding done on another machine) in each of the
accepted layouts give the same measurement, and are used in place of the
model's vectors for the facets they name."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ensemble.cli import main
from measure.embed import Embedder
from measure.facets.offline import describe_conversation
from measure.loaders import load_dataset

FAST = ["--bootstrap", "20", "--codebook-seeds", "1", "--quiet"]


@pytest.fixture(scope="module")
def exported(demo_data, shared_cache, tmp_path_factory):
    """Style-facet vectors of every demo conversation in .npz, .npy-folder and Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = load_dataset(demo_data)
    keys = [f"{c.source}/{c.id}" for c in ds.conversations]
    # The "remote" embedding model is the default one, run here: a file that
    # holds its vectors must measure like the model does.
    embedder = Embedder(cache_dir=shared_cache)
    vecs = embedder.embed([describe_conversation(c, ("style",))["style"].text
                           for c in ds.conversations])
    root = tmp_path_factory.mktemp("precomputed")
    np.savez(root / "emb.npz", ids=np.array(keys), style=vecs)
    (root / "npy").mkdir()
    np.save(root / "npy" / "ids.npy", np.array(keys))
    np.save(root / "npy" / "style.npy", vecs)
    # Parquet: one row per (conversation, facet), rows in another order.
    order = np.random.default_rng(1).permutation(len(keys))
    pq.write_table(pa.table({"id": [keys[i] for i in order], "facet": ["style"] * len(keys),
                             "embedding": [vecs[i].tolist() for i in order]}), root / "emb.parquet")
    return {"npz": root / "emb.npz", "npy": root / "npy", "parquet": root / "emb.parquet"}


def _measure(data: Path, out: Path, cache: Path, *more: str) -> dict:
    rc = main(["measure", "--data", str(data), "--out", str(out), "--cache", str(cache),
               "--facets", "style,requests", *FAST, *more])
    assert rc == 0
    return json.loads((out / "measure.json").read_text())


def _gaps(m: dict) -> dict:
    return {s: {f: m["gap"][s][f]["js"] for f in m["facets"]} for s in m["simulators"]}


def test_every_layout_gives_the_same_measurement(demo_data, exported, shared_cache, tmp_path):
    runs = {fmt: _measure(demo_data, tmp_path / fmt, shared_cache, "--embeddings", str(path))
            for fmt, path in exported.items()}
    plain = _measure(demo_data, tmp_path / "plain", shared_cache)
    assert _gaps(runs["npz"]) == _gaps(runs["npy"]) == _gaps(runs["parquet"])
    for fmt in runs:
        # Only the style facet came from the file; requests still uses the model.
        assert [runs[fmt]["gap"][s]["requests"]["js"] for s in plain["simulators"]] == \
            [plain["gap"][s]["requests"]["js"] for s in plain["simulators"]]
    assert plain["representation"]["precomputed_embeddings"] is None
    assert plain["representation"]["extractor"].startswith("rules-v")
    for fmt, path in exported.items():
        assert runs[fmt]["representation"]["precomputed_embeddings"] == {"file": str(path),
                                                                         "facets": ["style"]}
    # Per-conversation rows instead of distinct texts move the numbers a little
    # (k-means starts differ), but the file's vectors measure behaviour like
    # the model's: the style ranking finds the planted personas.
    expected = json.loads((demo_data / "true_mixture.json").read_text())["expected_weights"]
    planted = {s for s, w in expected.items() if w > 0}
    style_rank = sorted(plain["simulators"], key=lambda s: runs["parquet"]["gap"][s]["style"]["js"])
    assert set(style_rank[:3]) == planted


def test_corrupt_parquet_embeddings_are_an_input_error(demo_data, shared_cache, tmp_path, capsys):
    bad = tmp_path / "emb.parquet"
    bad.write_bytes(b"PAR1 not really parquet PAR1")
    rc = main(["measure", "--data", str(demo_data), "--out", str(tmp_path / "o"), "--cache",
               str(shared_cache), *FAST, "--embeddings", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"error: {bad}") and "not a readable Parquet file" in err
