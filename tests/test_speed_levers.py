"""Issue 20's speed levers: phrase-composed embeddings, encoding workers,
merged (hierarchical) codebooks for the sweep, and per-trial codebook timing."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from measure import compose
from measure.codebook import cut_merges, ward_merges
from measure.pipeline import MeasureConfig, fit_labels, fit_labels_merged, prepare


class HashEmbedder:
    """Deterministic unit vectors from a text's hash; records what it was asked."""
    key = "hash-embedder"
    model_name = "hash"

    def __init__(self, dim: int = 16):
        self.dim = dim
        self.calls: list[list[str]] = []
        self.n_encoded = 0
        self.n_cached = 0
        self.progress = None

    def embed(self, texts):
        self.calls.append(list(texts))
        self.n_encoded += len(set(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


# ------------------------------------------------------------ composition

def test_split_phrases_on_clause_separators_only():
    text = "register: casual; tone: calm; formatting: emoji, lists. counts: greet 1, inform 2"
    assert compose.split_phrases(text) == ["register: casual", "tone: calm", "formatting: emoji, lists",
                                           "counts: greet 1, inform 2"]
    assert compose.split_phrases("one phrase") == ["one phrase"]
    assert compose.split_phrases("ends with a dot.") == ["ends with a dot"]


def test_composed_vector_is_the_word_weighted_mean_of_phrase_vectors():
    emb = HashEmbedder()
    texts = ["a b c; d", "d; a b c", "d"]
    got = compose.embed_composed(texts, emb)
    # every distinct phrase is embedded once, in one call
    assert len(emb.calls) == 1 and sorted(emb.calls[0]) == ["a b c", "d"]
    pa, pd = HashEmbedder().embed(["a b c", "d"])
    want = 3 * pa + 1 * pd
    want /= np.linalg.norm(want)
    np.testing.assert_allclose(got[0], want, atol=1e-6)
    np.testing.assert_allclose(got[1], got[0], atol=1e-6)  # clause order does not matter
    np.testing.assert_allclose(got[2], pd, atol=1e-6)      # one phrase: its own vector
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_compose_mode_reads_the_environment(monkeypatch):
    from measure.errors import ConfigError
    monkeypatch.delenv(compose.COMPOSE_ENV, raising=False)
    assert compose.compose_mode() == compose.DEFAULT_MODE
    monkeypatch.setenv(compose.COMPOSE_ENV, "off")
    assert compose.compose_mode() == "off"
    monkeypatch.setenv(compose.COMPOSE_ENV, "sometimes")
    with pytest.raises(ConfigError, match="ENSEMBLE_FIT_EMBED_COMPOSE"):
        compose.compose_mode()


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    from ensemble.demo.generator import write_demo
    from measure.loaders import load_dataset
    return load_dataset(write_demo(tmp_path_factory.mktemp("levers-demo"), n_per_simulator=60, n_real=180))


def _prepare(data, heldout=0.0):
    from measure.facets.offline import RuleFacetExtractor
    emb = HashEmbedder()
    prep = prepare(data.conversations, data.real_sources, data.simulators, RuleFacetExtractor(), emb,
                   MeasureConfig().facets, heldout_fraction=heldout, seed=0)
    return prep, emb


def test_composition_is_its_own_representation(small_data, monkeypatch):
    monkeypatch.setenv(compose.COMPOSE_ENV, "phrases")
    prep, emb = _prepare(small_data)
    assert prep.embedder_key == f"hash-embedder+{compose.COMPOSITION}"
    assert prep.representation["embedding_composition"] == compose.COMPOSITION
    n_texts = sum(len(c.texts) for c in prep.table.columns.values())
    assert emb.n_encoded < n_texts  # phrases, not whole descriptions
    col = prep.table.columns["dialogue_acts"]
    i = 0
    text = col.texts[i]
    np.testing.assert_allclose(col.embeddings[i], compose.embed_composed([text], HashEmbedder())[0], atol=1e-6)

    monkeypatch.setenv(compose.COMPOSE_ENV, "off")
    whole, emb2 = _prepare(small_data)
    assert whole.embedder_key == "hash-embedder"  # codebooks of the two never share a cache key
    assert whole.representation["embedding_composition"] is None
    assert emb2.n_encoded == n_texts


# ------------------------------------------------------- encoding workers

def test_worker_processes_give_the_in_process_vectors(monkeypatch):
    import measure.embed as E
    texts = [f"turn {i}: request inform; counts: request {i % 3}" for i in range(24)] + ["short", "a b"]
    ref = E.Embedder(cache_dir=None).embed(texts)
    monkeypatch.setattr(E, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(E, "_SLICE", 5)  # several requests per worker
    monkeypatch.setenv(E.JOBS_ENV, "2")
    emb = E.Embedder(cache_dir=None)
    assert E.embed_jobs("cpu", len(texts)) == 2 and E.embed_jobs("cuda", len(texts)) == 1
    got = emb.embed(texts)
    assert emb._pool is not None and len(emb._pool[1].workers) == 2
    # Once the workers run, a small job goes to them too: this process never
    # loads its own model (torch and a model copy: ~0.5 GiB at WildChat scale).
    monkeypatch.setattr(E, "PARALLEL_MIN_TEXTS", 10)
    small = emb.embed(["one more text", "and another"])
    assert emb._model is None and emb.n_encoded == len(set(texts)) + 2
    emb.close()
    assert emb._pool is None
    np.testing.assert_allclose(got, ref, atol=1e-5)
    np.testing.assert_allclose(small, E.Embedder(cache_dir=None).embed(["one more text", "and another"]),
                               atol=1e-5)


# ------------------------------------------------------- merged codebooks

def test_ward_merges_match_scipy_ward_with_replicated_points():
    from scipy.cluster.hierarchy import fcluster, linkage
    rng = np.random.default_rng(3)
    C = rng.normal(size=(30, 4))
    w = rng.integers(1, 4, size=30)
    merges = ward_merges(C, w.astype(float))
    # A centroid of weight m is m identical points to plain Ward.
    rep = np.repeat(C, w, axis=0)
    owner = np.repeat(np.arange(30), w)
    tree = linkage(rep, "ward")
    for k in (2, 4, 7, 15, 30):
        ours = cut_merges(merges, 30, k)
        theirs = fcluster(tree, k, "maxclust")
        # the same partition of the 30 centroids
        pairs_ours = ours[:, None] == ours[None, :]
        t = np.array([theirs[owner == i][0] for i in range(30)])
        assert (pairs_ours == (t[:, None] == t[None, :])).all(), k


def test_cuts_are_nested_and_numbered_canonically():
    rng = np.random.default_rng(0)
    merges = ward_merges(rng.normal(size=(40, 3)), rng.uniform(0.5, 2, 40))
    assert (cut_merges(merges, 40, 40) == np.arange(40)).all()
    assert (cut_merges(merges, 40, 1) == 0).all()
    fine, coarse = cut_merges(merges, 40, 12), cut_merges(merges, 40, 5)
    assert len(set(fine)) == 12 and len(set(coarse)) == 5
    for c in set(fine):  # every finer cluster lies inside one coarser cluster
        assert len(set(coarse[fine == c])) == 1
    first = [int(np.flatnonzero(coarse == c)[0]) for c in range(5)]
    assert first == sorted(first)


def test_merged_labels_coarsen_the_fine_codebook_without_new_fits(small_data):
    prep, _ = _prepare(small_data, heldout=0.3)
    memo, stats = {}, {}
    fine, k_fine = fit_labels(prep, "style", 24, 0, 0.9, memo={})
    same, k_same = fit_labels_merged(prep, "style", 24, 24, 0, 0.9, memo=memo, stats=stats)
    assert k_same == k_fine and (same == fine).all()
    for k in (3, 8, 16):
        lab, k_eff = fit_labels_merged(prep, "style", k, 24, 0, 0.9, memo=memo, stats=stats)
        assert k_eff == k and len(np.unique(lab)) <= k
        for c in np.unique(fine):
            assert len(np.unique(lab[fine == c])) == 1
    assert stats["fits"] == 1  # one fine fit serves every k


def test_sweep_trials_record_codebook_time_and_fits(small_data):
    from ensemble.mixture.fit import FitConfig
    from ensemble.tune import objective
    from ensemble.tune.space import Settings
    from ensemble.tune.study import open_study, run_study, trials_csv
    prep, _ = _prepare(small_data, heldout=0.3)
    mconf = MeasureConfig(heldout_fraction=0.3, seed=0)
    ctx = objective.SweepContext.build(prep, mconf, FitConfig())
    assert ctx.k_fine == ctx.space.k_high
    ks = [{f: k for f in prep.facets} for k in (5, 9, ctx.k_fine)]
    outs = [objective.evaluate(ctx, Settings(k=k, facet_weights=ctx.default.facet_weights,
                                             pca_variance=mconf.pca_variance, divergence="js")) for k in ks]
    assert outs[0].codebook_fits == len(prep.facets)  # the fine codebooks, once
    assert [o.codebook_fits for o in outs[1:]] == [0, 0]
    assert all(o.codebook_seconds <= o.seconds for o in outs)
    study = open_study("sqlite:///:memory:", "t", seed=0)
    stats = run_study(study, ctx, n_trials=3)
    assert len(stats.codebook_seconds) == 3 and stats.codebook_fits == 0
    header = trials_csv(study, prep.facets).splitlines()[0].split(",")
    assert header[4:7] == ["duration_s", "codebook_s", "codebook_fits"]


# ------------------------------------------------------------- precision

def test_bf16_by_default_only_where_the_cpu_has_it():
    from measure.embed import resolve_precision
    from measure.errors import ConfigError
    amx = "processor : 0\nflags : fpu sse avx2 avx512f amx_bf16 amx_tile\n"
    zen4 = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"
    avx2 = "flags : fpu sse avx avx2 fma\n"
    assert resolve_precision("auto", "cpu", amx) == "bf16"
    assert resolve_precision(None, "cpu", zen4) == "bf16"
    assert resolve_precision("auto", "cpu", avx2) == "fp32"
    assert resolve_precision("auto", "cuda", amx) == "fp32"   # GPUs: the model's own precision
    assert resolve_precision("fp32", "cpu", amx) == "fp32"
    assert resolve_precision("bf16", "cpu", avx2) == "bf16"
    with pytest.raises(ConfigError, match="auto, fp32 or bf16"):
        resolve_precision("int8", "cpu", avx2)


def test_bf16_vectors_have_their_own_cache_key(monkeypatch, tmp_path):
    import measure.embed as E
    monkeypatch.setenv("ENSEMBLE_FIT_EMBED_PRECISION", "fp32")
    fp32 = E.Embedder(cache_dir=tmp_path)
    monkeypatch.setenv("ENSEMBLE_FIT_EMBED_PRECISION", "bf16")
    bf16 = E.Embedder(cache_dir=tmp_path)
    assert bf16.key == fp32.key + "-bf16" and bf16.precision == "bf16"
    assert bf16.cache.folder != fp32.cache.folder


def test_acts_mode_composes_dialogue_acts_only(small_data, monkeypatch):
    monkeypatch.setenv(compose.COMPOSE_ENV, "acts")
    prep, emb = _prepare(small_data)
    assert prep.embedder_key == f"hash-embedder+acts-{compose.COMPOSITION}"
    whole = HashEmbedder()
    for f, col in prep.table.columns.items():
        want = (compose.embed_composed(col.texts, whole) if f == "dialogue_acts" else whole.embed(col.texts))
        np.testing.assert_allclose(col.embeddings, want, atol=1e-6, err_msg=f)
