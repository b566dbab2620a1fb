"""How a user reacts to each assistant turn, and how the conversation ends.

The rules read cues only, so they apply to turns in any language (the cues
of a non-English turn come from the multilingual lists, see `turns.py`).
"""
from __future__ import annotations

from .turns import AssistantCues, ConvCues, TurnCues

# Reaction labels, in priority order: the first that applies names the turn.
ERROR = "reports an error"
STILL = "says it still falls short"
CORRECT = "corrects the assistant"
REJECT = "rejects the answer"
CONTINUE = "asks to continue"
ANSWER = "answers the assistant's question"
CONSTRAINT = "adds a constraint"
REFINE = "refines the request"
FOLLOWUP = "asks a follow-up question"
MOVE_ON = "accepts silently and moves on"
PASTE_MORE = "pastes more material"
VALIDATE = "validates the answer"
OTHER = "replies without a clear reaction"
REACTIONS = (ERROR, STILL, CORRECT, REJECT, CONTINUE, ANSWER, CONSTRAINT, REFINE, FOLLOWUP, MOVE_ON,
             PASTE_MORE, VALIDATE, OTHER)

# Endings.
END_THANKS_BYE = "closes with thanks and goodbye"
END_THANKS = "closes with thanks"
END_BYE = "closes with a goodbye"
END_VALIDATE = "closes by validating the answer"
END_ABANDON = "abandons after an assistant question"
END_UNANSWERED = "ends on an unanswered user turn"
END_SILENT = "ends without closing"
ENDINGS = (END_THANKS_BYE, END_THANKS, END_BYE, END_VALIDATE, END_ABANDON, END_UNANSWERED, END_SILENT)


def reaction(t: TurnCues, before: AssistantCues | None) -> tuple[str, bool]:
    """(main reaction, whether the turn also validates the previous answer)."""
    validates = bool(t.validates_early or (t.cue("thank") and not t.cue("correct")))
    err_paste = t.scrubbed.main_paste is not None and t.scrubbed.pasted[1] + t.scrubbed.pasted[2] >= 40
    if t.cue("error_report") or err_paste or (t.cue("error_word") and t.has_paste):
        return ERROR, False
    if t.cue("still_short"):
        return STILL, False
    if t.cue("correct") or (t.opens_negate and t.words >= 2) or (
            (t.opens_negate or t.opens_soft_negate) and t.cue("correct_weak")):
        return CORRECT, False
    if t.cue("reject"):
        return REJECT, False
    if t.continue_only:
        return CONTINUE, validates
    if before is not None and before.asks_user and not t.n_directives and not t.n_questions \
            and not t.n_could_you and (t.words >= 1 or t.has_paste):
        return ANSWER, validates
    refers_back = bool(t.cue("anaphora"))
    if t.n_directives or t.n_could_you or t.cue("intent"):
        if refers_back or t.cue("increment"):
            return (CONSTRAINT if t.cue("constraint") else REFINE), validates
        return MOVE_ON, validates
    if t.n_questions:
        # A question right after an answer is a follow-up unless it is long
        # and points at nothing said before.
        follows = refers_back or t.cue("followup") or t.words < 15
        return (FOLLOWUP if follows else MOVE_ON), validates
    if t.cue("constraint") and t.words <= 25 and not validates:
        return CONSTRAINT, False
    if t.n_fragments and t.words <= 12 and not validates:
        # "shorter", "in french": a fragment that steers the last answer.
        return REFINE, False
    if t.has_paste:
        return PASTE_MORE, validates
    if validates or t.cue("thank"):
        return VALIDATE, False
    if t.cue("increment") or t.n_statements:
        return CONSTRAINT if t.cue("constraint") else REFINE, False
    return OTHER, False


def reactions(c: ConvCues) -> list[tuple[str, bool]]:
    """Reaction of every user turn after the first, in order."""
    return [reaction(t, b) for t, b in zip(c.turns[1:], c.before[1:])]


def ending(c: ConvCues) -> str:
    if c.ends_on_user:
        return END_UNANSWERED
    last = c.turns[-1] if c.turns else None
    if last is not None and c.n > 1:
        thanks = last.cue("thank") > 0
        bye = last.cue("goodbye") > 0
        # A closing turn asks for nothing new.
        closing = not (last.n_directives or last.n_could_you or last.n_questions)
        if closing and thanks and bye:
            return END_THANKS_BYE
        if closing and thanks:
            return END_THANKS
        if closing and bye:
            return END_BYE
        if closing and last.validates_early and not last.cue("correct") and last.words <= 15:
            return END_VALIDATE
    if c.last_assistant is not None and c.last_assistant.asks_user:
        return END_ABANDON
    return END_SILENT
