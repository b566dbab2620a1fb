"""The described-facet cache: one binary file per table, exact and byte-stable."""
from __future__ import annotations

import numpy as np

from measure.facet_table import FacetColumn, FacetTable, _read_table, _write_table, extract_facets
from measure.facets.offline import RuleFacetExtractor


def _table() -> FacetTable:
    feats = np.array([[0.1, np.nan], [1e-7, 3.0], [2.5, -1.0]], dtype=np.float32)
    return FacetTable(columns={
        "style": FacetColumn("style", ["terse; lower case", "polite, \u00e9t\u00e9 \u2713"],
                             np.array([0, 1, 0], dtype=np.int32), features=feats),
        "raw": FacetColumn("raw", ["a", "b", "c"], np.array([2, 1, 0], dtype=np.int32)),
    }, failures=[("id-9", "sim", "style", "rules failed: KeyError")])


def test_round_trip_is_exact_and_the_same_table_gives_the_same_bytes(tmp_path):
    t = _table()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    _write_table(a, t)
    _write_table(b, t)
    assert a.read_bytes() == b.read_bytes()
    back = _read_table(a, print, ["style", "raw"], 3)
    assert list(back.columns) == ["style", "raw"]
    assert back.columns["style"].texts == t.columns["style"].texts
    assert back.columns["style"].index.dtype == np.int32
    assert np.array_equal(back.columns["style"].index, [0, 1, 0])
    # features come back bit for bit, NaN (a missing feature) included
    assert np.array_equal(back.columns["style"].features, t.columns["style"].features, equal_nan=True)
    assert back.columns["raw"].features is None
    assert back.failures == [("id-9", "sim", "style", "rules failed: KeyError")]


def test_a_table_for_other_conversations_or_a_torn_file_is_recomputed(tmp_path):
    path = tmp_path / "t.npz"
    _write_table(path, _table())
    logs = []
    assert _read_table(path, logs.append, ["style", "raw"], 4) is None   # 4 rows expected, 3 stored
    assert "does not match" in logs[-1] and not path.exists()
    _write_table(path, _table())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _read_table(path, logs.append) is None and "unreadable" in logs[-1]


def test_extract_facets_reads_back_what_it_wrote(tmp_path):
    from ensemble.demo.generator import generate_demo
    convs = generate_demo(seed=1, n_real=30, n_per_simulator=5).conversations
    facets = ["requests", "style", "dialogue_acts"]
    first = extract_facets(convs, RuleFacetExtractor(), facets, cache_dir=tmp_path)
    files = list((tmp_path / "facets").glob("*.npz"))
    assert len(files) == 1
    again = extract_facets(convs, RuleFacetExtractor(), facets, cache_dir=tmp_path)
    for f in facets:
        assert again.columns[f].texts == first.columns[f].texts
        assert np.array_equal(again.columns[f].index, first.columns[f].index)
        assert np.array_equal(again.columns[f].features, first.columns[f].features, equal_nan=True)
    # other conversations: another key, another file
    extract_facets(convs[:-1], RuleFacetExtractor(), facets, cache_dir=tmp_path)
    assert len(list((tmp_path / "facets").glob("*.npz"))) == 2


def test_parallel_describing_gives_the_one_process_table(monkeypatch):
    """Big inputs are described by a fork()ed pool and assembled from compact
    per-chunk parts; the table must be the one a single process builds."""
    import multiprocessing as mp

    import pytest

    from ensemble.demo.generator import generate_demo
    from measure import facet_table
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork() on this platform: describing stays in one process")
    convs = generate_demo(seed=2, n_real=150, n_per_simulator=30).conversations
    facets = ["requests", "context", "responses", "style", "dialogue_acts"]
    monkeypatch.setenv("ENSEMBLE_FIT_JOBS", "2")
    monkeypatch.setattr(facet_table, "PARALLEL_MIN_CONVERSATIONS", 10)
    monkeypatch.setattr(facet_table, "_CHUNK_CONVERSATIONS", 37)   # many chunks, uneven last one
    assert facet_table._n_workers(RuleFacetExtractor(), len(convs)) == 2
    par = extract_facets(convs, RuleFacetExtractor(), facets)
    monkeypatch.setattr(facet_table, "PARALLEL_MIN_CONVERSATIONS", 10 ** 9)
    one = extract_facets(convs, RuleFacetExtractor(), facets)
    for f in facets:
        assert par.columns[f].texts == one.columns[f].texts
        assert np.array_equal(par.columns[f].index, one.columns[f].index)
        assert np.array_equal(par.columns[f].features, one.columns[f].features, equal_nan=True)


def test_describing_chunks_tile_the_input_and_stay_few_at_scale():
    """Each describing worker takes one chunk and exits (its copied pages go
    back): chunks must cover every row once, in order, and grow with the
    input so that a million conversations do not mean hundreds of forks."""
    from measure import facet_table
    for n, workers in [(1, 2), (3999, 2), (4001, 2), (130_000, 2), (1_000_000, 2), (1_000_000, 7)]:
        bounds = facet_table._chunk_bounds(n, workers)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a < b for a, b in bounds)
        assert all(b0[1] == b1[0] for b0, b1 in zip(bounds, bounds[1:]))
        # Either few chunks, or chunks of the minimum size (small inputs).
        assert len(bounds) <= workers * facet_table._CHUNKS_PER_WORKER \
            or all(b - a == facet_table._CHUNK_CONVERSATIONS for a, b in bounds[:-1])
    assert len(facet_table._chunk_bounds(1_000_000, 2)) == 16


def test_parallel_describing_leaves_the_garbage_collector_as_it_was(monkeypatch):
    """The parent's objects are frozen out of the workers' collector only
    while the pool runs."""
    import gc
    import multiprocessing as mp

    import pytest

    from ensemble.demo.generator import generate_demo
    from measure import facet_table
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork() on this platform")
    convs = generate_demo(seed=3, n_real=40, n_per_simulator=10).conversations
    monkeypatch.setenv("ENSEMBLE_FIT_JOBS", "2")
    monkeypatch.setattr(facet_table, "PARALLEL_MIN_CONVERSATIONS", 10)
    monkeypatch.setattr(facet_table, "_CHUNK_CONVERSATIONS", 20)
    frozen = gc.get_freeze_count()
    extract_facets(convs, RuleFacetExtractor(), ["requests", "style"])
    assert gc.get_freeze_count() == frozen == 0
