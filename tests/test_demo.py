"""The embedded demo data: determinism, planted mixture, behaviour signatures."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from ensemble.demo.generator import (
    BEHAVIOURS,
    HIDDEN_BEHAVIOURS,
    PERSONAS,
    REAL_COMPOSITION,
    TOPIC_POOLS,
    generate_demo,
    generate_source,
    real_counts,
    write_demo,
)
from measure.conversation import ASSISTANT, USER, normalize_messages
from measure.errors import ConfigError

SPEC_PERSONAS = {"sim_terse", "sim_polite_frontloader", "sim_incremental", "sim_corrector",
                 "sim_error_paster", "sim_questioner", "sim_emoji_casual"}

EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
CORRECTION = re.compile(
    r"that's not (right|it|what i (asked|meant|said))|not what i asked|that's (wrong|incorrect)"
    r"|you ignored|you missed the point|^(no|wrong|incorrect|not right)[.,]", re.I | re.M)
GREETING_OR_THANKS = re.compile(r"\b(hi|hello|thanks|thank you|ty|thx)\b", re.I)
CASUAL = re.compile(r"\b(lol|lmao+|haha\w*|ngl|omg|lowkey|bestie|yo)\b", re.I)
ALL_TASKS = {t.id: t for p in TOPIC_POOLS.values() for t in p.coding + p.writing}


def is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) >= 0.9


@pytest.fixture(scope="module")
def demo():
    return generate_demo(seed=7, n_per_simulator=200, n_real=600)


@pytest.fixture(scope="module")
def by_source(demo):
    return demo.by_source()


# -- API and determinism -----------------------------------------------------

def test_personas_match_spec():
    assert set(PERSONAS) == SPEC_PERSONAS
    assert set(HIDDEN_BEHAVIOURS) == {"all_caps_urgency"}
    assert not set(HIDDEN_BEHAVIOURS) & set(PERSONAS)
    assert set(REAL_COMPOSITION) <= set(BEHAVIOURS)
    assert sum(REAL_COMPOSITION.values()) == pytest.approx(1.0)


def test_same_seed_same_records_different_seed_differs():
    a = [c.to_record() for c in generate_demo(seed=3, n_per_simulator=30, n_real=60).conversations]
    b = [c.to_record() for c in generate_demo(seed=3, n_per_simulator=30, n_real=60).conversations]
    c = [c.to_record() for c in generate_demo(seed=4, n_per_simulator=30, n_real=60).conversations]
    assert a == b
    assert a != c
    assert sum(x["messages"] != y["messages"] for x, y in zip(a, c)) > 0.9 * len(a)


def test_conversation_does_not_depend_on_n():
    short = generate_source("sim_questioner", 10, seed=5)
    long = generate_source("sim_questioner", 50, seed=5)
    assert [c.to_record() for c in short] == [c.to_record() for c in long[:10]]


def test_generate_source_fields():
    convs = generate_source("sim_terse", 10, seed=1, source="custom")
    assert [c.id for c in convs] == [f"custom-{i:05d}" for i in range(10)]
    assert {c.source for c in convs} == {"custom"}
    assert Counter(c.task for c in convs) == {"coding": 5, "writing": 5}
    for c in convs:
        assert c.metadata["behaviour"] == "sim_terse"
        assert ALL_TASKS[c.metadata["topic"]].kind == c.task
    assert generate_source("sim_terse", 3)[0].source == "sim_terse"
    assert {c.task for c in generate_source("sim_terse", 6, task_mix=("writing",))} == {"writing"}


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        generate_source("sim_nobody", 3)
    with pytest.raises(ConfigError):
        generate_source("sim_terse", 3, topic_pool="Z")
    with pytest.raises(ConfigError):
        generate_source("sim_terse", 3, task_mix=("poetry",))
    with pytest.raises(ConfigError):
        generate_demo(personas=["sim_nobody"])


# -- structure ---------------------------------------------------------------

def test_all_personas_present_with_n(by_source):
    assert set(by_source) == SPEC_PERSONAS | {"real"}
    for p in PERSONAS:
        assert len(by_source[p]) == 200
        assert {c.metadata["behaviour"] for c in by_source[p]} == {p}
    assert len(by_source["real"]) == 600


def test_roles_alternate_and_turns_are_nonempty(demo):
    for c in demo.conversations:
        roles = [m.role for m in c.messages]
        assert roles[0] == USER
        assert roles == [USER, ASSISTANT] * (len(roles) // 2)
        assert all(m.content.strip() for m in c.messages)
        assert normalize_messages(list(c.messages)) == c.messages


def test_user_turn_counts_within_persona_range(demo):
    for c in demo.conversations:
        lo, hi = BEHAVIOURS[c.metadata["behaviour"]].user_turns
        assert lo <= c.n_user_turns <= hi, (c.id, c.n_user_turns)


def test_real_composition_is_exact_and_shuffled(by_source):
    real = by_source["real"]
    counts = Counter(c.metadata["behaviour"] for c in real)
    assert counts == {b: round(600 * s) for b, s in REAL_COMPOSITION.items()}
    assert [c.id for c in real] == [f"real-{i:05d}" for i in range(600)]
    assert len(Counter(c.metadata["behaviour"] for c in real[:60])) >= 3  # interleaved, not blocks
    # Every behaviour gets both task kinds.
    for b in REAL_COMPOSITION:
        assert {c.task for c in real if c.metadata["behaviour"] == b} == {"coding", "writing"}


def test_real_counts_always_sum_to_n():
    for n in (0, 1, 5, 7, 33, 600, 5001):
        assert sum(real_counts(n).values()) == n


# -- topic pools -------------------------------------------------------------

def test_topic_pools_are_disjoint_and_large_enough():
    a, b = TOPIC_POOLS["A"], TOPIC_POOLS["B"]
    for pool in (a, b):
        assert len(pool.coding) >= 12 and len(pool.writing) >= 12
        assert all(t.kind == "coding" and t.error and t.error2 for t in pool.coding)
        assert all(t.kind == "writing" and not t.error for t in pool.writing)
        assert len(pool.task_ids) == len(pool.coding) + len(pool.writing)
    assert not a.task_ids & b.task_ids


def test_pool_b_uses_only_b_topics():
    a = TOPIC_POOLS["A"]
    for behaviour in BEHAVIOURS:
        convs = generate_source(behaviour, 40, topic_pool="B", seed=2)
        assert {c.metadata["topic"] for c in convs} <= TOPIC_POOLS["B"].task_ids
        text = "\n".join(m.content for c in convs for m in c.messages)
        for t in a.coding + a.writing:
            assert t.request not in text and t.draft not in text


def _behaviour_stats(convs) -> dict[str, float]:
    turns = [u for c in convs for u in c.user_turns]
    return {
        "user_turns": sum(c.n_user_turns for c in convs) / len(convs),
        "emoji": sum(bool(EMOJI.search(u)) for u in turns) / len(turns),
        "caps": sum(is_caps(u) for u in turns) / len(turns),
        "correction": sum(bool(CORRECTION.search(u)) for u in turns) / len(turns),
        "question": sum("?" in u for u in turns) / len(turns),
        "greet_thanks": sum(bool(GREETING_OR_THANKS.search(u)) for u in turns) / len(turns),
    }


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_behaviour_does_not_depend_on_topic_pool(behaviour):
    sa = _behaviour_stats(generate_source(behaviour, 300, topic_pool="A", seed=11))
    sb = _behaviour_stats(generate_source(behaviour, 300, topic_pool="B", seed=11))
    assert sa["user_turns"] == pytest.approx(sb["user_turns"], abs=0.15)
    for key in ("emoji", "caps", "correction", "question", "greet_thanks"):
        assert sa[key] == pytest.approx(sb[key], abs=0.08), key


# -- behaviour signatures ----------------------------------------------------

def test_all_caps_only_in_real_at_planted_share(by_source):
    for p in PERSONAS:
        assert not any(is_caps(u) for c in by_source[p] for u in c.user_turns), p
    real = by_source["real"]
    caps_convs = [c for c in real if all(is_caps(u) for u in c.user_turns)]
    assert len(caps_convs) / len(real) == pytest.approx(0.10)
    assert {c.metadata["behaviour"] for c in caps_convs} == {"all_caps_urgency"}
    turns = [u for c in real for u in c.user_turns]
    assert 0.05 <= sum(is_caps(u) for u in turns) / len(turns) <= 0.15
    assert all("!!" in c.user_turns[0] for c in caps_convs)


def test_emojis_only_in_emoji_casual(by_source):
    for source, convs in by_source.items():
        n = sum(any(EMOJI.search(u) for u in c.user_turns) for c in convs)
        if source == "sim_emoji_casual":
            assert n == len(convs)
            assert sum(any(CASUAL.search(u) for u in c.user_turns) for c in convs) >= 0.8 * len(convs)
        else:
            assert n == 0, source


def test_corrections_mostly_in_corrector(by_source):
    per = {p: sum(bool(CORRECTION.search(u)) for c in by_source[p] for u in c.user_turns) for p in PERSONAS}
    assert per["sim_corrector"] >= 0.9 * sum(per.values())
    assert all(any(CORRECTION.search(u) for u in c.user_turns) for c in by_source["sim_corrector"])


def test_polite_frontloader_front_loads_and_thanks(by_source):
    for c in by_source["sim_polite_frontloader"]:
        task = ALL_TASKS[c.metadata["topic"]]
        first, last = c.user_turns[0].lower(), c.user_turns[-1].lower()
        assert GREETING_OR_THANKS.search(first)
        assert task.audience.lower() in first
        assert all(k.lower() in first for k in task.constraints)
        assert sum(f.lower() in first for f in task.facts) >= 3
        assert "thank" in last
        assert re.search(r"bye|take care|have a|all the best|wishing you", last)


def test_terse_is_short_and_never_greets(by_source):
    convs = by_source["sim_terse"]
    # Only the user's own words: a pasted draft may well start with "Hi Rachel,".
    own = [u.split("\n\n")[0] for c in convs for u in c.user_turns]
    assert not any(GREETING_OR_THANKS.search(u) for u in own)
    lengths = sorted(len(c.user_turns[-1]) for c in convs)
    assert lengths[len(lengths) // 2] < 60
    polite = [len(c.user_turns[0]) for c in by_source["sim_polite_frontloader"]]
    assert max(len(c.user_turns[0]) for c in convs if "\n\n" not in c.user_turns[0]) < min(polite)


def test_incremental_reveals_context_later(by_source):
    for c in by_source["sim_incremental"]:
        task = ALL_TASKS[c.metadata["topic"]]
        first = c.user_turns[0]
        assert len(first) < 120
        details = task.facts + task.constraints + (task.audience,)
        assert not any(d in first for d in details)
        assert sum(any(d in u for d in details) for u in c.user_turns[1:]) >= 2


def _pasted_lines(task) -> set[str]:
    # Digits removed: the generator shifts line numbers between pastes.
    text = "\n".join((task.error, task.error2, task.draft))
    return {re.sub(r"\d", "", ln).strip() for ln in text.splitlines()}


def test_error_paster_pastes_without_asking(by_source):
    for c in by_source["sim_error_paster"]:
        task = ALL_TASKS[c.metadata["topic"]]
        first = c.user_turns[0]
        if task.kind == "coding":
            assert task.error.splitlines()[-1][:25] in first or task.error.splitlines()[0][:25] in first
        else:
            assert task.draft[:40] in first
        pasted = _pasted_lines(task)
        prose = [ln for ln in first.splitlines()
                 if ln.strip() and not ln.startswith("```") and re.sub(r"\d", "", ln).strip() not in pasted]
        assert not any("?" in ln for ln in prose), prose


def test_questioner_asks_and_leaves_without_closing(by_source):
    for c in by_source["sim_questioner"]:
        assert sum("?" in u for u in c.user_turns) >= c.n_user_turns - 1
        assert "?" in c.user_turns[-1]
        assert not re.search(r"\b(thanks|thank you|bye)\b", c.user_turns[-1], re.I)


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_within_persona_diversity(behaviour):
    convs = generate_source(behaviour, 200, seed=9)
    firsts = [c.user_turns[0] for c in convs]
    assert len(set(firsts)) >= 0.8 * len(firsts)
    whole = ["\x00".join(c.user_turns) for c in convs]
    assert len(set(whole)) >= 0.95 * len(whole)


# -- files -------------------------------------------------------------------

def test_write_demo_is_byte_identical_and_complete(tmp_path):
    kwargs = dict(seed=5, n_per_simulator=20, n_real=40)
    a = write_demo(tmp_path / "a", **kwargs)
    b = write_demo(tmp_path / "b", **kwargs)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert names == sorted([f"{p}.jsonl" for p in PERSONAS] + ["real.jsonl", "true_mixture.json"])
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    records = [json.loads(line) for line in (a / "real.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 40
    assert all(r["source"] == "real" and r["messages"][0]["role"] == "user" for r in records)


def test_true_mixture_json(tmp_path):
    out = write_demo(tmp_path, seed=2, n_per_simulator=10, n_real=600)
    tm = json.loads((out / "true_mixture.json").read_text())
    assert tm["real_composition"] == {"sim_polite_frontloader": 0.45, "sim_corrector": 0.30,
                                      "sim_error_paster": 0.15, "all_caps_urgency": 0.10}
    w = tm["expected_weights"]
    assert set(w) == SPEC_PERSONAS
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-6)
    assert w["sim_polite_frontloader"] == 0.5
    assert w["sim_corrector"] == pytest.approx(0.3333, abs=1e-4)
    assert w["sim_error_paster"] == pytest.approx(0.1667, abs=1e-4)
    assert all(w[p] == 0.0 for p in SPEC_PERSONAS - set(REAL_COMPOSITION))
    assert tm["unmatched_behaviour"] == "all_caps_urgency"
    assert (tm["seed"], tm["n_real"], tm["n_per_simulator"]) == (2, 600, 10)
    assert tm["real_counts"] == {"sim_polite_frontloader": 270, "sim_corrector": 180,
                                 "sim_error_paster": 90, "all_caps_urgency": 60}
