"""Word lists and compiled patterns for the rule extractor.

All cue patterns run on lowercased, topic-scrubbed text (see `scrub.py`), so
they can only ever see the user's own words and placeholders. Patterns are
compiled once (the big cue scanners on first use); the per-turn work is a
handful of C-level scans.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .._lazy import lazy_values


def _alt(*phrases: str) -> str:
    """Alternation over a token string (see `tokens_text`), factored by first
    letter so the engine tries few branches at each word start."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    groups: dict[str, list[str]] = {}
    misc: list[str] = []
    for p in ordered:
        if len(p) > 1 and p[0].isalpha() and p[1] not in "?*+{":
            groups.setdefault(p[0], []).append(p[1:])
        else:
            misc.append(p)
    branches = [f"{c}(?:{'|'.join(rest)})" for c, rest in groups.items()] + misc
    # The leading literal space lets the engine jump from word to word.
    return r" (?:" + "|".join(branches) + r")(?= )"


# Cue patterns run on the turn's tokens joined by single spaces, with a space
# at both ends: word boundaries become spaces, and sentence punctuation stays
# as its own token so phrases do not match across it.
TOKEN = re.compile(r"<[a-z]+>|[a-z0-9][a-z0-9']*|[?.!,;:]")


def tokens_text(tokens: list[str]) -> str:
    return " " + " ".join(tokens) + " "


# Cue categories found anywhere in a turn.
_CUE_PHRASES: dict[str, tuple[str, ...]] = {
    "thank": ("thanks?", "thank you", "thankyou", "thx", "tysm", "ty", "appreciate it",
              "i appreciate", "much appreciated", "many thanks", "cheers for"),
    "please": ("please", "pls", "plz", "kindly"),
    "sorry": ("sorry", "apologies", "my apologies", "i apologize", "i apologise", "my bad",
              "excuse me", "pardon"),
    "goodbye": ("bye", "goodbye", "good bye", "see you", "see ya", "take care",
                r"have a (?:nice|good|great|lovely) (?:day|one|evening|night|weekend)",
                "that'?s all", "that is all", "that will be all", "good night", "talk (?:to you )?later",
                "farewell", "until next time", "signing off"),
    "validate": ("works", "it worked", "that worked", "worked perfectly", "working now", "perfect",
                 "great", "awesome", "excellent", "amazing", "fantastic", "wonderful", "brilliant",
                 "nice", "good job", "well done", "love it", "i like it", "i like this",
                 "looks good", "sounds good", "that'?s (?:exactly|right|correct|it|better|good|great)",
                 "exactly what i", "that helps", "this helps", "helpful", "makes sense",
                 "much better", "spot on", "nailed it", "beautiful", "super", "cool", "neat",
                 "good answer", "good stuff", "well said"),
    # Corrections that need no context ("that's not what I asked").
    "correct": ("that'?s (?:not|wrong|incorrect)", "that is (?:not|wrong|incorrect)",
                "this is (?:not|wrong|incorrect)", "it'?s (?:not|wrong) what", "it'?s wrong",
                "not what i (?:asked|wanted|meant|said|need|requested)", "wrong", "incorrect",
                "not correct", "not right", "you misunderstood", "you misunderstand", "misunderstood",
                "i said", "i meant", "you forgot", "you missed", "you didn'?t",
                "you did not", "you keep", "you are wrong", "you'?re wrong", "you made (?:a|an) (?:mistake|error)",
                "there'?s a mistake", "not quite", "you ignored", "you left out", "that doesn'?t answer",
                "didn'?t ask", "i never (?:said|asked)", "that'?s not it", "you changed", "you removed",
                "you used", "you gave me", "you wrote"),
    # Corrections only when the turn opens with a negation ("no, use X instead").
    "correct_weak": ("instead of", "rather than", "should be", "supposed to be", "try again", "instead",
                     "i asked (?:for|you)",
                     "i want", "i need", "i asked", "it should", "not the", "not a"),
    "reject": ("useless", "this is bad", "that'?s bad", "terrible", "not helpful", "unhelpful",
               "start over", "redo", "doesn'?t make (?:any )?sense", "makes no sense", "nonsense",
               "never ?mind", "forget it", "forget about it", "not good", "garbage", "rubbish",
               "worse", "i don'?t like", "not what i want", "scrap that", "no good"),
    # Reports that the thing still fails, whatever the domain.
    "error_report": ("still (?:getting|get|not working|doesn'?t work|does not work|fails|failing|broken|"
                     "the same|shows?|throws?|gives?|crash(?:es|ing)?|wrong|an? error|errors?|nothing)",
                     "same (?:error|problem|issue|result|output|thing)", "(?:different|new|another) error",
                     "doesn'?t work", "does not work",
                     "didn'?t work", "did not work", "not working", "isn'?t working", "won'?t work",
                     "doesn'?t (?:run|compile|load|start|show|work)", "won'?t (?:run|compile|load|start)",
                     "(?:it|this|that|the code|the script|the program|the test) (?:fails|failed|crashes|crashed)",
                     "(?:i|i'?m|we|it|this|that) (?:get|got|getting|gets|gives?|gave|shows?|showing|"
                     "throws?|throwing|returns?|returning)(?: me)? (?:an?|the|this|that|following|same|"
                     "these|those)? ?(?:error|errors|exception|warning|traceback|<error>|<log>|"
                     "following)", "error (?:message|occurs|occurred|says|appears)", "it says",
                     "got this", "getting this", "traceback", "stack ?trace", "syntax error"),
    # "Still too long", "still not it": the last answer still falls short.
    "still_short": (r"still (?:too|not|isn'?t|doesn'?t|reads|looks|sounds|feels|seems|has|lacks|missing|"
                    r"wrong|bad|off|the same|meh|boring|generic|stiff|clunky|awkward|long|short)",
                    "not there yet", "not quite there", "still not it", "didn'?t help", "no better",
                    "same problem", "same issue", "that didn'?t (?:fix|change|help)"),
    # Error words that report a failure only next to pasted error output.
    "error_word": ("errors?", "exception", "bug", "fails?", "failed", "crash(?:es|ed)?", "broken",
                   "undefined", "not defined", "not found", "warning"),
    # Explicit "here is something I did not say yet".
    "increment": ("forgot to (?:mention|say|add|tell|include)", "i forgot", "btw", "by the way",
                  "additionally", "one more thing", "another thing", "oh and", "oh (?:, )?(?:and|also|wait)",
                  "i should (?:mention|add|say|note)", "i should have (?:mentioned|said)", "to add",
                  "i didn'?t mention", "should have mentioned", "i need to add", "also note", "note that",
                  "keep in mind", "just so you know", "for context", "fyi", "it also needs?", "also it",
                  "it should also", "it also has", "it also should", "it must also", "also needs?"),
    # Words that add facts only inside a statement ("also, the file is big").
    "increment_weak": ("also", "plus", "as well", "in addition", "furthermore", "moreover",
                       "on top of that", "too"),
    "constraint": ("must", "should", "needs? to", "has to", "have to", "without", "only", "at least",
                   "at most", "no more than", "no less than", "less than", "more than", "under <number>",
                   "maximum", "minimum", "max", "min", "limit", "exactly", "keep (?:it|them|the)",
                   "make sure", "ensure", "don'?t", "do not", "avoid", "never", "always", "format",
                   "tone", "style", "audience", "for (?:a|an) (?:beginner|expert|child|kid|student|"
                   "professional|general|non technical|technical)", "in (?:the )?(?:form|style) of",
                   "<number> (?:words|sentences|paragraphs|lines|characters|bullet points|points|items|"
                   "pages|steps|examples|minutes)", "bullet points?", "table", "step by step",
                   "in (?:a|one) (?:sentence|paragraph|line)", "shorter", "longer", "simpler",
                   "more (?:formal|casual|concise|detailed|professional|friendly)", "less (?:formal|"
                   "casual|technical|wordy)", "using", "use", "instead", "requirements?", "constraints?",
                   "deadline", "word count", "length"),
    "background": ("i am (?:a|an|the|currently|working|trying|building|writing)", "i'?m (?:a|an|the|"
                   "currently|working|trying|building|writing)", "i work", "we are", "we'?re", "we have",
                   "i have (?:a|an|some|this)", "our", "my (?:team|company|boss|manager|client|students?|"
                   "class|project|job|business|goal|audience|readers?|teacher|professor)", "for my",
                   "context", "background", "currently", "the goal", "the purpose", "the idea is",
                   "i'?ve been", "i have been", "right now i", "at the moment", "the situation",
                   "target audience", "audience", "the reason", "because", "since i", "so that",
                   "we use", "i use", "i'?m using", "i am using"),
    "intent": ("i want to", "i wanna", "i need to", "i'?d like to", "i would like to", "i'?m trying to",
               "i am trying to", "i'?m looking for", "i am looking for", "i need help", "help me",
               "i need (?:a|an|some)", "i want (?:a|an|some)", "my goal is", "i'?m going to",
               "i am going to", "i plan to", "i'?m planning", "i am planning", "we need", "we want",
               "i'?m hoping to", "i hope to", "i have to", "i must"),
    "alts": ("another", "other options?", "alternatives?", "something else", r"different (?:one|"
             "version|way|approach|options?|ideas?|examples?|ones|wording)", "more options",
             "other ways?", r"more (?:examples|ideas|suggestions|options|variations|versions)",
             "try again", "regenerate", "one more", "give me more", "other ideas", "else \\?",
             "other suggestions", "a new version", "variations?"),
    "select": (r"the (?:first|second|third|fourth|fifth|last|latter|former) (?:one|option|version|"
               "choice|idea)", r"option (?:<number>|[a-d]|one|two|three)", r"number (?:<number>|one|two|"
               "three)", r"(?:i'?ll|i will|let'?s|lets) (?:go with|take|use|pick|choose)",
               "i choose", "i pick", "i prefer", "i'?d prefer", "i like the", "go with", "i'?ll take"),
    "hedge": ("i was wondering", "wondering if", "just wondering", "maybe", "perhaps", "possibly",
              "if possible", "i think", "not sure", "i'?m not sure", "might", "would it be possible",
              "do you think", "kind of", "sort of", "i guess", "i suppose", "if you don'?t mind",
              "if you can", "if that'?s ok", "if that'?s okay", "could it be", "is it possible",
              "i'?m curious", "i am curious", "curious (?:if|whether|about)", "any chance",
              "would you mind"),
    "could_you": (r"(?:can|could|would|will) (?:you|u) (?:please |kindly |maybe |also |just )?[a-z]+",
                  "would you mind", "is it possible (?:for you )?to", "are you able to"),
    "followup": ("why", "what about", "what happens", "what would", "what should", "which one", "how about", "what if", "and if", "how come", "what does",
                 "what do you mean", "what is the difference", "difference between", "how does",
                 "how do", "is it", "is that", "is this", "can i", "can it", "does it", "does this",
                 "does that", "would it", "should i", "explain (?:why|how|what|more)", "tell me more",
                 "elaborate", "more detail", "clarify", "meaning of", "what'?s the"),
    "anaphora": ("it", "this", "that", "these", "those", "above", "previous", "earlier", "same",
                 "your (?:answer|response|reply|code|version|example|suggestion|list|solution|output)",
                 "the (?:answer|response|code|text|list|table|version|example|output|script|function|"
                 "paragraph|essay|email|story|poem|summary|article|letter|draft|one)", "there", "again",
                 "instead", "them", "they"),
    "slang": ("lol", "lmao", "rofl", "ha(?:ha)+h?", "he(?:he)+", "omg", "idk", "tbh", "imo", "imho",
              "gonna", "wanna", "gotta", "dude", "bro", "bruh", "u", "ur", "thx", "pls", "plz",
              "lemme", "gimme", "yay", "xd", "nvm", "ikr", "smh", "sup", "y'?all", "tho", "cuz",
              "coz", "ain'?t", "dunno", "ya", "luv", "cya", "ttyl", "fr", "ngl"),
    # Casual but not slang: counts toward a casual register only in numbers.
    "casual": ("yeah", "yep", "yup", "nope", "nah", "kinda", "sorta", "ok+", "okie", "hmm+", "woo+",
               "wow", "oops", "buddy", "mate", "cool", "awesome", "stuff", "super", "pretty much",
               "a bit", "a lot", "totally", "hey", "hiya", "gotcha", "alright", "sweet", "whoa"),
    "frustrated": ("wtf", "ugh+", "argh+", "come on", "seriously", "for the last time",
                   "i already (?:told|said|asked|gave)", "how many times", "stupid", "dumb", "useless",
                   "ridiculous", "annoying", "frustrat(?:ed|ing)", "damn", "dammit", "terrible",
                   "you keep", "still not", "what the hell", "are you kidding", "pathetic", "idiot"),
    "urgent": ("asap", "urgent", "urgently", "as soon as possible", "right away", "hurry", "in a rush",
               r"need (?:this|it|help|an answer|the answer|a fix) (?:now|today|fast|immediately|asap|quickly)",
               "time sensitive", "quick please", "please hurry", "no time", "running out of time"),
    # Setting the assistant up in a role or game before asking.
    "roleplay": ("you are (?:a|an|my|the|now)", "act as", "act like", "pretend (?:to be|you are|you'?re)",
                 "i want you to act", "imagine you are", "imagine you'?re", "you will act", "you will be",
                 "from now on", "let'?s play", "role ?play", "you'?re now", "your role is",
                 "you will play", "play the role"),
    "formal": ("dear", "kindly", "regards", "sincerely", "would you be so kind", "i would appreciate",
               "i would be grateful", "i'?d be grateful", "please find", "greetings",
               "at your earliest convenience", "thank you in advance", "thanks in advance",
               "many thanks", "i would be obliged", "respectfully", "herewith", "hereby"),
    "social": ("how are you", "how'?s it going", "how are things", "you'?re (?:the best|awesome|amazing|"
               "great|a lifesaver|so helpful|smart)", "you are (?:the best|awesome|amazing|great|"
               "so helpful|smart)", "my friend", "buddy", "friend", "mate", "love you", "i feel",
               "i'?m (?:so )?(?:happy|excited|sad|tired|stressed|glad)", "have a great", "nice to",
               "good to see", "miss you", "you rock", "lifesaver", "bestie", "pal"),
    "continue": ("continue", "go on", "keep going", "carry on", "proceed", "keep writing",
                 "finish (?:it|the|writing)", "and then \\?", "more please", "next part", "next one",
                 "rest of (?:it|the)", "you stopped", "got cut off", "cut off", "complete (?:it|the)"),
}


class _Unread(ValueError):
    """Phrase syntax `_lead_words` does not follow."""


def _lead_words(phrase: str) -> frozenset[str] | None:
    """Every start a match of `phrase` can have: its first two words (or its
    only word), else its first word; None where the syntax is not followed.

    A cue phrase matches at a word start of the token text (tokens joined by
    single spaces) and ends before a space, so it starts with a whole token
    or two consecutive ones: a turn with none of these starts cannot match.
    Lists literals, `(?:a|b)` groups, `?` and escaped symbols; other syntax
    is read only after the lead words.
    """
    for n in (2, 1):
        try:
            found, end = _alternatives(phrase, 0, True, n)
            break
        except _Unread:
            continue
    else:
        return None
    starts = {w.rstrip(" ") for w in found}
    if end != len(phrase) or any(not w or w[0] == " " or "  " in w for w in starts):
        return None  # a match cannot hold an empty word: a start not to rely on
    return frozenset(starts)


def _alternatives(p: str, i: int, live: bool, n: int) -> tuple[set[str], int]:
    """Strings (cut after their n-th space) that `p[i:]` matches, up to the
    `)` that closes the group or the end. Not `live`: only find the end."""
    out: set[str] = set()
    while True:
        seq, i = _sequence(p, i, live, n)
        out |= seq
        if i < len(p) and p[i] == "|":
            i += 1
            continue
        return out, i


def _sequence(p: str, i: int, live: bool, n: int) -> tuple[set[str], int]:
    cur = {""}
    while i < len(p) and p[i] not in "|)":
        # Once every string has its lead words, what follows cannot change them.
        live_here = live and not all(c.count(" ") >= n for c in cur)
        atom, i = _atom(p, i, live_here, n)
        if i < len(p) and p[i] == "{":
            raise _Unread(p)  # counted repeats: not in the cue lists
        if i < len(p) and p[i] in "?*+":
            optional = p[i] == "?"
            i += 2 if p[i + 1:i + 2] == "?" else 1  # a lazy quantifier matches the same strings
            # `+` and `*` repeat: no finite list.
            atom = atom | {""} if optional and atom is not None else None
        if live_here:
            if atom is None:
                raise _Unread(p)
            cur = {c if c.count(" ") >= n else _cut(c + a, n) for c in cur for a in atom}
    return cur, i


def _atom(p: str, i: int, live: bool, n: int) -> tuple[set[str] | None, int]:
    """One atom at p[i]: its strings (None: not listed) and the index after it."""
    c = p[i]
    if c == "(":
        if not p.startswith("(?:", i):
            raise _Unread(p)  # capturing groups and look-arounds: not in the cue lists
        inner, i = _alternatives(p, i + 3, live, n)
        if i >= len(p) or p[i] != ")":
            raise _Unread(p)
        return inner, i + 1
    if c == "[":
        close = p.find("]", i + 2)  # a class: not listed
        if close == -1 or "\\" in p[i:close]:
            raise _Unread(p)
        return None, close + 1
    if c == "\\":
        if i + 1 >= len(p):
            raise _Unread(p)
        return ({p[i + 1]} if not p[i + 1].isalnum() else None), i + 2
    if c in "?*+{}]":
        raise _Unread(p)  # a quantifier without an atom
    if c in "^$.":
        return None, i + 1
    return {c}, i + 1


def _cut(text: str, n: int) -> str:
    """`text` up to the space after its first n words."""
    end = -1
    for _ in range(n):
        end = text.find(" ", end + 1)
        if end == -1:
            return text
    return text[:end + 1]


# A phrase that repeats a letter or syllable in its first word ("ok+",
# "ha(?:ha)+h?"): its first word starts with the text up to one repeat.
_REPEAT_START = re.compile(r"([a-z']*)(?:\(\?:([a-z']+)\)|([a-z']))\+")


def _lead_prefix(phrase: str) -> str | None:
    """What the first word of every match of `phrase` starts with, for a
    phrase that opens with letters and a repeat; else None."""
    m = _REPEAT_START.match(phrase)
    if m is None or "|" in phrase:
        return None
    return m.group(1) + (m.group(2) or m.group(3))


def _category_leads(phrases: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]] | None:
    """(lead words, first-word prefixes) of a category's phrases; None where a
    phrase has neither."""
    leads: set[str] = set()
    prefixes: set[str] = set()
    for phrase in phrases:
        found = _lead_words(phrase)
        if found is not None:
            leads |= found
            continue
        prefix = _lead_prefix(phrase)
        if prefix is None:
            return None
        prefixes.add(prefix)
    return frozenset(leads), frozenset(prefixes)


def _compile_cues() -> dict[str, re.Pattern]:
    # One compiled scanner per category: categories overlap ("try again" is both
    # a correction and a request for alternatives), so each is counted on its own.
    return {name: re.compile(_alt(*ph)) for name, ph in _CUE_PHRASES.items()}


class _CueIndex(NamedTuple):
    scans: tuple[tuple[str, re.Pattern], ...]  # (category, scanner) in CUES order
    lead_masks: dict[str, int]   # lead word(s) -> bit i set: category i may start with it
    leads: frozenset[str]        # every lead word(s) of lead_masks
    prefixes: tuple[tuple[str, int], ...]  # (" " + first-word prefix, its categories' bits)
    ungated: int                 # bits of the categories whose leads are not known


def _cue_index() -> _CueIndex:
    cues = globals().get("CUES") or __getattr__("CUES")  # a plain name would not build it
    lead_masks: dict[str, int] = {}
    prefix_masks: dict[str, int] = {}
    ungated = 0
    for i, name in enumerate(cues):
        found = _category_leads(_CUE_PHRASES[name])
        if found is None:
            ungated |= 1 << i
            continue
        for lead in found[0]:
            lead_masks[lead] = lead_masks.get(lead, 0) | 1 << i
        for prefix in found[1]:
            # In the token text a word starts right after a space.
            prefix_masks[" " + prefix] = prefix_masks.get(" " + prefix, 0) | 1 << i
    return _CueIndex(tuple(cues.items()), lead_masks, frozenset(lead_masks), tuple(prefix_masks.items()),
                     ungated)


def count_cues(tokens: list[str], text: str) -> dict[str, int]:
    """Matches per category (non-zero only, in CUES order) in `text`, the
    token text of `tokens` (see `tokens_text`).

    Only categories that can start at one of the turn's words or pairs of
    adjacent words (or at a word with one of their prefixes) are scanned;
    the others cannot match (`_lead_words`, `_lead_prefix`).
    """
    index = globals().get("CUE_INDEX") or __getattr__("CUE_INDEX")
    present = set(tokens)
    present.update(map(" ".join, zip(tokens, tokens[1:])))
    mask = index.ungated
    for lead in index.leads.intersection(present):
        mask |= index.lead_masks[lead]
    for start, bits in index.prefixes:
        if bits & ~mask and start in text:
            mask |= bits
    counts = {}
    scans = index.scans
    while mask:
        low = mask & -mask  # categories in CUES order: lowest bit first
        name, rx = scans[low.bit_length() - 1]
        n = len(rx.findall(text))
        if n:
            counts[name] = n
        mask ^= low
    return counts


# Built on first use (see `__getattr__`): compiling the cue scanners is most
# of this module's import time, and a run whose descriptions are cached never
# scans a turn.
__getattr__ = lazy_values(__name__, {"CUES": _compile_cues, "CUE_INDEX": _cue_index}, globals())


# Turn-opening words.
# Greeting words, stretched or not ("heyyy", "hiii", "hellooo").
GREETING_WORD = re.compile(r"(?:h+e+y+a*|h+i+|hiya|hel+o+|howdy|greetings|yo+|hola|hallo|bonjour|ciao|sup|"
                           r"morning|evening|afternoon|dear|salut|namaste)$")
GREETING_PHRASE = re.compile(r"^\W*(?:good (?:morning|afternoon|evening|day)|what'?s up|hi there|"
                             r"hello there|hey there)\b")
AFFIRM_OPENERS = frozenset({"yes", "yeah", "yep", "yup", "yea", "sure", "ok", "okay", "okey", "k", "kk",
                            "correct", "exactly", "right", "perfect", "great", "good", "agreed", "alright",
                            "absolutely", "definitely", "cool", "nice", "awesome", "excellent", "fine",
                            "indeed", "true", "si", "oui", "ja", "yess", "yesss", "ofc", "works",
                            "wonderful", "fantastic", "amazing", "thanks", "thank"})
NEGATE_OPENERS = frozenset({"no", "nope", "nah", "not", "wrong", "incorrect", "never", "nop",
                            "negative", "non", "nein", "don't", "dont", "stop", "wait", "hmm",
                            "actually", "but", "however"})
# Of the negate openers only these are a plain "no"; the rest are softer
# hedges that count as a negation only with a correction cue in the turn.
HARD_NEGATE = frozenset({"no", "nope", "nah", "wrong", "incorrect", "nop", "negative", "nein", "not"})

# Words that open an imperative sentence (base-form verbs users address to an
# assistant). Checked on the first content word of each sentence.
IMPERATIVE_VERBS = frozenset("""
write rewrite fix make create give generate explain summarize summarise list add change remove
delete show tell translate describe help convert implement update modify improve provide suggest
do use try act pretend imagine compose draft edit correct check find design build outline expand
shorten elaborate compare analyze analyse calculate turn put replace rephrase paraphrase proofread
format include keep let send prepare plan refactor debug optimize optimise organize organise sort
define identify recommend name come go start stop say respond answer read consider assume think
solve complete finish fill extract classify predict produce reply return run set split break combine
merge simplify clarify review evaluate brainstorm develop code program print test continue
proceed redo remake retry convert insert append reduce increase lengthen condense reword restructure
highlight mark label group rank rate score estimate recommend select choose pick pass skip ignore
forget remember note imagine describe detail enumerate display render draw plot map visualize
visualise search look lookup fetch get compute derive prove demonstrate illustrate teach quiz ask
""".split())
# Words that may precede the verb of an imperative ("please fix", "now make").
IMPERATIVE_FILLERS = frozenset({"please", "pls", "plz", "now", "ok", "okay", "so", "and", "then", "just",
                                "also", "kindly", "alright", "great", "thanks", "next", "first",
                                "finally", "lastly", "oh", "hey", "hi", "hello", "<name>", "ah",
                                "good", "nice", "cool", "perfect", "yes", "yeah", "no", "but", "again",
                                "instead", "actually", "quickly", "simply", "lol", "haha", "omg", "well",
                                "um", "hmm", "pls", "plz", "btw", "sorry", "oops", "wait"})
QUESTION_OPENERS = frozenset({"what", "why", "how", "when", "where", "which", "who", "whom", "whose",
                              "is", "are", "am", "can", "could", "would", "will", "do", "does", "did",
                              "should", "shall", "may", "might", "have", "has", "was", "were", "any",
                              "isn't", "aren't", "don't", "doesn't", "didn't", "won't", "wouldn't",
                              "shouldn't", "can't", "couldn't", "whats", "what's", "hows", "how's",
                              "whos", "who's", "wheres", "where's", "whats"})
# A directive inside a sentence: "..., please analyze this", "you need to
# convert", "let's write". The verb is checked against IMPERATIVE_VERBS.
DIRECTIVE_INSIDE = re.compile(r"(?:^|[\s,;:(])(?:please|pls|plz|kindly|i want you to|i need you to|i'?d like you to|"
                              r"i would like you to|you need to|you should|you must|you will|you have to|"
                              r"your (?:task|job|goal) is to|let'?s|lets|help me)\s+(?:also\s+|just\s+|now\s+|then\s+)?([a-z]+)")
# Subjects and finite verbs: a sentence with none of them is a fragment.
STATEMENT_MARKERS = frozenset("""
i we you it he she they there this that these those is are was were am be been being has have had
do does did can will would should could must i'm it's that's there's we're they're i've i'd i'll
my our their its his her me us them need needs want wants think know get got make makes seems
""".split())
# A sentence made only of these is courtesy, not a request ("Thank you so much!").
COURTESY_WORDS = frozenset("""
thank thanks thx ty you so much very a lot lots again for your help great perfect ok okay cool nice
awesome amazing excellent wonderful fantastic good job hi hello hey bye goodbye night day have nice
see ya cheers sure yes yeah yep yup no nope please sorry wow lol haha oh ah alright fine right
exactly indeed love it this that's works worked it's
""".split())
# Words without which DIRECTIVE_INSIDE cannot match (a cheap gate).
DIRECTIVE_TRIGGERS = frozenset({"please", "pls", "plz", "kindly", "want", "need", "like", "you",
                                "your", "let's", "lets", "help", "i'd"})
WH_WORDS = frozenset({"what", "why", "how", "when", "where", "which", "who", "whom", "whose", "whats",
                      "what's", "hows", "how's", "whos", "who's", "wheres", "where's"})
SUBJECTS = frozenset({"i", "you", "u", "it", "this", "that", "these", "those", "there", "we", "they", "he",
                      "she", "the", "my", "your", "a", "an", "any", "anyone", "someone", "our", "its",
                      "his", "her", "their", "<name>", "<code>"})
# Short turns that only ask the assistant to go on.
CONTINUE_TURN = re.compile(r"^\W*(?:please\W+)?(?:continue|go on|keep going|carry on|more|next|proceed|"
                           r"go ahead|finish|and\??|more please|continue please|keep writing|"
                           r"continue writing|continue from where you (?:left off|stopped)|"
                           r"and then|rest|the rest|go)\b[\w\s<>]{0,40}$")

EN_STOPWORDS = frozenset("""
the a an to of and is in it you i for this that my me can please with on be what how are do
your not have as if at or from by but so we will would could should there they them was it's i'm
don't can't make write help about need want like just also some any more than then when which
who why all one no yes ok okay thanks thank give use using here these those its our us he she his
her their been being has had did does done get got let know think way new same other into out up
""".split())
FOREIGN_STOPWORDS = frozenset("""
de la que el en los las del se por un una para con es lo como mas pero sus le al y o
der die und das ist nicht ein eine zu den mit von sich des auf für im dem ich du wir sie es auch
les des est pas une dans pour qui sur au avec ce je tu nous vous il elle mais ou sont être
il di che è per non una sono della gli come anche più ma ho
o do da em um uma não com os para se mais na no ao eu você
het een van ik je niet dat op zijn voor met dit maar ook
и в не на что я с он как это по но из у за от то все так его
""".split())

# Scripts other than Latin (Cyrillic, Greek, Hebrew, Arabic, Indic, Thai,
# CJK, Hangul, ...).
NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u052f\u0590-\u08ff\u0900-\u0dff\u0e00-\u0eff"
                       r"\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u3030\u303d"
                   r"\u3297\u3299\u00a9\u00ae\u203c\u2049]")
EMOTICON = re.compile(r"(?:(?<=\s)|^)(?:[:;=8][-']?[)(\]\[dDpP/\\|*oO3]|<3|[xX][dD]|\^_\^|\^\^|:'\(|"
                      r"T_T|-_-|o_o|O_O|¯\\_\(ツ\)_/¯)(?=\s|$|[.!?,])")

WORD = re.compile(r"<[a-z]+>|[a-z][a-z']*")
ALPHA_WORD = re.compile(r"[A-Za-z]{2,}")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[.!?])(?=[A-Z])")
LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•+]|\(?[a-z]\))\s+\S", re.M)
URGENT_CAPS = re.compile(r"\b(?:NOW|ASAP|URGENT|IMMEDIATELY|HURRY|QUICK|QUICKLY|EMERGENCY)\b")

# Assistant turns: a question to the user speaks to them.
ADDRESSED = re.compile(r"(?i)\b(?:you|your|yours|shall i|should i|can i|may i|do i|would it help)\b")
# Assistant turns: a generic closing offer is not a question to the user.
GENERIC_CLOSER = re.compile(r"anything else|any other questions|any (?:further|more) questions|"
                            r"let me know|further assistance|help with anything|more help|"
                            r"help you with|can i help|may i help|happy to help|questions\?|"
                            r"assist you|else i can do", re.I)
