import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from measure.divergence import (
    all_divergences,
    hellinger,
    hellinger_rows,
    js,
    js_rows,
    kl,
    kl_rows,
    metric_rows,
    total_variation,
    tv_rows,
)


def _dirichlet_pairs(n_pairs=50, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_pairs):
        k = int(rng.integers(2, 300))
        conc = float(rng.choice([0.05, 0.5, 5.0]))  # sparse to flat
        yield rng.dirichlet(np.full(k, conc)), rng.dirichlet(np.full(k, conc))


def _smooth(x, alpha):
    x = np.asarray(x, float) / np.sum(x)
    return (x + alpha) / (1 + len(x) * alpha)


# ------------------------------------------------------------ ground truth

def test_js_matches_scipy_on_random_dirichlet():
    for p, q in _dirichlet_pairs():
        assert js(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-12)
        assert js(p, q, base=math.e) == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-12)


def test_js_matches_scipy_on_sparse_histograms_with_empty_bins():
    p = np.array([5, 0, 3, 0, 2, 0], float)
    q = np.array([0, 4, 3, 1, 0, 0], float)
    assert js(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-12)


def test_kl_matches_rel_entr_on_smoothed_vectors():
    for p, q in _dirichlet_pairs(seed=1):
        a = 1.0 / len(p)
        expected = rel_entr(_smooth(p, a), _smooth(q, a)).sum()
        assert kl(p, q) == pytest.approx(expected, rel=1e-10, abs=1e-14)
        assert kl(p, q, alpha=0.01) == pytest.approx(
            rel_entr(_smooth(p, 0.01), _smooth(q, 0.01)).sum(), rel=1e-10, abs=1e-14)


def test_kl_default_alpha_is_one_over_k_and_finite_with_empty_bins():
    p = np.array([1.0, 0.0, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.0, 1.0])
    # alpha = 1/4: smoothed p = (1.25, .25, .25, .25) / 2
    ps = np.array([1.25, 0.25, 0.25, 0.25]) / 2
    qs = ps[::-1]
    assert kl(p, q) == pytest.approx(float(np.sum(ps * np.log(ps / qs))), abs=1e-14)
    assert math.isfinite(kl(p, q))


def test_tv_and_hellinger_closed_form():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert total_variation(p, q) == pytest.approx(0.5)
    assert hellinger(p, q) == pytest.approx(math.sqrt(1 - 2 * math.sqrt(0.125)))


def test_counts_and_probabilities_give_the_same_values():
    counts_p, counts_q = np.array([3, 1, 0, 6]), np.array([1, 1, 1, 1])
    d_counts = all_divergences(counts_p, counts_q)
    d_probs = all_divergences(counts_p / 10, counts_q / 4)
    assert d_counts == pytest.approx(d_probs, abs=1e-15)


# ---------------------------------------------------------------- extremes

def test_identical_distributions_give_zero_for_every_metric():
    p = np.random.default_rng(3).dirichlet(np.ones(40))
    for name, value in all_divergences(p, p.copy()).items():
        assert value == pytest.approx(0.0, abs=1e-12), name
        assert value >= 0.0


def test_disjoint_supports_reach_the_maxima():
    p = np.array([0.2, 0.8, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.6, 0.4])
    d = all_divergences(p, q)
    assert d["js"] == pytest.approx(1.0, abs=1e-15)
    assert d["js_nats"] == pytest.approx(math.log(2), abs=1e-15)
    assert d["tv"] == pytest.approx(1.0, abs=1e-15)
    assert d["hellinger"] == pytest.approx(1.0, abs=1e-15)
    assert 0 < d["kl_forward"] < math.inf and 0 < d["kl_backward"] < math.inf


def test_ranges_on_random_cases():
    for p, q in _dirichlet_pairs(seed=2):
        d = all_divergences(p, q)
        assert 0 <= d["js"] <= 1
        assert 0 <= d["js_nats"] <= math.log(2)
        assert 0 <= d["tv"] <= 1 and 0 <= d["hellinger"] <= 1
        assert d["kl_forward"] >= 0 and d["kl_backward"] >= 0
        assert all(isinstance(v, float) for v in d.values())


def test_symmetry_of_js_tv_hellinger_and_asymmetry_of_kl():
    p = np.array([0.7, 0.2, 0.1, 0.0])
    q = np.array([0.1, 0.1, 0.1, 0.7])
    assert js(p, q) == js(q, p)
    assert total_variation(p, q) == total_variation(q, p)
    assert hellinger(p, q) == hellinger(q, p)
    d = all_divergences(p, q)
    assert d["kl_forward"] == pytest.approx(kl(p, q))
    assert d["kl_backward"] == pytest.approx(kl(q, p))
    assert d["kl_forward"] != pytest.approx(d["kl_backward"])


def test_all_divergences_keys_and_units():
    p, q = next(_dirichlet_pairs(1, seed=4))
    d = all_divergences(p, q)
    assert set(d) == {"js", "js_nats", "kl_forward", "kl_backward", "tv", "hellinger"}
    assert d["js"] == pytest.approx(d["js_nats"] / math.log(2), rel=1e-14)


# -------------------------------------------------------------- row forms

def test_js_rows_equals_looped_js():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.full(30, 0.3), size=200)
    q = rng.dirichlet(np.ones(30))
    np.testing.assert_allclose(js_rows(P, q), [js(p, q) for p in P], rtol=0, atol=1e-15)
    Q = rng.dirichlet(np.ones(30), size=200)
    np.testing.assert_allclose(js_rows(P, Q, base=math.e), [js(p, r, base=math.e) for p, r in zip(P, Q)],
                               rtol=0, atol=1e-15)


def test_other_row_forms_equal_scalar_forms():
    rng = np.random.default_rng(6)
    P = rng.dirichlet(np.full(12, 0.5), size=20)
    Q = rng.dirichlet(np.full(12, 0.5), size=20)
    np.testing.assert_allclose(kl_rows(P, Q), [kl(p, q) for p, q in zip(P, Q)], atol=1e-15)
    np.testing.assert_allclose(tv_rows(P, Q), [total_variation(p, q) for p, q in zip(P, Q)], atol=1e-15)
    np.testing.assert_allclose(hellinger_rows(P, Q), [hellinger(p, q) for p, q in zip(P, Q)], atol=1e-15)
    for name in ("js", "js_nats", "kl_forward", "kl_backward", "tv", "hellinger"):
        np.testing.assert_allclose(metric_rows(name, P, Q),
                                   [all_divergences(p, q)[name] for p, q in zip(P, Q)], atol=1e-15)


def test_js_rows_unnormalized_count_rows():
    P = np.array([[2, 2, 0], [0, 0, 9]], float)
    q = np.array([1, 1, 0], float)
    np.testing.assert_allclose(js_rows(P, q), [0.0, 1.0], atol=1e-15)


# -------------------------------------------------------------- checking

@pytest.mark.parametrize("p, q, message", [
    ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], "negative"),
    ([0.5, np.nan, 0.5], [0.3, 0.3, 0.4], "NaN"),
    ([0.5, np.inf, 0.5], [0.3, 0.3, 0.4], "NaN or infinite"),
    ([0.5, 0.5], [0.3, 0.3, 0.4], "same number of bins"),
    ([0, 0, 0], [0.3, 0.3, 0.4], "sums to zero"),
    ([], [], "no bins"),
    ([[0.5, 0.5]], [0.5, 0.5], "1 dimension"),
])
def test_bad_inputs_raise_clear_value_errors(p, q, message):
    with pytest.raises(ValueError, match=message):
        js(p, q)
    with pytest.raises(ValueError):
        all_divergences(p, q)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="alpha"):
        kl([1, 0], [0, 1], alpha=0)
    with pytest.raises(ValueError, match="base"):
        js([1, 0], [0, 1], base=1)
    with pytest.raises(ValueError, match="same number of rows"):
        js_rows(np.ones((3, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="sums to zero"):
        js_rows(np.array([[1.0, 0.0], [0.0, 0.0]]), [1, 1])
    with pytest.raises(ValueError, match="unknown metric"):
        metric_rows("chi2", np.ones((1, 2)), np.ones(2))
