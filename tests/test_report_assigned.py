"""report --assigned: the realised mixture of an assignment and its predicted
gap next to the fitted one."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ensemble.report.assigned import check_assignment, predicted_gap
from measure.divergence import js


def test_predicted_gap_is_the_facet_weighted_js_of_the_mixture():
    dists = {"a/real": np.array([0.5, 0.5, 0.0]), "a/s1": np.array([1.0, 0.0, 0.0]),
             "a/s2": np.array([0.0, 0.5, 0.5]),
             "b/real": np.array([0.2, 0.8]), "b/s1": np.array([0.2, 0.8]), "b/s2": np.array([1.0, 0.0])}
    w = {"s1": 0.6, "s2": 0.4}
    fw = {"a": 3.0, "b": 1.0}
    expected = (3 * js(np.array([0.6, 0.2, 0.2]), dists["a/real"])
                + 1 * js(np.array([0.52, 0.48]), dists["b/real"])) / 4
    assert predicted_gap(w, dists, ["a", "b"], fw) == pytest.approx(expected, abs=1e-9)
    assert predicted_gap({"s1": 1.0, "s2": 0.0}, dists, ["a", "b"], fw) == pytest.approx(
        3 * js(dists["a/s1"], dists["a/real"]) / 4, abs=1e-9)
    with pytest.raises(Exception, match="not measured in this run: s3"):
        predicted_gap({"s3": 1.0}, dists, ["a", "b"], fw)


def test_check_assignment_counts_and_unknown_simulators(tmp_path):
    dists = {"a/real": np.array([0.5, 0.5]), "a/s1": np.array([1.0, 0.0]), "a/s2": np.array([0.0, 1.0])}
    measure = {"facets": ["a"], "facet_weights": {"a": 1.0}}
    weights = {"weights": {"s1": 0.5, "s2": 0.5}}
    (tmp_path / "o.jsonl").write_text("".join(json.dumps({"simulator": s}) + "\n"
                                              for s in ["s1"] * 30 + ["s2"] * 10))
    check = check_assignment(tmp_path / "o.jsonl", measure, weights, dists)
    assert check.rows == 40 and check.realized == {"s1": 0.75, "s2": 0.25}
    assert check.fitted_js == pytest.approx(0.0, abs=1e-12)
    assert check.predicted_js == pytest.approx(js(np.array([0.75, 0.25]), dists["a/real"]))
    assert check.max_share_difference == pytest.approx(0.25)
    (tmp_path / "x.jsonl").write_text(json.dumps({"simulator": "zz"}) + "\n")
    with pytest.raises(Exception, match="not in this run's weights: 'zz'"):
        check_assignment(tmp_path / "x.jsonl", measure, weights, dists)


def test_report_assigned_on_a_run(demo_run, tmp_path, capsys):
    from ensemble.assign import assign_dataset
    from ensemble.cli import main
    run = tmp_path / "run"
    run.mkdir()
    for name in ("measure.json", "weights.json", "distributions.npz", "explain.json", "simmap.json"):
        shutil.copy(demo_run / name, run / name)
    weights = json.loads((run / "weights.json").read_text())
    tasks = sorted(weights["per_task"])
    (tmp_path / "tasks.jsonl").write_text("".join(
        json.dumps({"id": i, "task": tasks[i % len(tasks)]}) + "\n" for i in range(2000)))
    res = assign_dataset(run / "weights.json", tmp_path / "tasks.jsonl", tmp_path / "assigned.jsonl")
    assert main(["report", str(run), "--assigned", str(tmp_path / "assigned.jsonl")]) == 0
    out = " ".join(capsys.readouterr().out.split())          # rich may wrap the line
    a = json.loads((run / "assigned.json").read_text())
    assert a["rows"] == 2000 and a["counts"] == {s: res.counts.get(s, 0) for s in weights["weights"]}
    # the same computation as the fit's objective, for the fitted weights
    assert a["fitted_js"] == pytest.approx(weights["objective"]["value"], abs=1e-6)
    assert abs(a["predicted_js"] - a["fitted_js"]) < 0.01
    assert f"predicted gap {a['predicted_js']:.4f} bits (fitted weights {a['fitted_js']:.4f})" in out
    md = (run / "report.md").read_text()
    assert "## The mixture in training" in md and f"| realised mixture | {a['predicted_js']:.4f} |" in md
    assert "The mixture in training" in (run / "report.html").read_text()
    # a saved sampler state works too
    from ensemble.sampler import SimulatorSampler
    s = SimulatorSampler.from_file(run / "weights.json", seed=0)
    s.draw_many(500)
    (tmp_path / "state.json").write_text(json.dumps(s.state_dict()))
    assert main(["report", str(run), "--assigned", str(tmp_path / "state.json")]) == 0
    b = json.loads((run / "assigned.json").read_text())
    assert b["rows"] == 500 and b["max_share_difference"] < 1 / 500 + 1e-9
    # distributions.npz of another run: the predicted gap would be another run's, so refused
    import numpy as np
    with np.load(run / "distributions.npz") as z:
        other = {k: z[k] for k in z.files}
    other["run_id"] = np.array("0" * 16)
    np.savez(run / "distributions.npz", **other)
    assert main(["report", str(run), "--assigned", str(tmp_path / "state.json")]) == 2
    assert "different runs" in capsys.readouterr().err
