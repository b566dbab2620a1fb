"""Optuna storage: URLs and their defaults, masking of passwords, counting trials across workers, dead-worker clean-up."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import time
import warnings
from datetime import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from measure.errors import ConfigError, EnsembleFitError

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


# A storage file that exists but holds no study is refused (unless new_study):
# a truncated or emptied database would otherwise silently start over. A
# worker that is creating the file right now makes its study within
# milliseconds; wait this long before calling a file empty.
EMPTY_WAIT_S = 10.0


def _storage_file(url: str) -> tuple[str, Path] | None:
    """("sqlite" | "journal", path) for a storage kept in a local file, else None."""
    if url.startswith("sqlite:"):
        db = url.split("///", 1)[1] if "///" in url else ""
        db = db.split("?", 1)[0]
        if not db or db == ":memory:" or db.startswith("file:"):
            return None
        return "sqlite", Path(db)
    if url.startswith("journal://"):
        return "journal", Path(url[len("journal://"):])
    return None


def _studies_in(kind: str, path: Path) -> list[str] | None:
    """Study names in an existing storage file ([] when none); None when it cannot tell (Optuna's error will)."""
    try:
        if path.stat().st_size == 0:
            return []
    except OSError:
        return None
    if kind == "sqlite":
        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='studies'").fetchone():
                    return []
                return [r[0] for r in con.execute("SELECT study_name FROM studies")]
            finally:
                con.close()
        except sqlite3.Error:
            return None
    try:
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        return [s.study_name for s in JournalStorage(JournalFileBackend(str(path))).get_all_studies()]
    except Exception:  # unreadable log: opening it reports the reason
        return None


def refuse_empty_storage(url: str, new_study: bool = False, wait_s: float = EMPTY_WAIT_S) -> None:
    """Refuse an existing storage file (SQLite or journal) that holds no study.

    Raises
    ------
    ConfigError
        Unless `new_study`, when the file exists and, after `wait_s`
        seconds, still holds no study.
    """
    found = _storage_file(url)
    if found is None or new_study or not found[1].exists():
        return
    kind, path = found
    deadline = time.monotonic() + wait_s
    while True:
        studies = _studies_in(kind, path)
        if studies is None or studies:
            return
        if time.monotonic() >= deadline:
            raise ConfigError(f"sweep storage {path} exists but holds no study (emptied or truncated?); "
                              "add --new-study to start a new study in it, or remove the file")
        time.sleep(0.25)


def _check_writable(url: str) -> None:
    """A storage file the sweep cannot write fails now, in one line, not at its first trial."""
    found = _storage_file(url)
    if found is None or not found[1].exists():
        return
    kind, path = found
    reason = None
    if kind == "sqlite":
        try:
            con = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            try:
                # A write that is rolled back: SQLite refuses it on a read-only file or folder.
                con.execute("BEGIN IMMEDIATE")
                con.execute("CREATE TABLE _ensemble_fit_write_probe (x)")
                con.execute("ROLLBACK")
            finally:
                con.close()
        except sqlite3.Error as exc:
            if "readonly" in str(exc) or "read-only" in str(exc) or "unable to open" in str(exc):
                reason = str(exc)
    else:
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
    if reason:
        raise ConfigError(f"cannot write the sweep storage {path}: {reason}; make it writable or point "
                          "--storage (or --out) elsewhere")


@contextlib.contextmanager
def storage_errors(url: str):
    """Storage failures during a sweep (a database gone read-only, a full
    disk, a lost server) as one-line errors naming the storage, not Optuna's
    StorageInternalError."""
    try:
        yield
    except optuna.exceptions.StorageInternalError as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        detail = getattr(cause, "orig", None) or cause
        raise EnsembleFitError(f"sweep storage {mask_url(url)} failed: {type(detail).__name__}: "
                               f"{str(detail).splitlines()[0] if str(detail) else ''}") from None


def open_sweep_storage(url: str, study_name: str = DEFAULT_STUDY, new_study: bool = False
                       ) -> optuna.storages.BaseStorage:
    """Open the sweep's storage and make sure it holds the study.

    An existing storage file with no study in it is refused unless
    `new_study`; a storage that cannot be written is a clear error. The study
    is created at once (not after the data is prepared), so a second worker
    starting on the same new file finds it.

    Raises
    ------
    ConfigError
        Empty storage file without `new_study`, unwritable storage, bad URL.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    refuse_empty_storage(url, new_study)
    store = open_storage(url)
    _check_writable(url)
    with storage_errors(url), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.create_study(storage=store, study_name=study_name, direction="minimize", load_if_exists=True)
    return store


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
