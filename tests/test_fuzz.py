"""Property-based tests: the loaders on arbitrary JSON-ish records, and the
divergence functions on arbitrary histograms."""
from __future__ import annotations

import gzip
import json
import math
import tempfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from measure import divergence as dv
from measure.errors import InputError
from measure.loaders import load_dataset

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ loaders

KEYS = ["id", "source", "messages", "role", "content", "task", "intent", "metadata", "conversations",
        "from", "value", "conversation", "real_messages", "simulated_messages", "requests_facet",
        "style_facet", "type", "text", "conversation_hash"]
ROLES = ["user", "assistant", "system", "tool", "human", "gpt", "narrator", "", "USER"]

leaf = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
        | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
        | st.sampled_from(ROLES))
json_value = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5), max_leaves=16)

# Records close to the real layouts reach deeper into the validation code.
content = st.text(max_size=30) | st.none() | st.integers() | st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"])},
                          optional={"text": st.text(max_size=10) | st.integers()}), max_size=2)
message = st.fixed_dictionaries({}, optional={"role": st.sampled_from(ROLES) | leaf, "content": content,
                                              "from": st.sampled_from(ROLES), "value": content})
messages = st.lists(message, max_size=5)
ident = st.text(min_size=1, max_size=6) | st.integers(0, 5) | st.sampled_from(["g1", "g2"]) | leaf
record = st.one_of(
    st.fixed_dictionaries({"messages": messages}, optional={"id": ident, "source": leaf | st.text(max_size=8),
                                                           "task": leaf, "metadata": json_value,
                                                           "requests_facet": leaf}),
    st.fixed_dictionaries({"conversations": messages}, optional={"id": ident}),
    st.fixed_dictionaries({"conversation": messages}, optional={"conversation_hash": ident}),
    st.fixed_dictionaries({"id": ident}, optional={"real_messages": messages | leaf,
                                                   "simulated_messages": messages | leaf}),
    json_value,
)
line = record.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=40) | st.text(max_size=40).map(
    lambda t: t.encode("utf-8", "surrogatepass"))

GOOD = [{"id": f"g{i}", "messages": [{"role": "user", "content": f"hello {i}"},
                                     {"role": "assistant", "content": "hi"}]} for i in (1, 2)]


def _write(folder: Path, lines: list[bytes], layout: str) -> Path:
    if layout == "jsonl":
        data = b"\n".join([json.dumps(g).encode() for g in GOOD] + lines) + b"\n"
        name = "sim_a.jsonl"
    elif layout == "jsonl.gz":
        data = gzip.compress(b"\n".join([json.dumps(g).encode() for g in GOOD] + lines))
        name = "sim_a.jsonl.gz"
    else:  # a JSON array: the fuzzed items that are JSON join it as records
        items = [json.dumps(g).encode() for g in GOOD] + lines
        data = b"[" + b",\n".join(items) + b"]"
        name = "sim_a.json"
    (folder / name).write_bytes(data)
    return folder


def _check_dataset(ds) -> None:
    assert len(ds.conversations) >= 1
    for c in ds.conversations:
        assert c.user_turns and all(isinstance(t, str) and t.strip() for t in c.user_turns)
        c.content_hash()  # every kept text can be hashed (and so cached)
    keys = [(c.source, c.id) for c in ds.conversations]
    assert len(keys) == len(set(keys))


@SETTINGS
@given(lines=st.lists(line, min_size=1, max_size=6), layout=st.sampled_from(["jsonl", "json", "jsonl.gz"]))
def test_loader_raises_only_input_errors(lines, layout):
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp), lines, layout)
        try:
            ds = load_dataset(root)
        except InputError as exc:
            assert "\n" not in str(exc) and exc.file is not None
        else:
            _check_dataset(ds)


@SETTINGS
@given(lines=st.lists(line, min_size=1, max_size=6), layout=st.sampled_from(["jsonl", "json"]))
def test_loader_never_raises_under_skip(lines, layout):
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp), lines, layout)
        ds = load_dataset(root, on_error="skip")
        _check_dataset(ds)
        rep = ds.report
        assert rep.skipped == sum(rep.reasons.values())
        assert rep.records_kept <= rep.records_read


def _loaded(root: Path, **kw):
    """What a load gave, comparable across loads (NaN in metadata compares
    equal through its JSON text), or the error it raised."""
    try:
        ds = load_dataset(root, on_error="skip", min_conversations=1, **kw)
    except InputError as exc:
        return str(exc)
    r = ds.report
    return ([(c.id, c.source, c.task, c.intent, json.dumps(c.metadata), c.precomputed, c.origin,
              c.messages, c.content_hash()) for c in ds.conversations],
            ds.real_sources, ds.simulators, {k: vars(v) for k, v in r.files.items()}, r.skipped,
            dict(r.reasons), r.examples, r.warnings, r.empty_turns_dropped, r.real_deduplicated)


@SETTINGS
@given(lines=st.lists(line, min_size=1, max_size=6), clean=st.lists(record, max_size=4),
       layout=st.sampled_from(["jsonl", "json", "jsonl.gz"]), drop=st.booleans())
def test_parse_cache_replays_what_a_fresh_parse_gives(lines, clean, layout, drop):
    """A file stored by the parse cache and replayed loads as a fresh parse
    does: the same conversations, digests, errors and warnings. (In a 400-
    example run, 145 examples stored at least one file.)"""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").mkdir()
        root = _write(Path(tmp) / "data", lines, layout)
        # A second file of well-formed records: often clean, so often stored.
        (root / "sim_b.jsonl").write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in clean)
                                           + json.dumps(GOOD[0]).encode() + b"\n")
        fresh = _loaded(root, drop_empty_turns=drop)
        cache = Path(tmp) / "cache"
        assert _loaded(root, drop_empty_turns=drop, cache_dir=cache) == fresh
        assert _loaded(root, drop_empty_turns=drop, cache_dir=cache) == fresh


# --------------------------------------------------------------- divergences

def _hist(k: int):
    return hnp.arrays(np.float64, k, elements=st.one_of(
        st.just(0.0), st.floats(min_value=0.0, max_value=1e6, allow_subnormal=False),
        st.floats(min_value=1e-290, max_value=1e-5)))


@st.composite
def pair(draw):
    k = draw(st.integers(1, 40))
    p, q = draw(_hist(k)), draw(_hist(k))
    assume(p.sum() > 0 and q.sum() > 0)
    return p, q


TOL = 1e-12


@SETTINGS
@given(pq=pair())
def test_divergences_are_finite_and_in_range(pq):
    p, q = pq
    d = dv.all_divergences(p, q)
    assert all(math.isfinite(v) for v in d.values())
    assert 0.0 <= d["js"] <= 1.0
    assert 0.0 <= d["js_nats"] <= math.log(2) + TOL
    assert 0.0 <= d["tv"] <= 1.0 and 0.0 <= d["hellinger"] <= 1.0
    assert d["kl_forward"] >= 0.0 and d["kl_backward"] >= 0.0
    # Classical bounds tie the metrics together: JS (bits) <= TV, H^2 <= TV <= sqrt(2) H.
    assert d["js"] <= d["tv"] + 1e-9
    assert d["hellinger"] ** 2 <= d["tv"] + 1e-9 and d["tv"] <= math.sqrt(2) * d["hellinger"] + 1e-9
    # The dict agrees with the scalar functions and the row kernels.
    assert d["js"] == dv.js(p, q) and d["tv"] == dv.total_variation(p, q)
    assert d["hellinger"] == dv.hellinger(p, q) and d["kl_forward"] == dv.kl(p, q)
    assert d["js_nats"] == pytest.approx(dv.js(p, q, base=math.e), abs=TOL)
    assert dv.js_rows(np.vstack([p, q]), q)[0] == pytest.approx(d["js"], abs=TOL)


@SETTINGS
@given(pq=pair())
def test_symmetric_divergences_are_symmetric(pq):
    p, q = pq
    assert dv.js(p, q) == dv.js(q, p)
    assert dv.total_variation(p, q) == dv.total_variation(q, p)
    assert dv.hellinger(p, q) == dv.hellinger(q, p)
    fwd, bwd = dv.all_divergences(p, q), dv.all_divergences(q, p)
    assert fwd["kl_forward"] == bwd["kl_backward"] and fwd["kl_backward"] == bwd["kl_forward"]


@SETTINGS
@given(pq=pair(), scale=st.floats(min_value=1e-3, max_value=1e3))
def test_identical_distributions_have_zero_divergence(pq, scale):
    p, _ = pq
    d = dv.all_divergences(p, p)
    assert d["js"] == 0.0 and d["js_nats"] == 0.0 and d["tv"] == 0.0
    assert d["kl_forward"] == 0.0 and d["kl_backward"] == 0.0
    assert d["hellinger"] <= 1e-7  # sqrt(1 - BC) turns BC's last-bit error into ~1e-8
    # Counts and probabilities of the same shape are the same distribution.
    s = dv.all_divergences(p, p * scale)
    assert s["js"] <= TOL and s["tv"] <= TOL and s["kl_forward"] <= TOL and s["hellinger"] <= 1e-7


def test_hellinger_of_identical_distributions_is_exactly_zero():
    p = np.random.default_rng(0).random((200, 17))
    assert max(dv.hellinger(row, row) for row in p) == 0.0


# Found by fuzzing: a subnormal bin used to make the midpoint underflow.
def test_js_of_a_subnormal_bin_stays_small():
    assert dv.js([1.0, 0.0], [1.0, 5e-324]) < 1e-9


@SETTINGS
@given(pq=pair(), i=st.integers(0, 39), bad=st.sampled_from([-1.0, float("nan"), float("inf")]))
def test_invalid_histograms_are_rejected(pq, i, bad):
    p, q = pq
    p = p.copy()
    p[i % len(p)] = bad
    for fn in (dv.js, dv.kl, dv.total_variation, dv.hellinger, dv.all_divergences):
        with pytest.raises(ValueError):
            fn(p, q)
        with pytest.raises(ValueError):
            fn(q, p)
