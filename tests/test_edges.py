"""Honest numbers at the edges: a task no simulator covers, tiny sources, and
the held-out mixture's intervals."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import read_json


def _write(folder: Path, sources: dict[str, list]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, convs in sources.items():
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(c.to_record()) + "\n" for c in convs))
    return folder


def _convs(persona: str, n: int, source: str, tasks: tuple[str, ...], seed: int = 0) -> list:
    from ensemble.demo.generator import generate_source
    convs = generate_source(persona, n, seed=seed, source=source)
    return [replace(c, source=source, task=tasks[i % len(tasks)]) for i, c in enumerate(convs)]


@pytest.fixture(scope="module")
def uncovered_data(tmp_path_factory) -> Path:
    """The issue's repro: real users with tasks coding, writing and other, one
    simulator with only `other`, 20 conversations each."""
    return _write(tmp_path_factory.mktemp("uncovered"), {
        "real": _convs("sim_corrector", 20, "real", ("coding", "writing", "other")),
        "sim_a": _convs("sim_terse", 20, "sim_a", ("other",), seed=1)})


def test_task_no_simulator_covers_runs_to_the_end(uncovered_data, shared_cache, tmp_path, capsys):
    from ensemble.cli import main
    out = tmp_path / "run"
    rc = main(["run", "--data", str(uncovered_data), "--out", str(out), "--cache", str(shared_cache),
               "--quiet", "--no-report"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "no simulator has conversations of task 'coding' (35% of real users), 'writing' (35% of real users)" \
        in " ".join(err.split())
    w = read_json(out / "weights.json")
    # 7 coding, 7 writing and 6 other conversations among the 20 real users
    assert w["uncovered_tasks"] == {"coding": {"n_real": 7, "share_of_real_users": 0.35},
                                    "writing": {"n_real": 7, "share_of_real_users": 0.35}}
    assert set(w["per_task"]) <= {"other"}
    assert w["weights"] == {"sim_a": pytest.approx(1.0)}


def test_problem_from_says_why_when_no_simulator_has_rows(uncovered_data, shared_cache):
    import numpy as np

    from ensemble.mixture.evaluate import problem_from
    from measure import _api
    data = _api.load_conversations([uncovered_data])
    m = _api.measure_gap(data, cache_dir=shared_cache)
    with pytest.raises(ValueError, match="no simulator has conversations"):
        problem_from(m, rows_mask=np.asarray(m.prep.tasks) == "coding")
