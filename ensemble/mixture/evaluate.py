"""Fit mixture weights on the fit split and judge them on held-out real users.

Everything here takes per-facet histograms on shared codebooks and returns
plain numbers; the codebooks never saw the held-out users.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np

from ensemble.mixture.optimizer import (
    MixtureInfeasible,
    solve_mixture,
    greedy_forward,
    mixture_objective,
)
from measure.distributions import histogram
from measure.pipeline import REAL, Measurement


@dataclass
class MixtureProblem:
    """Per-facet simulator rows and real-user targets, in `names` order."""
    names: list[str]
    P: dict[str, np.ndarray]        # facet -> (S, k)
    q_fit: dict[str, np.ndarray]    # facet -> (k,)
    q_heldout: dict[str, np.ndarray] | None
    facet_weights: dict[str, float]

    def heldout(self, w: np.ndarray, divergence: str = "js") -> float:
        """Held-out divergence of a mixture; always JS in bits unless asked."""
        return float(mixture_objective(np.asarray(w, float), self.P, self.q_heldout, self.facet_weights, divergence))

    def fit_value(self, w: np.ndarray, divergence: str = "js") -> float:
        return float(mixture_objective(np.asarray(w, float), self.P, self.q_fit, self.facet_weights, divergence))

    def onehot(self, name: str) -> np.ndarray:
        w = np.zeros(len(self.names))
        w[self.names.index(name)] = 1.0
        return w


def problem_from(m: Measurement, facet_weights: dict[str, float] | None = None,
                 rows_mask: np.ndarray | None = None) -> MixtureProblem:
    prep = m.prep
    fw = facet_weights or m.facet_weights
    names = [s for s in prep.simulators
             if rows_mask is None or (rows_mask[prep.rows_of(s)].any())]
    if not names:
        raise ValueError("no simulator has conversations in these rows: nothing to mix "
                         "(see `uncovered_tasks`)")
    P, q_fit, q_held = {}, {}, {}
    held_rows = np.flatnonzero(prep.heldout if rows_mask is None else prep.heldout & rows_mask)
    fit_rows = prep.rows_of(REAL)
    if rows_mask is not None:
        fit_rows = fit_rows[rows_mask[fit_rows]]
    for f in prep.facets:
        rows = []
        for s in names:
            r = prep.rows_of(s)
            if rows_mask is not None:
                r = r[rows_mask[r]]
            rows.append(histogram(m.labels[f][r], m.k[f]))
        P[f] = np.vstack(rows)
        q_fit[f] = histogram(m.labels[f][fit_rows], m.k[f])
        if len(held_rows):
            q_held[f] = histogram(m.labels[f][held_rows], m.k[f])
    return MixtureProblem(names=names, P=P, q_fit=q_fit, q_heldout=q_held or None, facet_weights=fw)


@dataclass
class Baselines:
    best_single: dict          # {"name", "fit_js", "heldout_js"} chosen on the fit split
    uniform: dict              # {"fit_js", "heldout_js"}
    greedy: dict               # {"support", "weights", "fit_js", "heldout_js"}
    by_size: list[dict] = field(default_factory=list)  # best support of each size 1..K
    real_floor_heldout_js: float | None = None  # real fit vs real held-out


def baselines(prob: MixtureProblem, divergence: str, max_size: int, constraints: dict,
              max_enumerate: int = 300) -> Baselines:
    names = prob.names
    singles = [(prob.fit_value(prob.onehot(s), divergence), s) for s in names]
    singles.sort()
    best = singles[0][1]
    held = prob.q_heldout is not None
    uniform_w = np.full(len(names), 1 / len(names))
    # recheck=False: the table reports weights and JS, not solver statuses, so a
    # support solve already certified to CONVERGED_GAP needs no conic re-solve.
    greedy_path = greedy_forward(prob.P, prob.q_fit, names, max(1, max_size), facet_weights=prob.facet_weights,
                                 divergence=divergence, recheck=False)
    g_support, g_res = greedy_path[-1]
    g_w = np.array([g_res.weights[s] for s in names])
    by_size = []
    for size in range(1, max(1, max_size) + 1):
        n_supports = comb(len(names), size)
        if n_supports <= max_enumerate and size > 1 and _no_lower_bounds(constraints):
            # Without lower bounds the best support of exactly `size` members
            # is the best of at most `size` (a larger support can copy a
            # smaller one's weights), which is what the optimizer's own exact
            # enumeration finds: it scores every support with a cheap solve
            # certified by its Frank-Wolfe gap and keeps the winner's when it is
            # converged, else re-solves it with the conic solver (300
            # supports: ~2 s instead of ~35 s at k=500).
            method = "exact_enumeration"
            try:
                best_res = solve_mixture(prob.P, prob.q_fit, names, facet_weights=prob.facet_weights,
                                       divergence=divergence, max_simulators=size,
                                       max_enumerate=max_enumerate, recheck=False, **constraints)
            except MixtureInfeasible:
                continue
        elif n_supports <= max_enumerate:
            best_res, method = None, "exact_enumeration"
            for support in combinations(names, size):
                try:
                    res = solve_mixture(prob.P, prob.q_fit, names, facet_weights=prob.facet_weights,
                                      divergence=divergence,
                                      exclude=[s for s in names if s not in support], **constraints)
                except MixtureInfeasible:  # e.g. max_weight 0.4 rules out supports of size 1-2
                    continue
                if best_res is None or res.objective < best_res.objective - 1e-12:
                    best_res = res
            if best_res is None:
                continue
        else:
            best_res, method = greedy_path[size - 1][1], "greedy"
        w = np.array([best_res.weights[s] for s in names])
        by_size.append({"size": size, "method": method,
                        "support": [s for s in names if best_res.weights[s] > 1e-6],
                        "weights": {s: best_res.weights[s] for s in names if best_res.weights[s] > 1e-6},
                        "fit_js": prob.fit_value(w), "heldout_js": prob.heldout(w) if held else None})
    real_floor = None
    if held:
        real_floor = float(sum(prob.facet_weights[f] * _js(prob.q_fit[f], prob.q_heldout[f])
                               for f in prob.facet_weights))
    return Baselines(
        best_single={"name": best, "fit_js": prob.fit_value(prob.onehot(best)),
                     "heldout_js": prob.heldout(prob.onehot(best)) if held else None},
        uniform={"fit_js": prob.fit_value(uniform_w), "heldout_js": prob.heldout(uniform_w) if held else None},
        greedy={"support": list(g_support), "weights": {s: g_res.weights[s] for s in g_support},
                "fit_js": prob.fit_value(g_w), "heldout_js": prob.heldout(g_w) if held else None},
        by_size=by_size, real_floor_heldout_js=real_floor)


def _no_lower_bounds(constraints: dict) -> bool:
    mw = constraints.get("min_weight", 0.0)
    values = mw.values() if isinstance(mw, dict) else [mw]
    return all(float(v) <= 0 for v in values)


def _js(p, q) -> float:
    from measure.divergence import js
    return js(p, q)


def bootstrap_weights(m: Measurement, prob: MixtureProblem, solve, n_boot: int, seed: int) -> dict[str, list[float]]:
    """Percentile CIs of each weight: resample conversations within every source
    (codebooks fixed), rebuild the histograms and re-solve. `solve(P, q)`
    returns the weight vector, aligned with `prob.names`."""
    if n_boot <= 0:
        return {}
    prep = m.prep
    rng = np.random.default_rng(seed)
    fit_rows = prep.rows_of(REAL)
    sim_rows = [prep.rows_of(s) for s in prob.names]
    draws = np.zeros((n_boot, len(prob.names)))
    for b in range(n_boot):
        rr = rng.choice(fit_rows, size=len(fit_rows), replace=True)
        ss = [rng.choice(r, size=len(r), replace=True) for r in sim_rows]
        P = {f: _stacked_hists(m.labels[f], ss, m.k[f]) for f in prep.facets}
        q = {f: histogram(m.labels[f][rr], m.k[f]) for f in prep.facets}
        draws[b] = solve(P, q)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    return {s: [float(lo[i]), float(hi[i])] for i, s in enumerate(prob.names)}


def _stacked_hists(labels: np.ndarray, groups: list[np.ndarray], k: int) -> np.ndarray:
    """np.vstack([histogram(labels[g], k) for g in groups]) in one bincount:
    each group's labels offset by its row. The same numbers (integer counts
    over the group's size); one call instead of one per group and facet."""
    sizes = np.array([len(g) for g in groups])
    flat = labels[np.concatenate(groups)].astype(np.int64)
    flat += np.repeat(np.arange(len(groups), dtype=np.int64) * k, sizes)
    counts = np.bincount(flat, minlength=len(groups) * k).reshape(len(groups), k)
    return counts / sizes[:, None].astype(np.float64)


def realized_mixture(m: Measurement, prob: MixtureProblem, weights: dict[str, float], n_draws: int,
                     seed: int) -> dict:
    """Draw simulators by the weights with the training-loop sampler, take one
    real simulated conversation per draw, and measure the held-out JS of what
    was actually drawn. It should match the predicted value up to sampling noise."""
    from ensemble.sampler import SimulatorSampler

    if prob.q_heldout is None:
        return {}
    prep = m.prep
    sampler = SimulatorSampler({s: weights[s] for s in prob.names}, seed=seed)
    picks = Counter(sampler.draws(n_draws))
    rng = np.random.default_rng(seed)
    rows = []
    for s in prob.names:
        n = picks[s]
        if n:
            pool = prep.rows_of(s)
            rows.append(rng.choice(pool, size=n, replace=n > len(pool)))
    rows = np.concatenate(rows)
    realized = {f: histogram(m.labels[f][rows], m.k[f]) for f in prep.facets}
    w = np.array([weights[s] for s in prob.names])
    predicted = prob.heldout(w)
    value = float(sum(prob.facet_weights[f] * _js(realized[f], prob.q_heldout[f]) for f in prep.facets))
    return {"n_draws": n_draws, "predicted_heldout_js": predicted, "realized_heldout_js": value,
            "difference": value - predicted}


def heldout_bootstrap(m: Measurement, prob: MixtureProblem, w: np.ndarray, best: str,
                      n_boot: int = 200, seed: int = 0) -> dict:
    """Paired bootstrap of the held-out comparison between the mixture and the
    best single simulator, weights fixed.

    Each replicate resamples the held-out real users and every simulator's
    conversations (with replacement, codebooks fixed) and scores the mixture
    and the best single simulator on the same draw, so their difference (the
    gain) is paired. Intervals are the percentile intervals shifted by the
    bootstrap bias, like the gaps' (measure.uncertainty), and `gain_p` is the
    one-sided p-value of "no gain": the share of bias-corrected replicates
    with gain <= 0 (add-one, so never 0). Returns {} without held-out users.
    """
    if prob.q_heldout is None or n_boot <= 0:
        return {}
    from measure.divergence import js_rows

    prep = m.prep
    rng = np.random.default_rng([int(seed), 17])
    held = np.flatnonzero(prep.heldout)
    b_idx = np.flatnonzero(np.asarray(prob.names) == best)[0]
    pick_q = rng.integers(0, len(held), size=(n_boot, len(held)))    # positions in `held`
    sim_rows = [prep.rows_of(s) for s in prob.names]
    # Histograms only for the simulators with weight and the best single: the
    # others' rows stay 0 in P, and 0 * a histogram was exactly 0 anyway. Their
    # resamples are still drawn, in order, up to the last one used, so the
    # generator's stream is unchanged (nothing draws from it after that).
    used = np.flatnonzero((np.asarray(w) != 0) | (np.arange(len(prob.names)) == b_idx))
    picks = {}
    for i, r in enumerate(sim_rows[:used[-1] + 1]):
        d = rng.integers(0, len(r), size=(n_boot, len(r)))               # positions in r
        if i in used:
            picks[i] = d
    mix = np.zeros(n_boot)
    single = np.zeros(n_boot)
    total = sum(prob.facet_weights.values())
    for f, lam in prob.facet_weights.items():
        k, lam, labels = m.k[f], lam / total, m.labels[f]
        q = _boot_hist(labels[held], pick_q, k)                                  # (B, k)
        P = np.zeros((n_boot, len(prob.names), k))                               # (B, S, k)
        for i, d in picks.items():
            P[:, i] = _boot_hist(labels[sim_rows[i]], d, k)
        mix += lam * js_rows(np.einsum("s,bsk->bk", w, P), q)
        single += lam * js_rows(P[:, b_idx], q)
    gain = single - mix
    point_mix, point_single = prob.heldout(w), prob.heldout(prob.onehot(best))
    point_gain = point_single - point_mix

    def shifted(boot: np.ndarray, point: float, clip: bool) -> list[float]:
        lo, hi = np.quantile(boot, [0.025, 0.975]) - (boot.mean() - point)
        return [max(float(lo), 0.0), max(float(hi), 0.0)] if clip else [float(lo), float(hi)]

    centred = gain - (gain.mean() - point_gain)
    return {"mixture_js_ci": shifted(mix, point_mix, True),
            "best_single_js_ci": shifted(single, point_single, True),
            "gain_ci": shifted(gain, point_gain, False),
            "gain_p": float((1 + np.sum(centred <= 0)) / (n_boot + 1)),
            "n_boot": int(n_boot)}


def _boot_hist(labels: np.ndarray, picks: np.ndarray, k: int) -> np.ndarray:
    """(B, k) probability rows of the cluster labels a (B, n) matrix of
    positions in `labels` picks. Gathering from the source's own few thousand
    labels (int64 up front) keeps the gather in cache and needs no cast."""
    B, n = picks.shape
    flat = labels.astype(np.int64)[picks]             # a new array: offset in place
    flat += (np.arange(B, dtype=np.int64) * k)[:, None]
    return np.bincount(flat.ravel(), minlength=B * k).reshape(B, k) / n
