"""One shared k-means codebook that quantizes every source on a facet.

The reference method (Mehri et al. 2026) refits PCA + k-means on each
(real, simulator) pair. We fit one codebook on all sources together so that
every simulator's histogram lives on the same bins and the numbers are
comparable across simulators, and mixtures of simulators are mixtures of
histograms.

Balancing. With a shared codebook, a source with 10x more conversations would
otherwise pull 10x more centroids into its own region and blur the regions of
small sources. We therefore give every source the same total weight: each row
of group g carries sample weight n_rows / (n_groups * len(g)), in both the PCA
and k-means. Weights rather than subsampling to the smallest group, because
(a) the weighting is exact whatever the imbalance, (b) no row is thrown away,
so centroids are less noisy, and (c) there is no minimum-size rule to tune
when one source is tiny. Weights are scaled to mean 1 so `inertia_` keeps the
scale of an unweighted inertia. `balance=False` turns this off (plain pooling).

PCA is a weighted PCA with the same weights (sklearn's PCA takes no sample
weights); it keeps the fewest leading components whose explained variance
ratio reaches `pca_variance`.

`predict` assigns every row, pooled or not, to its nearest centroid with one
deterministic routine, so predictions on a loaded codebook are bit-for-bit
those of the fitted one.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .atomic import atomic_file

__all__ = ["default_k", "Codebook", "WeightedPCA"]

_FORMAT = 1
_CHUNK = 8192  # rows per block in distance and covariance loops (bounds memory)


def default_k(n_per_source: int, cap: int = 500) -> int:
    """Number of clusters for a codebook: max(2, round(n / 10)), capped at `cap`.

    `n_per_source` is the size of the smallest source quantized with the
    codebook (the rule of MAUVE and the reference method: about ten items per
    cluster for the source that has the fewest).
    """
    if isinstance(n_per_source, bool) or int(n_per_source) != n_per_source or n_per_source < 1:
        raise ValueError(f"n_per_source must be a positive integer, got {n_per_source!r}")
    if int(cap) != cap or cap < 2:
        raise ValueError(f"cap must be an integer >= 2, got {cap!r}")
    return int(min(int(cap), max(2, int(round(int(n_per_source) / 10)))))


def _check_X(X, name: str = "X") -> np.ndarray:
    a = np.asarray(X)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x features), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty, got shape {a.shape}")
    # float32 stays float32 (embeddings are float32); anything else -> float64.
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _balance_weights(groups, n: int) -> np.ndarray:
    """Weights giving every group the same total, scaled to mean 1."""
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise ValueError(f"groups must have one entry per row of X, got shape {g.shape} for {n} rows")
    _, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    return n / (len(counts) * counts[inverse].astype(np.float64))


def _count_distinct_rows(X: np.ndarray, enough: int) -> int:
    """Number of distinct rows, exact when below `enough` (else a value >= enough).

    A random projection first: distinct projections imply distinct rows, so
    when that already finds `enough`, no exact (slow) row sort is needed.
    Row-wise numpy sums reduce identical rows in identical order, so equal
    rows always project to equal values.
    """
    r = np.random.default_rng(12345).standard_normal(X.shape[1])
    proj = np.concatenate([(X[i:i + _CHUNK].astype(np.float64) * r).sum(axis=1)
                           for i in range(0, X.shape[0], _CHUNK)])
    n_proj = np.unique(proj).size
    if n_proj >= enough:
        return n_proj
    return int(np.unique(X, axis=0).shape[0])


class WeightedPCA:
    """PCA with sample weights, keeping a fraction of the variance.

    Attributes mirror sklearn's PCA: `mean_` (d,), `components_` (m, d),
    `explained_variance_` (m,), `explained_variance_ratio_` (m,),
    `n_components_`. Component signs are fixed (largest |loading| positive)
    so refits give the same axes.
    """

    def __init__(self, variance: float):
        if not (0 < float(variance) <= 1):
            raise ValueError(f"pca_variance must be in (0, 1], got {variance!r}")
        self.variance = float(variance)

    def fit(self, X, sample_weight=None) -> "WeightedPCA":
        X = _check_X(X)
        n, d = X.shape
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        wsum = w.sum()
        mean = np.zeros(d)
        for i in range(0, n, _CHUNK):
            mean += w[i:i + _CHUNK] @ X[i:i + _CHUNK].astype(np.float64)
        mean /= wsum
        # Covariance accumulated in float64 blocks: no n x d float64 copy.
        cov = np.zeros((d, d))
        for i in range(0, n, _CHUNK):
            Xc = X[i:i + _CHUNK].astype(np.float64) - mean
            cov += (Xc * w[i:i + _CHUNK, None]).T @ Xc
        cov /= wsum
        evals, evecs = np.linalg.eigh(cov)
        evals, evecs = np.clip(evals[::-1], 0.0, None), evecs[:, ::-1].T
        total = evals.sum()
        if total <= 0:
            m = 1  # all rows identical: one (arbitrary) axis, everything projects to 0
            ratio = np.array([1.0])
        else:
            ratio = evals / total
            # Tolerance so that variance=1.0 is reachable despite round-off.
            m = int(np.searchsorted(np.cumsum(ratio), self.variance - 1e-10) + 1)
            m = min(m, d)
            ratio = ratio[:m]
        comps = evecs[:m]
        signs = np.sign(comps[np.arange(m), np.argmax(np.abs(comps), axis=1)])
        signs[signs == 0] = 1.0
        self.mean_ = mean
        self.components_ = comps * signs[:, None]
        self.explained_variance_ = evals[:m]
        self.explained_variance_ratio_ = ratio
        self.n_components_ = m
        return self

    def transform(self, X) -> np.ndarray:
        """Project onto the kept components; float32 in gives float32 out."""
        X = _check_X(X)
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has {X.shape[1]} features, the PCA was fitted on {self.mean_.shape[0]}")
        out = np.empty((X.shape[0], self.n_components_), dtype=X.dtype)
        for i in range(0, X.shape[0], _CHUNK):
            out[i:i + _CHUNK] = (X[i:i + _CHUNK].astype(np.float64) - self.mean_) @ self.components_.T
        return out


class Codebook:
    """Balanced PCA + k-means codebook shared by all sources of one facet.

    Parameters
    ----------
    n_clusters : requested k; the fitted `n_clusters_` is smaller only when
        the pool has fewer distinct rows than that.
    pca_variance : fraction of variance to keep with PCA, or None for no PCA
        (the reference uses 0.9).
    random_state : seed for k-means (int, required for reproducibility).
    minibatch_threshold : pools with more rows than this use MiniBatchKMeans,
        smaller pools use full KMeans.
    max_iter, n_init : passed to the k-means estimator (for MiniBatchKMeans
        max_iter counts passes over the data; it stops early on convergence).
    balance : give each group the same total weight (see module docstring).

    Fitted attributes: `cluster_centers_` (n_clusters_, d_reduced) in the
    reduced space, `n_clusters_`, `pca_` (WeightedPCA or None), `inertia_`
    (balance-weighted), `n_features_in_`, `n_pool_`, `algorithm_`
    ("kmeans" or "minibatch").
    """

    def __init__(self, n_clusters: int, pca_variance: float | None = None, random_state: int = 0,
                 minibatch_threshold: int = 20000, max_iter: int = 300, n_init: int = 3,
                 balance: bool = True):
        self.n_clusters = n_clusters
        self.pca_variance = pca_variance
        self.random_state = random_state
        self.minibatch_threshold = minibatch_threshold
        self.max_iter = max_iter
        self.n_init = n_init
        self.balance = balance

    # ------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        def pos_int(name, v):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        pos_int("n_clusters", self.n_clusters)
        pos_int("minibatch_threshold", self.minibatch_threshold)
        pos_int("max_iter", self.max_iter)
        pos_int("n_init", self.n_init)
        if isinstance(self.random_state, bool) or not isinstance(self.random_state, (int, np.integer)) \
                or self.random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {self.random_state!r}")
        if self.pca_variance is not None and not (0 < float(self.pca_variance) <= 1):
            raise ValueError(f"pca_variance must be in (0, 1] or None, got {self.pca_variance!r}")

    def fit(self, X, groups=None, sample_weight=None) -> "Codebook":
        """Fit on the pool of all rows of X; `groups` names each row's source.

        With groups (and balance=True) every source weighs the same in PCA
        and k-means, whatever its size. Without groups all rows weigh the same.
        `sample_weight` (n,), optional, multiplies those weights: a row with
        weight m stands for m identical rows, so a pool of repeated rows can
        be fit as its distinct rows with their summed weights (the weighted
        PCA is then the same, and k-means minimizes the same objective).
        """
        self._check_params()
        X = _check_X(X)
        n = X.shape[0]
        w = _balance_weights(groups, n) if (groups is not None and self.balance) else np.ones(n)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.shape != (n,) or not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
                raise ValueError(f"sample_weight must be {n} finite non-negative values with a "
                                 f"positive sum, got shape {sw.shape}")
            w = w * sw
        self.n_features_in_ = X.shape[1]
        self.n_pool_ = n

        self.pca_ = None
        Z = X
        if self.pca_variance is not None:
            self.pca_ = WeightedPCA(self.pca_variance).fit(X, sample_weight=w)
            Z = self.pca_.transform(X)

        # Imported here: a run whose codebooks are all cached never fits one,
        # and scikit-learn's import (scipy.stats, pandas) is ~1.5 s of it.
        from sklearn.cluster import KMeans, MiniBatchKMeans

        # k-means cannot place more centroids than there are distinct points.
        k = min(int(self.n_clusters), _count_distinct_rows(X, int(self.n_clusters)))
        if n > self.minibatch_threshold:
            batch = max(1024, 3 * k)  # sklearn advises batches larger than k
            km = MiniBatchKMeans(n_clusters=k, random_state=int(self.random_state),
                                 n_init=int(self.n_init), max_iter=int(self.max_iter),
                                 batch_size=batch, init_size=min(n, max(3 * batch, 3 * k)))
            self.algorithm_ = "minibatch"
        else:
            km = KMeans(n_clusters=k, random_state=int(self.random_state), n_init=int(self.n_init),
                        max_iter=int(self.max_iter), algorithm="lloyd")
            self.algorithm_ = "kmeans"
        km.fit(Z, sample_weight=w)
        self.cluster_centers_ = np.ascontiguousarray(km.cluster_centers_, dtype=Z.dtype)
        self.n_clusters_ = k
        self.inertia_ = float(km.inertia_)
        return self

    def fit_predict(self, X, groups=None) -> np.ndarray:
        return self.fit(X, groups).predict(X)

    # --------------------------------------------------------- predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this Codebook is not fitted yet; call fit(X, groups) or Codebook.load(path)")

    def transform(self, X) -> np.ndarray:
        """Rows in the space the centroids live in (PCA space, or X itself)."""
        self._check_fitted()
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the codebook was fitted on {self.n_features_in_}")
        return X if self.pca_ is None else self.pca_.transform(X)

    def predict(self, X) -> np.ndarray:
        """Index (int64) of the nearest centroid for every row of X."""
        Z = self.transform(X)
        C = self.cluster_centers_.astype(np.float64)
        c2 = (C * C).sum(axis=1)
        out = np.empty(Z.shape[0], dtype=np.int64)
        for i in range(0, Z.shape[0], _CHUNK):
            B = Z[i:i + _CHUNK].astype(np.float64)
            # ||z||^2 is constant per row, so it does not change the argmin.
            out[i:i + _CHUNK] = np.argmin(c2[None, :] - 2.0 * (B @ C.T), axis=1)
        return out

    # ------------------------------------------------------- persistence
    def save(self, path) -> Path:
        """Write the fitted codebook to a .npz file atomically (tmp + rename)."""
        self._check_fitted()
        path = Path(path)
        pca = self.pca_
        arrays = {
            "format": np.int64(_FORMAT),
            "n_clusters": np.int64(self.n_clusters),
            "pca_variance": np.float64(np.nan if self.pca_variance is None else self.pca_variance),
            "random_state": np.int64(self.random_state),
            "minibatch_threshold": np.int64(self.minibatch_threshold),
            "max_iter": np.int64(self.max_iter),
            "n_init": np.int64(self.n_init),
            "balance": np.bool_(self.balance),
            "n_clusters_": np.int64(self.n_clusters_),
            "n_features_in_": np.int64(self.n_features_in_),
            "n_pool_": np.int64(self.n_pool_),
            "algorithm_": np.str_(self.algorithm_),
            "inertia_": np.float64(self.inertia_),
            "cluster_centers_": self.cluster_centers_,
            "has_pca": np.bool_(pca is not None),
        }
        if pca is not None:
            arrays.update(pca_mean=pca.mean_, pca_components=pca.components_,
                          pca_explained_variance=pca.explained_variance_,
                          pca_explained_variance_ratio=pca.explained_variance_ratio_)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            np.savez(f, **arrays)  # a file object: numpy adds no ".npz" suffix
        return path

    @classmethod
    def load(cls, path) -> "Codebook":
        """Read a codebook written by `save`; predictions equal the original's."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                d = {key: z[key] for key in z.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read codebook file {path}: {exc}") from exc
        if int(d.get("format", -1)) != _FORMAT:
            raise ValueError(f"{path} is not a codebook file of format {_FORMAT}")
        pv = float(d["pca_variance"])
        cb = cls(n_clusters=int(d["n_clusters"]), pca_variance=None if math.isnan(pv) else pv,
                 random_state=int(d["random_state"]),
                 minibatch_threshold=int(d["minibatch_threshold"]),
                 max_iter=int(d["max_iter"]), n_init=int(d["n_init"]), balance=bool(d["balance"]))
        cb.n_clusters_ = int(d["n_clusters_"])
        cb.n_features_in_ = int(d["n_features_in_"])
        cb.n_pool_ = int(d["n_pool_"])
        cb.algorithm_ = str(d["algorithm_"])
        cb.inertia_ = float(d["inertia_"])
        cb.cluster_centers_ = d["cluster_centers_"]
        cb.pca_ = None
        if bool(d["has_pca"]):
            pca = WeightedPCA(cb.pca_variance)
            pca.mean_ = d["pca_mean"]
            pca.components_ = d["pca_components"]
            pca.explained_variance_ = d["pca_explained_variance"]
            pca.explained_variance_ratio_ = d["pca_explained_variance_ratio"]
            pca.n_components_ = int(pca.components_.shape[0])
            cb.pca_ = pca
        return cb


# ------------------------------------------------- coarser codebooks by merging
# A sweep tries many k per facet; fitting k-means for each is most of a
# trial's time. Instead the finest codebook is fit once and every coarser one
# is a cut of a Ward merge tree over its centroids, each centroid weighted by
# the pool weight it holds: merging the two clusters whose union adds the
# least weighted within-cluster variance is what k-means at a smaller k would
# also trade off, and every cut is a coarsening of the fine partition, so a
# row's coarse label is a lookup of its fine label.


def ward_merges(centers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Ward agglomeration of `centers`; returns the (n-1, 2) merges in order.

    Parameters
    ----------
    centers : (n, d) array
        Cluster centroids (in the codebook's space).
    weights : (n,) array
        The weight each centroid stands for (>= 0; zeros are treated as tiny).

    Returns
    -------
    ndarray of int64, shape (n - 1, 2)
        Row t merges clusters `a < b` (named by their lowest original index):
        after the first n - k rows, k clusters remain. Ties go to the lowest
        pair, so the tree is deterministic.
    """
    C = np.asarray(centers, dtype=np.float64).copy()
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    n = C.shape[0]
    if C.ndim != 2 or w.shape != (n,):
        raise ValueError(f"centers must be (n, d) and weights (n,), got {C.shape} and {w.shape}")
    # Merge cost of i and j: w_i w_j / (w_i + w_j) * |c_i - c_j|^2.
    sq = (C * C).sum(axis=1)
    D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (C @ C.T), 0.0)
    cost = D * (w[:, None] * w[None, :]) / (w[:, None] + w[None, :])
    iu = np.tril_indices(n)
    cost[iu] = np.inf  # only pairs a < b
    active = np.ones(n, dtype=bool)
    merges = np.empty((max(0, n - 1), 2), dtype=np.int64)
    for t in range(n - 1):
        flat = int(np.argmin(cost))
        a, b = divmod(flat, n)
        merges[t] = (a, b)
        wa, wb = w[a], w[b]
        C[a] = (wa * C[a] + wb * C[b]) / (wa + wb)
        w[a] = wa + wb
        active[b] = False
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        # New costs of the merged cluster `a` to every other active cluster.
        others = np.flatnonzero(active)
        others = others[others != a]
        d2 = ((C[others] - C[a]) ** 2).sum(axis=1)
        new = d2 * (w[others] * w[a]) / (w[others] + w[a])
        lo = others < a
        cost[others[lo], a] = new[lo]
        cost[a, others[~lo]] = new[~lo]
    return merges


def cut_merges(merges: np.ndarray, n: int, k: int) -> np.ndarray:
    """Fine cluster -> coarse cluster (0..k-1) after all but the last k - 1 merges.

    Coarse clusters are numbered by their lowest fine cluster, so the map
    depends only on the tree and k.
    """
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in merges[:n - k]:
        ra, rb = root(int(a)), root(int(b))
        parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(n)])
    _, mapping = np.unique(roots, return_inverse=True)
    return mapping.astype(np.int64)
