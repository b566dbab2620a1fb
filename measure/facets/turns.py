"""Per-turn cues: what each user turn does, read from its scrubbed own words.

Every facet describer reads these cues; none of them reads text. A cue is a
count or a flag, so the later stages cannot leak topic words even by mistake.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..conversation import ASSISTANT, USER, Conversation
from . import lexicon as lx
from .scrub import Scrubbed, scrub

MAX_SENTENCES = 30      # sentences examined per turn
ASSISTANT_TAIL = 300    # characters of an assistant turn checked for a closing question
ASSISTANT_HEAD = 3000   # characters of an assistant turn checked for a list of options
EARLY_CHARS = 80        # "Great, now..." - validation counts near the start of a turn


@dataclass(frozen=True)
class TurnCues:
    scrubbed: Scrubbed
    words: int                 # own words (placeholders excluded)
    non_english: bool
    cues: dict                 # lexicon category -> count (non-zero only)
    n_questions: int           # question sentences (not could-you requests)
    n_directives: int          # imperative sentences
    n_could_you: int           # "can/could/would you <verb>" requests
    n_statements: int          # declarative sentences of 4+ words
    n_fragments: int           # verbless fragments ("csv -> totals, python")
    greets: bool
    opens_affirm: bool
    opens_negate: bool         # a plain "no"/"wrong" opener
    opens_soft_negate: bool    # "actually", "wait", "but" opener
    continue_only: bool        # the turn only asks to go on
    validates_early: bool      # validation word near the start or in a short turn
    exclamations: int
    emojis: int
    lowercase_only: bool
    urgent_caps: bool          # NOW / ASAP / URGENT written in capitals

    def cue(self, name: str) -> int:
        return self.cues.get(name, 0)

    @property
    def pasted(self) -> int:
        return self.scrubbed.pasted_chars

    @property
    def has_paste(self) -> bool:
        return self.scrubbed.pasted_chars >= 20

    @property
    def asks(self) -> bool:
        """The turn asks for something (an action, an answer or more)."""
        return bool(self.n_directives or self.n_could_you or self.n_questions or self.continue_only
                    or self.cue("intent"))

    @property
    def adds_facts(self) -> bool:
        """The turn volunteers new information (not only a new instruction)."""
        if self.cue("increment"):
            return True
        # Otherwise only a turn that states and asks nothing adds facts: with
        # a weak cue ("also", "we use"), or with several statements.
        asks = self.n_directives or self.n_could_you or self.n_questions
        return bool(not asks and self.n_statements and (
            self.cue("increment_weak") or self.cue("background") or self.n_statements >= 2))

    @property
    def empty(self) -> bool:
        return self.words == 0 and not self.emojis


@dataclass(frozen=True)
class AssistantCues:
    asks_user: bool        # ends with a real question to the user (not a generic offer)
    offers_options: bool   # lists alternatives the user could pick from


@dataclass
class ConvCues:
    turns: list[TurnCues]
    # Per user turn: the assistant turn just before it (None for the first turn).
    before: list[AssistantCues | None] = field(default_factory=list)
    ends_on_user: bool = False            # the last user turn got no reply
    last_assistant: AssistantCues | None = None

    @property
    def n(self) -> int:
        return len(self.turns)


def analyse_conversation(conv: Conversation) -> ConvCues:
    turns: list[TurnCues] = []
    before: list[AssistantCues | None] = []
    prev: AssistantCues | None = None
    last_role = None
    for m in conv.messages:
        if m.role == USER:
            turns.append(analyse_turn(m.content))
            before.append(prev)
            prev = None
        elif m.role == ASSISTANT:
            prev = analyse_assistant(m.content)
        last_role = m.role
    return ConvCues(turns=turns, before=before, ends_on_user=(last_role == USER),
                    last_assistant=prev if last_role == ASSISTANT else None)


def analyse_assistant(text: str) -> AssistantCues:
    tail = text.rstrip()[-ASSISTANT_TAIL:]
    fence = tail.rfind("```")
    if fence != -1:
        tail = tail[fence + 3:]  # a "?" inside code is not a question
    para = tail.rstrip().rfind("\n\n")
    if para != -1:
        tail = tail[para:]  # only the closing paragraph speaks to the user
    q = tail.rfind("?")
    asks = False
    if q != -1 and len(tail) - q < 120:
        start = max(tail.rfind(".", 0, q), tail.rfind("\n", 0, q), tail.rfind("!", 0, q)) + 1
        question = tail[start:q + 1]
        # A question in the answer itself ("so why give one to a river?") is
        # not addressed to the user; a generic offer is not a question.
        asks = bool(lx.ADDRESSED.search(question)) and not lx.GENERIC_CLOSER.search(question)
    head = text[:ASSISTANT_HEAD]
    offers = "\n" in head and len(lx.LIST_ITEM.findall(head)) >= 2
    return AssistantCues(asks_user=asks, offers_options=offers)


def analyse_turn(text: str) -> TurnCues:
    s = scrub(text)
    prose = s.prose
    lower = prose.lower()
    if "’" in lower:
        lower = lower.replace("’", "'")
    tokens = lx.TOKEN.findall(lower)
    own = [t for t in tokens if t[0].isalnum()]
    non_english, other_script = _non_english(prose, own)
    cues = {}
    joined = lx.tokens_text(tokens)
    if own:
        for name, rx in lx.CUES.items():
            n = len(rx.findall(joined))
            if n:
                cues[name] = n
    n_q = n_dir = n_cy = n_st = n_fr = 0
    if own and not non_english:
        inside = not lx.DIRECTIVE_TRIGGERS.isdisjoint(own)
        for sent in lx.SENTENCE_SPLIT.split(prose, MAX_SENTENCES)[:MAX_SENTENCES]:
            kind = _sentence_kind(sent, inside)
            if kind == "question":
                n_q += 1
            elif kind == "directive":
                n_dir += 1
            elif kind == "could_you":
                n_cy += 1
            elif kind == "statement":
                n_st += 1
            elif kind == "fragment":
                n_fr += 1
    first = own[0] if own else ""
    emojis = len(lx.EMOJI.findall(prose)) if not prose.isascii() else 0
    emojis += len(lx.EMOTICON.findall(prose)) if (":" in prose or "<3" in prose or "^" in prose
                                                   or "_" in prose) else 0
    return TurnCues(
        # Words of other scripts are not tokenized; CJK has no spaces at all.
        scrubbed=s, words=len(own) + other_script // 2, non_english=non_english, cues=cues,
        n_questions=n_q, n_directives=n_dir, n_could_you=n_cy, n_statements=n_st, n_fragments=n_fr,
        greets=bool(lx.GREETING_WORD.match(first) or lx.GREETING_PHRASE.match(lower)),
        opens_affirm=first in lx.AFFIRM_OPENERS,
        opens_negate=first in lx.HARD_NEGATE,
        opens_soft_negate=first in lx.NEGATE_OPENERS and first not in lx.HARD_NEGATE,
        continue_only=len(own) <= 8 and bool(lx.CONTINUE_TURN.match(lower)),
        validates_early=bool(cues.get("validate")) and (
            len(own) <= 12 or bool(lx.CUES["validate"].search(joined[:EARLY_CHARS]))),
        exclamations=prose.count("!"),
        emojis=emojis,
        lowercase_only=len(own) >= 3 and prose == prose.lower(),
        urgent_caps=bool(lx.URGENT_CAPS.search(prose)),
    )


def _sentence_kind(sent: str, inside: bool) -> str | None:
    toks = lx.WORD.findall(sent.lower())
    if not toks:
        return None
    i = 0
    while i < len(toks) - 1 and (toks[i] in lx.IMPERATIVE_FILLERS or lx.GREETING_WORD.match(toks[i])):
        i += 1
    head = toks[i]
    if head in ("can", "could", "would", "will", "may") and i + 2 < len(toks) and (
            toks[i + 1] in ("you", "u", "we") or (toks[i + 1] == "i" and toks[i + 2] in ("get", "have", "see"))):
        return "could_you"  # "can we add ...", "could I get ..." ask for an action too
    end = sent.rstrip()[-1:]
    # "Have a nice day!" opens like a question but is not one.
    if end == "?" or (head in lx.QUESTION_OPENERS and end not in (".", "!") and (
            head in lx.WH_WORDS or (i + 1 < len(toks) and toks[i + 1] in lx.SUBJECTS))):
        # Without "?", an auxiliary opens a question only before a subject:
        # "does it work" asks, "doesn't work" reports.
        return "question"
    if head in lx.IMPERATIVE_VERBS and not (i + 1 < len(toks) and toks[i + 1] in ("is", "are", "was")):
        return "directive"
    if head in ("let's", "lets"):
        return "directive"
    if "," in sent:
        # "one more thing, make it shorter": an imperative after a comma.
        for clause in sent.lower().split(",")[1:4]:
            ctoks = lx.WORD.findall(clause)
            j = 0
            while j < len(ctoks) - 1 and ctoks[j] in lx.IMPERATIVE_FILLERS:
                j += 1
            if ctoks and ctoks[j] in lx.IMPERATIVE_VERBS and len(ctoks) > j + 1:
                return "directive"
    for m in (lx.DIRECTIVE_INSIDE.finditer(sent.lower()) if inside else ()):
        if m.group(1) in lx.IMPERATIVE_VERBS or m.group(0).lstrip(" ,;:(").startswith("let"):
            return "directive"
    words = [t for t in toks if t[0] != "<"]
    if not words or lx.COURTESY_WORDS.issuperset(words):
        return None
    # A statement has a subject or a finite verb; the rest are fragments.
    if len(words) >= 4 and not lx.STATEMENT_MARKERS.isdisjoint(words):
        return "statement"
    return "fragment"


def _non_english(prose: str, own: list[str]) -> tuple[bool, int]:
    """(non-English?, letters in other scripts): judge by script first, then
    by which language's stopwords dominate."""
    other = 0
    if not prose.isascii():
        sample = prose[:1000]
        other = len(lx.NON_LATIN.findall(sample))
        if other:
            latin = sum(len(w) for w in lx.ALPHA_WORD.findall(sample))
            if other >= latin:
                return True, other
    if len(own) < 3:
        return False, other
    en = foreign = 0
    for t in own[:200]:
        if t in lx.EN_STOPWORDS:
            en += 1
        elif t in lx.FOREIGN_STOPWORDS:
            foreign += 1
    return foreign >= 2 and foreign > en, other
