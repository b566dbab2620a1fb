"""Results of pure text functions kept for repeated short texts.

Conversations repeat whole turns ("still too long", "OK. That works."),
sentences and lines far more often than they repeat long pastes, so the
rule extractor keeps recent results for short texts only: bounded memory,
and long texts (rarely repeated) never fill the cache.
"""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

R = TypeVar("R")


def short_text_cache(fn: Callable[..., R], maxsize: int, max_chars: int) -> Callable[..., R]:
    """`fn(text, *args)`, with the results for texts of up to `max_chars`
    characters kept (the `maxsize` least recently used; `fn` must be pure)."""
    cached = functools.lru_cache(maxsize=maxsize)(fn)

    @functools.wraps(fn)
    def call(text: str, *args) -> R:
        return cached(text, *args) if len(text) <= max_chars else fn(text, *args)
    return call
