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


@pytest.fixture(scope="module")
def five_per_source(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("five"), {
        "real": _convs("sim_corrector", 5, "real", ("coding",)),
        "sim_a": _convs("sim_terse", 5, "sim_a", ("coding",), seed=1),
        "sim_b": _convs("sim_questioner", 5, "sim_b", ("coding",), seed=2)})


def test_five_per_source_rows_say_too_few_never_a_bare_zero(five_per_source, shared_cache, tmp_path, capsys):
    from ensemble.cli import main
    rc = main(["measure", "--data", str(five_per_source), "--out", str(tmp_path / "m"),
               "--cache", str(shared_cache), "--quiet"])
    assert rc == 0
    cap = capsys.readouterr()
    out, err = " ".join(cap.out.split()), " ".join(cap.err.split())
    assert "fewer than 20 conversations (real 5, sim_a 5, sim_b 5)" in err
    assert "too few conversations to measure" in err
    m = read_json(tmp_path / "m" / "measure.json")
    assert m["too_few_conversations"] == {"min": 20, "sources": ["real", "sim_a", "sim_b"], "allow_small": False}
    assert all(m["gap"][s]["too_few_conversations"] for s in ("sim_a", "sim_b"))
    assert min(m["k"].values()) >= 2 and max(m["k"].values()) <= 5
    lines = [ln for ln in cap.out.splitlines() if "sim_a" in ln or "sim_b" in ln]
    assert len(lines) == 2 and all("too few" in ln and "0.0000" not in ln for ln in lines)
    assert out.count("conversations") >= 2 and "to measure" in out
    import csv
    rows = list(csv.DictReader((tmp_path / "m" / "measure.csv").read_text().splitlines()))
    assert {r["simulator"]: r["status"] for r in rows} == {"sim_a": "too_few_conversations",
                                                           "sim_b": "too_few_conversations"}


def test_allow_small_shows_numbers_and_warns_on_wide_cis(five_per_source, shared_cache, tmp_path, capsys):
    from ensemble.cli import main
    rc = main(["measure", "--data", str(five_per_source), "--out", str(tmp_path / "m"),
               "--cache", str(shared_cache), "--quiet", "--allow-small"])
    assert rc == 0
    cap = capsys.readouterr()
    err = " ".join(cap.err.split())
    assert "measured anyway (--allow-small)" in err
    m = read_json(tmp_path / "m" / "measure.json")
    assert not any(m["gap"][s].get("too_few_conversations") for s in ("sim_a", "sim_b"))
    assert "too few" not in cap.out
    wide = [s for s in ("sim_a", "sim_b")
            if m["gap"][s]["overall"]["js_ci"][1] - m["gap"][s]["overall"]["js_ci"][0] > m["gap"][s]["overall"]["js"]]
    assert bool(wide) == ("the 95% CI is wider than the gap itself" in err)


def test_mauve_without_the_package_says_which_extra(tmp_path, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "mauve", None)  # what `import mauve` meets when it is not installed
    from ensemble.cli import main
    rc = main(["measure", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--mauve"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--mauve needs the mauve-text package, which is not installed" in err
    assert "ensemble-fit[bench]" in err and "Traceback" not in err


def test_mauve_scores_tell_a_shifted_population():
    pytest.importorskip("mauve")
    import numpy as np

    from measure.mauve_lens import mauve_scores
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 32)).astype(np.float32)
    # real users and "same" use all 40 descriptions; "shifted" only the first 10
    index = np.r_[rng.integers(0, 40, 400), rng.integers(0, 40, 200), rng.integers(0, 10, 200)]
    scores = mauve_scores({"f": (vectors, index)}, np.arange(400),
                          {"same": np.arange(400, 600), "shifted": np.arange(600, 800)}, {"f": 1.0})
    assert scores["same"] > 0.8 and scores["shifted"] < 0.4


def test_heldout_mixture_and_gain_have_paired_bootstrap_cis(demo_run):
    h = read_json(demo_run / "weights.json")["heldout"]
    for key, point in (("mixture_js_ci", h["mixture_js"]), ("best_single_js_ci", h["best_single"]["js"]),
                       ("gain_ci", h["gain_vs_best_single"])):
        lo, hi = h[key]
        assert lo <= point <= hi and hi - lo > 0, key
    assert h["n_boot"] == 200
    # on the demo the mixture is clearly closer than any single simulator
    assert h["gain_ci"][0] > 0 and 0 < h["gain_p"] < 0.01


def test_discriminator_in_measure_json_and_report(demo_run):
    m = read_json(demo_run / "measure.json")
    floor = m["noise_floor"]["discriminator_auc"]
    assert 0.4 < floor < 0.6
    for s in m["simulators"]:
        d = m["gap"][s]["discriminator"]
        assert d["auc_ci"][0] <= d["auc"] <= d["auc_ci"][1]
        assert d["auc"] > floor + 0.1  # every demo persona is told apart from real users
        assert d["top_features"] and {"facet", "cluster", "leans"} <= set(d["top_features"][0])
    md = (demo_run / "report.md").read_text()
    assert "A second lens: can a classifier tell them apart?" in md
    assert "AUC \\[95% CI\\]" in md or "AUC [95% CI]" in md
    assert "x floor = gap / noise floor" in md
    assert "one-sided p =" in md
