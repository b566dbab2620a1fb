"""`ensemble-fit plan`: curves, allocation, plan.json, and the command."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ensemble.plan import PLAN_SCHEMA, PlanConfig, allocate, estimate, markdown, plan_pilot
from ensemble.plan.curves import fit_curve
from ensemble.plan.pilot import Pilot
from ensemble.mixture.fast import objective, solve_weights, stack
from measure.errors import ConfigError
from measure.pipeline import REAL

FACETS = ["a", "b", "c"]
K = 10


def _component(rng, support):
    p = np.zeros(K)
    p[support] = rng.dirichlet(np.ones(len(support)))
    return p


def synthetic_pilot(n_sim=150, n_real=400, seed=0) -> Pilot:
    """Real users are 60 % behaviour A + 40 % B. Simulators: A, B, a blend C
    that lives on bins 0-7, and D on bins 8-9 only, which real users never use
    (dominated). Each conversation draws one behaviour and a label per facet."""
    rng = np.random.default_rng(seed)
    comp = {"A": {f: _component(rng, list(range(0, 6))) for f in FACETS},
            "B": {f: _component(rng, list(range(3, 8))) for f in FACETS},
            "C": {f: _component(rng, list(range(0, 8))) for f in FACETS},
            "D": {f: _component(rng, [8, 9]) for f in FACETS}}
    behaviours = {REAL: rng.choice(["A", "B"], size=n_real, p=[0.6, 0.4]).tolist()}
    for s in ("A", "B", "C", "D"):
        behaviours[f"sim_{s}"] = [s] * n_sim
    labels = {f: [] for f in FACETS}
    rows, start = {}, 0
    for src, bs in behaviours.items():
        for b in bs:
            for f in FACETS:
                labels[f].append(rng.choice(K, p=comp[b][f]))
        rows[src] = np.arange(start, start + len(bs))
        start += len(bs)
    return Pilot(facets=FACETS, k={f: K for f in FACETS}, facet_weights={f: 1 / 3 for f in FACETS},
                 labels={f: np.array(v) for f, v in labels.items()}, rows=rows,
                 simulators=["sim_A", "sim_B", "sim_C", "sim_D"])


@pytest.fixture(scope="module")
def pilot():
    return synthetic_pilot()


@pytest.fixture(scope="module")
def curves(pilot):
    return estimate(pilot, seed=0, n_boot=10, n_boot_joint=30)


@pytest.fixture(scope="module")
def plan600(pilot):
    return plan_pilot(pilot, PlanConfig(budget=600, seed=0, n_boot=10, n_boot_joint=30))


def test_fast_solver_matches_the_conic_solver(pilot):
    from ensemble.mixture.optimizer import solve_mixture
    P, q = pilot.histograms()
    w = solve_weights(stack(P, q, pilot.facet_weights))
    ref = solve_mixture(P, q, pilot.simulators, facet_weights=pilot.facet_weights)
    w_ref = np.array([ref.weights[s] for s in pilot.simulators])
    assert np.abs(w - w_ref).max() < 1e-3
    st = stack(P, q, pilot.facet_weights)
    assert objective(w, st) <= ref.objective + 1e-7


def test_fit_curve_recovers_variance_and_bias_terms():
    sizes = [50, 100, 200]
    c = fit_curve(sizes, [0.02 * (100 / m) + 0.01 * (100 / m) ** 2 for m in sizes], n0=100)
    assert c.a == pytest.approx(0.02, rel=1e-6) and c.b == pytest.approx(0.01, rel=1e-6)
    assert c.at(400) == pytest.approx(0.02 / 4 + 0.01 / 16, rel=1e-6)
    assert c.n_for(c.at(400)) == pytest.approx(400, rel=1e-6)
    # pure variance: no bias term; all-zero values give a zero curve
    v = fit_curve(sizes, [0.03 * (100 / m) for m in sizes], n0=100)
    assert v.b == pytest.approx(0.0, abs=1e-9) and v.a == pytest.approx(0.03, rel=1e-6)
    assert fit_curve(sizes, [0, 0, 0], n0=100).at(10) == 0.0


def test_curves_shrink_with_n_and_weights_are_the_planted_ones(curves):
    w = curves.weights
    assert w["sim_A"] == pytest.approx(0.6, abs=0.12) and w["sim_B"] == pytest.approx(0.4, abs=0.12)
    assert w["sim_D"] == 0.0
    n = dict(curves.n0)
    more = {**n, "sim_A": 4 * n["sim_A"]}
    assert curves.weight_mse_at("sim_A", more) < curves.weight_mse_at("sim_A", n)
    assert curves.gap_sd("sim_A", 4 * n["sim_A"], n[REAL]) < curves.gap_sd("sim_A", n["sim_A"], n[REAL])


def test_plan_json_schema_and_fields(plan600):
    d = json.loads(json.dumps(plan600.to_json()))      # plain JSON types only
    assert d["schema"] == PLAN_SCHEMA == "ensemble-fit/plan/v1"
    assert set(d["simulators"]) == {"sim_A", "sim_B", "sim_C", "sim_D"}
    for row in d["simulators"].values():
        for key in ("n_now", "recommended_additional", "weight_ci_now", "expected_weight_ci", "reason"):
            assert key in row
        assert row["n_now"] == 150 and len(row["weight_ci_now"]) == 2 and row["reason"]
        lo, hi = row["weight_ci_now"]
        elo, ehi = row["expected_weight_ci"]
        assert 0 <= lo <= row["weight_now"] <= hi <= 1
        assert ehi - elo <= hi - lo + 1e-12      # more data never widens the expected CI
    for key in ("n_now", "recommended_additional", "reason"):
        assert key in d["real"]
    assert d["real"]["n_now"] == 400
    assert d["budget"]["total"] == 600 and d["budget"]["unit"] == "conversations"
    assert "bootstrap at several sizes" in d["method"]
    assert d["config"]["budget"] == 600 and d["config"]["seed"] == 0
    assert "weight_mse" in d["curves"]
    assert "## Generation plan" in markdown(plan600)


def test_dominated_simulators_get_nothing(plan600, curves):
    d = plan600.simulators["sim_D"]
    assert d.dominated and d.recommended_additional == 0
    assert d.weight_ci_now == [0.0, 0.0] and d.reason.startswith("dominated")
    assert plan600.budget["to_dominated"] == 0
    for s, sp in plan600.simulators.items():
        assert sp.dominated == (sp.weight_ci_now[1] <= 0.02)
        if sp.dominated:
            assert sp.recommended_additional == 0
    # negligible=0: only a CI of exactly [0, 0] rules a simulator out
    assert allocate(curves, 600, negligible=0.0).dominated == ["sim_D"]
    # The budget goes where the weight is: A and B get most of it.
    rec = plan600.recommended
    assert rec["sim_A"] + rec["sim_B"] >= 0.8 * sum(rec.values())


def test_allocation_spends_exactly_the_count_budget(curves):
    for budget in (0, 1, 37, 600, 5000):
        a = allocate(curves, budget)
        assert sum(a.additional.values()) == budget
        assert a.error_after <= a.error_now


def test_allocation_respects_costs_and_caps(curves):
    costs = {"sim_A": 1.0, "sim_B": 4.0, "sim_C": 0.5, "sim_D": 1.0}
    a = allocate(curves, 500.0, costs=costs)
    spent = sum(a.additional[s] * costs[s] for s in costs)
    assert spent <= 500.0 + 1e-9 and spent >= 500.0 - max(costs.values())
    by_count = allocate(curves, 500.0)
    # B costs 4x as much: it gets a smaller share than when every conversation costs the same.
    share = lambda al: al.additional["sim_B"] / max(1, sum(al.additional.values()))  # noqa: E731
    assert share(a) < share(by_count)
    capped = allocate(curves, 600, caps={"sim_A": 50})
    assert capped.additional["sim_A"] == 50
    with pytest.raises(ConfigError, match="positive cost"):
        allocate(curves, 10.0, costs={**costs, "sim_C": 0.0})
    with pytest.raises(ConfigError, match="sim_D"):
        allocate(curves, 10.0, costs={"sim_A": 1.0, "sim_B": 1.0, "sim_C": 1.0})


def test_plan_is_deterministic_per_seed(pilot):
    fast = dict(budget=300, n_boot=6, n_boot_joint=20)
    a = plan_pilot(pilot, PlanConfig(seed=3, **fast)).to_json()
    b = plan_pilot(pilot, PlanConfig(seed=3, **fast)).to_json()
    c = plan_pilot(pilot, PlanConfig(seed=4, **fast)).to_json()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a["curves"], sort_keys=True) != json.dumps(c["curves"], sort_keys=True)


def test_few_real_users_are_the_bottleneck():
    p = plan_pilot(synthetic_pilot(n_sim=300, n_real=60, seed=1), PlanConfig(budget=600, seed=0, n_boot=8, n_boot_joint=20))
    assert p.real.recommended_additional > 0 and p.real.error_share > 0.5
    assert "real user" in p.real.reason


def test_rounds_split_the_budget(pilot):
    p = plan_pilot(pilot, PlanConfig(budget=900, rounds=3, seed=0, n_boot=6, n_boot_joint=20))
    assert sum(p.recommended.values()) == 300
    assert p.rounds["remaining_after_this_round"] == 600 and p.rounds["rounds"] == 3


@pytest.mark.parametrize("bad", [dict(budget=-1), dict(target_ci=0), dict(rounds=0), dict(objective="x")])
def test_bad_plan_settings_are_config_errors(pilot, bad):
    with pytest.raises(ConfigError):
        plan_pilot(pilot, PlanConfig(**bad))


def test_plan_command_on_a_small_demo(tmp_path, capsys):
    from ensemble.cli import main
    from ensemble.demo.generator import write_demo

    from .reliability_support import build_tiny_model
    model = build_tiny_model(tmp_path / "tiny-bert")
    data = write_demo(tmp_path / "demo", n_per_simulator=60, n_real=150)
    out = tmp_path / "plan"
    args = ["plan", "--data", str(data), "--out", str(out), "--cache", str(tmp_path / "cache"),
            "--embedding-model", str(model), "--k", "8", "--bootstrap", "10", "--codebook-seeds", "1",
            "--plan-bootstrap", "6", "--budget", "420", "--quiet"]
    assert main(args) == 0
    d = json.loads((out / "plan.json").read_text())
    assert d["schema"] == "ensemble-fit/plan/v1"
    assert sum(r["recommended_additional"] for r in d["simulators"].values()) == 420
    assert all(d["simulators"][s]["recommended_additional"] == 0
               for s, r in d["simulators"].items() if r["dominated"])
    assert (out / "plan.md").read_text().startswith("## Generation plan")
    # A cost budget without costs is a one-line error before any work.
    capsys.readouterr()
    assert main(args[:-3] + ["--cost-budget", "5", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cost-budget needs --metadata" in err[0]
