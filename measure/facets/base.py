"""The facet-extractor interface shared by the offline and LLM extractors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np

from ..conversation import Conversation

# Behaviour facets in the order they appear in every output.
BEHAVIOUR_FACETS = ("requests", "context", "responses", "style", "dialogue_acts")
# The paper's raw-text baseline: topic-laden on purpose, opt-in at scale.
RAW_FACET = "raw_user_utterances"
ALL_FACETS = BEHAVIOUR_FACETS + (RAW_FACET,)


@dataclass(frozen=True)
class FacetRecord:
    """One conversation seen through one facet."""
    text: str                          # description that gets embedded
    features: np.ndarray | None = None  # small numeric vector, optional


class FacetExtractor(Protocol):
    """Turns conversations into per-facet descriptions.

    `cache_key` must change whenever the descriptions could change (code
    version, prompt version, model), because embeddings and codebooks are
    cached downstream by the description text and this key.
    """

    name: str

    @property
    def cache_key(self) -> str: ...

    def extract(self, conversations: Iterable[Conversation],
                facets: tuple[str, ...] = BEHAVIOUR_FACETS) -> list[dict[str, FacetRecord]]:
        """One dict facet -> FacetRecord per conversation, in input order.

        Precomputed descriptions on a conversation (`conv.precomputed`) win
        over anything the extractor would produce.
        """
        ...
