"""The mixture fit against independent ground truth: simplex grids, SLSQP,
planted mixtures and brute force over supports."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import xlogy

from ensemble.mixture import optimizer as opt
from ensemble.mixture.optimizer import MixtureInfeasible, MixtureSolveError, solve_mixture

LN2 = math.log(2)


# ---------------------------------------------------------------- ground truth
# Written from the definitions, independently of ensemble.mixture.optimizer.

def _js_rows(M, q):
    """JS(m, q) in bits for every row m of M."""
    A = 0.5 * (M + q)
    kl_m = (xlogy(M, M) - xlogy(M, A)).sum(axis=-1)
    kl_q = (xlogy(q, q) - xlogy(q, A)).sum(axis=-1)
    return 0.5 * (kl_m + kl_q) / LN2


def _smooth(p):
    k = p.shape[-1]
    return (p + 1.0 / k) / (p.sum(axis=-1, keepdims=True) + 1.0)


def _kl_rows(M, q):
    """KL(q~ || m~) in nats, both smoothed with alpha = 1/k."""
    Ms, qs = _smooth(M), _smooth(q)
    return (xlogy(qs, qs) - xlogy(qs, Ms)).sum(axis=-1)


def truth(W, P, q, lam=None, div="js"):
    """Objective for one weight vector (S,) or many (G, S)."""
    W = np.atleast_2d(W)
    facets = list(P)
    lam = np.ones(len(facets)) if lam is None else np.array([lam[f] for f in facets], float)
    lam = lam / lam.sum()
    rows = _js_rows if div == "js" else _kl_rows
    out = sum(l * rows(W @ P[f], q[f]) for l, f in zip(lam, facets))
    return out if out.shape[0] > 1 else float(out[0])


def truth_grad(w, P, q, div="js"):
    lam = 1.0 / len(P)
    g = np.zeros(len(w))
    for f in P:
        m = w @ P[f]
        if div == "js":
            gm = 0.5 * np.log2(np.maximum(2 * m, 1e-300) / np.maximum(m + q[f], 1e-300))
            g += lam * P[f] @ gm
        else:
            Ps, qs = _smooth(P[f]), _smooth(q[f])
            g += lam * Ps @ (-qs / (w @ Ps))
    return g


def slsqp_best(P, q, S, div="js", starts=6, seed=0, bounds=None, extra_cons=(), lin=None):
    """Best SLSQP optimum over several starts (uniform + Dirichlet)."""
    rng = np.random.default_rng(seed)
    lin = np.zeros(S) if lin is None else lin
    bounds = bounds or [(0.0, 1.0)] * S

    def f(w):
        w = np.clip(w, 0, None)
        return truth(w / w.sum(), P, q, div=div) + lin @ w

    def jac(w):
        w = np.clip(w, 1e-15, None)
        return truth_grad(w / w.sum(), P, q, div) + lin

    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(S)}]
    cons += list(extra_cons)
    best = math.inf
    x0s = [np.full(S, 1.0 / S)] + [rng.dirichlet(np.ones(S)) for _ in range(starts - 1)]
    for x0 in x0s:
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        x0 = np.clip(x0, lo, hi)
        r = minimize(f, x0, jac=jac, method="SLSQP", bounds=bounds, constraints=cons,
                     options={"ftol": 1e-15, "maxiter": 2000})
        ok = all(c["fun"](r.x) >= -1e-9 if c["type"] == "ineq" else abs(c["fun"](r.x)) < 1e-9
                 for c in cons)
        if ok and np.all(r.x >= lo - 1e-9) and np.all(r.x <= hi + 1e-9):
            best = min(best, f(r.x))
    return best


def make(S, F, k, seed, alpha=1.0):
    rng = np.random.default_rng(seed)
    P = {f"f{j}": rng.dirichlet(np.ones(k) * alpha, size=S) for j in range(F)}
    q = {f"f{j}": rng.dirichlet(np.ones(k) * alpha) for j in range(F)}
    return P, q, [f"s{i}" for i in range(S)]


def simplex_grid(n):
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = i + j <= n
    a, b = i[keep] / n, j[keep] / n
    return np.stack([a, b, 1 - a - b], axis=1)


def brute3(P, q, div, n=300):
    """Grid minimum over the 3-simplex, then polished locally."""
    G = simplex_grid(n)
    vals = truth(G, P, q, div=div)
    w0 = G[np.argmin(vals)]
    best = vals.min()

    def f(w):
        w = np.clip(w, 0, None)
        return truth(w / w.sum(), P, q, div=div)
    r = minimize(f, w0, method="SLSQP", bounds=[(0, 1)] * 3,
                 constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                 options={"ftol": 1e-15, "maxiter": 1000})
    if np.all(r.x >= -1e-12):
        best = min(best, f(r.x))
    r = minimize(f, w0, method="Nelder-Mead",
                 options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    return min(best, f(r.x))


# ---------------------------------------------------------------- optimum

@pytest.mark.parametrize("div", ["js", "kl_forward"])
@pytest.mark.parametrize("case", ["interior", "boundary", "sparse"])
def test_matches_brute_force_on_three_simulators(div, case):
    rng = np.random.default_rng({"interior": 1, "boundary": 2, "sparse": 3}[case])
    k = 12
    if case == "interior":
        P, q, names = make(3, 2, k, seed=11)
    elif case == "boundary":
        # q sits near a mix of s0 and s1; s2 is far away: optimum has w2 = 0
        P, _, names = make(3, 2, k, seed=12)
        q = {f: 0.6 * P[f][0] + 0.4 * P[f][1] for f in P}
        q = {f: 0.9 * v + 0.1 * rng.dirichlet(np.ones(k)) for f, v in q.items()}
        P = {f: np.vstack([v[:2], rng.dirichlet(np.ones(k) * 0.2)]) for f, v in P.items()}
    else:
        # zeros everywhere: bins no simulator covers, bins real users never hit
        P, q, names = make(3, 2, k, seed=13, alpha=0.3)
        for f in P:
            P[f][:, :2] = 0.0
            P[f][0, 5:8] = 0.0
            q[f][9:] = 0.0
            P[f] /= P[f].sum(axis=1, keepdims=True)
            q[f] /= q[f].sum()
    res = solve_mixture(P, q, names, divergence=div)
    brute = brute3(P, q, div)
    assert res.solver == "CLARABEL" and res.status == "optimal" and res.method == "convex"
    assert abs(res.objective - brute) <= 1e-6
    assert res.objective <= brute + 1e-6
    # the reported objective is the numpy objective at the reported weights
    w = res.weight_vector(names)
    assert res.objective == pytest.approx(truth(w, P, q, div=div), abs=1e-12)
    assert res.solver_objective == pytest.approx(res.objective, abs=1e-6)   # same constants
    assert sum(res.weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert min(res.weights.values()) >= 0.0
    if case == "boundary":
        assert res.weights["s2"] < 1e-6 and "s2" not in res.support


@pytest.mark.parametrize("div", ["js", "kl_forward"])
@pytest.mark.parametrize("S,seed", [(10, 21), (15, 22), (20, 23)])
def test_matches_slsqp_with_random_starts(div, S, seed):
    P, q, names = make(S, 3, 25, seed=seed, alpha=0.7)
    res = solve_mixture(P, q, names, divergence=div)
    best = slsqp_best(P, q, S, div=div, seed=seed)
    assert abs(res.objective - best) <= 1e-6
    assert res.objective <= best + 1e-9
    assert res.fw_gap <= 1e-6
    assert res.duality_gap is not None and res.duality_gap <= 1e-6
    assert set(res.per_facet) == set(P)
    w = res.weight_vector(names)
    for f in P:
        assert res.per_facet[f] == pytest.approx(truth(w, {f: P[f]}, {f: q[f]}, div=div), abs=1e-12)


@pytest.mark.parametrize("div", ["js", "kl_forward"])
def test_planted_mixture_is_recovered(div):
    P, _, names = make(8, 3, 30, seed=31)
    w_true = np.zeros(8)
    w_true[[1, 4, 6]] = [0.5, 0.3, 0.2]
    q = {f: w_true @ P[f] for f in P}
    res = solve_mixture(P, q, names, divergence=div)
    assert np.abs(res.weight_vector(names) - w_true).sum() <= 1e-3
    assert res.objective <= 1e-7
    assert set(res.support) >= {"s1", "s4", "s6"}


def test_facet_weights_are_normalised_and_zero_drops_a_facet():
    P, q, names = make(6, 2, 15, seed=41)
    both = solve_mixture(P, q, names, facet_weights={"f0": 3.0, "f1": 1.0})
    assert both.facet_weights == {"f0": 0.75, "f1": 0.25}
    w = both.weight_vector(names)
    assert both.objective == pytest.approx(
        0.75 * truth(w, {"f0": P["f0"]}, {"f0": q["f0"]})
        + 0.25 * truth(w, {"f1": P["f1"]}, {"f1": q["f1"]}), abs=1e-12)
    only0 = solve_mixture(P, q, names, facet_weights={"f0": 1.0, "f1": 0.0})
    alone = solve_mixture({"f0": P["f0"]}, {"f0": q["f0"]}, names)
    assert only0.objective == pytest.approx(alone.objective, abs=1e-8)
    assert set(only0.per_facet) == {"f0", "f1"}          # still reported
    assert opt.mixture_objective(only0.weight_vector(names), P, q, {"f0": 1, "f1": 0}) == \
        pytest.approx(only0.objective, abs=1e-12)


def test_kl_smoothing_matches_definition():
    P, q, names = make(4, 1, 10, seed=42)
    P["f0"][0, :3] = 0
    P["f0"][0] /= P["f0"][0].sum()
    w = np.array([0.4, 0.3, 0.2, 0.1])
    m = w @ P["f0"]
    alpha = 1 / 10
    ms, qs = (m + alpha) / (1 + 10 * alpha), (q["f0"] + alpha) / (1 + 10 * alpha)
    want = float(np.sum(qs * np.log(qs / ms)))                  # nats
    assert opt.mixture_objective(w, P, q, divergence="kl_forward") == pytest.approx(want, abs=1e-12)
    # the mixture of smoothed rows is the smoothed mixture
    assert np.allclose(w @ opt.smooth(P["f0"]), opt.smooth(m))


def test_units_and_values_match_measure_divergence():
    divergence = pytest.importorskip("measure.divergence")
    P, q, names = make(5, 2, 12, seed=43, alpha=0.4)
    w = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    js = opt.facet_divergences(w, P, q, "js")
    kl = opt.facet_divergences(w, P, q, "kl_forward")
    for f in P:
        m = w @ P[f]
        assert js[f] == pytest.approx(divergence.js(q[f], m), abs=1e-12)       # bits
        assert kl[f] == pytest.approx(divergence.kl(q[f], m), abs=1e-12)       # nats, alpha 1/k
    assert solve_mixture(P, q, names).units == "bits"
    assert solve_mixture(P, q, names, divergence="kl_forward").units == "nats"


# ---------------------------------------------------------------- certificates

def test_certificates_small_at_optimum_and_large_at_bad_points():
    P, q, names = make(12, 3, 20, seed=51)
    res = solve_mixture(P, q, names)
    assert res.fw_gap <= 1e-6 and res.duality_gap <= 1e-6
    w = res.weight_vector(names)
    assert opt.frank_wolfe_gap(w, P, q) <= 1e-6
    # Frank-Wolfe gap upper-bounds suboptimality everywhere (convexity)
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.dirichlet(np.ones(12) * 0.5)
        gap = opt.frank_wolfe_gap(v, P, q)
        assert gap >= truth(v, P, q) - res.objective - 1e-12
    worst = np.eye(12)[int(np.argmax([truth(np.eye(12)[i], P, q) for i in range(12)]))]
    assert opt.frank_wolfe_gap(worst, P, q) > 0.05


def test_fw_gap_is_infinite_when_a_covered_bin_is_missed():
    # s1 alone covers bin 0, which real users hit: dropping s1 is infinitely bad
    P = {"f": np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])}
    q = {"f": np.array([0.2, 0.4, 0.4])}
    assert opt.frank_wolfe_gap([1.0, 0.0], P, q) == math.inf
    assert np.isfinite(opt.frank_wolfe_gap([0.8, 0.2], P, q))


# ---------------------------------------------------------------- constraints

def _check_bounds(res, names, lb, ub, tol=1e-8):
    for n in names:
        assert lb.get(n, 0.0) - tol <= res.weights[n] <= ub.get(n, 1.0) + tol


def test_bounds_include_exclude_budget_match_slsqp():
    S = 8
    P, q, names = make(S, 2, 20, seed=61)
    costs = {n: c for n, c in zip(names, [1.0, 2.0, 0.5, 3.0, 1.5, 0.8, 2.5, 1.2])}
    kwargs = dict(min_weight={"s3": 0.1}, max_weight=0.35, include=["s5"], exclude=["s0"],
                  costs=costs, budget=1.4)
    res = solve_mixture(P, q, names, **kwargs)
    lb = {"s3": 0.1, "s5": opt.INCLUDE_EPS}
    ub = {n: 0.35 for n in names}
    ub["s0"] = 0.0
    _check_bounds(res, names, lb, ub)
    assert res.weights["s0"] == 0.0
    c = np.array([costs[n] for n in names])
    assert res.expected_cost == pytest.approx(c @ res.weight_vector(names))
    assert res.expected_cost <= 1.4 + 1e-8
    bounds = [(lb.get(n, 0.0), ub[n]) for n in names]
    best = slsqp_best(P, q, S, bounds=bounds, extra_cons=[
        {"type": "ineq", "fun": lambda w: 1.4 - c @ w, "jac": lambda w: -c}])
    assert abs(res.objective - best) <= 1e-6 and res.objective <= best + 1e-9
    assert res.fw_gap <= 1e-6


def test_cost_penalty_adds_linear_term():
    S = 6
    P, q, names = make(S, 2, 15, seed=62)
    c = np.linspace(0.0, 1.0, S)
    costs = dict(zip(names, c))
    plain = solve_mixture(P, q, names)
    pen = solve_mixture(P, q, names, costs=costs, cost_penalty=0.05)
    best = slsqp_best(P, q, S, lin=0.05 * c)
    assert abs(pen.objective - best) <= 1e-6
    assert pen.objective == pytest.approx(pen.divergence_value + 0.05 * pen.expected_cost, abs=1e-12)
    assert pen.expected_cost < c @ plain.weight_vector(names)   # the penalty buys cheaper mixes
    assert pen.divergence_value >= plain.objective - 1e-9


def test_cached_problem_picks_up_new_bounds():
    P, q, names = make(6, 2, 15, seed=63)
    free = solve_mixture(P, q, names)
    top = max(free.weights.values())
    capped = solve_mixture(P, q, names, max_weight=top / 2)     # same data: cache hit
    assert max(capped.weights.values()) <= top / 2 + 1e-8
    again = solve_mixture(P, q, names)
    assert again.weights == pytest.approx(free.weights, abs=1e-9)


def _best_over_supports(P, q, names, K, sizes, **kw):
    best = math.inf
    for size in sizes:
        for sup in itertools.combinations(names, size):
            try:
                r = solve_mixture(P, q, names, exclude=[n for n in names if n not in sup], **kw)
            except MixtureInfeasible:
                continue
            best = min(best, r.objective)
    return best


@pytest.mark.parametrize("K", [1, 2, 3])
def test_exact_enumeration_equals_brute_force_over_supports(K):
    P, q, names = make(7, 2, 15, seed=71)
    res = solve_mixture(P, q, names, max_simulators=K)
    assert res.method == "exact_enumeration"
    assert len(res.support) <= K
    assert res.objective == pytest.approx(_best_over_supports(P, q, names, K, [K]), abs=1e-9)
    assert res.fw_gap <= 1e-6


def test_enumeration_with_min_weight_tries_every_size():
    P, q, names = make(6, 2, 15, seed=72)
    res = solve_mixture(P, q, names, max_simulators=3, min_weight=0.2)
    assert res.method == "exact_enumeration"
    assert all(res.weights[n] >= 0.2 - 1e-8 for n in res.support)
    brute = _best_over_supports(P, q, names, 3, [1, 2, 3], min_weight=0.2)
    assert res.objective == pytest.approx(brute, abs=1e-9)


def test_enumeration_respects_include_and_exclude():
    P, q, names = make(7, 2, 15, seed=73)
    res = solve_mixture(P, q, names, max_simulators=2, include=["s6"], exclude=["s0", "s1"])
    assert "s6" in res.support and res.weights["s6"] >= opt.INCLUDE_EPS - 1e-9
    assert res.weights["s0"] == 0 and res.weights["s1"] == 0
    best = math.inf
    for other in ["s2", "s3", "s4", "s5"]:
        r = solve_mixture(P, q, names, include=["s6"],
                        exclude=[n for n in names if n not in ("s6", other)])
        best = min(best, r.objective)
    assert res.objective == pytest.approx(best, abs=1e-9)


def test_greedy_when_enumeration_is_too_large():
    P, q, names = make(7, 2, 15, seed=74)
    res = solve_mixture(P, q, names, max_simulators=3, max_enumerate=0)
    assert res.method == "greedy" and len(res.support) <= 3
    # the same greedy path, by hand
    chosen, obj = [], None
    for _ in range(3):
        scores = {}
        for c in names:
            if c in chosen:
                continue
            sup = chosen + [c]
            scores[c] = solve_mixture(P, q, names, exclude=[n for n in names if n not in sup]).objective
        pick = min(scores, key=scores.get)
        chosen.append(pick)
        obj = scores[pick]
    assert res.objective == pytest.approx(obj, abs=1e-9)
    exact = solve_mixture(P, q, names, max_simulators=3)
    assert exact.objective <= res.objective + 1e-9

    table = opt.greedy_forward(P, q, names, 3)
    assert [len(sup) for sup, _ in table] == [1, 2, 3]
    assert all(set(a) <= set(b) for (a, _), (b, _) in zip(table, table[1:]))
    objs = [r.objective for _, r in table]
    assert objs == sorted(objs, reverse=True)
    assert objs[-1] == pytest.approx(res.objective, abs=1e-9)
    single = opt.best_single(P, q, names)
    assert table[0][1].objective == pytest.approx(single.objective, abs=1e-12)


def test_best_single_and_single_objectives():
    P, q, names = make(5, 2, 15, seed=75)
    singles = opt.single_objectives(P, q, names)
    for i, n in enumerate(names):
        assert singles[n] == pytest.approx(truth(np.eye(5)[i], P, q), abs=1e-12)
    best = opt.best_single(P, q, names)
    assert best.support == [min(singles, key=singles.get)]
    assert best.objective == pytest.approx(min(singles.values()))
    worst = max(singles, key=singles.get)
    assert opt.best_single(P, q, names, exclude=[best.support[0]]).objective >= best.objective
    assert worst not in opt.best_single(P, q, names, exclude=[best.support[0]]).support or \
        len(names) == 2


# ---------------------------------------------------------------- failures

def test_fallback_to_scs_when_clarabel_raises(monkeypatch):
    P, q, names = make(5, 2, 12, seed=81)
    ref = solve_mixture(P, q, names)
    real = opt._run_solver

    def broken(problem, solver):
        if solver == "CLARABEL":
            raise RuntimeError("simulated crash")
        return real(problem, solver)

    monkeypatch.setattr(opt, "_run_solver", broken)
    res = solve_mixture(P, q, names)
    assert res.solver == "SCS"
    assert res.status in ("optimal", "optimal_inaccurate")
    assert res.objective == pytest.approx(ref.objective, abs=1e-5)


def test_fallback_to_scs_when_clarabel_status_is_bad(monkeypatch):
    P, q, names = make(5, 2, 12, seed=82)
    monkeypatch.setitem(opt._SOLVER_OPTS, "CLARABEL", {"max_iter": 1})
    res = solve_mixture(P, q, names)
    assert res.solver == "SCS"


def test_every_solver_failing_is_reported(monkeypatch):
    P, q, names = make(4, 1, 10, seed=83)

    def broken(problem, solver):
        raise RuntimeError(f"{solver} down")

    monkeypatch.setattr(opt, "_run_solver", broken)
    with pytest.raises(MixtureSolveError, match="CLARABEL.*SCS"):
        solve_mixture(P, q, names)


@pytest.mark.parametrize("kwargs,match", [
    (dict(min_weight=0.3), "sum to 1.8"),
    (dict(min_weight={"s0": 0.6, "s1": 0.6}), "sum to 1.2"),
    (dict(include=["s1"], exclude=["s1"]), "both included and excluded"),
    (dict(max_weight=0.1), "maximum weights"),
    (dict(exclude=["s0", "s1", "s2", "s3"], max_weight={"s4": 0.5, "s5": 0.4}), "sum to 0.9"),
    (dict(costs={f"s{i}": 1.0 + i for i in range(6)}, budget=0.5), "cheapest"),
    (dict(costs={f"s{i}": 1.0 + i for i in range(6)}, budget=2.0, min_weight={"s5": 0.5}),
     "minimum expected cost"),
    (dict(include=["s0", "s1", "s2"], max_simulators=2), "max_simulators=2"),
    (dict(max_weight=0.3, max_simulators=3), "max_simulators=3"),
    (dict(min_weight={"s2": 0.2}, exclude=["s2"]), "excluded"),
    (dict(min_weight={"s2": 0.5}, max_weight={"s2": 0.4}), "s2: min 0.5 > max 0.4"),
])
def test_infeasible_constraints_raise_with_reason(kwargs, match):
    P, q, names = make(6, 1, 10, seed=91)
    with pytest.raises(MixtureInfeasible, match=match) as info:
        solve_mixture(P, q, names, **kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", ["row_sum", "negative", "nan", "shape"])
def test_bad_inputs_raise(bad):
    P, q, names = make(3, 1, 5, seed=92)
    if bad == "row_sum":
        P["f0"] = P["f0"] * 1.1
    elif bad == "negative":
        q["f0"] = q["f0"].copy()
        q["f0"][0] = -0.1
    elif bad == "nan":
        P["f0"][0, 0] = np.nan
    else:
        q["f0"] = q["f0"][:-1]
    with pytest.raises(ValueError):
        solve_mixture(P, q, names)


def test_medium_problem_is_certified():
    P, q, names = make(25, 3, 200, seed=99, alpha=0.5)
    for div in ("js", "kl_forward"):
        res = solve_mixture(P, q, names, divergence=div)
        assert res.solver == "CLARABEL"
        assert res.fw_gap <= 1e-6 and res.duality_gap <= 1e-6
        assert res.objective == pytest.approx(res.solver_objective, abs=1e-6)


def test_vectorized_pair_scores_match_each_support_solved_alone():
    """The K=2 enumeration scores all two-simulator supports in one pass; each
    score must equal that support's own certified solve (bounds included), and
    infeasible pairs score inf."""
    import itertools

    from ensemble.mixture import optimizer as O
    rng = np.random.default_rng(11)
    for trial in range(12):
        S, F = int(rng.integers(3, 8)), int(rng.integers(1, 4))
        P, q = {}, {}
        for f in range(F):
            k = int(rng.integers(3, 30))
            A = rng.dirichlet(np.full(k, 0.3), size=S)
            A[A < 0.02] = 0                      # empty bins: uncovered real-user mass happens
            P[f"f{f}"] = A / A.sum(1, keepdims=True)
            q[f"f{f}"] = rng.dirichlet(np.full(k, 0.5))
        names = [f"s{i}" for i in range(S)]
        max_w = (1.0, 0.7, 0.45)[trial % 3]      # 0.45: no pair can reach a total of 1
        data = O._prepare(P, q, names, None, "js")
        cons = O._constraints(data.names, 0.0, max_w, (), (), None, None, 0.0)
        pairs = np.array(list(itertools.combinations(range(S), 2)))
        scores = O._pair_scores(data, cons, pairs)
        for (a, b), v in zip(pairs, scores):
            r = O._solve_support(data, cons, np.array([a, b]), "check")
            if r is None:
                assert v == np.inf
            else:
                assert v == pytest.approx(r.objective, abs=1e-10)
