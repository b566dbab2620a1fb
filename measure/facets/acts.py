"""Dialogue acts of one user turn, from its cues.

The act set follows task-oriented dialogue annotation: a turn may carry
several acts. Turns in every language get acts from the same cues (a
non-English turn's cues come from the multilingual lists, see `turns.py`);
a turn with no act cue falls back to `request` (at most six words) or
`inform`, as in English.
"""
from __future__ import annotations

from itertools import compress

from .turns import AssistantCues, TurnCues

ACTS = ("greet", "inform_intent", "inform", "request", "request_alts", "select", "affirm", "negate",
        "thank", "goodbye")


def turn_acts(t: TurnCues, before: AssistantCues | None) -> tuple[str, ...]:
    """Acts of one user turn in the fixed ACTS order."""
    cue = t.cues.get
    select = bool(cue("select") or (before is not None and before.offers_options and t.words <= 3
                                    and t.scrubbed.prose.startswith("<number>")))
    affirm = bool(t.opens_affirm or (t.validates_early and not cue("correct")))
    negate = bool(t.opens_negate or cue("correct") or (t.opens_soft_negate and cue("correct_weak")))
    # A verbless fragment ("csv totals, python", "shorter") asks for something.
    request = bool(t.n_directives or t.n_could_you or t.n_questions or t.continue_only or t.n_fragments)
    # Informing: the user states facts, pastes material, or answers a question.
    inform = bool(t.n_statements or t.has_paste or cue("background") or cue("increment")
                  or (before is not None and before.asks_user and t.words >= 2 and not t.asks))
    present = (bool(t.greets), bool(cue("intent")), inform, request, bool(cue("alts")), select, affirm, negate,
               bool(cue("thank")), bool(cue("goodbye")))  # ACTS order
    if not any(present):
        # Leftovers are fragments ("shorter", "in french") that steer the
        # assistant: requests when they follow an answer, else information.
        return ("request",) if t.words and t.words <= 6 else ("inform",)
    return tuple(compress(ACTS, present))
