"""The default facet extractor: offline, deterministic, rules and lexicons.

Pipeline per conversation: scrub each user turn down to the user's own words
(scrub.py), read cues from them (turns.py), then compose one description per
facet from fixed phrases (describe.py). The vocabulary is documented in
VOCABULARY.md. No text the user wrote can reach a description.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Iterable

import numpy as np

from ..conversation import Conversation
from .base import BEHAVIOUR_FACETS, RAW_FACET, FacetRecord
from .describe import DESCRIBERS, FEATURE_NAMES
from .reactions import reactions
from .turns import analyse_conversation

# Bump whenever any description or feature could change.
RULES_VERSION = 4
NO_USER_TURNS = "no user turns"


class RuleFacetExtractor:
    """Describes conversations per behaviour facet without any model.

    `n_jobs > 1` splits big inputs into chunks for a process pool; the output
    order and content are the same as with one process.
    """

    name = "rules"

    def __init__(self, n_jobs: int = 1, chunk_size: int = 2000):
        self.n_jobs = max(1, int(n_jobs))
        self.chunk_size = max(1, int(chunk_size))
        # (id, source, facet, reason) for conversations the rules could not read.
        self.failures: list[tuple[str, str, str, str]] = []

    @property
    def cache_key(self) -> str:
        return f"rules-v{RULES_VERSION}"

    @staticmethod
    def feature_names(facet: str) -> tuple[str, ...]:
        return FEATURE_NAMES[facet]

    def extract(self, conversations: Iterable[Conversation],
                facets: tuple[str, ...] = BEHAVIOUR_FACETS) -> list[dict[str, FacetRecord]]:
        convs = list(conversations)
        # The raw-utterance facet is embedded from the turns by the pipeline.
        wanted = tuple(f for f in facets if f != RAW_FACET)
        unknown = [f for f in wanted if f not in DESCRIBERS]
        if unknown:
            raise ValueError(f"the rule extractor has no facet {unknown}; "
                             f"it describes {', '.join(BEHAVIOUR_FACETS)}")
        if self.n_jobs > 1 and len(convs) > self.chunk_size:
            chunks = [convs[i:i + self.chunk_size] for i in range(0, len(convs), self.chunk_size)]
            with ProcessPoolExecutor(max_workers=self.n_jobs) as pool:
                results = pool.map(_extract_chunk, chunks, [wanted] * len(chunks))
                out, failures = [], []
                for recs, fails in results:
                    out.extend(recs)
                    failures.extend(fails)
        else:
            out, failures = _extract_chunk(convs, wanted)
        self.failures = failures
        return out


def _extract_chunk(convs: list[Conversation], facets: tuple[str, ...]):
    out, failures = [], []
    for conv in convs:
        try:
            rec = describe_conversation(conv, facets)
        except Exception as exc:  # one unreadable conversation must not stop 130k
            reason = f"rules failed: {type(exc).__name__}: {exc}"
            failures.extend((conv.id, conv.source, f, reason) for f in facets
                            if f not in conv.precomputed)
            rec = {f: FacetRecord(conv.precomputed[f]) for f in facets if f in conv.precomputed}
        out.append(rec)
    return out, failures


def describe_conversation(conv: Conversation, facets: tuple[str, ...] = BEHAVIOUR_FACETS
                          ) -> dict[str, FacetRecord]:
    """FacetRecord per facet for one conversation; precomputed texts win."""
    cues = analyse_conversation(conv)
    rec: dict[str, FacetRecord] = {}
    if not cues.turns:
        for f in facets:
            feats = np.zeros(len(FEATURE_NAMES[f]), dtype=np.float32)
            rec[f] = FacetRecord(conv.precomputed.get(f, NO_USER_TURNS), feats)
        return rec
    reacts = reactions(cues)
    for f in facets:
        text, feats = DESCRIBERS[f](cues, reacts)
        rec[f] = FacetRecord(conv.precomputed.get(f, text), feats)
    return rec
