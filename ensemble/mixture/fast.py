"""A fast solve of the plain mixture problem for bootstrap replicates.

The weight bootstrap of `run` and the planner re-fit the weights tens to
hundreds of times on resampled histograms. The conic solver of
`ensemble.mixture.optimizer` compiles every new problem (~0.1-0.5 s a
solve at paper scale); this SLSQP solve with the analytic JS gradient,
warm-started at the point estimate's weights, takes milliseconds and agrees
with it to ~1e-4 (tests/test_plan.py, tests/test_run.py). Only the
plain simplex problem: no bounds, costs or cardinality.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

_EPS = 1e-12
_LN2 = np.log(2.0)


@dataclass(frozen=True)
class Stacked:
    """All facets side by side: bins of every facet concatenated, each bin
    carrying its facet's weight, so one vector op evaluates the objective."""
    P: np.ndarray        # (S, K) simulator histograms
    q: np.ndarray        # (K,) real histogram
    lam: np.ndarray      # (K,) facet weight of each bin


def stack(P: dict[str, np.ndarray], q: dict[str, np.ndarray], facet_weights: dict[str, float]) -> Stacked:
    facets = list(facet_weights)
    return Stacked(P=np.hstack([P[f] for f in facets]), q=np.concatenate([q[f] for f in facets]),
                   lam=np.concatenate([np.full(len(q[f]), facet_weights[f]) for f in facets]))


def objective(w: np.ndarray, s: Stacked) -> float:
    """sum_f lambda_f JS(w P_f, q_f) in bits."""
    return float(objectives(np.asarray(w, float)[None, :], s)[0])


def objectives(W: np.ndarray, s: Stacked) -> np.ndarray:
    """objective() for every row of W (n, S)."""
    M = W @ s.P
    A = 0.5 * (M + s.q)
    with np.errstate(divide="ignore", invalid="ignore"):
        tm = np.where(M > 0, M * np.log(np.where(M > 0, M, 1) / np.where(A > 0, A, 1)), 0.0)
        tq = np.where(s.q > 0, s.q * np.log(np.where(s.q > 0, s.q, 1) / np.where(A > 0, A, 1)), 0.0)
    return (0.5 * (tm + tq)) @ s.lam / _LN2


def _gradient(w: np.ndarray, s: Stacked) -> np.ndarray:
    # d JS / d m_i = 0.5 log2(m_i / a_i); an empty mixture bin that real users
    # fill pulls hard but finitely (clipped), which SLSQP needs.
    m = np.maximum(w @ s.P, _EPS)
    a = 0.5 * (m + s.q)
    return s.P @ (s.lam * 0.5 * np.log(m / a) / _LN2)


def solve_weights(s: Stacked, w0: np.ndarray | None = None) -> np.ndarray:
    """Simplex weights minimising the stacked objective, from w0 (default uniform)."""
    S = s.P.shape[0]
    if S == 1:
        return np.ones(1)
    x0 = np.full(S, 1.0 / S) if w0 is None else np.clip(np.asarray(w0, float), 0, 1)
    x0 = x0 / x0.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = minimize(lambda x: objective(np.clip(x, 0, 1), s), x0,
                     jac=lambda x: _gradient(np.clip(x, 0, 1), s), method="SLSQP",
                     bounds=[(0.0, 1.0)] * S,
                     constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0,
                                   "jac": lambda x: np.ones_like(x)}],
                     options={"ftol": 1e-12, "maxiter": 300})
    w = np.clip(r.x, 0.0, 1.0)
    w[w < 1e-7] = 0.0          # solver dust, not weight
    total = w.sum()
    return w / total if total > 0 else x0
