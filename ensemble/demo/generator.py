"""Deterministic synthetic coding and writing conversations for the demo.

Each source is one *behaviour* (a persona, or the hidden real-only
`all_caps_urgency`) applied to tasks drawn from a topic pool. Topic lives only
in the task slots (`topics.py`, data in `data/`); behaviour lives only in the persona
scripts below, so swapping topic pools leaves behaviour unchanged in
distribution. The spec is docs/DEMO_SPEC.md.

Every conversation gets its own `random.Random`, seeded from (seed, source,
behaviour, index), so a conversation does not depend on how many others are
generated and output is identical across runs and platforms.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .topics import CODING, TASK_KINDS, TOPIC_POOLS, WRITING, Task, TopicPool
from measure.atomic import write_text
from measure.conversation import ASSISTANT, USER, Conversation, Message
from measure.errors import ConfigError

__all__ = [
    "PERSONAS", "HIDDEN_BEHAVIOURS", "BEHAVIOURS", "REAL_COMPOSITION", "UNMATCHED_BEHAVIOUR",
    "TOPIC_POOLS", "Persona", "Task", "TopicPool", "DemoData",
    "generate_source", "generate_demo", "write_demo", "real_counts", "expected_weights",
]


@dataclass(frozen=True)
class Persona:
    name: str
    signature: str
    user_turns: tuple[int, int]  # inclusive range of user turns per conversation


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("sim_terse",
            "very short, curt lowercase imperative fragments; no greeting, no thanks; "
            "accepts silently by moving on to the next request", (1, 2)),
    Persona("sim_polite_frontloader",
            "long polite requests that front-load all background, constraints and audience "
            "in the first turn; validates explicitly; ends with thanks and goodbye", (2, 3)),
    Persona("sim_incremental",
            "starts vague and reveals context turn by turn ('oh, I forgot to mention...'); "
            "neutral tone", (4, 6)),
    Persona("sim_corrector",
            "explicit directives; corrects or rejects the assistant ('No, that's not right.') "
            "and adds constraints; direct tone", (3, 5)),
    Persona("sim_error_paster",
            "pastes error output or a draft without an explicit question; reports that the "
            "fix still fails", (2, 4)),
    Persona("sim_questioner",
            "hedged questions and many why/what-about follow-ups; curious; leaves without "
            "closing", (3, 5)),
    Persona("sim_emoji_casual",
            "casual, treats the assistant as a friend: emojis, 'lol', 'haha', slang", (2, 3)),
)}

# Behaviours only real users show; no simulator can reproduce them.
HIDDEN_BEHAVIOURS: dict[str, Persona] = {
    "all_caps_urgency": Persona(
        "all_caps_urgency",
        "shouts in ALL CAPS with urgency words and multiple exclamation marks; otherwise "
        "works like one of the matched personas", (2, 5)),
}

BEHAVIOURS: dict[str, Persona] = {**PERSONAS, **HIDDEN_BEHAVIOURS}

# Planted composition of the `real` source (docs/DEMO_SPEC.md).
REAL_COMPOSITION: dict[str, float] = {
    "sim_polite_frontloader": 0.45,
    "sim_corrector": 0.30,
    "sim_error_paster": 0.15,
    "all_caps_urgency": 0.10,
}
UNMATCHED_BEHAVIOUR = "all_caps_urgency"


# --------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------

def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _typo(text: str, rng: random.Random) -> str:
    """One human slip in a random word: swapped, dropped or doubled letter."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    r = rng.random()
    if r < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif r < 0.7:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


_ABBREV = {"you": "u", "your": "ur", "you're": "ur", "please": "pls", "i'm": "im",
           "don't": "dont", "can't": "cant", "it's": "its", "that's": "thats",
           "really": "rly", "because": "bc", "though": "tho", "with": "w/"}


def _abbreviate(text: str) -> str:
    return " ".join(_ABBREV.get(w, w) for w in text.split(" "))


_LINE_NO = re.compile(r"(line |\.[a-z]{1,5}:)(\d+)")


_LIBRARY_PATH = re.compile(r"node_modules|site-packages|vendor/|react-dom|vg_replace|node:internal")


def _jitter_lines(text: str, rng: random.Random) -> str:
    """Shift line numbers as if the user's own file changed a little since last time.

    Frames inside libraries keep their numbers: users edit their code, not npm's.
    """
    d = rng.choice((-3, -2, -1, 1, 2, 3, 4, 6))

    def shift(m: re.Match) -> str:
        return f"{m.group(1)}{max(1, int(m.group(2)) + d)}"

    return "\n".join(ln if _LIBRARY_PATH.search(ln) else _LINE_NO.sub(shift, ln)
                     for ln in text.split("\n"))


_ERROR_CLASS = re.compile(r"[A-Za-z](Error|Exception)\b")  # KeyError, NullReferenceException...
_ERROR_WORD = re.compile(r"error|exception|fault", re.I)


def _headline(text: str) -> str:
    """The line of tool output a user would quote: the first one naming an error."""
    lines = [ln.strip(" │") for ln in text.splitlines() if len(ln.strip(" │╷╵")) > 2]
    for pattern in (_ERROR_CLASS, _ERROR_WORD):
        hit = next((ln for ln in lines if pattern.search(ln)), None)
        if hit:
            return hit
    return lines[-1]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.replace("\n", " ")) if s]


def _lower_slots(task: Task, rng: random.Random) -> dict[str, str]:
    """Lowercased slot values for users who never press shift."""
    return {"brief": rng.choice(task.briefs), "request": task.request.lower(),
            "thing": task.thing.lower(), "the_thing": task.the_thing.lower(),
            "c": rng.choice(task.constraints).lower(), "audience": task.audience.lower(),
            "tweak": rng.choice(task.tweaks).lower(), "f": rng.choice(task.facts).lower(),
            "vague": task.vague.lower()}


# A user turn, the kind of assistant reply it gets, and what the reply refers to.
Turn = tuple[str, str, tuple | None]


# --------------------------------------------------------------------------
# sim_terse
# --------------------------------------------------------------------------

_TERSE_OPEN = (
    "{brief}", "{request}", "{request}. {c}", "{brief}. {c}", "{brief}, {c}", "need {thing}. {c}",
    "{thing} for {audience}", "{brief} - {c}", "{request}, {c}", "quick one: {brief}",
    "{request}. keep it short", "{brief}\n{c}", "{request}\n{c}", "need {thing}", "{brief}. {tweak}",
    "{brief}. no explanation", "{request}. {c}. {tweak}", "{thing}. {c}", "{brief} asap",
)
_TERSE_OPEN_CODING = ("{request}. code only", "{brief}, just the code", "{brief}. {lang}")
_TERSE_OPEN_WRITING = ("{request}. no fluff", "{brief}, plain text", "{brief}. one paragraph")
_TERSE_PASTE_CODING = ("fix this", "fix", "make this work", "clean this up", "fix this.", "refactor")
_TERSE_PASTE_WRITING = ("rewrite this", "make this better", "shorten", "fix this", "tighten this",
                        "proofread")
_TERSE_NEXT = ("{g}", "{tweak}", "now {tweak}", "{tweak}. {g}", "{g}. {tweak}", "{c}", "also {tweak}",
               "{tweak} too", "{g}", "{tweak}")
_TERSE_G_CODING = ("shorter", "make it shorter", "simpler", "add comments", "no comments",
                   "add error handling", "fix this", "doesnt work", "split it into functions",
                   "rename the variables", "just the function", "less code", "no explanation, just code",
                   "doesnt compile", "wrong output", "now add tests", "faster", "one file")
_TERSE_G_WRITING = ("make it shorter", "shorter", "more formal", "less formal", "punchier",
                    "cut the first paragraph", "fewer adjectives", "different opening",
                    "drop the last line", "simpler words", "give me 3 versions", "less cheesy",
                    "more casual", "one paragraph", "too long", "again but shorter", "no emojis",
                    "less flowery")


def _terse(task: Task, rng: random.Random, n: int) -> list[Turn]:
    coding = task.kind == CODING
    s = _lower_slots(task, rng)
    s["lang"] = task.lang.lower()
    typo_rate = rng.choice((0.0, 0.1, 0.25))  # some hurried users slip more than others
    if rng.random() < 0.15:
        head = rng.choice(_TERSE_PASTE_CODING if coding else _TERSE_PASTE_WRITING)
        body = f"```\n{task.draft}\n```" if coding and rng.random() < 0.5 else task.draft
        first = f"{head}\n\n{body}"
    else:
        extra = _TERSE_OPEN_CODING if coding else _TERSE_OPEN_WRITING
        tpl = rng.choice(_TERSE_OPEN + extra)
        first = tpl.format_map(s)
        if rng.random() < 0.2:
            first += "."
        if rng.random() < typo_rate:
            first = _typo(first, rng)
    turns: list[Turn] = [(first, "answer", None)]
    if n >= 2:
        s["tweak"] = rng.choice(task.tweaks).lower()
        s["g"] = rng.choice(_TERSE_G_CODING if coding else _TERSE_G_WRITING)
        s["c"] = rng.choice(task.constraints).lower()
        nxt = rng.choice(_TERSE_NEXT).format_map(s)
        if rng.random() < typo_rate:
            nxt = _typo(nxt, rng)
        turns.append((nxt, "revise", None))
    return turns


# --------------------------------------------------------------------------
# sim_polite_frontloader
# --------------------------------------------------------------------------

_POLITE_GREET = (
    "Hi!", "Hello!", "Hi there!", "Hello there,", "Good morning!", "Good afternoon!",
    "Hi, I hope you're doing well.", "Hello, I hope your day is going well!", "Hi again!",
    "Hey there, I hope you're having a good day.", "Good evening,", "Hi, hope you're well!",
    "Hello, and thank you for taking the time to help.", "Hi :)",
)
_POLITE_ASK = (
    "Could you please help me {request}?", "I was hoping you could help me {request}.",
    "Would you be able to help me {request}?", "Could you please {request}?",
    "I'd be really grateful if you could {request}.", "Would you mind helping me {request}?",
    "I'm hoping you can help me {request}.", "If you have a moment, could you please help me {request}?",
    "I'd love your help to {request}.", "May I ask you to {request}?",
    "I wonder if you could kindly {request}.", "Could you possibly help me {request}, please?",
)
_POLITE_PRE_ASK = (
    "I'm working on something and could really use your help.",
    "I have a project I'd love some help with.",
    "I'd like to ask for your help with something, if that's okay.",
    "I've got a task I'm a bit stuck on and would appreciate your help.",
)
_FACT_LEADS = ("For some context, ", "A bit of background: ", "Some background that might help: ",
               "To give you the full picture, ", "Here's some context: ", "Just so you know, ",
               "In case it's useful, ", "To explain the situation: ")
_FACT_LIST_LEADS = ("Here is some background:", "Some context:", "A few details that might help:",
                    "Background:", "Here's what you should know:")
_CONS_LIST_LEADS = ("A few requirements:", "The requirements are:", "It needs to:",
                    "A couple of things it should do:", "Some constraints to keep in mind:",
                    "Requirements:")
_CONS_MODALS = ("It should", "It needs to", "It has to", "I'd like it to", "Ideally it would", "It must")
_POLITE_AUD_CODING = ("It will be used by {audience}.", "This is for {audience}.",
                      "The people using it will be {audience}.",
                      "It's for {audience}, so it needs to be reliable.",
                      "For reference, it's for {audience}.")
_POLITE_AUD_WRITING = ("It's for {audience}.", "The audience is {audience}.",
                       "The people reading it will be {audience}.", "It will be read by {audience}.",
                       "I'm writing it for {audience}.")
_POLITE_THANKS = (
    "Thank you so much in advance!", "Thanks so much for your help!", "I really appreciate it, thank you!",
    "Many thanks in advance.", "Thank you!", "Thanks a lot, I really appreciate your time.",
    "Any help would be wonderful. Thank you!", "Thank you very much!",
    "Thanks in advance, I really appreciate it!", "Thank you kindly!",
)
_POLITE_VALIDATE = (
    "That works great, thank you!", "This is perfect, thank you so much!",
    "Wonderful, that's exactly what I had in mind.", "Thank you, this looks really good!",
    "That's fantastic, thank you!", "This is great, I really appreciate it.",
    "Oh, that's lovely, thank you!", "Perfect, thank you for being so thorough!",
    "This looks great, thanks so much!", "Brilliant, thank you!",
)
_POLITE_VALIDATE_CODING = ("I ran it and it works perfectly, thank you!",
                           "That worked on the first try, thank you so much!",
                           "I tested it and it does exactly what I needed, thank you!")
_POLITE_VALIDATE_WRITING = ("I love how this reads, thank you!",
                            "This sounds so much better than what I had, thank you!",
                            "I read it out loud and it sounds just right, thank you!")
_POLITE_MORE = (
    "Could you please also {tweak}?", "Would it be possible to {tweak} as well?",
    "One small thing: could you {tweak}?", "If it's not too much trouble, could you {tweak}?",
    "I was also hoping you could {tweak}.", "Could I ask you to {tweak} too?",
    "Just one more thing, if you don't mind: could you please {tweak}?",
    "Would you be so kind as to {tweak}?",
)
_POLITE_BYE_A = ("That's perfect", "This is exactly what I needed", "Wonderful, that works great",
                 "That's just right", "Brilliant, this is exactly right", "Lovely, that's perfect",
                 "Great, that's everything I needed", "This is wonderful", "That's really helpful")
_POLITE_BYE_B = ("thank you so much!", "thanks so much for your help!", "thank you, I really appreciate it.",
                 "thank you for your patience!", "thanks again for all your help.",
                 "I'm really grateful, thank you!", "thank you for taking the time.")
_POLITE_BYE_C = ("Have a great day!", "Bye for now!", "Take care!", "Have a lovely evening.", "Goodbye!",
                 "All the best!", "Have a wonderful day, goodbye!", "Speak soon, bye!",
                 "Wishing you a good rest of your day!", "Bye!")


def _polite_context(task: Task, rng: random.Random) -> str:
    facts = list(task.facts)
    rng.shuffle(facts)
    facts = facts[:rng.choice((3, 4))]
    style = rng.random()
    if style < 0.3:
        return rng.choice(_FACT_LIST_LEADS) + "\n" + "\n".join(f"- {_cap(f)}" for f in facts)
    if style < 0.65:
        rest = " ".join(f"{_cap(f)}." for f in facts[1:])
        return f"{rng.choice(_FACT_LEADS)}{facts[0]}. {rest}"
    rest = " ".join(f"{_cap(f)}." for f in facts[2:])
    return f"{rng.choice(_FACT_LEADS)}{facts[0]}, and {facts[1]}. {rest}"


def _polite_constraints(task: Task, rng: random.Random) -> str:
    cons = list(task.constraints)
    rng.shuffle(cons)
    style = rng.random()
    if style < 0.3:
        return rng.choice(_CONS_LIST_LEADS) + "\n" + "\n".join(f"- {_cap(c)}" for c in cons)
    if style < 0.6:
        return f"{rng.choice(_CONS_MODALS[:3])} {cons[0]}, {cons[1]}, and {cons[2]}."
    return " ".join(f"{rng.choice(_CONS_MODALS)} {c}." for c in cons)


def _polite(task: Task, rng: random.Random, n: int) -> list[Turn]:
    coding = task.kind == CODING
    ask = rng.choice(_POLITE_ASK).format(request=task.request)
    aud = rng.choice(_POLITE_AUD_CODING if coding else _POLITE_AUD_WRITING).format(audience=task.audience)
    parts = [_polite_context(task, rng), _polite_constraints(task, rng), aud]
    if rng.random() < 0.25:
        rng.shuffle(parts)
    if rng.random() < 0.3:
        # Context first, then the ask, the way some people write emails.
        so = ask if ask.startswith("I") else ask[0].lower() + ask[1:]
        body = [rng.choice(_POLITE_PRE_ASK)] + parts + ["So, " + so]
    else:
        body = [ask] + parts
    sep = "\n\n" if rng.random() < 0.6 else " "
    first = rng.choice(_POLITE_GREET)
    prev = first
    for part in body + [rng.choice(_POLITE_THANKS)]:
        # Lists and letter-style salutations ("Hello there,") need a paragraph break.
        broken = "\n" in part or "\n" in prev or prev.endswith(",")
        first += ("\n\n" if broken else sep) + part
        prev = part
    turns: list[Turn] = [(first, "answer", None)]
    if n >= 3:
        extra = _POLITE_VALIDATE_CODING if coding else _POLITE_VALIDATE_WRITING
        ok = rng.choice(_POLITE_VALIDATE + extra)
        more = rng.choice(_POLITE_MORE).format(tweak=rng.choice(task.tweaks))
        turns.append((f"{ok} {more}", "revise", None))
    bye = f"{rng.choice(_POLITE_BYE_A)}, {rng.choice(_POLITE_BYE_B)} {rng.choice(_POLITE_BYE_C)}"
    turns.append((bye, "close", None))
    return turns


# --------------------------------------------------------------------------
# sim_incremental
# --------------------------------------------------------------------------

_INC_OPEN = (
    "I need help with {vague}.", "Can you help me with {vague}?", "I'm working on {vague}.",
    "I need {vague}.", "Could you write {vague} for me?", "Help me with {vague}.",
    "I have to make {vague}.", "I need to put together {vague}.", "Quick question about {vague}.",
    "Working on {vague}, can you help?", "I want to make {vague}.", "Need some help with {vague}.",
    "Hey, I need {vague}.", "Can you make {vague}?", "I've got {vague} I need help with.",
)
_INC_PRE = ("", "", "", "", "So, ", "Hey. ", "Hi. ", "Ok so ", "Quick one. ")
_INC_POST = ("", "", "", "", " Nothing fancy.", " Should be quick.", " It's for work.", " Not sure where to start.",
             " It's a small thing.", " I'll explain as we go.")
_INC_FACT = (
    "Oh, I forgot to mention: {f}.", "Also, {f}.", "One more thing: {f}.", "Actually, {f}.",
    "Wait, I should have said that {f}.", "Forgot to say, {f}.", "Oh and {f}.",
    "Should mention that {f}.", "Hmm, {f}, if that changes anything.", "By the way, {f}.",
    "Another detail: {f}.", "Just remembered, {f}.",
)
_INC_CONS = (
    "Also it needs to {c}.", "Oh, and it has to {c}.", "It should also {c}.",
    "Another thing: it needs to {c}.", "Can it also {c}?", "Actually, it has to {c}.",
    "Oh, I forgot, it should {c}.", "One more requirement: it has to {c}.", "Also, it must {c}.",
    "Wait, it also needs to {c}.",
)
_INC_AUD = (
    "Oh, it's for {audience}, by the way.", "Actually, this is for {audience}.",
    "I should mention it's for {audience}.", "Forgot to say who it's for: {audience}.",
    "Context I left out: it's for {audience}.",
)
_INC_ACK = ("", "", "", "", "", "Ok. ", "Okay. ", "Right. ", "Hmm. ", "Alright. ")
_INC_FINAL = (
    "Ok, can you put all of that together?", "Can you redo the whole thing with all of that?",
    "Alright, show me the full version now.", "Okay, update it with everything I mentioned.",
    "So with all that, what would it look like?", "Can you give me the final version?",
    "I think that's everything. Can you redo it?", "That's all the details, I think. Full version please.",
)


def _incremental(task: Task, rng: random.Random, n: int) -> list[Turn]:
    first = rng.choice(_INC_OPEN).format(vague=task.vague)
    pre = rng.choice(_INC_PRE) if not first.startswith(("Hey", "Quick")) else ""
    if pre.endswith("so ") and not first.startswith("I"):
        first = pre + first[0].lower() + first[1:]
    else:
        first = pre + first
    turns: list[Turn] = [(first + rng.choice(_INC_POST), "answer", None)]
    items = ([(_INC_FACT, "f", f) for f in task.facts] + [(_INC_CONS, "c", c) for c in task.constraints]
             + [(_INC_AUD, "audience", task.audience)])
    rng.shuffle(items)
    n_reveal = n - 1
    final = rng.random() < 0.4
    if final:
        n_reveal -= 1
    for bank, slot, value in items[:n_reveal]:
        text = rng.choice(bank).format_map({slot: value})
        turns.append((rng.choice(_INC_ACK) + text, "revise", None))
    if final:
        turns.append((rng.choice(_INC_FINAL), "revise", None))
    return turns


# --------------------------------------------------------------------------
# sim_corrector
# --------------------------------------------------------------------------

_CORR_OPEN = (
    "{Request}. It has to {c1}.", "{Request}. It must {c1} and {c2}.", "I need you to {request}. It must {c1}.",
    "{Request}. Requirements: {c1}; {c2}.", "Task: {request}. Constraint: it has to {c1}.",
    "{Request}. Don't add anything I didn't ask for.", "{Request}. {F1}. It needs to {c1}.",
    "{Request}, and it has to {c1}. No extra explanation.", "Write {thing}. {F1}. It must {c1}.",
    "{Request}. Keep it tight. It has to {c1}.", "{Request}.\n\nRules:\n1. It must {c1}.\n2. It must {c2}.",
    "Here's what I need: {request}. It has to {c1}, and it has to {c2}.",
    "{Request}. Do exactly this, nothing more: it must {c1}.", "{Request}. {F1}. {F2}.",
)
_CORR_NO = (
    "No, that's not right.", "That's not what I asked for.", "No.", "Wrong.", "That's incorrect.",
    "No, that's not it.", "That's not what I meant.", "That's wrong.", "No, you missed the point.",
    "You ignored my instructions.", "This is not what I asked for.", "No, no.", "Incorrect.",
    "Not right.", "No, that's not what I said.", "That's not it at all.",
)
_CORR_BODY = (
    "I said it has to {c}.", "It needs to {c}.", "I told you it must {c}.",
    "Read my message again: it has to {c}.", "It must {c}. Fix that.",
    "It has to {c}. You didn't do that.", "Again: it must {c}.",
    "{F}, so that won't work.", "{F}. Redo it.", "You're ignoring the fact that {f}.",
    "{F}. Take that into account.", "Remember: {f}.",
    "{Tweak}.", "Redo it and {tweak}.", "Just {tweak}.", "Start over and {tweak}.", "{Tweak}. Nothing else.",
)
_CORR_ADD = ("Also, it has to {c}.", "Now {tweak}.", "Next: {tweak}.", "Also {tweak}.",
             "Add this constraint: it must {c}.", "{Tweak}. Don't change anything else.")
_CORR_END = ("Fine. Now {tweak}.", "Better. {Tweak}.", "OK, that's correct now.",
             "That's better. Leave it like that.", "Good, that's what I wanted.", "Finally. That's right.",
             "Fine.", "OK. That works.")


def _corrector_slots(task: Task, rng: random.Random) -> dict[str, str]:
    c1, c2 = rng.sample(task.constraints, 2)
    f1, f2 = rng.sample(task.facts, 2)
    tweak = rng.choice(task.tweaks)
    f = rng.choice(task.facts)
    return {"request": task.request, "Request": _cap(task.request), "thing": task.thing,
            "c1": c1, "c2": c2, "F1": _cap(f1), "F2": _cap(f2), "c": rng.choice(task.constraints),
            "f": f, "F": _cap(f), "tweak": tweak, "Tweak": _cap(tweak)}


def _corrector(task: Task, rng: random.Random, n: int) -> list[Turn]:
    s = _corrector_slots(task, rng)
    turns: list[Turn] = [(rng.choice(_CORR_OPEN).format_map(s), "answer", None)]
    for k in range(1, n):
        s = _corrector_slots(task, rng)
        last = k == n - 1
        if last and k > 1 and rng.random() < 0.3:
            tpl = rng.choice(_CORR_END)
            turns.append((tpl.format_map(s), "revise" if "{" in tpl else "close", None))
        elif k == 1 or rng.random() < 0.65:
            text = rng.choice(_CORR_NO) + " " + rng.choice(_CORR_BODY).format_map(s)
            turns.append((text, "sorry", None))
        else:
            turns.append((rng.choice(_CORR_ADD).format_map(s), "revise", None))
    return turns


# --------------------------------------------------------------------------
# sim_error_paster
# --------------------------------------------------------------------------

_EP_LEADS_CODING = ("", "", "", "", "", "getting this", "getting this:", "this happens when I run it:",
                    "error:", "output:", "from the terminal:", "console says:", "this keeps coming up",
                    "hmm", "again", "{lang}:", "running it gives me this", "log:", "stack trace:",
                    "after the last change:")
_EP_MORE_CODING = (
    "still failing:\n\n{err}", "same error\n\n{err}", "still getting it\n\n{err}", "now this:\n\n{err2}",
    "that didn't fix it\n\n{err}", "{err2}", "nope\n\n{err}", "tried that, still:\n{last}",
    "still broken. {last}", "different error now\n\n{err2}", "same thing\n```\n{last}\n```",
    "after your change:\n\n{err2}", "still\n\n{err}", "{last}\n\nstill", "didn't work\n{err2}",
    "```\n{err2}\n```", "same\n\n```\n{err}\n```",
)
_EP_DONE_CODING = ("ok that works", "works now", "ok it runs now", "that fixed it", "ok that did it")
_EP_LEADS_WRITING = ("", "", "", "", "", "draft:", "here's what I have", "current version:", "my draft",
                     "{the_thing} so far:", "this is what I've got", "first attempt:", "what I wrote",
                     "v1", "rough draft")
_EP_NOTES_WRITING = ("(it has to {c})", "(for {audience})", "word count: {wc}", "({wc} words)",
                     "(needs to {c})")
_EP_MORE_WRITING = (
    "still sounds off\n\n\"{s}\"", "\"{s}\"\n\nthis part still reads weird", "still too stiff",
    "hmm, still not it", "still doesn't flow", "{s}\n\nstill clunky", "{reviewer} said:\n\n\"{fb}\"",
    "feedback from {reviewer}:\n\n{fb}", "still too long", "the ending still feels flat",
    "new version:\n\n{part}", "{part}", "second try:\n\n{part}", "still reads like a template",
    "{reviewer} read it:\n> {fb}",
)
_EP_DONE_WRITING = ("ok that's better", "that works", "ok, better", "that's it")
_REVIEWERS = ("my manager", "a friend", "my sister", "my editor", "my teacher", "my partner",
              "a colleague", "my mum")
_FEEDBACK = (
    "Too generic. What's actually specific here?", "The tone is too stiff.",
    "It's too long, cut it in half.", "The ending is abrupt.", "Feels like it was written by a committee.",
    "Good start but the first line is weak.", "Nice, but it doesn't sound like you.",
    "Too many adjectives.", "I got bored in the middle, sorry!", "Why is the most interesting bit at the end?",
)


def _error_paster_coding(task: Task, rng: random.Random, n: int) -> list[Turn]:
    err = _jitter_lines(task.error, rng) if rng.random() < 0.5 else task.error
    mode = rng.random()
    code = f"```{task.fence}\n{task.draft}\n```" if rng.random() < 0.6 else task.draft
    if mode < 0.45:
        block = err
    elif mode < 0.65:
        block = f"```\n{err}\n```"
    elif mode < 0.85:
        block = f"{code}\n\n{err}"
    else:
        block = f"{err}\n\n{code}"
    lead = rng.choice(_EP_LEADS_CODING).format(lang=task.lang)
    turns: list[Turn] = [((lead + "\n\n" + block) if lead else block, "fix", None)]
    for k in range(1, n):
        if k == n - 1 and k > 1 and rng.random() < 0.2:
            turns.append((rng.choice(_EP_DONE_CODING), "close", None))
            break
        err = _jitter_lines(task.error, rng)
        s = {"err": err, "err2": task.error2, "last": _headline(err)}
        turns.append((rng.choice(_EP_MORE_CODING).format_map(s), "fix", None))
    return turns


def _error_paster_writing(task: Task, rng: random.Random, n: int) -> list[Turn]:
    sents = _sentences(task.draft)
    mode = rng.random()
    if mode < 0.4:
        block = task.draft
    elif mode < 0.6:
        block = " ".join(sents[:rng.randint(2, max(2, len(sents) - 1))])
    elif mode < 0.75:
        block = f"\"{task.draft}\""
    else:
        note = rng.choice(_EP_NOTES_WRITING).format(c=rng.choice(task.constraints), audience=task.audience,
                                                    wc=len(task.draft.split()))
        block = f"{task.draft}\n\n{note}"
    lead = rng.choice(_EP_LEADS_WRITING).format(the_thing=task.the_thing)
    turns: list[Turn] = [((lead + "\n\n" + block) if lead else block, "fix", None)]
    for k in range(1, n):
        if k == n - 1 and k > 1 and rng.random() < 0.2:
            turns.append((rng.choice(_EP_DONE_WRITING), "close", None))
            break
        i = rng.randrange(len(sents))
        s = {"s": sents[i], "part": " ".join(sents[i:i + 2]), "reviewer": rng.choice(_REVIEWERS),
             "fb": rng.choice(_FEEDBACK)}
        turns.append((rng.choice(_EP_MORE_WRITING).format_map(s), "fix", None))
    return turns


def _error_paster(task: Task, rng: random.Random, n: int) -> list[Turn]:
    if task.kind == CODING:
        return _error_paster_coding(task, rng, n)
    return _error_paster_writing(task, rng, n)


# --------------------------------------------------------------------------
# sim_questioner
# --------------------------------------------------------------------------

_Q_OPEN = (
    "I was wondering if maybe you could help me {request}?",
    "Would it be possible to {request}? I'm not totally sure where to start.",
    "I'm not sure this is the right place to ask, but could you maybe help me {request}?",
    "Sorry if this is a basic question, but how would I {request}?",
    "I've been trying to figure out how to {request}. Do you think you could show me?",
    "Maybe a silly question, but is there a good way to {request}?",
    "Hi, I was hoping to {request}, but I'm not sure how to approach it. Any ideas?",
    "Do you think it would be possible to {request}? I'm kind of new to this.",
    "I'm a bit stuck. Could you perhaps help me {request}?",
    "I wonder if you could help me {request}? I'm not sure what the best approach would be.",
    "Is it possible to {request}? I'd like to understand how it works, too.",
    "How would someone go about trying to {request}, do you think?",
)
_Q_PRE = ("", "", "", "", "Hi! ", "Hello, ", "Hey, ", "Um, ", "So, ")
_Q_OPEN_FACT = (" (In case it matters, {f}.)", " For context, {f}.", " I should probably say that {f}.")
_Q_WHY = (
    "Why did you use {x}?", "I'm curious, why {x} and not something else?",
    "Sorry if this is obvious, but what does {x} actually do here?", "Could you explain why {x} is needed?",
    "What's the reason for {x}? I wouldn't have thought of that.",
    "Is {x} really necessary, or could it be left out?", "I don't quite follow {x}. Why is it there?",
    "Hmm, why {x}? Is that the usual way?",
)
_Q_ALT = (
    "What about {x}?", "Would {x} be better, maybe?", "Is {x} an option, or is that a bad idea?",
    "I was also wondering about {x}. Would that work?", "Hmm, what if I tried {x}?",
    "Do you think {x} would be simpler?", "I've seen people suggest {x}. Is that better or worse?",
)
_Q_EDGE = (
    "What happens if {x}?", "And what if {x}? Would it still work?", "Hmm, what would happen if {x}?",
    "Would it still be okay if {x}?", "I'm a little worried about what happens if {x}. Is that a problem?",
    "What should I do if {x}?",
)
_Q_GEN_CODING = ("How would I test this?", "Is this the standard way people do it?",
                 "Would this be slow with a lot of data?", "Is there anything here that could break later?",
                 "Do I need to install anything for this?", "How would I know if it's working correctly?")
_Q_GEN_WRITING = ("Is it too long, do you think?", "Does the tone sound right to you?",
                  "How would I know if it's landing with readers?", "Is it okay for it to be this informal?",
                  "Would a different opening be stronger?", "Is there a rule of thumb for the length?")
_Q_SOFT = ("Oh, interesting. ", "Hmm, okay. ", "I see. ", "Ah, that makes sense, I think. ", "Okay. ",
           "Interesting! ", "Oh, I didn't know that. ", "Right. ", "Oh I see. ", "Got it, I think. ")
_Q_TAIL = (" Sorry if that's a dumb question.", " Just curious.", " I'm still trying to wrap my head around it.",
           " Maybe I'm overthinking it.", " I hope that makes sense.")


def _questioner(task: Task, rng: random.Random, n: int) -> list[Turn]:
    first = rng.choice(_Q_OPEN).format(request=task.request)
    pre = rng.choice(_Q_PRE) if not first.startswith("Hi") else ""
    if pre.endswith(", "):
        first = pre + first[0].lower() + first[1:]
    else:
        first = pre + first
    if rng.random() < 0.3:
        first += rng.choice(_Q_OPEN_FACT).format(f=rng.choice(task.facts))
    turns: list[Turn] = [(first, "answer", None)]
    gen = _Q_GEN_CODING if task.kind == CODING else _Q_GEN_WRITING
    pool = ([(_Q_WHY, "why", c) for c in task.concepts] + [(_Q_ALT, "alt", a) for a in task.alternatives]
            + [(_Q_EDGE, "edge", e) for e in task.edge_cases] + [(gen, "gen", None)])
    rng.shuffle(pool)
    # Drawn without replacement so one person doesn't repeat the same filler.
    softs, tails = rng.sample(_Q_SOFT, n - 1), rng.sample(_Q_TAIL, n - 1)
    used: set[str] = set()
    for k, (bank, qtype, x) in enumerate(pool[:n - 1]):
        tpl = rng.choice(bank)
        if tpl in used:  # one redraw: people rarely reuse the exact same phrasing
            tpl = rng.choice(bank)
        used.add(tpl)
        q = tpl.format(x=x) if x is not None else tpl
        soft = softs[k] if rng.random() < 0.45 and not q.startswith("Hmm") else ""
        tail = tails[k] if rng.random() < 0.25 else ""
        turns.append((soft + q + tail, "explain", (qtype, x)))
    return turns


# --------------------------------------------------------------------------
# sim_emoji_casual
# --------------------------------------------------------------------------

_EMOJI = ("😅", "😂", "🙏", "🔥", "✨", "💀", "👀", "🙌", "😭", "🤞", "😎", "🥲", "💯", "😊", "🤓",
          "🫠", "😬", "🥹", "👍", "❤️")
_EC_OPEN = (
    "heyyy {e} can you help me {request} lol", "ok so i need {thing} {e} it has to {c} lol",
    "yo!! {brief} please {e}", "omg help {e} i have to {request} by tonight lol",
    "hiii {e} so {f} haha and i need {thing}", "ok random q {e} can you {request}",
    "hey hey {e} need {thing} ngl i'm lost lol", "lol ok so {f} {e} anyway can you {request}",
    "bestie i need {thing} {e}{e2}", "soooo i have to {request} and i have zero idea lol {e}",
    "yo {e} quick favour, {request}? ty!!", "ngl i've been putting off {the_thing} for days {e} can you {request}",
    "hiiii ok so basically {brief} {e} help a friend out haha", "ok don't judge me {e} i need {thing} lmao",
    "heyy {e}{e2} {request}?? pretty please", "lowkey panicking {e} need {thing} asap",
    "{brief} {e} pleaseee", "help me {request} and i'll love you forever {e}",
)
_EC_MID = (
    "haha ok this is sick {e} can you {tweak}", "lol perfect {e} but {tweak} please",
    "ngl that's kinda fire {e} {tweak}?", "ok wait {f} lol does that change anything {e}",
    "omg yes {e} ok now {tweak}", "hahaha love it {e} tiny thing: {tweak}",
    "lmaooo ok {e} can it also {c}", "ok ok {e} {tweak} and we're good",
    "wait this is actually good?? {e} {tweak} tho", "haha you're a lifesaver {e} one more: {tweak}",
)
_EC_END = (
    "you're a legend {e}", "omg yes thank youuu {e}{e2}", "lol ok we're good, ty!! {e}", "perfect haha ily {e}",
    "ok this slaps {e} thx", "yesss {e} ty ty", "lmao ok that actually works {e} thanks!!",
    "big thanks {e} you saved me", "hahaha ok done {e} you're the best", "ahh amazing {e}{e2}",
    "ok i owe you one lol {e}",
)


def _emoji_casual(task: Task, rng: random.Random, n: int) -> list[Turn]:
    abbrev = rng.random() < 0.6  # some casual writers type "u"/"ur", some don't
    typo_rate = rng.choice((0.1, 0.25, 0.4))

    def say(bank) -> str:
        s = _lower_slots(task, rng)
        s["e"], s["e2"] = rng.choice(_EMOJI), rng.choice(_EMOJI)
        text = rng.choice(bank).format_map(s)
        if abbrev:
            text = _abbreviate(text)
        if rng.random() < typo_rate:
            text = _typo(text, rng)
        return text

    turns: list[Turn] = [(say(_EC_OPEN), "answer", None)]
    if n == 3 or rng.random() < 0.4:
        turns.append((say(_EC_MID), "revise", None))
    if len(turns) < n:
        turns.append((say(_EC_END), "close", None))
    return turns


# --------------------------------------------------------------------------
# all_caps_urgency (real users only)
# --------------------------------------------------------------------------

# The hidden behaviour is a way of *typing*, not a way of working: an
# all-caps user structures the conversation like one of the matched personas
# (drawn in their real-user proportions) but shouts every turn in capitals
# with urgency words. Only the style facet can tell them apart, so the
# planted weights stay exactly recoverable from the other facets, and the
# style facet shows one behaviour that no simulator has.
_CAPS_PREFIX = ("URGENT{x} ", "PLEASE HELP{x} ", "ASAP{x} ", "EMERGENCY{x} ", "HURRY{x} ",
                "I NEED THIS NOW{x} ", "DEADLINE IN {m} MINUTES{x} ", "", "", "")
_CAPS_SUFFIX = (" ASAP{y}", " RIGHT NOW{y}", " URGENT{y}", " HURRY{y}", " NOW{y}",
                " I'M OUT OF TIME{y}", "{y}", "{y}")


def _caps_base(rng: random.Random) -> str:
    matched = [(b, w) for b, w in REAL_COMPOSITION.items() if b in PERSONAS]
    r = rng.random() * sum(w for _, w in matched)
    for b, w in matched:
        r -= w
        if r < 0:
            return b
    return matched[-1][0]


def _shout(text: str, rng: random.Random) -> str:
    fill = {"x": "!" * rng.randint(2, 4), "y": "!" * rng.randint(2, 5),
            "m": str(rng.choice((5, 10, 15, 20, 30)))}
    body = text.rstrip(".!? ")
    return (rng.choice(_CAPS_PREFIX).format_map(fill) + body.upper()
            + rng.choice(_CAPS_SUFFIX).format_map(fill))


def _all_caps(task: Task, rng: random.Random, n: int, base: str | None = None) -> list[Turn]:
    base = base or _caps_base(rng)
    return [(_shout(text, rng), kind, ref) for text, kind, ref in _SCRIPTS[base](task, rng, n)]


_SCRIPTS = {
    "sim_terse": _terse,
    "sim_polite_frontloader": _polite,
    "sim_incremental": _incremental,
    "sim_corrector": _corrector,
    "sim_error_paster": _error_paster,
    "sim_questioner": _questioner,
    "sim_emoji_casual": _emoji_casual,
    "all_caps_urgency": _all_caps,
}


# --------------------------------------------------------------------------
# Assistant replies: plain and generic on purpose; the behaviour under study
# is the user's.
# --------------------------------------------------------------------------

_INTROS = {
    "answer": ("Here's {the_thing}:", "Sure! Here's a version that should do it:",
               "Here's one way to approach {the_thing}:", "Okay, here's a first version:", "Here you go:",
               "Sure, here's a straightforward version:"),
    "revise": ("Got it. Here's the updated version:", "Sure, I've updated {the_thing}:",
               "Good point. Here's a revised version:", "Understood. Here's {the_thing} with that change:",
               "Okay, adjusted:", "Thanks for the extra detail. Here's the revised version:"),
    "sorry": ("Sorry about that. Here's a corrected version:", "You're right, I missed that. Here's the fix:",
              "Apologies. Here's {the_thing} redone to match what you asked:",
              "My mistake. Here's an updated version that follows your instructions:"),
    "fix": ("This looks like it comes from {the_thing}. Here's a version that should fix it:",
            "Thanks for pasting that. Try this:", "Here's a corrected version:",
            "It looks like the problem is in {the_thing}. Here's an updated version:"),
    "fix_writing": ("Here's a tightened version:", "Here's a revision that keeps your voice:",
                    "Thanks for sharing the draft. Here's a smoother version:", "I've reworked it a bit:",
                    "Here's an edit of {the_thing}:"),
    "rush": ("Here it is right away:", "On it. Here's {the_thing}:", "Here's a quick version you can use now:",
             "Understood, here you go:"),
}
_OUTROS_CODING = ("Let me know if you'd like any changes.", "This should cover the basic case.",
                  "Run it and tell me if anything breaks.", "", "")
_OUTROS_WRITING = ("Let me know if you'd like a different tone.", "Happy to adjust the length or tone.",
                   "I can keep going from here if you like.", "", "")
_EXPLAIN = {
    "why": ("I used {x} because it keeps {the_thing} simpler and handles the common case for you.",
            "Good question! {x} is there so that {the_thing} behaves predictably when the input isn't "
            "what you expect.",
            "Mostly for clarity: {x} makes {the_thing} easier to change later. You could leave it out, "
            "but I'd keep it."),
    "alt": ("That would work too. Going with {x} is mostly a trade-off between simplicity and flexibility; "
            "for what you described I'd stick with the current version.",
            "You could try {x}. It's a reasonable choice, though it adds a bit more to keep track of."),
    "edge": ("Good thought. If {x}, {the_thing} should still behave sensibly, but it's worth handling "
             "that case explicitly.",
             "If {x}, you'd want a check for that. I can add one if you like."),
    "gen": ("It depends a little on your situation, but in general this approach holds up well.",
            "Short answer: yes, with the caveats above. Happy to go into more detail."),
}
_CLOSE = ("You're welcome! Good luck with {the_thing}.", "Glad I could help!", "Anytime. Have a great day!",
          "Happy to help, good luck!", "Great, glad it works.", "You're welcome!")


def _reply(kind: str, ref: tuple | None, task: Task, rng: random.Random) -> str:
    if kind == "explain":
        qtype, x = ref
        return rng.choice(_EXPLAIN[qtype]).format(x=x, the_thing=task.the_thing)
    if kind == "close":
        return rng.choice(_CLOSE).format(the_thing=task.the_thing)
    coding = task.kind == CODING
    if kind == "fix" and not coding:
        kind = "fix_writing"
    intro = rng.choice(_INTROS[kind]).format(the_thing=task.the_thing)
    body = f"```{task.fence}\n{task.answer}\n```" if coding else task.answer
    outro = rng.choice(_OUTROS_CODING if coding else _OUTROS_WRITING)
    return f"{intro}\n\n{body}\n\n{outro}" if outro else f"{intro}\n\n{body}"


# --------------------------------------------------------------------------
# Public generators
# --------------------------------------------------------------------------

def _stream_seed(seed: int, *parts: str) -> int:
    """A 64-bit seed for one named random stream, stable across runs."""
    h = hashlib.blake2b(repr((int(seed),) + parts).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big")


def _resolve_pool(topic_pool: str | TopicPool) -> TopicPool:
    if isinstance(topic_pool, TopicPool):
        return topic_pool
    if topic_pool not in TOPIC_POOLS:
        raise ConfigError(f"unknown topic pool {topic_pool!r}; choose from {sorted(TOPIC_POOLS)}")
    return TOPIC_POOLS[topic_pool]


def _conversation_messages(behaviour: str, task: Task, rng: random.Random) -> tuple[Message, ...]:
    if behaviour == UNMATCHED_BEHAVIOUR:
        base = _caps_base(rng)
        lo, hi = BEHAVIOURS[base].user_turns
        turns = _all_caps(task, rng, rng.randint(lo, hi), base)
    else:
        lo, hi = BEHAVIOURS[behaviour].user_turns
        turns = _SCRIPTS[behaviour](task, rng, rng.randint(lo, hi))
    msgs: list[Message] = []
    for text, kind, ref in turns:
        msgs.append(Message(USER, text))
        msgs.append(Message(ASSISTANT, _reply(kind, ref, task, rng)))
    return tuple(msgs)


def generate_source(behaviour: str, n: int, topic_pool: str | TopicPool = "A", seed: int = 0,
                    source: str | None = None,
                    task_mix: tuple[str, ...] = (CODING, WRITING)) -> list[Conversation]:
    """`n` conversations of one behaviour, task kinds cycling through `task_mix`.

    `behaviour` is a persona name or a hidden behaviour (`all_caps_urgency`);
    `source` defaults to the behaviour name and prefixes the ids.
    """
    if behaviour not in BEHAVIOURS:
        raise ConfigError(f"unknown behaviour {behaviour!r}; choose from {sorted(BEHAVIOURS)}")
    bad = [k for k in task_mix if k not in TASK_KINDS]
    if bad or not task_mix:
        raise ConfigError(f"task_mix must be a non-empty sequence of {TASK_KINDS}, got {task_mix!r}")
    pool = _resolve_pool(topic_pool)
    source = behaviour if source is None else source
    base = _stream_seed(seed, source, behaviour)
    out = []
    for i in range(n):
        rng = random.Random(base + i)
        kind = task_mix[i % len(task_mix)]
        tasks = pool.tasks(kind)
        task = tasks[rng.randrange(len(tasks))]
        out.append(Conversation(
            id=f"{source}-{i:05d}", source=source, messages=_conversation_messages(behaviour, task, rng),
            task=kind, metadata={"behaviour": behaviour, "topic": task.id}))
    return out


@dataclass
class DemoData:
    conversations: list[Conversation]
    true_mixture: dict

    def by_source(self) -> dict[str, list[Conversation]]:
        out: dict[str, list[Conversation]] = {}
        for c in self.conversations:
            out.setdefault(c.source, []).append(c)
        return out


def real_counts(n_real: int) -> dict[str, int]:
    """Exact per-behaviour counts, round(n_real * share).

    If rounding does not add up to n_real (it does for multiples of 20), the
    largest share absorbs the difference so the total is always n_real.
    """
    counts = {b: round(n_real * s) for b, s in REAL_COMPOSITION.items()}
    largest = max(REAL_COMPOSITION, key=REAL_COMPOSITION.get)
    counts[largest] += n_real - sum(counts.values())
    return counts


def expected_weights(personas) -> dict[str, float]:
    """The real composition restricted to `personas` and renormalised."""
    matched = {p: REAL_COMPOSITION.get(p, 0.0) for p in personas}
    total = sum(matched.values())
    return {p: (round(w / total, 4) if total else 0.0) for p, w in matched.items()}


def generate_demo(seed: int = 0, n_per_simulator: int = 200, n_real: int = 600,
                  topic_pool: str | TopicPool = "A", personas=None) -> DemoData:
    """Every persona's source plus a `real` source with the planted mixture."""
    pool = _resolve_pool(topic_pool)
    personas = tuple(PERSONAS) if personas is None else tuple(personas)
    unknown = [p for p in personas if p not in PERSONAS]
    if unknown:
        raise ConfigError(f"unknown persona(s) {unknown}; choose from {sorted(PERSONAS)}")
    conversations: list[Conversation] = []
    for p in personas:
        conversations += generate_source(p, n_per_simulator, pool, seed, source=p)

    counts = real_counts(n_real)
    real: list[Conversation] = []
    for behaviour, k in counts.items():
        real += generate_source(behaviour, k, pool, seed, source="real")
    random.Random(_stream_seed(seed, "real", "order")).shuffle(real)
    conversations += [replace(c, id=f"real-{i:05d}") for i, c in enumerate(real)]

    true_mixture = {
        "real_composition": dict(REAL_COMPOSITION),
        "real_counts": counts,
        "expected_weights": expected_weights(personas),
        "unmatched_behaviour": UNMATCHED_BEHAVIOUR,
        "seed": seed,
        "n_real": n_real,
        "n_per_simulator": n_per_simulator,
        "topic_pool": pool.name,
    }
    return DemoData(conversations, true_mixture)


def write_demo(out_dir, **kwargs) -> Path:
    """Write `<source>.jsonl` per source and `true_mixture.json`; returns out_dir.

    Output is byte-identical for the same arguments.
    """
    demo = generate_demo(**kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for source, convs in demo.by_source().items():
        lines = [json.dumps(c.to_record(), ensure_ascii=False) for c in convs]
        write_text(out / f"{source}.jsonl", "\n".join(lines) + "\n")
    write_text(out / "true_mixture.json", json.dumps(demo.true_mixture, indent=2) + "\n")
    return out
