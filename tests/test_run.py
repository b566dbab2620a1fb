"""End-to-end checks of `measure` and `run` on the demo, whose answer is known."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ensemble.cli import main
from ensemble.sampler import SimulatorSampler

from .conftest import read_json

PLANTED = {"sim_polite_frontloader", "sim_corrector", "sim_error_paster"}
FAST = ["--quiet", "--bootstrap", "50", "--weight-bootstrap", "5", "--no-report"]


@pytest.fixture(scope="module")
def measured(demo_run):
    return read_json(demo_run / "measure.json")


@pytest.fixture(scope="module")
def weights(demo_run):
    return read_json(demo_run / "weights.json")


@pytest.fixture(scope="module")
def truth(demo_data):
    return read_json(demo_data / "true_mixture.json")["expected_weights"]


def test_measure_json_schema(measured):
    assert measured["schema"] == "ensemble-fit/measure/v1"
    assert measured["real"] == ["real"]
    assert len(measured["simulators"]) == 7
    for key in ("facets", "k", "gap", "noise_floor", "pairwise"):
        assert key in measured
    names = measured["pairwise"]["names"]
    js = np.array(measured["pairwise"]["js"])
    assert names[0] == "real" and js.shape == (8, 8)
    assert np.allclose(js, js.T) and np.allclose(np.diag(js), 0)
    # The real row of the pairwise matrix is the overall gap of each simulator.
    for i, s in enumerate(names[1:], 1):
        assert js[0, i] == pytest.approx(measured["gap"][s]["overall"]["js"], abs=1e-9)


def test_planted_personas_rank_closest(measured):
    assert set(measured["ranking"][:3]) == PLANTED


def test_every_gap_is_above_the_noise_floor(measured):
    floor = measured["noise_floor"]
    for s in measured["simulators"]:
        assert measured["gap"][s]["overall"]["js"] > floor["overall"]["js_p95"]
        # and it is far above it, not by a hair
        assert measured["gap"][s]["overall"]["js"] > 3 * floor["overall"]["js"]


def test_bootstrap_cis_cover_point_estimates(measured):
    for s in measured["simulators"]:
        for part in ["overall", *measured["facets"]]:
            g = measured["gap"][s][part]
            lo, hi = g["js_ci"]
            assert lo <= g["js"] <= hi, (s, part, g)
            assert hi - lo > 0


def test_js_units(measured):
    for s in measured["simulators"]:
        for f in measured["facets"]:
            g = measured["gap"][s][f]
            assert 0 <= g["js"] <= 1
            assert g["js_nats"] == pytest.approx(g["js"] * np.log(2), rel=1e-6)


def test_per_task_breakdown(measured):
    assert set(measured["by_task"]) == {"coding", "writing"}
    for task in ("coding", "writing"):
        ranking = sorted(measured["by_task"][task]["gap"],
                         key=lambda s: measured["by_task"][task]["gap"][s]["overall"]["js"])
        assert ranking[0] == "sim_polite_frontloader"
        assert set(ranking[:2]) <= PLANTED
        assert measured["by_task"][task]["n_real"] == 210  # half of the 420 fit-split real users


def test_planted_mixture_is_recovered(weights, truth):
    w = weights["weights"]
    l1 = sum(abs(w.get(s, 0.0) - truth.get(s, 0.0)) for s in set(w) | set(truth))
    assert l1 <= 0.05, (w, truth)
    for s, t in truth.items():
        if t == 0:
            assert w[s] < 0.02, (s, w[s])
    assert abs(sum(w.values()) - 1) < 1e-9


def test_heldout_mixture_beats_every_baseline(weights):
    h = weights["heldout"]
    assert h["mixture_js"] < h["best_single"]["js"]
    assert h["mixture_js"] < h["uniform_js"]
    assert h["best_single"]["name"] == "sim_polite_frontloader"
    # the mixture gets close to the real-vs-real floor of the held-out split
    assert h["mixture_js"] < 2 * h["real_vs_real_js"]


def test_solver_certificate(weights):
    s = weights["solver"]
    assert s["status"] == "optimal" and s["solver"] == "CLARABEL"
    assert s["frank_wolfe_gap"] < 1e-6


def test_realized_mixture_matches_prediction(weights):
    r = weights["realized_check"]
    assert abs(r["realized_heldout_js"] - r["predicted_heldout_js"]) < 0.01


def test_best_combinations_table(weights):
    sizes = [row["size"] for row in weights["by_size"]]
    assert sizes == [1, 2, 3]
    assert set(weights["by_size"][2]["support"]) == PLANTED
    fits = [row["fit_js"] for row in weights["by_size"]]
    assert fits == sorted(fits, reverse=True)


def test_per_task_weights_and_task_conditional_sampler(demo_run, weights):
    assert set(weights["per_task"]) == {"coding", "writing"}
    sampler = SimulatorSampler.from_file(demo_run / "weights.json", seed=3)
    draws = sampler.draws(1000, task="coding")
    target = weights["per_task"]["coding"]
    for s, w in target.items():
        assert abs(draws.count(s) / 1000 - w) <= len(target) / 1000


def test_sampler_tracks_weights_over_1000_draws(demo_run, weights):
    sampler = SimulatorSampler.from_file(demo_run / "weights.json", seed=0)
    draws = sampler.draws(1000)
    for s, w in weights["weights"].items():
        assert abs(draws.count(s) / 1000 - w) <= len(weights["weights"]) / 1000


def test_same_seed_gives_identical_outputs(demo_data, demo_run, shared_cache, tmp_path):
    out = tmp_path / "again"
    assert main(["run", "--data", str(demo_data), "--out", str(out), "--cache", str(shared_cache),
                 "--quiet"]) == 0
    for name in ("measure.json", "weights.json", "measure.csv", "distributions.npz"):
        assert (out / name).read_bytes() == (demo_run / name).read_bytes(), name


def test_measure_command_writes_table_and_distributions(demo_data, shared_cache, tmp_path):
    out = tmp_path / "m"
    assert main(["measure", "--data", str(demo_data), "--out", str(out), "--cache", str(shared_cache),
                 "--quiet", "--bootstrap", "50"]) == 0
    m = read_json(out / "measure.json")
    assert m["n_heldout_real"] == 0 and m["n"]["real"] == 600
    rows = (out / "measure.csv").read_text().splitlines()
    assert rows[0].startswith("rank,simulator,n,js")
    assert [r.split(",")[1] for r in rows[1:]] == m["ranking"]
    import csv
    table = list(csv.DictReader(rows))
    for row in table:   # the classifier lens sits beside JS, as in measure.json
        d = m["gap"][row["simulator"]]["discriminator"]
        assert float(row["auc"]) == pytest.approx(d["auc"], abs=1e-4)
        assert [float(row["auc_ci_lo"]), float(row["auc_ci_hi"])] == pytest.approx(d["auc_ci"], abs=1e-4)
        assert float(row["floor_auc"]) == pytest.approx(m["noise_floor"]["discriminator_auc"], abs=1e-4)
        assert row["status"] == "ok"
    z = np.load(out / "distributions.npz")
    for f in m["facets"]:
        p = z[f"{f}/real"]
        assert p.shape == (m["k"][f],) and p.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("flags, check", [
    (["--max-simulators", "2"], lambda w: sum(v > 1e-9 for v in w["weights"].values()) <= 2),
    (["--max-weight", "0.4"], lambda w: max(w["weights"].values()) <= 0.4 + 1e-7),
    (["--min-weight", "0.05"], lambda w: min(w["weights"].values()) >= 0.05 - 1e-7),
    (["--exclude", "sim_polite_frontloader"], lambda w: w["weights"]["sim_polite_frontloader"] == 0),
    (["--include", "sim_terse"], lambda w: w["weights"]["sim_terse"] >= 1e-3 - 1e-9),
])
def test_constraints_hold_in_weights_json(demo_data, shared_cache, tmp_path, flags, check):
    out = tmp_path / "c"
    assert main(["run", "--data", str(demo_data), "--out", str(out), "--cache", str(shared_cache),
                 *FAST, *flags]) == 0
    w = read_json(out / "weights.json")
    assert check(w), w["weights"]
    assert abs(sum(w["weights"].values()) - 1) < 1e-6


def test_budget_from_metadata_costs(demo_data, shared_cache, tmp_path):
    meta = Path(__file__).resolve().parents[1] / "configs" / "simulators.example.toml"
    out = tmp_path / "b"
    assert main(["run", "--data", str(demo_data), "--out", str(out), "--cache", str(shared_cache),
                 *FAST, "--metadata", str(meta), "--budget", "0.0025"]) == 0
    w = read_json(out / "weights.json")
    assert w["expected_cost_per_conversation"] <= 0.0025 + 1e-7
    # the unconstrained optimum costs more (polite 0.004 carries half the weight)
    m = read_json(out / "measure.json")
    assert set(m["by_family"]["family"]) == {"persona-a", "persona-b", "persona-c"}


def test_weight_bootstrap_fast_solves_match_the_conic_ones(demo_data, shared_cache):
    """The plain problem's weight CIs come from warm-started SLSQP solves; the
    same replicates solved by the certified conic solver give the same CIs."""
    import measure
    from ensemble.mixture.evaluate import bootstrap_weights
    from ensemble.mixture.fit import FitConfig, fit
    from ensemble.mixture.optimizer import solve_mixture
    from measure.pipeline import MeasureConfig
    m = measure.measure_gap(measure.load_conversations([demo_data]),
                            MeasureConfig(heldout_fraction=0.3, n_bootstrap=20, discriminator=False),
                            cache_dir=shared_cache)
    out = fit(m, FitConfig(weight_bootstrap=12, per_task=False), seed=5)
    prob = out.problem
    conic = bootstrap_weights(m, prob, lambda P, q: solve_mixture(
        P, q, prob.names, facet_weights=prob.facet_weights).weight_vector(prob.names), 12, 5 + 7)
    assert set(conic) == set(out.weight_ci)
    for s in prob.names:
        assert np.allclose(out.weight_ci[s], conic[s], atol=2e-3), (s, out.weight_ci[s], conic[s])
    assert max(hi for _, hi in out.weight_ci.values()) > 0.2   # not a degenerate all-zero case
