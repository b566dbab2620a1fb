"""SimulatorSampler: balance of the low-discrepancy schedule, seeding,
per-task conditioning, and validation of weights and weights files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ensemble.sampler import SimulatorSampler
from ensemble.weights_file import SCHEMA, WeightsError, load_weights, write_weights


def random_weights(rng, S, sparse=False):
    w = rng.dirichlet(np.ones(S) * rng.choice([0.05, 0.3, 1.0, 5.0]))
    if sparse and S > 1:
        w[rng.random(S) < 0.4] = 0.0
        if w.sum() == 0:
            w[0] = 1.0
    w = w / w.sum()
    names = [f"sim{i}" for i in range(S)]
    return dict(zip(names, w)), names, w


def deviations(seq, names, w):
    """max over prefixes and simulators of |count - n * w|."""
    idx = {n: i for i, n in enumerate(names)}
    onehot = np.zeros((len(seq), len(names)))
    onehot[np.arange(len(seq)), [idx[s] for s in seq]] = 1
    counts = np.cumsum(onehot, axis=0)
    n = np.arange(1, len(seq) + 1)[:, None]
    return np.abs(counts - n * w).max()


def test_low_discrepancy_tracks_weights_at_every_prefix():
    rng = np.random.default_rng(2024)
    for trial in range(30):
        S = int(rng.integers(1, 26))
        weights, names, w = random_weights(rng, S, sparse=trial % 3 == 0)
        seed = int(rng.integers(0, 10_000))
        seq = SimulatorSampler(weights, seed=seed).draws(1000)
        counts = np.array([seq.count(n) for n in names])
        assert np.all(np.abs(counts / 1000 - w) <= S / 1000)
        # stronger: Tijdeman's bound (with the dither) at every prefix
        N = int((w > 0).sum())
        bound = 1 - 1 / (4 * (N - 1)) if N > 1 else 0.0
        assert deviations(seq, names, w) <= bound + 1e-9
        assert all(weights[s] > 0 for s in set(seq))       # zero weight: never drawn


def test_low_discrepancy_seeds_differ_but_replay():
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    seqs = [SimulatorSampler(weights, seed=s).draws(200) for s in range(6)]
    assert len({tuple(s) for s in seqs}) >= 4                # seeds give different orders
    for s in seqs:
        assert deviations(s, ["a", "b", "c"], np.array([0.5, 0.3, 0.2])) < 1
    sampler = SimulatorSampler(weights, seed=3)
    first = sampler.draws(50)
    assert SimulatorSampler(weights, seed=3).draws(50) == first
    sampler.reset()
    assert sampler.draws(50) == first
    # draws(n) is n calls to draw()
    one_by_one = SimulatorSampler(weights, seed=3)
    assert [one_by_one.draw() for _ in range(50)] == first


def test_equal_weights_round_robin_in_blocks():
    names = ["a", "b", "c", "d"]
    seq = SimulatorSampler({n: 0.25 for n in names}, seed=1).draws(40)
    for i in range(0, 40, 4):
        assert sorted(seq[i:i + 4]) == names                 # each block of 4 has each once


def test_iid_mode_is_seeded_numpy_choice():
    weights = {"a": 0.6, "b": 0.3, "c": 0.1}
    p = np.array(list(weights.values()))
    sampler = SimulatorSampler(weights, seed=7, mode="iid")
    seq = sampler.draws(300)
    rng = np.random.default_rng(7)
    assert seq == [["a", "b", "c"][rng.choice(3, p=p)] for _ in range(300)]
    assert SimulatorSampler(weights, seed=8, mode="iid").draws(300) != seq
    big = SimulatorSampler(weights, seed=9, mode="iid").draws(20_000)
    for n, w in weights.items():
        sd = np.sqrt(w * (1 - w) / 20_000)
        assert abs(big.count(n) / 20_000 - w) < 4 * sd


def test_per_task_conditioning():
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    per_task = {"coding": {"a": 0.1, "b": 0.9}, "writing": {"c": 1.0}}
    s = SimulatorSampler(weights, per_task, seed=0, fallback="global")
    coding = s.draws(500, task="coding")
    assert set(coding) == {"a", "b"}
    assert abs(coding.count("a") - 50) < 1 and abs(coding.count("b") - 450) < 1
    assert set(s.draws(20, task="writing")) == {"c"}
    assert s.weights_for("coding") == {"a": 0.1, "b": 0.9, "c": 0.0}
    # with fallback="global", unknown tasks use the global weights and stream
    assert s.weights_for("poetry") == weights
    mixed = s.draws(50, task="poetry") + s.draws(50)
    assert deviations(mixed, ["a", "b", "c"], np.array([0.5, 0.3, 0.2])) < 1
    assert s.counts() == {n: mixed.count(n) for n in weights}
    # streams are independent: interleaving tasks does not change either sequence
    t = SimulatorSampler(weights, per_task, seed=0)
    alone = t.draws(30, task="coding")
    u = SimulatorSampler(weights, per_task, seed=0)
    inter = []
    for _ in range(30):
        inter.append(u.draw(task="coding"))
        u.draw()
    assert inter == alone
    strict = SimulatorSampler(weights, per_task, unknown_task="raise")
    with pytest.raises(KeyError, match="poetry"):
        strict.draw(task="poetry")


@pytest.mark.parametrize("weights,match", [
    ({"a": 0.5, "b": 0.4}, "sum to 1"),
    ({"a": 1.2, "b": -0.2}, "b=-0.2"),
    ({"a": float("nan"), "b": 1.0}, "finite.*a=nan"),
    ({"a": float("inf")}, "finite"),
    ({}, "non-empty"),
    ({"a": "0.5", "b": 0.5}, "numbers"),
    ({"a": True}, "numbers"),
])
def test_bad_weights_raise(weights, match):
    with pytest.raises(ValueError, match=match):
        SimulatorSampler(weights)


def test_weights_are_not_renormalised():
    ok = SimulatorSampler({"a": 0.5, "b": 0.5 + 5e-7})
    assert ok.weights == {"a": 0.5, "b": 0.5 + 5e-7}
    with pytest.raises(ValueError, match="per_task.coding"):
        SimulatorSampler({"a": 0.5, "b": 0.5}, {"coding": {"a": 0.5, "b": 0.6}})
    with pytest.raises(ValueError, match="missing from the global weights"):
        SimulatorSampler({"a": 0.5, "b": 0.5}, {"coding": {"zz": 1.0}})
    with pytest.raises(ValueError, match="mode"):
        SimulatorSampler({"a": 1.0}, mode="random")


def test_from_file_roundtrip(tmp_path):
    path = tmp_path / "weights.json"
    write_weights(path, {"a": 0.7, "b": 0.3}, per_task={"t": {"b": 1.0}},
                  objective={"js_bits": 0.12}, data_fingerprint="abc")
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA and doc["data_fingerprint"] == "abc"
    wf = load_weights(path)
    assert wf.weights == {"a": 0.7, "b": 0.3} and wf.per_task == {"t": {"b": 1.0}}
    s = SimulatorSampler.from_file(path, seed=1)
    assert s.draws(10).count("a") == 7
    assert set(s.draws(5, task="t")) == {"b"}
    iid = SimulatorSampler.from_file(str(path), seed=1, mode="iid")
    assert iid.mode == "iid"


@pytest.mark.parametrize("doc,match", [
    ({"schema": "ensemble-fit/weights/v2", "weights": {"a": 1.0}}, "unknown schema"),
    ({"weights": {"a": 1.0}}, "unknown schema None"),
    ({"schema": SCHEMA}, "weights"),
    ({"schema": SCHEMA, "weights": {"a": 0.2}}, "sum to 1"),
    ({"schema": SCHEMA, "weights": {"a": 1.0}, "per_task": {"t": {"a": -1.0}}}, "per_task.t"),
    ([1, 2], "JSON object"),
])
def test_bad_files_raise(tmp_path, doc, match):
    path = tmp_path / "weights.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WeightsError, match=match) as info:
        SimulatorSampler.from_file(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_invalid_json_and_missing_file(tmp_path):
    path = tmp_path / "weights.json"
    path.write_text('{"schema": "ensemble-fit/weights/v1",\n "weights": {')
    with pytest.raises(WeightsError, match="invalid JSON"):
        load_weights(path)
    with pytest.raises(WeightsError, match="cannot read"):
        load_weights(tmp_path / "nope.json")
