"""Fit the simulator mixture closest to real users: a certified convex solve.

Per facet f every simulator s has a distribution P_f[s] over the k_f clusters
of a shared codebook and real users have q_f. A mixture w on the simplex
induces m_f = sum_s w_s P_f[s]; we minimise

    g(w) = sum_f lambda_f * D(m_f, q_f)  [+ cost_penalty * costs . w]

with D = Jensen-Shannon (default) or KL(q || m) after additive smoothing.
Both are convex in w, so the solve is a conic program (exponential cones)
handed to CLARABEL, with SCS as the fallback. Every result carries two
optimality certificates: the solver's primal-dual gap and an independent
Frank-Wolfe gap computed in numpy, an upper bound on suboptimality.

Units follow measure.divergence: JS in bits, KL in nats (UNITS). The cost
penalty is added in those units.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cvxpy as cp
import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import rel_entr

from measure.errors import ConfigError, EnsembleFitError

LN2 = math.log(2.0)
DIVERGENCES = ("js", "kl_forward")
UNITS = {"js": "bits", "kl_forward": "nats"}   # as in measure.divergence
_SCALE = {"js": 1.0 / LN2, "kl_forward": 1.0}         # nats -> reported units
METHODS = ("convex", "exact_enumeration", "greedy")
SOLVERS = ("CLARABEL", "SCS")          # tried in this order
INCLUDE_EPS = 1e-3                     # smallest weight an `include`d simulator may get
ROW_TOL = 1e-6                         # input distributions must sum to 1 within this
FEAS_TOL = 1e-9                        # slack for the pre-solve feasibility checks
ZERO_TOL = 1e-7                        # interior-point noise below this may be zeroed...
ZERO_OBJ_TOL = 1e-10                   # ...if the objective moves by no more than this
SCREEN_GAP = 1e-9                      # certificate a cheap (SLSQP) support solve must reach
CONVERGED_GAP = 1e-15                  # a cheap solve this certified is the optimum to ~1e-16:
                                       # recheck=False keeps it without the conic re-solve
_AUX_MIN_N = 4                         # from this many simulators on, route m_f through a variable
_CACHE_SIZE = 4                        # a compiled 25 x 6 x 500 problem holds ~30 MB

_SOLVER_OPTS = {
    "CLARABEL": {},                                   # defaults: gap/feas tolerances 1e-8
    # SCS is first-order: 1e-9 takes minutes at 25 x 6 x 500 where 1e-7 takes
    # seconds; the Newton polish and the FW gap take it the rest of the way.
    "SCS": {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 100_000},
}


class MixtureInfeasible(ConfigError, ValueError):
    """The requested constraints admit no mixture."""


class MixtureSolveError(EnsembleFitError, RuntimeError):
    """Every solver failed on a problem the pre-checks found feasible."""


@dataclass
class MixtureResult:
    weights: dict[str, float]          # every simulator, in input order; sums to 1
    objective: float                   # g(w) recomputed in numpy (UNITS [+ cost penalty])
    per_facet: dict[str, float]        # D(m_f, q_f), unweighted, every input facet
    status: str                        # solver status ("optimal", "optimal_inaccurate", ...)
    solver: str                        # "CLARABEL", "SCS", "closed_form" (one simulator),
                                       # "SLSQP" (a screened support, greedy_forward rows)
    duality_gap: float | None          # solver primal-dual gap; None if not reported
    fw_gap: float                      # Frank-Wolfe gap at the final weights
    method: str                        # "convex" | "exact_enumeration" | "greedy"
    support: list[str]                 # simulators with positive weight, in input order
    divergence: str = "js"
    units: str = "bits"                # "bits" (js) or "nats" (kl_forward)
    divergence_value: float = 0.0      # sum_f lambda_f D_f, without the cost penalty
    expected_cost: float | None = None  # costs . w, when costs were given
    solver_objective: float | None = None  # objective as the solver reported it
    n_solves: int = 0                  # support solves spent (enumeration/greedy: all of them)
    facet_weights: dict[str, float] = field(default_factory=dict)  # normalised lambdas

    def weight_vector(self, names: Sequence[str] | None = None) -> np.ndarray:
        names = list(self.weights) if names is None else names
        return np.array([self.weights[n] for n in names], dtype=float)


# --------------------------------------------------------------------------
# Inputs


def smooth(p: np.ndarray, alpha: float | None = None) -> np.ndarray:
    """Additive smoothing along the last axis: add alpha (default 1/k) to every
    bin, then renormalise. Affine in p, so the mixture of smoothed rows equals
    the smoothed mixture (weights sum to 1)."""
    p = np.asarray(p, dtype=float)
    k = p.shape[-1]
    a = 1.0 / k if alpha is None else float(alpha)
    return (p + a) / (p.sum(axis=-1, keepdims=True) + k * a)


@dataclass
class _Data:
    names: list[str]
    facets: list[str]                  # every input facet
    lam: np.ndarray                    # normalised facet weights, aligned with facets
    P: list[np.ndarray]                # (S, k_f); smoothed when divergence == kl_forward
    q: list[np.ndarray]                # (k_f,); smoothed likewise
    divergence: str
    key: str                           # fingerprint of everything above, for the cache


def _check_dist(x: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contains non-finite values")
    if np.any(x < 0):
        raise ValueError(f"{what} contains negative values (min {x.min():.3g})")
    sums = x.sum(axis=-1)
    bad = np.abs(sums - 1.0) > ROW_TOL
    if np.any(bad):
        raise ValueError(f"{what} must sum to 1 along the cluster axis; "
                         f"got sums {np.atleast_1d(sums)[np.atleast_1d(bad)][:5]}")
    return x / sums[..., None] if x.ndim > 1 else x / sums  # remove float drift


def _prepare(P: Mapping[str, np.ndarray], q: Mapping[str, np.ndarray], names: Sequence[str],
             facet_weights: Mapping[str, float] | None, divergence: str) -> _Data:
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ValueError(f"simulator names must be unique: {names}")
    S = len(names)
    if S == 0:
        raise ValueError("need at least one simulator")
    facets = list(P)
    if set(facets) != set(q):
        raise ValueError(f"P and q must have the same facets: {sorted(P)} vs {sorted(q)}")
    if not facets:
        raise ValueError("need at least one facet")
    if facet_weights is None:
        lam = np.ones(len(facets))
    else:
        extra = set(facet_weights) - set(facets)
        missing = [f for f in facets if f not in facet_weights]
        if extra or missing:
            raise ValueError(f"facet_weights must name exactly the facets of P; "
                             f"unknown {sorted(extra)}, missing {missing}")
        lam = np.array([float(facet_weights[f]) for f in facets])
        if not np.all(np.isfinite(lam)) or np.any(lam < 0) or lam.sum() <= 0:
            raise ValueError(f"facet_weights must be finite, >= 0 and not all 0: "
                             f"{dict(zip(facets, lam))}")
    lam = lam / lam.sum()
    Ps, qs = [], []
    h = hashlib.sha1(divergence.encode())
    for f, l in zip(facets, lam):
        Pf = np.array(P[f], dtype=float)
        qf = np.array(q[f], dtype=float)
        if Pf.ndim != 2 or Pf.shape[0] != S:
            raise ValueError(f"P[{f!r}] must have shape (S={S}, k), got {Pf.shape}")
        if qf.shape != (Pf.shape[1],):
            raise ValueError(f"q[{f!r}] must have shape ({Pf.shape[1]},), got {qf.shape}")
        Pf = _check_dist(Pf, f"P[{f!r}]")
        qf = _check_dist(qf, f"q[{f!r}]")
        if divergence == "kl_forward":
            Pf, qf = smooth(Pf), smooth(qf)
        Ps.append(Pf)
        qs.append(qf)
        for arr in (Pf, qf, np.array([l])):
            h.update(np.ascontiguousarray(arr).tobytes())
            h.update(str(arr.shape).encode())
    return _Data(names, facets, lam, Ps, qs, divergence, h.hexdigest())


# --------------------------------------------------------------------------
# numpy evaluators (the ground truth every solve is checked against)


def _facet_values(w: np.ndarray, data: _Data) -> np.ndarray:
    out = np.empty(len(data.facets))
    for i, (Pf, qf) in enumerate(zip(data.P, data.q)):
        m = w @ Pf
        if data.divergence == "js":
            a = 0.5 * (m + qf)
            out[i] = 0.5 * (rel_entr(m, a).sum() + rel_entr(qf, a).sum()) / LN2
        else:
            out[i] = rel_entr(qf, m).sum()
    return out


def _gradient(w: np.ndarray, data: _Data) -> np.ndarray:
    """d/dw of sum_f lambda_f D_f (UNITS). -inf where moving weight onto a
    simulator would cover a real-user bin the mixture misses (JS only)."""
    g = np.zeros(len(w))
    for l, Pf, qf in zip(data.lam, data.P, data.q):
        if l == 0:
            continue
        m = w @ Pf
        if data.divergence == "js":
            # dJS/dm_j = 1/2 log2(2 m_j / (m_j + q_j)); equals 1/2 when q_j = 0
            with np.errstate(divide="ignore", invalid="ignore"):
                gm = 0.5 * np.log2(np.where(qf > 0, 2 * m / (m + qf), 2.0))
            hole = np.isneginf(gm)
            gs = Pf[:, ~hole] @ gm[~hole]
            gs[(Pf[:, hole] > 0).any(axis=1)] = -np.inf
        else:
            gs = Pf @ (-qf / m)
        g += l * gs
    return g


def _hessian(w: np.ndarray, data: _Data, rows: np.ndarray) -> np.ndarray:
    """d2/dw2 of sum_f lambda_f D_f (UNITS) restricted to `rows` (indices)."""
    H = np.zeros((len(rows), len(rows)))
    for l, Pf, qf in zip(data.lam, data.P, data.q):
        if l == 0:
            continue
        m = w @ Pf
        with np.errstate(divide="ignore", invalid="ignore"):
            if data.divergence == "js":
                # d2JS/dm_j2 = q_j / (2 m_j (m_j + q_j)); bins with m_j = 0 have no
                # simulator of `rows` on them (else w would not be interior)
                h = np.where(m > 0, qf / (2 * m * (m + qf)), 0.0) / LN2
            else:
                h = qf / m ** 2
        Pr = Pf[rows]
        H += l * (Pr * h) @ Pr.T
    return H


def mixture_objective(w, P, q, facet_weights=None, divergence: str = "js") -> float:
    """sum_f lambda_f D(sum_s w_s P_f[s], q_f), lambdas normalised to sum 1; JS in
    bits, KL in nats (as measure.divergence.js / kl).

    `w` is an (S,) array aligned with the rows of every P[f]. For "kl_forward"
    both sides are smoothed with alpha = 1/k_f before KL(q || mixture)."""
    w = np.asarray(w, dtype=float)
    some = next(iter(P.values()))
    data = _prepare(P, q, [str(i) for i in range(np.shape(some)[0])], facet_weights, divergence)
    return float(data.lam @ _facet_values(w, data))


def facet_divergences(w, P, q, divergence: str = "js") -> dict[str, float]:
    """Per-facet D(mixture, q_f) (no facet weighting; UNITS)."""
    w = np.asarray(w, dtype=float)
    some = next(iter(P.values()))
    data = _prepare(P, q, [str(i) for i in range(np.shape(some)[0])], None, divergence)
    return dict(zip(data.facets, map(float, _facet_values(w, data))))


def frank_wolfe_gap(w, P, q, facet_weights=None, divergence: str = "js") -> float:
    """Frank-Wolfe gap of the plain simplex problem at w (UNITS):
    max_s grad.(w - e_s) >= g(w) - min g. Zero exactly at an optimum; inf
    when w leaves a real-user bin uncovered that some simulator covers (JS)."""
    w = np.asarray(w, dtype=float)
    some = next(iter(P.values()))
    data = _prepare(P, q, [str(i) for i in range(np.shape(some)[0])], facet_weights, divergence)
    g = _gradient(w, data)
    if not np.all(np.isfinite(g)):
        return math.inf
    return max(0.0, float(g @ w - g.min()))


# --------------------------------------------------------------------------
# Constraints


@dataclass
class _Constraints:
    lb: np.ndarray          # lower bound when in the support (scalar min, dict min, include eps)
    ub: np.ndarray          # upper bound (0 where excluded)
    allowed: np.ndarray     # bool: may get weight
    forced: np.ndarray      # bool: must get weight (include, or a positive per-simulator min)
    cost: np.ndarray | None
    budget: float | None
    penalty: float

    @property
    def lin(self) -> np.ndarray:
        """Linear objective term (the cost penalty)."""
        if self.cost is None or self.penalty == 0:
            return np.zeros(len(self.lb))
        return self.penalty * self.cost


def _per_sim(value, names, default: float, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Scalar or {name: value} -> (array, bool array of explicitly named entries)."""
    S = len(names)
    if isinstance(value, Mapping):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"{what} names unknown simulators: {sorted(unknown)}")
        arr = np.array([float(value.get(n, default)) for n in names])
        named = np.array([n in value for n in names])
    else:
        arr = np.full(S, float(value))
        named = np.zeros(S, dtype=bool)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{what} must be in [0, 1]: {dict(zip(names, arr))}")
    return arr, named


def _fmt(names, mask) -> str:
    return ", ".join(n for n, m in zip(names, mask) if m)


def _min_cost(c: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> float:
    """min c.w s.t. sum w = 1, lb <= w <= ub (assumes sum lb <= 1 <= sum ub):
    start from lb and pour the remaining mass into the cheapest first."""
    w = lb.copy()
    rest = 1.0 - w.sum()
    for i in np.argsort(c, kind="stable"):
        add = min(ub[i] - w[i], rest)
        w[i] += add
        rest -= add
        if rest <= 0:
            break
    return float(c @ w)


def _constraints(names, min_weight, max_weight, include, exclude, costs, budget,
                 cost_penalty) -> _Constraints:
    S = len(names)
    index = {n: i for i, n in enumerate(names)}
    for what, group in (("include", include), ("exclude", exclude)):
        unknown = [n for n in group if n not in index]
        if unknown:
            raise ValueError(f"{what} names unknown simulators: {unknown}")
    inc = np.zeros(S, dtype=bool)
    inc[[index[n] for n in include]] = True
    exc = np.zeros(S, dtype=bool)
    exc[[index[n] for n in exclude]] = True
    if np.any(inc & exc):
        raise MixtureInfeasible(f"simulators both included and excluded: {_fmt(names, inc & exc)}")

    lb, lb_named = _per_sim(min_weight, names, 0.0, "min_weight")
    ub, _ = _per_sim(max_weight, names, 1.0, "max_weight")
    forced = inc | (lb_named & (lb > 0))
    bad = exc & forced
    if np.any(bad):
        raise MixtureInfeasible(f"excluded simulators have a positive min_weight: {_fmt(names, bad)}")
    lb = np.where(inc, np.maximum(lb, INCLUDE_EPS), lb)
    ub = np.where(exc, 0.0, ub)
    allowed = ~exc & (ub > 0)
    lb = np.where(allowed, lb, 0.0)
    bad = allowed & (lb > ub + FEAS_TOL)
    if np.any(bad):
        detail = "; ".join(f"{names[i]}: min {lb[i]:.4g} > max {ub[i]:.4g}"
                           + (" (include needs >= %g)" % INCLUDE_EPS if inc[i] else "")
                           for i in np.flatnonzero(bad))
        raise MixtureInfeasible(f"minimum weight above maximum weight: {detail}")
    bad = forced & ~allowed
    if np.any(bad):
        raise MixtureInfeasible(f"simulators that must get weight have max_weight 0: "
                                f"{_fmt(names, bad)}")
    if not allowed.any():
        raise MixtureInfeasible("every simulator is excluded or has max_weight 0")
    if lb[forced].sum() > 1 + FEAS_TOL:
        raise MixtureInfeasible(f"minimum weights of the simulators that must be used "
                                f"({_fmt(names, forced)}) sum to {lb[forced].sum():.4g} > 1")
    if ub[allowed].sum() < 1 - FEAS_TOL:
        raise MixtureInfeasible(f"maximum weights of the allowed simulators sum to "
                                f"{ub[allowed].sum():.4g} < 1 (max_weight / exclude)")

    cost = None
    if costs is not None:
        missing = [n for n in names if n not in costs]
        unknown = sorted(set(costs) - set(names))
        if missing or unknown:
            raise ValueError(f"costs must name every simulator; missing {missing}, unknown {unknown}")
        cost = np.array([float(costs[n]) for n in names])
        if not np.all(np.isfinite(cost)) or np.any(cost < 0):
            raise ValueError(f"costs must be finite and >= 0: {dict(costs)}")
    if (budget is not None or cost_penalty) and cost is None:
        raise ValueError("budget / cost_penalty need per-simulator costs")
    cost_penalty = float(cost_penalty or 0.0)
    if not math.isfinite(cost_penalty) or cost_penalty < 0:
        raise ValueError(f"cost_penalty must be finite and >= 0, got {cost_penalty}")
    if budget is not None:
        budget = float(budget)
        if not math.isfinite(budget):
            raise ValueError(f"budget must be finite, got {budget}")
        cheapest = int(np.flatnonzero(allowed)[np.argmin(cost[allowed])])
        if budget < cost[cheapest] - FEAS_TOL:
            raise MixtureInfeasible(
                f"budget {budget:.4g} is below the cheapest allowed simulator's cost "
                f"({names[cheapest]}: {cost[cheapest]:.4g})")
    return _Constraints(lb, ub, allowed, forced, cost, budget, cost_penalty)


# --------------------------------------------------------------------------
# The conic problem


class _Compiled:
    """The cvxpy problem for one data set and one set of active simulators.

    The data enter as constants: making P a cvxpy Parameter multiplies a
    Parameter matrix into the variables, whose DPP tensor has rows*cols
    entries of the conic matrix (gigabytes at 25 x 6 x 500). What does vary
    between re-solves (bounds, costs, budget) is a Parameter, so repeated
    solves on the same support skip compilation."""

    def __init__(self, data: _Data, active: np.ndarray, with_budget: bool):
        n = len(active)
        self.active = active
        self.w = w = cp.Variable(n, name="w")
        self.lb = cp.Parameter(n, name="lb")
        self.ub = cp.Parameter(n, name="ub")
        self.lin = cp.Parameter(n, name="lin")
        cons = [cp.sum(w) == 1, w >= self.lb, w <= self.ub]
        if with_budget:
            self.cost = cp.Parameter(n, nonneg=True, name="cost")
            self.budget = cp.Parameter(name="budget")
            cons.append(self.cost @ w <= self.budget)
        terms = [self.lin @ w]
        lin_const = np.zeros(n)
        const = 0.0
        for l, Pf, qf in zip(data.lam, data.P, data.q):
            if l == 0:
                continue
            Pa = Pf[active]
            scale = l * _SCALE[data.divergence]  # nats -> reported units, times lambda_f
            if data.divergence == "js":
                covered = Pa.sum(axis=0) > 0
                qpos = qf > 0
                full = covered & qpos
                # Bins no simulator covers, or real users never hit, are constant
                # or linear in w; keeping them as cones would leave cones with no
                # interior (an identically-zero argument), which IPMs dislike.
                lin_const += 0.5 * l * Pa[:, covered & ~qpos].sum(axis=1)   # 1/2 m log2 2
                const += 0.5 * l * qf[~covered & qpos].sum()                   # 1/2 q log2 2
                if full.any():
                    m = self._mix(Pa[:, full], w, cons)
                    qv = qf[full]
                    a = 0.5 * (m + qv)
                    terms.append((0.5 * scale) * (cp.sum(cp.rel_entr(m, a))
                                                  + cp.sum(cp.rel_entr(qv, a))))
            else:                                # smoothed: every bin is positive
                m = self._mix(Pa, w, cons)
                terms.append(scale * cp.sum(cp.rel_entr(qf, m)))
        if np.any(lin_const):
            terms.append(lin_const @ w)
        if const:
            terms.append(cp.Constant(const))     # keeps solver_objective comparable
        self.problem = cp.Problem(cp.Minimize(cp.sum(terms)), cons)

    @staticmethod
    def _mix(Pa: np.ndarray, w, cons):
        # An auxiliary m = Pa' w keeps each cone row to one nonzero instead of n:
        # a much sparser KKT system once n is more than a handful.
        if Pa.shape[0] < _AUX_MIN_N:
            return Pa.T @ w
        m = cp.Variable(Pa.shape[1])
        cons.append(m == Pa.T @ w)
        return m


def _run_solver(problem: cp.Problem, solver: str) -> float | None:
    """Solve in place with one solver; return its primal-dual gap if it
    reports one. Goes through get_problem_data so the raw solver output
    (with the dual objective) stays reachable. Tests monkeypatch this."""
    opts = dict(_SOLVER_OPTS[solver])
    data, chain, inverse = problem.get_problem_data(solver, solver_opts=opts)
    raw = chain.solve_via_data(problem, data, False, False, opts)
    with warnings.catch_warnings():
        # "Solution may be inaccurate": the status and our certificates say so
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        problem.unpack_results(raw, chain, inverse)
    try:
        if solver == "CLARABEL":
            return abs(float(raw.obj_val) - float(raw.obj_val_dual))
        if solver == "SCS":
            info = raw["info"]
            return abs(float(info["pobj"]) - float(info["dobj"]))
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    return None


def _solve_compiled(comp: _Compiled, lb, ub, lin, cost, budget):
    comp.lb.value = lb
    comp.ub.value = ub
    comp.lin.value = lin
    if cost is not None and budget is not None:
        comp.cost.value = cost
        comp.budget.value = budget
    errors = []
    for solver in SOLVERS:
        try:
            gap = _run_solver(comp.problem, solver)
        except Exception as exc:                 # solver crashed: try the next one
            errors.append(f"{solver}: {type(exc).__name__}: {exc}")
            continue
        status = comp.problem.status
        if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and comp.w.value is not None:
            return np.asarray(comp.w.value, dtype=float), status, solver, gap, comp.problem.value
        errors.append(f"{solver}: status {status}")
    if all("infeasible" in e for e in errors):
        raise MixtureInfeasible("the solvers report the constraints infeasible: " + "; ".join(errors))
    raise MixtureSolveError("every solver failed: " + "; ".join(errors))


_cache: OrderedDict = OrderedDict()


def clear_cache() -> None:
    """Drop the compiled problems kept for re-solves on the same data."""
    _cache.clear()


def _compiled(data: _Data, active: np.ndarray, with_budget: bool) -> _Compiled:
    key = (data.key, tuple(int(i) for i in active), with_budget)
    comp = _cache.get(key)
    if comp is None:
        comp = _Compiled(data, active, with_budget)
        _cache[key] = comp
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return comp


# --------------------------------------------------------------------------
# Certificates and result assembly


def _lmo(g: np.ndarray, lb, ub, cost, budget) -> float:
    """min g.v over {sum v = 1, lb <= v <= ub, cost.v <= budget}."""
    if cost is None or budget is None:
        return _min_cost(g, lb, ub)
    res = linprog(g, A_ub=cost[None, :], b_ub=[budget], A_eq=np.ones((1, len(g))), b_eq=[1.0],
                  bounds=list(zip(lb, ub)), method="highs")
    return float(res.fun) if res.status == 0 else -np.inf


def _fw_gap(w_full, data: _Data, cons: _Constraints, active: np.ndarray, lb) -> float:
    """g(w) - min_v [g(w) + grad.(v - w)] over the feasible set of this support:
    an upper bound on how far g(w) is above the optimum there (g convex)."""
    grad = _gradient(w_full, data) + cons.lin
    ga = grad[active]
    if not np.all(np.isfinite(ga)):
        return math.inf
    cost = None if cons.cost is None else cons.cost[active]
    vmin = _lmo(ga, lb, cons.ub[active], cost, cons.budget)
    return max(0.0, float(ga @ w_full[active] - vmin))


def _objective(w_full, data: _Data, cons: _Constraints) -> tuple[float, np.ndarray]:
    vals = _facet_values(w_full, data)
    return float(data.lam @ vals + cons.lin @ w_full), vals


def _cleanup(w, lb, ub, data, cons, active) -> np.ndarray:
    """Clip solver noise into the bounds and renormalise; zero tiny weights
    when that leaves the objective unchanged (so `support` is meaningful)."""
    S = len(data.names)
    w = np.clip(w, lb, ub)
    w_full = np.zeros(S)
    w_full[active] = w / w.sum()
    tiny = (w_full > 0) & (w_full < ZERO_TOL)
    tiny[active] &= lb <= 0
    if tiny.any():
        trial = np.where(tiny, 0.0, w_full)
        trial /= trial.sum()
        if _objective(trial, data, cons)[0] <= _objective(w_full, data, cons)[0] + ZERO_OBJ_TOL:
            w_full = trial
    return w_full


def _newton_face(x, fixed, lb, ub, data, cons, active, tight_budget: bool
                 ) -> np.ndarray | None:
    """Newton's method on the face where `fixed` weights sit at a bound and
    the rest are free: min g subject to sum w = 1 (and cost.w = budget when
    tight_budget). None if the face leaves the feasible set."""
    S = len(data.names)
    y = x.copy()
    y[fixed] = np.where(np.abs(x[fixed] - lb[fixed]) <= np.abs(x[fixed] - ub[fixed]),
                        lb[fixed], ub[fixed])
    free = np.flatnonzero(~fixed)
    if len(free) == 0:
        return y if abs(y.sum() - 1) <= FEAS_TOL else None
    E, e = [np.ones(len(active))], [1.0]
    if tight_budget:
        E.append(cons.cost[active])
        e.append(cons.budget)
    E, e = np.array(E), np.array(e)
    EF = E[:, free]
    if np.linalg.matrix_rank(EF) < len(e):
        return None

    def full(v):
        wf = np.zeros(S)
        wf[active] = v
        return wf

    obj = _objective(full(y), data, cons)[0]
    for _ in range(30):
        wf = full(y)
        g = (_gradient(wf, data) + cons.lin)[active][free]
        if not np.all(np.isfinite(g)):
            return None
        H = _hessian(wf, data, active[free])
        H += 1e-12 * max(1.0, np.abs(np.diag(H)).max()) * np.eye(len(free))
        r = len(e)
        K = np.block([[H, EF.T], [EF, np.zeros((r, r))]])
        rhs = np.concatenate([-g, e - E @ y])
        try:
            d = np.linalg.solve(K, rhs)[:len(free)]
        except np.linalg.LinAlgError:
            d = np.linalg.lstsq(K, rhs, rcond=None)[0][:len(free)]
        t = 1.0
        while t > 1e-10:
            z = y.copy()
            z[free] += t * d
            if np.all(z[free] >= lb[free]) and np.all(z[free] <= ub[free]):
                new = _objective(full(z), data, cons)[0]
                if new <= obj + 1e-15 or abs(e - E @ y).max() > 1e-12:
                    break
            t *= 0.5
        else:
            break
        y, done, obj = z, abs(g @ d) < 1e-16, new
        if done:
            break
    if np.abs(E @ y - e).max() > FEAS_TOL:
        return None
    return y


def _polish(w_full, data, cons, active, lb) -> np.ndarray:
    """Interior-point answers sit ~1e-6 inside the bounds. Snap weights that
    are that close to a bound onto it and run Newton on the remaining face;
    keep the result only if it is feasible, no worse, and certifies better."""
    ub = cons.ub[active]
    x = w_full[active]
    best, best_gap = w_full, _fw_gap(w_full, data, cons, active, lb)
    if best_gap <= 1e-12 or _leaves_hole(w_full, data, cons, active):
        return w_full
    best_obj = _objective(w_full, data, cons)[0]
    # Which bounds (and whether the budget) are active is a guess from x, so
    # try a few readings and keep the best certificate.
    tights = [False]
    if cons.budget is not None:
        slack = cons.budget - cons.cost[active] @ x
        tights = [True, False] if slack < 1e-5 * max(1.0, abs(cons.budget)) else [False, True]
    last = None
    for tight, tau in itertools.product(tights, (1e-5, 1e-7, 0.0)):
        fixed = (x <= lb + tau) | (x >= ub - tau)
        if last is not None and last[0] == tight and np.array_equal(last[1], fixed):
            continue            # the face just tried (taus often agree): same answer, judged
        last = (tight, fixed)
        y = _newton_face(x, fixed, lb, ub, data, cons, active, tight)
        if y is None:
            continue
        cand = np.zeros_like(w_full)
        cand[active] = y
        if cons.budget is not None and cons.cost @ cand > cons.budget + FEAS_TOL:
            continue
        obj = _objective(cand, data, cons)[0]
        gap = _fw_gap(cand, data, cons, active, lb)
        # The FW gap is the criterion (cand is feasible, so obj - opt <= gap);
        # the objective may rise by about the solver's constraint violation.
        if gap < best_gap and obj <= best_obj + max(1e-9, best_gap):
            best, best_gap, best_obj = cand, gap, obj
        if best_gap <= 1e-12:
            break
    return best


def _leaves_hole(w_full, data: _Data, cons: _Constraints, active: np.ndarray) -> bool:
    """Does w leave a real-user bin empty that a member of `active` covers (an
    infinite gradient, so an infinite FW gap)? A face of the polish only moves
    weights that are already positive or snaps them to a bound, so it never
    covers a new bin: every candidate keeps the infinite gap and none can
    certify better. The polish then has nothing to gain."""
    return not np.all(np.isfinite((_gradient(w_full, data) + cons.lin)[active]))


def _result(w_full, data, cons, active, lb, status, solver, gap, solver_obj, method,
            n_solves) -> MixtureResult:
    obj, vals = _objective(w_full, data, cons)
    return MixtureResult(
        weights={n: float(x) for n, x in zip(data.names, w_full)},
        objective=obj,
        per_facet={f: float(v) for f, v in zip(data.facets, vals)},
        status=status, solver=solver, duality_gap=gap,
        fw_gap=_fw_gap(w_full, data, cons, active, lb),
        method=method,
        support=[n for n, x in zip(data.names, w_full) if x > 0],
        divergence=data.divergence,
        units=UNITS[data.divergence],
        divergence_value=float(data.lam @ vals),
        expected_cost=None if cons.cost is None else float(cons.cost @ w_full),
        solver_objective=None if solver_obj is None else float(solver_obj),
        n_solves=n_solves,
        facet_weights={f: float(l) for f, l in zip(data.facets, data.lam)},
    )


def _support_feasible(active, lb, cons: _Constraints) -> bool:
    ub = cons.ub[active]
    if lb.sum() > 1 + FEAS_TOL or ub.sum() < 1 - FEAS_TOL:
        return False
    if cons.budget is not None and _min_cost(cons.cost[active], lb, ub) > cons.budget + FEAS_TOL:
        return False
    return True


def _screen(data: _Data, cons: _Constraints, active: np.ndarray, lb: np.ndarray,
            beat: float | None = None) -> MixtureResult | None:
    """Cheap solve of a small support for enumeration / greedy scoring:
    SLSQP in the few free weights, then the Newton face polish. Returned only
    when its Frank-Wolfe gap certifies it to SCREEN_GAP, or certifies that
    the support cannot beat the objective `beat` (see _solve_support); else None."""
    S = len(data.names)
    ub = cons.ub[active]

    def full(x):
        wf = np.zeros(S)
        wf[active] = x
        return wf

    def f(x):
        return _objective(full(np.clip(x, lb, ub)), data, cons)[0]

    def jac(x):
        g = (_gradient(full(np.clip(x, lb, ub)), data) + cons.lin)[active]
        return np.nan_to_num(g, neginf=-1e6)     # uncovered bin: push weight in hard

    constraints = [{"type": "eq", "fun": lambda x: x.sum() - 1.0,
                    "jac": lambda x: np.ones_like(x)}]
    if cons.budget is not None:
        ca = cons.cost[active]
        constraints.append({"type": "ineq", "fun": lambda x: cons.budget - ca @ x,
                            "jac": lambda x: -ca})
    x0 = np.clip(np.full(len(active), 1.0 / len(active)), lb, ub)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = minimize(f, x0, jac=jac, method="SLSQP", bounds=list(zip(lb, ub)),
                         constraints=constraints, options={"ftol": 1e-14, "maxiter": 500})
    except (ValueError, np.linalg.LinAlgError):
        return None
    x = np.clip(r.x, lb, ub)
    if abs(x.sum() - 1.0) > 1e-6:
        return None
    w_full = _polish(full(x / x.sum()), data, cons, active, lb)
    if cons.budget is not None and cons.cost @ w_full > cons.budget + FEAS_TOL:
        return None
    res = _result(w_full, data, cons, active, lb, "optimal", "SLSQP", None, None, "screen", 1)
    if res.fw_gap <= SCREEN_GAP:
        return res
    # g convex: the support's optimum is at least objective - fw_gap. Above
    # `beat`, no solve can make it win (_better's 1e-12 covers the rounding).
    if beat is not None and res.objective - res.fw_gap > beat:
        return res
    return None


def _solve_support(data: _Data, cons: _Constraints, active: np.ndarray, method: str,
                   screen: bool = False, beat: float | None = None) -> MixtureResult | None:
    """Best mixture whose weight lives on `active` (every member gets at least
    its lower bound). None when the constraints rule this support out.
    screen=True tries the cheap certified solve first (for scoring). `beat`
    (scoring only) is the best objective among the supports scored before
    this one: a cheap solve whose certificate shows this support cannot come
    within 1e-12 of it stands as the score, since `_better` would reject the
    conic answer as well (a loser's exact value changes nothing)."""
    active = np.asarray(sorted(int(i) for i in active))
    lb = cons.lb[active]
    if not _support_feasible(active, lb, cons):
        return None
    if len(active) == 1:                         # nothing to optimise
        w_full = np.zeros(len(data.names))
        w_full[active] = 1.0
        obj = _objective(w_full, data, cons)[0]
        return _result(w_full, data, cons, active, lb, "optimal", "closed_form", 0.0, obj,
                       method, 0)
    if screen:
        res = _screen(data, cons, active, lb, beat)
        if res is not None:
            res.method = method
            return res
    with_budget = cons.budget is not None
    comp = _compiled(data, active, with_budget)
    w, status, solver, gap, sobj = _solve_compiled(
        comp, lb, cons.ub[active], cons.lin[active],
        None if cons.cost is None else cons.cost[active], cons.budget)
    w_full = _cleanup(w, lb, cons.ub[active], data, cons, active)
    w_full = _polish(w_full, data, cons, active, lb)
    return _result(w_full, data, cons, active, lb, status, solver, gap, sobj, method, 1)


# --------------------------------------------------------------------------
# Cardinality: exact enumeration or greedy forward selection


def _support_sizes(cons: _Constraints, K: int) -> list[int]:
    n_forced = int(cons.forced.sum())
    free_lb = cons.lb[cons.allowed & ~cons.forced]
    if not np.any(free_lb > 0):
        # Zero lower bounds: a superset support can always copy a subset's
        # weights, so only the largest supports need solving.
        return [K]
    return list(range(max(n_forced, 1), K + 1))


def _n_supports(cons: _Constraints, K: int) -> int:
    n_forced = int(cons.forced.sum())
    n_free = int((cons.allowed & ~cons.forced).sum())
    return sum(math.comb(n_free, s - n_forced) for s in _support_sizes(cons, K)
               if 0 <= s - n_forced <= n_free)


def _better(a: MixtureResult | None, b: MixtureResult | None) -> bool:
    """Is a strictly better than b (ties keep the earlier / smaller one)?"""
    if a is None:
        return False
    return b is None or a.objective < b.objective - 1e-12


def _final(data, cons, active, screened: MixtureResult, method: str, n: int,
           recheck: bool = True) -> MixtureResult:
    """Re-solve the winning support with the conic solver so the reported
    result carries a solver status and duality gap next to the FW gap.
    recheck=False keeps a cheap solve already certified to CONVERGED_GAP
    (Newton-polished: the conic answer agrees to ~1e-16; only the solver
    status and duality gap would be added)."""
    if not recheck and screened.solver == "SLSQP" and screened.fw_gap <= CONVERGED_GAP:
        screened.method = method
        screened.n_solves = n
        return screened
    res = _solve_support(data, cons, active, method)
    if res is None or res.objective > screened.objective + 1e-9:
        res = screened                           # cannot happen with sane solvers
    res.method = method
    res.n_solves = n + res.n_solves
    return res


_PAIR_BLOCK = 256          # pairs scored at once (block x bins floats per array)
_PAIR_STEPS = 48           # bisection steps: the interval shrinks below 4e-15


def _pair_scores(data: _Data, cons: _Constraints, pairs: np.ndarray) -> np.ndarray | None:
    """Optimal objective on each two-simulator support, all pairs at once.

    On the support {i, j} the mixture is m(t) = t P_i + (1 - t) P_j, a
    convex function of one variable on the interval the bounds leave
    (lb_i <= t <= ub_i, lb_j <= 1 - t <= ub_j); its minimum is where the
    derivative changes sign, found by bisection for every pair in one
    vectorized pass. Scores agree with the per-support solve to ~1e-12, and
    the winner is re-solved and certified the usual way (`_final`). Returns
    None where this does not apply (KL, or a budget constraint): the caller
    solves each support instead. Infeasible pairs score inf.
    """
    if data.divergence != "js" or cons.budget is not None or len(pairs) == 0:
        return None
    i, j = pairs[:, 0], pairs[:, 1]
    lo = np.maximum(cons.lb[i], 1.0 - cons.ub[j])
    hi = np.minimum(cons.ub[i], 1.0 - cons.lb[j])
    ok = (lo <= hi + FEAS_TOL) & cons.allowed[i] & cons.allowed[j]
    lin = cons.lin
    out = np.full(len(pairs), np.inf)
    for b0 in range(0, len(pairs), _PAIR_BLOCK):
        sl = slice(b0, b0 + _PAIR_BLOCK)
        bi, bj, blo, bhi = i[sl], j[sl], lo[sl], np.maximum(hi[sl], lo[sl])
        # Each facet's rows and their differences, gathered once for the ~50
        # slope evaluations of the bisection instead of once per evaluation.
        rows = [(l, qf, Pf[bj], Pf[bi] - Pf[bj]) for l, Pf, qf in zip(data.lam, data.P, data.q)]
        dlin = lin[bi] - lin[bj]
        # Per facet: bins real users leave empty, bins where the pair agrees,
        # and two scratch arrays the slope works in (no temporaries).
        masks = [(qf <= 0, diff == 0, np.empty_like(diff), np.empty_like(diff)) for _, qf, _, diff in rows]

        def slope(t):
            # d/dt sum_f l_f JS(m(t), q_f) term by term: 1/2 log2(2m / (m + q)) where
            # q > 0, else 1/2 log2(2), times P_i - P_j; computed in place.
            d = dlin
            for (l, qf, base, diff), (qzero, same, m, r) in zip(rows, masks):
                if l == 0:
                    continue
                np.multiply(t[:, None], diff, out=m)
                m += base                                         # m(t)
                with np.errstate(divide="ignore", invalid="ignore"):
                    np.add(m, qf, out=r)
                    m *= 2
                    np.divide(m, r, out=m)
                    np.copyto(m, 2.0, where=qzero)
                    np.log2(m, out=m)
                    m *= 0.5
                    m *= diff
                    # An uncovered real-user bin pulls towards covering it (an
                    # infinite slope); bins both simulators leave empty do not count.
                    np.copyto(m, 0.0, where=same)
                d = d + l * m.sum(axis=1)
            return d

        def value(t):
            v = lin[bj] + t * dlin
            for l, qf, base, diff in rows:
                m = base + t[:, None] * diff
                a = 0.5 * (m + qf)
                js = 0.5 * (rel_entr(m, a).sum(axis=1) + rel_entr(qf, a).sum(axis=1)) / LN2
                v = v + l * js
            return v

        a, c = blo.copy(), bhi.copy()
        # Where the slope has one sign on the whole interval the minimum is an end.
        at_lo = slope(a) >= 0
        at_hi = slope(c) <= 0
        for _ in range(_PAIR_STEPS):
            mid = 0.5 * (a + c)
            up = slope(mid) > 0
            c = np.where(up, mid, c)
            a = np.where(up, a, mid)
        t = np.where(at_lo, blo, np.where(at_hi, bhi, 0.5 * (a + c)))
        # The minimum of the three candidates guards the ends' rounding.
        vals = np.minimum(value(t), np.minimum(value(blo), value(bhi)))
        out[sl] = np.where(ok[sl], vals, np.inf)
    return out


def _first_best(scores: np.ndarray) -> int | None:
    """Index of the lowest finite score; ties (within 1e-12) keep the earlier
    one, as `_better` does for supports solved one by one."""
    win = None
    for i, sc in enumerate(scores):
        if np.isfinite(sc) and (win is None or sc < scores[win] - 1e-12):
            win = i
    return win


def _enumerate(data, cons, K, recheck: bool = True) -> MixtureResult:
    forced = [int(i) for i in np.flatnonzero(cons.forced)]
    free = [int(i) for i in np.flatnonzero(cons.allowed & ~cons.forced)]
    best, best_active, n = None, None, 0
    for size in _support_sizes(cons, K):
        extra = size - len(forced)
        if extra < 0 or extra > len(free):
            continue
        actives = [np.array(forced + list(combo), dtype=int) for combo in itertools.combinations(free, extra)]
        scores = _pair_scores(data, cons, np.array(actives)) if size == 2 else None
        if scores is not None:
            # Two-member supports (the common K=2 table row): scored in one
            # vectorized pass; the winner is solved and certified below.
            win = _first_best(scores)
            n += len(actives)
            if win is not None:
                res = _solve_support(data, cons, actives[win], "exact_enumeration", screen=True)
                if _better(res, best):
                    best, best_active = res, actives[win]
            continue
        for active in actives:
            # Scored by the cheap solve; each score is certified to SCREEN_GAP
            # by its FW gap (else it came from the conic solver, or its
            # certificate shows it cannot beat the best so far).
            res = _solve_support(data, cons, active, "exact_enumeration", screen=True,
                                 beat=None if best is None else best.objective)
            if res is not None:
                n += res.n_solves
            if _better(res, best):
                best, best_active = res, active
    if best is None:
        raise MixtureInfeasible(_no_support_message(data, cons, K))
    return _final(data, cons, best_active, best, "exact_enumeration", n, recheck)


def _no_support_message(data, cons, K) -> str:
    top = np.sort(cons.ub[cons.allowed])[::-1][:K].sum()
    if top < 1 - FEAS_TOL:
        return (f"max_simulators={K} with these max_weight values can reach a total "
                f"weight of only {top:.4g} < 1")
    return (f"no support of at most {K} simulators satisfies the constraints "
            f"(min_weight, max_weight, include, budget)")


def _score_in_order(data, cons, actives: list[list[int]]) -> list[MixtureResult | None]:
    """Each support's result for greedy scoring, solved in order; each knows
    the best objective before it (`beat`), as `_better` picks in that order."""
    out, best = [], None
    for active in actives:
        res = _solve_support(data, cons, np.array(active), "greedy", screen=True,
                             beat=None if best is None else best.objective)
        out.append(res)
        if _better(res, best):
            best = res
    return out


def _relaxed_objective(data, cons, active) -> float:
    """Objective on a support with only the simplex constraint; used by greedy
    to move through support sizes that the bounds make infeasible."""
    relaxed = _Constraints(np.zeros_like(cons.lb), np.where(cons.allowed, 1.0, 0.0),
                           cons.allowed, cons.forced, cons.cost, None, cons.penalty)
    res = _solve_support(data, relaxed, active, "greedy", screen=True)
    return math.inf if res is None else res.objective


def _greedy(data, cons, K, recheck: bool = True) -> list[tuple[list[int], MixtureResult | None]]:
    """Forward selection; each step's chosen support is re-solved with the
    conic solver (candidates are scored with the cheap certified solve)."""
    chosen = [int(i) for i in np.flatnonzero(cons.forced)]
    free = [int(i) for i in np.flatnonzero(cons.allowed & ~cons.forced)]
    path = []
    if chosen:
        path.append((list(chosen), _solve_support(data, cons, np.array(chosen), "greedy")))
    while len(chosen) < K and free:
        candidates = free
        pair = _pair_scores(data, cons, np.array([chosen + [c] for c in free])) if len(chosen) == 1 else None
        if pair is not None:
            # Pairs: every candidate scored in one vectorized pass; only the
            # best one is solved (and certified) here.
            win = _first_best(pair)
            candidates = [] if win is None else [free[win]]
        scored = list(zip(candidates, _score_in_order(data, cons, [chosen + [c] for c in candidates])))
        feasible = [(c, r) for c, r in scored if r is not None]
        if feasible:
            best_c, best_r = feasible[0]
            for c, r in feasible[1:]:
                if _better(r, best_r):
                    best_c, best_r = c, r
            n = sum(r.n_solves for _, r in feasible)
        else:
            best_c = min(free, key=lambda c: _relaxed_objective(data, cons, np.array(chosen + [c])))
            best_r = None
        chosen.append(best_c)
        free.remove(best_c)
        if best_r is not None:
            best_r = _final(data, cons, np.array(chosen), best_r, "greedy", n, recheck)
        path.append((sorted(chosen), best_r))
    return path


# --------------------------------------------------------------------------
# Public API


def solve_mixture(P: Mapping[str, np.ndarray], q: Mapping[str, np.ndarray], names: Sequence[str],
                facet_weights: Mapping[str, float] | None = None, divergence: str = "js",
                min_weight: float | Mapping[str, float] = 0.0,
                max_weight: float | Mapping[str, float] = 1.0,
                include: Sequence[str] = (), exclude: Sequence[str] = (),
                costs: Mapping[str, float] | None = None, budget: float | None = None,
                cost_penalty: float = 0.0, max_simulators: int | None = None,
                max_enumerate: int = 300, *, recheck: bool = True) -> MixtureResult:
    """Mixture weights w (simplex) minimising sum_f lambda_f D(sum_s w_s P_f[s], q_f).

    Constraints:
      min_weight / max_weight: scalar or {simulator: bound}. A scalar minimum
        applies to every simulator that gets weight (all allowed ones for a
        plain convex fit; the chosen support under max_simulators). A positive
        per-simulator minimum forces that simulator in, like `include`.
      include: each gets at least max(min_weight, INCLUDE_EPS). exclude: weight 0.
      costs + budget: expected cost per conversation costs.w <= budget.
      costs + cost_penalty: adds cost_penalty * costs.w to the objective.
      max_simulators K: at most K simulators with weight. Exact when the number
        of candidate supports is <= max_enumerate, else greedy forward selection.
        Candidate supports are scored by a cheap solve (SLSQP + Newton polish)
        that counts only when its Frank-Wolfe gap is <= SCREEN_GAP (else the
        conic solver scores it); the winning support is re-solved by the conic
        solver, whose status and gaps the result reports. recheck=False skips
        that re-solve when the cheap solve is already certified to
        CONVERGED_GAP (for tables that need the weights, not the status).

    Objective units: JS in bits, KL in nats (result.units). The result's
    fw_gap bounds objective - optimum over the feasible set (for K, over the
    chosen support). Raises MixtureInfeasible (a ValueError) when the
    constraints conflict, MixtureSolveError when every solver fails.
    """
    data = _prepare(P, q, names, facet_weights, divergence)
    cons = _constraints(data.names, min_weight, max_weight, include, exclude, costs, budget,
                        cost_penalty)
    allowed = np.flatnonzero(cons.allowed)
    if max_simulators is not None:
        K = int(max_simulators)
        if K < 1:
            raise ValueError(f"max_simulators must be >= 1, got {max_simulators}")
        if int(cons.forced.sum()) > K:
            raise MixtureInfeasible(
                f"{int(cons.forced.sum())} simulators must be used "
                f"({_fmt(data.names, cons.forced)}) but max_simulators={K}")
        if K < len(allowed):
            if _n_supports(cons, K) <= max_enumerate:
                return _enumerate(data, cons, K, recheck)
            path = _greedy(data, cons, K, recheck)
            best = None
            for _, res in path:
                if _better(res, best):
                    best = res
            if best is None:
                raise MixtureInfeasible(_no_support_message(data, cons, K) + " (greedy search)")
            # Every step's chosen support was re-solved by the conic solver
            # (_final), so the best step already is the final re-solve.
            best.n_solves = sum(r.n_solves for _, r in path if r is not None)
            return best
    if cons.budget is not None and len(allowed) > 1:
        floor = _min_cost(cons.cost[allowed], cons.lb[allowed], cons.ub[allowed])
        if floor > cons.budget + FEAS_TOL:
            raise MixtureInfeasible(
                f"budget {cons.budget:.4g} is below the minimum expected cost {floor:.4g} "
                f"reachable under the weight bounds (min_weight / include)")
    res = _solve_support(data, cons, allowed, "convex")
    if res is None:                              # only the min-weight sum can fail here
        raise MixtureInfeasible(
            f"minimum weights of the allowed simulators sum to {cons.lb[allowed].sum():.4g} > 1 "
            f"(a scalar min_weight applies to every allowed simulator)")
    return res


def greedy_forward(P, q, names, K: int, facet_weights=None, divergence: str = "js",
                   *, recheck: bool = True, **constraints
                   ) -> list[tuple[list[str], MixtureResult | None]]:
    """Greedy "best combination of size 1..K" table.

    Starts from the forced simulators (include / positive per-simulator
    min_weight) and adds, one at a time, the simulator whose addition gives
    the lowest re-solved objective. Returns one (support, result) row per
    support size; result is None when the constraints rule that size out
    (the step then picks by the objective without bounds or budget).
    recheck: as for solve_mixture."""
    data = _prepare(P, q, names, facet_weights, divergence)
    cons = _constraints(data.names, constraints.pop("min_weight", 0.0),
                        constraints.pop("max_weight", 1.0), constraints.pop("include", ()),
                        constraints.pop("exclude", ()), constraints.pop("costs", None),
                        constraints.pop("budget", None), constraints.pop("cost_penalty", 0.0))
    if constraints:
        raise TypeError(f"unknown arguments: {sorted(constraints)}")
    K = int(K)
    if K < 1:
        raise ValueError(f"K must be >= 1, got {K}")
    return [([data.names[i] for i in sup], res) for sup, res in _greedy(data, cons, K, recheck)]


def single_objectives(P, q, names, facet_weights=None, divergence: str = "js",
                      costs=None, cost_penalty: float = 0.0) -> dict[str, float]:
    """Objective of each simulator used alone (no solve needed)."""
    data = _prepare(P, q, names, facet_weights, divergence)
    cons = _constraints(data.names, 0.0, 1.0, (), (), costs, None, cost_penalty)
    out = {}
    for i, n in enumerate(data.names):
        w = np.zeros(len(data.names))
        w[i] = 1.0
        out[n] = _objective(w, data, cons)[0]
    return out


def best_single(P, q, names, facet_weights=None, divergence: str = "js", exclude=(),
                costs=None, budget=None, cost_penalty: float = 0.0) -> MixtureResult:
    """The best single simulator (weight 1), as a MixtureResult with
    method "exact_enumeration", respecting exclude and budget."""
    return solve_mixture(P, q, names, facet_weights=facet_weights, divergence=divergence,
                       exclude=exclude, costs=costs, budget=budget, cost_penalty=cost_penalty,
                       max_simulators=1, max_enumerate=math.inf)
