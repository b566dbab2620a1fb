"""The simulator map: which simulators behave alike, which differ most, and
which pairs complement each other (their 50/50 mix beats both alone).

Input is the pairwise JS matrix of measure.json (real users included as one
of the names) and, for complementary pairs, the per-facet distributions.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform

from measure import divergence as dv
from measure.pipeline import REAL, Measurement

SIMMAP_SCHEMA = "ensemble-fit/simmap/v1"


def _condensed(js: np.ndarray) -> np.ndarray:
    d = np.asarray(js, dtype=np.float64)
    d = 0.5 * (d + d.T)  # exact symmetry; the matrix is symmetric up to round-off
    np.fill_diagonal(d, 0.0)
    return squareform(np.clip(d, 0.0, None), checks=False)


def dendrogram_order(names: list[str], js: np.ndarray) -> dict:
    """Average-linkage tree on the JS matrix and its leaf order.

    Leaves are put in optimal order (adjacent leaves as alike as possible), so
    the heatmap drawn in this order shows blocks of similar simulators.
    """
    if len(names) < 2:
        return {"linkage": [], "order": list(names)}
    y = _condensed(js)
    Z = linkage(y, method="average")
    if len(names) > 2:
        Z = optimal_leaf_ordering(Z, y)
    return {"linkage": Z.tolist(), "order": [names[i] for i in leaves_list(Z)]}


def extreme_pairs(names: list[str], js: np.ndarray, top: int = 5, exclude: tuple[str, ...] = (REAL,)) -> dict:
    """Most alike (lowest JS) and most distinct (highest JS) simulator pairs."""
    idx = [i for i, n in enumerate(names) if n not in exclude]
    pairs = [(float(js[i, j]), names[i], names[j]) for i, j in combinations(idx, 2)]
    alike = sorted(pairs, key=lambda p: (p[0], p[1], p[2]))[:top]
    distinct = sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))[:top]
    as_json = lambda ps: [{"a": a, "b": b, "js": v} for v, a, b in ps]  # noqa: E731
    return {"most_alike": as_json(alike), "most_distinct": as_json(distinct)}


def overall_js(real: dict[str, np.ndarray], sim: dict[str, np.ndarray], fw: dict[str, float]) -> float:
    return float(sum(w * dv.js(real[f], sim[f]) for f, w in fw.items()))


def complementary_pairs(dist: dict[str, dict[str, np.ndarray]], fw: dict[str, float], simulators: list[str],
                        real: str = REAL, top: int | None = 10) -> dict:
    """Pairs whose 50/50 mixture is closer to real users than either alone.

    gain = min(JS(a), JS(b)) - JS(0.5 P_a + 0.5 P_b), overall (facet-weighted).
    Returns {"pairs": best first, "n_complementary", "n_pairs"}.
    """
    q = {f: np.asarray(dist[f][real], float) for f in fw}
    alone = {s: overall_js(q, {f: dist[f][s] for f in fw}, fw) for s in simulators}
    found, n_pairs = [], 0
    for a, b in combinations(simulators, 2):
        n_pairs += 1
        mix = {f: 0.5 * np.asarray(dist[f][a], float) + 0.5 * np.asarray(dist[f][b], float) for f in fw}
        v = overall_js(q, mix, fw)
        best = min(alone[a], alone[b])
        if v < best:
            found.append({"a": a, "b": b, "js_a": alone[a], "js_b": alone[b], "js_mix": v, "gain": best - v,
                          "relative_gain": (best - v) / best if best > 0 else 0.0})
    found.sort(key=lambda p: (-p["gain"], p["a"], p["b"]))
    return {"pairs": found[:top] if top else found, "n_complementary": len(found), "n_pairs": n_pairs}


def simulator_map(names: list[str], js: np.ndarray, dist: dict[str, dict[str, np.ndarray]] | None = None,
                  fw: dict[str, float] | None = None, by_family: dict | None = None, top: int = 5) -> dict:
    js = np.asarray(js, dtype=np.float64)
    sims = [n for n in names if n != REAL]
    out = {"schema": SIMMAP_SCHEMA, "names": list(names), **dendrogram_order(names, js),
           **extreme_pairs(names, js, top)}
    if REAL in names:
        r = names.index(REAL)
        out["nearest_to_real"] = sorted(({"name": n, "js": float(js[r, i])} for i, n in enumerate(names)
                                         if n != REAL), key=lambda d: (d["js"], d["name"]))
    out["complementary"] = complementary_pairs(dist, fw, sims, top=2 * top) if dist and fw and len(sims) > 1 \
        else {"pairs": [], "n_complementary": 0, "n_pairs": 0}
    out["groups"] = by_family or {}
    return out


def from_measurement(m: Measurement, top: int = 5) -> dict:
    return simulator_map(list(m.pairwise["names"]), m.pairwise["js"], m.dist, m.facet_weights,
                         m.by_family, top)


def from_files(measure: dict, npz: dict | None, top: int = 5) -> dict:
    """Rebuild the map from measure.json and distributions.npz (`report RUN_DIR`)."""
    dist = None
    if npz is not None:
        dist = {f: {s: np.asarray(npz[f"{f}/{s}"]) for s in [REAL] + measure["simulators"] if f"{f}/{s}" in npz}
                for f in measure["facets"]}
    return simulator_map(list(measure["pairwise"]["names"]), np.asarray(measure["pairwise"]["js"]), dist,
                         measure.get("facet_weights"), measure.get("by_family"), top)
