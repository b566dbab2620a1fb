"""Embeddings of rule descriptions composed from cached phrase embeddings.

The rule extractor writes every description from a closed vocabulary of
clauses ("register: casual; tone: calm; long turns; ..."), so the number of
distinct clauses grows far slower than the number of distinct descriptions
(at 130k conversations: ~4k clauses against ~21k descriptions, most of
them in `dialogue_acts`). Here each distinct clause is embedded once (and
cached under the embedding model's key like any text), and a description's
vector is the word-count-weighted mean of its clauses' vectors, normalized:
the model mean-pools its tokens, so this is the full description's vector
without the attention between clauses.

Composition changes the vectors, so it is a representation of its own: the
pipeline adds `COMPOSITION` to the embedding key (codebook cache keys and
measure.json change with it). The default, `acts`, composes dialogue_acts
descriptions only; `ENSEMBLE_FIT_EMBED_COMPOSE=phrases` composes every
behaviour facet (rejected on quality, kept for comparison) and `off` embeds
every description whole. Only descriptions written by the rule extractor are
composed; LLM descriptions and raw user text are embedded whole.
`scripts/check_quality.py` compares the two representations
(docs/performance.md has the figures).
"""
from __future__ import annotations

import os
import re

import numpy as np

from .errors import ConfigError

COMPOSE_ENV = "ENSEMBLE_FIT_EMBED_COMPOSE"
COMPOSITION = "phrases-v1"
# mode -> facets composed (None: every behaviour facet). `acts` composes only
# dialogue_acts, the facet with two thirds of the distinct texts.
_MODES = {"phrases": None, "acts": ("dialogue_acts",), "off": ()}
# `acts` passed scripts/check_quality.py at paper scale (tau 0.993, largest gap
# change 0.0016 bits), on ShareGPT users (0.987, 0.0048) and on the planted
# demo mixture (L1 0.032 vs 0.031): docs/performance.md.
DEFAULT_MODE = "acts"

# Clauses end at "; " or ". " (the rule describers' separators); list commas
# stay inside a clause so "counts: greet 1, inform 2" keeps its label.
_SPLIT = re.compile(r"(?:;|\.)\s+")


def compose_mode(default: str | None = None) -> str:
    """`phrases`, `acts` or `off`, from ENSEMBLE_FIT_EMBED_COMPOSE (default DEFAULT_MODE)."""
    raw = os.environ.get(COMPOSE_ENV, "").strip().lower() or default or DEFAULT_MODE
    if raw not in _MODES:
        raise ConfigError(f"{COMPOSE_ENV} must be one of {', '.join(_MODES)}, got {raw!r}")
    return raw


def composed_facets(mode: str, facets) -> list[str]:
    """The facets whose descriptions `mode` composes (raw text never is)."""
    chosen = _MODES[mode]
    return [f for f in facets if f != "raw" and (chosen is None or f in chosen)]


def composition_key(mode: str) -> str | None:
    """What the embedding key gets for `mode` (None: whole descriptions)."""
    return None if mode == "off" else (COMPOSITION if mode == "phrases" else f"{mode}-{COMPOSITION}")


def split_phrases(text: str) -> list[str]:
    """The clauses of a description, in order, without their separators.

    A text without separators is one phrase (itself); empty pieces are dropped.
    """
    parts = [p.strip().rstrip(".;").strip() for p in _SPLIT.split(text.strip())]
    parts = [p for p in parts if p]
    return parts or [text]


def phrase_plan(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Distinct phrases of `texts` and how each text is made of them.

    Returns (phrases, owner, phrase_index, weight): for every (text, phrase)
    occurrence, the text's row, the phrase's row and its weight (its number
    of words, as the model averages over tokens).
    """
    uniq: dict[str, int] = {}
    owner, pidx, weight = [], [], []
    for i, t in enumerate(texts):
        for p in split_phrases(t):
            owner.append(i)
            pidx.append(uniq.setdefault(p, len(uniq)))
            weight.append(max(1, len(p.split())))
    return (list(uniq), np.asarray(owner, dtype=np.int64), np.asarray(pidx, dtype=np.int64),
            np.asarray(weight, dtype=np.float64))


def compose(phrase_vectors: np.ndarray, n_texts: int, owner: np.ndarray, phrase_index: np.ndarray,
            weight: np.ndarray) -> np.ndarray:
    """(n_texts, d) float32, L2-normalized: weighted means of phrase vectors."""
    d = phrase_vectors.shape[1]
    out = np.zeros((n_texts, d), dtype=np.float64)
    np.add.at(out, owner, phrase_vectors[phrase_index].astype(np.float64) * weight[:, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (out / norms).astype(np.float32)


def embed_composed(texts: list[str], embedder) -> np.ndarray:
    """Vectors of `texts` composed from the embedder's (cached) phrase vectors."""
    phrases, owner, pidx, weight = phrase_plan(list(texts))
    if not texts:
        return embedder.embed([])
    return compose(embedder.embed(phrases), len(texts), owner, pidx, weight)
