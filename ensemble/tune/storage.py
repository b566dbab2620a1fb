"""Optuna storage: URLs and their defaults, masking of passwords, counting trials across workers, dead-worker clean-up."""
from __future__ import annotations

import os
import re
import socket
import time
import warnings
from datetime import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from measure.errors import ConfigError

DEFAULT_STUDY = "ensemble-fit"
WORKER_ATTR = "worker"          # "host:pid" of the process running a trial
ORPHAN_AFTER_S = 60             # a RUNNING trial that never recorded its worker is dead after this


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


def _is_surplus(study: optuna.Study, number: int, n_trials: int) -> bool:
    """Another worker claimed the last slots first (trials with lower numbers win)."""
    done, ahead = _counts(study, before=number)
    return done + ahead >= n_trials


def n_complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


# ------------------------------------------------------------------ the study
