"""A TPE sampler whose draws depend only on (seed, trial number), so parallel workers agree."""
from __future__ import annotations

import optuna
from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from .storage import WORKER, WORKER_ATTR

DEFAULT_ATTR = "default"        # marks the trial that ran the default settings


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
