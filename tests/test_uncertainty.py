import math

import numpy as np
import pytest

from measure.distributions import histogram
from measure.divergence import all_divergences, js, js_rows
from measure.uncertainty import bootstrap_gap, bootstrap_gaps, noise_floor

FACETS = ("requests", "style", "dialogue_acts")


def _population(k, conc, seed):
    return np.random.default_rng(seed).dirichlet(np.full(k, conc))


def _source(pops: dict, n: int, seed: int) -> dict:
    """n conversations; each facet's labels drawn from that facet's distribution."""
    rng = np.random.default_rng(seed + 1000)  # never the streams the code under test uses
    return {f: rng.choice(len(p), size=n, p=p) for f, p in pops.items()}


def _setup(n_real=1000, n_sim=800, k=40, seed=0):
    real_pops = {f: _population(k, 1.0, 10 + i) for i, f in enumerate(FACETS)}
    # The simulator is a blend of real users and something else: a moderate gap.
    sim_pops = {f: 0.6 * p + 0.4 * _population(k, 1.0, 20 + i) for i, (f, p) in enumerate(real_pops.items())}
    real = _source(real_pops, n_real, seed)
    sim = _source(sim_pops, n_sim, seed + 1)
    ks = {f: k for f in FACETS}
    weights = {"requests": 2.0, "style": 1.0, "dialogue_acts": 1.0}
    return real, sim, ks, weights, real_pops, sim_pops


# ------------------------------------------------------------- bootstrap

def test_point_estimates_are_full_sample_values_and_overall_is_weighted_mean():
    real, sim, ks, w, *_ = _setup()
    res = bootstrap_gap(real, sim, ks, w, n_boot=50, seed=0)
    for f in FACETS:
        assert res.point[f] == pytest.approx(js(histogram(real[f], 40), histogram(sim[f], 40)), abs=1e-15)
    expected = (2 * res.point["requests"] + res.point["style"] + res.point["dialogue_acts"]) / 4
    assert res.point_overall == pytest.approx(expected, abs=1e-15)
    manual = (2 * res.samples["requests"] + res.samples["style"] + res.samples["dialogue_acts"]) / 4
    np.testing.assert_allclose(res.overall, manual, atol=1e-15)
    assert res.overall.shape == (50,) and res.n_boot == 50
    assert (res.n_real, res.n_sim, res.facets) == (1000, 800, FACETS)


def test_replicates_are_plug_in_values_on_resampled_conversations():
    # Rebuild replicate 0 by hand from the documented random streams.
    real, sim, ks, w, *_ = _setup(n_real=300, n_sim=200)
    res = bootstrap_gap(real, sim, ks, w, n_boot=5, seed=42)
    idx_r = np.random.default_rng([42, 0]).integers(0, 300, size=(5, 300), dtype=np.int32)
    idx_s = np.random.default_rng([42, 1]).integers(0, 200, size=(5, 200), dtype=np.int32)
    for b in range(5):
        for f in FACETS:
            expected = js(histogram(real[f][idx_r[b]], 40), histogram(sim[f][idx_s[b]], 40))
            assert res.samples[f][b] == pytest.approx(expected, abs=1e-14)


def test_same_resampled_conversations_for_every_facet():
    real, sim, ks, w, *_ = _setup()
    # Facet "copy" carries the same labels as "requests" up to a relabelling of
    # clusters: if resampling is per conversation, the replicates coincide.
    perm = np.random.default_rng(0).permutation(40)
    real2 = {"requests": real["requests"], "copy": perm[real["requests"]]}
    sim2 = {"requests": sim["requests"], "copy": perm[sim["requests"]]}
    res = bootstrap_gap(real2, sim2, {"requests": 40, "copy": 40}, None, n_boot=100, seed=3)
    np.testing.assert_allclose(res.samples["copy"], res.samples["requests"], atol=1e-15)


def test_deterministic_given_seed():
    real, sim, ks, w, *_ = _setup()
    a = bootstrap_gap(real, sim, ks, w, n_boot=100, seed=5)
    b = bootstrap_gap(real, sim, ks, w, n_boot=100, seed=5)
    c = bootstrap_gap(real, sim, ks, w, n_boot=100, seed=6)
    np.testing.assert_array_equal(a.overall, b.overall)
    assert a.ci() == b.ci()
    assert not np.array_equal(a.overall, c.overall)
    assert a.point_overall == c.point_overall  # the point estimate does not depend on the seed


def test_bootstrap_gaps_equals_bootstrap_gap_per_simulator():
    real, sim, ks, w, *_ = _setup()
    other = _source({f: _population(40, 0.3, 30 + i) for i, f in enumerate(FACETS)}, 500, 9)
    many = bootstrap_gaps(real, {"b": other, "a": sim}, ks, w, n_boot=60, seed=1)
    assert list(many) == ["b", "a"]
    for name, labels in (("a", sim), ("b", other)):
        one = bootstrap_gap(real, labels, ks, w, n_boot=60, seed=1)
        np.testing.assert_array_equal(many[name].overall, one.overall)
        assert many[name].point == one.point


def test_every_method_covers_point_estimate_when_bias_is_negligible():
    real, sim, ks, w, *_ = _setup(n_real=20000, n_sim=20000)
    res = bootstrap_gap(real, sim, ks, w, n_boot=300, seed=0)
    for method in ("shifted", "percentile", "bc", "basic"):
        for facet in (None,) + FACETS:
            lo, hi = res.ci(0.95, facet=facet, method=method)
            point = res.point_overall if facet is None else res.point[facet]
            assert lo <= point <= hi, (method, facet)


@pytest.mark.parametrize("n", [300, 2000])
def test_default_ci_covers_point_estimate_across_sizes_and_seeds(n):
    # At these sizes the plug-in bias (~(k-1)/(8 n ln 2) bits per side) is
    # already comparable to the standard error, the regime the default is for.
    for seed in range(5):
        real, sim, ks, w, *_ = _setup(n_real=n, n_sim=n, seed=seed)
        res = bootstrap_gap(real, sim, ks, w, n_boot=200, seed=seed)
        for facet in (None,) + FACETS:
            lo, hi = res.ci(0.95, facet=facet)
            point = res.point_overall if facet is None else res.point[facet]
            assert lo <= point <= hi, (seed, facet)
            assert lo < hi


def test_basic_interval_targets_the_population_value():
    # The "basic" interval corrects for the plug-in bias, so it aims at the
    # population JS rather than at the (biased) full-sample value.
    real, sim, ks, w, real_pops, sim_pops = _setup(n_real=500, n_sim=500)
    truth = sum(wf * js(real_pops[f], sim_pops[f]) for f, wf in w.items()) / sum(w.values())
    res = bootstrap_gap(real, sim, ks, w, n_boot=400, seed=0)
    lo, hi = res.ci(method="basic")
    assert lo <= truth <= hi
    assert res.point_overall > truth  # the upward plug-in bias the docstring describes


def test_shifted_ci_covers_point_where_percentile_misses():
    # Same population, k large relative to n: the bootstrap's second dose of
    # plug-in bias pushes every replicate above the full-sample value.
    pops = {f: np.full(200, 1 / 200) for f in FACETS}
    real, sim = _source(pops, 400, 0), _source(pops, 400, 1)
    res = bootstrap_gap(real, sim, {f: 200 for f in FACETS}, None, n_boot=300, seed=0)
    lo, hi = res.ci(0.95, method="percentile")
    assert lo > res.point_overall  # documented failure of the plain percentile interval
    lo, hi = res.ci(0.95, method="bc")
    assert lo > res.point_overall  # ...which Efron's BC does not fix when |z0| > 1.96
    lo, hi = res.ci(0.95)
    assert lo <= res.point_overall <= hi
    assert res.bias() > 0


def test_ci_arithmetic():
    real, sim, ks, w, *_ = _setup()
    res = bootstrap_gap(real, sim, ks, w, n_boot=200, seed=0)
    q_lo, q_hi = np.quantile(res.overall, [0.05, 0.95])
    b = res.overall.mean() - res.point_overall
    assert res.ci(0.90, method="percentile") == pytest.approx((q_lo, q_hi))
    assert res.ci(0.90) == pytest.approx((q_lo - b, q_hi - b))
    assert res.ci(0.90, method="basic") == pytest.approx((2 * res.point_overall - q_hi,
                                                           2 * res.point_overall - q_lo))
    assert res.bias() == pytest.approx(b)
    assert res.se() == pytest.approx(res.overall.std(ddof=1))
    # A wider level gives a wider interval.
    lo90, hi90 = res.ci(0.90)
    lo99, hi99 = res.ci(0.99)
    assert lo99 <= lo90 and hi99 >= hi90


def test_ci_narrows_as_n_grows():
    widths = []
    for n in (300, 3000):
        real, sim, ks, w, *_ = _setup(n_real=n, n_sim=n)
        lo, hi = bootstrap_gap(real, sim, ks, w, n_boot=300, seed=0).ci()
        widths.append(hi - lo)
    # Standard error ~ 1/sqrt(n): 10x the data, ~3.2x narrower.
    assert widths[1] < widths[0] / 2.2


def test_bootstrap_se_matches_true_sampling_spread_and_band_covers_the_mean():
    # Ground truth by simulation: redraw both samples from the populations.
    k, n = 30, 600
    p = _population(k, 1.0, 1)
    q = 0.7 * p + 0.3 * _population(k, 1.0, 2)
    rng = np.random.default_rng(0)
    truth = js_rows(rng.multinomial(n, p, size=4000), rng.multinomial(n, q, size=4000))
    true_mean, true_sd = truth.mean(), truth.std()
    hits, ses = 0, []
    for rep in range(40):
        real = {"f": rng.choice(k, size=n, p=p)}
        sim = {"f": rng.choice(k, size=n, p=q)}
        res = bootstrap_gap(real, sim, {"f": k}, None, n_boot=200, seed=rep)
        ses.append(res.se())
        lo, hi = res.ci()
        hits += lo <= true_mean <= hi
    assert np.mean(ses) == pytest.approx(true_sd, rel=0.2)
    assert hits >= 32  # nominal 95% of 40 is 38; allow for noise


def test_other_metrics():
    real, sim, ks, w, *_ = _setup()
    for metric in ("js_nats", "kl_forward", "kl_backward", "tv", "hellinger"):
        res = bootstrap_gap(real, sim, ks, w, n_boot=20, seed=0, metric=metric)
        expected = all_divergences(histogram(real["style"], 40), histogram(sim["style"], 40))[metric]
        assert res.point["style"] == pytest.approx(expected, abs=1e-14)
        assert res.metric == metric and np.all(res.overall >= 0)


def test_bootstrap_input_errors():
    real, sim, ks, w, *_ = _setup()
    with pytest.raises(ValueError, match="missing facets"):
        bootstrap_gap(real, {"requests": sim["requests"]}, ks, w)
    with pytest.raises(ValueError, match="facet_weights is missing"):
        bootstrap_gap(real, sim, ks, {"requests": 1.0})
    with pytest.raises(ValueError, match="k is missing"):
        bootstrap_gap(real, sim, {"requests": 40}, w)
    with pytest.raises(ValueError, match="same real conversations"):
        bootstrap_gap({**real, "style": real["style"][:10]}, sim, ks, w)
    with pytest.raises(ValueError, match=r"\[0, 40\)"):
        bootstrap_gap(real, {**sim, "style": sim["style"] + 40}, ks, w)
    with pytest.raises(ValueError, match="not all zero"):
        bootstrap_gap(real, sim, ks, {f: 0.0 for f in FACETS})
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_gap(real, sim, ks, w, metric="chi2")
    res = bootstrap_gap(real, sim, ks, w, n_boot=10)
    with pytest.raises(ValueError, match="level"):
        res.ci(1.5)
    with pytest.raises(ValueError, match="unknown CI method"):
        res.ci(method="bca")
    with pytest.raises(ValueError, match="unknown facet"):
        res.ci(facet="tone")


# ------------------------------------------------------------ noise floor

def test_floor_of_identical_population_matches_closed_form_and_simulation():
    # Two samples of n over k well-filled bins from one population:
    # E[JS] ~ (k - 1) / (4 n ln 2) bits (second-order expansion).
    k, n_half = 20, 2000
    p = np.full(k, 1 / k)
    real = _source({"f": p}, 2 * n_half, 0)
    floor = noise_floor(real, {"f": k}, None, n_rep=200, seed=0)
    closed_form = (k - 1) / (4 * n_half * math.log(2))
    rng = np.random.default_rng(1)
    simulated = js_rows(rng.multinomial(n_half, p, size=4000), rng.multinomial(n_half, p, size=4000)).mean()
    assert floor.n_half == n_half
    assert floor.mean["f"] == pytest.approx(closed_form, rel=0.1)
    assert floor.mean["f"] == pytest.approx(simulated, rel=0.1)
    assert floor.mean_overall == floor.mean["f"]
    assert floor.p95["f"] > floor.mean["f"]


def test_floor_decreases_with_n_like_one_over_n():
    real, _, ks, w, *_ = _setup(n_real=4000)
    small = noise_floor(real, ks, w, n_half=250, n_rep=100, seed=0)
    large = noise_floor(real, ks, w, n_half=2000, n_rep=100, seed=0)
    assert large.mean_overall < small.mean_overall / 4  # ~1/8 expected for 8x the data
    assert large.p95_overall < small.p95_overall
    for f in FACETS:
        assert large.mean[f] < small.mean[f]


def test_floor_sits_below_a_real_gap():
    real, sim, ks, w, *_ = _setup(n_real=2000, n_sim=1000)
    floor = noise_floor(real, ks, w, n_half=1000, n_rep=50, seed=0)
    gap = bootstrap_gap(real, sim, ks, w, n_boot=100, seed=0)
    assert gap.ci()[0] > floor.p95_overall


def test_floor_halves_are_disjoint_random_splits_and_deterministic():
    real, _, ks, w, *_ = _setup(n_real=101)
    a = noise_floor(real, ks, w, n_rep=30, seed=4)
    b = noise_floor(real, ks, w, n_rep=30, seed=4)
    c = noise_floor(real, ks, w, n_rep=30, seed=5)
    assert a.n_half == 50 and a.overall.shape == (30,)
    np.testing.assert_array_equal(a.overall, b.overall)
    assert not np.array_equal(a.overall, c.overall)
    # Rebuild repetition 0 from the documented permutation.
    rng = np.random.default_rng([4, 2])
    perm = np.argsort(rng.random((30, 101)), axis=1)
    f = "style"
    expected = js(histogram(real[f][perm[0, :50]], 40), histogram(real[f][perm[0, 50:100]], 40))
    assert a.samples[f][0] == pytest.approx(expected, abs=1e-14)
    assert a.p95[f] == pytest.approx(np.percentile(a.samples[f], 95))


def test_floor_input_errors():
    real, _, ks, w, *_ = _setup(n_real=100)
    with pytest.raises(ValueError, match="more than half"):
        noise_floor(real, ks, w, n_half=51)
    with pytest.raises(ValueError, match="n_half"):
        noise_floor(real, ks, w, n_half=0)
    with pytest.raises(ValueError, match="at least 2"):
        noise_floor({"f": np.array([0])}, {"f": 2})


def test_results_do_not_depend_on_the_memory_block_size(monkeypatch):
    import measure.uncertainty as unc
    real, sim, ks, w, *_ = _setup(n_real=500, n_sim=300)
    whole = bootstrap_gap(real, sim, ks, w, n_boot=50, seed=2)
    monkeypatch.setattr(unc, "_BLOCK", 7 * 500)  # 7 real / 11 simulator replicates per block
    blocked = bootstrap_gap(real, sim, ks, w, n_boot=50, seed=2)
    np.testing.assert_array_equal(blocked.overall, whole.overall)
