"""The classifier lens: out-of-fold AUC, its bootstrap CI, the real-vs-real
floor and the separating clusters, on populations with a known difference."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from measure.discriminator import (DiscriminatorConfig, auc, auc_bootstrap, build_features, discriminate,
                                   discriminate_all, real_vs_real)

K = {"style": 12, "requests": 8}


def _population(rng, n, style_p, requests_p):
    return {"style": rng.choice(K["style"], size=n, p=style_p),
            "requests": rng.choice(K["requests"], size=n, p=requests_p)}


def _space(n_real=600, n_same=300, n_shifted=300, seed=0, with_embeddings=True):
    """Real users, an unchanged sample of the same population, and a
    simulator that uses style cluster 3 five times as often."""
    rng = np.random.default_rng(seed)
    style = np.full(K["style"], 1 / K["style"])
    req = np.full(K["requests"], 1 / K["requests"])
    shifted = style.copy()
    shifted[3] = 5 / K["style"]
    shifted /= shifted.sum()
    parts = [_population(rng, n_real, style, req), _population(rng, n_same, style, req),
             _population(rng, n_shifted, shifted, req)]
    labels = {f: np.concatenate([p[f] for p in parts]) for f in K}
    n = len(labels["style"])
    emb = None
    if with_embeddings:
        # one text per cluster, so the components carry the clusters' geometry
        emb = {f: (rng.normal(size=(K[f], 16)).astype(np.float32), labels[f]) for f in K}
    space = build_features(labels, K, emb, n_components=2)
    rows = np.arange(n)
    return space, rows[:n_real], rows[n_real:n_real + n_same], rows[n_real + n_same:]


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    s = np.round(rng.normal(size=400) + 0.8 * y, 1)  # rounded: many ties
    assert auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    point, boot = auc_bootstrap(s, y, n_boot=300, seed=4)
    assert point == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert boot.shape == (300,)
    assert abs(boot.mean() - point) < 0.01 and 0.01 < boot.std() < 0.05
    assert np.array_equal(boot, auc_bootstrap(s, y, n_boot=300, seed=4)[1])
    with pytest.raises(ValueError, match="both classes"):
        auc(s, np.zeros(400, bool))


def test_feature_space_layout():
    space, *_ = _space()
    assert space.X.shape == (1200, 12 + 2 + 8 + 2)
    assert space.n_onehot == 20
    assert space.onehot_of[:3] == [("style", 0), ("style", 1), ("style", 2)]
    assert space.onehot_of[12:14] == [None, None]
    # every row: one one-hot per facet, plus the components
    assert np.array_equal(np.diff(space.X.indptr), np.full(1200, 6))
    assert np.array_equal(space.X[:, :12].sum(axis=1).A.ravel(), np.ones(1200))


def test_shifted_population_is_detected_and_explained():
    space, real, _, shifted = _space()
    res = discriminate(space, real, shifted)
    assert 0.6 < res.auc < 0.8
    assert res.ci[0] > 0.55 and res.ci[0] < res.auc < res.ci[1]
    assert (res.n_real, res.n_sim) == (600, 300)
    top = res.top_features[0]
    assert (top.facet, top.cluster, top.leans) == ("style", 3, "simulator")
    assert top.share_sim > 3 * top.share_real
    assert res.to_dict()["top_features"][0]["leans"] == "simulator"


def test_unchanged_sample_reads_as_indistinguishable():
    space, real, same, _ = _space()
    res = discriminate(space, real, same)
    assert res.auc <= 0.6
    assert res.ci[0] <= 0.5 <= res.ci[1]


def test_deterministic_per_seed_and_seed_matters():
    space, real, _, shifted = _space()
    a = discriminate(space, real, shifted, DiscriminatorConfig(seed=3))
    b = discriminate(space, real, shifted, DiscriminatorConfig(seed=3))
    c = discriminate(space, real, shifted, DiscriminatorConfig(seed=4))
    assert a == b
    assert a.auc != c.auc


def test_subsample_cap_bounds_the_fit():
    space, real, _, shifted = _space()
    res = discriminate(space, real, shifted, DiscriminatorConfig(max_per_class=150))
    assert (res.n_real, res.n_sim) == (150, 150)
    assert res.auc > 0.55


def test_floor_and_all_simulators():
    space, real, same, shifted = _space(n_real=1000)
    floor = real_vs_real(space, real, n_half=300)
    assert (floor.n_real, floor.n_sim) == (300, 300)
    assert abs(floor.auc - 0.5) < 0.06 and floor.ci[0] < 0.5 < floor.ci[1]
    results, floor2 = discriminate_all(space, real, {"same": same, "shifted": shifted, "tiny": shifted[:1]},
                                       n_half=300)
    assert set(results) == {"same", "shifted"}  # one conversation cannot be cross-validated
    assert floor2 == floor
    assert results["shifted"].auc > results["same"].auc + 0.1
    _, none = discriminate_all(space, real[:3], {"same": same})
    assert none is None


def test_one_hots_only_and_too_few_rows():
    space, real, _, shifted = _space(with_embeddings=False)
    assert space.X.shape[1] == 20 and space.n_onehot == 20
    assert discriminate(space, real, shifted).auc > 0.6
    with pytest.raises(ValueError, match="at least 2 conversations per side"):
        discriminate(space, real, shifted[:1])


def test_disagreements_need_both_lenses_resolved():
    from measure.discriminator import disagreements
    js = {"a": (0.10, (0.08, 0.12)), "b": (0.30, (0.27, 0.33)), "c": (0.31, (0.26, 0.36))}
    aucs = {"a": (0.95, (0.93, 0.97)), "b": (0.80, (0.77, 0.83)), "c": (0.94, (0.90, 0.97))}
    # a is closer than b by JS, yet easier to spot; a vs c: AUC CIs overlap; b vs c: JS CIs overlap
    assert disagreements(js, aucs) == [("a", "b")]
    assert disagreements(js, {s: (0.5 + v[0], (0.48 + v[0], 0.52 + v[0])) for s, v in js.items()}) == []


def test_components_of_one_or_two_distinct_texts_do_not_crash():
    """Real facets can collapse (every conversation described alike): the
    PCA then has fewer directions than asked, or none (ARPACK used to fail)."""
    from measure.discriminator import _components
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    same = _components(vectors, np.zeros(40, dtype=int), 2, None)
    assert same.shape == (40, 2) and not same.any()
    two = _components(vectors, np.array([0, 1] * 20), 2, None)
    assert two.shape == (40, 2) and np.isfinite(two).all()
    assert np.ptp(two[:, 0]) > 0 and not two[:, 1].any()   # one direction, the other empty


def test_discriminator_answer_is_cached_by_content(demo_data, shared_cache, tmp_path):
    """A second measurement of the same data reads the classifiers' answer
    from the cache (the same numbers to the last bit); a torn cache file is
    recomputed, with a warning, to the same answer."""
    import shutil

    from measure import MeasureConfig, load_conversations, measure_gap, prepare_data
    cache = tmp_path / "cache"
    shutil.copytree(shared_cache, cache)
    shutil.rmtree(cache / "discriminator", ignore_errors=True)
    prep = prepare_data(load_conversations(demo_data), MeasureConfig(), cache_dir=cache)
    first = measure_gap(prep, MeasureConfig(), cache_dir=cache)
    files = list((cache / "discriminator").glob("*.json"))
    assert len(files) == 1
    second = measure_gap(prep, MeasureConfig(), cache_dir=cache)
    assert second.discriminator == first.discriminator and second.discriminator_floor == first.discriminator_floor
    assert first.discriminator and all(r.top_features for r in first.discriminator.values())
    # Another seed is another answer, under another key.
    other = measure_gap(prep, MeasureConfig(seed=1), cache_dir=cache)
    assert len(list((cache / "discriminator").glob("*.json"))) == 2
    assert other.discriminator != first.discriminator
    files[0].write_text('{"results": {"x": ')
    from measure.progress import Reporter
    warnings = []

    class Collect(Reporter):
        def warn(self, message):
            warnings.append(message)
    third = measure_gap(prep, MeasureConfig(), cache_dir=cache, progress=Collect(enabled=False))
    assert third.discriminator == first.discriminator
    assert any("discriminator cache" in w and "unreadable" in w for w in warnings)
