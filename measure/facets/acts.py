"""Dialogue acts of one user turn, from its cues.

The act set follows task-oriented dialogue annotation: a turn may carry
several acts. Turns in every language get acts from the same cues (a
non-English turn's cues come from the multilingual lists, see `turns.py`);
a turn with no act cue falls back to `request` (at most six words) or
`inform`, as in English.
"""
from __future__ import annotations

from .turns import AssistantCues, TurnCues

ACTS = ("greet", "inform_intent", "inform", "request", "request_alts", "select", "affirm", "negate",
        "thank", "goodbye")


def turn_acts(t: TurnCues, before: AssistantCues | None) -> tuple[str, ...]:
    """Acts of one user turn in the fixed ACTS order."""
    acts = set()
    if t.greets:
        acts.add("greet")
    if t.cue("intent"):
        acts.add("inform_intent")
    if t.cue("alts"):
        acts.add("request_alts")
    if t.cue("select") or (before is not None and before.offers_options and t.words <= 3
                           and t.scrubbed.prose.startswith("<number>")):
        acts.add("select")
    if t.opens_affirm or (t.validates_early and not t.cue("correct")):
        acts.add("affirm")
    if t.opens_negate or t.cue("correct") or (t.opens_soft_negate and t.cue("correct_weak")):
        acts.add("negate")
    if t.cue("thank"):
        acts.add("thank")
    if t.cue("goodbye"):
        acts.add("goodbye")
    # A verbless fragment ("csv totals, python", "shorter") asks for something.
    if t.n_directives or t.n_could_you or t.n_questions or t.continue_only or t.n_fragments:
        acts.add("request")
    # Informing: the user states facts, pastes material, or answers a question.
    if (t.n_statements or t.has_paste or t.cue("background") or t.cue("increment")
            or (before is not None and before.asks_user and t.words >= 2 and not t.asks)):
        acts.add("inform")
    if not acts:
        # Leftovers are fragments ("shorter", "in french") that steer the
        # assistant: requests when they follow an answer, else information.
        acts.add("request" if t.words and t.words <= 6 else "inform")
    return tuple(a for a in ACTS if a in acts)
