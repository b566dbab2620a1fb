"""A fixed yardstick that scores mixture weights, whatever settings produced them.

A sweep cannot compare trials by their own held-out divergence: that number is
measured on the trial's own codebooks, and coarse codebooks make every
distribution look alike (k=1 gives divergence 0), while putting all facet
weight on the easiest facet lowers it too. So every trial is scored on the
same ruler, built once per sweep and independent of the trial's k, facet
weights, PCA and divergence:

- for every facet, codebooks at several resolutions (k in {8, 32, 128} by
  default, clipped to the data size), fit on the fit split only (never on
  held-out real users), with a fixed seed distinct from the trials' seed so no
  trial codebook coincides with a yardstick codebook, and the default PCA;
- the score of mixture weights w is the mean, over facets (equal weights) and
  resolutions, of JS(sum_s w_s P_s, Q_heldout) in bits, where P_s is simulator
  s's histogram and Q_heldout the held-out real users' histogram.

Several resolutions so that a trial cannot win by matching the one partition
the yardstick happens to use; equal facet weights so that a trial that fits
one facet and ignores the others pays for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from measure.distributions import histogram
from measure.divergence import js_rows
from measure.errors import EnsembleFitError
from measure.pipeline import Prepared, fit_labels

RESOLUTIONS = (8, 32, 128)
SEED_OFFSET = 7919  # yardstick seed = sweep seed + this: never a trial codebook's seed


@dataclass
class Yardstick:
    """Per (facet, resolution): simulator histograms and the held-out real target."""
    names: list[str]                                   # simulators, row order of every P
    facets: list[str]
    resolutions: dict[str, list[int]]                  # facet -> effective k of each codebook
    P: dict[tuple[str, int], np.ndarray] = field(repr=False)       # (S, k)
    q_heldout: dict[tuple[str, int], np.ndarray] = field(repr=False)  # (k,)
    seed: int = 0
    n_heldout: int = 0

    def _vector(self, weights: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
        if isinstance(weights, Mapping):
            w = np.array([float(weights.get(s, 0.0)) for s in self.names])
        else:
            w = np.asarray(weights, dtype=float)
        if w.shape != (len(self.names),) or not np.all(np.isfinite(w)) or (w < -1e-9).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(self.names)} non-negative numbers with a positive sum")
        w = np.clip(w, 0.0, None)
        return w / w.sum()

    def per_facet(self, weights) -> dict[str, float]:
        """Facet -> mean JS (bits) over resolutions of the mixture vs held-out real users."""
        w = self._vector(weights)
        out = {}
        for f in self.facets:
            vals = [float(js_rows((w @ self.P[f, k])[None, :], self.q_heldout[f, k])[0])
                    for k in self.resolutions[f]]
            out[f] = float(np.mean(vals))
        return out

    def score(self, weights) -> float:
        """The yardstick value: mean over facets (equal weights) and resolutions, in bits."""
        return float(np.mean(list(self.per_facet(weights).values())))

    def to_dict(self) -> dict:
        return {"resolutions": self.resolutions, "seed": self.seed, "facet_weights": "equal",
                "divergence": "js", "units": "bits", "n_real_heldout": self.n_heldout,
                "codebooks_fit_on": "fit split (simulators + fit real users)"}


def clip_resolutions(resolutions: Sequence[int], n_small: int) -> list[int]:
    """Keep resolutions with at least ~3 conversations per bin in the smallest
    histogram; sparser bins make JS mostly sampling noise. Duplicates collapse."""
    cap = max(2, n_small // 3)
    return sorted({max(2, min(int(r), cap)) for r in resolutions})


def build_yardstick(prep: Prepared, resolutions: Sequence[int] = RESOLUTIONS, seed: int = 0,
                    pca_variance: float | None = 0.9, minibatch_threshold: int = 20000,
                    cache_dir: Path | None = None, memo: dict | None = None) -> Yardstick:
    """Fit (or load) the evaluation codebooks once; see the module docstring."""
    held_rows = np.flatnonzero(prep.heldout)
    if len(held_rows) == 0:
        raise EnsembleFitError("the sweep scores trials on held-out real users: set --heldout > 0")
    n_small = min(len(held_rows), prep.min_source_size())
    ks = clip_resolutions(resolutions, n_small)
    ys = seed + SEED_OFFSET
    names = list(prep.simulators)
    P, q, eff = {}, {}, {}
    for f in prep.facets:
        eff[f] = []
        for k in ks:
            labels, k_eff = fit_labels(prep, f, k, ys, pca_variance, minibatch_threshold, cache_dir, memo)
            if k_eff in eff[f]:  # few distinct descriptions: two resolutions gave one codebook
                continue
            eff[f].append(k_eff)
            P[f, k_eff] = np.vstack([histogram(labels[prep.rows_of(s)], k_eff) for s in names])
            q[f, k_eff] = histogram(labels[held_rows], k_eff)
    return Yardstick(names=names, facets=list(prep.facets), resolutions=eff, P=P, q_heldout=q,
                     seed=ys, n_heldout=len(held_rows))
