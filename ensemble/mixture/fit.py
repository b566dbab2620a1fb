"""`ensemble-fit run`: measure, fit the mixture, evaluate it on held-out real
users, and write weights.json. The whole job, composed top to bottom."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ensemble.mixture.evaluate import (
    Baselines,
    MixtureProblem,
    baselines,
    bootstrap_weights,
    problem_from,
    realized_mixture,
)
from ensemble.mixture.optimizer import MixtureResult, solve_mixture
from measure import __version__
from measure.atomic import write_json
from measure.conversation import fingerprint
from measure.pipeline import REAL, Measurement

WEIGHTS_SCHEMA = "ensemble-fit/weights/v1"


@dataclass
class FitConfig:
    divergence: str = "js"                 # or "kl_forward"
    max_simulators: int | None = None      # K; None = no limit
    min_weight: float = 0.0
    max_weight: float = 1.0
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    budget: float | None = None            # expected cost per conversation
    cost_penalty: float = 0.0
    per_task: bool = True
    weight_bootstrap: int = 30
    table_max_size: int = 3                # best combinations of size 1..this
    realized_draws: int | None = None      # None = as many as simulated conversations

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FitOutcome:
    problem: MixtureProblem
    result: MixtureResult
    baselines: Baselines
    weight_ci: dict[str, list[float]]
    realized: dict
    per_task: dict[str, dict]
    costs: dict[str, float] | None


def _constraints(cfg: FitConfig, names: list[str], costs: dict[str, float] | None) -> dict:
    c = dict(min_weight=cfg.min_weight, max_weight=cfg.max_weight,
             include=[s for s in cfg.include if s in names], exclude=[s for s in cfg.exclude if s in names],
             cost_penalty=cfg.cost_penalty)
    if costs and (cfg.budget is not None or cfg.cost_penalty):
        c["costs"] = {s: costs[s] for s in names if s in costs}
        c["budget"] = cfg.budget
    return c


def fit(m: Measurement, cfg: FitConfig, costs: dict[str, float] | None = None,
        facet_weights: dict[str, float] | None = None, seed: int = 0) -> FitOutcome:
    prob = problem_from(m, facet_weights)
    cons = _constraints(cfg, prob.names, costs)

    def solve(P, q):
        return solve_mixture(P, q, prob.names, facet_weights=prob.facet_weights, divergence=cfg.divergence,
                           max_simulators=cfg.max_simulators, **cons)

    result = solve(prob.P, prob.q_fit)
    max_size = min(len(prob.names), cfg.table_max_size if cfg.max_simulators is None else cfg.max_simulators)
    base = baselines(prob, cfg.divergence, max_size, {k: v for k, v in cons.items()
                                                       if k not in ("include", "exclude")} | {})
    ci = bootstrap_weights(m, prob, solve, cfg.weight_bootstrap, seed + 7)
    n_draws = cfg.realized_draws or sum(len(m.prep.rows_of(s)) for s in prob.names)
    realized = realized_mixture(m, prob, result.weights, n_draws, seed + 11)
    per_task = {}
    if cfg.per_task:
        tasks = sorted(set(m.prep.tasks) - {""})
        if len(tasks) > 1:
            for t in tasks:
                mask = m.prep.tasks == t
                # A task only some sources carry (e.g. simulators tagged with
                # tasks, real users not) has nothing to fit a mixture to.
                if not m.prep.fit_real[mask].any():
                    continue
                tp = problem_from(m, facet_weights, rows_mask=mask)
                if len(tp.names) == 0:
                    continue
                tcons = _constraints(cfg, tp.names, costs)
                tres = solve_mixture(tp.P, tp.q_fit, tp.names, facet_weights=tp.facet_weights,
                                   divergence=cfg.divergence, max_simulators=cfg.max_simulators, **tcons)
                w = np.array([tres.weights[s] for s in tp.names])
                per_task[t] = {"weights": {s: tres.weights.get(s, 0.0) for s in prob.names},
                               "fit": tp.fit_value(w, cfg.divergence),
                               "heldout_js": tp.heldout(w) if tp.q_heldout else None,
                               "status": tres.status}
    return FitOutcome(problem=prob, result=result, baselines=base, weight_ci=ci, realized=realized,
                      per_task=per_task, costs=costs)


def weights_json(m: Measurement, out: FitOutcome, cfg: FitConfig, measure_config: dict, extra: dict | None = None) -> dict:
    prob, res, base = out.problem, out.result, out.baselines
    w = np.array([res.weights[s] for s in prob.names])
    heldout = None
    if prob.q_heldout is not None:
        mix = prob.heldout(w)
        heldout = {"mixture_js": mix,
                   "best_single": {"name": base.best_single["name"], "js": base.best_single["heldout_js"]},
                   "uniform_js": base.uniform["heldout_js"],
                   "greedy": {"support": base.greedy["support"], "js": base.greedy["heldout_js"]},
                   "real_vs_real_js": base.real_floor_heldout_js,
                   "gain_vs_best_single": base.best_single["heldout_js"] - mix,
                   "n_real_heldout": int(m.prep.heldout.sum())}
    data = {
        "schema": WEIGHTS_SCHEMA,
        "version": __version__,
        "weights": {s: res.weights[s] for s in prob.names},
        "weights_ci": out.weight_ci,
        "per_task": {t: v["weights"] for t, v in out.per_task.items()},
        "objective": {"divergence": cfg.divergence, "facet_weights": prob.facet_weights,
                      "value": res.objective, "per_facet": res.per_facet, "units": "bits" if cfg.divergence == "js" else "nats"},
        "solver": {"status": res.status, "solver": res.solver, "method": res.method,
                   "duality_gap": res.duality_gap, "frank_wolfe_gap": res.fw_gap},
        "heldout": heldout,
        "by_size": base.by_size,
        "baselines_fit": {"best_single": base.best_single, "uniform": base.uniform, "greedy": base.greedy},
        "realized_check": out.realized,
        "per_task_detail": out.per_task,
        "config": {"fit": cfg.to_dict(), "measure": measure_config},
        "data_fingerprint": fingerprint(m.prep.conversations),
    }
    if out.costs:
        data["expected_cost_per_conversation"] = float(sum(res.weights[s] * out.costs.get(s, 0.0) for s in prob.names))
    if extra:
        data.update(extra)
    return data


def write_weights(path: str | Path, data: dict) -> Path:
    return write_json(path, data)
