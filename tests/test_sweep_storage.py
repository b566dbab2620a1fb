"""Sweep storage edges (issue 21, item 6): a read-only database is a clear
error, not Optuna's StorageInternalError; a storage file that exists but
holds no study (emptied, truncated) is refused unless --new-study."""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess

import optuna
import pytest

from ensemble.cli import build_parser
from ensemble.tune import storage
from measure.errors import ConfigError, EnsembleFitError


@contextlib.contextmanager
def read_only(path):
    """Make `path` unwritable for this process: chmod, or (as root, whom
    permissions do not stop) the immutable attribute; skip if neither works."""
    os.chmod(path, 0o444)
    immutable = False
    try:
        try:
            open(path, "ab").close()
            writable = True
        except OSError:
            writable = False
        if writable and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
            writable = not immutable
        if writable:
            pytest.skip("cannot make a file read-only here")
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        os.chmod(path, 0o644)


def _db_with_study(path, n_trials: int = 2) -> str:
    url = f"sqlite:///{path}"
    study = optuna.create_study(storage=url, study_name=storage.DEFAULT_STUDY)
    for i in range(n_trials):
        study.add_trial(optuna.trial.create_trial(params={"x": float(i)},
                                                  distributions={"x": optuna.distributions.FloatDistribution(0, 9)},
                                                  value=float(i)))
    return url


def test_a_read_only_sweep_database_is_a_clear_error(tmp_path):
    url = _db_with_study(tmp_path / "sweep.db")
    with read_only(tmp_path / "sweep.db"):
        with pytest.raises(ConfigError, match=r"cannot write the sweep storage .*sweep\.db: attempt to write a "
                                              r"readonly database"):
            storage.open_sweep_storage(url, storage.DEFAULT_STUDY)


@pytest.mark.filterwarnings("ignore:Heartbeat")
def test_a_storage_failing_mid_sweep_is_one_line_naming_it(tmp_path):
    url = _db_with_study(tmp_path / "sweep.db")
    store = storage.open_sweep_storage(url, storage.DEFAULT_STUDY)
    study = optuna.load_study(study_name=storage.DEFAULT_STUDY, storage=store)
    with read_only(tmp_path / "sweep.db"):
        with pytest.raises(EnsembleFitError) as info:
            with storage.storage_errors(url):
                study.ask()                     # creating a trial writes
    msg = str(info.value)
    # SQLite names the cause ("attempt to write a readonly database", or "disk I/O error" for a
    # connection opened before the file turned read-only); the message keeps it, in one line.
    assert msg.startswith(f"sweep storage {url} failed: OperationalError: ")
    assert "\n" not in msg and "StorageInternalError" not in msg


@pytest.mark.parametrize("how", ["truncated", "emptied"])
def test_an_emptied_sweep_database_is_refused_unless_new_study(tmp_path, how, monkeypatch):
    monkeypatch.setattr(storage, "EMPTY_WAIT_S", 0.5)
    db = tmp_path / "sweep.db"
    url = _db_with_study(db)
    if how == "truncated":
        db.write_bytes(b"")
    else:  # every row gone, the tables left
        with sqlite3.connect(db) as con:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for t in tables:
                if t not in ("alembic_version", "version_info"):
                    con.execute(f"DELETE FROM {t}")
    with pytest.raises(ConfigError, match="exists but holds no study .*add --new-study"):
        storage.refuse_empty_storage(url, wait_s=0.5)
    with pytest.raises(ConfigError, match="holds no study"):
        storage.open_sweep_storage(url, storage.DEFAULT_STUDY)
    store = storage.open_sweep_storage(url, storage.DEFAULT_STUDY, new_study=True)
    study = optuna.load_study(study_name=storage.DEFAULT_STUDY, storage=store)
    assert len(study.trials) == 0                   # a new, empty study, as asked
    storage.open_sweep_storage(url, storage.DEFAULT_STUDY)   # now it holds one: resumed without the flag


def test_new_and_resumed_storages_need_no_flag(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'sweep.db'}"
    storage.open_sweep_storage(url, "s")            # no file yet: a new study
    assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["s"]   # created at once
    storage.open_sweep_storage(url, "s")            # resumed
    journal = tmp_path / "sweep.log"
    storage.open_sweep_storage(f"journal://{journal}", "s")
    storage.open_sweep_storage(f"journal://{journal}", "s")
    journal.write_bytes(b"")
    with pytest.raises(ConfigError, match="holds no study"):
        storage.refuse_empty_storage(f"journal://{journal}", wait_s=0.2)


def test_sweep_command_has_new_study():
    args = build_parser().parse_args(["sweep", "--out", "x", "--new-study"])
    assert args.new_study is True
    assert build_parser().parse_args(["sweep", "--out", "x"]).new_study is False
