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
from measure.pipeline import REAL, MeasureConfig, Prepared, blas_threads, fit_labels, fit_labels_merged, resolve_k

from .space import SearchSpace, Settings, suggest
from .storage import WORKER, WORKER_ATTR, _is_surplus
from .yardstick import RESOLUTIONS, Yardstick, build_yardstick

CODEBOOKS_ENV = "ENSEMBLE_FIT_SWEEP_CODEBOOKS"
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
    codebook_seconds: float = 0.0      # labels for the trial's k: loads, merges and fresh fits
    codebook_fits: int = 0             # fresh k-means fits (0 when cached or merged)


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
    # Trials take every k <= k_fine from merges of one k_fine codebook per
    # facet (measure.pipeline.fit_labels_merged) instead of a k-means fit per
    # k: a fit costs seconds, a merge a lookup, and a trial's cost no longer
    # depends on which codebooks happen to be cached. None: a fit per k.
    k_fine: int | None = None

    @classmethod
    def build(cls, prep: Prepared, mconf: MeasureConfig, fconf: FitConfig, cache_dir: Path | None = None,
              costs: dict[str, float] | None = None, tune_pca: bool = False, tune_divergence: bool = False,
              resolutions=RESOLUTIONS, memo: dict | None = None, merge_codebooks: bool | None = None) -> "SweepContext":
        memo = {} if memo is None else memo
        if merge_codebooks is None:  # ENSEMBLE_FIT_SWEEP_CODEBOOKS=fit: one k-means fit per k (before 0.2)
            import os
            mode = os.environ.get(CODEBOOKS_ENV, "merge").strip().lower() or "merge"
            if mode not in ("merge", "fit"):
                raise EnsembleFitError(f"{CODEBOOKS_ENV} must be merge or fit, got {mode!r}")
            merge_codebooks = mode == "merge"
        with blas_threads():
            yard = build_yardstick(prep, resolutions, seed=mconf.seed, pca_variance=0.9,
                                   minibatch_threshold=mconf.minibatch_threshold, cache_dir=cache_dir, memo=memo)
        default = Settings(k=resolve_k(prep, mconf), facet_weights=mconf.weights(prep.facets),
                           pca_variance=mconf.pca_variance, divergence=fconf.divergence)
        space = SearchSpace.for_data(prep, default.k, tune_pca, tune_divergence)
        return cls(prep=prep, mconf=mconf, fconf=fconf, yardstick=yard, space=space, default=default,
                   costs=costs, cache_dir=cache_dir, memo=memo,
                   k_fine=space.k_high if merge_codebooks else None)


def _problem(prep: Prepared, labels: dict[str, np.ndarray], k: dict[str, int],
             facet_weights: dict[str, float]) -> MixtureProblem:
    names = list(prep.simulators)
    fit_rows = prep.rows_of(REAL)
    P = {f: np.vstack([histogram(labels[f][prep.rows_of(s)], k[f]) for s in names]) for f in prep.facets}
    q = {f: histogram(labels[f][fit_rows], k[f]) for f in prep.facets}
    return MixtureProblem(names=names, P=P, q_fit=q, q_heldout=None, facet_weights=facet_weights)


def evaluate(ctx: SweepContext, settings: Settings, seed: int | None = None) -> TrialOutcome:
    """See `_evaluate`; with one BLAS/OpenMP thread, like `measure` (pipeline.blas_threads)."""
    # Without this, a trial's k-means ran with every thread and spun on a busy
    # 2-core machine: one cause of the 153 s / 426 s / 697 s sweeps (docs/performance.md).
    with blas_threads():
        return _evaluate(ctx, settings, seed)


def _evaluate(ctx: SweepContext, settings: Settings, seed: int | None = None) -> TrialOutcome:
    """Fit codebooks and the mixture with `settings` on the fit split; score on the yardstick.
    `seed` (default: the measure config's) seeds the codebooks' k-means."""
    from ensemble.mixture.optimizer import solve_mixture

    t0 = time.perf_counter()
    seed = ctx.mconf.seed if seed is None else seed
    labels, k_eff = {}, {}
    stats: dict = {}
    # A tuned PCA gives each trial its own space: no shared fine codebook then.
    merge = ctx.k_fine is not None and settings.pca_variance == ctx.mconf.pca_variance
    for f in ctx.prep.facets:
        if merge:
            labels[f], k_eff[f] = fit_labels_merged(ctx.prep, f, settings.k[f], ctx.k_fine, seed,
                                                    settings.pca_variance, ctx.mconf.minibatch_threshold,
                                                    ctx.cache_dir, ctx.memo, stats=stats)
        else:
            labels[f], k_eff[f] = fit_labels(ctx.prep, f, settings.k[f], seed, settings.pca_variance,
                                             ctx.mconf.minibatch_threshold, ctx.cache_dir, ctx.memo, stats=stats)
    codebook_s = time.perf_counter() - t0
    prob = _problem(ctx.prep, labels, k_eff, settings.facet_weights)
    res = solve_mixture(prob.P, prob.q_fit, prob.names, facet_weights=prob.facet_weights,
                      divergence=settings.divergence, max_simulators=ctx.fconf.max_simulators,
                      **_constraints(ctx.fconf, prob.names, ctx.costs))
    weights = {s: float(res.weights[s]) for s in prob.names}
    per_facet = ctx.yardstick.per_facet(weights)
    return TrialOutcome(settings=settings, value=float(np.mean(list(per_facet.values()))),
                        yardstick_per_facet=per_facet, weights=weights, fit_objective=float(res.objective),
                        k_effective=k_eff, status=str(res.status), seconds=time.perf_counter() - t0,
                        codebook_seconds=codebook_s, codebook_fits=int(stats.get("fits", 0)))


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
        trial.set_user_attr("codebook_seconds", out.codebook_seconds)
        trial.set_user_attr("codebook_fits", out.codebook_fits)
        return out.value

    return objective


# ------------------------------------------------------------------ sampler
