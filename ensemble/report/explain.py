"""Explain the gap: what the clusters mean, and which ones each simulator
captures, misses or hallucinates.

Three readings of one measurement, all per facet:

1. Labels. A cluster is named by its most distinctive phrases of the facet
   vocabulary, scored with class-based TF-IDF (c-TF-IDF) and kept distinct
   within the facet, with a representative description (`labels.py`).
2. Status. For every simulator (and the fitted mixture) each cluster's real
   mass is compared with the simulated mass by a two-proportion test (exact
   for small cells), corrected over the clusters of the facet
   (Benjamini-Hochberg by default).
3. Coverage and density: how much real behaviour the simulator reaches at all,
   and how much of its own behaviour lands where real users are.

Everything returned is plain JSON data (`explain.json`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import fisher_exact, norm

from measure.pipeline import REAL, Measurement

from .labels import labels_from_terms, phrase_reuse

EXPLAIN_SCHEMA = "ensemble-fit/explain/v1"
MIXTURE = "mixture"

# Only glue words: "all", "no", "not", "very" carry behaviour ("all caps",
# "no greeting"), so sklearn's English list would erase real signal.
# The slot names of the description vocabulary ("turn 1:", "counts:",
# "tone:") are in every description of a facet and label nothing.
STOP_WORDS = frozenset("""a an the and or of to in on for with as by at from is are was were be been
it its this that these those their there then than into about also but mostly user users
turn later counts reactions ending register tone formatting politeness framing""".split())
# Descriptions are lists of short phrases ("tone: shouting, urgent; formatting:
# all caps"); a bigram must not join words from two different phrases.
_PHRASE_BREAK = re.compile(r"[;:,.()\[\]!?\n]+")
_WORD = re.compile(r"(?u)\b[^\W\d_][\w'-]*\b")


def phrase_ngrams(text: str) -> list[str]:
    """Unigrams and within-phrase bigrams of content words (a bigram never
    spans a stop word either, so "treats the assistant" gives no bigram):
    the terms of free-text descriptions, whose phrases do not repeat."""
    out: list[str] = []
    for phrase in _PHRASE_BREAK.split(text.lower()):
        words = _WORD.findall(phrase)
        out += [w for w in words if w not in STOP_WORDS]
        out += [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in STOP_WORDS and b not in STOP_WORDS]
    return out


RARE_TERM_TEXTS = 5000  # from this many distinct descriptions on, terms must occur in two of them
# The rule vocabulary reuses each phrase in tens of descriptions; free text
# (an LLM extractor) in about one, where a "phrase" is a whole sentence.
MIN_PHRASE_REUSE = 2.0

STATUSES = ("captured", "under", "missed", "over", "hallucinated", "not significant")
DEFINITIONS = {
    "p_real": "share of fit-split real users in the cluster (measure.json's real distribution)",
    "p_sim": "share of the simulator's conversations in the cluster; for the mixture, sum_s w_s P_s(cluster)",
    "n_mixture": "effective sample size of the mixture, 1 / sum_s (w_s^2 / n_s): the n whose binomial "
                 "variance matches the weighted average of the simulators' proportions",
    "test": "two-sided test per cluster of equal shares on [[n_real_in, n_real_out], [n_sim_in, n_sim_out]]: "
            "Fisher's exact test when an expected cell count is below 5, else the pooled two-proportion "
            "z-test; p-values adjusted over the facet's non-empty clusters",
    "captured": "both sides present and p_sim / p_real inside the band",
    "missed": "significant, and p_sim < p_real / gross (real behaviour the simulator (almost) never shows)",
    "under": "significant, p_sim / p_real below the band but above 1 / gross",
    "hallucinated": "significant, and p_real < p_sim / gross (behaviour real users (almost) never show)",
    "over": "significant, p_sim / p_real above the band but below gross",
    "not significant": "outside the band but the difference may be sampling noise",
    "present": "a source is present in a cluster when its mass there is > 0 and >= 1 / (10 k)",
    "coverage": "real mass lying in clusters where the simulator is present (1 = reaches every real behaviour)",
    "density": "simulator mass lying in clusters where real users are present (1 = nothing invented)",
    "missed_by_all": "clusters that every simulator (and the mixture) significantly misses or under-represents",
    "summary.missed": "clusters every simulator misses or under-represents, ranked by the smallest "
                      "shortfall p_real - p_sim among simulators: behaviour no weighting of this pool supplies",
    "summary.hallucinated": "clusters ranked by the largest excess p_sim - p_real among simulators that "
                            "hallucinate or over-represent them",
}


# ------------------------------------------------------------------ status

@dataclass
class ClusterStatus:
    cluster: int
    status: str
    p_real: float
    p_sim: float
    n_real: float
    n_sim: float
    ratio: float | None      # p_sim / p_real; None when p_real = 0
    p_value: float
    p_adjusted: float
    test: str = "z"          # "z" (two-proportion z-test) or "fisher" (exact, small cells)

    @property
    def diff(self) -> float:
        return self.p_sim - self.p_real


def adjust_pvalues(p: np.ndarray, method: str = "bh") -> np.ndarray:
    """Benjamini-Hochberg ("bh", false discovery rate) or Holm ("holm", family-wise)."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "bh":
        adj = ranked * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    elif method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        raise ValueError(f"unknown correction '{method}' (bh or holm)")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def classify(p_real: float, p_sim: float, significant: bool, band: tuple[float, float],
             gross: float) -> str:
    lo, hi = band
    if p_real > 0 and p_sim > 0 and lo <= p_sim / p_real <= hi:
        return "captured"
    if not significant:
        return "not significant"
    if p_sim < p_real:
        return "missed" if p_sim < p_real / gross else "under"
    return "hallucinated" if p_real < p_sim / gross else "over"


def two_proportion_pvalues(x1: np.ndarray, n1: float, x2: np.ndarray, n2: float,
                           min_expected: float = 5.0) -> tuple[np.ndarray, list[str]]:
    """Two-sided p-values of "same share in both groups", one per cluster.

    Fisher's exact test where any expected cell count of the 2x2 table is
    below `min_expected` (Cochran's rule: small cells are where the normal
    approximation fails); the pooled two-proportion z-test elsewhere, which
    is vectorized and agrees with Fisher on large cells (at 130k
    conversations and k = 500, exact tests everywhere would take minutes).
    """
    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    N = n1 + n2
    col = x1 + x2
    expected = min(n1, n2) * np.minimum(col, N - col) / N
    pooled = col / N
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 / n1 - x2 / n2) / se, 0.0)
    p = 2 * norm.sf(np.abs(z))
    kind = ["z"] * len(x1)
    a, b = int(round(n1)), int(round(n2))
    for i in np.flatnonzero(expected < min_expected):
        c, d = int(round(x1[i])), int(round(x2[i]))
        p[i] = _fisher_p(c, a, d, b)
        kind[i] = "fisher"
    return np.minimum(p, 1.0), kind


@functools.lru_cache(maxsize=1 << 16)
def _fisher_p(c: int, a: int, d: int, b: int) -> float:
    """Fisher's exact p of [[c, a - c], [d, b - d]], memoised: with many small
    simulators the same tables recur thousands of times (2,000 sources)."""
    return float(fisher_exact([[c, a - c], [d, b - d]])[1])


def cluster_status(real_counts, sim_counts, band: tuple[float, float] = (0.5, 2.0), alpha: float = 0.01,
                   gross: float = 5.0, correction: str = "bh") -> list[ClusterStatus]:
    """Status of every cluster where either side has mass.

    Counts may be fractional (the mixture's effective counts); the exact test
    rounds them, the z-test and the masses use them as they are.
    """
    r = np.asarray(real_counts, dtype=np.float64)
    s = np.asarray(sim_counts, dtype=np.float64)
    Nr, Ns = r.sum(), s.sum()
    if Nr <= 0 or Ns <= 0:
        raise ValueError("both sides need at least one conversation")
    clusters = np.flatnonzero((r > 0) | (s > 0))
    pvals, kinds = two_proportion_pvalues(r[clusters], Nr, s[clusters], Ns)
    padj = adjust_pvalues(pvals, correction)
    out = []
    for c, pv, pa, kd in zip(clusters, pvals, padj, kinds):
        pr, ps = r[c] / Nr, s[c] / Ns
        out.append(ClusterStatus(cluster=int(c), status=classify(pr, ps, pa < alpha, band, gross),
                                 p_real=float(pr), p_sim=float(ps), n_real=float(r[c]), n_sim=float(s[c]),
                                 ratio=float(ps / pr) if pr > 0 else None,
                                 p_value=float(pv), p_adjusted=float(pa), test=kd))
    return out


def coverage_density(p_real, p_sim, threshold: float) -> tuple[float, float]:
    """(coverage, density), see DEFINITIONS."""
    pr, ps = np.asarray(p_real, float), np.asarray(p_sim, float)
    real_here = (pr > 0) & (pr >= threshold)
    sim_here = (ps > 0) & (ps >= threshold)
    return float(pr[sim_here].sum()), float(ps[real_here].sum())


# ----------------------------------------------------------- the mixture

def mixture_source(dist: dict[str, np.ndarray], sizes: dict[str, int],
                   weights: dict[str, float]) -> tuple[np.ndarray, float]:
    """Mixture distribution sum_s w_s P_s and its effective sample size."""
    w = {s: float(v) for s, v in weights.items() if v > 0 and s in dist}
    total = sum(w.values())
    if total <= 0:
        raise ValueError("mixture weights have no positive entry")
    p = sum((v / total) * np.asarray(dist[s], float) for s, v in w.items())
    n_eff = 1.0 / sum((v / total) ** 2 / sizes[s] for s, v in w.items())
    return p, float(n_eff)


def mixture_name(simulators: list[str]) -> str:
    return MIXTURE if MIXTURE not in simulators else f"{MIXTURE} (fitted)"


# ---------------------------------------------------------------- examples

def snippet(turns: list[str], limit: int = 160) -> str:
    """First user turn(s), whitespace collapsed, cut at `limit` characters."""
    text = " | ".join(re.sub(r"\s+", " ", t).strip() for t in turns if t.strip())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def representatives(member_rows: np.ndarray, text_index: np.ndarray, embeddings: np.ndarray, n: int,
                    row_sources: np.ndarray | None = None) -> list[int]:
    """Rows whose description lies closest to the cluster's mean embedding.

    Rows share descriptions, so distinct texts are ranked and each gives one
    row; when texts run out, more rows of the closest texts follow. Among rows
    of one text, a source not shown yet is preferred, so a cluster shared by
    real users and a simulator shows both.
    """
    if len(member_rows) == 0 or n <= 0:
        return []
    tix = text_index[member_rows]
    centre = embeddings[tix].mean(axis=0)
    uniq = np.unique(tix)
    sims = embeddings[uniq] @ centre
    ranked = uniq[np.lexsort((uniq, -sims))]
    picked: list[int] = []
    shown: set = set()

    def take(rows: np.ndarray) -> None:
        rows = [int(r) for r in rows if int(r) not in picked]
        if not rows:
            return
        fresh = [r for r in rows if row_sources is None or row_sources[r] not in shown]
        r = (fresh or rows)[0]
        picked.append(r)
        if row_sources is not None:
            shown.add(row_sources[r])

    while len(picked) < min(n, len(member_rows)):
        before = len(picked)
        for t in ranked:
            take(member_rows[tix == t])
            if len(picked) == n:
                break
        if len(picked) == before:
            break
    return picked


# ------------------------------------------------------------------ facets

@dataclass
class ClusterInfo:
    id: int
    label: str
    terms: list[tuple[str, float]]   # best c-TF-IDF terms (phrases), chosen or not
    size: int                 # member rows in the codebook pool
    examples: list[dict]
    description: str = ""     # the representative description (nearest the centroid)
    phrases: list[tuple[str, float, float]] = field(default_factory=list)  # the label's (phrase, score, share)


def describe_clusters(m: Measurement, facet: str, pool: np.ndarray, n_terms: int,
                      n_examples: int) -> dict[int, ClusterInfo]:
    """Label and exemplify every cluster that has members in `pool` rows.

    Labels are the clusters' most distinctive vocabulary phrases
    (`labels.labels_from_terms`); descriptions whose phrases do not repeat
    (free text from an LLM) are labelled with word n-grams instead.
    """
    prep = m.prep
    col = prep.table.columns[facet]
    labels = m.labels[facet][pool]
    tix = col.index[pool]
    k = m.k[facet]
    if phrase_reuse(col.texts) >= MIN_PHRASE_REUSE:
        named = labels_from_terms(col.texts, tix, labels, k, embeddings=col.embeddings, n_top=n_terms)
    else:
        named = labels_from_terms(col.texts, tix, labels, k, analyzer=phrase_ngrams, embeddings=col.embeddings,
                                  n_terms=4, joiner=", ", n_top=n_terms, words=True,
                                  min_df=1 if len(col.texts) < RARE_TERM_TEXTS else 2)
    out = {}
    for c in np.unique(labels):
        rows = pool[labels == c]
        ex = representatives(rows, col.index, col.embeddings, n_examples, prep.sources) if col.embeddings is not None \
            else [int(r) for r in rows[:n_examples]]
        examples = []
        for r in ex:
            conv = prep.conversations[r]
            examples.append({"id": conv.id, "source": str(prep.sources[r]),
                             "snippet": snippet(conv.user_turns[:2]), "description": col.text_of(r)})
        lab = named[int(c)]
        out[int(c)] = ClusterInfo(id=int(c), label=lab.label, terms=list(lab.top), size=int(len(rows)),
                                  examples=examples, description=lab.description, phrases=list(lab.phrases))
    return out


def _status_json(st: list[ClusterStatus]) -> list[dict]:
    return [asdict(s) for s in st]


def _top(st: list[ClusterStatus], kinds: tuple[str, ...], sign: float, info: dict[int, ClusterInfo],
         n: int) -> list[dict]:
    picked = sorted((s for s in st if s.status in kinds), key=lambda s: (-sign * s.diff, s.cluster))[:n]
    return [{"cluster": s.cluster, "label": info[s.cluster].label if s.cluster in info else "",
             "status": s.status, "p_real": s.p_real, "p_sim": s.p_sim, "diff": s.diff,
             "p_adjusted": s.p_adjusted} for s in picked]


def facet_summary(per_source: dict[str, dict], sims: list[str], mix: str | None, info: dict[int, ClusterInfo],
                  masses: dict[str, np.ndarray], n: int) -> dict:
    """The facet's behaviours that no simulator supplies, and those some simulator invents.

    missed: clusters every simulator misses or under-represents, ranked by the
    smallest shortfall p_real - p_sim among simulators (what even the closest
    simulator lacks, so no weighting of this pool can supply it).
    hallucinated: clusters some simulator hallucinates or over-represents,
    ranked by the largest excess p_sim - p_real.
    """
    status = {s: {x["cluster"]: x["status"] for x in per_source[s]["clusters"]} for s in per_source}
    missed, hall = [], []
    for c, ci in info.items():
        real = float(masses[REAL][c])
        base = {"cluster": c, "label": ci.label, "p_real": real,
                "p_mixture": float(masses[mix][c]) if mix else None,
                "mixture_status": status[mix].get(c) if mix else None, "examples": ci.examples}
        if sims and all(status[s].get(c) in ("missed", "under") for s in sims):
            closest = max(sims, key=lambda s: (float(masses[s][c]), s))
            missed.append({**base, "min_shortfall": real - float(masses[closest][c]), "closest": closest,
                           "p_closest": float(masses[closest][c])})
        h_by = [s for s in sims if status[s].get(c) in ("hallucinated", "over")]
        if h_by:
            top = max(h_by, key=lambda s: (float(masses[s][c]), s))
            hall.append({**base, "hallucinated_by": h_by, "max_excess": float(masses[top][c]) - real,
                         "most": top, "p_most": float(masses[top][c])})
    missed.sort(key=lambda d: (-d["min_shortfall"], d["cluster"]))
    hall.sort(key=lambda d: (-d["max_excess"], d["cluster"]))
    return {"missed": missed[:n], "hallucinated": hall[:n]}


def explain(m: Measurement, mixture_weights: dict[str, float] | None = None, top_terms: int = 8,
            n_examples: int = 3, band: tuple[float, float] = (0.5, 2.0), alpha: float = 0.01,
            gross: float = 5.0, correction: str = "bh", n_top: int = 5) -> dict:
    """The whole explanation of a measurement, JSON-ready (see module doc)."""
    n_terms = top_terms  # the parameter shadows the module's top_terms() inside this function
    prep = m.prep
    sims = list(prep.simulators)
    real_rows = prep.rows_of(REAL)
    sizes = {s: int(len(prep.rows_of(s))) for s in sims}
    mix = mixture_name(sims) if mixture_weights and any(v > 0 for v in mixture_weights.values()) else None
    sources = sims + ([mix] if mix else [])
    pool = np.flatnonzero(~prep.heldout)  # what the codebooks saw; held-out users stay unseen
    facets_out: dict[str, dict] = {}
    cov_out: dict[str, dict] = {s: {} for s in sources}
    for f in prep.facets:
        k = m.k[f]
        threshold = 1.0 / (10 * k)
        info = describe_clusters(m, f, pool, n_terms, n_examples)
        counts = {REAL: np.bincount(m.labels[f][real_rows], minlength=k).astype(float)}
        masses = {REAL: np.asarray(m.dist[f][REAL], float)}
        for s in sims:
            counts[s] = np.bincount(m.labels[f][prep.rows_of(s)], minlength=k).astype(float)
            masses[s] = np.asarray(m.dist[f][s], float)
        n_of = {REAL: int(len(real_rows)), **sizes}
        if mix:
            masses[mix], n_eff = mixture_source({s: m.dist[f][s] for s in sims}, sizes, mixture_weights)
            counts[mix] = masses[mix] * n_eff
            n_of[mix] = n_eff
        per_source, top_missed, top_hall = {}, {}, {}
        for s in sources:
            st = cluster_status(counts[REAL], counts[s], band, alpha, gross, correction)
            cov, dens = coverage_density(masses[REAL], masses[s], threshold)
            cov_out[s][f] = {"coverage": cov, "density": dens}
            per_source[s] = {"n": n_of[s], "coverage": cov, "density": dens,
                             "counts": {k_: sum(1 for x in st if x.status == k_) for k_ in STATUSES},
                             "clusters": _status_json(st)}
            top_missed[s] = _top(st, ("missed", "under"), -1.0, info, n_top)
            top_hall[s] = _top(st, ("hallucinated", "over"), 1.0, info, n_top)
        by_cluster = {c: {} for c in info}
        for s in sources:
            for x in per_source[s]["clusters"]:
                by_cluster.setdefault(x["cluster"], {})[s] = x["status"]
        missed_by_all = [c for c in sorted(info) if sims and
                         all(by_cluster[c].get(s) in ("missed", "under") for s in sources)]
        facets_out[f] = {
            "k": k, "n_real": int(len(real_rows)), "presence_threshold": threshold,
            "clusters": [{"id": c.id, "label": c.label, "description": c.description,
                          "phrases": [[t, v, sh] for t, v, sh in c.phrases],
                          "terms": [[t, v] for t, v in c.terms], "size": c.size,
                          "mass": {s: float(masses[s][c.id]) for s in [REAL] + sources},
                          "examples": c.examples} for c in (info[i] for i in sorted(info))],
            "sources": per_source,
            "top_missed": top_missed,
            "top_hallucinated": top_hall,
            "missed_by_all": missed_by_all,
            "summary": facet_summary(per_source, sims, mix, info, masses, n_top),
        }
    fw = m.facet_weights
    for s in sources:
        cov_out[s]["overall"] = {key: float(sum(fw[f] * cov_out[s][f][key] for f in prep.facets))
                                 for key in ("coverage", "density")}
    return {
        "schema": EXPLAIN_SCHEMA,
        "params": {"top_terms": n_terms, "n_examples": n_examples, "band": list(band), "alpha": alpha,
                   "gross": gross, "correction": correction, "test": "fisher exact (small cells) / two-proportion z",
                   "n_top": n_top},
        "definitions": DEFINITIONS,
        "real": REAL,
        "simulators": sims,
        "mixture": mix,
        "mixture_weights": {s: float(mixture_weights.get(s, 0.0)) for s in sims} if mix else None,
        "sources": sources,
        "facets": facets_out,
        "coverage": cov_out,
    }
