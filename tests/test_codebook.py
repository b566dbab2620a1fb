import os

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from measure.codebook import Codebook, WeightedPCA, default_k
from measure.distributions import histogram, histograms_by_group


def _blobs(n=1500, centers=5, d=8, seed=0, dtype=np.float64):
    X, y = make_blobs(n_samples=n, centers=centers, n_features=d, cluster_std=0.5,
                      center_box=(-20, 20), random_state=seed)
    return X.astype(dtype), y


def _imbalanced_sources(n_big=2000, n_small=200, seed=0):
    """Big source: two sub-blobs at x=-1 and x=+1; small source: one blob at x=+4.

    With k=2 and rows pooled as they come, k-means splits the big source
    (cost 1500 < 2000 in units of sigma-free squared distance) and merges the
    small source into a big sub-blob. With equal source weights the optimum
    is one centroid per source (cost 1 vs 3).
    """
    rng = np.random.default_rng(seed)
    big = np.r_[rng.normal([-1, 0], 0.1, (n_big // 2, 2)), rng.normal([1, 0], 0.1, (n_big // 2, 2))]
    small = rng.normal([4, 0], 0.1, (n_small, 2))
    return np.r_[big, small], np.array(["big"] * n_big + ["small"] * n_small)


# --------------------------------------------------------------- default_k

@pytest.mark.parametrize("n, k", [(1, 2), (14, 2), (26, 3), (1000, 100), (4999, 500), (100000, 500)])
def test_default_k(n, k):
    assert default_k(n) == k


def test_default_k_cap_and_errors():
    assert default_k(1000, cap=50) == 50
    with pytest.raises(ValueError):
        default_k(0)
    with pytest.raises(ValueError):
        default_k(100, cap=1)


# ------------------------------------------------------------- clustering

def test_recovers_well_separated_blobs():
    X, y = _blobs()
    groups = np.repeat(["real", "sim_a", "sim_b"], 500)
    cb = Codebook(5, random_state=0).fit(X, groups)
    assert cb.n_clusters_ == 5 and cb.algorithm_ == "kmeans"
    assert adjusted_rand_score(y, cb.predict(X)) >= 0.99
    assert cb.cluster_centers_.shape == (5, 8)


def test_recovers_blobs_through_pca():
    X, y = _blobs(d=50, seed=1)
    cb = Codebook(5, pca_variance=0.9, random_state=0).fit(X)
    assert cb.pca_.n_components_ < 50
    assert cb.cluster_centers_.shape == (5, cb.pca_.n_components_)
    assert cb.transform(X).shape == (1500, cb.pca_.n_components_)
    assert adjusted_rand_score(y, cb.predict(X)) >= 0.99


def test_minibatch_path_above_threshold():
    X, y = _blobs(n=3000)
    small = Codebook(5, random_state=0, minibatch_threshold=2999).fit(X)
    assert small.algorithm_ == "minibatch"
    assert adjusted_rand_score(y, small.predict(X)) >= 0.99
    assert Codebook(5, random_state=0, minibatch_threshold=3000).fit(X).algorithm_ == "kmeans"


@pytest.mark.parametrize("threshold", [20000, 100])  # KMeans and MiniBatchKMeans
def test_balanced_pool_gives_the_small_source_its_own_centroid(threshold):
    X, g = _imbalanced_sources()
    cb = Codebook(2, random_state=0, minibatch_threshold=threshold).fit(X, g)
    lab = cb.predict(X)
    assert set(lab[g == "small"]).isdisjoint(lab[g == "big"])
    assert np.any(np.abs(cb.cluster_centers_[:, 0] - 4) < 0.1)
    # The test is meaningful: plain pooling merges the small source away.
    plain = Codebook(2, random_state=0, minibatch_threshold=threshold, balance=False).fit(X, g)
    lab = plain.predict(X)
    assert not set(lab[g == "small"]).isdisjoint(lab[g == "big"])


def test_balanced_pool_splits_centroids_evenly_between_unequal_sources():
    # Two identical-shaped, far-apart blobs; one source has 10x the rows.
    rng = np.random.default_rng(0)
    X = np.r_[rng.uniform(0, 1, (5000, 2)), rng.uniform(0, 1, (500, 2)) + 100]
    g = np.array(["big"] * 5000 + ["small"] * 500)
    def centroids_on_small(balance):
        cb = Codebook(10, random_state=0, balance=balance).fit(X, g)
        return int(np.sum(cb.cluster_centers_[:, 0] > 50))
    assert centroids_on_small(True) == 5
    assert centroids_on_small(False) <= 3  # unbalanced: ~10 / (1 + sqrt(10)) in 2-D


def test_groups_none_weighs_rows_equally_like_balance_false():
    X, g = _imbalanced_sources()
    a = Codebook(2, random_state=0).fit(X)
    b = Codebook(2, random_state=0, balance=False).fit(X, g)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_reduces_k_to_number_of_distinct_rows():
    base = np.random.default_rng(0).normal(size=(4, 3))
    X = np.repeat(base, 25, axis=0)
    cb = Codebook(10, random_state=0).fit(X)
    assert cb.n_clusters == 10 and cb.n_clusters_ == 4
    lab = cb.predict(X)
    assert len(np.unique(lab)) == 4
    assert adjusted_rand_score(np.repeat(np.arange(4), 25), lab) == 1.0


def test_predict_labels_unseen_rows():
    X, y = _blobs(n=2000)
    cb = Codebook(5, random_state=0).fit(X[:1000])
    assert adjusted_rand_score(y[1000:], cb.predict(X[1000:])) >= 0.99
    lab = cb.predict(X[1000:])
    assert lab.dtype == np.int64 and lab.shape == (1000,)
    assert lab.min() >= 0 and lab.max() < cb.n_clusters_


def test_deterministic_given_random_state():
    X, _ = _blobs(n=1200, centers=20)
    a = Codebook(30, pca_variance=0.9, random_state=7).fit(X)
    b = Codebook(30, pca_variance=0.9, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.inertia_ == b.inertia_


def test_float32_in_float32_centroids():
    X, y = _blobs(dtype=np.float32)
    cb = Codebook(5, pca_variance=0.95, random_state=0).fit(X)
    assert cb.cluster_centers_.dtype == np.float32
    assert cb.transform(X).dtype == np.float32
    assert adjusted_rand_score(y, cb.predict(X)) >= 0.99


def test_inertia_is_positive_and_shrinks_with_k():
    X, _ = _blobs()
    assert Codebook(10, random_state=0).fit(X).inertia_ < Codebook(3, random_state=0).fit(X).inertia_


# -------------------------------------------------------------------- PCA

def test_pca_keeps_the_asked_variance():
    rng = np.random.default_rng(0)
    # Decaying spectrum so the cut is well defined.
    X = rng.normal(size=(3000, 20)) * (0.8 ** np.arange(20))
    for v in (0.5, 0.9, 0.99):
        cb = Codebook(8, pca_variance=v, random_state=0).fit(X)
        ratio = cb.pca_.explained_variance_ratio_
        assert ratio.sum() >= v
        assert ratio[:-1].sum() < v  # the fewest components that reach v
    full = Codebook(8, pca_variance=1.0, random_state=0).fit(X)
    assert full.pca_.n_components_ == 20


def test_unweighted_pca_matches_sklearn():
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    ours = WeightedPCA(0.999999).fit(X)
    ref = PCA(n_components=ours.n_components_).fit(X)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-8)
    # Same axes up to sign.
    np.testing.assert_allclose(np.abs(ours.components_ @ ref.components_.T), np.eye(ours.n_components_),
                               atol=1e-6)


def test_pca_weights_balance_sources():
    # Big source varies along x, small source along y, 10x fewer rows.
    rng = np.random.default_rng(2)
    big = np.c_[rng.normal(0, 1, 5000), np.zeros(5000)]
    small = np.c_[np.zeros(500), rng.normal(0, 1, 500)]
    X = np.r_[big, small]
    g = np.array(["big"] * 5000 + ["small"] * 500)
    ratio = Codebook(2, pca_variance=1.0, random_state=0).fit(X, g).pca_.explained_variance_ratio_
    assert ratio[0] == pytest.approx(0.5, abs=0.05)  # equal sources: equal variance per axis


# ------------------------------------------------------------ persistence

def test_save_load_round_trip(tmp_path):
    X, _ = _blobs(n=1500, d=30, centers=12, dtype=np.float32)
    cb = Codebook(12, pca_variance=0.9, random_state=3).fit(X, np.repeat(["a", "b", "c"], 500))
    path = cb.save(tmp_path / "facet.codebook.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["facet.codebook.npz"]  # no temp left behind
    loaded = Codebook.load(path)
    np.testing.assert_array_equal(loaded.predict(X), cb.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), cb.transform(X))
    assert loaded.n_clusters_ == cb.n_clusters_ and loaded.inertia_ == cb.inertia_
    assert loaded.pca_.n_components_ == cb.pca_.n_components_
    assert (loaded.random_state, loaded.pca_variance, loaded.algorithm_) == (3, 0.9, "kmeans")


def test_save_load_without_pca_and_overwrite(tmp_path):
    X, _ = _blobs()
    path = tmp_path / "cb.npz"
    Codebook(3, random_state=0).fit(X).save(path)
    cb = Codebook(5, random_state=0).fit(X)
    cb.save(path)  # replaces atomically
    loaded = Codebook.load(path)
    assert loaded.pca_ is None and loaded.pca_variance is None and loaded.n_clusters_ == 5
    np.testing.assert_array_equal(loaded.predict(X), cb.predict(X))


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    X, _ = _blobs()
    path = tmp_path / "cb.npz"
    Codebook(3, random_state=0).fit(X).save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        Codebook(5, random_state=0).fit(X).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cb.npz"]


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a codebook"):
        Codebook.load(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read"):
        Codebook.load(tmp_path / "junk.npz")


# ----------------------------------------------------------------- errors

def test_input_errors():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="not fitted"):
        Codebook(3).predict(X)
    with pytest.raises(ValueError, match="2-D"):
        Codebook(3).fit(X[:, 0])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Codebook(3).fit(bad)
    with pytest.raises(ValueError, match="one entry per row"):
        Codebook(3).fit(X, groups=["a"] * 10)
    with pytest.raises(ValueError, match="n_clusters"):
        Codebook(0).fit(X)
    with pytest.raises(ValueError, match="pca_variance"):
        Codebook(3, pca_variance=1.5).fit(X)
    cb = Codebook(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        cb.predict(X[:, :3])


# ---------------------------------------------- histograms of the labels

def test_histogram_counts_and_weights():
    np.testing.assert_array_equal(histogram([0, 2, 2, 3], 5), [0.25, 0, 0.5, 0.25, 0])
    assert histogram([1, 1], 3).dtype == np.float64
    np.testing.assert_allclose(histogram([0, 1, 1], 2, weights=[2.0, 1.0, 1.0]), [0.5, 0.5])


def test_histograms_by_group_in_first_appearance_order():
    out = histograms_by_group([0, 1, 1, 2, 0], ["sim", "real", "sim", "real", "real"], 3)
    assert list(out) == ["sim", "real"]
    np.testing.assert_allclose(out["sim"], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(out["real"], [1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize("labels, k, message", [
    ([0, 3], 3, r"\[0, 3\)"),
    ([-1, 0], 3, "lie in"),
    ([0.5], 3, "integers"),
    ([], 3, "zero labels"),
    ([0], 0, "positive integer"),
])
def test_histogram_errors(labels, k, message):
    with pytest.raises(ValueError, match=message):
        histogram(labels, k)


def test_histogram_weight_errors():
    with pytest.raises(ValueError, match="one value per label"):
        histogram([0, 1], 2, weights=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        histogram([0, 1], 2, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="sum to zero"):
        histogram([0, 1], 2, weights=[0.0, 0.0])
