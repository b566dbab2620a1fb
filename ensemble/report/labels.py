"""Cluster labels a person reads as a behaviour.

A cluster's label is its most distinctive *phrases*, not single words. The
rule extractor writes each description as a list of closed-vocabulary phrases
("one request refined over a few turns; first request: explicit directive;
..."), so a phrase is the natural unit: it already reads as a behaviour.

1. Phrases. A description is split at ";" and at sentence ends into slots,
   a slot's "name: " prefix is kept only when the item alone would not say
   what it is ("tone: calm", "first request: hedged question"), and slots
   that list items ("formatting: emoji, lists") give one phrase per item.
2. Scores. Class-based TF-IDF over phrases: tf is the share of the cluster's
   conversations whose description has the phrase, idf = log(1 + A / f)
   with A the average cluster size and f the phrase's count over all
   clusters, so a label names what sets the cluster apart.
3. Choice. The best-scoring phrases that most members share (at least
   `min_share` of them, so a label describes the cluster, not a corner of
   it); the first phrase may be carried by fewer, at a discount, so a
   cluster that mixes two behaviours is named by the distinctive one.
4. Distinct within a facet. When two clusters would get the same label, each
   adds the phrase that separates it from the other most (largest share here
   minus share there), until every label differs.
5. A representative description: the member text nearest the cluster's mean
   embedding (the most common text when there are no embeddings).

Free-text descriptions (an LLM extractor) rarely repeat a phrase; for them
`labels_from_terms` does the same choice and separation over any terms the
caller extracts (word n-grams).

Functions take arrays and return dataclasses; nothing here reads files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

# Slot names whose items say what they are on their own ("ends without
# closing"); any other slot's name stays in the phrase when the item is short.
_SELF_EXPLAINING_ITEM_WORDS = 3
_SLOT = re.compile(r"^\s*([a-z][\w' -]{0,24}?)\s*:\s+(.*)$", re.S)
# "; " separates slots; ". " separates sections (responses, dialogue acts).
_SLOT_BREAK = re.compile(r";\s*|\.\s+|\n+")
_ACT_COUNT = re.compile(r"^([a-z_]+) (\d+(?:-\d+)?\+?)$")


@dataclass(frozen=True)
class ClusterLabel:
    """The label of one cluster.

    Attributes
    ----------
    cluster : cluster id.
    label : the chosen phrases joined by "; ", most distinctive first; a
        phrase added to tell this cluster from another comes last.
    phrases : (phrase, c-TF-IDF score, share of the cluster's conversations
        whose description has it), in label order.
    description : the representative description (nearest the centroid).
    size : conversations of the cluster that were labelled.
    top : the best-scoring terms, (term, score), best first, whether chosen or not.
    """
    cluster: int
    label: str
    phrases: tuple[tuple[str, float, float], ...]
    description: str
    size: int
    top: tuple[tuple[str, float], ...] = ()


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside parentheses ("pastes code (small, throughout)" stays whole)."""
    out, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out if p.strip()]


def split_phrases(text: str) -> list[str]:
    """The phrases of one description, in order, each once.

    Examples
    --------
    >>> split_phrases("register: casual; tone: calm; formatting: emoji, lists")
    ['register: casual', 'tone: calm', 'formatting: emoji', 'formatting: lists']
    >>> split_phrases("reactions: corrects the assistant; adds a constraint. ending: ends without closing")
    ['corrects the assistant', 'adds a constraint', 'ends without closing']
    """
    out: list[str] = []
    for seg in _SLOT_BREAK.split(text.strip().rstrip(".")):
        seg = " ".join(seg.split())
        if not seg:
            continue
        m = _SLOT.match(seg)
        # A comma list is split only inside a named slot: "one request, then
        # only feedback turns" is one phrase of the vocabulary.
        slot, items = (m.group(1), _split_top_level(m.group(2))) if m else (None, [seg])
        for item in items:
            # dialogue-act counts: "counts: affirm 1" reads as "affirm in 1 turn"
            cm = _ACT_COUNT.match(item) if slot == "counts" else None
            if cm:
                phrase = f"{cm.group(1)} in {cm.group(2)} turn{'' if cm.group(2) == '1' else 's'}"
            else:
                # A short item needs its slot ("tone: calm"); so do a turn's
                # position ("turn 2: inform negate") and a second framing
                # ("framing: also direct questions").
                keep_slot = slot is not None and (len(item.split()) < _SELF_EXPLAINING_ITEM_WORDS or "turn" in slot
                                                  or item.startswith("also "))
                phrase = f"{slot}: {item}" if keep_slot else item
            if phrase not in out:
                out.append(phrase)
    return out


def class_presence(texts: Sequence[str], text_of_row: np.ndarray, cluster_of_row: np.ndarray, k: int,
                   analyzer: Callable[[str], list[str]] = split_phrases, min_df: int = 1
                   ) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray]:
    """How many rows of each cluster carry each term.

    Parameters
    ----------
    texts : unique description texts.
    text_of_row : (n,) index into `texts` per labelled row (conversation).
    cluster_of_row : (n,) cluster per row.
    k : number of clusters.
    analyzer : text -> terms (phrases by default).
    min_df : least number of distinct texts a term must occur in.

    Returns
    -------
    terms : (V,) the vocabulary, sorted.
    counts : (k, V) rows of cluster c whose text has term v.
    sizes : (k,) rows per cluster.
    """
    text_of_row = np.asarray(text_of_row)
    cluster_of_row = np.asarray(cluster_of_row)
    rows_per = sparse.coo_matrix((np.ones(len(text_of_row)), (cluster_of_row, text_of_row)),
                                 shape=(k, len(texts))).tocsr()
    sizes = np.asarray(rows_per.sum(axis=1)).ravel()
    vec = CountVectorizer(analyzer=analyzer, binary=True, lowercase=False, min_df=min_df)
    try:
        X = vec.fit_transform(list(texts))
    except ValueError:  # no text has a term (or none is frequent enough)
        return np.array([], dtype=object), sparse.csr_matrix((k, 0)), sizes
    return vec.get_feature_names_out(), (rows_per @ X).tocsr(), sizes


def ctfidf(counts: sparse.spmatrix | np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """c-TF-IDF of terms per cluster.

    Parameters
    ----------
    counts : (k, V) rows of cluster c carrying term v.
    sizes : (k,) rows per cluster.

    Returns
    -------
    scores : (k, V) tf * log(1 + A / f), tf = counts / size, A the mean size
        of non-empty clusters, f the term's count over all clusters.
    share : (k, V) tf itself.
    """
    C = np.asarray(sparse.csr_matrix(counts).todense(), dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    share = np.divide(C, sizes[:, None], out=np.zeros_like(C), where=sizes[:, None] > 0)
    avg = sizes[sizes > 0].mean() if (sizes > 0).any() else 0.0
    f = C.sum(axis=0)
    idf = np.log1p(np.divide(avg, f, out=np.zeros_like(f), where=f > 0))
    return share * idf, share


def _contains(longer: str, shorter: str) -> bool:
    """Whether `shorter` is a whole-word part of `longer` ("adds a constraint" of "adds a constraint once")."""
    return longer != shorter and f" {shorter} " in f" {longer} "


def _redundant(new: str, old: str, words: bool) -> bool:
    """Whether `new` adds nothing beside `old`: it is part of it, or (word
    terms) it shares a word with it without containing it ("caps shouting"
    beside "all caps")."""
    if _contains(old, new):
        return True
    return words and not _contains(new, old) and bool(set(new.split()) & set(old.split()))


def _add_term(chosen: list[int], v: int, terms: Sequence[str], words: bool = False) -> bool:
    """Add term v unless a chosen term already says it; a more specific term
    replaces the chosen ones it contains. Returns whether v went in."""
    if any(_redundant(terms[v], terms[c], words) for c in chosen):
        return False
    inside = [i for i, c in enumerate(chosen) if _contains(terms[v], terms[c])]
    if inside:
        chosen[inside[0]] = v
        chosen[:] = [c for i, c in enumerate(chosen) if i not in inside[1:]]
    else:
        chosen.append(v)
    return True


def choose_terms(scores: np.ndarray, share: np.ndarray, terms: Sequence[str], n: int,
                 min_share: float, min_relative: float = 0.2, words: bool = False) -> list[list[int]]:
    """Per cluster, the n best-scoring terms: the first ranked by score times
    min(1, share / min_share)^2, the others among terms at least `min_share`
    of its rows carry and scoring at least `min_relative` of the cluster's
    best; a term contained in a
    chosen one is skipped, so a label does not say one thing twice. Ties go
    to the earlier term of the sorted vocabulary. `words`: terms are word
    n-grams, and one sharing a word with a chosen term is skipped too."""
    out = []
    for c in range(scores.shape[0]):
        order = np.lexsort((np.arange(scores.shape[1]), -scores[c]))
        order = [int(v) for v in order if scores[c, v] > 0]
        if not order:
            out.append([])
            continue
        # The first term may be carried by fewer than `min_share` of the rows,
        # its score discounted in proportion (squared): in a cluster that
        # mixes two behaviours, the distinctive one names it. The others
        # must be carried by most rows, and score within `min_relative` of
        # the best (far below it, a term adds words, not meaning).
        rank = scores[c] * np.minimum(1.0, share[c] / min_share) ** 2
        first = max(order, key=lambda v: (rank[v], -v))
        wide = [first] + [v for v in order if v != first and share[c, v] >= min_share
                          and scores[c, v] >= min_relative * scores[c, order[0]]]
        chosen: list[int] = []
        for v in wide:
            if len(chosen) >= n:
                break
            _add_term(chosen, v, terms, words)
        out.append(chosen)
    return out


def make_distinct(chosen: list[list[int]], share: np.ndarray, scores: np.ndarray, terms: Sequence[str],
                  present: Sequence[int], max_rounds: int = 8, words: bool = False) -> list[list[int]]:
    """Add separating terms until no two present clusters share a label.

    For each group of clusters with the same label, every member adds the
    term whose share in it most exceeds its largest share in the others of
    the group (ties: higher score). A member with no such term keeps its
    label, since the others' additions already tell them apart.
    """
    chosen = [list(c) for c in chosen]
    for _ in range(max_rounds):
        groups: dict[tuple, list[int]] = {}
        for c in present:
            groups.setdefault(tuple(sorted(chosen[c])), []).append(c)
        dup = [g for g in groups.values() if len(g) > 1]
        if not dup:
            break
        changed = False
        for g in dup:
            adds = {}
            for c in g:
                others = share[[o for o in g if o != c]].max(axis=0)
                margin = share[c] - others
                for v in np.lexsort((-scores[c], -margin)):
                    if margin[v] <= 0:
                        break
                    if v not in chosen[c] and not any(_redundant(terms[v], terms[u], words) for u in chosen[c]):
                        adds[c] = int(v)
                        break
            for c, v in adds.items():
                changed |= _add_term(chosen[c], v, terms, words)
        if not changed:
            break
    return chosen


def representative_text(member_texts: np.ndarray, embeddings: np.ndarray | None) -> int:
    """The member text nearest the rows' mean embedding (ties: lower index);
    without embeddings, the most frequent text."""
    uniq, counts = np.unique(member_texts, return_counts=True)
    if embeddings is None:
        return int(uniq[np.argmax(counts)])
    centre = (embeddings[uniq] * counts[:, None]).sum(axis=0)
    sims = embeddings[uniq] @ centre
    return int(uniq[np.lexsort((uniq, -sims))[0]])


def labels_from_terms(texts: Sequence[str], text_of_row: np.ndarray, cluster_of_row: np.ndarray, k: int,
                      analyzer: Callable[[str], list[str]] = split_phrases, embeddings: np.ndarray | None = None,
                      n_terms: int = 2, min_share: float = 0.5, joiner: str = "; ", min_df: int = 1,
                      n_top: int = 8, words: bool = False) -> dict[int, ClusterLabel]:
    """Label every cluster that has rows.

    Parameters
    ----------
    texts, text_of_row, cluster_of_row, k : see `class_presence`.
    analyzer : text -> terms; phrases by default.
    embeddings : (len(texts), d) L2-normalised, for the representative description.
    n_terms : terms per label before separating terms are added.
    min_share : least share of a cluster's rows a chosen term must cover.
    joiner : between terms in the label.
    min_df : see `class_presence`.
    n_top : best-scoring terms kept in `ClusterLabel.top`.
    words : the analyzer gives word n-grams: a term sharing a word with a
        chosen one is not added ("caps shouting" beside "all caps").

    Returns
    -------
    {cluster id: ClusterLabel}; labels of one call are pairwise distinct
    (a cluster whose terms cannot separate it gets its id appended).
    """
    text_of_row = np.asarray(text_of_row)
    cluster_of_row = np.asarray(cluster_of_row)
    terms, counts, sizes = class_presence(texts, text_of_row, cluster_of_row, k, analyzer, min_df)
    present = [int(c) for c in np.flatnonzero(sizes > 0)]
    if len(terms):
        scores, share = ctfidf(counts, sizes)
        tlist = [str(t) for t in terms]
        chosen = make_distinct(choose_terms(scores, share, tlist, n_terms, min_share, words=words), share, scores,
                               tlist, present, words=words)
    else:
        scores = share = np.zeros((k, 0))
        chosen = [[] for _ in range(k)]
    out: dict[int, ClusterLabel] = {}
    seen: dict[str, int] = {}
    for c in present:
        rows = cluster_of_row == c
        label = joiner.join(str(terms[v]) for v in chosen[c])
        if label in seen or not label:  # nothing left to separate them: the id does
            label = f"{label} (cluster {c})" if label else f"cluster {c}"
        seen[label] = c
        rep = representative_text(text_of_row[rows], embeddings)
        out[c] = ClusterLabel(cluster=c, label=label,
                              phrases=tuple((str(terms[v]), float(scores[c, v]), float(share[c, v]))
                                            for v in chosen[c]),
                              description=str(texts[rep]), size=int(rows.sum()),
                              top=tuple((str(terms[v]), float(scores[c, v]))
                                        for v in np.lexsort((np.arange(len(terms)), -scores[c]))[:n_top]
                                        if scores[c, v] > 0))
    return out


def phrase_reuse(texts: Sequence[str], analyzer: Callable[[str], list[str]] = split_phrases) -> float:
    """Mean number of distinct texts each phrase occurs in: about 1 for free
    text (phrases do not repeat, so phrase labels would be whole sentences),
    tens to hundreds for the rule vocabulary."""
    vec = CountVectorizer(analyzer=analyzer, binary=True, lowercase=False)
    try:
        X = vec.fit_transform(list(texts))
    except ValueError:
        return 0.0
    return float(X.sum() / X.shape[1])
