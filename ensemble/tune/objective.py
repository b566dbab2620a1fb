"""A trial's objective: fit codebooks at the trial's k, solve the mixture, score on the yardstick."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import optuna

from ensemble.mixture.evaluate import MixtureProblem
from ensemble.mixture.fit import FitConfig, _constraints
from measure.distributions import histogram
from measure.errors import EnsembleFitError
from measure.pipeline import REAL, MeasureConfig, Prepared, fit_labels, resolve_k

from .space import SearchSpace, Settings, suggest
from .storage import WORKER, WORKER_ATTR, _is_surplus
from .yardstick import RESOLUTIONS, Yardstick, build_yardstick

TRIAL_ERRORS = (EnsembleFitError, ArithmeticError, ValueError, RuntimeError)


@dataclass
class TrialOutcome:
    settings: Settings
    value: float                       # yardstick, bits (lower is better)
    yardstick_per_facet: dict[str, float]
    weights: dict[str, float]          # mixture weights fitted with these settings
    fit_objective: float               # the fit's own objective on its own codebooks
    k_effective: dict[str, int]
    status: str
    seconds: float


@dataclass
class SweepContext:
    """Everything a trial needs, built once per sweep."""
    prep: Prepared
    mconf: MeasureConfig
    fconf: FitConfig
    yardstick: Yardstick
    space: SearchSpace
    default: Settings
    costs: dict[str, float] | None = None
    cache_dir: Path | None = None
    memo: dict = field(default_factory=dict)   # fitted labels shared by every trial

    @classmethod
    def build(cls, prep: Prepared, mconf: MeasureConfig, fconf: FitConfig, cache_dir: Path | None = None,
              costs: dict[str, float] | None = None, tune_pca: bool = False, tune_divergence: bool = False,
              resolutions=RESOLUTIONS, memo: dict | None = None) -> "SweepContext":
        memo = {} if memo is None else memo
        yard = build_yardstick(prep, resolutions, seed=mconf.seed, pca_variance=0.9,
                               minibatch_threshold=mconf.minibatch_threshold, cache_dir=cache_dir, memo=memo)
        default = Settings(k=resolve_k(prep, mconf), facet_weights=mconf.weights(prep.facets),
                           pca_variance=mconf.pca_variance, divergence=fconf.divergence)
        space = SearchSpace.for_data(prep, default.k, tune_pca, tune_divergence)
        return cls(prep=prep, mconf=mconf, fconf=fconf, yardstick=yard, space=space, default=default,
                   costs=costs, cache_dir=cache_dir, memo=memo)


def _problem(prep: Prepared, labels: dict[str, np.ndarray], k: dict[str, int],
             facet_weights: dict[str, float]) -> MixtureProblem:
    names = list(prep.simulators)
    fit_rows = prep.rows_of(REAL)
    P = {f: np.vstack([histogram(labels[f][prep.rows_of(s)], k[f]) for s in names]) for f in prep.facets}
    q = {f: histogram(labels[f][fit_rows], k[f]) for f in prep.facets}
    return MixtureProblem(names=names, P=P, q_fit=q, q_heldout=None, facet_weights=facet_weights)


def evaluate(ctx: SweepContext, settings: Settings, seed: int | None = None) -> TrialOutcome:
    """Fit codebooks and the mixture with `settings` on the fit split; score on the yardstick.
    `seed` (default: the measure config's) seeds the codebooks' k-means."""
    from ensemble.mixture.optimizer import solve_mixture

    t0 = time.perf_counter()
    seed = ctx.mconf.seed if seed is None else seed
    labels, k_eff = {}, {}
    for f in ctx.prep.facets:
        labels[f], k_eff[f] = fit_labels(ctx.prep, f, settings.k[f], seed, settings.pca_variance,
                                         ctx.mconf.minibatch_threshold, ctx.cache_dir, ctx.memo)
    prob = _problem(ctx.prep, labels, k_eff, settings.facet_weights)
    res = solve_mixture(prob.P, prob.q_fit, prob.names, facet_weights=prob.facet_weights,
                      divergence=settings.divergence, max_simulators=ctx.fconf.max_simulators,
                      **_constraints(ctx.fconf, prob.names, ctx.costs))
    weights = {s: float(res.weights[s]) for s in prob.names}
    per_facet = ctx.yardstick.per_facet(weights)
    return TrialOutcome(settings=settings, value=float(np.mean(list(per_facet.values()))),
                        yardstick_per_facet=per_facet, weights=weights, fit_objective=float(res.objective),
                        k_effective=k_eff, status=str(res.status), seconds=time.perf_counter() - t0)


def make_objective(ctx: SweepContext, n_trials: int | None = None) -> Callable[[optuna.Trial], float]:
    """The Optuna objective: suggest settings, evaluate, record what was seen."""

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, WORKER)
        if n_trials is not None and _is_surplus(trial.study, trial.number, n_trials):
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("enough trials are complete or running in other workers")
        try:
            out = evaluate(ctx, suggest(trial, ctx.space, ctx.default))
        except TRIAL_ERRORS as exc:  # kept on the trial: Optuna only logs it
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise
        trial.set_user_attr("facet_weights", out.settings.facet_weights)
        trial.set_user_attr("k_effective", out.k_effective)
        trial.set_user_attr("mixture_weights", out.weights)
        trial.set_user_attr("yardstick_per_facet", out.yardstick_per_facet)
        trial.set_user_attr("fit_objective", out.fit_objective)
        trial.set_user_attr("solver_status", out.status)
        trial.set_user_attr("seconds", out.seconds)
        return out.value

    return objective


# ------------------------------------------------------------------ sampler
