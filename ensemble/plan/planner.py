"""`plan`: from a pilot measurement to a typed Plan (how many conversations
each simulator needs, and which to generate next)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from measure.errors import ConfigError
from measure.pipeline import REAL, Measurement

from .allocate import OBJECTIVES, Allocation, allocate, error_terms, real_recommendation
from .curves import Z95, ZERO_WEIGHT, Curves, estimate
from .pilot import Pilot, pilot_from

PLAN_SCHEMA = "ensemble-fit/plan/v1"
METHOD = ("bootstrap at several sizes: each source resampled alone at {sizes} x its pilot n "
          "({n_boot} replicates per size, codebooks fixed, weights re-solved), per-source MSE fitted as "
          "a (n0/n) + b (n0/n)^2 (variance + squared bias) and summed over sources; weight CI now from a joint "
          "bootstrap ({n_boot_joint} replicates); simulators whose weight CI stays under {negligible:g} "
          "get nothing; greedy allocation of the budget on the expected "
          "reduction of weight MSE + mixture JS excess per unit of cost")
NEVER = 10_000_000   # n beyond this is reported as unreachable (null)


@dataclass
class PlanConfig:
    budget: float | None = None          # new conversations (or cost units with costs); None = 0
    budget_is_cost: bool = False
    target_ci: float = 0.05              # full width of the gap's 95 % CI, bits
    objective: str = "both"              # what the allocation reduces: both, weights, mixture_js
    rounds: int = 1                      # split the budget over this many plan -> generate rounds
    sizes: tuple[float, ...] = (0.5, 1.0, 2.0)
    n_boot: int = 20
    n_boot_joint: int = 60
    real_cost: float = 1.0               # a real user in simulated-conversation units
    negligible_weight: float = 0.02      # weight CI under this at the pilot: dominated, no budget
    seed: int = 0

    def check(self) -> None:
        if self.budget is not None and (not math.isfinite(self.budget) or self.budget < 0):
            raise ConfigError(f"--budget must be a number >= 0, got {self.budget}")
        if not (self.target_ci > 0 and math.isfinite(self.target_ci)):
            raise ConfigError(f"--target-ci must be > 0 (bits), got {self.target_ci}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown planning objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if int(self.rounds) != self.rounds or self.rounds < 1:
            raise ConfigError(f"--rounds must be an integer >= 1, got {self.rounds}")
        if self.n_boot < 4 or self.n_boot_joint < 10:
            raise ConfigError("the planner needs >= 4 replicates per size and >= 10 joint replicates")
        if not (0 <= self.negligible_weight < 1):
            raise ConfigError(f"--negligible-weight must be in [0, 1), got {self.negligible_weight}")
        if not self.sizes or any(f <= 0 for f in self.sizes):
            raise ConfigError(f"bootstrap sizes must be positive multiples of n, got {self.sizes}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d


@dataclass
class SimulatorPlan:
    n_now: int
    recommended_additional: int
    weight_now: float
    weight_ci_now: list[float]
    expected_weight_ci: list[float]
    gap_now: float
    gap_ci_now: list[float]
    expected_gap_ci: list[float]
    n_for_target_ci: int | None          # total n for the gap CI to reach target_ci (None: unreachable)
    n_real_for_target_ci: int | None     # real users that needs, when more than there are now
    n_to_settle_rank: int | None         # total n to separate it from both ranking neighbours
    dominated: bool
    error_share: float                   # share of the reducible error that is its sampling noise
    cost_per_conversation: float | None
    reason: str


@dataclass
class RealPlan:
    n_now: int
    recommended_additional: int
    n_marginal: int
    n_for_floor: int
    floor_now: float | None
    expected_floor: float | None
    error_share: float
    reason: str


@dataclass
class Plan:
    simulators: dict[str, SimulatorPlan]
    real: RealPlan
    budget: dict
    ranking: list[dict]
    rounds: dict
    method: str
    config: dict
    curves: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"schema": PLAN_SCHEMA,
                "simulators": {s: asdict(p) for s, p in self.simulators.items()},
                "real": asdict(self.real), "budget": dict(self.budget), "ranking": list(self.ranking),
                "rounds": dict(self.rounds), "method": self.method, "config": dict(self.config),
                "curves": self.curves}

    @property
    def recommended(self) -> dict[str, int]:
        return {s: p.recommended_additional for s, p in self.simulators.items()}


# ------------------------------------------------------------------ helpers

def _ci(center: float, sd: float, lo: float = 0.0, hi: float = math.inf) -> list[float]:
    return [float(max(lo, center - Z95 * sd)), float(min(hi, center + Z95 * sd))]


def _scaled_ci(w: float, ci: tuple[float, float], ratio: float) -> list[float]:
    return [float(max(0.0, w - (w - ci[0]) * ratio)), float(min(1.0, w + (ci[1] - w) * ratio))]


def _n_for_gap_target(c: Curves, s: str, n_real: float, target: float) -> tuple[int | None, int | None]:
    """(n_s, n_real): the simulator's total n for the gap CI's full width to
    be <= target, and the real users that needs. With the real users at hand
    when they leave room; else with enough real users to take half the allowed
    variance. n_s is None when unreachable."""
    half_sd = target / (2 * Z95)
    allowed = half_sd ** 2
    r = c.gap_var_real[s]
    real_needed = None
    room = allowed - r.at(n_real)
    if room <= 0:
        room = allowed / 2
        need = r.n_for(room)
        real_needed = int(math.ceil(need)) if need < NEVER else None
        if real_needed is None:
            return None, None
    g = c.gap_var[s]
    if g.v <= 0:
        return c.n0[s], real_needed
    n = g.n_for(room)
    return (int(math.ceil(n)) if n < NEVER else None), real_needed


def _worst(ns: list[int | None]) -> int | None:
    """The largest n of a simulator's neighbour pairs; None if any is unreachable."""
    return None if not ns or any(n is None for n in ns) else max(ns)


def _n_to_settle(c: Curves, a: str, b: str, n_real: float) -> int | None:
    """Common total n of a and b (scaled up together from the pilot) at which
    their gap difference exceeds 1.96 sd; the pilot n when already settled."""
    d = abs(c.gap[a] - c.gap[b])
    if d <= 0:
        return None
    if d > Z95 * c.diff_sd(a, b, c.n0[a], c.n0[b], n_real):
        return max(c.n0[a], c.n0[b])
    lo, hi = 1.0, NEVER / max(1, max(c.n0[a], c.n0[b]))
    if d <= Z95 * c.diff_sd(a, b, c.n0[a] * hi, c.n0[b] * hi, n_real):
        return None
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if d > Z95 * c.diff_sd(a, b, c.n0[a] * mid, c.n0[b] * mid, n_real):
            hi = mid
        else:
            lo = mid
    return int(math.ceil(max(c.n0[a], c.n0[b]) * hi))


# ------------------------------------------------------------------ plan

def plan_pilot(pilot: Pilot, config: PlanConfig, costs: dict[str, float] | None = None,
               weights0: dict[str, float] | None = None) -> Plan:
    """The plan for a pilot given as labels on fixed codebooks (see Pilot)."""
    config.check()
    if config.budget_is_cost and not costs:
        raise ConfigError("a cost budget needs per-simulator costs (--metadata with 'cost')")
    curves = estimate(pilot, sizes=config.sizes, n_boot=config.n_boot, n_boot_joint=config.n_boot_joint,
                      seed=config.seed, weights0=weights0, negligible=config.negligible_weight)
    budget = float(config.budget or 0.0)
    this_round = budget / config.rounds
    alloc = allocate(curves, this_round, costs if config.budget_is_cost else None, config.objective,
                     negligible=config.negligible_weight)
    return assemble(curves, alloc, config, costs, budget)


def plan(m: Measurement, config: PlanConfig | None = None, costs: dict[str, float] | None = None,
         facet_weights: dict[str, float] | None = None) -> Plan:
    """Plan the generation budget from a pilot measurement.

    Parameters
    ----------
    m : Measurement
        The pilot, measured with `measure.pipeline.measure` (any held-out
        real users are left out, as in the mixture fit).
    config : PlanConfig, optional
        Budget, target CI width, objective, rounds, bootstrap sizes, seed.
    costs : dict, optional
        Cost per conversation of each simulator (e.g. from --metadata);
        needed when ``config.budget_is_cost``, reported otherwise.
    facet_weights : dict, optional
        Facet weights of the mixture objective (default: the measurement's).

    Returns
    -------
    Plan
        Per-simulator recommendations, real users, budget, ranking pairs;
        ``Plan.to_json()`` gives plan.json (schema ensemble-fit/plan/v1).
    """
    return plan_pilot(pilot_from(m, facet_weights), config or PlanConfig(), costs)


def assemble(curves: Curves, alloc: Allocation, config: PlanConfig, costs: dict[str, float] | None,
             budget_total: float) -> Plan:
    sims = curves.simulators
    n_now = dict(curves.n0)
    n_after = {j: n_now[j] + (alloc.additional.get(j, 0) if j != REAL else 0) for j in curves.sources}
    F = error_terms(curves, config.objective)
    err_now = {j: F(j, n_now[j]) for j in curves.sources}
    total_err = sum(err_now.values()) or 1.0
    real_add, n_marg, n_floor = real_recommendation(curves, alloc, config.objective, config.real_cost)
    order = sorted(sims, key=lambda s: (curves.gap[s], s))
    settle = {}
    ranking = []
    for a, b in zip(order, order[1:]):
        n_set = _n_to_settle(curves, a, b, n_now[REAL])
        sd = curves.diff_sd(a, b, n_now[a], n_now[b], n_now[REAL])
        settled = abs(curves.gap[a] - curves.gap[b]) > Z95 * sd
        ranking.append({"better": a, "worse": b, "gap_difference": curves.gap[b] - curves.gap[a],
                        "difference_sd": sd, "settled_now": bool(settled), "n_to_settle": n_set,
                        # unreachable by simulated conversations alone: the real users' noise
                        "limited_by_real": bool(n_set is None and not settled)})
        settle.setdefault(a, []).append(n_set)
        settle.setdefault(b, []).append(n_set)
    out: dict[str, SimulatorPlan] = {}
    dom = set(alloc.dominated)
    target_n = {s: _n_for_gap_target(curves, s, n_now[REAL], config.target_ci) for s in sims}
    for s in sims:
        w, ci = curves.weights[s], curves.weight_ci[s]
        mse_now = curves.weight_mse_at(s, n_now)
        mse_after = curves.weight_mse_at(s, n_after)
        ratio = math.sqrt(mse_after / mse_now) if mse_now > 0 else 1.0
        g_sd_now = curves.gap_sd(s, n_now[s], n_now[REAL])
        g_sd_after = curves.gap_sd(s, n_after[s], n_now[REAL])
        share = err_now[s] / total_err
        add = int(alloc.additional.get(s, 0))
        if s in dom and ci[1] <= ZERO_WEIGHT:
            reason = (f"dominated: weight 0 in all {config.n_boot_joint} bootstrap replicates at n={n_now[s]}; "
                      f"more of its conversations would not change the mixture")
        elif s in dom:
            reason = (f"dominated: weight CI [{ci[0]:.3f}, {ci[1]:.3f}] at n={n_now[s]} stays under "
                      f"{config.negligible_weight:g}; it would be at most a sliver of the mixture")
        elif add > 0 and w <= max(ZERO_WEIGHT, config.negligible_weight):
            reason = (f"undecided: weight {w:.3f} now but CI [{ci[0]:.3f}, {ci[1]:.3f}]; a probe of at most "
                      f"{n_now[s]} more tells whether it enters the mixture (plan again after it)")
        elif add > 0:
            reason = (f"weight {w:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]; its sampling noise is {share:.0%} of the "
                      f"reducible error, the most per {'unit of cost' if config.budget_is_cost else 'conversation'} "
                      f"among those left")
        elif w <= ZERO_WEIGHT:
            reason = (f"weight 0 now, CI [{ci[0]:.2f}, {ci[1]:.2f}]: rarely enters the mixture; other simulators "
                      f"reduce the error more per conversation")
        else:
            reason = (f"weight {w:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] is already precise enough for this budget "
                      f"({share:.0%} of the reducible error)")
        out[s] = SimulatorPlan(
            n_now=n_now[s], recommended_additional=add, weight_now=w, weight_ci_now=[ci[0], ci[1]],
            expected_weight_ci=_scaled_ci(w, ci, ratio), gap_now=curves.gap[s],
            gap_ci_now=_ci(curves.gap[s], g_sd_now), expected_gap_ci=_ci(curves.gap[s], g_sd_after),
            n_for_target_ci=target_n[s][0], n_real_for_target_ci=target_n[s][1],
            n_to_settle_rank=_worst(settle.get(s, [])), dominated=s in dom, error_share=float(share),
            cost_per_conversation=(float(costs[s]) if costs and s in costs else None), reason=reason)
    floor_now = curves.floor.at(n_now[REAL]) if curves.floor else None
    floor_after = curves.floor.at(n_now[REAL] + real_add) if curves.floor else None
    real_share = err_now[REAL] / total_err
    if real_add == 0:
        r_reason = (f"real users' sampling noise is {real_share:.0%} of the reducible error; "
                    f"more of them would help less than the planned simulated conversations")
    else:
        parts = []
        if n_marg:
            parts.append(f"{n_marg} more until a real user helps less than the last planned simulated "
                         f"conversation (real users are {real_share:.0%} of the reducible error)")
        if n_floor:
            parts.append(f"{n_floor} more to bring the real-vs-real floor ({floor_now:.3f} bits) under a "
                         f"quarter of the best simulator's gap")
        r_reason = "; ".join(parts)
    real = RealPlan(n_now=n_now[REAL], recommended_additional=int(real_add), n_marginal=int(n_marg),
                    n_for_floor=int(n_floor), floor_now=floor_now, expected_floor=floor_after,
                    error_share=float(real_share), reason=r_reason)
    unit = "cost" if config.budget_is_cost else "conversations"
    budget = {"unit": unit, "total": budget_total, "this_round": budget_total / config.rounds,
              "allocated": alloc.spent, "unspent": alloc.unspent,
              "recommended_conversations": int(sum(alloc.additional.values())),
              "to_dominated": int(sum(alloc.additional[s] for s in dom)),
              "error_now": alloc.error_now, "error_after": alloc.error_after, "stopped": alloc.stopped}
    if costs:
        budget["expected_cost"] = float(sum(alloc.additional[s] * costs.get(s, 0.0) for s in sims))
    rounds = {"rounds": int(config.rounds), "this_round": 1,
              "budget_per_round": budget_total / config.rounds,
              "remaining_after_this_round": budget_total - budget_total / config.rounds,
              "loop": ["generate the recommended conversations per simulator",
                       "add them to the --data folders (same source names)",
                       "run `ensemble-fit plan` again with the remaining budget: descriptions, embeddings "
                       "and codebooks of the old conversations come from --cache, only the new ones are "
                       "described and embedded"]}
    return Plan(simulators=out, real=real, budget=budget, ranking=ranking, rounds=rounds,
                method=METHOD.format(sizes=", ".join(f"{f:g}" for f in config.sizes), n_boot=config.n_boot,
                                     n_boot_joint=config.n_boot_joint, negligible=config.negligible_weight),
                config=config.to_dict(), curves=curves_json(curves))


def curves_json(c: Curves) -> dict:
    """The fitted curves, enough to redraw width-vs-n for every simulator."""
    def ab(cv):
        return {"a": cv.a, "b": cv.b}
    return {"n0": dict(c.n0), "sizes": list(c.sizes),
            "model": "value(n) = a (n0/n) + b (n0/n)^2",
            "weight_mse": {s: {j: ab(cv) for j, cv in row.items() if cv.v > 0}
                           for s, row in c.weight_mse.items()},
            "excess_js": {j: ab(cv) for j, cv in c.excess.items()},
            "gap_var": {s: ab(cv) for s, cv in c.gap_var.items()},
            "gap_var_real": {s: ab(cv) for s, cv in c.gap_var_real.items()},
            "floor": None if c.floor is None else ab(c.floor),
            "objective_js": c.objective}


def width_at(curves: Curves, s: str, n_sim: np.ndarray) -> np.ndarray:
    """Predicted full 95 % width of w_s when only s's own n changes."""
    rest = sum(curves.weight_mse[s][j].at(curves.n0[j]) for j in curves.sources if j != s)
    own = np.array([curves.weight_mse[s][s].at(x) for x in n_sim])
    return 2 * Z95 * np.sqrt(rest + own)
