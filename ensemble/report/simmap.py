"""The simulator map: which simulators behave alike, which differ most, and
which pairs complement each other (their 50/50 mix beats both alone).

Input is the pairwise JS matrix of measure.json (real users included as one
of the names) and, for complementary pairs, the per-facet distributions.
"""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform

from measure import divergence as dv
from measure.pipeline import REAL, Measurement

SIMMAP_SCHEMA = "ensemble-fit/simmap/v1"
# Optimal leaf ordering is cubic in the leaves at worst (0.1 s at 400 leaves,
# so up to ~10 s at 2,000); above this many the tree keeps scipy's plain
# leaf order, which the figure (at most 50 leaves) does not use anyway.
OPTIMAL_ORDER_MAX = 300


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
    if 2 < len(names) <= OPTIMAL_ORDER_MAX:
        Z = optimal_leaf_ordering(Z, y)
    return {"linkage": Z.tolist(), "order": [names[i] for i in leaves_list(Z)]}


def extreme_pairs(names: list[str], js: np.ndarray, top: int = 5, exclude: tuple[str, ...] = (REAL,)) -> dict:
    """Most alike (lowest JS) and most distinct (highest JS) simulator pairs."""
    idx = np.array([i for i, n in enumerate(names) if n not in exclude], dtype=int)
    iu, ju = np.triu_indices(len(idx), k=1)
    vals = np.asarray(js, dtype=np.float64)[idx[iu], idx[ju]]

    def best(v: np.ndarray, sign: float) -> list:
        # Every pair at or beyond the top-th value (ties included), then the exact order by name:
        # the same pairs as sorting all n^2/2 of them, without building them.
        if len(v) == 0:
            return []
        cut = np.sort(sign * v)[min(top, len(v)) - 1]
        pick = np.flatnonzero(sign * v <= cut)
        pairs = [(float(v[p]), names[idx[iu[p]]], names[idx[ju[p]]]) for p in pick]
        return sorted(pairs, key=lambda p: (sign * p[0], p[1], p[2]))[:top]

    alike, distinct = best(vals, 1.0), best(vals, -1.0)
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
    P = {f: np.stack([np.asarray(dist[f][s], float) for s in simulators]) for f in fw} if simulators else {}
    solo = np.array([alone[s] for s in simulators])
    hits = []   # (a index, b indices, mix JS) of complementary pairs, one row of the triangle at a time
    for a in range(len(simulators) - 1):
        # Vectorised over b > a; the same arithmetic as overall_js on each 50/50 mix.
        v = sum(w * dv.js_rows(0.5 * P[f][a] + 0.5 * P[f][a + 1:], q[f]) for f, w in fw.items())
        v = np.asarray(v, dtype=np.float64)
        b = np.flatnonzero(v < np.minimum(solo[a], solo[a + 1:]))
        if len(b):
            hits.append((a, a + 1 + b, v[b]))
    n_pairs = len(simulators) * (len(simulators) - 1) // 2
    n_found = sum(len(b) for _, b, _ in hits)

    def row(a: int, b: int, v: float) -> dict:
        sa, sb = simulators[a], simulators[b]
        best = min(alone[sa], alone[sb])
        return {"a": sa, "b": sb, "js_a": alone[sa], "js_b": alone[sb], "js_mix": float(v), "gain": best - v,
                "relative_gain": (best - v) / best if best > 0 else 0.0}

    if top and n_found > top:
        # Only the pairs at or above the top-th gain (ties included) become dicts.
        gains = np.concatenate([np.minimum(solo[a], solo[b]) - v for a, b, v in hits])
        cut = -np.sort(-gains)[top - 1]
        keep = [(a, int(bb), float(vv)) for a, b, v in hits for bb, vv in zip(b, v)
                if min(alone[simulators[a]], alone[simulators[int(bb)]]) - vv >= cut]
    else:
        keep = [(a, int(bb), float(vv)) for a, b, v in hits for bb, vv in zip(b, v)]
    found = sorted((row(a, b, v) for a, b, v in keep), key=lambda p: (-p["gain"], p["a"], p["b"]))
    return {"pairs": found[:top] if top else found, "n_complementary": n_found, "n_pairs": n_pairs}


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
