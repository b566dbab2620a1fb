"""Scale edges (issue 21, item 9): measure.json stays proportional to what
users read (pairwise matrices above PAIRWISE_INLINE_MAX sources go to
pairwise.npz), the report's pairwise work is vectorised (same numbers as the
pair-by-pair definitions), figures show at most PLOT_MAX simulators, and an
out-of-memory error says what helps where it happened.

The figures at 2,000 sources are in scripts/bench_report_scale.py.
"""
from __future__ import annotations

import json
import struct
from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pytest

from ensemble.report import plots, simmap
from measure import divergence as dv
from measure import outputs
from measure.pipeline import REAL, pairwise_matrix


def _dists(n: int, k: int, facets=("a", "b", "c"), seed: int = 0) -> tuple[list[str], dict]:
    rng = np.random.default_rng(seed)
    names = [REAL] + [f"s{i:03d}" for i in rng.permutation(n)]
    dist = {f: {s: rng.dirichlet(np.full(k, 0.4)) for s in names} for f in facets}
    for f in facets:   # a twin simulator: ties in every pair ranking
        dist[f][names[2]] = dist[f][names[1]].copy()
        dist[f][names[3]][: k // 2] = 0.0        # empty bins on one side
        dist[f][names[3]] /= dist[f][names[3]].sum()
    return names, dist


def test_pairwise_matrix_is_the_pair_by_pair_js_to_the_bit():
    names, dist = _dists(40, 12)
    fw = {"a": 0.5, "b": 0.3, "c": 0.2}
    prep = SimpleNamespace(simulators=names[1:], facets=list(fw))
    got = pairwise_matrix(prep, dist, fw)
    assert got["names"] == names
    for f in fw:
        ref = np.zeros((len(names), len(names)))
        for i, j in combinations(range(len(names)), 2):
            ref[i, j] = ref[j, i] = dv.js(dist[f][names[i]], dist[f][names[j]])
        assert np.array_equal(got["per_facet"][f], ref)


def _reference_complementary(dist, fw, sims, top):
    q = {f: dist[f][REAL] for f in fw}
    alone = {s: simmap.overall_js(q, {f: dist[f][s] for f in fw}, fw) for s in sims}
    found = []
    for a, b in combinations(sims, 2):
        v = simmap.overall_js(q, {f: 0.5 * dist[f][a] + 0.5 * dist[f][b] for f in fw}, fw)
        best = min(alone[a], alone[b])
        if v < best:
            found.append({"a": a, "b": b, "js_a": alone[a], "js_b": alone[b], "js_mix": v, "gain": best - v,
                          "relative_gain": (best - v) / best if best > 0 else 0.0})
    found.sort(key=lambda p: (-p["gain"], p["a"], p["b"]))
    n = len(sims)
    return {"pairs": found[:top] if top else found, "n_complementary": len(found), "n_pairs": n * (n - 1) // 2}


@pytest.mark.parametrize("n", [3, 25, 90])
def test_simulator_map_pairs_match_the_definitions(n):
    names, dist = _dists(n, 8)
    fw = {"a": 0.5, "b": 0.3, "c": 0.2}
    for top in (None, 4, 10):
        assert simmap.complementary_pairs(dist, fw, names[1:], top=top) == \
            _reference_complementary(dist, fw, names[1:], top)
    js = pairwise_matrix(SimpleNamespace(simulators=names[1:], facets=list(fw)), dist, fw)["js"]
    pairs = [(float(js[i, j]), names[i], names[j]) for i, j in combinations(range(1, len(names)), 2)]
    for top in (1, 5, 40):
        got = simmap.extreme_pairs(names, js, top)
        as_json = lambda ps: [{"a": a, "b": b, "js": v} for v, a, b in ps]  # noqa: E731
        assert got["most_alike"] == as_json(sorted(pairs, key=lambda p: (p[0], p[1], p[2]))[:top])
        assert got["most_distinct"] == as_json(sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))[:top])


def _measurement_stub(n_sources: int):
    """What the pairwise part of measure.json reads of a Measurement."""
    names, dist = _dists(n_sources - 1, 6)
    fw = {"a": 0.5, "b": 0.3, "c": 0.2}
    pw = pairwise_matrix(SimpleNamespace(simulators=names[1:], facets=list(fw)), dist, fw)
    return SimpleNamespace(pairwise=pw, prep=SimpleNamespace(conversations=[], representation={"x": 1}),
                           config=SimpleNamespace(to_dict=lambda: {"seed": 0}))


def test_large_pairwise_matrices_go_to_an_npz_and_read_back(tmp_path, monkeypatch):
    small = _measurement_stub(6)
    assert "js" in outputs.pairwise_json(small) and outputs.pairwise_npz(small) is None   # inline as before
    monkeypatch.setattr(outputs, "PAIRWISE_INLINE_MAX", 5)
    m = _measurement_stub(30)
    doc = outputs.pairwise_json(m)
    assert "js" not in doc and "per_facet" not in doc
    assert doc["file"] == "pairwise.npz" and doc["names"] == m.pairwise["names"]
    assert doc["arrays"]["per_facet"] == {f: f"per_facet/{f}" for f in ("a", "b", "c")}
    off = m.pairwise["js"][~np.eye(30, dtype=bool)]
    assert doc["summary"] == {"js_min": float(off.min()), "js_median": float(np.median(off)),
                              "js_max": float(off.max())}
    (tmp_path / "pairwise.npz").write_bytes(outputs.pairwise_npz(m))
    from measure.run_folder import measurement_run_id
    measure = {"pairwise": doc, "run_id": measurement_run_id(m)}
    back = outputs.read_pairwise(measure, tmp_path)
    assert back["names"] == m.pairwise["names"] and np.array_equal(back["js"], m.pairwise["js"])
    assert all(np.array_equal(back["per_facet"][f], m.pairwise["per_facet"][f]) for f in "abc")
    assert outputs.read_pairwise(measure, tmp_path, per_facet=False)["per_facet"] == {}
    with pytest.raises(outputs.EnsembleFitError, match="comes from another run"):
        outputs.read_pairwise({**measure, "run_id": "run-0000000000000000"}, tmp_path)
    (tmp_path / "pairwise.npz").unlink()
    with pytest.raises(outputs.EnsembleFitError, match="cannot read .*pairwise.npz"):
        outputs.read_pairwise(measure, tmp_path)


def test_a_large_run_folder_has_a_small_measure_json_and_still_reports(demo_run, tmp_path, monkeypatch):
    """The demo run rewritten with the matrices out of line: `report` reads them from pairwise.npz."""
    import shutil

    from ensemble.cli import main
    out = tmp_path / "run"
    shutil.copytree(demo_run, out)
    inline = json.loads((out / "measure.json").read_text())
    monkeypatch.setattr(outputs, "PAIRWISE_INLINE_MAX", 3)
    monkeypatch.setattr(outputs, "measurement_run_id", lambda m: inline["run_id"])   # the run's own id
    pw = inline["pairwise"]
    m = SimpleNamespace(pairwise={"names": pw["names"], "js": np.asarray(pw["js"]),
                                  "per_facet": {f: np.asarray(v) for f, v in pw["per_facet"].items()}})
    doc = {**inline, "pairwise": outputs.pairwise_json(m)}
    (out / "measure.json").write_text(json.dumps(doc))
    (out / "pairwise.npz").write_bytes(outputs.pairwise_npz(m))
    (out / "simmap.json").unlink()                  # rebuilt from the files
    assert (out / "measure.json").stat().st_size < len(json.dumps(inline))
    assert main(["report", str(out)]) == 0
    assert (out / "plots" / "simmap.png").read_bytes()[:4] == b"\x89PNG"


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_figures_show_at_most_plot_max_simulators():
    n = 3 * plots.PLOT_MAX
    names, dist = _dists(n, 6)
    sims = names[1:]
    fw = {"a": 0.5, "b": 0.3, "c": 0.2}
    js = pairwise_matrix(SimpleNamespace(simulators=sims, facets=list(fw)), dist, fw)["js"]
    gap = {s: {"overall": {"js": float(js[0, i + 1]), "js_ci": [0.0, 1.0]},
               **{f: {"js": 0.1} for f in fw}} for i, s in enumerate(sims)}
    measure = {"ranking": sorted(sims, key=lambda s: gap[s]["overall"]["js"]), "gap": gap, "facets": list(fw),
               "noise_floor": {"overall": {"js": 0.01}}, "pairwise": {"names": names, "js": js}}
    # A row per simulator would be 0.45 in x 100 dpi each: 150 rows = 6,750 px.
    _, h = _png_size(plots.ranking_plot(measure))
    assert h < 0.45 * (plots.PLOT_MAX + 10) * plots.DPI
    _, h = _png_size(plots.facet_heatmap(measure))
    assert h < 0.42 * (plots.PLOT_MAX + 10) * plots.DPI
    w = {s: 1.0 / n for s in sims}
    _, h = _png_size(plots.weights_plot({"weights": w}))
    assert h < 0.45 * (plots.PLOT_MAX + 10) * plots.DPI
    sm = simmap.simulator_map(names, js)
    wpx, hpx = _png_size(plots.pairwise_plot(sm, measure))
    assert max(wpx, hpx) < 0.55 * (plots.PLOT_MAX + 10) * plots.DPI


def test_out_of_memory_says_what_helps_where_it_happened(monkeypatch, capsys):
    from ensemble.cli import commands, main, memory_hint
    # What 100k sources do: the pairwise matrices need sources^2 floats per facet.
    prep = SimpleNamespace(simulators=[str(i) for i in range(10**6)], facets=["a"])
    try:
        pairwise_matrix(prep, {}, {"a": 1.0})
    except MemoryError as exc:
        msg = memory_hint(exc)
    else:
        pytest.skip("an 8 TB allocation succeeded")
    assert msg.startswith(" while comparing sources; measure fewer sources per run (pairwise matrices grow with "
                          "the square of the number of sources)")
    assert "--k" not in msg

    def oom(args):   # raised outside the packages: the generic hint
        raise MemoryError()
    monkeypatch.setattr(commands, "cmd_inspect", oom)
    capsys.readouterr()
    assert main(["inspect", "x"]) == 3
    err = capsys.readouterr().err.strip()
    assert err == ("error: out of memory; what helps: fewer conversations per source (--max-per-source N), "
                   "fewer sources per run, or fewer facets (--facets a,b)")
