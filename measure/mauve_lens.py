"""MAUVE beside JS and the discriminator, optional (`--mauve`).

MAUVE (Pillutla et al., 2021) compares two samples of embeddings through the
area under a divergence frontier of their quantized distributions; 1 means
the same distribution. Here it runs per facet on the same description
embeddings the codebooks quantize, with the package's defaults (its own
PCA and k-means per pair, k = n/10), and the facet-weighted mean is
reported per simulator. It needs the `mauve-text` package (the `bench`
extra); without it `--mauve` stops with a one-line error.

It can disagree with JS: MAUVE re-clusters every (real, simulator) pair on
its own, so its bins follow the two samples at hand, while JS uses one
codebook shared by every source; and MAUVE's frontier saturates for very
different samples (scores near 0 stop ranking), where JS keeps growing.
"""
from __future__ import annotations

import warnings

import numpy as np

from .errors import ConfigError

MISSING = ("--mauve needs the mauve-text package, which is not installed: "
           "install the bench extra (pip install 'ensemble-fit[bench]')")


def check_available() -> None:
    """Raise ConfigError with an install hint when `mauve` cannot be imported."""
    try:
        import mauve  # noqa: F401
    except ImportError:
        raise ConfigError(MISSING) from None


def mauve_scores(embeddings: dict[str, tuple[np.ndarray, np.ndarray]], real_rows: np.ndarray,
                 sim_rows: dict[str, np.ndarray], facet_weights: dict[str, float],
                 seed: int = 0) -> dict[str, float]:
    """Facet-weighted MAUVE of every simulator against real users.

    Parameters
    ----------
    embeddings : facet -> (vectors (n_texts, d), index (n,) row -> text).
    real_rows, sim_rows : row indices of real users and of each simulator.
    facet_weights : facet -> weight (summing to 1).
    seed : passed to `mauve.compute_mauve`.

    Returns
    -------
    dict
        simulator -> MAUVE in [0, 1] (1: indistinguishable).
    """
    check_available()
    import mauve

    out = {s: 0.0 for s in sim_rows}
    for f, w in facet_weights.items():
        vectors, index = embeddings[f]
        xr = vectors[index[real_rows]]
        for s, rows in sim_rows.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = mauve.compute_mauve(p_features=xr, q_features=vectors[index[rows]], seed=seed,
                                          verbose=False)
            out[s] += w * float(res.mauve)
    return out
