"""Running a study to N complete trials, and summarizing it (best trial, importances, CSV)."""
from __future__ import annotations

import csv
import io
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from .objective import TRIAL_ERRORS, SweepContext, evaluate, make_objective
from .samplers import DEFAULT_ATTR, TrialSeededTPE
from .space import Settings
from .storage import WORKER_ATTR, _counts, fail_dead_trials, mask_url

SWEEP_SCHEMA = "ensemble-fit/sweep/v1"
DEFAULT_N_TRIALS = 50
# fANOVA fits a random forest to the trials; with fewer than about this many
# the ranking of parameters changes from one run to the next.
IMPORTANCE_MIN_TRIALS = 20


def _wait_limit(study: optuna.Study) -> float:
    """Seconds to wait for trials running elsewhere: 20 typical trials, at least 10 minutes."""
    durations = [t.duration.total_seconds() for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.duration is not None]
    return max(600.0, 20 * float(np.median(durations))) if durations else 600.0


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
    codebook_seconds: list[float] = field(default_factory=list)  # of each complete trial
    codebook_fits: int = 0     # fresh k-means fits in this run's trials
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
            stats.codebook_seconds.append(float(trial.user_attrs.get("codebook_seconds", 0.0)))
            stats.codebook_fits += int(trial.user_attrs.get("codebook_fits", 0))
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
            "seconds": t.user_attrs.get("seconds"),
            "codebook_seconds": t.user_attrs.get("codebook_seconds"),
            "codebook_fits": t.user_attrs.get("codebook_fits")}


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
        "importances_caveat": (f"from {by_state[TrialState.COMPLETE]} complete trials only: importances are "
                               f"unreliable below about {IMPORTANCE_MIN_TRIALS} trials; read them as a hint"
                               if imp is not None and by_state[TrialState.COMPLETE] < IMPORTANCE_MIN_TRIALS
                               else None),
    }


def default_noise(ctx: SweepContext, default_value: float | None, n_seeds: int = 3) -> dict | None:
    """The yardstick's noise: the default settings re-scored with `n_seeds`
    other codebook seeds (the study's default trial is one more value).

    Returns {"seeds", "values", "std"} (std with ddof=1 over every value), or
    None when n_seeds < 1.
    """
    if n_seeds < 1:
        return None
    base = ctx.mconf.seed
    seeds = [base + 1000 * (i + 1) for i in range(n_seeds)]
    values = [evaluate(ctx, ctx.default, seed=s).value for s in seeds]
    if default_value is not None:
        seeds, values = [base] + seeds, [float(default_value)] + values
    return {"seeds": seeds, "values": values,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}


def noise_verdict(improvement: float | None, noise: dict | None) -> str | None:
    """Whether the best trial beats the defaults by more than the yardstick's
    noise: more than two standard deviations of the re-scored defaults (the
    spread of a difference of two noisy scores is about 1.4 of them)."""
    if improvement is None or not noise or noise.get("std") is None:
        return None
    std, n = noise["std"], len(noise["values"])
    where = f"{n} scorings of the default settings with different codebook seeds"
    if improvement <= 0:
        return (f"no trial beats the default settings (noise: std {std:.4f} bits over {where}); "
                "keep the defaults")
    if improvement > 2 * std:
        return (f"the best trial beats the default settings by {improvement:.4f} bits, more than the "
                f"yardstick's noise (2 x std = {2 * std:.4f} bits over {where})")
    return (f"the best trial beats the default settings by {improvement:.4f} bits, within the yardstick's "
            f"noise (2 x std = {2 * std:.4f} bits over {where}): the default settings are as good")


def _round(x, places: int = 3):
    return "" if x is None else round(float(x), places)


def trials_csv(study: optuna.Study, facets: list[str]) -> str:
    trials = study.get_trials(deepcopy=False)
    params = list(dict.fromkeys(p for t in trials for p in t.params))  # search-space order
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "state", "value", "default", "duration_s", "codebook_s", "codebook_fits",
                "fit_objective", *params, *[f"weight_{f}" for f in facets], "worker"])
    for t in trials:
        fw = t.user_attrs.get("facet_weights") or {}
        dur = t.duration.total_seconds() if t.duration is not None else ""
        w.writerow([t.number, t.state.name, "" if t.value is None else repr(float(t.value)),
                    int(bool(t.user_attrs.get(DEFAULT_ATTR))), dur, _round(t.user_attrs.get("codebook_seconds")),
                    t.user_attrs.get("codebook_fits", ""), t.user_attrs.get("fit_objective", ""),
                    *[t.params.get(p, "") for p in params], *[fw.get(f, "") for f in facets],
                    t.user_attrs.get(WORKER_ATTR, "")])
    return buf.getvalue()
