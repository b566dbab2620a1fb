"""Cluster labels from the facet vocabulary's phrases: splitting, c-TF-IDF,
choice, separation of look-alike clusters, the representative description,
and, on the demo run, distinct labels within every facet."""
from __future__ import annotations

import numpy as np
import pytest

from ensemble.report.labels import (choose_terms, ctfidf, labels_from_terms, phrase_reuse, representative_text,
                                    split_phrases)
from tests.conftest import read_json


def test_phrases_follow_the_vocabulary_slots():
    assert split_phrases("register: casual; tone: calm; short turns; formatting: emoji, casual slang (lol, haha), "
                         "lowercase only; framing: mostly direct questions") == [
        "register: casual", "tone: calm", "short turns", "formatting: emoji", "casual slang (lol, haha)",
        "formatting: lowercase only", "mostly direct questions"]
    # a comma outside a slot belongs to the phrase; a nested slot stays whole
    assert split_phrases("one request, then only feedback turns; first request: indirect cue: pastes error output "
                         "without asking; asks no questions") == [
        "one request, then only feedback turns", "indirect cue: pastes error output without asking",
        "asks no questions"]
    # sections split at ". "; repeated reactions count once; pastes keep their parentheses
    assert split_phrases("reactions: corrects the assistant; corrects the assistant. counts: corrects the assistant "
                         "twice. ending: ends without closing") == [
        "corrects the assistant", "corrects the assistant twice", "ends without closing"]
    assert split_phrases("little context at any point; pasted material: pastes error output (small, throughout), "
                         "pastes code (small, in the first turn)") == [
        "little context at any point", "pastes error output (small, throughout)",
        "pastes code (small, in the first turn)"]
    # a turn's position stays; act counts read as turns
    assert split_phrases("turn 1: greet inform_intent inform request; later turns: request. counts: greet 1, "
                         "request 3-5") == [
        "turn 1: greet inform_intent inform request", "later turns: request", "greet in 1 turn",
        "request in 3-5 turns"]


def test_ctfidf_is_share_times_log_idf():
    counts = np.array([[4, 0, 4], [1, 6, 6]], float)
    sizes = np.array([4, 6], float)
    scores, share = ctfidf(counts, sizes)
    assert share.tolist() == [[1.0, 0.0, 1.0], [1 / 6, 1.0, 1.0]]
    avg = 5.0
    assert scores[0, 0] == pytest.approx(np.log(1 + avg / 5))
    assert scores[1, 1] == pytest.approx(np.log(1 + avg / 6))
    assert scores[0, 2] == pytest.approx(np.log(1 + avg / 10))  # in every row: the smallest idf
    assert scores[0, 1] == 0.0


def test_choice_prefers_widely_shared_and_says_nothing_twice():
    terms = ["adds a constraint", "adds a constraint once", "rare", "tone: calm"]
    # cluster 0: "rare" scores highest but only a tenth of the rows have it
    scores = np.array([[1.0, 0.9, 2.0, 0.5]])
    share = np.array([[1.0, 0.9, 0.1, 1.0]])
    assert choose_terms(scores, share, terms, n=2, min_share=0.5) == [[1, 3]]
    # with nothing shared by half the rows the best scores are used
    assert choose_terms(scores, np.full((1, 4), 0.2), terms, n=1, min_share=0.5) == [[2]]
    # a term far below the best adds nothing
    assert choose_terms(np.array([[1.0, 0.0, 0.0, 0.1]]), share, terms, n=2, min_share=0.5) == [[0]]


def test_look_alike_clusters_get_the_phrase_that_separates_them():
    texts = ["pastes a draft; little context at any point",              # 0
             "pastes a draft; little context at any point; adds context in one later turn",   # 1
             "pastes code; front-loaded context",                        # 2
             "pastes code; rich background in the first turn"]          # 3
    # clusters 0 and 1 both "pastes a draft" + "little context"; 4 in 10 of cluster 1 also add context
    rows_text = np.array([0] * 10 + [0] * 6 + [1] * 4 + [2] * 10 + [3] * 10)
    rows_cluster = np.array([0] * 10 + [1] * 10 + [2] * 10 + [3] * 10)
    out = labels_from_terms(texts, rows_text, rows_cluster, 4, n_terms=2)
    labels = [out[c].label for c in range(4)]
    assert len(set(labels)) == 4
    assert out[0].label == "little context at any point; pastes a draft"
    assert out[1].label == "little context at any point; pastes a draft; adds context in one later turn"
    assert [p[0] for p in out[1].phrases][-1] == "adds context in one later turn"
    assert out[1].phrases[-1][2] == pytest.approx(0.4)   # share of cluster 1 that adds context
    assert out[1].size == 10


def test_identical_texts_in_two_clusters_fall_back_to_the_id():
    out = labels_from_terms(["tone: calm"], np.zeros(4, int), np.array([0, 0, 2, 2]), 3)
    assert sorted(out) == [0, 2]
    assert out[0].label == "tone: calm"
    assert out[2].label == "tone: calm (cluster 2)"


def test_representative_is_nearest_the_weighted_centroid():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    # text 1 dominates the rows, so the centroid leans to it; text 2 lies between
    assert representative_text(np.array([0, 1, 1, 1, 2]), emb) == 1
    assert representative_text(np.array([0, 0, 1, 1, 2]), emb) == 2
    assert representative_text(np.array([0, 1, 1, 2]), None) == 1


def test_phrase_reuse_tells_vocabulary_from_free_text():
    vocab = ["register: casual; tone: calm", "register: formal; tone: calm", "register: casual; tone: urgent"]
    free = ["The user opens by explaining their project in detail.", "They push back twice and then thank it."]
    assert phrase_reuse(vocab) == pytest.approx(6 / 4)
    assert phrase_reuse(free) == 1.0


def test_demo_labels_are_distinct_within_each_facet(demo_run):
    ex = read_json(demo_run / "explain.json")
    for facet, fx in ex["facets"].items():
        labels = [c["label"] for c in fx["clusters"]]
        assert len(labels) == len(set(labels)), facet
        for c in fx["clusters"]:
            # every phrase of a label occurs in the cluster's representative description or examples
            assert c["description"]
            assert all(p for p in c["label"].split("; ")), c["label"]


def test_free_text_falls_back_to_word_terms_weighted_by_rows():
    from ensemble.report.explain import phrase_ngrams
    texts = ["writes in all caps, urgent", "all caps shouting, urgent deadline",
             "casual tone with emoji and slang", "emoji, lol, casual", "neutral tone"]
    rows_text = np.array([0, 1, 2, 3, 4, 4, 4, 4, 4])
    rows_cluster = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1])
    out = labels_from_terms(texts, rows_text, rows_cluster, 2, analyzer=phrase_ngrams, n_terms=2, joiner=", ",
                            words=True)
    # "all caps" says what "all" and "caps" say; glue words are no terms
    assert out[0].label == "all caps, urgent"
    # the neutral text stands for 5 of cluster 1's 7 rows, so its words lead
    assert out[1].label.startswith("neutral")
    assert out[1].description == "neutral tone"
    assert not {"and", "with"} & {t for t, _ in out[0].top + out[1].top}
