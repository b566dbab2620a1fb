"""Per-facet descriptions composed from fixed phrases, plus feature vectors.

Each describer takes a conversation's cues and returns (text, features).
Texts use only the phrases documented in VOCABULARY.md and buckets instead
of raw numbers, so many conversations share one description and no user
word can reach a description.

Turns in any language are described with the same phrases: a non-English
turn's cues come from the multilingual lists (`turns.py`,
`lexicon_ml.py`). The language itself is a style fact only ("language:
non-English" in `style`).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import reactions as rx
from .acts import ACTS, turn_acts
from .scrub import CODE, DATA, DOCUMENT, ERROR, LOG, PASTE_KINDS
from .turns import ConvCues, TurnCues

MAX_SEQUENCE = 4      # reactions spelled out one by one
MAX_ACT_TURNS = 3     # user turns whose acts are spelled out one by one

PASTE_PHRASE = {CODE: "pastes code", ERROR: "pastes error output", LOG: "pastes log output",
                DOCUMENT: "pastes a draft or document", DATA: "pastes data or a table"}
INDIRECT_PHRASE = {CODE: "pastes code without asking", ERROR: "pastes error output without asking",
                   LOG: "pastes log output without asking", DOCUMENT: "pastes a draft without asking",
                   DATA: "pastes data without asking"}


# ---------------------------------------------------------------- buckets

def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, "several times" if n <= 5 else "many times")


def count_bucket(n: int) -> str:
    return str(n) if n <= 2 else ("3-5" if n <= 5 else "6+")


def size_bucket(chars: int) -> str:
    # Coarse on purpose: how long a paste is depends on the task as much as
    # on the user.
    if chars < 1000:
        return "small"
    if chars < 8000:
        return "large"
    return "very large"


def _log(x: float) -> float:
    return math.log1p(max(0.0, x))


def _vec(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


# --------------------------------------------------------------- requests

REQUEST_FEATURES = ("n_user_turns", "n_new_requests", "n_refinements", "n_directives", "n_could_you",
                    "n_questions", "n_constraints", "log1p_first_request_words", "indirect_cue",
                    "n_continue")


def _framing(t: TurnCues) -> str:
    """How one turn asks, as a phrase."""
    if t.has_paste and not t.asks and t.words <= 12:
        kind = t.scrubbed.main_paste
        return "indirect cue: " + INDIRECT_PHRASE[kind]
    if t.cue("roleplay") and (t.n_directives or t.n_statements):
        return "role-play setup"
    if t.cue("hedge") and (t.n_questions or t.n_could_you):
        return "hedged question"
    if t.n_could_you:
        return "could-you request"
    if t.n_directives:
        return "explicit directive"
    if t.n_questions:
        return "direct question"
    if t.cue("intent"):
        return "statement of need"
    if t.continue_only:
        return "asks to continue"
    if t.n_statements:
        return "describes a situation without an explicit ask"
    if t.words:
        return "keyword-style fragment"
    return "no words of its own"


def describe_requests(c: ConvCues, reacts: list) -> tuple[str, np.ndarray]:
    first = c.turns[0]
    kinds = [r for r, _ in reacts]
    n_new = kinds.count(rx.MOVE_ON)
    n_ref = sum(kinds.count(k) for k in (rx.CONSTRAINT, rx.REFINE, rx.CORRECT, rx.REJECT))
    n_cont = kinds.count(rx.CONTINUE) + int(first.continue_only)
    if c.n == 1:
        structure = "single-shot request"
    elif n_new == 0 and n_ref == 0:
        structure = "one request, then only feedback turns"
    elif n_new == 0:
        structure = "one request refined over " + (
            "one more turn" if n_ref == 1 else "a few turns" if n_ref <= 3 else "many turns")
    elif n_ref == 0:
        structure = "a series of " + ("two separate requests" if n_new == 1 else
                                      "a few separate requests" if n_new <= 3 else "many separate requests")
    else:
        structure = "a series of requests with refinements"
    framing = _framing(first)
    indirect = framing.startswith("indirect cue")
    k_first = first.cue("constraint")
    w = first.words
    if w <= 8 and k_first == 0:
        spec = "underspecified short request"
    elif k_first >= 3 or w > 60:
        spec = "detailed specification"
    elif w <= 25 and k_first <= 1:
        spec = "briefly specified request"
    else:
        spec = "moderately specified request"
    n_constraints = n_q = n_directives = n_could_you = error_turns = 0
    for t in c.turns:
        n_constraints += t.cues.get("constraint", 0)
        n_q += t.n_questions
        n_directives += t.n_directives
        n_could_you += t.n_could_you
        error_turns += t.scrubbed.main_paste in (ERROR, LOG)
    constraints = ("no explicit constraints" if n_constraints == 0 else "states one constraint"
                   if n_constraints == 1 else "states a few constraints" if n_constraints <= 4
                   else "states many constraints")
    questions = ("asks no questions" if n_q == 0 else "asks one question" if n_q == 1 else
                 "asks a few questions" if n_q <= 4 else "asks many questions")
    parts = [structure, "first request: " + framing, spec, constraints, questions]
    if n_cont:
        parts.append("asks the assistant to continue " + times(n_cont))
    if error_turns and not (indirect and first.scrubbed.main_paste in (ERROR, LOG) and error_turns == 1):
        parts.append("pastes error output " + ("in one turn" if error_turns == 1 else "in several turns"))
    feats = _vec([c.n, n_new, n_ref, n_directives, n_could_you, n_q, n_constraints, _log(w), float(indirect),
                  n_cont])
    return "; ".join(parts), feats


# ---------------------------------------------------------------- context

CONTEXT_FEATURES = ("log1p_first_turn_words", "first_turn_background_cues", "n_volunteered_additions",
                    "n_prompted_additions", "log1p_pasted_chars", "log1p_code_chars",
                    "log1p_error_log_chars", "log1p_document_chars", "log1p_data_chars")


def describe_context(c: ConvCues, reacts: list) -> tuple[str, np.ndarray]:
    first = c.turns[0]
    b, w = first.cue("background"), first.words
    if w <= 20 and b <= 1:
        # A short first turn that names at most one circumstance ("I'm
        # working on a letter") leaves the background to later turns.
        amount, level = "minimal background in the first turn", 0
    elif (w > 40 and b >= 2) or w > 100:
        amount, level = "rich background in the first turn", 2
    else:
        amount, level = "some background in the first turn", 1
    volunteered = prompted = 0
    for t, (r, _) in zip(c.turns[1:], reacts):
        if r == rx.ANSWER:
            prompted += 1
        elif t.adds_facts:
            volunteered += 1
    adds = volunteered + prompted
    if level > 0 and adds == 0:
        timing = "front-loaded context"
    elif level == 0 and adds:
        timing = "incremental context"
    elif adds:
        timing = "front-loaded context with later additions"
    else:
        timing = "little context at any point"
    parts = [amount, timing]
    if adds:
        parts.append("adds context in " + ("one later turn" if adds == 1 else "several later turns"))
    if prompted and volunteered:
        parts.append("gives context when the assistant asks and volunteers more")
    elif prompted:
        parts.append("gives context when the assistant asks")
    elif volunteered:
        parts.append("volunteers context unprompted")
    parts.append(_pasted_phrase(c))
    totals = [sum(kind) for kind in zip(*(t.scrubbed.pasted for t in c.turns))]
    feats = _vec([_log(w), b, volunteered, prompted, _log(sum(totals)), _log(totals[CODE]),
                  _log(totals[ERROR] + totals[LOG]), _log(totals[DOCUMENT]), _log(totals[DATA])])
    return "; ".join(parts), feats


def _pasted_phrase(c: ConvCues) -> str:
    totals = [0] * len(PASTE_KINDS)
    where = [set() for _ in PASTE_KINDS]
    for i, t in enumerate(c.turns):
        pasted = t.scrubbed.pasted
        if max(pasted) < 20:
            continue  # the common case: nothing pasted
        for k, n in enumerate(pasted):
            if n >= 20:
                totals[k] += n
                where[k].add("first" if i == 0 else "later")
    kinds = sorted((k for k in range(len(PASTE_KINDS)) if totals[k]), key=lambda k: (-totals[k], k))
    if not kinds:
        return "no pasted material"
    if ERROR in kinds and totals[ERROR] >= 40:
        kinds.remove(ERROR)
        kinds.insert(0, ERROR)
    out = []
    for k in kinds[:2]:
        turns = ("in the first turn" if where[k] == {"first"} else "in later turns"
                 if where[k] == {"later"} else "throughout")
        out.append(f"{PASTE_PHRASE[k]} ({size_bucket(totals[k])}, {turns})")
    return "pasted material: " + ", ".join(out)


# -------------------------------------------------------------- responses

RESPONSE_FEATURES = tuple(f"n_{r.replace(' ', '_')}" for r in rx.REACTIONS) + ("n_validating",) + tuple(
    f"ending_{e.replace(' ', '_')}" for e in rx.ENDINGS)


def describe_responses(c: ConvCues, reacts: list) -> tuple[str, np.ndarray]:
    end = rx.ending(c)
    counts = Counter(r for r, _ in reacts)
    n_val = sum(1 for r, v in reacts if v or r == rx.VALIDATE)
    if not reacts:
        text = f"single exchange, no reaction to the answer. ending: {end}"
    else:
        labels = [r if not v or r == rx.VALIDATE else f"validates then {r}" for r, v in reacts]
        seq = "; ".join(labels[:MAX_SEQUENCE])
        rest = [r for r, _ in reacts[MAX_SEQUENCE:]]
        if rest:
            common = Counter(rest).most_common(1)[0][0]
            seq += f"; then {'a few' if len(rest) <= 3 else 'many'} more, mostly {common}"
        parts = [f"{r} {times(n)}" for r, n in sorted(counts.items(), key=lambda kv: (-kv[1],
                                                                                      rx.REACTIONS.index(kv[0])))]
        if n_val and rx.VALIDATE not in counts:
            parts.append(f"validates {times(n_val)}")
        text = f"reactions: {seq}. counts: {', '.join(parts)}. ending: {end}"
    feats = _vec([counts.get(r, 0) for r in rx.REACTIONS] + [n_val]
                 + [float(end == e) for e in rx.ENDINGS])
    return text, feats


# ------------------------------------------------------------------ style

# Cue categories `describe_style` reads.
_STYLE_CUES = ("urgent", "please", "thank", "sorry", "frustrated", "correct", "reject", "slang", "casual",
               "formal", "validate", "goodbye", "social")
STYLE_FEATURES = ("log1p_words_per_turn", "share_shouting_turns", "exclamations_per_turn", "n_emojis",
                  "n_slang", "n_please", "n_thanks", "n_greetings", "n_apologies", "n_formal_markers",
                  "n_frustration_cues", "n_urgency_cues", "share_imperative", "share_questions",
                  "share_hedged", "share_non_english", "n_code_blocks", "share_lowercase_only")


@dataclass(slots=True)
class _StyleCounts:
    """Sums over a conversation's turns that `describe_style` reads, in one pass."""
    total: dict[str, int] = field(default_factory=dict)  # cue category -> matches
    words: int = 0
    shouting: int = 0        # turns
    exclam: int = 0
    multi_exclam: bool = False
    emojis: int = 0
    cased: int = 0           # turns in a script with case
    lowercase: int = 0       # of these, turns in lowercase only
    non_english: int = 0     # turns
    urgent_caps: int = 0     # turns
    greets: int = 0          # turns
    commands: int = 0        # turns that only command or name the task
    directives: int = 0      # turns
    questions: int = 0       # turns
    hedged: int = 0          # turns
    code_blocks: int = 0
    list_items: int = 0

    def add(self, t: TurnCues) -> None:
        total = self.total
        for k, v in t.cues.items():
            total[k] = total.get(k, 0) + v
        s = t.scrubbed
        self.words += t.words
        self.shouting += bool(s.shouting)
        self.exclam += t.exclamations
        self.multi_exclam = self.multi_exclam or "!!" in s.prose
        self.emojis += t.emojis
        # Lowercase-only writing is judged in scripts with case (every English turn).
        if t.cased:
            self.cased += 1
            self.lowercase += bool(t.lowercase_only)
        self.non_english += bool(t.non_english)
        self.urgent_caps += bool(t.urgent_caps)
        self.greets += bool(t.greets)
        asks = t.n_questions or t.n_could_you
        # Turns that only command or name the task ("fix this", "csv totals, python").
        self.commands += bool((t.n_directives or t.n_fragments or t.has_paste) and not asks)
        self.directives += bool(t.n_directives)
        self.questions += bool(t.n_questions)
        self.hedged += bool(t.cues.get("hedge", 0) and asks)
        self.code_blocks += s.n_code_blocks
        self.list_items += s.n_list_items


def describe_style(c: ConvCues, reacts: list) -> tuple[str, np.ndarray]:
    ts = c.turns
    n = len(ts)
    sc = _StyleCounts()
    for t in ts:
        sc.add(t)
    cue = sc.total.get
    total = {k: cue(k, 0) for k in _STYLE_CUES}  # every category read below, 0 when absent
    mean_words = sc.words / n
    shouting, exclam, multi_exclam, emojis = sc.shouting, sc.exclam, sc.multi_exclam, sc.emojis
    lower_share = sc.lowercase / max(1, sc.cased)
    non_en = sc.non_english / n
    urgent = total["urgent"] + sc.urgent_caps
    greets = sc.greets
    polite = total["please"] + total["thank"] + total["sorry"] + greets
    commands = sc.commands
    frustrated = total["frustrated"] > 0 or (shouting > 0 and (total["correct"] or total["reject"]))
    # Register: one word for the whole conversation, in any language.
    if total["slang"] or emojis or total["casual"] >= 2 or (lower_share >= 0.5 and total["casual"]):
        register = "casual"
    elif total["formal"] or (polite >= 2 and mean_words >= 12 and lower_share == 0):
        register = "formal"
    elif mean_words <= 12 and polite == 0 and commands * 2 >= n:
        register = "curt"
    else:
        register = "neutral"
    tone = []
    if shouting:
        tone.append("shouting")
    if frustrated:
        tone.append("frustrated")
    if urgent:
        tone.append("urgent")
    if not tone and (exclam >= 2 or total["validate"] >= 2) and not total["correct"]:
        tone.append("enthusiastic")
    verbosity = ("very terse turns" if mean_words <= 4 else "short turns" if mean_words <= 12 else
                 "medium-length turns" if mean_words <= 30 else "long turns" if mean_words <= 80
                 else "very long turns")
    fmt = []
    if shouting:
        fmt.append("all caps shouting in " + ("most turns" if shouting * 2 > n else "some turns"))
    if multi_exclam:
        fmt.append("multiple exclamation marks")
    elif exclam:
        fmt.append("exclamation marks")
    if emojis:
        fmt.append("emoji")
    if total["slang"]:
        fmt.append("casual slang (lol, haha)")
    if sc.code_blocks:
        fmt.append("code blocks")
    if sc.list_items >= 2:
        fmt.append("lists")
    if lower_share >= 0.5 and not shouting:
        fmt.append("lowercase only")
    politeness = [p for p, on in (("says please", total["please"]), ("thanks", total["thank"]),
                                  ("greets", greets), ("apologizes", total["sorry"]),
                                  ("says goodbye", total["goodbye"])) if on]
    framing = _style_framing(ts)
    social = total["social"] or emojis or total["slang"] >= 2 or (greets and (total["thank"] or exclam))
    if social:
        relation = "treats the assistant as a social partner"
    elif polite:
        relation = "polite but task-focused"
    else:
        relation = "treats the assistant as a tool"
    parts = [f"register: {register}"]
    if non_en:
        parts.append("language: " + ("non-English" if non_en > 0.5 else "partly non-English"))
    parts += ["tone: " + (", ".join(tone) if tone else "calm"), verbosity,
              "formatting: " + (", ".join(fmt) if fmt else "plain text"),
              "politeness: " + (", ".join(politeness) if politeness else "no politeness markers"),
              "framing: " + framing, relation]
    if urgent:
        parts.append("urgent wording (asap, now)")
    feats = _vec([_log(mean_words), shouting / n, exclam / n, emojis, total["slang"], total["please"],
                  total["thank"], greets, total["sorry"], total["formal"], total["frustrated"], urgent,
                  sc.directives / n, sc.questions / n, sc.hedged / n, non_en, sc.code_blocks, lower_share])
    return "; ".join(parts), feats


def _style_framing(ts: list[TurnCues]) -> str:
    counts = Counter()
    for t in ts:
        if t.cue("roleplay") and (t.n_directives or t.n_statements):
            counts["role-play setups"] += 1
        elif t.cue("hedge") and (t.n_questions or t.n_could_you):
            counts["hedged questions"] += 1
        elif t.n_could_you:
            counts["could-you requests"] += 1
        elif t.n_directives:
            counts["imperative requests"] += 1
        elif t.n_questions:
            counts["direct questions"] += 1
        elif t.cue("intent"):
            counts["statements of need"] += 1
        elif t.has_paste and not t.asks:
            counts["pasted material without a request"] += 1
        elif t.n_statements:
            counts["statements without an explicit ask"] += 1
        elif t.words:
            counts["keyword-style fragments"] += 1
    if not counts:
        return "no explicit requests"
    order = ("imperative requests", "could-you requests", "direct questions", "hedged questions",
             "statements of need", "role-play setups", "pasted material without a request",
             "statements without an explicit ask", "keyword-style fragments")
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    text = "mostly " + ranked[0][0]
    if len(ranked) > 1 and ranked[1][1] * 2 >= ranked[0][1]:
        text += ", also " + ranked[1][0]
    return text


# ---------------------------------------------------------- dialogue acts

ACT_FEATURES = tuple(f"n_{a}" for a in ACTS)


def describe_dialogue_acts(c: ConvCues, reacts: list) -> tuple[str, np.ndarray]:
    per_turn = [turn_acts(t, b) for t, b in zip(c.turns, c.before)]
    parts = [f"turn {i + 1}: {' '.join(a)}" for i, a in enumerate(per_turn[:MAX_ACT_TURNS])]
    later = per_turn[MAX_ACT_TURNS:]
    if later:
        freq = Counter(a for acts in later for a in acts)
        common = [a for a in ACTS if freq[a] * 2 >= len(later)] or [freq.most_common(1)[0][0]]
        parts.append("later turns: " + " ".join(common))
    counts = Counter(a for acts in per_turn for a in acts)
    count_text = ", ".join(f"{a} {count_bucket(counts[a])}" for a in ACTS if counts[a])
    feats = _vec([counts[a] for a in ACTS])
    return "; ".join(parts) + ". counts: " + count_text, feats


DESCRIBERS = {"requests": describe_requests, "context": describe_context,
              "responses": describe_responses, "style": describe_style,
              "dialogue_acts": describe_dialogue_acts}
FEATURE_NAMES = {"requests": REQUEST_FEATURES, "context": CONTEXT_FEATURES,
                 "responses": RESPONSE_FEATURES, "style": STYLE_FEATURES, "dialogue_acts": ACT_FEATURES}
