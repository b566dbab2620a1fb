"""LLM facet extractor against a local fake OpenAI-compatible server."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from measure.conversation import Conversation, Message
from measure.errors import ConfigError, EnsembleFitError
from measure.facets.base import BEHAVIOUR_FACETS, RAW_FACET
from measure.facets.llm import (
    DEFAULT_PROMPTS_DIR,
    LLMFacetExtractor,
    MalformedAnswer,
    RequestBudgetExceeded,
    _parse_retry_after,
    flatten,
    load_prompts,
    parse_answer,
    render_transcript,
    truncate_middle,
)

from .llm_server import FakeLLMServer, answer_for

REPO = Path(__file__).resolve().parents[1]
# max_failed_share=None: these tests look at failures one by one, without the run-level stop.
FAST = dict(backoff_base=0.001, backoff_cap=0.01, concurrency=4, max_failed_share=None)


def convs(n: int, source: str = "real", marker: str = "") -> list[Conversation]:
    out = []
    for i in range(n):
        msgs = [Message("user", f"please rewrite paragraph {i} {marker}".strip()),
                Message("assistant", f"Here is version {i}."),
                Message("user", "shorter" if i % 2 else "thanks, perfect")]
        out.append(Conversation(id=f"{source}-{i}", source=source, messages=tuple(msgs)))
    return out


def expected(ex: LLMFacetExtractor, conv: Conversation, facet: str) -> str:
    keys = ex.prompts.facets[facet].keys
    return flatten(answer_for(render_transcript(conv, ex.max_turn_chars, ex.max_total_chars), keys), keys)


def pair(ex: LLMFacetExtractor, conv: Conversation, facet: str):
    """The (transcript hash, keys) id the fake server logs for this question."""
    t = render_transcript(conv, ex.max_turn_chars, ex.max_total_chars)
    return (hashlib.sha256(t.encode()).hexdigest()[:16], ex.prompts.facets[facet].keys)


def texts(records) -> list[dict[str, str]]:
    return [{f: r.text for f, r in rec.items()} for rec in records]


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    monkeypatch.delenv("ENSEMBLE_FIT_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


# ---------------------------------------------------------------- prompts, transcript, parsing

def test_prompts_found_in_repo_and_cover_every_behaviour_facet():
    assert DEFAULT_PROMPTS_DIR == REPO / "measure" / "facets" / "prompts"  # package data
    ps = load_prompts()
    assert set(BEHAVIOUR_FACETS) <= set(ps.facets)
    assert ps.facets["style"].keys[:2] == ("register", "tone")
    assert all(p.version.count(".") == 1 for p in ps.facets.values())
    msg = ps.user_message("requests", "[USER 1]\nhi")
    assert "<transcript>\n[USER 1]\nhi\n</transcript>" in msg
    assert '"specification": "..."' in msg


def test_unknown_facets_and_bad_prompt_folder_are_config_errors(tmp_path):
    ex = LLMFacetExtractor("http://127.0.0.1:9/v1", "m", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="no prompt for facet 'tone'"):
        ex.extract(convs(1), ("tone",))
    with pytest.raises(ConfigError, match="raw-text baseline"):
        ex.dry_run(convs(1), (RAW_FACET,))
    with pytest.raises(ConfigError, match="no common.toml"):
        LLMFacetExtractor("http://x/v1", "m", cache_dir=tmp_path, prompts_dir=tmp_path)
    bad = tmp_path / "p"
    shutil.copytree(DEFAULT_PROMPTS_DIR, bad)
    (bad / "style.toml").write_text('version = 1\ninstructions = "x"\n')
    with pytest.raises(ConfigError, match="style.toml: needs at least one"):
        load_prompts(bad)


def test_transcript_labels_turns_and_bounds_length():
    long_user = "A" * 500 + "MIDDLE" + "Z" * 500
    conv = Conversation("c", "real", (Message("user", long_user), Message("assistant", "ok"),
                                      Message("user", "again")))
    t = render_transcript(conv, max_turn_chars=200, max_total_chars=1000)
    assert t.startswith("[USER 1]\n" + "A" * 100 + "\n[... 806 characters cut ...]\n" + "Z" * 100)
    assert "[ASSISTANT 1]\nok" in t and t.endswith("[USER 2]\nagain")
    assert "MIDDLE" not in t
    assert truncate_middle("abc", 3) == "abc"
    # Many turns: the middle turns go, first and last stay, total stays bounded.
    many = Conversation("m", "real", tuple(Message("user" if i % 2 == 0 else "assistant", f"turn {i} " + "x" * 150)
                                           for i in range(40)))
    t = render_transcript(many, max_turn_chars=200, max_total_chars=1000)
    assert len(t) <= 1000 + 40
    assert t.startswith("[USER 1]\nturn 0 ") and "turn 39 " in t
    assert "turns cut ...]" in t


def test_parse_answer_accepts_fences_and_lists_and_rejects_unusable_answers():
    keys = ("a", "b")
    assert parse_answer('```json\n{"a": " two  words ", "b": ["x", "y"]}\n```', keys) == {"a": "two words", "b": "x, y"}
    assert parse_answer('Here: {"b": 1, "a": "q", "extra": "ignored"}', keys) == {"a": "q", "b": "1"}
    assert parse_answer('<think>maybe {"a"}</think>{"a": "p", "b": true}', keys) == {"a": "p", "b": "true"}
    for bad, why in [("", "empty reply"), ("no json here", "no JSON object"), ('{"a": "x",}', "invalid JSON"),
                     ('{"a": "x"}', "missing key"), ('{"a": "x", "b": "..."}', "empty value for 'b'"),
                     ('{"a": "x", "b": {"c": 1}}', "nested"), ('{"a": 1} and {"b": 2}', "invalid JSON")]:
        with pytest.raises(MalformedAnswer, match=why):
            parse_answer(bad, keys)
    assert flatten({"b": "2", "a": "1"}, ("a", "b")) == "a: 1; b: 2"


# ---------------------------------------------------------------- protocol

def test_protocol_body_path_and_authorization(tmp_path, monkeypatch):
    data = convs(1)
    with FakeLLMServer() as srv:
        monkeypatch.setenv("ENSEMBLE_FIT_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
        ex = LLMFacetExtractor(srv.base_url + "/", "my-model", cache_dir=tmp_path / "a", max_tokens=123, **FAST)
        recs = ex.extract(data, ("requests",))
        e = srv.log[0]
        assert len(srv.log) == 1 and e.path == "/v1/chat/completions"
        assert e.authorization == "Bearer sk-test"
        assert e.body["model"] == "my-model" and e.body["temperature"] == 0 and e.body["max_tokens"] == 123
        assert [m["role"] for m in e.body["messages"]] == ["system", "user"]
        assert "Here is version 0." in e.body["messages"][1]["content"]
        assert recs[0]["requests"].text == expected(ex, data[0], "requests")
        assert recs[0]["requests"].text.startswith("specification: specification trait ")
        assert recs[0]["requests"].features is None
        # Fallback key, then no key at all (a local vLLM needs none).
        monkeypatch.delenv("ENSEMBLE_FIT_API_KEY")
        LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "b", **FAST).extract(data, ("style",))
        assert srv.log[1].authorization == "Bearer sk-other"
        monkeypatch.delenv("OPENAI_API_KEY")
        LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "c", **FAST).extract(data, ("style",))
        assert srv.log[2].authorization is None


# ---------------------------------------------------------------- retries and failures

def test_transient_errors_are_retried_until_every_description_is_present(tmp_path):
    data = convs(12)
    with FakeLLMServer(error_rate=0.3, seed=3) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_retries=5, **FAST)
        recs = ex.extract(data)
    n_jobs = 12 * len(BEHAVIOUR_FACETS)
    assert srv.injected_errors > 0.15 * len(srv.log)
    assert ex.stats.retries == srv.injected_errors
    assert ex.stats.requests == len(srv.log) == n_jobs + srv.injected_errors
    assert ex.stats.errors.get("http 429", 0) + ex.stats.errors.get("http 500", 0) == srv.injected_errors
    assert ex.stats.errors["http 429"] > 0 and ex.stats.errors["http 500"] > 0
    assert ex.failures == [] and ex.stats.failures == 0 and ex.stats.described == n_jobs
    assert texts(recs) == [{f: expected(ex, c, f) for f in BEHAVIOUR_FACETS} for c in data]


def test_retries_exhausted_is_a_failure_not_a_placeholder(tmp_path):
    data = convs(2)
    with FakeLLMServer(error_rate=1.0, max_errors_per_prompt=9, error_status=503) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_retries=2,
                               max_consecutive_failures=None, **FAST)
        recs = ex.extract(data, ("style", "context"))
    assert recs == [{}, {}]
    assert len(srv.log) == 4 * 3 and ex.stats.retries == 4 * 2 and ex.stats.failures == 4
    assert [(i, s, f) for i, s, f, _ in ex.failures] == [
        ("real-0", "real", "style"), ("real-0", "real", "context"),
        ("real-1", "real", "style"), ("real-1", "real", "context")]
    assert all(r.startswith("http 503: injected 503 (gave up after 3 attempts)") for *_, r in ex.failures)
    assert ex.cache.entries() == []


def test_retry_after_is_honoured_and_capped(tmp_path):
    assert _parse_retry_after("2") == 2.0 and _parse_retry_after("junk") is None
    assert 0 <= _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 1
    for header, cap, low, high in [("0.3", 10.0, 0.3, 1.5), ("30", 0.25, 0.25, 1.5)]:
        with FakeLLMServer(error_rate=1.0, max_errors_per_prompt=1, error_status=429,
                           retry_after=header) as srv:
            ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / header,
                                   backoff_base=0.0001, backoff_cap=cap)
            start = time.perf_counter()
            recs = ex.extract(convs(1), ("style",))
            elapsed = time.perf_counter() - start
        assert low <= elapsed < high, (header, elapsed)
        assert ex.stats.retries == 1 and "style" in recs[0]


def test_timeouts_and_refused_connections_are_retried(tmp_path):
    with FakeLLMServer(stall_first=0.6) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "t", timeout=0.2, **FAST)
        recs = ex.extract(convs(1), ("style", "context"))
    assert ex.stats.errors == {"timeout": 2} and ex.stats.retries == 2
    assert set(recs[0]) == {"style", "context"}

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    ex = LLMFacetExtractor(url, "m", cache_dir=tmp_path / "r", max_retries=2,
                           max_consecutive_failures=None, **FAST)
    assert ex.extract(convs(2), ("style",)) == [{}, {}]
    assert ex.stats.errors == {"connection": 6} and ex.stats.requests == 6
    assert all("connection" in r for *_, r in ex.failures) and len(ex.failures) == 2
    # A dead server is not silently turned into a dataset of failures.
    ex = LLMFacetExtractor(url, "m", cache_dir=tmp_path / "r", max_retries=0,
                           max_consecutive_failures=3, **FAST)
    with pytest.raises(EnsembleFitError, match="3 LLM requests in a row failed"):
        ex.extract(convs(10), ("style",))


def test_bad_request_fails_one_item_and_bad_key_stops_the_run(tmp_path):
    data = convs(3)
    data[1] = Conversation("long", "real", (Message("user", "TOO-LONG text"),))
    with FakeLLMServer(status_for={"TOO-LONG": 400}) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        recs = ex.extract(data, ("style",))
        assert [bool(r) for r in recs] == [True, False, True]
        assert ex.failures == [("long", "real", "style", "http 400: injected 400")]
        assert ex.stats.retries == 0  # a 400 will not get better by asking again
    with FakeLLMServer(status_for={"[USER 1]": 401}) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, concurrency=2)
        with pytest.raises(ConfigError, match="HTTP 401.*ENSEMBLE_FIT_API_KEY"):
            ex.extract(convs(20), ("context",))
        assert len(srv.log) <= 2


def test_malformed_answers_are_repaired_or_reported_as_failures(tmp_path):
    data = convs(6) + convs(1, source="sim_x", marker="MALFORMED-ALWAYS")
    with FakeLLMServer(malformed_rate=0.4, seed=1) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_format_retries=2, **FAST)
        recs = ex.extract(data)
        bad = data[-1]
        per_pair = srv.requests_per_pair()
        repair_bodies = [e.body for e in srv.log if e.pair == pair(ex, bad, "style")]
    n_facets = len(BEHAVIOUR_FACETS)
    # The always-malformed conversation: asked 1 + 2 times per facet, then reported.
    assert recs[-1] == {}
    assert all(per_pair[pair(ex, bad, f)] == 3 for f in BEHAVIOUR_FACETS)
    assert [(i, s, f) for i, s, f, _ in ex.failures] == [("sim_x-0", "sim_x", f) for f in BEHAVIOUR_FACETS]
    assert all(r.startswith("malformed answer: ") for *_, r in ex.failures)
    assert ex.stats.failures == n_facets
    # Every other malformed answer was retried once and then usable.
    assert srv.injected_malformed > 3 * n_facets
    assert ex.stats.retries == srv.injected_malformed - n_facets
    assert texts(recs[:-1]) == [{f: expected(ex, c, f) for f in BEHAVIOUR_FACETS} for c in data[:-1]]
    # The repair request shows the model its reply and what was wrong with it.
    roles = [m["role"] for m in repair_bodies[1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert repair_bodies[1]["messages"][2]["content"] == "Sure! The user seems direct."
    assert "no JSON object" in repair_bodies[1]["messages"][3]["content"]
    # Failures are never cached: a later run asks again.
    assert len(ex.cache.entries()) == 6 * n_facets


# ---------------------------------------------------------------- precomputed, dedup, cache

def test_precomputed_and_duplicate_conversations_cost_no_request(tmp_path):
    data = convs(3)
    data[0].precomputed["style"] = "given style text"
    twin = Conversation("twin", "sim_a", data[1].messages)
    calls = []
    with FakeLLMServer() as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path,
                               progress=lambda adv, tot: calls.append((adv, tot)), **FAST)
        recs = ex.extract(data + [twin], ("style", "context"))
        asked = srv.requests_per_pair()
    assert recs[0]["style"].text == "given style text"
    assert pair(ex, data[0], "style") not in asked
    assert recs[3] == recs[1] and recs[3]["context"].text == expected(ex, data[1], "context")
    assert len(srv.log) == 5 and max(asked.values()) == 1
    assert (ex.stats.precomputed, ex.stats.deduplicated, ex.stats.described) == (1, 2, 5)
    assert calls == [(1, 5)] * 5


def test_second_run_is_served_from_cache(tmp_path):
    data = convs(5)
    with FakeLLMServer() as srv:
        first = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        a = texts(first.extract(data))
        n = len(srv.log)
        second = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        b = texts(second.extract(data))
        assert len(srv.log) == n == 25
        assert second.stats.requests == 0 and second.stats.cache_hits == 25 and a == b
        assert second.cache_key == first.cache_key
        # Another model is another cache.
        other = LLMFacetExtractor(srv.base_url, "m2", cache_dir=tmp_path, **FAST)
        other.extract(data, ("style",))
        assert other.stats.requests == 5 and other.cache_key != first.cache_key
        # A new version of one prompt re-asks that facet only.
        prompts = tmp_path / "prompts"
        shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
        style = prompts / "style.toml"
        style.write_text(style.read_text().replace("version = 1", "version = 2", 1))
        bumped = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, prompts_dir=prompts, **FAST)
        assert bumped.cache_key != first.cache_key
        bumped.extract(data)
        assert bumped.stats.requests == 5 and bumped.stats.cache_hits == 20


def test_unreadable_cache_file_is_a_miss_and_gets_replaced(tmp_path):
    data = convs(2)
    with FakeLLMServer() as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        ex.extract(data, ("style",))
        path = ex.cache.entries()[0]
        path.write_text('{"description": "half')
        (path.parent / f".{path.name}.123.abc.tmp").write_text("torn")  # left by a killed writer
        again = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        recs = again.extract(data, ("style",))
    assert again.stats.requests == 1 and again.stats.cache_hits == 1
    assert again.cache.unreadable == [str(path)]
    assert json.loads(path.read_text())["description"] in {r["style"].text for r in recs}


# ---------------------------------------------------------------- kill and resume

CHILD = r"""
import json, sys
from measure.conversation import Conversation, Message
from measure.facets.llm import LLMFacetExtractor
base_url, cache_dir, data_path, out_path = sys.argv[1:5]
rows = json.load(open(data_path))
convs = [Conversation(r["id"], r["source"], tuple(Message(m["role"], m["content"]) for m in r["messages"]))
         for r in rows]
ex = LLMFacetExtractor(base_url, "m", cache_dir=cache_dir, concurrency=2, timeout=20,
                       backoff_base=0.001, backoff_cap=0.01)
recs = ex.extract(convs)
json.dump([{f: r.text for f, r in rec.items()} for rec in recs], open(out_path, "w"))
"""


def _spawn(base_url: str, cache: Path, data: list[Conversation], tmp: Path, tag: str):
    data_path = tmp / "data.json"
    data_path.write_text(json.dumps([c.to_record() for c in data]))
    out = tmp / f"out-{tag}.json"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, base_url, str(cache), str(data_path), str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, out


def _wait_for(cond, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.01)


def test_killed_run_resumes_without_asking_answered_questions_again(tmp_path):
    data = convs(6)
    n_jobs = 6 * len(BEHAVIOUR_FACETS)
    cache = tmp_path / "cache"
    with FakeLLMServer(latency=0.002) as srv:
        srv.hold_after(11)
        proc, _ = _spawn(srv.base_url, cache, data, tmp_path, "killed")
        probe = LLMFacetExtractor(srv.base_url, "m", cache_dir=cache)
        # Kill while requests are in flight, once the answered ones are on disk.
        _wait_for(lambda: srv.held >= 1 and len(probe.cache.entries()) >= 11)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        srv.release(drop=True)
        answered_before = srv.ok_pairs()
        assert sum(answered_before.values()) == 11 and len(probe.cache.entries()) == 11
        assert srv.count("dropped") >= 1  # in flight at the kill, never answered

        srv.hold_after(None)
        srv.clear_log()
        resumed = LLMFacetExtractor(srv.base_url, "m", cache_dir=cache, **FAST)
        got = texts(resumed.extract(data))
        asked_after = srv.requests_per_pair()
        assert not set(answered_before) & set(asked_after)
        assert sum(asked_after.values()) == n_jobs - 11 and max(asked_after.values()) == 1
        assert resumed.stats.cache_hits == 11

        fresh = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "fresh", **FAST)
        assert got == texts(fresh.extract(data))
        assert all(len(rec) == len(BEHAVIOUR_FACETS) for rec in got)


def test_two_processes_can_fill_one_cache_at_once(tmp_path):
    data = convs(6)
    cache = tmp_path / "cache"
    with FakeLLMServer(latency=0.002) as srv:
        procs = [_spawn(srv.base_url, cache, data, tmp_path, tag) for tag in "ab"]
        for proc, _ in procs:
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err.decode()
        outs = [json.loads(out.read_text()) for _, out in procs]
        assert outs[0] == outs[1]
        assert 30 <= len(srv.log) <= 60
        third = LLMFacetExtractor(srv.base_url, "m", cache_dir=cache, **FAST)
        assert texts(third.extract(data)) == outs[0] and third.stats.requests == 0
    assert len(third.cache.entries()) == 30 and third.cache.unreadable == []
    assert not list(cache.rglob("*.tmp"))


# ---------------------------------------------------------------- budget and dry run

def test_request_budget_stops_cleanly_and_keeps_finished_work(tmp_path):
    data = convs(4)
    with FakeLLMServer() as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, request_budget=7, **FAST)
        with pytest.raises(RequestBudgetExceeded, match="budget of 7 requests used up") as info:
            ex.extract(data)
        assert len(srv.log) == 7 == ex.stats.requests
        assert info.value.described == 7 and info.value.remaining == 20 - 7
        assert len(ex.cache.entries()) == 7
        assert ex.dry_run(data).requests == 13
        rest = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        rest.extract(data)
        assert rest.stats.requests == 13 and rest.stats.cache_hits == 7
        assert max(srv.requests_per_pair().values()) == 1


def test_dry_run_counts_match_what_the_run_sends(tmp_path):
    data = convs(4)
    data[0].precomputed["requests"] = "given"
    data.append(Conversation("dup", "sim", data[2].messages))
    with FakeLLMServer() as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_tokens=200, **FAST)
        est = ex.dry_run(data)
        assert len(srv.log) == 0
        assert (est.conversations, est.pairs, est.precomputed, est.deduplicated, est.cached) == (5, 25, 1, 5, 0)
        assert est.requests == 19 and est.per_facet == {"requests": 3, **{f: 4 for f in BEHAVIOUR_FACETS[1:]}}
        assert est.max_output_tokens == 19 * 200
        assert est.output_tokens == sum(ex.prompts.facets[f].expected_output_tokens * n
                                        for f, n in est.per_facet.items())
        ex.extract(data)
        sent_chars = sum(len(m["content"]) for e in srv.log for m in e.body["messages"])
        assert len(srv.log) == est.requests
        assert est.prompt_tokens == -(-sent_chars // 4)
        assert "19 requests needed" in str(est)
        after = ex.dry_run(data)
        assert after.requests == 0 and after.cached == 19 and after.prompt_tokens == 0
