"""Fit a mixture and sweep settings: the two functions over a measurement.

With `measure.load_conversations` and `measure.measure_gap`, these compose
every workflow; the commands in `ensemble.cli` are thin layers over them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from measure._api import Representation, _reporter, default_cache_dir, prepare_data
from measure.atomic import write_json, write_text
from measure.errors import ConfigError, EnsembleFitError
from measure.loaders import Dataset
from measure.pipeline import MeasureConfig, Measurement, Prepared, blas_threads
from measure.progress import Reporter

from .mixture.fit import FitConfig, Mixture, check_fit_config, fit, mixture_from


def costs_from(metadata) -> dict[str, float] | None:
    """Per-conversation cost of each simulator from `load_metadata`'s result (None when none has one)."""
    return {s: i.cost for s, i in (metadata or {}).items() if i.cost is not None} or None


def fit_mixture(m: Measurement, config: FitConfig | None = None, *, costs: dict[str, float] | None = None,
                progress: bool | Reporter = False) -> Mixture:
    """Fit the simulator mixture closest to real users, and check it on held-out real users.

    Solves ``min_w sum_f lambda_f JS(sum_s w_s P_s^f, Q^f)`` over the simplex
    (cvxpy), with the constraints of `config`, then compares the mixture with
    the best single simulator, the uniform mixture and greedy selection on
    the held-out real users, bootstraps the weights' CIs and fits per-task
    mixtures.

    Parameters
    ----------
    m : Measurement
        From `measure.measure_gap`, measured with ``heldout_fraction > 0`` for a held-out check.
    config : FitConfig, optional
        Divergence, ``max_simulators``, weight bounds, include/exclude, budget, per-task fits.
    costs : dict, optional
        Cost per conversation of each simulator, for ``budget`` and ``cost_penalty``.
    progress : bool or Reporter
        Report the stage on stderr.

    Returns
    -------
    Mixture
        ``weights``, ``weights_ci``, ``per_task``, ``heldout`` (mixture JS,
        best single, gain); ``to_json(path)`` writes weights.json.

    Examples
    --------
    >>> import ensemble, measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> m = measure.measure_gap(data, measure.MeasureConfig(k_default=8, n_bootstrap=20,
    ...                         n_codebook_seeds=1, heldout_fraction=0.3), cache_dir=tmp / "cache")
    >>> mix = ensemble.fit_mixture(m, ensemble.FitConfig(max_simulators=3, weight_bootstrap=5))
    >>> abs(sum(mix.weights.values()) - 1) < 1e-6, len(mix.support) <= 3
    (True, True)
    >>> mix.heldout.mixture_js <= mix.heldout.uniform_js + 0.05
    True
    """
    config = config or FitConfig()
    check_fit_config(config, m.simulators, costs)
    reporter = _reporter(progress)
    with reporter.stage("fit mixture, baselines, bootstrap"), blas_threads():
        outcome = fit(m, config, costs=costs, seed=m.config.seed)
    return mixture_from(m, outcome, config)


@dataclass
class SweepResult:
    """An Optuna study over k per facet and facet weights, scored on a fixed yardstick.

    ``summary`` is the sweep.json document (best and default trials, top
    trials, importances); ``write(out)`` writes it with trials.csv, the
    plots and the weights of the best settings refit.
    """
    study: object                 # optuna.Study
    summary: dict
    context: object               # ensemble.tune.objective.SweepContext
    storage_url: str
    trials_run: int
    errors: list[str] = field(default_factory=list)
    gave_up_waiting: int = 0       # trials RUNNING in other workers this run stopped waiting for

    @property
    def best_params(self) -> dict | None:
        return (self.summary.get("best") or {}).get("params")

    @property
    def best_value(self) -> float | None:
        return (self.summary.get("best") or {}).get("value")

    def write(self, out: str | Path, metadata=None) -> dict | None:
        """Write sweep.json, trials.csv, plots/ and (when a trial completed) weights.json."""
        from .tune.outputs import refit_best, write_plots
        from .tune.study import trials_csv
        out = Path(out)
        wdata = refit_best(self.context, self.summary, metadata)
        write_json(out / "sweep.json", self.summary)
        write_text(out / "trials.csv", trials_csv(self.study, self.context.prep.facets))
        write_plots(self.study, self.summary, out / "plots")
        if wdata is not None:
            write_json(out / "weights.json", wdata)
        return wdata


def sweep(data: Dataset | Prepared, *, n_trials: int | None = 50, timeout: float | None = None,
          storage: str | None = None, study_name: str = "ensemble-fit",
          measure_config: MeasureConfig | None = None, fit_config: FitConfig | None = None,
          representation: Representation | None = None, cache_dir: str | Path | None = None,
          costs: dict[str, float] | None = None, tune_pca: bool = False, tune_divergence: bool = False,
          resolutions: tuple[int, ...] | None = None, new_study: bool = False,
          on_trial: Callable | None = None, progress: bool | Reporter = False) -> SweepResult:
    """Tune k per facet and the facet weights with Optuna.

    Every trial fits the codebooks at its k (cached), solves the mixture on
    the fit split and is scored on a fixed yardstick with held-out real
    users, so degenerate settings (k=1, all weight on one facet) cannot win.
    Trial 0 of a new study runs the default settings. ``n_trials`` counts
    COMPLETE trials in the study over all runs and workers, so a rerun
    resumes a stopped study.

    Parameters
    ----------
    data : Dataset or Prepared
        The conversations (described and embedded here, through the cache).
    n_trials, timeout : optional
        Stop when the study holds ``n_trials`` complete trials or after ``timeout`` seconds.
    storage : str, optional
        An Optuna storage URL (``sqlite:///sweep.db``, ``postgresql://...``,
        ``journal:///file.log``); default in memory.
    study_name : str
        The study in the storage.
    measure_config, fit_config, representation, cache_dir, costs
        As for `measure.measure_gap` and `fit_mixture`; the measure config's
        ``heldout_fraction`` must be > 0 (default here 0.3).
    tune_pca, tune_divergence : bool
        Also search the PCA variance, and js against kl_forward.
    new_study : bool
        Allow a storage file that exists but holds no study (emptied or
        truncated); without it such a file is refused, not silently restarted.
    on_trial : callable, optional
        ``on_trial(study, trial)`` after each trial (progress display).

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> import ensemble, measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> result = ensemble.sweep(data, n_trials=2, storage=f"sqlite:///{tmp}/s.db",
    ...                         measure_config=measure.MeasureConfig(heldout_fraction=0.3, n_bootstrap=10),
    ...                         cache_dir=tmp / "cache")
    >>> result.summary["n_complete"], result.best_value > 0
    (2, True)
    """
    import optuna

    from .tune.objective import SweepContext
    from .tune.storage import n_complete, open_sweep_storage, storage_errors
    from .tune.study import open_study, run_study, summarize
    from .tune.yardstick import RESOLUTIONS

    mconf = measure_config or MeasureConfig(heldout_fraction=0.3)
    fconf = fit_config or FitConfig()
    if mconf.heldout_fraction <= 0:
        raise ConfigError("the sweep scores trials on held-out real users: --heldout must be > 0")
    if n_trials is not None and int(n_trials) < 1:
        raise ConfigError("--n-trials must be >= 1")
    reporter = _reporter(progress)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # A bad storage URL fails now, not after the slow preparation.
    store = open_sweep_storage(storage, study_name, new_study) if storage else optuna.storages.InMemoryStorage()
    guard = storage_errors(storage or "in-memory")   # a storage failing mid-sweep: one line, not a traceback
    t0 = time.perf_counter()
    if isinstance(data, Prepared):
        prep = data
    else:
        prep = prepare_data(data, mconf, representation=representation, cache_dir=cache, progress=reporter)
    check_fit_config(fconf, prep.simulators, costs)
    with reporter.stage("yardstick codebooks"):
        ctx = SweepContext.build(prep, mconf, fconf, cache_dir=cache, costs=costs, tune_pca=tune_pca,
                                 tune_divergence=tune_divergence, resolutions=resolutions or RESOLUTIONS)
    t_prep = time.perf_counter() - t0
    # The settings `ensemble-fit run` would use are trial 0 of a new study.
    with guard:
        study = open_study(store, study_name, seed=mconf.seed, default_params=ctx.default.params(ctx.space))
        before = n_complete(study)
        if before:
            reporter.log(f"resuming study '{study_name}': {before} trials already complete")
        stats = run_study(study, ctx, n_trials, timeout, on_trial=on_trial)
    if stats.errors and not stats.trial_seconds:
        raise EnsembleFitError(f"every trial of this run failed ({len(stats.errors)}); "
                               f"first error: {stats.errors[0]}")
    summary = summarize(study, ctx, storage or "in-memory", n_trials)
    summary["representation"] = prep.representation
    seconds = stats.trial_seconds
    summary["timing"] = {"prepare_s": t_prep, "session_s": stats.seconds, "trials_this_run": stats.trials_run,
                         "trial_mean_s": sum(seconds) / len(seconds) if seconds else None,
                         "trial_first_s": seconds[0] if seconds else None,
                         "trial_codebook_s": sum(stats.codebook_seconds), "codebook_fits": stats.codebook_fits}
    return SweepResult(study=study, summary=summary, context=ctx, storage_url=storage or "in-memory",
                       trials_run=stats.trials_run, errors=list(stats.errors),
                       gave_up_waiting=stats.gave_up_waiting)
