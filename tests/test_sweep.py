"""`ensemble-fit sweep`: the yardstick, the objective, storage, resume, workers.

One small demo (80 conversations per simulator, 300 real users) is prepared
once; the objective is called directly where possible, and the CLI runs in
subprocesses only where a process must die or two must run at once. The CLI
tests use other seeds than the in-process ones: a new seed is a new held-out
split, so their codebooks are not cached yet and trials are slow enough to
kill one mid-sweep.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from ensemble.tune import objective, samplers, storage, study
from ensemble.mixture.fit import FitConfig
from ensemble.tune.yardstick import build_yardstick, clip_resolutions
from measure.pipeline import MeasureConfig, prepare

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--quiet", "--bootstrap", "2", "--weight-bootstrap", "0", "--codebook-seeds", "1"]
# Two facets keep codebook fits (the cost of a cold trial) few in the storage tests.
TWO = ["requests", "context"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny k-means on 2 shared cores: extra BLAS/OpenMP threads only spin (10x slower)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from ensemble.demo.generator import write_demo
    return write_demo(tmp_path_factory.mktemp("sweep-demo"), n_per_simulator=80, n_real=300)


@pytest.fixture(scope="module")
def ctx(small_demo, shared_cache) -> objective.SweepContext:
    from ensemble.cli.commands import load_data
    from measure.embed import Embedder
    from measure.facets.offline import RuleFacetExtractor
    ds = load_data([small_demo])
    mconf = MeasureConfig(heldout_fraction=0.3, seed=0)
    prep = prepare(ds.conversations, ds.real_sources, ds.simulators, RuleFacetExtractor(),
                   Embedder(cache_dir=shared_cache), mconf.facets, heldout_fraction=0.3, seed=0,
                   cache_dir=shared_cache)
    return objective.SweepContext.build(prep, mconf, FitConfig(), cache_dir=shared_cache)


@pytest.fixture(scope="module")
def ctx2(ctx) -> objective.SweepContext:
    """The same data measured on two facets only (cheaper trials)."""
    prep = replace(ctx.prep, facets=list(TWO))
    mconf = replace(ctx.mconf, facets=tuple(TWO))
    return objective.SweepContext.build(prep, mconf, ctx.fconf, cache_dir=ctx.cache_dir, memo=ctx.memo)


def _one_hot(facets, f) -> dict[str, float]:
    return {g: float(g == f) for g in facets}


# ------------------------------------------------------------------ yardstick

def test_clip_resolutions_keeps_three_per_bin():
    assert clip_resolutions((8, 32, 128), 90) == [8, 30]
    assert clip_resolutions((8, 32, 128), 1000) == [8, 32, 128]
    assert clip_resolutions((8, 32, 128), 4) == [2]


def test_yardstick_is_fixed_and_held_out(ctx):
    y = ctx.yardstick
    prep = ctx.prep
    assert y.n_heldout == int(prep.heldout.sum()) == 90
    # 80 per simulator, 90 held out: resolutions 8 and min(32, 80 // 3) = 26.
    assert y.resolutions == {f: [8, 26] for f in prep.facets}
    assert y.seed != ctx.mconf.seed          # no trial codebook coincides with it
    # Built again from the caches: the same numbers (it does not depend on any trial).
    again = build_yardstick(prep, seed=0, cache_dir=ctx.cache_dir)
    w = {s: 1.0 for s in y.names}
    assert again.score(w) == y.score(w)
    # The score is the mean over facets and resolutions of JS(mixture, held-out) in bits.
    uniform = np.full(len(y.names), 1 / len(y.names))
    by_hand = np.mean([sw_js(uniform @ y.P[f, k], y.q_heldout[f, k]) for f in y.facets for k in y.resolutions[f]])
    assert y.score(uniform) == pytest.approx(by_hand, rel=1e-12)
    assert 0 < y.score(uniform) < 1


def sw_js(p, q) -> float:
    from measure.divergence import js
    return js(p, q)


# ------------------------------------------------------------------ objective

def test_degenerate_settings_do_not_win(ctx):
    facets = ctx.prep.facets
    default = objective.evaluate(ctx, ctx.default)
    assert 0.02 < default.value < 0.1

    # k=1: every mixture fits its own codebooks perfectly, so a self-scored
    # sweep would pick it; the fitted weights are arbitrary and the yardstick
    # says so.
    k1 = objective.evaluate(ctx, replace(ctx.default, k={f: 1 for f in facets}))
    assert k1.fit_objective == pytest.approx(0.0, abs=1e-9)
    assert k1.value > 2 * default.value

    # One facet alone. A self-scored sweep would pick the easiest facet alone:
    # it always beats the default on its own objective (min_f D_f <= sum_f w_f D_f).
    # On the yardstick it gains nothing from ignoring the other facets; what is
    # left is the quality of its mixture weights. On this demo every facet
    # carries the persona signal, so one facet alone can recover weights about
    # as good as the default's (within codebook noise, a few %), and is not
    # always strictly worse; single facets are worse on average.
    alone = {f: objective.evaluate(ctx, replace(ctx.default, facet_weights=_one_hot(facets, f))) for f in facets}
    easiest = min(facets, key=lambda f: alone[f].fit_objective)
    assert alone[easiest].fit_objective < default.fit_objective
    assert alone[easiest].value > 0.9 * default.value
    assert np.mean([o.value for o in alone.values()]) > default.value
    for f, o in alone.items():  # each is judged on every facet, not only its own
        assert set(o.yardstick_per_facet) == set(facets)
        assert o.value == pytest.approx(np.mean(list(o.yardstick_per_facet.values())))


def _sweep(ctx, path: Path, n: int) -> optuna.Study:
    st = study.open_study(storage.open_storage(f"sqlite:///{path}"), storage.DEFAULT_STUDY, seed=ctx.mconf.seed,
                          default_params=ctx.default.params(ctx.space))
    study.run_study(st, ctx, n_trials=n)
    return st


def test_best_is_no_worse_than_default_and_sweeps_are_deterministic(ctx2, tmp_path):
    ctx = ctx2
    a = _sweep(ctx, tmp_path / "a.db", 6)
    # A fresh sweep that reads codebooks back from disk, not from memory.
    b = _sweep(replace(ctx, memo={}), tmp_path / "b.db", 6)
    ta, tb = a.trials, b.trials
    assert [t.state for t in ta] == [TrialState.COMPLETE] * 6
    assert [(t.params, t.value) for t in ta] == [(t.params, t.value) for t in tb]
    default = ta[0]
    assert default.user_attrs[samplers.DEFAULT_ATTR] is True
    assert default.params == ctx.default.params(ctx.space)
    assert default.value == pytest.approx(objective.evaluate(ctx, ctx.default).value, rel=1e-12)
    assert a.best_value <= default.value
    assert len({tuple(sorted(t.params.items())) for t in ta}) == 6   # no point drawn twice
    for t in ta:  # what each trial records
        fw = t.user_attrs["facet_weights"]
        raw = {f: t.params[f"w_{f}"] for f in TWO}
        assert fw == pytest.approx({f: v / sum(raw.values()) for f, v in raw.items()})
        assert all(ctx.space.k_low <= t.params[f"k_{f}"] <= ctx.space.k_high for f in TWO)
        assert set(t.user_attrs["mixture_weights"]) == set(ctx.prep.simulators)
        assert t.user_attrs["worker"] == storage.WORKER


def test_a_sweep_whose_trials_all_fail_stops(ctx2, tmp_path):
    # min_weight 0.5 for each of 7 simulators cannot sum to 1: every solve fails.
    bad = replace(ctx2, fconf=replace(ctx2.fconf, min_weight=0.5))
    st = study.open_study(storage.open_storage(f"sqlite:///{tmp_path / 'f.db'}"), "f", seed=0)
    stats = study.run_study(st, bad, n_trials=5, max_consecutive_failures=3)
    assert [t.state for t in st.trials] == [TrialState.FAIL] * 3
    assert stats.trial_seconds == [] and len(stats.errors) == 3
    assert "MixtureInfeasible" in st.trials[0].user_attrs["error"]


# ------------------------------------------------------------------ storage

def test_storage_urls(tmp_path):
    assert storage.storage_url(tmp_path, None) == f"sqlite:///{tmp_path.resolve() / 'sweep.db'}"
    assert storage.mask_url("postgresql+psycopg2://me:s3cr:et@db.example/x") == "postgresql+psycopg2://me:***@db.example/x"
    assert storage.mask_url("sqlite:///a/b.db") == "sqlite:///a/b.db"
    store = storage.open_storage(f"journal://{tmp_path / 'j' / 'sweep.log'}")
    assert isinstance(store, optuna.storages.JournalStorage)
    with pytest.raises(storage.ConfigError, match="cannot open storage|driver"):
        storage.open_storage("nosuchdb://me:pw@host/x")


def test_trials_of_dead_local_workers_fail_and_live_ones_hold_slots(tmp_path):
    st = study.open_study(storage.open_storage(f"sqlite:///{tmp_path / 's.db'}"), "t", seed=0)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    dead = st.ask()
    dead.set_user_attr(storage.WORKER_ATTR, f"{host}:{gone.pid}")          # killed sweep, this machine
    live = st.ask()
    live.set_user_attr(storage.WORKER_ATTR, f"{host}:{os.getppid()}")      # another worker, alive
    far = st.ask()
    far.set_user_attr(storage.WORKER_ATTR, "elsewhere:1")                  # other machine: heartbeat's job
    st.tell(st.ask(), 0.5)
    # Killed before it recorded its worker: an orphan once older than ORPHAN_AFTER_S.
    started = datetime.now() - timedelta(seconds=storage.ORPHAN_AFTER_S + 5)
    st.add_trial(FrozenTrial(number=0, state=TrialState.RUNNING, value=None, datetime_start=started,
                                datetime_complete=None, params={}, distributions={}, user_attrs={},
                                system_attrs={}, intermediate_values={}, trial_id=0))
    assert storage._counts(st) == (1, 2)                                 # dead ones hold no slot
    assert storage._is_surplus(st, number=9, n_trials=3)                # 1 complete + 2 running ahead
    assert not storage._is_surplus(st, number=9, n_trials=4)
    assert not storage._is_surplus(st, number=live.number, n_trials=2)  # only lower numbers are ahead
    assert storage.fail_dead_trials(st) == 2
    states = {t.number: t.state for t in st.trials}
    assert states == {0: TrialState.FAIL, 1: TrialState.RUNNING, 2: TrialState.RUNNING,
                      3: TrialState.COMPLETE, 4: TrialState.FAIL}


def _cli(data: Path, out: Path, cache: Path, n: int, seed: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ensemble.cli", "sweep", "--data", str(data), "--out", str(out),
            "--cache", str(cache), "--n-trials", str(n), "--seed", str(seed), "--facets", ",".join(TWO),
            *FAST, *extra]


def _env() -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _complete_in_sqlite(db: Path) -> int:
    if not db.exists():   # connecting would create an empty file, which the sweep refuses (no study in it)
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_resume_after_sigkill(small_demo, shared_cache, tmp_path, ctx):
    out = tmp_path / "sweep"
    db = out / "sweep.db"
    cmd = _cli(small_demo, out, shared_cache, 8, 11)
    proc = subprocess.Popen(cmd, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _complete_in_sqlite(db) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no 2 trials within 4 minutes"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    url = f"sqlite:///{db}"
    before = optuna.load_study(study_name=storage.DEFAULT_STUDY, storage=url)
    done_before = {t.number: (t.params, t.value) for t in before.trials if t.state == TrialState.COMPLETE}
    assert 2 <= len(done_before) < 8, "the sweep finished before it could be killed"

    rerun = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summaries = optuna.get_all_study_summaries(url)
    assert [s.study_name for s in summaries] == [storage.DEFAULT_STUDY]
    after = optuna.load_study(study_name=storage.DEFAULT_STUDY, storage=url)
    assert after._study_id == before._study_id
    states = [t.state for t in after.trials]
    assert states.count(TrialState.COMPLETE) == 8
    assert TrialState.RUNNING not in states           # the killed trial was failed, not left hanging
    numbers = [t.number for t in after.trials]
    assert len(set(numbers)) == len(numbers) == len(after.trials)
    for t in after.trials:                            # finished work is kept as it was
        if t.number in done_before:
            assert (t.params, t.value) == done_before[t.number]
    assert sum(t.user_attrs.get(samplers.DEFAULT_ATTR, False) for t in after.trials) == 1

    summary = json.loads((out / "sweep.json").read_text())
    assert summary["n_complete"] == 8 and summary["n_running"] == 0
    assert summary["best"]["value"] <= summary["default"]["value"]
    assert summary["storage"] == url
    assert len(summary["top"]) == 8
    weights = json.loads((out / "weights.json").read_text())
    assert weights["schema"] == "ensemble-fit/weights/v1"
    assert weights["study"]["best_trial"] == summary["best"]["number"]
    assert sum(weights["weights"].values()) == pytest.approx(1.0)
    assert (out / "trials.csv").read_text().count("\n") == len(after.trials) + 1
    for png in ("history.png", "importances.png"):
        assert (out / "plots" / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_workers_share_one_study(small_demo, shared_cache, tmp_path, kind, ctx):
    url = f"sqlite:///{tmp_path / 'shared.db'}" if kind == "sqlite" else f"journal://{tmp_path / 'shared.log'}"
    n = 6
    procs = [subprocess.Popen(_cli(small_demo, tmp_path / f"w{i}", shared_cache, n, 21, "--storage", url),
                              env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    store = storage.open_storage(url)
    shared = optuna.load_study(study_name=storage.DEFAULT_STUDY, storage=store)
    trials = shared.trials
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))        # no duplicated or skipped number
    assert [t.state for t in trials].count(TrialState.COMPLETE) == n
    assert TrialState.RUNNING not in [t.state for t in trials]
    # Anything beyond the n complete trials is a claim that stood down.
    for t in trials:
        if t.state != TrialState.COMPLETE:
            assert t.state == TrialState.PRUNED and t.user_attrs.get("surplus")
    for i in range(2):
        assert json.loads((tmp_path / f"w{i}" / "sweep.json").read_text())["n_complete"] == n
