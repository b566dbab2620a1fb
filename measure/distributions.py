"""Cluster labels -> probability vectors over the k clusters of a codebook."""
from __future__ import annotations

import numpy as np

__all__ = ["histogram", "histograms_by_group"]


def _check_labels(labels, k: int) -> np.ndarray:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    a = np.asarray(labels)
    if a.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        # Accept integer-valued floats (e.g. read back from JSON), nothing else.
        if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)) \
                or np.any(a != np.round(a)):
            raise ValueError("labels must be integers")
        a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= k):
        raise ValueError(f"labels must lie in [0, {int(k)}), got range "
                         f"[{int(a.min())}, {int(a.max())}]")
    return a.astype(np.intp, copy=False)


def histogram(labels, k: int, weights=None) -> np.ndarray:
    """Probability vector (float64, shape (k,)) of cluster labels in [0, k).

    Empty clusters get probability 0. Optional non-negative `weights`, one
    per label, weigh each item; the result is normalized either way.
    """
    a = _check_labels(labels, k)
    if a.size == 0:
        raise ValueError("cannot build a histogram from zero labels")
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != a.shape:
            raise ValueError(f"weights must have one value per label, got shape {w.shape} "
                             f"for {a.size} labels")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    else:
        w = None
    counts = np.bincount(a, weights=w, minlength=int(k)).astype(np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("weights sum to zero")
    return counts / total


def histograms_by_group(labels, groups, k: int) -> dict:
    """One probability vector per group, in order of first appearance.

    `groups` holds one hashable key (e.g. a source name) per label.
    """
    a = _check_labels(labels, k)
    g = np.asarray(groups)
    if g.shape != a.shape:
        raise ValueError(f"groups must have one entry per label, got {g.shape[0] if g.ndim else 0} "
                         f"groups for {a.size} labels")
    keys, first, inverse = np.unique(g, return_index=True, return_inverse=True)
    out = {}
    for j in np.argsort(first, kind="stable"):
        key = keys[j]
        key = key.item() if isinstance(key, np.generic) else key
        out[key] = histogram(a[inverse == j], k)
    return out

