"""Divergences between two probability vectors on the same k bins.

Convention: `p` is the real-user distribution, `q` a simulator's, both
histograms over the clusters of one shared codebook. Inputs may be counts or
probabilities; every function normalizes them first, so only the shape of a
histogram matters.

Units:
- JS is in bits by default (`base=2`, range [0, 1]); `base=math.e` gives nats
  (range [0, ln 2]). It is computed on the raw histograms, no smoothing, as in
  the reference method (Mehri et al. 2026), which is why empty bins are fine.
- KL is in nats and always smoothed (additive alpha on both vectors, then
  renormalized) so it stays finite when a bin is empty on one side.
  `kl_forward = KL(real || sim)` is large when the simulator misses behaviour
  real users show (coverage-seeking); `kl_backward = KL(sim || real)` is large
  when the simulator hallucinates behaviour real users lack.
- Total variation and Hellinger distance are in [0, 1].

The `*_rows` functions are the vectorized forms used by the bootstrap: they
take an (m, k) matrix and a (k,) vector or another (m, k) matrix, and return
an (m,) array. The scalar functions are the one-row case of the same code, so
the two always agree exactly.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import rel_entr

__all__ = [
    "js", "kl", "total_variation", "hellinger", "all_divergences",
    "js_rows", "kl_rows", "tv_rows", "hellinger_rows", "ROW_METRICS", "metric_rows",
]


# ---------------------------------------------------------------- validation

def _as_prob(x, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """Validate non-negative finite weights and normalize along the last axis."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), "
                         f"got shape {a.shape}")
    if a.shape[-1] == 0:
        raise ValueError(f"{name} has no bins")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(a < 0):
        raise ValueError(f"{name} contains negative values")
    s = a.sum(axis=-1, keepdims=True)
    if np.any(s <= 0):
        raise ValueError(f"{name} sums to zero; a distribution needs at least one positive bin")
    out = a / s
    # A subnormal share would make the midpoint (p + q) / 2 underflow to 0
    # and send JS to its maximum; such bins hold no mass in practice.
    out[out < np.finfo(np.float64).tiny] = 0.0
    return out


def _check_pair(p, q, p_name: str = "p", q_name: str = "q") -> tuple[np.ndarray, np.ndarray]:
    p = _as_prob(p, p_name, (1,))
    q = _as_prob(q, q_name, (1,))
    if p.shape != q.shape:
        raise ValueError(f"{p_name} and {q_name} must have the same number of bins, "
                         f"got {p.shape[0]} and {q.shape[0]}")
    return p, q


def _check_rows(P, Q) -> tuple[np.ndarray, np.ndarray]:
    P = _as_prob(P, "P", (2,))
    Q = _as_prob(Q, "q", (1, 2))
    if Q.shape[-1] != P.shape[1]:
        raise ValueError(f"P and q must have the same number of bins, "
                         f"got {P.shape[1]} and {Q.shape[-1]}")
    if Q.ndim == 2 and Q.shape[0] != P.shape[0]:
        raise ValueError(f"P and q must have the same number of rows, "
                         f"got {P.shape[0]} and {Q.shape[0]}")
    return P, Q


def _log_base(base: float) -> float:
    base = float(base)
    if not (math.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"log base must be positive, finite and not 1, got {base}")
    return math.log(base)


def _check_alpha(alpha, k: int) -> float:
    if alpha is None:
        return 1.0 / k
    alpha = float(alpha)
    # alpha > 0 is what keeps KL finite when a bin is empty on one side.
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"smoothing alpha must be a positive finite number, got {alpha}")
    return alpha


# ---------------------------------------------------- unchecked row kernels
# Inputs are already row-normalized float64; these are what the bootstrap calls.

def _js_nats(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    M = 0.5 * (P + Q)
    # rel_entr(0, m) = 0, so empty bins on one side need no special case.
    d = 0.5 * (rel_entr(P, M).sum(axis=-1) + rel_entr(Q, M).sum(axis=-1))
    # Round-off can leave tiny negatives or overshoot ln 2 by an ulp.
    return np.clip(d, 0.0, math.log(2.0))


def _kl_nats(P: np.ndarray, Q: np.ndarray, alpha: float) -> np.ndarray:
    k = P.shape[-1]
    Ps = (P + alpha) / (1.0 + k * alpha)
    Qs = (Q + alpha) / (1.0 + k * alpha)
    return np.maximum(rel_entr(Ps, Qs).sum(axis=-1), 0.0)


def _tv(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    return np.clip(0.5 * np.abs(P - Q).sum(axis=-1), 0.0, 1.0)


def _hellinger(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    # sqrt(sum (sqrt p - sqrt q)^2 / 2) equals sqrt(1 - BC) but is exactly 0
    # for p == q (1 - BC would leave a last-bit error of ~1e-8).
    d = np.sqrt(P) - np.sqrt(Q)
    return np.sqrt(np.clip(0.5 * (d * d).sum(axis=-1), 0.0, 1.0))


# ------------------------------------------------------------- row versions

def js_rows(P, q, base: float = 2.0) -> np.ndarray:
    """Jensen-Shannon divergence between each row of P (m, k) and q.

    q is a (k,) vector compared with every row, or an (m, k) matrix compared
    row by row. Returns an (m,) float64 array, in bits for base 2.
    """
    lb = _log_base(base)
    P, Q = _check_rows(P, q)
    return _js_nats(P, Q) / lb


def kl_rows(P, q, alpha: float | None = None) -> np.ndarray:
    """Smoothed KL(P_i || q) in nats for each row of P; alpha defaults to 1/k."""
    P, Q = _check_rows(P, q)
    return _kl_nats(P, Q, _check_alpha(alpha, P.shape[1]))


def tv_rows(P, q) -> np.ndarray:
    """Total variation distance between each row of P and q."""
    P, Q = _check_rows(P, q)
    return _tv(P, Q)


def hellinger_rows(P, q) -> np.ndarray:
    """Hellinger distance between each row of P and q."""
    P, Q = _check_rows(P, q)
    return _hellinger(P, Q)


# --------------------------------------------------------- scalar versions

def js(p, q, base: float = 2.0) -> float:
    """Jensen-Shannon divergence on raw histograms; bits by default, in [0, 1].

    Equals `scipy.spatial.distance.jensenshannon(p, q, base) ** 2`.
    """
    lb = _log_base(base)
    p, q = _check_pair(p, q)
    return float(_js_nats(p, q) / lb)


def kl(p, q, alpha: float | None = None) -> float:
    """KL(p || q) in nats after additive smoothing.

    Both vectors are normalized, alpha is added to every bin, and they are
    renormalized; alpha defaults to 1/k as in the reference method.
    """
    p, q = _check_pair(p, q)
    return float(_kl_nats(p, q, _check_alpha(alpha, p.shape[0])))


def total_variation(p, q) -> float:
    """Total variation distance: half the L1 distance, in [0, 1]."""
    p, q = _check_pair(p, q)
    return float(_tv(p, q))


def hellinger(p, q) -> float:
    """Hellinger distance sqrt(1 - sum_i sqrt(p_i q_i)), in [0, 1]."""
    p, q = _check_pair(p, q)
    return float(_hellinger(p, q))


def all_divergences(p_real, q_sim) -> dict[str, float]:
    """Every divergence between the real-user and a simulator histogram.

    Keys: `js` (bits), `js_nats`, `kl_forward` = KL(real || sim) and
    `kl_backward` = KL(sim || real) (nats, alpha = 1/k), `tv`, `hellinger`.
    """
    p, q = _check_pair(p_real, q_sim, "p_real", "q_sim")
    alpha = 1.0 / p.shape[0]
    js_n = float(_js_nats(p, q))
    return {
        "js": js_n / math.log(2.0),
        "js_nats": js_n,
        "kl_forward": float(_kl_nats(p, q, alpha)),
        "kl_backward": float(_kl_nats(q, p, alpha)),
        "tv": float(_tv(p, q)),
        "hellinger": float(_hellinger(p, q)),
    }


# ---------------------------------------------------- metric by name (rows)

def _rows_js_bits(P, Q):
    return _js_nats(P, Q) / math.log(2.0)


def _rows_kl_forward(P, Q):
    return _kl_nats(P, Q, 1.0 / P.shape[-1])


def _rows_kl_backward(P, Q):
    return _kl_nats(Q, P, 1.0 / P.shape[-1])


# Unchecked kernels keyed by the names `all_divergences` uses; the first
# argument is always the real-user side.
ROW_METRICS = {
    "js": _rows_js_bits,
    "js_nats": _js_nats,
    "kl_forward": _rows_kl_forward,
    "kl_backward": _rows_kl_backward,
    "tv": _tv,
    "hellinger": _hellinger,
}


def metric_rows(metric: str, P_real, Q_sim) -> np.ndarray:
    """Named divergence (a key of `all_divergences`) between matching rows."""
    if metric not in ROW_METRICS:
        raise ValueError(f"unknown metric '{metric}'; choose one of {sorted(ROW_METRICS)}")
    P, Q = _check_rows(P_real, Q_sim)
    return ROW_METRICS[metric](P, Q)
