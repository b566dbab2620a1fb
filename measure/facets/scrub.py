"""Topic scrubbing: reduce a user turn to the user's own words.

Everything a rule could mistake for behaviour but that is really topic (code,
pasted documents, error output, links, numbers, names) is replaced by a
placeholder before any rule reads the text. How *much* of each kind was
pasted is kept, because that is behaviour; what it said is thrown away.

Cost is bounded per turn: only the first RAW_CAP characters are scanned at
all, and of those only HEAD + TAIL go through the line classifier. The rest
counts as more of the same pasted material.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import ALPHA_WORD, LIST_ITEM
from .memo import short_text_cache

PASTE_KINDS = ("code", "error", "log", "document", "data")
CODE, ERROR, LOG, DOCUMENT, DATA = range(5)
PLACEHOLDER = {CODE: "<code>", ERROR: "<error>", LOG: "<log>", DOCUMENT: "<pasted>", DATA: "<data>"}
# When a pasted block mixes kinds, the placeholder names the most telling one.
_KIND_RANK = (ERROR, LOG, CODE, DATA, DOCUMENT)

RAW_CAP = 20_000      # characters scanned for code fences
HEAD, TAIL = 4_000, 1_000  # characters that go through the line classifier
OWN_PROSE_CAP = 1_500  # beyond this much prose, middle paragraphs count as a pasted document
LONG_LINE = 800        # a single line this long is pasted text, not typed

FENCE = re.compile(r"```[^\n`]*\n?(.*?)(?:```|\Z)", re.S)
_ERROR_LINE = (r"Traceback \(most recent call last\)|File \".+\", line \d+|at [\w$.<>/]+\(.*\)\s*$|"
               r"Caused by:|[\w.]*(?:Error|Exception)\b(?::|\s*\(|\s*$)|npm ERR!|error(?:\[\w+\])?:|"
               r"Error:|ERROR\b|fatal:|FATAL\b|panic:|Segmentation fault|Uncaught |E {3}|\^{3,}\s*$|"
               r"warning:|WARNING:|undefined reference|ModuleNotFoundError|SyntaxError|"
               r"\w+\.\w+:\d+(?::\d+)?:? |line \d+, in |(?:\.{0,2}/)?[\w./\\-]+:\d+(?::\d+)?: |"
               r"(?:\S+ ){0,2}\S*(?:error|Error|ERROR|exception|Exception)(?:\[\w+\])?: |Error in |"
               r"Error occurred|Exception in thread|exit status \d|Process finished with exit code|"
               r"Command failed|Build failed|FAILED|AssertionError|Warning: ")
_LOG_LINE = (r"\[?\d{4}-\d{2}-\d{2}[ T]\d|\[?\d{1,2}:\d{2}:\d{2}|\[(?:INFO|DEBUG|WARN|WARNING|ERROR|"
             r"TRACE|FATAL|notice|info|debug|error|warn)\]|(?:INFO|DEBUG|WARN|TRACE)\b[\s:]|"
             r"\$ \S|PS [A-Z]:\\|C:\\[^ ]*>|\w+@[\w-]+:[~/]")
_CODE_LINE = (r"(?: {4,}|\t)\S|#include|#define|#!|<\??(?!(?:code|error|log|pasted|data)>)[a-zA-Z!/][^>]*>|"
              r"[}{)\]]+\s*[;,)]?\s*$|//|/\*|\*/|-- |"
              r"(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (?:TABLE|INDEX|VIEW|DATABASE)|"
              r"ALTER TABLE|DROP TABLE|FROM \w|WHERE \w|(?:LEFT |RIGHT |INNER |OUTER )?JOIN \w|GROUP BY|ORDER BY)|"
              r"(?:def|class|function|fn|func|sub) \w+\s*[(:{<]|from [\w.]+ import|import [\w.]+\s*;?\s*$|"
              r"(?:import|require)\s*\(|(?:const|let|var|int|float|double|char|void|auto|bool|string|"
              r"public|private|protected|static|final|val) [\w<>\[\]]+\s*[=;(:]|(?:if|for|while|switch)\s*\(|"
              r"for \w+ in .*:\s*$|(?:else|try|finally|do)\s*:?\s*\{?\s*$|(?:elif|except|with) .*:\s*$|"
              r"return\b.*[;)\]]\s*$|print\(|console\.\w+\(|@\w+(?:\(|\s*$)|"
              r"(?:sudo|pip3?|npm|npx|yarn|git|docker|kubectl|apt(?:-get)?|brew|conda|cargo|mvn|gradle) "
              r"(?:install|run|add|build|push|pull|clone|commit|get|apply|exec|compose|init|-\w)|"
              r"python3? (?:[\w./-]+\.py|-[mc])|[\w.\[\]'\"]+\s*(?:=|\+=|-=|:=|=>)\s*\S")
_DATA_LINE = r"\|.*\|\s*$|[^\t]*(?:\t[^\t]*){2,}$|\s*[{\[]\s*\"|\s*\"[\w ]+\"\s*:|[^ ,]+(?:,[^ ,]*){3,}$"
_QUOTE_LINE = r">\s"  # a markdown quote of someone else's text
LINE_KIND = re.compile(rf"^(?:(?P<error>{_ERROR_LINE})|(?P<log>{_LOG_LINE})|(?P<data>{_DATA_LINE})|"
                       rf"(?P<quote>{_QUOTE_LINE})|(?P<code>{_CODE_LINE}))")
_KIND_OF_GROUP = {"error": ERROR, "log": LOG, "data": DATA, "code": CODE, "quote": DOCUMENT}
_SYMBOLS = "{}()[];=<>_\\|$&*"
_DROP_SYMBOLS = str.maketrans("", "", _SYMBOLS)
_ANY_SYMBOL = re.compile(f"[{re.escape(_SYMBOLS)}]")  # most typed lines have none: no count needed
CODE_ENDING = re.compile(r"(?:[;{}]|\):|=>|\)\s*\{)\s*$")
# The same test as `CODE_ENDING.search`, on the line without trailing
# whitespace (`str.rstrip` and `\s` agree on what whitespace is).
_CODE_ENDINGS = (";", "{", "}", "):", "=>")
GREEK_WORD = re.compile(r"[\u0370-\u03ff]{3}")

HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]{0,200})?/?>|&(?:nbsp|amp|lt|gt|quot|#\d+);")
INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_EXTENSIONS = (r"py|js|jsx|ts|tsx|java|c|cpp|cs|h|rb|go|rs|php|html|css|scss|json|csv|txt|md|yml|yaml|"
               r"xml|sh|sql|ipynb|docx?|pdf|xlsx?|pptx?|png|jpe?g|gif|svg|log|cfg|ini|toml|lock|env|vue|kt|"
               r"swift|dart|r")
# Paths are rare; each pattern runs only when its cheap gate finds a hint.
ABS_PATH = re.compile(r"(?:(?<=\s)|^)(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+")
FILE_EXT_HINT = re.compile(rf"\w\.(?:{_EXTENSIONS})\b", re.I)
FILE_NAME = re.compile(rf"\b[\w-]+\.(?:{_EXTENSIONS})\b", re.I)
QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|(?:(?<=\s)|^)'[^'\n]{2,200}'(?=[\s.,;:!?)]|$)")
OPEN_QUOTE = re.compile(r"[\"“«][^\"”»\n]{300,}")
SNAKE = re.compile(r"\b[A-Za-z]\w*(?:\\?_\w+)+\b")
CAMEL_HINT = re.compile(r"[a-z][A-Z]")
CAMEL = re.compile(r"\b[a-z]+[A-Z][A-Za-z0-9]*\b")
DOTTED_HINT = re.compile(r"\w\.[A-Za-z_]")
DOTTED = re.compile(r"\b[A-Za-z_]\w+\.[A-Za-z_]\w+(?:\.\w+)*(?:\(\))?")
CALL = re.compile(r"\b\w+\(\)")
NUMBER = re.compile(r"(?<![\w<])[-+$€£]?\d[\d,.:/%-]*(?:st|nd|rd|th|s|k|m|px|x)?\b")
# Title-case words after a lowercase word: names of people, products, works.
NAME = re.compile(r"(?<=[a-z0-9,;)>] )[A-Z][a-z][\w'’-]*(?:\s+(?:(?:of|the|and|de|la|van|von|for) )?"
                  r"[A-Z][\w'’-]*)*")
ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+s?\b")
PLACEHOLDER_RUN = re.compile(r"(<(?:code|error|log|pasted|data|url|email|path|quote|name|number)>)"
                             r"(?:[\s,]*\1)+")
SPACES = re.compile(r"[ \t]{2,}")
# Cheap scans for what a pattern above cannot match without (they find a
# literal or a class first): a dot before a word character (file names,
# dotted names), a digit (numbers), a title-case word after a space (names).
_DOT_WORD = re.compile(r"\.\w")
_DIGIT = re.compile(r"\d")
_NAME_HINT = re.compile(r" [A-Z][a-z]")

# Capitalized words that are behaviour, not names, and must survive.
KEEP_CAPITALIZED = frozenset("""
i i'm i'll i've i'd ok okay thanks thank please hi hello hey yes no sorry great perfect awesome
good nice cool excellent amazing wonderful fantastic now also but and so then can could would will
what why how when where which who is are do does did should the this that it my you your we our
again still urgent asap lol haha omg btw bye goodbye cheers dear kindly regards sincerely best
also however actually maybe perhaps just wait well oh ah hmm wow oops yeah yep nope not never
make write fix give create explain tell show help add change remove continue let use try
if in on for as at to of a an with from by or there here all any some each every first also
after before since because while although though once until unless whether please thx
""".split())
# All-caps words kept in a calm turn: they are cues, not acronyms.
KEEP_CAPS = frozenset({"I", "OK", "ASAP", "URGENT", "NOW", "PLEASE", "LOL", "OMG", "BTW", "PLS", "THX",
                       "FYI", "IMO", "TBH", "IDK", "NO", "YES", "HELP", "STOP", "NOT", "WTF", "LMAO",
                       "IMMEDIATELY", "HURRY", "ASAP!", "XD", "TY", "NEVER"})
# Words that announce material on the same line ("Summarize the following: ...").
INTRO_WORDS = re.compile(r"(?i)follow|below|this|these|here|text|article|paragraph|essay|email|passage|"
                         r"content|document|summar|translat|rewrite|paraphrase|proofread|review|story|"
                         r"poem|message|letter|script|input|output|error|log|excerpt|transcript|quote|"
                         r"abstract|description|post|answer|response|draft|code")
# Own words speak to the assistant or state requirements; a pasted draft does not.
ADDRESSES_ASSISTANT = re.compile(r"(?i)\b(?:you|your|please|should|must|make sure|has to|have to|"
                                 r"needs? to|i want|i need|i'd like|i would like|don't|do not)\b")
SHORT_PARAGRAPH, LONG_PARAGRAPH = 60, 100
INTRODUCED_MIN = 100  # characters after "...:" that make a paste
# The same in other languages, used only for turns read as non-English
# (`scrub(text, foreign=True)`), so English turns are scrubbed exactly as
# before: you-words, please, and the commonest request verbs.
ADDRESSES_ASSISTANT_ML = re.compile(
    r"(?i)你|您|请|帮我|给我|あなた|ください|下さい|お願い|주세요|해줘|해 줘|당신|"
    r"\b(?:ты|вы|тебя|вас|тебе|вам|пожалуйста|напиши\w*|сделай\w*|помоги\w*|tú|usted|por favor|"
    r"puedes|podrías|escribe|haz|vous|tu|s'il|peux|pouvez|écris|fais|bitte|kannst|schreib\w*|você|"
    r"vc|pode|escreva|faça|puoi|per favore|scrivi|fai|sen|siz|lütfen|ty|proszę|możesz|napisz|ти|ви|"
    r"будь ласка|bạn|hãy|vui lòng|kamu|anda|tolong|أنت|من فضلك|اكتب)\b")
# Words that introduce material after a colon, in other languages
# ("总结以下内容：...", "Переведи текст: ...").
INTRO_WORDS_ML = re.compile(
    r"(?i)以下|下面|如下|这段|这篇|文章|内容|文本|代码|翻译|总结|润色|改写|次の|다음|아래|следующ|ниже|"
    r"текст|стать|перевед|siguiente|texto|artículo|tradu|resum|suivant|ci-dessous|texte|article|"
    r"folgend|artikel|übersetz|seguinte|artigo|seguente|testo|articolo|aşağıdaki|metin|poniższ|tekst|"
    r"наступн|sau đây|đoạn văn|văn bản|berikut|teks|التالي|النص")


def _addresses(line: str, foreign: bool) -> bool:
    """The line speaks to the assistant or states requirements."""
    return bool(ADDRESSES_ASSISTANT.search(line) or (foreign and ADDRESSES_ASSISTANT_ML.search(line)))


def _intro(text: str, foreign: bool) -> bool:
    return bool(INTRO_WORDS.search(text) or (foreign and INTRO_WORDS_ML.search(text)))


# A line that announces material below it even without a colon
# ("Rewrite the following comic to be funnier").
ANNOUNCES_MATERIAL = re.compile(r"(?i)\b(?:the following|below|this (?:text|article|essay|email|code|"
                                r"script|paragraph|passage|story|poem|document|draft|message|comic|"
                                r"transcript|letter|post|content))\b")
SHOUT_MIN_WORDS = 2
SHOUT_RATIO = 0.6


@dataclass(frozen=True)
class Scrubbed:
    """A user turn reduced to its own words plus measurements of what was removed."""
    prose: str                   # own words; case kept; placeholders for material
    raw_chars: int               # length of the original turn
    pasted: tuple[int, ...]      # characters removed per PASTE_KINDS
    n_code_blocks: int           # fenced code blocks
    n_list_items: int            # list lines the user typed
    caps_words: int              # all-caps words of 2+ letters in own words
    alpha_words: int             # words of 2+ letters in own words
    shouting: bool               # most own words in capitals

    @property
    def pasted_chars(self) -> int:
        return sum(self.pasted)

    @property
    def main_paste(self) -> int | None:
        """Index into PASTE_KINDS of the telling kind pasted, or None."""
        if not any(self.pasted):
            return None
        # Error output wins over the code around it: pasting a traceback is
        # the signal, even when it comes with the failing code.
        if self.pasted[ERROR] >= 40:
            return ERROR
        return max(range(len(PASTE_KINDS)), key=lambda k: self.pasted[k])


def scrub(text: str, foreign: bool = False) -> Scrubbed:
    """Own words and pasted-material measurements of one user turn.

    `foreign`: the turn was read as non-English; lines that speak to the
    assistant and words that introduce material are then also recognised in
    the other languages of `lexicon_ml.py` (and after a full-width colon).
    """
    raw_chars = len(text)
    pasted = [0] * len(PASTE_KINDS)
    # Beyond RAW_CAP nothing is read; it is counted as more of the paste.
    t = text[:RAW_CAP]
    unread = raw_chars - len(t)
    n_blocks = 0
    if "```" in t:
        parts: list[str] = []

        def _fence(m: re.Match) -> str:
            body = m.group(1)
            kind = _block_kind(body)
            pasted[kind] += len(body)
            parts.append("")
            return f"\n{PLACEHOLDER[kind]}\n"
        t = FENCE.sub(_fence, t)
        n_blocks = len(parts)
    if len(t) > HEAD + TAIL:
        unread += len(t) - HEAD - TAIL
        t = t[:HEAD] + "\n" + t[-TAIL:]
    prose = _split_material(t, pasted, foreign)
    if unread:
        kind = max(range(len(pasted)), key=lambda k: pasted[k]) if any(pasted) else DOCUMENT
        pasted[kind] += unread
    prose, caps, alpha, shouting, n_list = _inline(prose)
    return Scrubbed(prose=prose, raw_chars=raw_chars, pasted=tuple(pasted), n_code_blocks=n_blocks,
                    n_list_items=n_list, caps_words=caps, alpha_words=alpha, shouting=shouting)


def _block_kind(body: str) -> int:
    """Kind of a fenced block, judged on its first lines."""
    head = body[:2000]
    kinds = [_line_kind(line) for line in head.split("\n", 40)[:40] if line.strip()]
    if ERROR in kinds:
        return ERROR
    if kinds and kinds.count(LOG) * 2 >= len(kinds):
        return LOG
    if kinds and kinds.count(DATA) * 2 >= len(kinds):
        return DATA
    return CODE


# Lines up to this long have their kind kept for reuse (least recently used
# go first): turns repeat lines ("Here is my code:", "Thanks!") much more
# than they repeat whole.
LINE_CACHE, LINE_CACHE_CHARS = 1 << 14, 300


def _read_line_kind(line: str) -> int | None:
    """PASTE_KINDS index for a pasted-looking line, None for typed prose."""
    m = LINE_KIND.match(line)
    if m is not None:
        kind = _KIND_OF_GROUP[m.lastgroup]
        if kind == CODE and line.lstrip().startswith("<"):
            # HTML remnants around typed words are still typed words.
            words = HTML_TAG.sub(" ", line).split()
            if len(words) >= 3 and sum(map(len, words)) >= 0.3 * len(line):
                return None
        # A sentence that merely starts with "import"/"for x in"/"Error:" and
        # reads like prose stays prose.
        if kind == CODE and len(line) > 60 and line.count(" ") > len(line) / 7 and not _code_ending(line):
            return None
        return kind
    n = len(line)
    if n >= 8 and _ANY_SYMBOL.search(line) and (n - len(line.translate(_DROP_SYMBOLS))) > 0.12 * n:
        return CODE
    if _code_ending(line) and not (line.rstrip().endswith(";") and GREEK_WORD.search(line)):
        return CODE  # (";" ends a Greek question)
    if n > LONG_LINE:
        return DOCUMENT
    return None


_line_kind = short_text_cache(_read_line_kind, LINE_CACHE, LINE_CACHE_CHARS)


def _code_ending(line: str) -> bool:
    return line.rstrip().endswith(_CODE_ENDINGS)


_PLACEHOLDERS = frozenset(PLACEHOLDER.values())


def _split_material(t: str, pasted: list[int], foreign: bool = False) -> str:
    """Own prose of a (capped) turn; pasted lines become one placeholder per block."""
    lines = t.split("\n")
    kinds = [None if not (bare := ln.strip()) or bare in _PLACEHOLDERS else _line_kind(ln)
             for ln in lines]
    if ERROR in kinds or LOG in kinds:  # else there is nothing to absorb
        _absorb_error_paragraphs(lines, kinds)
    # A short label line between two pasted lines belongs to the paste
    # ("Output:", a lone closing word).
    for i in range(1, len(lines) - 1):
        if (kinds[i] is None and kinds[i - 1] is not None and kinds[i + 1] is not None
                and len(lines[i]) <= 60 and lines[i].strip()):
            kinds[i] = kinds[i - 1]
    _mark_introduced_documents(lines, kinds, pasted, foreign)
    if "\n\n" in t:
        _mark_bare_drafts(lines, kinds, foreign)
    out: list[str] = []
    block: list[int] = []
    chars = 0
    for ln, kind in zip(lines, kinds):
        if kind is None:
            if block and ln.strip():
                out.append(_close_block(block, chars, pasted))
                block, chars = [], 0
            if ln.strip():
                out.append(ln)
            continue
        chars += len(ln) + 1
        block.append(kind)
    if block:
        out.append(_close_block(block, chars, pasted))
    return _cap_own_prose(out, pasted)


def _close_block(block: list[int], chars: int, pasted: list[int]) -> str:
    """Count a pasted block as its most telling kind: the code lines of a
    traceback are part of the error output."""
    kind = _dominant(block)
    if kind not in (ERROR, LOG):
        # Mixed code and prose-like document lines: count by majority.
        kind = max(set(block), key=lambda k: (block.count(k), -_KIND_RANK.index(k)))
    pasted[kind] += chars
    return PLACEHOLDER[kind]


def _absorb_error_paragraphs(lines: list[str], kinds: list) -> None:
    """Tool output has odd lines ("! Problem while ...", " ^~~"); in a
    paragraph, the lines after an error line are error output too, except a
    question or a long prose line (the user talking again)."""
    start = 0
    n = len(lines)
    while start < n:
        while start < n and not lines[start].strip():
            start += 1
        end = start
        while end < n and lines[end].strip():
            end += 1
        first = next((i for i in range(start, end) if kinds[i] in (ERROR, LOG)), None)
        if first is not None:
            for i in range(first + 1, end):
                ln = lines[i].rstrip()
                if kinds[i] is None and not ln.endswith("?") and len(ln) <= 200:
                    kinds[i] = ERROR
        start = end


def _dominant(kinds: list[int]) -> int:
    present = set(kinds)
    for k in _KIND_RANK:
        if k in present:
            return k
    return DOCUMENT


def _mark_introduced_documents(lines: list[str], kinds: list, pasted: list[int], foreign: bool = False) -> None:
    """Text introduced by "...:" is the user's paste, not their words.

    "Summarize this: <article>" and "Here is my essay:\\n\\n<essay>" are the
    commonest real pastes. List items after the colon are the user's own
    instructions and are left alone; so is a short closing line.
    """
    n = len(lines)
    for i, ln in enumerate(lines):
        if kinds[i] is not None:
            continue
        s = ln.rstrip()
        colon = s.find(": ")
        if foreign:
            wide = s.find("：")  # the full-width colon
            if colon == -1 or 0 <= wide < colon:
                colon = wide
        if 0 < colon <= 200 and len(s) - colon > 200 and _intro(_last_clause(s[:colon]), foreign):
            # Same-line introduction: keep the introduction, drop the rest.
            pasted[DOCUMENT] += len(s) - colon - 1
            lines[i] = s[:colon + 1] + " <pasted>"
            kinds[i] = None
            continue
        if i == n - 1 or len(s) > 300 or not (s.endswith(":") or _announces(s) or (
                foreign and s.endswith("：") and INTRO_WORDS_ML.search(s))):
            continue  # (the last line introduces nothing)
        rest = [j for j in range(i + 1, n) if lines[j].strip() and kinds[j] is None
                and not LIST_ITEM.match(lines[j])]
        # A question or instruction to the assistant after the colon is the
        # user's own request ("My question:\n how do I ...?").
        if any(lines[j].rstrip().endswith(("?", "？") if foreign else "?") or _addresses(lines[j], foreign)
               for j in rest[:3]):
            continue
        if len(rest) < 1 or sum(len(lines[j]) for j in rest) < INTRODUCED_MIN:
            continue
        last = rest[-1]
        if len(rest) >= 3 and len(lines[last]) <= 150:
            rest = rest[:-1]  # the closing instruction ("Make it shorter.")
        for j in rest:
            kinds[j] = DOCUMENT
        return


def _announces(line: str) -> bool:
    """`ANNOUNCES_MATERIAL.search`, skipped when an ASCII line (where ignoring
    case is lowercasing) holds none of the phrases' words."""
    if line.isascii():
        low = line.lower()
        if "below" not in low and "following" not in low and "this " not in low:
            return False
    return bool(ANNOUNCES_MATERIAL.search(line))


def _mark_bare_drafts(lines: list[str], kinds: list, foreign: bool = False) -> None:
    """A long paragraph next to a short instruction paragraph is a draft.

    "shorten\n\n<three paragraphs>" pastes text without introducing it; the
    long paragraph is the user's own words only if it addresses the assistant.
    """
    paras: list[list[int]] = []
    cur: list[int] = []
    for i, ln in enumerate(lines):
        if ln.strip() and kinds[i] is None:
            cur.append(i)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    if len(paras) < 2:
        return
    sizes = [sum(len(lines[i]) for i in p) for p in paras]
    if min(sizes) > SHORT_PARAGRAPH:
        return
    for p, size in zip(paras, sizes):
        if size >= LONG_PARAGRAPH and not any(_addresses(lines[i], foreign) for i in p):
            for i in p:
                kinds[i] = DOCUMENT


def _last_clause(text: str) -> str:
    cut = max(text.rfind(". "), text.rfind("? "), text.rfind("! "))
    return text[cut + 1:]


def _cap_own_prose(out: list[str], pasted: list[int]) -> str:
    """Very long prose is mostly pasted: keep the first and a short last paragraph."""
    total = sum(len(x) for x in out)
    if total <= OWN_PROSE_CAP:
        return "\n".join(out)
    keep_first = out[0]
    if len(keep_first) > OWN_PROSE_CAP:
        pasted[DOCUMENT] += len(keep_first) - 600
        keep_first = keep_first[:600]
    kept = [keep_first]
    middle = out[1:]
    tail = None
    if middle and len(middle[-1]) <= 300:
        tail = middle.pop()
    if middle:
        pasted[DOCUMENT] += sum(len(x) for x in middle if not x.startswith("<"))
        kept.append("<pasted>")
    if tail is not None:
        kept.append(tail)
    return "\n".join(kept)


def _inline(prose: str):
    """Placeholders for inline material; measure capitals before names go."""
    n_list = len(LIST_ITEM.findall(prose)) if "\n" in prose else 0
    if "<" in prose or "&" in prose:
        prose = _strip_html(prose)
    if "`" in prose:
        prose = INLINE_CODE.sub(" <code> ", prose)
    if "://" in prose or "www." in prose:
        prose = URL.sub(" <url> ", prose)
    if "@" in prose:
        prose = EMAIL.sub(" <email> ", prose)
    if "/" in prose or ":\\" in prose:
        prose = ABS_PATH.sub(" <path> ", prose)
    if "." in prose and _DOT_WORD.search(prose) and FILE_EXT_HINT.search(prose):
        prose = FILE_NAME.sub(" <path> ", prose)
    if '"' in prose or "“" in prose or " '" in prose or prose.startswith("'") or "«" in prose:
        prose = QUOTED.sub(" <quote> ", prose)
        prose = OPEN_QUOTE.sub(" <quote> ", prose)
    if "_" in prose:
        prose = SNAKE.sub(" <code> ", prose)
    if CAMEL_HINT.search(prose):
        prose = CAMEL.sub(" <code> ", prose)
    if "." in prose and _DOT_WORD.search(prose) and DOTTED_HINT.search(prose):
        prose = DOTTED.sub(" <code> ", prose)
    if "()" in prose:
        prose = CALL.sub(" <code> ", prose)
    if _DIGIT.search(prose):
        prose = NUMBER.sub(" <number> ", prose)
    words = ALPHA_WORD.findall(prose[:3000])
    caps = sum(map(str.isupper, words))
    shouting = is_shouting(words, caps)
    if not shouting and caps:
        # In a calm turn capitals are acronyms (topic), not volume.
        prose = ACRONYM.sub(_acronym, prose)
    if _NAME_HINT.search(prose):
        prose = NAME.sub(_name, prose)
    if "<" in prose:
        prose = PLACEHOLDER_RUN.sub(r"\1", prose)
    if "  " in prose or "\t" in prose:
        prose = SPACES.sub(" ", prose)
    return prose.strip(), caps, len(words), shouting, n_list


def is_shouting(words: list[str], caps: int | None = None) -> bool:
    """Most words in capitals, the longer ones too: short capitals alone are
    mostly registers, opcodes and acronyms of an unfenced paste (MOV AX, BX)."""
    if caps is None:
        caps = sum(1 for w in words if w.isupper())
    if caps < SHOUT_MIN_WORDS or caps < SHOUT_RATIO * len(words):
        return False
    long_words = [w for w in words if len(w) >= 4]
    if len(long_words) < SHOUT_MIN_WORDS:
        return True
    return sum(1 for w in long_words if w.isupper()) >= SHOUT_RATIO * len(long_words)


def _strip_html(prose: str) -> str:
    # Our own placeholders look like tags; protect them.
    return HTML_TAG.sub(lambda m: m.group(0) if m.group(0) in _OWN_TAGS else " ", prose)


_OWN_TAGS = frozenset(PLACEHOLDER.values()) | {"<url>", "<email>", "<path>", "<quote>", "<name>",
                                               "<number>"}


def _acronym(m: re.Match) -> str:
    return m.group(0) if m.group(0) in KEEP_CAPS else "<name>"


def _name(m: re.Match) -> str:
    words = m.group(0).split()
    # Leading cue words ("Thanks Bob") stay; the rest is a name.
    i = 0
    while i < len(words) and words[i].lower().strip(".,!?'’") in KEEP_CAPITALIZED:
        i += 1
    if i == len(words):
        return m.group(0)
    return " ".join(words[:i] + ["<name>"])
