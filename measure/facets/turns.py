"""Per-turn cues: what each user turn does, read from its scrubbed own words.

Every facet describer reads these cues; none of them reads text. A cue is a
count or a flag, so the later stages cannot leak topic words even by mistake.

A turn read as English gets its cues from the English lexicon (`lexicon.py`)
and the English sentence rules below. A turn read as non-English gets the
same cues from the multilingual lists (`lexicon_ml.py`) and simpler,
mostly language-agnostic sentence rules (`_foreign_turn`): punctuation for
questions (`?`, `？`, `؟`, Greek `;`), request verbs, "can you" phrases and
request markers per language, and sentence length for the rest. Length,
pastes, lists, exclamations, emoji and capitals are read the same way in
every language; capitals only count in scripts that have case.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..conversation import ASSISTANT, USER, Conversation
from . import lexicon as lx
from . import lexicon_ml as ml
from .memo import short_text_cache
from .scrub import DOCUMENT, Scrubbed, is_shouting, scrub

MAX_SENTENCES = 30      # sentences examined per turn
ASSISTANT_TAIL = 300    # characters of an assistant turn checked for a closing question
ASSISTANT_HEAD = 3000   # characters of an assistant turn checked for a list of options
EARLY_CHARS = 80        # "Great, now..." - validation counts near the start of a turn
EARLY_UNSPACED = 30     # the same for scripts without spaces (characters)
MAX_CLAUSES = 4         # comma clauses of a non-English sentence checked for a verb
# Texts of up to CACHE_CHARS whose cues are kept for reuse (least recently
# used go first; under 1 KB each). Users and simulators repeat whole turns
# ("still too long", "OK. That works.") and assistants their replies: at
# paper scale about half of the user turns and most assistant turns are repeats.
TURN_CACHE, ASSISTANT_CACHE, CACHE_CHARS = 1 << 16, 1 << 12, 2000
# Sentences repeat even more (most sentences of distinct turns are repeats).
SENTENCE_CACHE, SENTENCE_CACHE_CHARS = 1 << 15, 300


@dataclass(frozen=True, slots=True)  # slots: cached cues stay small
class TurnCues:
    scrubbed: Scrubbed
    words: int                 # own words (placeholders excluded); English word-equivalents
                               # for non-English turns (see lexicon_ml.word_equivalents)
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
    cased: bool = True         # written mostly in a script with case (always so for English)

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


@dataclass(frozen=True, slots=True)
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
            text = m.content
            turns.append(_cached_turn(text))
            before.append(prev)
            prev = None
        elif m.role == ASSISTANT:
            # The assistant answers in the language of the user turn before it.
            text, foreign = m.content, bool(turns) and turns[-1].non_english
            prev = _cached_assistant(text, foreign)
        last_role = m.role
    return ConvCues(turns=turns, before=before, ends_on_user=(last_role == USER),
                    last_assistant=prev if last_role == ASSISTANT else None)


# Question marks, and the marks that end the sentence before a question:
# English replies, and replies in the user's language (full-width, Arabic).
_QUESTION_MARKS = {False: "?", True: "?？؟"}
_SENTENCE_ENDS = {False: ".\n!", True: ".\n!。！？?؟"}


def analyse_assistant(text: str, foreign: bool = False) -> AssistantCues:
    """Cues of an assistant turn; `foreign`: it answers a non-English turn."""
    tail = text.rstrip()[-ASSISTANT_TAIL:]
    fence = tail.rfind("```")
    if fence != -1:
        tail = tail[fence + 3:]  # a "?" inside code is not a question
    para = tail.rstrip().rfind("\n\n")
    if para != -1:
        tail = tail[para:]  # only the closing paragraph speaks to the user
    q = max(tail.rfind(c) for c in _QUESTION_MARKS[foreign])
    asks = False
    if q != -1 and len(tail) - q < 120:
        start = max(tail.rfind(c, 0, q) for c in _SENTENCE_ENDS[foreign]) + 1
        # A question in the answer itself ("so why give one to a river?") is
        # not addressed to the user; a generic offer is not a question.
        asks = _addresses_user(tail[start:q + 1], foreign)
    head = text[:ASSISTANT_HEAD]
    offers = "\n" in head and len(lx.LIST_ITEM.findall(head)) >= 2
    return AssistantCues(asks_user=asks, offers_options=offers)


# Cues are immutable and depend on the text alone, so repeats share one object.
_cached_assistant = short_text_cache(analyse_assistant, ASSISTANT_CACHE, CACHE_CHARS)


def _addresses_user(question: str, foreign: bool) -> bool:
    if not foreign:
        return bool(lx.ADDRESSED.search(question)) and not lx.GENERIC_CLOSER.search(question)
    fq = ml.fold(question)
    tq = ml.tokens_text(ml.TOKEN.findall(fq))
    return bool(lx.ADDRESSED.search(question) or ml.ADDRESSED.search(tq, fq)) and not (
        lx.GENERIC_CLOSER.search(question) or ml.GENERIC_CLOSER.search(tq, fq))


def _own_tokens(prose: str) -> tuple[str, list[str], list[str]]:
    """(lowercased prose, its tokens, the user's own word tokens)."""
    lower = prose.lower()
    if "’" in lower:
        lower = lower.replace("’", "'")
    tokens = lx.TOKEN.findall(lower)
    return lower, tokens, [t for t in tokens if t[0].isalnum()]


def is_non_english(text: str) -> bool:
    """Whether a user turn is read as non-English: the test `analyse_turn`
    makes first, without the rest of its work."""
    prose = scrub(text).prose
    return _non_english(prose, _own_tokens(prose)[2])[0]


def analyse_turn(text: str) -> TurnCues:
    s = scrub(text)
    prose = s.prose
    lower, tokens, own = _own_tokens(prose)
    non_english, other_script = _non_english(prose, own)
    if non_english:
        if s.pasted[DOCUMENT] or ": " in text or "：" in text:
            # Own words in the user's language must not pass for a pasted draft.
            s = scrub(text, foreign=True)
        return _foreign_turn(s)
    joined = lx.tokens_text(tokens)
    if own:
        cues = lx.count_cues(tokens, joined)
        kinds = _kind_counts(_sentence_kinds(prose, not lx.DIRECTIVE_TRIGGERS.isdisjoint(own)))
    else:
        cues, kinds = {}, _kind_counts(())
    first = own[0] if own else ""
    return TurnCues(
        # Words of other scripts are not tokenized; CJK has no spaces at all.
        scrubbed=s, words=len(own) + other_script // 2, non_english=non_english, cues=cues, **kinds,
        greets=bool(lx.GREETING_WORD.match(first) or lx.GREETING_PHRASE.match(lower)),
        opens_affirm=first in lx.AFFIRM_OPENERS,
        opens_negate=first in lx.HARD_NEGATE,
        opens_soft_negate=first in lx.NEGATE_OPENERS and first not in lx.HARD_NEGATE,
        continue_only=len(own) <= 8 and bool(lx.CONTINUE_TURN.match(lower)),
        validates_early=bool(cues.get("validate")) and (
            len(own) <= 12 or bool(lx.CUES["validate"].search(joined[:EARLY_CHARS]))),
        exclamations=prose.count("!") + prose.count("！"),
        emojis=_emoji_count(prose),
        lowercase_only=len(own) >= 3 and prose == prose.lower(),
        urgent_caps=_urgent_caps(prose),
    )


def _sentence_kinds(prose: str, inside: bool) -> Iterator[str | None]:
    """Kinds of the first MAX_SENTENCES sentences of English prose."""
    if "\n" not in prose and not _SENTENCE_END.search(prose, 0, len(prose) - 1):
        # Every split needs a newline or an end mark before something: one sentence.
        sentences = [prose]
    else:
        sentences = lx.SENTENCE_SPLIT.split(prose, MAX_SENTENCES)[:MAX_SENTENCES]
    for sent in sentences:
        yield _cached_sentence_kind(sent, inside)


_SENTENCE_END = re.compile(r"[.!?]")
_URGENT_WORDS = ("NOW", "ASAP", "URGENT", "IMMEDIATELY", "HURRY", "QUICK", "EMERGENCY")  # as lx.URGENT_CAPS


def _urgent_caps(prose: str) -> bool:
    # The substring test first: most turns have none of the words.
    return any(w in prose for w in _URGENT_WORDS) and bool(lx.URGENT_CAPS.search(prose))


# Cues are immutable and depend on the text alone, so repeats share one object.
_cached_turn = short_text_cache(analyse_turn, TURN_CACHE, CACHE_CHARS)


_KIND_FIELDS = {"question": "n_questions", "directive": "n_directives", "could_you": "n_could_you",
                "statement": "n_statements", "fragment": "n_fragments"}


def _kind_counts(kinds) -> dict[str, int]:
    """TurnCues' sentence counters from a stream of sentence kinds."""
    counts = dict.fromkeys(_KIND_FIELDS.values(), 0)
    for kind in kinds:
        if kind in _KIND_FIELDS:
            counts[_KIND_FIELDS[kind]] += 1
    return counts


def _emoji_count(prose: str) -> int:
    n = len(lx.EMOJI.findall(prose)) if not prose.isascii() else 0
    if ":" in prose or "<3" in prose or "^" in prose or "_" in prose:
        n += len(lx.EMOTICON.findall(prose))
    return n


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


_cached_sentence_kind = short_text_cache(_sentence_kind, SENTENCE_CACHE, SENTENCE_CACHE_CHARS)


def _non_english(prose: str, own: list[str]) -> tuple[bool, int]:
    """(non-English?, letters in other scripts): judge by script first, then
    by which language's stopwords dominate, then by foreign evidence in whole
    words (`_foreign_words`)."""
    other = 0
    if not prose.isascii():
        sample = prose[:1000]
        other = len(lx.NON_LATIN.findall(sample))
        if other:
            # Placeholders ("<number>" in a numbered list) are not Latin words.
            latin = sum(len(w) for w in lx.ALPHA_WORD.findall(ml.PLACEHOLDER.sub(" ", sample)))
            if other >= latin:
                return True, other
    if len(own) >= 3:
        head = own[:200]
        foreign = sum(map(_FOREIGN_ONLY_STOPWORDS.__contains__, head))
        if foreign >= 2 and foreign > sum(map(lx.EN_STOPWORDS.__contains__, head)):
            return True, other
    return _foreign_words(prose, own), other


# English words that every language borrows ("ok gracias" is Spanish).
_UNIVERSAL = frozenset({"ok", "okay", "no", "yes", "thanks", "thank", "please", "hi", "hello"})
_FOREIGN_VERBS = ml.FOREIGN_VERBS - lx.IMPERATIVE_VERBS - lx.EN_STOPWORDS
_SHORT_EVIDENCE = ml.FOREIGN_SHORT | _FOREIGN_VERBS | ml.FOREIGN_STOPWORDS
_FOREIGN_EVIDENCE = _SHORT_EVIDENCE | frozenset(w for w in map(ml.fold, lx.FOREIGN_STOPWORDS) if len(w) > 1)
_ACCENTED = re.compile(r"[\u00c0-\u024f\u1e00-\u1eff]")  # Latin letters English does not use
# A word counts for one language at most, English first.
_FOREIGN_ONLY_STOPWORDS = lx.FOREIGN_STOPWORDS - lx.EN_STOPWORDS
# `evidence` of an ASCII word that is no English stopword, as one set lookup.
_ASCII_EVIDENCE = frozenset(w for w in _FOREIGN_EVIDENCE if len(w) > 1 and w not in lx.EN_STOPWORDS)


def _foreign_words(prose: str, own: list[str]) -> bool:
    """Second look at a Latin-script turn the stopword test let pass, with
    whole (accented) words. Foreign evidence: distinctive foreign words
    ("gracias", "continua"), stopwords of more languages (Turkish, Polish,
    Vietnamese, Indonesian), their request verbs, words with letters English
    does not use, and "¿"/"¡". A turn of one or two words is foreign when
    the evidence outnumbers English words; a longer one when there are two
    pieces of evidence or more and they outnumber English stopwords."""
    if prose.isascii():
        return _ascii_foreign_words(own)
    words = [w for w in ml.TOKEN.findall(prose[:2000].lower()) if w[0].isalpha()]
    if not words:
        return False
    inverted = int("¿" in prose or "¡" in prose)  # Spanish punctuation

    def evidence(w: str, found: frozenset) -> bool:
        if w.isascii():
            return len(w) > 1 and w in found
        return bool(_ACCENTED.search(w)) or ml.fold(w) in found

    if len(words) < 3:
        foreign = inverted + sum(1 for w in words if evidence(w, _SHORT_EVIDENCE))
        en = sum(1 for w in words if w in lx.EN_STOPWORDS and w not in _UNIVERSAL)
        return foreign > en
    en, foreign = 0, inverted
    for w in words[:300]:
        if w in lx.EN_STOPWORDS:
            en += 1
        elif evidence(w, _FOREIGN_EVIDENCE):
            foreign += 1
    return foreign >= 2 and foreign > en


def _ascii_foreign_words(words: list[str]) -> bool:
    """`_foreign_words` of ASCII prose (no "¿"/"¡", no accents), as set lookups."""
    if not words:
        return False
    if len(words) < 3:
        foreign = sum(1 for w in words if len(w) > 1 and w in _SHORT_EVIDENCE)
        en = sum(1 for w in words if w in lx.EN_STOPWORDS and w not in _UNIVERSAL)
        return foreign > en
    head = words[:300]
    foreign = sum(map(_ASCII_EVIDENCE.__contains__, head))
    return foreign >= 2 and foreign > sum(map(lx.EN_STOPWORDS.__contains__, head))


# ------------------------------------------------------ non-English turns

def _foreign_turn(s: Scrubbed) -> TurnCues:
    """Cues of a non-English turn, with the same meaning as the English ones."""
    prose = s.prose
    f = ml.fold(prose)
    tt = ml.tokens_text(ml.TOKEN.findall(f))
    words = ml.word_equivalents(f)
    cues = {}
    for name, lexicon in ml.CUES.items():
        n = lexicon.count(ml.NEGATED.sub(" ~", tt) if name == "validate" else tt, f)
        if n:
            cues[name] = n
    sentences = [x for x in ml.SENTENCE_SPLIT.split(f, MAX_SENTENCES) if x and x.strip()]
    kinds = _kind_counts(_foreign_sentence(sent) for sent in sentences[:MAX_SENTENCES])
    rest_tt, rest_f = _skip_fillers(tt, f, greetings=True)
    opens_negate = ml.NEGATE.opens(tt, f) or ml.NEGATE_ALONE.opens(tt, f)
    validates = bool(cues.get("validate")) and (
        words <= 12 or ml.CUES["validate"].search(tt[:EARLY_CHARS], f[:EARLY_UNSPACED]))
    # Capitals, lowercase-only writing and shouting exist only in scripts with case.
    bare = ml.PLACEHOLDER.sub(" ", prose)
    cased_words = ml.CASED_WORD.findall(bare[:3000])
    caps = sum(1 for w in cased_words if w.isupper())
    shouting = is_shouting(cased_words, caps)
    n_cased = len(ml.CASED_CHAR.findall(bare))
    cased = n_cased > 0 and n_cased * 2 >= len(ml.LETTER.findall(bare))
    if (caps, len(cased_words), shouting) != (s.caps_words, s.alpha_words, s.shouting):
        s = dataclasses.replace(s, caps_words=caps, alpha_words=len(cased_words), shouting=shouting)
    return TurnCues(
        scrubbed=s, words=words, non_english=True, cues=cues, **kinds,
        greets=ml.GREET.opens(tt, f),
        opens_affirm=ml.AFFIRM.opens(tt, f) or ml.AFFIRM_ALONE.opens(tt, f),
        opens_negate=opens_negate,
        opens_soft_negate=not opens_negate and ml.SOFT_NEGATE.opens(tt, f),
        continue_only=words <= 8 and (ml.CONTINUE.opens(rest_tt, rest_f)
                                      or ml.CONTINUE_ALONE.opens(rest_tt, rest_f)),
        validates_early=bool(validates),
        exclamations=prose.count("!") + prose.count("！"),
        emojis=_emoji_count(prose),
        lowercase_only=cased and words >= 3 and bare == bare.lower(),
        urgent_caps=_urgent_caps(prose),
        cased=cased,
    )


def _skip_fillers(tt: str, f: str, greetings: bool = False) -> tuple[str, str]:
    """Drop leading filler words ("please", "ok", "now", "那就") and punctuation
    from a sentence's token text and folded text."""
    for _ in range(6):
        before = (tt, f)
        m = ml.PUNCT_RUN.match(tt)
        if m:
            tt = tt[m.end():]
        for lexicon in (ml.FILLERS, ml.GREET) if greetings else (ml.FILLERS,):
            if lexicon.tok_open is not None:
                m = lexicon.tok_open.match(tt)
                if m:
                    tt = tt[m.end():]
            if lexicon.sub_open is not None and not f.isascii():
                m = lexicon.sub_open.match(f)
                if m:
                    f = f[m.end():]
        if (tt, f) == before:
            break
    return tt, f


_COURTESY = tuple(ml.CUES[c] for c in ml.COURTESY_CUES)
# Praise, greetings and acceptance are courtesy only where they open the sentence
# ("明白了" is, "我不明白" is not).
_COURTESY_OPENERS = (ml.CUES["validate"], ml.GREET, ml.AFFIRM, ml.AFFIRM_ALONE)


def _foreign_sentence(sent: str) -> str | None:
    """Kind of one folded non-English sentence (see `_sentence_kind`)."""
    toks = ml.TOKEN.findall(sent)
    if not any(t[0] != "<" and t[0] not in ml.PUNCT for t in toks):
        return None
    tt = ml.tokens_text(toks)
    if ml.COULD_YOU.search(tt, sent):
        return "could_you"
    body = sent.strip()
    end = body[-1:]
    rest_tt, rest_f = _skip_fillers(tt, sent)
    if (end in "?？؟" or body.startswith("¿") or (end in ";\u037e" and ml.GREEK.search(body))
            or ml.QUESTION_END.search(tt, body) or ml.QUESTION_ANY.search(tt, body)
            or (end not in ".!。！" and ml.QUESTION_HEAD.opens(rest_tt, rest_f))):
        return "question"
    if _foreign_directive(tt, sent):
        return "directive"
    ctt = ml.NEGATED.sub(" ~", tt)  # "не получилось" is no praise
    if (any(lexicon.search(ctt, sent) for lexicon in _COURTESY)
            or any(lexicon.opens(ctt, sent) for lexicon in _COURTESY_OPENERS)):
        # "Спасибо большое!", "谢谢你的帮助": courtesy with at most a few more words.
        left_tt, left_f = ctt, sent
        for lexicon in _COURTESY + _COURTESY_OPENERS:
            if lexicon.tok is not None:
                left_tt = lexicon.tok.sub(" ", left_tt)
            if lexicon.sub is not None:
                left_f = lexicon.sub.sub(" ", left_f)
        if min(ml.word_equivalents(left_tt), ml.word_equivalents(left_f)) <= 3:
            return None
    if ml.CUES["please"].search(tt, sent):
        return "directive"  # a politeness marker with content asks for something
    if ml.word_equivalents(sent) >= 4 and ml.SUBJECT.search(tt, sent):
        return "statement"
    return "fragment"


def _foreign_directive(tt: str, sent: str) -> bool:
    if ml.DIRECTIVE_MARK.search(tt, sent) or ml.IMPERATIVE_TAIL_END.search(tt):
        return True
    for clause in ml.CLAUSE_SPLIT.split(sent, MAX_CLAUSES)[:MAX_CLAUSES]:
        ctt, cf = _skip_fillers(ml.tokens_text(ml.TOKEN.findall(clause)), clause)
        if ml.IMPERATIVE_HEAD.opens(ctt, cf):
            return True
    return False
