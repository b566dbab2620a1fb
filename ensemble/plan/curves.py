"""How the gap CIs and the mixture weights' CIs shrink with n: the bootstrap at
several sizes.

Method. For every source j (real users and each simulator) and every size
m in `sizes` x n_j, resample m conversations of source j with replacement,
keep every other source at its pilot histograms, and recompute the
statistics (weights by a re-solve, gaps by a re-evaluation). The spread
over replicates at the different sizes gives, per source, a curve

    MSE(m) = a (n_j / m) + b (n_j / m)^2     (a, b >= 0 fitted on the sizes)

and the error of a statistic at a planned vector of sizes n is the sum of
the per-source curves (sampling noise of different sources is independent;
to first order their contributions add). The a-term is the variance, which
falls like 1/n; the b-term a squared bias (the plug-in divergence's bias
pulls a noisy simulator's weight down by ~1/n), which falls like 1/n^2, as
does the chance that a near-dominated simulator enters the mixture at all.
For one simulator this is the familiar width ~ c / sqrt(n) + floor, with the
floor made of the other sources' terms (real users above all). Codebooks stay fixed: they are the
instrument, not the sample. Resampling at m > n_j draws from the pilot's
empirical distribution, which is the best guess of the simulator's.

Three curves per source j:
  * weight_mse[s][j]: mean squared deviation of weight w_s from its pilot value;
  * excess[j]: expected increase of the fit objective (mixture JS, bits) of
    the replicate weights over the pilot weights, on the pilot histograms:
    the mixture quality lost to source j's noise;
  * gap_var[s] (j = s) and gap_var_real[s] (j = real): variance of the gap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ensemble.mixture.fast import Stacked, objective, objectives, solve_weights, stack
from measure.pipeline import REAL

from .pilot import Pilot

Z95 = 1.959963984540054
ZERO_WEIGHT = 1e-4   # below this a weight counts as zero


@dataclass(frozen=True)
class SizeCurve:
    """MSE (or mean) of a statistic as a function of one source's sample
    size n: a (n0/n) + b (n0/n)^2, a variance term and a squared-bias term."""
    a: float
    b: float
    n0: int

    @property
    def v(self) -> float:
        """The value at the pilot size."""
        return self.a + self.b

    def at(self, n: float) -> float:
        if self.a <= 0 and self.b <= 0:
            return 0.0
        if n <= 0:
            return float("inf")
        x = self.n0 / n
        return float(self.a * x + self.b * x * x)

    def n_for(self, value: float) -> float:
        """Smallest n with at(n) <= value (inf when value <= 0)."""
        if self.a <= 0 and self.b <= 0:
            return 0.0
        if value <= 0:
            return float("inf")
        a, b = self.a, self.b
        x = (-a + np.sqrt(a * a + 4 * b * value)) / (2 * b) if b > 0 else value / a
        return float(self.n0 / x)


def fit_curve(sizes: list[int], values: list[float], n0: int) -> SizeCurve:
    """Non-negative least squares of value = a (n0/m) + b (n0/m)^2 over the
    sizes m, in relative error (values span orders of magnitude)."""
    from scipy.optimize import nnls
    m = np.asarray(sizes, float)
    y = np.asarray(values, float)
    pos = y > 1e-15
    if not pos.any():
        return SizeCurve(0.0, 0.0, n0)
    x = n0 / m[pos]
    A = np.column_stack([x, x * x]) / y[pos][:, None]
    coef, _ = nnls(A, np.ones(int(pos.sum())))
    return SizeCurve(float(coef[0]), float(coef[1]), n0)


@dataclass
class Curves:
    sources: list[str]                          # [REAL] + simulators
    simulators: list[str]
    n0: dict[str, int]
    sizes: tuple[float, ...]
    n_boot: int
    weights: dict[str, float]                   # pilot weights
    weight_ci: dict[str, tuple[float, float]]   # joint bootstrap, 95 % percentile
    weight_mse: dict[str, dict[str, SizeCurve]]  # [s][j]
    excess: dict[str, SizeCurve]                # [j]
    objective: float                            # pilot fit objective (bits)
    gap: dict[str, float]                       # pilot gap (bits)
    gap_var: dict[str, SizeCurve]               # simulator's own noise
    gap_var_real: dict[str, SizeCurve]          # real users' noise
    diff_var_real: dict[tuple[str, str], SizeCurve] = field(default_factory=dict)
    floor: SizeCurve | None = None              # real-vs-real JS at n real users (n/2 a side)

    def weight_mse_at(self, s: str, n: dict[str, float]) -> float:
        return float(sum(self.weight_mse[s][j].at(n[j]) for j in self.sources))

    def excess_at(self, n: dict[str, float]) -> float:
        return float(sum(self.excess[j].at(n[j]) for j in self.sources))

    def gap_sd(self, s: str, n_sim: float, n_real: float) -> float:
        return float(np.sqrt(self.gap_var[s].at(n_sim) + self.gap_var_real[s].at(n_real)))

    def diff_sd(self, a: str, b: str, n_a: float, n_b: float, n_real: float) -> float:
        key = (a, b) if (a, b) in self.diff_var_real else (b, a)
        real = self.diff_var_real[key].at(n_real) if key in self.diff_var_real else 0.0
        return float(np.sqrt(self.gap_var[a].at(n_a) + self.gap_var[b].at(n_b) + real))


# ---------------------------------------------------------------- resampling

def _resampled(pilot: Pilot, source: str, m: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, K) stacked histograms of n_boot resamples of m conversations."""
    rows = pilot.rows[source]
    pick = rows[rng.integers(0, len(rows), size=(n_boot, m))]
    out = []
    offsets = (np.arange(n_boot) * 1)[:, None]
    for f in pilot.facets:
        k = pilot.k[f]
        flat = (pilot.labels[f][pick] + offsets * k).ravel()
        out.append(np.bincount(flat, minlength=n_boot * k).reshape(n_boot, k) / m)
    return np.hstack(out)


def _gaps(H: np.ndarray, q: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Weighted JS (bits) between every row of H and q (q may be (B, K) too)."""
    A = 0.5 * (H + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        th = np.where(H > 0, H * np.log(np.where(H > 0, H, 1) / np.where(A > 0, A, 1)), 0.0)
        tq = np.where(q > 0, q * np.log(np.where(q > 0, q, 1) / np.where(A > 0, A, 1)), 0.0)
    return (0.5 * (th + tq)) @ lam / np.log(2.0)


def estimate(pilot: Pilot, sizes: tuple[float, ...] = (0.5, 1.0, 2.0), n_boot: int = 20,
             n_boot_joint: int = 60, n_boot_gap: int = 200, seed: int = 0,
             weights0: dict[str, float] | None = None, negligible: float = 0.0) -> Curves:
    """Bootstrap at several sizes; see the module docstring.

    negligible: simulators whose joint-bootstrap weight CI stays under this
    get no budget, so their own resampling is skipped (their curves are 0);
    their weights still move with the other sources' noise.

    weights0: the pilot weights if already solved (e.g. by the conic solver);
    else solved here.
    """
    sims = list(pilot.simulators)
    sources = [REAL] + sims
    P, q = pilot.histograms()
    st = stack(P, q, pilot.facet_weights)
    w_hat = (np.array([weights0[s] for s in sims]) if weights0 is not None else solve_weights(st))
    j_hat = objective(w_hat, st)
    n0 = {j: pilot.n(j) for j in sources}
    rng = np.random.default_rng([seed, 18])

    # Joint bootstrap at the pilot sizes first: the weight CI now (what `run`
    # reports), and which simulators ever take weight. A simulator with
    # weight 0 in every replicate is dominated: its noise does not move the
    # mixture, so it is held at 0 below and its curves are 0.
    Hs = {j: _resampled(pilot, j, n0[j], n_boot_joint, rng) for j in sources}
    Wj = np.zeros((n_boot_joint, len(sims)))
    for b in range(n_boot_joint):
        Pb = np.vstack([Hs[s][b] for s in sims])
        Wj[b] = solve_weights(Stacked(Pb, Hs[REAL][b], st.lam), w_hat)
    lo, hi = np.percentile(Wj, [2.5, 97.5], axis=0)
    weight_ci = {s: (float(min(lo[i], w_hat[i])), float(max(hi[i], w_hat[i]))) for i, s in enumerate(sims)}
    active = np.flatnonzero((Wj.max(axis=0) > ZERO_WEIGHT) | (w_hat > ZERO_WEIGHT))
    act = [sims[i] for i in active]
    st_a = Stacked(st.P[active], st.q, st.lam)
    w_a = w_hat[active] / max(w_hat[active].sum(), 1e-12)
    j_a = objective(w_a, st_a)

    # Weights: one source resampled at a time, at every size.
    zero = {s: SizeCurve(0.0, 0.0, n0[s]) for s in sources}
    weight_mse: dict[str, dict[str, SizeCurve]] = {s: dict(zero) for s in sims}
    excess: dict[str, SizeCurve] = dict(zero)
    budgeted = [s for s in act if weight_ci[s][1] > max(ZERO_WEIGHT, negligible)]
    for j in [REAL] + budgeted:
        ms = [max(2, int(round(f * n0[j]))) for f in sizes]
        mse_by_size = np.zeros((len(ms), len(act)))
        exc_by_size = np.zeros(len(ms))
        for li, m in enumerate(ms):
            H = _resampled(pilot, j, m, n_boot, rng)
            W = np.zeros((n_boot, len(act)))
            for b in range(n_boot):
                if j == REAL:
                    sb = Stacked(st_a.P, H[b], st.lam)
                else:
                    Pb = st_a.P.copy()
                    Pb[act.index(j)] = H[b]
                    sb = Stacked(Pb, st.q, st.lam)
                W[b] = solve_weights(sb, w_a)
            mse_by_size[li] = ((W - w_a) ** 2).mean(axis=0)
            exc_by_size[li] = max(0.0, float(np.mean(objectives(W, st_a) - j_a)))
        for si, s in enumerate(act):
            weight_mse[s][j] = fit_curve(ms, list(mse_by_size[:, si]), n0[j])
        excess[j] = fit_curve(ms, list(exc_by_size), n0[j])

    # Gaps: closed-form re-evaluation, so many more replicates.
    gap = dict(zip(sims, map(float, _gaps(st.P, st.q, st.lam))))
    gap_var, gap_var_real, diff_var_real = {}, {}, {}
    real_ms = [max(2, int(round(f * n0[REAL]))) for f in sizes]
    real_reps = [_resampled(pilot, REAL, m, n_boot_gap, rng) for m in real_ms]
    real_gaps = np.stack([np.stack([_gaps(st.P[i], Hr, st.lam) for i in range(len(sims))])
                          for Hr in real_reps])          # (L, S, B)
    for i, s in enumerate(sims):
        ms = [max(2, int(round(f * n0[s]))) for f in sizes]
        v = [float(np.var(_gaps(_resampled(pilot, s, m, n_boot_gap, rng), st.q, st.lam))) for m in ms]
        gap_var[s] = fit_curve(ms, v, n0[s])
        gap_var_real[s] = fit_curve(real_ms, list(real_gaps[:, i, :].var(axis=1)), n0[REAL])
    order = sorted(sims, key=lambda s: (gap[s], s))
    for a, b in zip(order, order[1:]):
        ia, ib = sims.index(a), sims.index(b)
        diff_var_real[(a, b)] = fit_curve(real_ms, list((real_gaps[:, ia] - real_gaps[:, ib]).var(axis=1)),
                                          n0[REAL])
    return Curves(sources=sources, simulators=sims, n0=n0, sizes=tuple(sizes), n_boot=n_boot,
                  weights=dict(zip(sims, map(float, w_hat))), weight_ci=weight_ci, weight_mse=weight_mse,
                  excess=excess, objective=j_hat, gap=gap, gap_var=gap_var, gap_var_real=gap_var_real,
                  diff_var_real=diff_var_real, floor=real_floor(pilot, rng))


def real_floor(pilot: Pilot, rng: np.random.Generator, n_rep: int = 30) -> SizeCurve | None:
    """Mean real-vs-real JS between two disjoint halves, at n and n/2 real
    users; a plug-in bias that falls like 1/n."""
    rows = pilot.rows[REAL]
    n = len(rows)
    if n < 8:
        return None
    lam = np.concatenate([np.full(pilot.k[f], pilot.facet_weights[f]) for f in pilot.facets])
    sizes, means = [], []
    for total in (n, n // 2):
        h = total // 2
        vals = []
        for _ in range(n_rep):
            perm = rng.permutation(rows)[: 2 * h]
            a = np.concatenate([pilot.hist(f, perm[:h]) for f in pilot.facets])
            b = np.concatenate([pilot.hist(f, perm[h:]) for f in pilot.facets])
            vals.append(float(_gaps(a[None, :], b, lam)[0]))
        sizes.append(2 * h)
        means.append(float(np.mean(vals)))
    return fit_curve(sizes, means, n)
