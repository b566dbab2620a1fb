"""Bootstrap intervals for the real-vs-simulator gap, and the real-vs-real floor.

Both work on cluster labels from fixed codebooks (the codebook is not refit
inside the resampling: it is part of the measuring instrument, not of the
sample). The unit of resampling is the conversation: one set of resampled
conversation indices per replicate is applied to every facet, since a
conversation's facets are not independent.

Speed: a replicate's histogram is never built in a Python loop. Each source's
resamples become one (n, n_boot) matrix of conversation multiplicities (one
`np.bincount`), each facet's histograms for all replicates are one sparse
one-hot product with it, and divergences are computed on (n_boot, k) matrices.
The real-user replicates are computed once and shared by all simulators.

Bias. A plug-in divergence between two finite histograms is biased upward:
even identical populations give JS > 0, roughly (k - 1) / (4 n ln 2) bits for
two samples of n over k well-filled bins. The bootstrap replicates of that
plug-in are biased upward again by about the same amount, so the plain
percentile interval can sit entirely above the full-sample value when the
true gap is small relative to k / n. Efron's bias-corrected (BC) percentile
interval does not cure this: it contains the point estimate only while the
estimate lies between the 2.5% and 97.5% points of its own bootstrap
distribution, which is exactly what fails here. So the default interval
(`method="shifted"`) is the percentile interval of the replicates shifted by
the bootstrap bias estimate, [q_lo - b, q_hi - b] with b = mean(boot) - point:
a band for the sampling variability of the reported plug-in value, centred
on it. It does not remove the plug-in's own upward bias; that bias is the
same for every simulator at the same sample size, and `noise_floor` measures
it directly (real vs real at the simulators' n). "percentile", "bc" and
"basic" intervals are available through `ci(method=...)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import scipy.sparse as sp

from .divergence import ROW_METRICS

__all__ = ["BootstrapResult", "FloorResult", "bootstrap_gap", "bootstrap_gaps", "noise_floor"]

_CI_METHODS = ("shifted", "percentile", "bc", "basic")
_BLOCK = 1 << 23  # resampled indices held at once (~32 MB of int32)


# ------------------------------------------------------------- results

@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap of one simulator's gap to real users.

    `point` / `point_overall` are the full-sample values (what to report);
    `samples[facet]` and `overall` hold the n_boot replicate values.
    """
    metric: str
    facets: tuple[str, ...]
    point: dict[str, float]
    point_overall: float
    samples: dict[str, np.ndarray]
    overall: np.ndarray
    n_real: int
    n_sim: int
    n_boot: int
    seed: int

    def _pick(self, facet: str | None) -> tuple[float, np.ndarray]:
        if facet is None:
            return self.point_overall, self.overall
        if facet not in self.samples:
            raise ValueError(f"unknown facet '{facet}'; have {list(self.facets)}")
        return self.point[facet], self.samples[facet]

    def ci(self, level: float = 0.95, facet: str | None = None,
           method: str = "shifted") -> tuple[float, float]:
        """(lo, hi) interval for the overall gap, or for one facet.

        Methods (see module docstring): "shifted" (default) percentile
        interval shifted by the bootstrap bias, centred on the point estimate;
        "percentile" the raw percentiles of the replicates; "bc" Efron's
        bias-corrected percentiles; "basic" 2*point - reversed percentiles.
        Lower bounds are clipped at 0, since every divergence is >= 0.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        if method not in _CI_METHODS:
            raise ValueError(f"unknown CI method '{method}'; choose one of {list(_CI_METHODS)}")
        point, boot = self._pick(facet)
        a = (1.0 - level) / 2.0
        if method == "bc":
            B = boot.size
            frac = (np.sum(boot < point) + 0.5 * np.sum(boot == point)) / B
            frac = min(max(frac, 0.5 / B), 1.0 - 0.5 / B)  # finite z0 at the edges
            nd = NormalDist()
            z0 = nd.inv_cdf(frac)
            qs = [nd.cdf(2 * z0 + nd.inv_cdf(a)), nd.cdf(2 * z0 + nd.inv_cdf(1 - a))]
            lo, hi = np.quantile(boot, qs)
        else:
            q_lo, q_hi = np.quantile(boot, [a, 1.0 - a])
            if method == "percentile":
                lo, hi = q_lo, q_hi
            elif method == "shifted":
                bias = float(boot.mean()) - point
                lo, hi = q_lo - bias, q_hi - bias
            else:  # basic
                lo, hi = 2 * point - q_hi, 2 * point - q_lo
        return max(float(lo), 0.0), max(float(hi), 0.0)

    def bias(self, facet: str | None = None) -> float:
        """Bootstrap estimate of the plug-in bias: mean(replicates) - point."""
        point, boot = self._pick(facet)
        return float(boot.mean()) - point

    def se(self, facet: str | None = None) -> float:
        """Bootstrap standard error."""
        return float(self._pick(facet)[1].std(ddof=1))


@dataclass(frozen=True)
class FloorResult:
    """Real-vs-real split-half divergences: what "no gap" looks like at n_half.

    `samples[facet]` / `overall` hold the n_rep values; `mean` and `p95` are
    per facet, `mean_overall` / `p95_overall` for the facet-weighted overall.
    """
    metric: str
    facets: tuple[str, ...]
    n_half: int
    n_rep: int
    seed: int
    samples: dict[str, np.ndarray]
    overall: np.ndarray
    mean: dict[str, float]
    p95: dict[str, float]
    mean_overall: float
    p95_overall: float


# ------------------------------------------------------------ validation

def _check_inputs(real_labels: dict, k: dict, facet_weights: dict | None, metric: str):
    if metric not in ROW_METRICS:
        raise ValueError(f"unknown metric '{metric}'; choose one of {sorted(ROW_METRICS)}")
    facets = tuple(real_labels)
    if not facets:
        raise ValueError("no facets given")
    missing = [f for f in facets if f not in k]
    if missing:
        raise ValueError(f"k is missing facets {missing}")
    if facet_weights is None:
        weights = np.ones(len(facets))
    else:
        missing = [f for f in facets if f not in facet_weights]
        if missing:
            raise ValueError(f"facet_weights is missing facets {missing}")
        weights = np.array([float(facet_weights[f]) for f in facets])
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("facet weights must be finite, non-negative and not all zero")
    real = {f: _check_labels(real_labels[f], k[f], f"real labels of facet '{f}'") for f in facets}
    n = {a.shape[0] for a in real.values()}
    if len(n) != 1:
        raise ValueError("every facet must label the same real conversations (equal lengths), "
                         f"got lengths {sorted(n)}")
    return facets, weights / weights.sum(), real


def _check_labels(labels, k, what: str) -> np.ndarray:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k for {what} must be a positive integer, got {k!r}")
    a = np.asarray(labels)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must be integers")
    if a.min() < 0 or a.max() >= k:
        raise ValueError(f"{what} must lie in [0, {int(k)})")
    # int32 halves the memory and time of the (n_boot, n) gathers.
    return a.astype(np.int32 if k < 2**31 else np.int64, copy=False)


def _check_sim(sim_labels: dict, facets, k) -> dict:
    missing = [f for f in facets if f not in sim_labels]
    if missing:
        raise ValueError(f"simulator labels are missing facets {missing}")
    sim = {f: _check_labels(sim_labels[f], k[f], f"simulator labels of facet '{f}'") for f in facets}
    if len({a.shape[0] for a in sim.values()}) != 1:
        raise ValueError("every facet must label the same simulator conversations (equal lengths)")
    return sim


def _positive_int(name, v):
    if isinstance(v, bool) or int(v) != v or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


# ------------------------------------------------------------- kernels
# A replicate is a vector of per-conversation multiplicities (counts for the
# bootstrap, 0/1 for a split half). With the replicates as the columns of an
# (n, m) matrix W, the (k, m) cluster counts of all replicates are the sparse
# one-hot matrix (k, n) of a facet's labels times W: one C-level product per
# facet, and W is shared by all facets of a source.

def _onehot(labels: np.ndarray, k: int) -> sp.csr_matrix:
    n = labels.shape[0]
    return sp.csr_matrix((np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(k, n))


def _counts_matrix(idx: np.ndarray, n: int) -> np.ndarray:
    """(n, m) float32 multiplicities of each conversation in each row of idx (m, r)."""
    m = idx.shape[0]
    off = np.arange(m, dtype=idx.dtype if m * n < 2**31 else np.int64) * n
    W = np.bincount((idx + off[:, None]).ravel(), minlength=m * n).reshape(m, n)
    # float32 holds integer counts exactly up to 2**24, far above any n here.
    return np.ascontiguousarray(W.T, dtype=np.float32)


def _probs(labels: np.ndarray, W: np.ndarray, k: int) -> np.ndarray:
    """(m, k) float64 probability rows, one per replicate column of W."""
    C = np.asarray(_onehot(labels, k) @ W, dtype=np.float64).T
    return C / C.sum(axis=1, keepdims=True)


def _full(labels: np.ndarray, k: int) -> np.ndarray:
    return (np.bincount(labels, minlength=k) / labels.size)[None, :]


def _bootstrap_probs(labels: dict, k: dict, n_boot: int, seed_seq) -> dict:
    """facet -> (n_boot, k) replicate probabilities; one resampling for all facets.

    Replicates are drawn in blocks of about _BLOCK index entries so memory
    stays bounded for large sources; successive draws continue one random
    stream, so the result does not depend on the block size.
    """
    facets = tuple(labels)
    n = labels[facets[0]].shape[0]
    rng = np.random.default_rng(seed_seq)
    out = {f: np.empty((n_boot, int(k[f]))) for f in facets}
    block = max(1, _BLOCK // n)
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2**31 else np.int64)
        W = _counts_matrix(idx, n)
        for f in facets:
            out[f][start:start + b] = _probs(labels[f], W, int(k[f]))
    return out


# ------------------------------------------------------------ bootstrap

def bootstrap_gaps(real_labels: dict, sims: dict, k: dict, facet_weights: dict | None = None,
                   n_boot: int = 200, seed: int = 0, metric: str = "js") -> dict:
    """`bootstrap_gap` for several simulators, resampling real users once.

    `sims` maps simulator name -> {facet: labels}. The real-user replicates
    are shared by all simulators (a paired bootstrap: differences between
    simulators are then not inflated by real-side noise), and each result is
    identical to what `bootstrap_gap` returns for that simulator alone. Every
    simulator is resampled from the same stream ([seed, 1]), so simulators of
    equal size share one index pattern; that is harmless for each one's
    interval and pairs conversation i across simulators (the same task when
    personas run on one task pool).
    """
    facets, w, real = _check_inputs(real_labels, k, facet_weights, metric)
    n_boot = _positive_int("n_boot", n_boot)
    seed = int(seed)
    fn = ROW_METRICS[metric]
    n_r = real[facets[0]].shape[0]
    # Separate streams for the real side and the simulator side, so a
    # simulator's replicates do not depend on which other simulators run.
    real_full = {f: _full(real[f], int(k[f])) for f in facets}
    real_boot = _bootstrap_probs(real, k, n_boot, [seed, 0])

    out = {}
    for name, sim_labels in sims.items():
        sim = _check_sim(sim_labels, facets, k)
        n_s = sim[facets[0]].shape[0]
        sim_boot = _bootstrap_probs(sim, k, n_boot, [seed, 1])
        point = {f: float(fn(real_full[f], _full(sim[f], int(k[f])))[0]) for f in facets}
        samples = {f: fn(real_boot[f], sim_boot[f]) for f in facets}
        overall = np.sum([wf * samples[f] for wf, f in zip(w, facets)], axis=0)
        out[name] = BootstrapResult(
            metric=metric, facets=facets, point=point,
            point_overall=float(sum(wf * point[f] for wf, f in zip(w, facets))),
            samples=samples, overall=overall, n_real=n_r, n_sim=n_s, n_boot=n_boot, seed=seed)
    return out


def bootstrap_gap(real_labels: dict, sim_labels: dict, k: dict, facet_weights: dict | None = None,
                  n_boot: int = 200, seed: int = 0, metric: str = "js") -> BootstrapResult:
    """Bootstrap the per-facet and overall gap between real users and one simulator.

    real_labels / sim_labels map facet -> int cluster labels, one per
    conversation (same conversation order across facets); k maps facet ->
    codebook size; facet_weights map facet -> weight (None: equal) for the
    overall value, a weighted mean over facets. Conversations are resampled
    with replacement within each source, with the same indices for every
    facet. `metric` is a key of `divergence.all_divergences` ("js" in bits by
    default), always with real users as the first argument.
    Deterministic given `seed`.
    """
    return bootstrap_gaps(real_labels, {"_": sim_labels}, k, facet_weights,
                          n_boot=n_boot, seed=seed, metric=metric)["_"]


# ------------------------------------------------------------ noise floor

def noise_floor(real_labels: dict, k: dict, facet_weights: dict | None = None,
                n_half: int | None = None, n_rep: int = 50, seed: int = 0,
                metric: str = "js") -> FloorResult:
    """Divergence between two disjoint random halves of the real users.

    Each repetition permutes the real conversations and compares the first
    n_half with the next n_half (default len(real) // 2). The pipeline
    passes min(n_sim, len(real) // 2) so the floor is measured at the
    simulators' sample size where possible: a simulator whose gap is within
    the floor is indistinguishable from real users at that n.
    """
    facets, w, real = _check_inputs(real_labels, k, facet_weights, metric)
    n_rep = _positive_int("n_rep", n_rep)
    n_r = real[facets[0]].shape[0]
    if n_r < 2:
        raise ValueError("the noise floor needs at least 2 real conversations")
    n_half = n_r // 2 if n_half is None else _positive_int("n_half", n_half)
    if n_half > n_r // 2:
        raise ValueError(f"n_half={n_half} is more than half of the {n_r} real conversations")
    fn = ROW_METRICS[metric]
    # Own stream ([seed, 2]): a plain default_rng(seed) would replay the very
    # uniforms that, e.g., a demo generator seeded with the same number drew.
    rng = np.random.default_rng([int(seed), 2])
    # n_rep independent permutations at once: argsort of uniform noise.
    perm = np.argsort(rng.random((n_rep, n_r)), axis=1)[:, :2 * n_half]
    W_a = _counts_matrix(perm[:, :n_half], n_r)
    W_b = _counts_matrix(perm[:, n_half:], n_r)
    samples = {f: fn(_probs(real[f], W_a, int(k[f])), _probs(real[f], W_b, int(k[f])))
               for f in facets}
    overall = np.sum([wf * samples[f] for wf, f in zip(w, facets)], axis=0)
    return FloorResult(
        metric=metric, facets=facets, n_half=n_half, n_rep=n_rep, seed=int(seed),
        samples=samples, overall=overall,
        mean={f: float(samples[f].mean()) for f in facets},
        p95={f: float(np.percentile(samples[f], 95)) for f in facets},
        mean_overall=float(overall.mean()), p95_overall=float(np.percentile(overall, 95)))
