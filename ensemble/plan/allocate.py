"""Split a budget of new conversations (or of cost) across simulators.

The error to reduce is, per source j, a separable curve F_j(n_j): the
weights' mean squared error and the mixture's expected JS excess that come
from source j's sampling noise (see curves.py), each normalised by its total
at the pilot sizes so the two count equally. Since every F_j is convex and
decreasing in n_j, the greedy rule (give the next batch to the source with
the largest error reduction per unit of cost) is optimal up to the batch
size; Mixture-Greedy found plain greedy also beats UCB for choosing
generators online. A simulator whose weight was 0 in every pilot replicate
(dominated) gets nothing: its noise never moves the mixture. Nor does one
whose 95 % weight CI stays under `negligible` (default 0.02): a sample
that noisy can give a zero-weight simulator a sliver of weight, and paying
to shave that sliver is what wastes budget on simulators that end up unused.
A simulator whose weight is negligible now but whose CI reaches past it is
undecided: it gets at most a probe of its pilot size per round, and the next
round's plan (`--rounds`) decides whether it enters the mixture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from measure.errors import ConfigError
from measure.pipeline import REAL

from .curves import ZERO_WEIGHT, Curves

OBJECTIVES = ("both", "weights", "mixture_js")


@dataclass(frozen=True)
class Allocation:
    additional: dict[str, int]        # simulator -> new conversations
    spent: float                      # conversations or cost units
    unspent: float
    error_now: float                  # objective at the pilot sizes (1.0 = 2.0 for "both")
    error_after: float
    dominated: list[str]
    stopped: str                      # why the greedy loop ended


def error_terms(curves: Curves, objective: str = "both"):
    """F_j(n) for every source j, as a function, plus the normalisers."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown planning objective {objective!r}; choose from {', '.join(OBJECTIVES)}")
    sims = curves.simulators
    m0 = sum(curves.weight_mse_at(s, curves.n0) for s in sims)
    e0 = curves.excess_at(curves.n0)
    a = 1.0 / m0 if m0 > 0 and objective in ("both", "weights") else 0.0
    b = 1.0 / e0 if e0 > 0 and objective in ("both", "mixture_js") else 0.0

    def F(j: str, n: float) -> float:
        return a * sum(curves.weight_mse[s][j].at(n) for s in sims) + b * curves.excess[j].at(n)
    return F


NEGLIGIBLE = 0.02   # default: a weight CI that stays under this counts as dominated


def dominated(curves: Curves, negligible: float = NEGLIGIBLE) -> list[str]:
    """Simulators whose weight CI at the pilot size stays at 0, or under
    `negligible` (the mixture would give them at most that share)."""
    cut = max(ZERO_WEIGHT, negligible)
    return [s for s in curves.simulators if curves.weight_ci[s][1] <= cut]


def undecided(curves: Curves, negligible: float = NEGLIGIBLE) -> list[str]:
    """Simulators with a negligible weight now whose CI still reaches past
    `negligible`: whether they enter the mixture is open."""
    cut = max(ZERO_WEIGHT, negligible)
    return [s for s in curves.simulators if curves.weights[s] <= cut < curves.weight_ci[s][1]]


def allocate(curves: Curves, budget: float, costs: dict[str, float] | None = None,
             objective: str = "both", step: int | None = None,
             caps: dict[str, int] | None = None, negligible: float = NEGLIGIBLE) -> Allocation:
    """Greedy allocation of `budget` (conversations, or cost units when
    `costs` is given) over the non-dominated simulators.

    step: conversations per greedy move (default budget/400 conversations, >= 1).
    caps: the most new conversations a simulator can get (e.g. what a pool holds).
    negligible: simulators whose weight CI stays under this get nothing.
    """
    if budget < 0 or not np.isfinite(budget):
        raise ConfigError(f"budget must be a finite number >= 0, got {budget}")
    sims = curves.simulators
    if costs is not None:
        missing = [s for s in sims if s not in costs]
        if missing:
            raise ConfigError(f"a cost budget needs a cost for every simulator; none for: {', '.join(missing)}")
        free = [s for s in sims if costs[s] <= 0]
        if free:
            raise ConfigError(f"a cost budget needs a positive cost per simulator; cost 0 for: {', '.join(free)} "
                              f"(plan them with a count budget instead)")
    cost = {s: (float(costs[s]) if costs is not None else 1.0) for s in sims}
    F = error_terms(curves, objective)
    out_sims = set(dominated(curves, negligible))
    candidates = [s for s in sims if s not in out_sims]
    n = {j: float(curves.n0[j]) for j in curves.sources}
    add = {s: 0 for s in sims}
    caps = dict(caps or {})
    for s in undecided(curves, negligible):
        # Weight ~0 now, CI reaching past `negligible`: probe it with at most
        # its pilot size again; the next round's plan tells whether it enters.
        caps[s] = min(caps.get(s, curves.n0[s]), curves.n0[s])
    mean_cost = float(np.mean([cost[s] for s in candidates])) if candidates else 1.0
    if step is None:
        step = max(1, int(budget / mean_cost / 400))
    remaining = float(budget)
    stopped = "budget spent"
    while candidates:
        best, best_gain, best_take = None, 0.0, 0
        for s in candidates:
            take = step if step * cost[s] <= remaining + 1e-9 else int((remaining + 1e-9) // cost[s])
            if s in caps:
                take = min(take, int(caps[s]) - add[s])
            if take <= 0:
                continue
            gain = (F(s, n[s]) - F(s, n[s] + take)) / (take * cost[s])
            if gain > best_gain:
                best, best_gain, best_take = s, gain, take
        if best is None:
            if all(int((remaining + 1e-9) // cost[s]) == 0 for s in candidates):
                stopped = "budget spent"
            elif all(add[s] >= caps.get(s, np.inf) for s in candidates):
                stopped = "every simulator reached its cap"
            else:
                stopped = "no simulator's conversations reduce the error any more"
            break
        n[best] += best_take
        add[best] += best_take
        remaining -= best_take * cost[best]
    if not candidates:
        stopped = "every simulator is dominated"
    total_now = sum(F(j, curves.n0[j]) for j in curves.sources)
    total_after = sum(F(j, n[j]) for j in curves.sources)
    return Allocation(additional=add, spent=float(budget) - max(0.0, remaining), unspent=max(0.0, remaining),
                      error_now=float(total_now), error_after=float(total_after),
                      dominated=sorted(out_sims), stopped=stopped)


def real_recommendation(curves: Curves, alloc: Allocation, objective: str = "both",
                        real_cost: float = 1.0, floor_ratio: float = 0.25,
                        cap_factor: float = 20.0) -> tuple[int, int, int]:
    """How many more real users help.

    Returns (recommended, n_marginal, n_floor):
      n_marginal: real users to add until one more reduces the error less
        than the last simulated conversation of the allocation did (per unit
        of cost, a real user costing `real_cost` simulated-conversation units);
      n_floor: real users to add until the real-vs-real floor is at most
        `floor_ratio` times the best simulator's gap.
    Both are capped at cap_factor x the pilot's real users.
    """
    F = error_terms(curves, objective)
    n_after = {s: curves.n0[s] + alloc.additional.get(s, 0) for s in curves.simulators}
    # The marginal value of the allocation's last simulated conversation.
    gains = [F(s, n_after[s] - 1) - F(s, n_after[s]) for s, a in alloc.additional.items() if a > 0]
    last = min(gains) if gains else 0.0
    n_r = curves.n0[REAL]
    cap = int(cap_factor * n_r)
    n_marg = 0
    if F(REAL, n_r) > 0:
        lo, hi = 0, cap
        while lo < hi:            # smallest extra x with marginal value <= last per cost
            mid = (lo + hi) // 2
            if (F(REAL, n_r + mid) - F(REAL, n_r + mid + 1)) / real_cost <= last:
                hi = mid
            else:
                lo = mid + 1
        n_marg = lo
    n_floor = 0
    if curves.floor is not None and curves.gap:
        target = floor_ratio * min(curves.gap.values())
        if curves.floor.at(n_r) > target > 0:
            need = curves.floor.n_for(target)
            n_floor = int(min(cap, np.ceil(need - n_r)))
    return max(n_marg, n_floor), n_marg, n_floor
