"""One run per output folder (issue 21, item 5).

A second run into a folder another process is writing fails at once with a
one-line error naming the folder and the other run's pid; every output of a
run carries the same run id and data fingerprint; `report` refuses a folder
whose files come from different runs (an interrupted run over an old folder,
or weights for other simulators) instead of mixing them or crashing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ensemble.cli import main
from measure.run_folder import (LOCK_NAME, RUN_INFO_NAME, FolderBusyError, MixedRunFolderError,
                                check_run_folder, hold_output_folder, interrupted_run, run_id)

ROOT = Path(__file__).resolve().parents[1]
MEASURE_FAST = ["--quiet", "--bootstrap", "2", "--codebook-seeds", "1", "--facets", "requests,context"]
FAST = [*MEASURE_FAST, "--weight-bootstrap", "0"]


def _env(**extra) -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ensemble.cli", *args]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from ensemble.demo.generator import write_demo
    return write_demo(tmp_path_factory.mktemp("lock-demo"), n_per_simulator=40, n_real=150)


@pytest.fixture(scope="module")
def two_runs(small_demo, shared_cache, tmp_path_factory) -> dict:
    """Process A runs into OUT; while it holds the folder, a second run (this
    process) tries the same OUT. Returns A's folder and what the second run got."""
    out = tmp_path_factory.mktemp("two-runs") / "out"
    a = subprocess.Popen(_cli("run", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache),
                              *FAST), env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while True:  # A holds the folder once its info file names it
        try:
            if json.loads((out / RUN_INFO_NAME).read_text())["pid"] == a.pid:
                break
        except (OSError, ValueError, KeyError):
            pass
        assert a.poll() is None, a.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "run A never took the folder"
        time.sleep(0.05)
    a_running = a.poll() is None
    t0 = time.perf_counter()
    from contextlib import redirect_stderr
    from io import StringIO
    err = StringIO()
    with redirect_stderr(err):
        rc_b = main(["measure", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache),
                    *MEASURE_FAST])
    b_seconds = time.perf_counter() - t0
    _, a_err = a.communicate(timeout=600)
    return {"out": out, "a": a, "a_err": a_err.decode(), "a_running": a_running, "rc_b": rc_b,
            "b_err": err.getvalue(), "b_seconds": b_seconds}


def test_a_second_run_into_one_folder_fails_clearly_and_the_first_succeeds(two_runs):
    out, a = two_runs["out"], two_runs["a"]
    assert two_runs["a_running"], "run A had finished before the second run tried the folder"
    assert two_runs["rc_b"] == 2
    lines = two_runs["b_err"].strip().splitlines()
    assert len(lines) == 1, lines                        # one line, no traceback
    assert lines[0].startswith(f"error: {out} is in use by another ensemble-fit run (pid {a.pid}")
    assert "`run`" in lines[0] and "choose another --out" in lines[0]
    assert a.returncode == 0, two_runs["a_err"][-2000:]
    assert not (out / RUN_INFO_NAME).exists()            # A finished: nothing says "interrupted"
    assert interrupted_run(out) is None


def test_every_output_of_a_run_carries_its_run_id_and_fingerprint(two_runs):
    out = two_runs["out"]
    docs = {n: json.loads((out / n).read_text()) for n in ("measure.json", "weights.json", "explain.json",
                                                          "simmap.json")}
    ids = {n: (d["run_id"], d["data_fingerprint"]) for n, d in docs.items()}
    assert len(set(ids.values())) == 1, ids
    rid, fp = ids["measure.json"]
    assert rid.startswith("run-") and len(rid) == 20
    with np.load(out / "distributions.npz") as z:
        assert (str(z["run_id"]), str(z["data_fingerprint"])) == (rid, fp)
    assert main(["report", str(out)]) == 0               # a folder of one run renders
    assert f"data fingerprint {fp}, run id {rid}" in (out / "report.md").read_text()


def test_run_id_is_derived_not_drawn():
    settings = {"seed": 0, "k_default": 8, "facets": ["requests"]}
    rep = {"extractor": "rules-v1", "embedding_key": "abc"}
    assert run_id("f" * 16, settings, rep) == run_id("f" * 16, dict(reversed(settings.items())), rep)
    assert run_id("f" * 16, settings, rep) != run_id("f" * 16, {**settings, "seed": 1}, rep)
    assert run_id("f" * 16, settings, rep) != run_id("e" * 16, settings, rep)
    assert run_id("f" * 16, settings, rep) != run_id("f" * 16, settings, {**rep, "embedding_key": "abd"})


def test_report_refuses_a_folder_an_interrupted_run_left_mixed(two_runs, small_demo, shared_cache, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(two_runs["out"], out)
    # Run B (another seed: another measurement) is killed right after it replaced measure.json.
    b = subprocess.run(_cli("run", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache),
                            "--seed", "7", *FAST), env=_env(ENSEMBLE_FIT_CRASH_AT="wrote:measure.json"),
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert b.returncode == -9, b.stderr[-2000:]
    measure = json.loads((out / "measure.json").read_text())
    weights = json.loads((out / "weights.json").read_text())
    assert measure["run_id"] != weights["run_id"]       # the folder now holds two runs
    report_before = (out / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "come from different runs (run id" in err and measure["run_id"] in err and weights["run_id"] in err
    info = json.loads((out / RUN_INFO_NAME).read_text())
    assert f"did not finish (pid {info['pid']}" in err and "`run`" in err
    assert (out / "report.html").read_bytes() == report_before   # nothing rendered from the mix


def test_report_refuses_weights_for_other_simulators_instead_of_crashing(two_runs, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(two_runs["out"], out)
    path = out / "weights.json"
    w = json.loads(path.read_text())
    # An older version's weights.json (no ids) from a run with other simulator names.
    for key in ("run_id", "data_fingerprint"):
        w.pop(key)
    first = next(iter(w["weights"]))
    w["weights"] = {("sim_from_another_run" if s == first else s): v for s, v in w["weights"].items()}
    path.write_text(json.dumps(w))
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "weights.json weighs simulator(s) 'sim_from_another_run'" in err and "different runs" in err
    assert "Traceback" not in err and "not in list" not in err


def test_the_lock_in_one_process(tmp_path):
    folder = tmp_path / "out"
    with hold_output_folder(folder, command="measure") as locked:
        assert locked and (folder / LOCK_NAME).exists()
        assert json.loads((folder / RUN_INFO_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(FolderBusyError, match=f"in use by another ensemble-fit run \\(pid {os.getpid()}"):
            with hold_output_folder(folder):
                pass
    assert not (folder / RUN_INFO_NAME).exists()
    with pytest.raises(RuntimeError):
        with hold_output_folder(folder, command="run"):
            raise RuntimeError("the run failed")
    assert interrupted_run(folder)["command"] == "run"  # a failed run is remembered for `report`
    with hold_output_folder(folder, command="report", reader=True):
        assert interrupted_run(folder)["command"] == "run"
    assert interrupted_run(folder)["command"] == "run"  # a report changes nothing of that
    with hold_output_folder(folder, command="run"):     # the folder is free; a finished run clears it
        pass
    assert interrupted_run(folder) is None and not (folder / RUN_INFO_NAME).exists()


def test_check_run_folder_without_ids_compares_what_is_there(tmp_path):
    m = {"simulators": ["a", "b"], "data_fingerprint": "x"}
    check_run_folder(tmp_path, {"measure.json": m, "weights.json": {"weights": {"a": 1.0}}, "explain.json": None})
    with pytest.raises(MixedRunFolderError, match="data fingerprint x vs y"):
        check_run_folder(tmp_path, {"measure.json": m, "weights.json": {"weights": {"a": 1.0},
                                                                       "data_fingerprint": "y"}})
