"""The training-loop sampler's API (issue 15) and the weights loader's edges
(issue 21 item 10): resume, fallback, argument checks, every malformed field a
located WeightsError, and a light import."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ensemble.sampler import SimulatorSampler, UnknownTaskError
from ensemble.weights_file import SCHEMA, WeightsError, load_weights

WEIGHTS = {"a": 0.5, "b": 0.3, "c": 0.2}
PER_TASK = {"coding": {"a": 0.1, "b": 0.9}, "writing": {"c": 0.25, "a": 0.75}}


def test_state_dict_resumes_the_same_schedule():
    for mode in ("low_discrepancy", "iid"):
        whole = SimulatorSampler(WEIGHTS, PER_TASK, seed=5, mode=mode)
        expected = [whole.draw(task=t) for t in ["coding", None, "writing"] * 200]

        first = SimulatorSampler(WEIGHTS, PER_TASK, seed=5, mode=mode)
        got = [first.draw(task=t) for t in ["coding", None, "writing"] * 70]
        saved = json.loads(json.dumps(first.state_dict()))      # survives a JSON file
        resumed = SimulatorSampler(WEIGHTS, PER_TASK, seed=5, mode=mode)
        resumed.load_state_dict(saved)
        assert resumed.counts(task="coding") == first.counts(task="coding")
        got += [resumed.draw(task=t) for t in ["coding", None, "writing"] * 130]
        assert got == expected, mode
        assert resumed.counts_by_task() == whole.counts_by_task()


def test_state_from_other_weights_or_seed_is_refused():
    state = SimulatorSampler(WEIGHTS, seed=1).state_dict()
    with pytest.raises(WeightsError, match="other weights, seed or mode"):
        SimulatorSampler(WEIGHTS, seed=2).load_state_dict(state)
    with pytest.raises(WeightsError, match="other weights"):
        SimulatorSampler({"a": 0.6, "b": 0.2, "c": 0.2}, seed=1).load_state_dict(state)
    with pytest.raises(WeightsError, match="not a sampler state"):
        SimulatorSampler(WEIGHTS, seed=1).load_state_dict({"counts": [1, 2, 3]})
    # a bad entry after a good one leaves the sampler as it was
    sampler = SimulatorSampler(WEIGHTS, PER_TASK, seed=1)
    drawn = [sampler.draw(task="coding") for _ in range(7)]
    good = SimulatorSampler(WEIGHTS, PER_TASK, seed=1)
    good_entry = (good.draw_many(3), good.state_dict()["streams"][0])[1]
    bad = dict(sampler.state_dict(), streams=[good_entry, {"task": None, "counts": [1, "x", 3]}])
    with pytest.raises(WeightsError, match="3 integers"):
        sampler.load_state_dict(bad)
    assert sampler.counts(task="coding") == {s: drawn.count(s) for s in WEIGHTS}
    assert sampler.counts() == {s: 0 for s in WEIGHTS}


def test_draw_many_counts_and_per_task_balance():
    s = SimulatorSampler(WEIGHTS, PER_TASK, seed=0)
    for task, n in (("coding", 1001), ("writing", 333), (None, 77)):
        draws = s.draw_many(n, task=task)
        w = PER_TASK.get(task, WEIGHTS)
        counts = s.counts(task)
        assert counts == {k: draws.count(k) for k in WEIGHTS}
        for k in WEIGHTS:
            assert abs(counts[k] - n * w.get(k, 0.0)) < 1
    assert s.draws(3, task="coding") == SimulatorSampler(WEIGHTS, PER_TASK, seed=0).draw_many(
        1004, task="coding")[-3:]


def test_unknown_task_is_an_error_unless_fallback_global():
    s = SimulatorSampler(WEIGHTS, PER_TASK)
    with pytest.raises(UnknownTaskError, match=r"task 'poetry' .*known tasks: 'coding', "
                                               r"'writing'.*fallback='global'") as info:
        s.draw(task="poetry")
    assert isinstance(info.value, KeyError) and info.value.field == "task"
    with pytest.raises(UnknownTaskError, match="no per-task mixtures"):
        SimulatorSampler(WEIGHTS).draw(task="coding")
    g = SimulatorSampler(WEIGHTS, PER_TASK, fallback="global")
    assert g.draw_many(10, task="poetry") == SimulatorSampler(WEIGHTS).draw_many(10)
    with pytest.raises(WeightsError, match="fallback"):
        SimulatorSampler(WEIGHTS, fallback="uniform")


@pytest.mark.parametrize("call,field,phrase", [
    (lambda: SimulatorSampler(WEIGHTS, seed=1.7), "seed", "non-negative integer, got float 1.7"),
    (lambda: SimulatorSampler(WEIGHTS, seed="3"), "seed", "non-negative integer"),
    (lambda: SimulatorSampler(WEIGHTS, seed=True), "seed", "non-negative integer"),
    (lambda: SimulatorSampler(WEIGHTS, seed=-1), "seed", ">= 0"),
    (lambda: SimulatorSampler(WEIGHTS).draw(task=123), "task", "string or None, got int 123"),
    (lambda: SimulatorSampler(WEIGHTS).draw_many(2.5), "n", "integer >= 0"),
    (lambda: SimulatorSampler(WEIGHTS).draw_many(-1), "n", "integer >= 0"),
])
def test_arguments_are_checked(call, field, phrase):
    with pytest.raises(WeightsError) as info:
        call()
    assert info.value.field == field and phrase in str(info.value)


def test_numpy_integer_seed_is_fine():
    assert (SimulatorSampler(WEIGHTS, seed=np.int64(4)).draw_many(20)
            == SimulatorSampler(WEIGHTS, seed=4).draw_many(20))


def test_tiny_and_many_weights_keep_the_bound():
    w = {"big": 0.5 - 1e-300, "tiny": 1e-300, **{f"s{i}": 0.5 / 1999 for i in range(1999)}}
    w["big"] = 1.0 - sum(v for k, v in w.items() if k != "big")
    s = SimulatorSampler(w, seed=2)
    draws = s.draw_many(4000)
    counts = s.counts()
    assert counts["tiny"] == 0
    assert max(abs(counts[k] - 4000 * v) for k, v in w.items()) < 1
    assert len(draws) == 4000


# ------------------------------------------------ weights-file edges (issue 21 item 10)

def _ok(**extra):
    return {"schema": SCHEMA, "weights": {"a": 0.5, "b": 0.5}, **extra}


DEEP = "[" * 100_000 + "]" * 100_000
FILE_EDGES = {
    "objective_list": (_ok(objective=[1, 2]), "objective", "must be a JSON object, got list"),
    "heldout_string": (_ok(heldout="x"), "heldout", "must be a JSON object, got str"),
    "config_number": (_ok(config=3), "config", "must be a JSON object, got int"),
    "weights_1e308": ({"schema": SCHEMA, "weights": {"a": 1e308, "b": 1e308}}, "weights",
                      "weights must be <= 1: a=1e+308, b=1e+308"),
    "weights_huge_int": ('{"schema": "%s", "weights": {"a": 1%s}}' % (SCHEMA, "0" * 400),
                         "weights", "weights must be between 0 and 1: a=<1329-bit integer>"),
    "weights_5000_digits": ('{"schema": "%s", "weights": {"a": 1%s}}' % (SCHEMA, "0" * 5000),
                            None, "invalid JSON"),
    "deep_document": ('{"schema": "%s", "weights": %s}' % (SCHEMA, DEEP), None,
                      "nested too deeply"),
    "deep_weight_value": ({"schema": SCHEMA, "weights": {"a": [[[[[[[[1]]]]]]]]}}, "weights",
                          "weights must be numbers: a=[[[[...]]]]"),
    "deep_config": (_ok(config=json.loads('{"x": ' * 100 + "1" + "}" * 100)), "config",
                    "nested more than 64"),
    "fingerprint_list": (_ok(data_fingerprint=[1]), "data_fingerprint", "must be a string"),
    "duplicate_key": ('{"schema": "%s", "weights": {"a": 0.5, "a": 0.5}}' % SCHEMA, "a",
                      "duplicate key 'a'"),
    "control_char_name": ({"schema": SCHEMA, "weights": {"a\x1b[2J": 1.0}}, "weights",
                          "contains control or invisible characters"),
    "zero_width_name": ({"schema": SCHEMA, "weights": {"sim\u200b": 0.5, "sim": 0.5}}, "weights",
                        "invisible"),
    "nfc_twins": ({"schema": SCHEMA, "weights": {"caf\u00e9": 0.5, "cafe\u0301": 0.5}},
                  "weights", "differ only in Unicode normal form"),
    "empty_task_name": (_ok(per_task={"": {"a": 1.0}}), "per_task", "non-empty strings"),
}


@pytest.mark.parametrize("name", list(FILE_EDGES))
def test_malformed_fields_are_located_weights_errors(tmp_path, name):
    doc, field, phrase = FILE_EDGES[name]
    path = tmp_path / "weights.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    err = info.value
    assert err.file == str(path) and err.field == field, str(err)
    assert phrase in err.message, err.message
    assert "\n" not in str(err) and len(str(err)) < 400


def test_encodings(tmp_path):
    path = tmp_path / "weights.json"
    text = json.dumps(_ok())
    path.write_text(text, encoding="utf-16")
    with pytest.raises(WeightsError, match="UTF-16 text; save it as UTF-8"):
        load_weights(path)
    path.write_bytes(b'{"schema": "x",\n"weights": {"a\xff": 1}}')
    with pytest.raises(WeightsError, match=r"weights.json:2: not UTF-8 text \(byte 0xff\)"):
        load_weights(path)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())             # a UTF-8 BOM is fine
    assert load_weights(path).weights == {"a": 0.5, "b": 0.5}


# ------------------------------------------------ light import

HEAVY = ("torch", "sentence_transformers", "cvxpy", "optuna", "matplotlib", "sklearn",
         "scipy", "pyarrow", "datasets", "transformers", "rich", "numpy")


def test_light_import():
    code = ("import sys, json, time; t = time.perf_counter(); "
            "from ensemble.sampler import SimulatorSampler; import ensemble.weights_file; "
            "s = SimulatorSampler({'a': 0.7, 'b': 0.3}); s.draw_many(10); "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
