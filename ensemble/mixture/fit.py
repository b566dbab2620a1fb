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
    heldout_bootstrap,
    problem_from,
    realized_mixture,
)
from ensemble.mixture.optimizer import MixtureResult, solve_mixture
from ensemble.weights_file import SCHEMA as WEIGHTS_SCHEMA
from measure import __version__
from measure.atomic import write_json
from measure.run_folder import data_fingerprint, measurement_run_id
from measure.errors import ConfigError
from measure.pipeline import Measurement
from measure.progress import QUIET


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
    heldout_ci: dict = field(default_factory=dict)        # heldout_bootstrap's intervals and p-value
    uncovered_tasks: dict[str, dict] = field(default_factory=dict)  # tasks no simulator has


def check_fit_config(cfg: FitConfig, simulators: list[str], costs: dict[str, float] | None) -> None:
    """Problems the fit would only find after the whole measurement: unknown
    names in include/exclude, and a budget or cost penalty without costs."""
    for flag, names in (("--include", cfg.include), ("--exclude", cfg.exclude)):
        unknown = [n for n in names or [] if n not in simulators]
        if unknown:
            raise ConfigError(f"{flag} names simulator(s) not in the data: {', '.join(unknown)} "
                              f"(simulators: {', '.join(simulators)})")
    if cfg.budget is not None or cfg.cost_penalty:
        if not costs:
            raise ConfigError("--budget/--cost-penalty need costs: the metadata gives no simulator a 'cost'")
        missing = [s for s in simulators if s not in costs]
        if missing:
            raise ConfigError(f"--budget/--cost-penalty need a cost for every simulator; the metadata "
                              f"has none for: {', '.join(missing)}")


def _constraints(cfg: FitConfig, names: list[str], costs: dict[str, float] | None) -> dict:
    c = dict(min_weight=cfg.min_weight, max_weight=cfg.max_weight,
             include=[s for s in cfg.include if s in names], exclude=[s for s in cfg.exclude if s in names],
             cost_penalty=cfg.cost_penalty)
    if costs and (cfg.budget is not None or cfg.cost_penalty):
        c["costs"] = {s: costs[s] for s in names if s in costs}
        c["budget"] = cfg.budget
    return c


def _plain(cfg: FitConfig, cons: dict) -> bool:
    """The plain simplex problem: JS, no bounds, inclusions, costs or cardinality."""
    return (cfg.divergence == "js" and cfg.max_simulators is None and cons["min_weight"] <= 0
            and cons["max_weight"] >= 1 and not cons["include"] and not cons["exclude"]
            and not cons.get("costs") and not cons["cost_penalty"])


def fit(m: Measurement, cfg: FitConfig, costs: dict[str, float] | None = None,
        facet_weights: dict[str, float] | None = None, seed: int = 0, warn=None) -> FitOutcome:
    prob = problem_from(m, facet_weights)
    cons = _constraints(cfg, prob.names, costs)

    def solve(P, q):
        return solve_mixture(P, q, prob.names, facet_weights=prob.facet_weights, divergence=cfg.divergence,
                           max_simulators=cfg.max_simulators, **cons)

    result = solve(prob.P, prob.q_fit)
    max_size = min(len(prob.names), cfg.table_max_size if cfg.max_simulators is None else cfg.max_simulators)
    base = baselines(prob, cfg.divergence, max_size, {k: v for k, v in cons.items()
                                                       if k not in ("include", "exclude")} | {})
    w_fit = result.weight_vector(prob.names)
    if _plain(cfg, cons):
        # The replicates' problems differ only in their histograms: a warm-started
        # SLSQP solve from the point weights (~1e-4 from the conic solve) instead
        # of compiling 30 conic programs (seconds of `run`'s fit at paper scale).
        from .fast import solve_weights, stack

        def boot_solve(P, q):
            return solve_weights(stack(P, q, prob.facet_weights), w_fit)
    else:
        def boot_solve(P, q):
            return solve(P, q).weight_vector(prob.names)
    ci = bootstrap_weights(m, prob, boot_solve, cfg.weight_bootstrap, seed + 7)
    n_draws = cfg.realized_draws or sum(len(m.prep.rows_of(s)) for s in prob.names)
    realized = realized_mixture(m, prob, result.weights, n_draws, seed + 11)
    heldout_ci = heldout_bootstrap(m, prob, w_fit, base.best_single["name"], seed=seed + 13)
    uncovered = uncovered_tasks(m)
    if uncovered:
        (warn or QUIET.warn)("no simulator has conversations of task " + ", ".join(
            f"'{t}' ({v['share_of_real_users']:.0%} of real users)" for t, v in uncovered.items())
            + ": no per-task mixture for it; every mixture misses that share of real users")
    per_task = {}
    if cfg.per_task:
        tasks = sorted(set(m.prep.tasks) - {""})
        if len(tasks) > 1:
            for t in tasks:
                mask = m.prep.tasks == t
                # A task only some sources carry (e.g. simulators tagged with
                # tasks, real users not) has nothing to fit a mixture to.
                if not m.prep.fit_real[mask].any() or t in uncovered:
                    continue
                tp = problem_from(m, facet_weights, rows_mask=mask)
                tcons = _constraints(cfg, tp.names, costs)
                tres = solve_mixture(tp.P, tp.q_fit, tp.names, facet_weights=tp.facet_weights,
                                   divergence=cfg.divergence, max_simulators=cfg.max_simulators, **tcons)
                w = np.array([tres.weights[s] for s in tp.names])
                per_task[t] = {"weights": {s: tres.weights.get(s, 0.0) for s in prob.names},
                               "fit": tp.fit_value(w, cfg.divergence),
                               "heldout_js": tp.heldout(w) if tp.q_heldout else None,
                               "status": tres.status}
    return FitOutcome(problem=prob, result=result, baselines=base, weight_ci=ci, realized=realized,
                      per_task=per_task, costs=costs, heldout_ci=heldout_ci, uncovered_tasks=uncovered)


def uncovered_tasks(m: Measurement) -> dict[str, dict]:
    """Tasks of real users that no simulator has a conversation of, with the
    share of real users (fit and held-out) they hold: a share every mixture
    misses, whatever its weights."""
    prep = m.prep
    n_real = int(prep.is_real.sum())
    sim = ~prep.is_real
    out = {}
    for t in sorted(set(prep.tasks[prep.is_real]) - {""}):
        mask = prep.tasks == t
        if not (sim & mask).any():
            n = int((prep.is_real & mask).sum())
            out[t] = {"n_real": n, "share_of_real_users": n / n_real}
    return out


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
                   "n_real_heldout": int(m.prep.heldout.sum()),
                   **out.heldout_ci}
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
        "uncovered_tasks": out.uncovered_tasks,
        "config": {"fit": cfg.to_dict(), "measure": measure_config},
        "data_fingerprint": data_fingerprint(m.prep),
        "run_id": measurement_run_id(m),   # the measurement's: measure.json carries the same
    }
    if out.costs:
        data["expected_cost_per_conversation"] = float(sum(res.weights[s] * out.costs.get(s, 0.0) for s in prob.names))
    if extra:
        data.update(extra)
    return data


@dataclass(frozen=True)
class BestSingle:
    name: str
    js: float


@dataclass(frozen=True)
class Heldout:
    """The fitted mixture against its baselines on real users kept out of the fit.

    All JS in bits. `gain` is the best single simulator's held-out JS minus
    the mixture's (positive: the mixture is closer). `extra` keeps further
    fields of weights.json's ``heldout`` (intervals, p-values) by name.
    """
    mixture_js: float
    best_single: BestSingle
    uniform_js: float
    greedy_support: tuple[str, ...]
    greedy_js: float
    real_vs_real_js: float
    gain: float
    n_real: int
    extra: dict = field(default_factory=dict)

    _KNOWN = ("mixture_js", "best_single", "uniform_js", "greedy", "real_vs_real_js", "gain_vs_best_single",
              "n_real_heldout")

    @classmethod
    def from_dict(cls, d: dict) -> "Heldout":
        return cls(mixture_js=d["mixture_js"], best_single=BestSingle(d["best_single"]["name"], d["best_single"]["js"]),
                   uniform_js=d["uniform_js"], greedy_support=tuple(d["greedy"]["support"]),
                   greedy_js=d["greedy"]["js"], real_vs_real_js=d["real_vs_real_js"],
                   gain=d["gain_vs_best_single"], n_real=d["n_real_heldout"],
                   extra={k: v for k, v in d.items() if k not in cls._KNOWN})


@dataclass
class Mixture:
    """A fitted simulator mixture: weights, their bootstrap CIs, per-task
    weights, and the held-out comparison with the baselines.

    `outcome` holds the solver result and baselines; `to_json(path)` writes
    weights.json (schema ensemble-fit/weights/v1), byte-identical to the
    CLI's.
    """
    weights: dict[str, float]
    weights_ci: dict[str, tuple[float, float]]
    per_task: dict[str, dict[str, float]]
    heldout: Heldout | None
    objective: float
    solver_status: str
    outcome: FitOutcome
    config: FitConfig
    document: dict = field(repr=False)   # the weights.json document, built once

    @property
    def support(self) -> list[str]:
        """Simulators with positive weight, largest first."""
        return sorted((s for s, w in self.weights.items() if w > 0), key=lambda s: (-self.weights[s], s))

    def to_dict(self) -> dict:
        return self.document

    def to_json(self, path: str | Path) -> Path:
        """Write weights.json (schema ensemble-fit/weights/v1), checked first by
        the same validator that `load_weights` and the sampler apply, so a
        written file always loads."""
        from ensemble.weights_file import parse_weights
        parse_weights(self.document, str(path))
        return write_json(path, self.document)


def mixture_from(m: Measurement, outcome: FitOutcome, cfg: FitConfig, extra: dict | None = None) -> Mixture:
    """The typed result of `fit`, with its weights.json document."""
    doc = weights_json(m, outcome, cfg, m.config.to_dict(), extra)
    return Mixture(weights=dict(doc["weights"]),
                   weights_ci={s: tuple(v) for s, v in doc["weights_ci"].items()},
                   per_task={t: dict(w) for t, w in doc["per_task"].items()},
                   heldout=Heldout.from_dict(doc["heldout"]) if doc.get("heldout") else None,
                   objective=doc["objective"]["value"], solver_status=doc["solver"]["status"],
                   outcome=outcome, config=cfg, document=doc)
