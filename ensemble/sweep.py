"""`ensemble-fit sweep`: an Optuna study over the measurement settings.

Each trial picks k per facet (log scale), facet weights on the simplex and,
optionally, the PCA variance and the fitting divergence; it fits codebooks on
the fit split (cached per (facet, k, split, seed), so repeated k are free),
solves the mixture on the fit-split real users, and is scored on the fixed
yardstick of `ensemble.yardstick` with the held-out real users. The yardstick
does not depend on the trial's settings, so degenerate settings (k=1, all
weight on one facet) cannot win by shrinking their own ruler.

Storage is an Optuna URL (SQLite by default, `journal:///file.log`, or any
database SQLAlchemy reaches), so a sweep resumes after a crash and several
workers can share one study. `--n-trials N` means "until N trials are
COMPLETE in the study", counted over every run and worker.
"""
from __future__ import annotations

import csv
import io
import os
import re
import socket
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import optuna
from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from measure.atomic import write_bytes, write_json, write_text
from measure.distributions import histogram
from measure.errors import ConfigError, EnsembleFitError
from measure.pipeline import REAL, MeasureConfig, Prepared, fit_labels, resolve_k

from .evaluate import MixtureProblem
from .run import FitConfig, _constraints
from .yardstick import RESOLUTIONS, Yardstick, build_yardstick

SWEEP_SCHEMA = "ensemble-fit/sweep/v1"
DEFAULT_STUDY = "ensemble-fit"
DEFAULT_N_TRIALS = 50
K_LOW, K_CAP = 4, 500
PCA_RANGE = (0.5, 0.99)
DIVERGENCES = ("js", "kl_forward")
WORKER_ATTR = "worker"          # "host:pid" of the process running a trial
ORPHAN_AFTER_S = 60             # a RUNNING trial that never recorded its worker is dead after this
DEFAULT_ATTR = "default"        # marks the trial that ran the default settings
# Errors that fail one trial but not the sweep (a solver that gives up on odd settings).
TRIAL_ERRORS = (EnsembleFitError, ArithmeticError, ValueError, RuntimeError)


# ------------------------------------------------------------------ settings

@dataclass
class SearchSpace:
    facets: list[str]
    k_low: int
    k_high: int
    tune_pca: bool = False
    tune_divergence: bool = False
    pca_low: float = PCA_RANGE[0]
    pca_high: float = PCA_RANGE[1]

    @classmethod
    def for_data(cls, prep: Prepared, default_k_: dict[str, int], tune_pca: bool = False,
                 tune_divergence: bool = False) -> "SearchSpace":
        # About three conversations per cluster in the smallest source at most;
        # widened to contain the defaults so the default trial is a valid point.
        high = max(K_LOW, min(K_CAP, prep.min_source_size() // 3))
        return cls(facets=list(prep.facets), k_low=min(K_LOW, *default_k_.values()),
                   k_high=max(high, *default_k_.values()), tune_pca=tune_pca,
                   tune_divergence=tune_divergence)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Settings:
    """One point of the search space, in the units the pipeline uses."""
    k: dict[str, int]
    facet_weights: dict[str, float]   # normalized to sum 1
    pca_variance: float | None
    divergence: str

    def params(self, space: SearchSpace) -> dict:
        """Optuna params that reproduce these settings (served to the default trial)."""
        top = max(self.facet_weights.values())
        p: dict = {f"k_{f}": int(self.k[f]) for f in space.facets}
        p.update({f"w_{f}": self.facet_weights[f] / top for f in space.facets})
        if space.tune_pca and self.pca_variance is not None:
            p["pca_variance"] = float(min(max(self.pca_variance, space.pca_low), space.pca_high))
        if space.tune_divergence:
            p["divergence"] = self.divergence
        return p

    @classmethod
    def from_params(cls, params: dict, space: SearchSpace, base: "Settings") -> "Settings":
        raw = {f: float(params[f"w_{f}"]) for f in space.facets}
        return cls(k={f: int(params[f"k_{f}"]) for f in space.facets},
                   facet_weights=normalize(raw),
                   pca_variance=float(params["pca_variance"]) if "pca_variance" in params else base.pca_variance,
                   divergence=str(params.get("divergence", base.divergence)))

    def to_dict(self) -> dict:
        return {"k": dict(self.k), "facet_weights": dict(self.facet_weights),
                "pca_variance": self.pca_variance, "divergence": self.divergence}


def normalize(raw: dict[str, float]) -> dict[str, float]:
    total = sum(raw.values())
    if total <= 0:  # every weight sampled at 0: read it as "no preference"
        return {f: 1.0 / len(raw) for f in raw}
    return {f: v / total for f, v in raw.items()}


def suggest(trial: optuna.Trial, space: SearchSpace, base: Settings) -> Settings:
    """The search space, in the order Optuna sees it."""
    for f in space.facets:
        trial.suggest_int(f"k_{f}", space.k_low, space.k_high, log=True)
    # One float per facet in [0, 1], normalized: simple, and every facet's
    # importance is readable from its own parameter.
    for f in space.facets:
        trial.suggest_float(f"w_{f}", 0.0, 1.0)
    if space.tune_pca:
        trial.suggest_float("pca_variance", space.pca_low, space.pca_high)
    if space.tune_divergence:
        trial.suggest_categorical("divergence", list(DIVERGENCES))
    return Settings.from_params(trial.params, space, base)


# ------------------------------------------------------------------ objective

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


def evaluate(ctx: SweepContext, settings: Settings) -> TrialOutcome:
    """Fit codebooks and the mixture with `settings` on the fit split; score on the yardstick."""
    from .optimizer import fit_mixture

    t0 = time.perf_counter()
    labels, k_eff = {}, {}
    for f in ctx.prep.facets:
        labels[f], k_eff[f] = fit_labels(ctx.prep, f, settings.k[f], ctx.mconf.seed, settings.pca_variance,
                                         ctx.mconf.minibatch_threshold, ctx.cache_dir, ctx.memo)
    prob = _problem(ctx.prep, labels, k_eff, settings.facet_weights)
    res = fit_mixture(prob.P, prob.q_fit, prob.names, facet_weights=prob.facet_weights,
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

class TrialSeededTPE(BaseSampler):
    """TPE re-seeded from (seed, trial number) for every trial, which serves
    the default settings to the first trial that needs them.

    Seeding: a plain TPESampler(seed) restarts its random stream in every
    process, so a resumed sweep would replay the first run's random start-up
    points, and two workers would draw the same ones. Seeding by trial number
    keeps a single-worker sweep deterministic and gives every trial its own stream.

    Defaults: served here rather than with `enqueue_trial`, because on SQLite
    two workers can pop the same enqueued trial and both run it. A trial gets
    the defaults when no other trial holds them COMPLETE or RUNNING (trial 0
    of a new study; again if that one failed); two workers starting together
    may both run them, which costs a trial and breaks nothing.
    """

    def __init__(self, seed: int = 0, default_params: dict | None = None, **tpe_kwargs):
        self.seed = int(seed)
        self.default_params = dict(default_params) if default_params else None
        self._kwargs = tpe_kwargs
        self._tpe = TPESampler(seed=self.seed, **tpe_kwargs)
        self._fixed: dict | None = None

    def _seed_for(self, number: int) -> int:
        return (self.seed * 1_000_003 + number) % (2 ** 32)

    def before_trial(self, study, trial: FrozenTrial) -> None:
        # The earliest hook after the trial exists: record who runs it, so a
        # killed worker's trial can be recognised (see fail_dead_trials).
        study._storage.set_trial_user_attr(trial._trial_id, WORKER_ATTR, WORKER)
        self._tpe = TPESampler(seed=self._seed_for(trial.number), **self._kwargs)
        self._fixed = None
        if self.default_params and not _default_taken(study, trial.number):
            study._storage.set_trial_user_attr(trial._trial_id, DEFAULT_ATTR, True)
            self._fixed = self.default_params
        self._tpe.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return {} if self._fixed else self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return {} if self._fixed else self._tpe.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        if self._fixed and param_name in self._fixed:
            return self._fixed[param_name]
        return self._tpe.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._tpe.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._tpe.reseed_rng()


def _default_taken(study: optuna.Study, number: int) -> bool:
    return any(t.user_attrs.get(DEFAULT_ATTR) and t.number != number
               for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING)))


# ------------------------------------------------------------------ storage

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def storage_url(out: Path, storage: str | None) -> str:
    if storage:
        return storage
    return f"sqlite:///{Path(out).resolve() / 'sweep.db'}"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"^([a-zA-Z0-9+.\-]+://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for a URL; `journal:///path` is a journal file."""
    if url.startswith("journal://"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        path = Path(url[len("journal://"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    kwargs: dict = {}
    if url.startswith("sqlite:"):
        db = url.split("///", 1)[-1]
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        # Wait for a lock held by another worker rather than fail at once.
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # Heartbeats let Optuna fail trials of a worker that died on another
                # machine; same-machine dead workers are caught at once by pid.
                return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180, **kwargs)
        except ImportError as exc:
            raise ConfigError(f"storage {mask_url(url)} needs a database driver that is not installed "
                              f"({exc}); e.g. pip install psycopg2-binary for PostgreSQL") from None
        except Exception as exc:  # bad URL, unreachable server: one line, no traceback
            # Workers started together race to create the tables; the loser retries.
            if _creation_race(exc) and attempt < 4:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise ConfigError(f"cannot open storage {mask_url(url)}: {exc}") from None
    raise AssertionError("unreachable")


def _creation_race(exc: Exception) -> bool:
    """Two workers creating the tables of a new database at once: one loses."""
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError
    except ImportError:
        return False
    return isinstance(exc, (IntegrityError, OperationalError)) and any(
        m in str(exc) for m in ("already exists", "UNIQUE constraint", "Duplicate", "locked"))


def _worker_dead(trial: FrozenTrial) -> bool:
    """True when the trial's worker is known to be gone: it ran on this machine
    and its process has exited, or it never recorded itself (killed between
    creating the trial and its first step) and the trial is old."""
    worker = trial.user_attrs.get(WORKER_ATTR)
    if not worker:
        start = trial.datetime_start
        return start is not None and (datetime.now() - start).total_seconds() > ORPHAN_AFTER_S
    if worker == WORKER:
        return False
    host, _, pid = str(worker).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def fail_dead_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials of dead workers FAIL (a killed sweep's last trial):
    local ones by pid, orphans by age, remote ones by heartbeat (database storages)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)   # no-op without heartbeats
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if _worker_dead(t):
            try:
                study._storage.set_trial_user_attr(t._trial_id, "failed_because", "worker process died")
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
                n += 1
            except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
                pass  # another worker finished or failed it first
    return n


def _counts(study: optuna.Study, before: int | None = None) -> tuple[int, int]:
    """(complete, live running) trials; running ones only below trial number `before`."""
    done = running = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING)):
        if t.state == TrialState.COMPLETE:
            done += 1
        elif (before is None or t.number < before) and not _worker_dead(t):
            running += 1
    return done, running


def _wait_limit(study: optuna.Study) -> float:
    """Seconds to wait for trials running elsewhere: 20 typical trials, at least 10 minutes."""
    durations = [t.duration.total_seconds() for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.duration is not None]
    return max(600.0, 20 * float(np.median(durations))) if durations else 600.0


def _is_surplus(study: optuna.Study, number: int, n_trials: int) -> bool:
    """Another worker claimed the last slots first (trials with lower numbers win)."""
    done, ahead = _counts(study, before=number)
    return done + ahead >= n_trials


def n_complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


# ------------------------------------------------------------------ the study

def open_study(storage: str | optuna.storages.BaseStorage, study_name: str, seed: int,
               default_params: dict | None = None) -> optuna.Study:
    """Create or load (resume) the study. `default_params` are run first, so
    the best trial is never worse than the defaults."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(storage=storage, study_name=study_name, direction="minimize",
                               sampler=TrialSeededTPE(seed=seed, default_params=default_params),
                               load_if_exists=True)


@dataclass
class SessionStats:
    trials_run: int = 0
    seconds: float = 0.0
    trial_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    gave_up_waiting: int = 0   # trials RUNNING elsewhere when this worker stopped waiting for them


def run_study(study: optuna.Study, ctx: SweepContext, n_trials: int | None, timeout: float | None = None,
              on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
              poll_s: float = 1.0, max_consecutive_failures: int = 10) -> SessionStats:
    """Run trials until `n_trials` are COMPLETE in the study (all runs, all
    workers), the timeout passes, or forever when both are None. Failed trials
    do not count; after `max_consecutive_failures` in a row the worker stops
    (settings that always fail, e.g. infeasible constraints, must not loop).

    Before each trial: fail trials left RUNNING by dead local workers, and
    wait while the remaining slots are taken by trials other workers are
    running (if one of them fails, its slot opens again).
    """
    stats = SessionStats()
    failures_in_a_row = 0
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    objective = make_objective(ctx, n_trials)

    def record(st: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal failures_in_a_row
        stats.trials_run += 1
        failures_in_a_row = failures_in_a_row + 1 if trial.state == TrialState.FAIL else 0
        if trial.state == TrialState.COMPLETE:
            stats.trial_seconds.append(float(trial.user_attrs.get("seconds", 0.0)))
        elif trial.state == TrialState.FAIL:
            stats.errors.append(str(trial.user_attrs.get("error", "failed")))
        if on_trial is not None:
            on_trial(st, trial)

    waiting_since = None
    while (deadline is None or time.monotonic() < deadline) and failures_in_a_row < max_consecutive_failures:
        fail_dead_trials(study)
        if n_trials is not None:
            done, running = _counts(study)
            if done >= n_trials:
                break
            if done + running >= n_trials:
                # The last slots are taken by trials running elsewhere. Wait for
                # them (a failure reopens a slot), but not forever: a worker that
                # died on another machine without a heartbeat looks alive.
                waiting_since = waiting_since or time.monotonic()
                if time.monotonic() - waiting_since > _wait_limit(study):
                    stats.gave_up_waiting = running
                    break
                time.sleep(poll_s)
                continue
            waiting_since = None
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        study.optimize(objective, n_trials=1, timeout=left, catch=TRIAL_ERRORS, callbacks=[record])
    stats.seconds = time.monotonic() - start
    return stats


# ------------------------------------------------------------------ summaries

def _default_trial(study: optuna.Study) -> FrozenTrial | None:
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get(DEFAULT_ATTR):
            return t
    return None


def _importances(study: optuna.Study) -> tuple[dict | None, str | None]:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return None, "fewer than 2 complete trials"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A seeded fANOVA: the forest is random, and outputs should not be.
            imp = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
        return {k: float(v) for k, v in imp.items()}, None
    except Exception as exc:  # e.g. a parameter that never varied; importances are optional
        return None, f"{type(exc).__name__}: {exc}"


def _trial_row(t: FrozenTrial) -> dict:
    return {"number": t.number, "value": t.value, "params": dict(t.params),
            "facet_weights": t.user_attrs.get("facet_weights"),
            "k_effective": t.user_attrs.get("k_effective"),
            "fit_objective": t.user_attrs.get("fit_objective"),
            "mixture_weights": t.user_attrs.get("mixture_weights"),
            "default": bool(t.user_attrs.get(DEFAULT_ATTR, False)),
            "seconds": t.user_attrs.get("seconds")}


def summarize(study: optuna.Study, ctx: SweepContext, url: str, n_trials: int | None, top: int = 10) -> dict:
    trials = study.get_trials(deepcopy=False)
    by_state = {s: sum(t.state == s for t in trials) for s in TrialState}
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: (t.value, t.number))
    best = complete[0] if complete else None
    dflt = _default_trial(study)
    imp, imp_err = _importances(study)
    return {
        "schema": SWEEP_SCHEMA,
        "study": study.study_name,
        "storage": mask_url(url),
        "direction": "minimize",
        "objective": {"name": "yardstick", "description":
                      "mean over facets (equal weights) and resolutions of JS(mixture, held-out real users), "
                      "bits, on fixed evaluation codebooks", **ctx.yardstick.to_dict()},
        "search_space": ctx.space.to_dict(),
        "n_trials_target": n_trials,
        "n_complete": by_state[TrialState.COMPLETE],
        "n_failed": by_state[TrialState.FAIL],
        "n_pruned": by_state[TrialState.PRUNED],
        "n_running": by_state[TrialState.RUNNING],
        "best": None if best is None else {
            "number": best.number, "value": best.value, "params": dict(best.params),
            "settings": Settings.from_params(best.params, ctx.space, ctx.default).to_dict(),
            "mixture_weights": best.user_attrs.get("mixture_weights"),
            "yardstick_per_facet": best.user_attrs.get("yardstick_per_facet")},
        "default": {"number": None if dflt is None else dflt.number,
                    "value": None if dflt is None else dflt.value,
                    "settings": ctx.default.to_dict()},
        "improvement_over_default": (dflt.value - best.value) if (dflt is not None and best is not None) else None,
        "top": [_trial_row(t) for t in complete[:top]],
        "importances": imp,
        "importances_note": imp_err,
    }


def trials_csv(study: optuna.Study, facets: list[str]) -> str:
    trials = study.get_trials(deepcopy=False)
    params = list(dict.fromkeys(p for t in trials for p in t.params))  # search-space order
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "state", "value", "default", "duration_s", "fit_objective", *params,
                *[f"weight_{f}" for f in facets], "worker"])
    for t in trials:
        fw = t.user_attrs.get("facet_weights") or {}
        dur = t.duration.total_seconds() if t.duration is not None else ""
        w.writerow([t.number, t.state.name, "" if t.value is None else repr(float(t.value)),
                    int(bool(t.user_attrs.get(DEFAULT_ATTR))), dur, t.user_attrs.get("fit_objective", ""),
                    *[t.params.get(p, "") for p in params], *[fw.get(f, "") for f in facets],
                    t.user_attrs.get(WORKER_ATTR, "")])
    return buf.getvalue()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def write_plots(study: optuna.Study, summary: dict, folder: Path) -> list[Path]:
    """history.png (values and running best) and importances.png, with matplotlib only."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    fig, ax = plt.subplots(figsize=(7, 4))
    if complete:
        xs = [t.number for t in complete]
        ys = [t.value for t in complete]
        ax.scatter(xs, ys, s=14, color="tab:blue", label="trial")
        ax.step(xs, np.minimum.accumulate(ys), where="post", color="tab:red", label="best so far")
        if summary["default"]["value"] is not None:
            ax.axhline(summary["default"]["value"], color="grey", ls="--", lw=1, label="default settings")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("yardstick: held-out JS (bits)")
    ax.set_title(f"Optimization history ({summary['study']})")
    paths = [write_bytes(folder / "history.png", _png(fig))]
    plt.close(fig)

    imp = summary.get("importances") or {}
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(4, len(imp)) + 1))
    if imp:
        names = list(imp)[::-1]
        ax.barh(names, [imp[n] for n in names], color="tab:green")
        ax.set_xlabel("importance (fANOVA, normalized)")
    else:
        ax.text(0.5, 0.5, f"no importances: {summary.get('importances_note')}", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title("Parameter importances")
    paths.append(write_bytes(folder / "importances.png", _png(fig)))
    plt.close(fig)
    return paths


def refit_best(ctx: SweepContext, summary: dict, metadata=None) -> dict | None:
    """weights.json for the best settings: the full `run` fit on them, plus a "study" key."""
    from dataclasses import replace

    from measure.pipeline import measure

    from .run import fit, weights_json

    if summary["best"] is None:
        return None
    s = Settings.from_params(summary["best"]["params"], ctx.space, ctx.default)
    mconf = replace(ctx.mconf, k=dict(s.k), k_default=None, facet_weights=dict(s.facet_weights),
                    pca_variance=s.pca_variance)
    fconf = replace(ctx.fconf, divergence=s.divergence)
    m = measure(ctx.prep, mconf, cache_dir=ctx.cache_dir, metadata=metadata, memo=ctx.memo)
    outcome = fit(m, fconf, costs=ctx.costs, facet_weights=s.facet_weights, seed=mconf.seed)
    study = {"name": summary["study"], "storage": summary["storage"], "best_trial": summary["best"]["number"],
             "yardstick": summary["best"]["value"], "default_yardstick": summary["default"]["value"],
             "n_complete": summary["n_complete"]}
    return weights_json(m, outcome, fconf, mconf.to_dict(), extra={"study": study})


# ------------------------------------------------------------------ terminal

def top_table(summary: dict, facets: list[str], rows: int = 10):
    """Compact: one column of k's and one of facet weights, in facet order."""
    from rich.table import Table
    abbrev = " ".join(f[:4] for f in facets)
    t = Table(title=f"Top trials of '{summary['study']}' (yardstick: held-out JS, bits; lower is better)")
    t.add_column("#", justify="right")
    t.add_column("yardstick", justify="right")
    t.add_column(f"k ({abbrev})")
    t.add_column(f"facet weights ({abbrev})")
    t.add_column("other")
    for r in summary["top"][:rows]:
        fw = r["facet_weights"] or {}
        p = r["params"]
        extra = " ".join(([f"pca {p['pca_variance']:.2f}"] if "pca_variance" in p else [])
                         + ([p["divergence"]] if "divergence" in p else []))
        t.add_row(f"{r['number']}{'*' if r['default'] else ''}", f"{r['value']:.4f}",
                  " ".join(str(r["params"].get(f"k_{f}", "")) for f in facets),
                  " ".join(f"{fw.get(f, 0):.2f}" for f in facets), extra)
    t.caption = "* = default settings (what `ensemble-fit run` uses)"
    return t


# ------------------------------------------------------------------ command

def _sweep_options(args, cfg: dict) -> dict:
    s = dict(cfg.get("sweep", {}))
    known = {"storage", "study", "n_trials", "timeout", "tune_pca", "tune_divergence", "resolutions"}
    bad = set(s) - known
    if bad:
        raise ConfigError(f"config [sweep]: unknown key(s) {sorted(bad)}")
    for key in ("storage", "study", "n_trials", "timeout"):
        if getattr(args, key, None) is not None:
            s[key] = getattr(args, key)
    for key in ("tune_pca", "tune_divergence"):
        s[key] = bool(getattr(args, key, False) or s.get(key, False))
    s.setdefault("study", DEFAULT_STUDY)
    if s.get("n_trials") is None and s.get("timeout") is None:
        s["n_trials"] = DEFAULT_N_TRIALS
    if s.get("n_trials") is not None and int(s["n_trials"]) < 1:
        raise ConfigError("--n-trials must be >= 1")
    s["resolutions"] = tuple(int(r) for r in s.get("resolutions", RESOLUTIONS))
    return s


def run_sweep_command(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import jobs, settings, terminal

    console = terminal.stdout_console()
    reporter = jobs._reporter(args)
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.3)
    fconf = settings.fit_config(args, cfg)
    opts = _sweep_options(args, cfg)
    if mconf.heldout_fraction <= 0:
        raise ConfigError("the sweep scores trials on held-out real users: --heldout must be > 0")
    out = Path(args.out)
    url = storage_url(out, opts.get("storage"))
    storage = open_storage(url)   # fail on a bad URL before the slow preparation

    t0 = time.perf_counter()
    data = args.data or [jobs._demo_data(out, reporter)]
    ds = jobs.load_data(data, args, reporter)
    meta = jobs._metadata(args, ds)
    costs = {s: i.cost for s, i in (meta or {}).items() if i.cost is not None} or None
    if (fconf.budget is not None or fconf.cost_penalty) and not costs:
        raise ConfigError("--budget/--cost-penalty need a --metadata file with costs")
    cache = args.cache or settings.default_cache_dir()
    from measure.pipeline import prepare
    prep = prepare(ds.conversations, ds.real_sources, ds.simulators, jobs.build_extractor(args, cache),
                   jobs.build_embedder(args, cache), mconf.facets, heldout_fraction=mconf.heldout_fraction,
                   seed=mconf.seed, cache_dir=cache, reporter=reporter)
    with reporter.stage("yardstick codebooks"):
        ctx = SweepContext.build(prep, mconf, fconf, cache_dir=cache, costs=costs, tune_pca=opts["tune_pca"],
                                 tune_divergence=opts["tune_divergence"], resolutions=opts["resolutions"])
    t_prep = time.perf_counter() - t0

    # The settings `ensemble-fit run` would use are trial 0 of a new study.
    study = open_study(storage, opts["study"], seed=mconf.seed, default_params=ctx.default.params(ctx.space))
    n_trials = opts.get("n_trials")
    before = n_complete(study)
    if before:
        reporter.log(f"resuming study '{opts['study']}': {before} trials already complete")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not reporter.enabled, transient=True) as prog:
        task = prog.add_task("sweep", total=n_trials, completed=before)

        def on_trial(st: optuna.Study, trial: FrozenTrial) -> None:
            try:
                best = f"best {st.best_value:.4f}"
            except ValueError:
                best = "no complete trial yet"
            prog.update(task, completed=n_complete(st), description=f"sweep ({best})")

        stats = run_study(study, ctx, n_trials, opts.get("timeout"), on_trial=on_trial)

    if stats.errors and not stats.trial_seconds:
        raise EnsembleFitError(f"every trial of this run failed ({len(stats.errors)}); "
                               f"first error: {stats.errors[0]}")
    for e in stats.errors[:3]:
        reporter.warn(f"a trial failed: {e}")
    if stats.gave_up_waiting:
        reporter.warn(f"stopped waiting for {stats.gave_up_waiting} trial(s) RUNNING in other workers; "
                      "rerun the command to complete the study if they never finish")
    summary = summarize(study, ctx, url, n_trials)
    summary["timing"] = {"prepare_s": t_prep, "session_s": stats.seconds, "trials_this_run": stats.trials_run,
                         "trial_mean_s": float(np.mean(stats.trial_seconds)) if stats.trial_seconds else None,
                         "trial_first_s": stats.trial_seconds[0] if stats.trial_seconds else None}
    with reporter.stage("refit the best settings"):
        wdata = refit_best(ctx, summary, meta)
    write_json(out / "sweep.json", summary)
    write_text(out / "trials.csv", trials_csv(study, prep.facets))
    write_plots(study, summary, out / "plots")
    if wdata is not None:
        write_json(out / "weights.json", wdata)
    if summary["top"]:
        console.print(top_table(summary, prep.facets))
    d, b = summary["default"]["value"], summary["best"]
    if b is not None:
        console.print(f"best trial {b['number']}: yardstick {b['value']:.4f} bits"
                      + (f" (default settings {d:.4f})" if d is not None else ""))
    console.print(f"{summary['n_complete']} complete, {summary['n_failed']} failed; wrote {out}/sweep.json, "
                  f"weights.json, trials.csv, plots/ ({time.perf_counter() - t0:.1f}s)")
    return 0
