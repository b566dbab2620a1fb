"""Explain the gap: word terms of free-text labels, per-cluster status, coverage, and the
simulator map, on small hand-made inputs where the answers are known."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import fisher_exact

from ensemble.report.explain import (
    adjust_pvalues,
    classify,
    cluster_status,
    coverage_density,
    mixture_source,
    phrase_ngrams,
    representatives,
    snippet,
    two_proportion_pvalues,
)
from ensemble.report.simmap import (
    complementary_pairs,
    dendrogram_order,
    extreme_pairs,
    simulator_map,
)

# ------------------------------------------------ terms of free text (labels: test_labels.py)

def test_bigrams_stay_inside_one_phrase():
    grams = phrase_ngrams("tone: shouting, urgent; formatting: all caps; treats the assistant as a tool")
    assert "all caps" in grams and "shouting" in grams and "urgent" in grams
    # no bigram across ':' ',' ';' or across a removed glue word
    assert not {"tone shouting", "shouting urgent", "urgent formatting", "treats assistant"} & set(grams)
    assert "the" not in grams and "a" not in grams
    # slot names of the vocabulary label nothing
    assert not {"tone", "formatting"} & set(grams)
    acts = phrase_ngrams("turn 1: inform request; later turns: request. counts: inform 1, request 3-5")
    assert {"inform request", "inform", "request"} <= set(acts)
    assert not {"turn", "later", "counts", "later turns"} & set(acts)


# ------------------------------------------------------------------ status

def test_status_on_hand_made_histograms():
    real = np.array([60, 60, 0, 60, 3, 80, 20, 0])
    sim = np.array([60, 0, 60, 60, 0, 30, 60, 0])
    st = {s.cluster: s for s in cluster_status(real, sim, band=(0.5, 2.0), alpha=0.01)}
    assert 7 not in st  # empty on both sides: not tested, not reported
    assert {c: s.status for c, s in st.items()} == {
        0: "captured", 1: "missed", 2: "hallucinated", 3: "captured", 4: "not significant",
        5: "under", 6: "over"}
    assert st[1].p_real == pytest.approx(60 / 283) and st[1].p_sim == 0.0 and st[1].ratio == 0.0
    assert st[2].ratio is None and st[2].n_sim == 60
    assert st[5].ratio == pytest.approx((30 / 270) / (80 / 283))
    assert st[1].p_adjusted < 1e-10 and st[4].p_adjusted > 0.01
    assert all(s.p_adjusted >= s.p_value for s in st.values())


def test_small_cells_get_the_exact_test_large_cells_agree_with_it():
    p, kind = two_proportion_pvalues(np.array([3, 300]), 400, np.array([0, 200]), 400)
    assert kind == ["fisher", "z"]
    assert p[0] == pytest.approx(fisher_exact([[3, 397], [0, 400]])[1])
    assert p[1] == pytest.approx(fisher_exact([[300, 100], [200, 200]])[1], rel=0.5)
    assert p[1] < 1e-10


def test_classify_band_edges():
    assert classify(0.1, 0.05, True, (0.5, 2.0), 5.0) == "captured"       # ratio exactly 0.5
    assert classify(0.1, 0.2, True, (0.5, 2.0), 5.0) == "captured"        # exactly 2
    assert classify(0.1, 0.019, True, (0.5, 2.0), 5.0) == "missed"        # below 1/5
    assert classify(0.1, 0.021, True, (0.5, 2.0), 5.0) == "under"
    assert classify(0.1, 0.021, False, (0.5, 2.0), 5.0) == "not significant"
    assert classify(0.0, 0.1, True, (0.5, 2.0), 5.0) == "hallucinated"


def test_adjust_pvalues():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert adjust_pvalues(p, "bh") == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert adjust_pvalues(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_coverage_and_density():
    real = np.array([0.5, 0.3, 0.2, 0.0])
    sim = np.array([0.6, 0.0, 0.0, 0.4])
    cov, dens = coverage_density(real, sim, threshold=0.01)
    assert cov == pytest.approx(0.5)   # only the first real cluster is reached
    assert dens == pytest.approx(0.6)  # 0.4 of the simulator lies where no real user is


def test_mixture_source_and_effective_n():
    p, n = mixture_source({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}, {"a": 100, "b": 300},
                          {"a": 0.25, "b": 0.75, "c": 0.0})
    assert p == pytest.approx([0.25, 0.75])
    assert n == pytest.approx(1 / (0.25 ** 2 / 100 + 0.75 ** 2 / 300))


# ---------------------------------------------------------------- examples

def test_representatives_are_closest_to_the_mean_and_distinct():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    index = np.array([0, 0, 0, 1, 2, 2])   # rows -> texts
    rows = np.arange(6)
    # mean of rows' embeddings = (3*[1,0] + [0,1] + 2*[.8,.6]) / 6 = [.77, .37]:
    # closest text 2 (dot .83), then 0 (.77), then 1 (.37); one row per text first
    assert representatives(rows, index, emb, 3) == [3 + 1, 0, 3]
    assert representatives(rows, index, emb, 4) == [4, 0, 3, 5]


def test_snippet_truncates_and_collapses():
    s = snippet(["hello\n\n  there", "x" * 300])
    assert s.startswith("hello there | xxx") and len(s) == 160 and s.endswith("…")


# -------------------------------------------------------------- simulator map

def _two_facet_dist(real, **sims):
    return {"f": {"real": np.array(real, float), **{k: np.array(v, float) for k, v in sims.items()}}}


def test_complementary_pair_when_the_half_mix_is_perfect():
    dist = _two_facet_dist([0.5, 0.5, 0.0], a=[1.0, 0.0, 0.0], b=[0.0, 1.0, 0.0], c=[0.0, 0.0, 1.0])
    out = complementary_pairs(dist, {"f": 1.0}, ["a", "b", "c"])
    assert out["n_pairs"] == 3 and out["n_complementary"] == 1
    p = out["pairs"][0]
    assert (p["a"], p["b"]) == ("a", "b")
    assert p["js_mix"] == pytest.approx(0.0, abs=1e-12)
    # JS([.5,.5], [1,0]) = 0.5 * (KL(p||m) + KL(q||m)) with m = [.75, .25]
    expected = 0.5 * ((0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)) + math.log2(1 / 0.75))
    assert p["js_a"] == pytest.approx(expected)
    assert p["gain"] == pytest.approx(min(p["js_a"], p["js_b"]))
    assert p["js_a"] == pytest.approx(p["js_b"])


def test_dendrogram_and_extreme_pairs():
    names = ["real", "a", "a2", "b", "b2"]
    js = np.array([[0, .10, .11, .30, .31],
                   [.10, 0, .01, .40, .41],
                   [.11, .01, 0, .42, .43],
                   [.30, .40, .42, 0, .02],
                   [.31, .41, .43, .02, 0]])
    order = dendrogram_order(names, js)["order"]
    pos = {n: i for i, n in enumerate(order)}
    assert abs(pos["a"] - pos["a2"]) == 1 and abs(pos["b"] - pos["b2"]) == 1
    ex = extreme_pairs(names, js, top=2)
    assert [(p["a"], p["b"]) for p in ex["most_alike"]] == [("a", "a2"), ("b", "b2")]
    assert [(p["a"], p["b"], p["js"]) for p in ex["most_distinct"]] == [("a2", "b2", .43), ("a2", "b", .42)]
    m = simulator_map(names, js)
    assert m["nearest_to_real"][0] == {"name": "a", "js": .10}
    assert m["complementary"]["pairs"] == []
