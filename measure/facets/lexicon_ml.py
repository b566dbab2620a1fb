"""Short multilingual word lists for turns read as non-English.

English turns are never read with these lists (see `turns.analyse_turn`;
only language detection looks at the `FOREIGN_*` sets); a non-English turn
gets the same cue names as the English lexicon (`lexicon.py`) from these
lists instead, so its description uses the same behavioural vocabulary.

Languages: the top WildChat languages - Chinese (zh), Russian (ru), Spanish
(es), French (fr), German (de), Portuguese (pt), Italian (it), Japanese (ja),
Korean (ko), Turkish (tr), Ukrainian (uk), Polish (pl), Vietnamese (vi),
Indonesian (id), Arabic (ar) - plus English loanwords used in all of them
("ok", "thanks", "pls").

The lists are short and aim at precision over recall: a word that is often
something else in another of these languages is left out, or only counts
where it stands alone ("si", "ja", "好"). All matching runs on folded text
(`fold`): lowercased, accents stripped (users often type "continua",
"nao", "tesekkurler"), digits turned into `<number>`. Entries are folded the
same way when compiled, so they are written in their normal spelling.

- An entry without CJK, kana or Hangul is a sequence of whole words, matched
  on word boundaries; a trailing `*` matches any word ending (`спасиб*`).
- An entry with CJK, kana or Hangul is matched as a substring (these scripts
  do not separate words with spaces, and Korean attaches endings).
- `_RAW` holds the few substring patterns that need a look-around
  (`请` but not `申请`).
"""
from __future__ import annotations

import functools
import re
import unicodedata

from .._lazy import lazy_values

# ------------------------------------------------------------------ folding

_FOLD_MAP = str.maketrans({"’": "'", "‘": "'", "ı": "i", "ł": "l", "đ": "d", "\u0307": None,
                           "ё": "е"})
_MARKS = re.compile(r"[\u0300-\u036f\u064b-\u065f\u0670]")  # Latin/Greek/Cyrillic accents, Arabic vowels
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def fold(text: str) -> str:
    """Lowercase, strip accents (not from kana or Hangul), digits -> <number>."""
    s = text.lower().translate(_FOLD_MAP)
    if not s.isascii():
        s = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", s)))
    if any(c.isdigit() for c in s):
        s = _DIGITS.sub("<number>", s)
    return s


# Words, placeholders and sentence punctuation of a folded turn. A run of CJK
# characters is one "word" here; CJK entries are matched as substrings.
TOKEN = re.compile(r"<[a-z]+>|[^\W_]+(?:['-][^\W_]+)*|[?.!,;:¿¡？！。，、；：؟،…]")
PUNCT = "?.!,;:¿¡？！。，、；：؟،…"
PUNCT_RUN = re.compile(f"^(?: [{re.escape(PUNCT)}])+(?= )")  # leading punctuation tokens

_CJK_CHAR = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_UNSPACED = re.compile(f"[{_CJK_CHAR}]")


def tokens_text(tokens: list[str]) -> str:
    return " " + " ".join(tokens) + " "


# ----------------------------------------------------------- word counting

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_NO_SPACE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0e7f]+")
PLACEHOLDER = re.compile(r"<[a-z]+>")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
# Characters per English word-equivalent in scripts written without spaces
# (or, for Hangul, with long agglutinated words).
HAN_PER_WORD, KANA_PER_WORD, HANGUL_PER_WORD, THAI_PER_WORD = 1.5, 2.0, 2.5, 4.0


def word_equivalents(text: str) -> int:
    """Own words of a non-English text: spaced words count one each, CJK,
    kana, Hangul and Thai characters count by the characters-per-word ratios
    above. Placeholders are not words."""
    text = PLACEHOLDER.sub(" ", text)
    spaced = len(_WORD.findall(_NO_SPACE.sub(" ", text)))
    if text.isascii():
        return spaced
    x = (len(_HAN.findall(text)) / HAN_PER_WORD + len(_KANA.findall(text)) / KANA_PER_WORD
         + len(_HANGUL.findall(text)) / HANGUL_PER_WORD + len(_THAI.findall(text)) / THAI_PER_WORD)
    return spaced + int(x + 0.5)


# --------------------------------------------------------------- matchers

class Lexicon:
    """Entries of one category, compiled for folded text.

    `count(tt, s)` counts matches in a turn or sentence, given its tokens
    joined by spaces (`tt`, see `tokens_text`) and its folded text (`s`).
    `opens(tt, s)` says whether the text starts with an entry (after leading
    punctuation); `alone` entries must be followed by punctuation or the end.

    Patterns are built and compiled on first use: only turns read as
    non-English need them, and compiling all the lists is most of this
    module's import time.
    """

    def __init__(self, entries: tuple[str, ...], raw: tuple[str, ...] = (), alone: bool = False):
        self.entries, self.raw, self.alone = entries, raw, alone

    @functools.cached_property
    def spaced(self) -> str:
        """Alternation of the entries matched on word boundaries of the token text."""
        return self._alternations[0]

    @functools.cached_property
    def unspaced(self) -> str:
        """Alternation of the entries (and raw patterns) matched as substrings."""
        return self._alternations[1]

    @functools.cached_property
    def _alternations(self) -> tuple[str, str]:
        spaced, unspaced = [], list(self.raw)
        for e in self.entries:
            f = fold(e)
            if _UNSPACED.search(f):
                unspaced.append(re.escape(f))
            else:
                spaced.append(" ".join(re.escape(w[:-1]) + r"[^\s]*" if w.endswith("*") and len(w) > 1
                                       else re.escape(w) for w in f.split()))
        spaced.sort(key=len, reverse=True)
        unspaced.sort(key=len, reverse=True)
        return "|".join(spaced), "|".join(unspaced)

    @functools.cached_property
    def _end(self) -> str:
        return r"(?= [" + re.escape(PUNCT) + r"]| $)" if self.alone else r"(?= )"

    @functools.cached_property
    def tok(self) -> re.Pattern | None:
        return re.compile(f" (?:{self.spaced}){self._end}") if self.spaced else None

    @functools.cached_property
    def tok_open(self) -> re.Pattern | None:
        return re.compile(f"^ (?:{self.spaced}){self._end}") if self.spaced else None

    @functools.cached_property
    def sub(self) -> re.Pattern | None:
        un_end = r"(?=[\W_]|$)" if self.alone else ""
        return re.compile(f"(?:{self.unspaced}){un_end}") if self.unspaced else None

    @functools.cached_property
    def sub_open(self) -> re.Pattern | None:
        un_end = r"(?=[\W_]|$)" if self.alone else ""
        return re.compile(rf"^[\W_]*(?:{self.unspaced}){un_end}") if self.unspaced else None

    def count(self, tt: str, s: str) -> int:
        n = len(self.tok.findall(tt)) if self.tok is not None else 0
        if self.sub is not None and not s.isascii():
            n += len(self.sub.findall(s))
        return n

    def search(self, tt: str, s: str) -> bool:
        return bool((self.tok is not None and self.tok.search(tt))
                    or (self.sub is not None and not s.isascii() and self.sub.search(s)))

    def opens(self, tt: str, s: str) -> bool:
        if tt[1:2] in PUNCT:
            tt = PUNCT_RUN.sub("", tt)
        return bool((self.tok_open is not None and self.tok_open.match(tt))
                    or (self.sub_open is not None and not s.isascii() and self.sub_open.match(s)))


# ------------------------------------------------------------ cue lists
# Same category names as lexicon.CUES; each tuple lists languages in the
# order zh ru es fr de pt it ja ko tr uk pl vi id ar, then loanwords.

# "Shorter", "more formal": a requirement, and a pointer at the last answer.
_COMPARATIVES = (
    "更短", "更长", "更详细", "更简单", "更正式", "短一点", "长一点", "简单一点", "详细一点", "简短",
    "короче", "длиннее", "подробнее", "проще", "формальнее", "более формально", "más corto",
    "más largo", "más simple", "más detallado", "más formal", "más profesional", "plus court",
    "plus long", "plus simple", "plus détaillé", "plus formel", "plus professionnel", "kürzer",
    "länger", "einfacher", "ausführlicher", "formeller", "professioneller", "mais curto",
    "mais longo", "mais simples", "mais detalhado", "mais formal", "più breve", "più corto",
    "più lungo", "più semplice", "più dettagliato", "più formale", "もっと短く", "もっと長く",
    "もっと詳しく", "簡単に", "더 짧게", "더 길게", "더 자세히", "더 간단하게", "daha kısa",
    "daha uzun", "daha basit", "daha detaylı", "daha resmi", "krócej", "dłużej", "prościej",
    "krótsz*", "dłuższ*", "коротше", "довше", "простіше", "детальніше", "ngắn hơn", "dài hơn",
    "đơn giản hơn", "chi tiết hơn", "lebih pendek", "lebih panjang", "lebih sederhana",
    "lebih detail", "lebih singkat", "lebih formal", "أقصر", "أطول", "أبسط")

_CUE_ENTRIES: dict[str, tuple[str, ...]] = {
    "thank": (
        "谢谢", "多谢", "感谢", "谢啦", "谢了", "спасиб*", "благодар*", "спс", "gracias", "merci",
        "danke*", "vielen dank", "obrigad*", "valeu", "grazie", "ありがと", "有難う", "感謝", "サンキュー",
        "감사", "고마", "고맙", "teşekkür*", "tesekkur*", "sağ ol", "sağol", "eyvallah", "dziękuję",
        "dzięki", "дякую", "спасибі", "cảm ơn", "cám ơn", "terima kasih", "makasih", "trims",
        "شكرا", "شكرًا", "thanks", "thank you", "thx", "tysm"),
    "please": (
        "пожалуйста", "плиз", "пж", "пжл", "por favor", "porfa", "porfavor", "s'il te plait",
        "s'il vous plait", "stp", "svp", "bitte", "per favore", "per piacere", "ください", "下さい",
        "お願い", "주세요", "부탁", "lütfen", "proszę", "будь ласка", "vui lòng", "làm ơn", "tolong",
        "mohon", "من فضلك", "لو سمحت", "please", "pls", "plz"),
    "sorry": (
        "对不起", "抱歉", "不好意思", "извини*", "прости*", "perdón", "lo siento", "disculpa*",
        "désolé*", "entschuldig*", "desculp*", "scusa*", "mi dispiace", "すみません", "ごめん", "申し訳",
        "죄송", "미안", "özür", "przepraszam", "вибач*", "xin lỗi", "maaf", "آسف", "عذرا", "sorry"),
    "goodbye": (
        "再见", "拜拜", "回头见", "晚安", "пока", "до свидания", "всего доброго", "до встречи",
        "спокойной ночи", "adiós", "hasta luego", "hasta pronto", "nos vemos", "buenas noches",
        "au revoir", "à bientôt", "bonne journée", "bonne soirée", "bonne nuit", "tschüss", "tschüs",
        "auf wiedersehen", "bis bald", "bis später", "gute nacht", "tchau", "até logo", "até mais",
        "boa noite", "arrivederci", "a presto", "buona giornata", "buona serata", "buonanotte",
        "さようなら", "またね", "おやすみ", "안녕히", "잘 가", "또 봐", "hoşça kal", "görüşürüz",
        "iyi geceler", "iyi günler", "do widzenia", "do zobaczenia", "dobranoc", "бувай",
        "до побачення", "tạm biệt", "hẹn gặp lại", "sampai jumpa", "selamat tinggal", "مع السلامة",
        "وداعا", "bye", "goodbye", "bye bye"),
    # Praise or acceptance of the last answer. Words that also end a negation
    # ("работает" in "не работает") are left out.
    "validate": (
        "完美", "太好了", "很好", "非常好", "不错", "好极了", "很棒", "太棒", "厉害", "没问题", "正是",
        "отлично", "супер", "классно", "круто", "прекрасно", "замечательно", "идеально", "то что нужно",
        "получилось", "сработало", "заработало", "perfecto", "genial", "excelente", "muy bien",
        "buenísimo", "me encanta", "funcionó", "parfait", "génial", "excellent", "très bien", "c'est bon",
        "perfekt", "super", "toll", "prima", "sehr gut", "klasse", "funcionou", "ha funzionato",
        "işe yaradı", "zadziałało", "спрацювало", "berhasil", "được rồi", "perfeito", "ótimo", "excelente",
        "muito bom",
        "muito bem", "perfetto", "ottimo", "eccellente", "molto bene", "fantastico", "完璧",
        "素晴らしい", "すばらしい", "いいですね", "良いですね", "最高", "助かり", "완벽", "좋아요",
        "좋네요", "훌륭", "최고", "잘했", "mükemmel", "harika", "süper", "çok iyi", "świetnie",
        "doskonale", "idealnie", "bardzo dobrze", "чудово", "відмінно", "ідеально", "класно",
        "tuyệt vời", "tuyệt", "hay quá", "quá hay", "hoàn hảo", "rất tốt", "tốt lắm", "sempurna", "bagus",
        "mantap", "keren",
        "hebat", "ممتاز", "رائع", "perfect", "great", "awesome", "nice", "cool"),
    # Corrections that need no context ("that's not what I asked").
    "correct": (
        "不对", "错了", "不正确", "你错", "搞错", "弄错", "不是这个", "不是这样", "我说的是", "我的意思是",
        "理解错", "你忘了", "неправильно", "неверно", "это не то", "не то ,", "не то .", "не то !",
        "совсем не то", "это не так", "не так ,", "не так !", "не так .", "ты ошиб*",
        "я имел в виду", "я имела в виду", "ты не понял*", "ты забыл*", "está mal",
        "no es correcto", "incorrecto", "eso no es", "no es lo que", "te equivoca*", "me refería",
        "quise decir", "no entendiste", "olvidaste", "c'est faux", "c'est pas ça", "ce n'est pas ça",
        "incorrect", "tu t'es trompé", "tu te trompes", "je voulais dire", "tu as oublié", "falsch",
        "das ist nicht", "nicht richtig", "stimmt nicht", "ich meinte", "du hast vergessen",
        "está errado", "errado", "incorreto", "não é isso", "não está certo", "você errou",
        "eu quis dizer", "você esqueceu", "sbagliato", "non è corretto", "non è giusto",
        "ti sei sbagliato", "intendevo", "hai dimenticato", "違う", "違います", "ちがう", "間違",
        "そうじゃな", "じゃなくて", "틀렸", "틀려", "아니야", "아니에요", "잘못", "그게 아니", "내 말은",
        "yanlış", "hatalı", "öyle değil", "demek istediğim", "unuttun", "źle", "błędnie",
        "niepoprawnie", "nieprawda", "to nie to", "miałem na myśli", "chodziło mi", "zapomniałeś",
        "pomyliłeś", "невірно", "це не те", "не те ,", "не те .", "я мав на увазі", "ти помилив*", "ти забув",
        "sai rồi", "không đúng", "bạn sai", "ý tôi là", "bạn quên", "salah", "tidak benar",
        "bukan itu", "maksud saya", "maksudku", "kamu lupa", "keliru", "غير صحيح", "ليس هذا", "أقصد",
        "قصدت", "wrong"),
    # Corrections only when the turn opens with a negation ("no, use X instead").
    "correct_weak": (
        "而不是", "应该是", "应该", "вместо", "я просил*", "должно быть", "должен быть", "en lugar de", "en vez de",
        "debería ser", "debe ser", "au lieu de", "devrait être", "statt", "anstatt", "sollte",
        "em vez de", "ao invés de", "deveria ser", "invece di", "dovrebbe essere", "ではなく", "대신",
        "아니라", "yerine", "olmalı", "zamiast", "powinno być", "замість", "має бути", "thay vì",
        "phải là", "seharusnya", "bukan", "بدلا من", "instead"),
    "reject": (
        "算了", "没用", "重新来", "重来", "胡说", "бесполезн*", "ерунда", "чушь", "забудь", "начни заново",
        "olvídalo", "no sirve", "inútil", "empieza de nuevo", "laisse tomber", "inutile", "n'importe quoi",
        "vergiss es", "nutzlos", "unsinn", "quatsch", "esquece", "não serve", "lascia perdere",
        "もういい", "意味がない", "됐어", "필요 없어", "boş ver", "işe yaramaz", "nieważne", "bez sensu",
        "марно", "нісенітниця", "bỏ qua", "vô dụng", "lupakan", "tidak berguna", "لا فائدة",
        "useless", "nonsense"),
    # A failure report, whatever the domain.
    "error_report": (
        "报错", "出错", "运行不了", "不能运行", "不工作", "不起作用", "не работает", "не запускается",
        "выдает ошибку", "выдаёт ошибку", "не работает", "no funciona", "da error", "me da error",
        "sigue sin funcionar", "ne marche pas", "ne fonctionne pas", "marche pas", "marche toujours pas",
        "fonctionne toujours pas", "funktioniert nicht", "funktioniert immer noch nicht",
        "não funciona", "deu erro", "dá erro", "non funziona", "da errore",
        "動かない", "動きません", "エラーが出", "작동하지 않", "안 돼", "안돼", "오류가", "에러가",
        "çalışmıyor", "hata veriyor", "nie działa", "не працює", "không hoạt động", "không chạy",
        "bị lỗi", "tidak berfungsi", "tidak bekerja", "tidak jalan", "لا يعمل", "не получилось",
        "не сработало", "no funcionó", "não funcionou", "non ha funzionato", "nie zadziałało",
        "не спрацювало", "没成功", "失败了", "doesn't work", "not working"),
    # Error words that report a failure only next to pasted error output.
    "error_word": (
        "错误", "ошибк*", "error", "errores", "erreur*", "fehler*", "erro", "errore", "エラー", "오류",
        "에러", "hata*", "błąd*", "помилк*", "lỗi", "galat", "خطأ", "exception", "traceback"),
    "still_short": (
        "还是太", "还是不", "仍然", "依然", "всё ещё", "все еще", "по-прежнему", "sigue siendo",
        "sigue sin", "todavía no", "aún no", "toujours pas", "toujours trop", "encore trop",
        "immer noch", "noch immer", "ainda não", "ainda está", "ancora troppo", "ancora non",
        "여전히", "아직도", "hala", "hâlâ", "nadal", "wciąż", "досі", "все ще", "vẫn còn", "vẫn chưa",
        "vẫn không", "masih terlalu", "masih belum", "masih tidak", "لا يزال"),
    # Explicit "here is something I did not say yet".
    "increment": (
        "顺便", "另外", "此外", "补充", "кстати", "забыл сказать", "забыла сказать", "por cierto",
        "además", "au fait", "de plus", "en plus", "übrigens", "außerdem", "a propósito", "aliás",
        "além disso", "tra l'altro", "inoltre", "ちなみに", "それと", "참고로", "그리고 또", "bu arada",
        "ayrıca", "przy okazji", "ponadto", "до речі", "крім того", "nhân tiện", "ngoài ra",
        "ngomong-ngomong", "omong-omong", "selain itu", "بالمناسبة", "إضافة إلى", "btw", "by the way"),
    "increment_weak": (
        "также", "тоже", "también", "aussi", "auch", "também", "anche", "também", "też", "także",
        "також", "cũng", "juga", "أيضا", "also"),
    # Requirements on the output: length units, limits, comparatives, "without", "only".
    "constraint": (
        "字以内", "不超过", "以内", "至少", "必须", "不要", "要求", "格式", "字数", "详细",
        "<number> слов*", "не более", "не менее", "не больше", "только", "без", "<number> palabras",
        "máximo", "mínimo", "solo", "sin", "<number> mots", "maximum", "minimum", "au moins",
        "seulement", "uniquement", "sans", "<number> wörter", "<number> wörtern", "maximal",
        "mindestens", "höchstens", "nur", "ohne", "<number> palavras", "no máximo", "no mínimo",
        "apenas", "somente", "sem", "<number> parole", "al massimo", "almeno", "soltanto", "senza",
        "文字以内", "以内で", "必ず", "のみ", "<number>자", "이내", "반드시", "없이", "<number> kelime",
        "en az", "en fazla", "sadece", "olmadan", "<number> słów", "co najmniej", "maksymalnie",
        "tylko", "bez", "<number> слів", "не більше", "тільки", "лише", "<number> từ", "tối đa",
        "ít nhất", "chỉ", "không dùng", "<number> kata", "maksimal", "minimal", "hanya", "tanpa",
        "<number> كلمة", "فقط", "بدون", "<number> words",
        # "use X" (a constraint in English too)
        "используй*", "usa", "utilise", "utilisez", "verwende", "benutze", "utilize", "kullan",
        "użyj", "використовуй", "dùng", "gunakan", "استخدم") + _COMPARATIVES,
    "intent": (
        "我想", "我需要", "我要", "я хочу", "хочу", "мне нужн*", "мне надо", "quiero", "necesito",
        "me gustaría", "je veux", "je voudrais", "j'ai besoin", "ich möchte", "ich brauche",
        "ich will", "eu quero", "quero", "preciso", "gostaria", "voglio", "vorrei", "ho bisogno",
        "したい", "欲しい", "ほしい", "고 싶", "필요해", "필요합니다", "istiyorum", "lazım",
        "ihtiyacım", "chcę", "potrzebuję", "chciałbym", "chciałabym", "хочу", "мені потрібн*", "tôi muốn",
        "tôi cần", "mình muốn", "mình cần", "saya ingin", "saya mau", "saya perlu", "aku mau",
        "aku ingin", "أريد", "أحتاج", "احتاج", "i want", "i need",
        # "help me" (an intent in English too)
        "帮我", "помоги мне", "ayúdame", "aide-moi", "aidez-moi", "hilf mir", "helfen sie mir", "me ajude",
        "aiutami", "手伝って", "도와줘", "도와주세요", "yardım et", "pomóż mi", "допоможи мені", "giúp tôi",
        "giúp mình", "bantu saya", "ساعدني", "help me"),
    "alts": (
        "换一个", "再来一个", "换个", "另一个", "其他的", "再写一个", "别的", "другой вариант",
        "другие варианты", "ещё вариант*", "еще вариант*", "другую версию", "otra opción",
        "otras opciones", "otra versión", "más opciones", "alternativa*", "une autre", "un autre",
        "autres options", "d'autres", "alternatives", "eine andere", "einen anderen", "andere optionen",
        "alternative*", "noch eine", "outra opção", "outras opções", "outra versão", "mais opções",
        "un'altra", "un altro", "altre opzioni", "altre idee", "別の", "他の案", "もう一つ", "ほかの",
        "다른 버전", "다른 거", "다른 것", "다른 방법", "başka bir", "farklı bir", "alternatif*",
        "inną wersję", "inne opcje", "alternatyw*", "інший варіант", "інші варіанти", "cách khác",
        "phiên bản khác", "cái khác", "yang lain", "versi lain", "opsi lain", "بديل", "خيار آخر",
        "نسخة أخرى", "another", "other options"),
    "select": (
        "选第", "就用第", "вариант <number>", "первый вариант", "второй вариант", "opción <number>",
        "la primera", "option <number>", "variante <number>", "opção <number>", "opzione <number>",
        "番目の", "번째 거", "번째로", "seçenek <number>", "opcja <number>", "варіант <number>",
        "lựa chọn <number>", "pilihan <number>", "الخيار <number>"),
    "hedge": (
        "也许", "或许", "может быть", "возможно", "quizás", "quizá", "tal vez", "peut-être", "vielleicht",
        "talvez", "forse", "もしかして", "혹시", "belki", "можливо", "có lẽ", "mungkin", "ربما"),
    # Say-it-like-this frames asking for a role.
    "roleplay": (
        "你是一个", "你是一名", "你现在是", "假设你是", "扮演", "представь что ты", "представь, что ты",
        "веди себя как", "притворись", "сыграй роль", "в роли", "actúa como", "finge ser",
        "imagina que eres", "eres un", "eres una", "agis comme", "agis en tant que",
        "imagine que tu es", "tu es un", "tu es une", "joue le rôle", "du bist ein", "du bist eine",
        "stell dir vor", "verhalte dich wie", "agiere als", "aja como", "finja ser", "você é um",
        "você é uma", "atue como", "agisci come", "fingi di essere", "sei un", "sei una",
        "immagina di essere", "comportati come", "として振る舞", "なりきって", "のふりをして",
        "ロールプレイ", "役を演じ", "역할을", "인 척", "너는 이제", "당신은 이제", "gibi davran",
        "rolünü oyna", "sen bir", "wciel się", "udawaj", "zachowuj się jak", "уяви що ти",
        "виступай як", "зіграй роль", "đóng vai", "giả vờ", "bạn là một", "berperan sebagai",
        "bertindak sebagai", "kamu adalah", "تصرف", "تظاهر", "أنت الآن", "act as", "roleplay",
        "role play", "role-play"),
    "slang": (
        "哈哈", "лол", "ахах*", "хаха*", "jaja*", "jeje*", "mdr", "ptdr", "kkk*", "rsrs*",
        "www", "ㅋㅋ", "ㅎㅎ", "wkwk*", "хах*", "lol", "lmao", "haha*", "xd", "omg"),
    "casual": (
        "ок", "окей", "норм", "ага", "ну", "vale", "ouais", "bah", "halt", "krass", "beleza", "boh",
        "abi", "kanka", "spoko", "ziom", "nhé", "nha", "gak", "nggak", "sih", "deh", "banget", "gw",
        "gue", "ok", "okay"),
    "frustrated": (
        "我已经说过", "说了多少遍", "说了多少次", "怎么又", "я же сказал*", "я уже сказал*", "сколько можно",
        "бесит", "ya te dije", "je t'ai déjà dit", "ich habe doch gesagt", "ich hab doch gesagt",
        "já falei", "já disse", "te l'ho già detto", "何度も", "いい加減", "몇 번", "짜증", "kaç kere",
        "już mówiłem", "ile razy", "я ж казав", "скільки можна", "đã nói rồi", "bao nhiêu lần",
        "sudah saya bilang", "udah dibilang", "berapa kali", "قلت لك", "wtf"),
    "urgent": (
        "紧急", "急用", "尽快", "срочно", "urgente", "urgent", "dringend", "sofort", "urgentemente",
        "至急", "急いで", "급해", "급합니다", "acil", "pilne", "терміново", "khẩn cấp", "gấp", "segera",
        "عاجل", "asap"),
    "formal": (
        "此致", "敬请", "您好", "уважаем*", "с уважением", "estimado", "estimada", "cordialmente",
        "atentamente", "cordialement", "sehr geehrte*", "mit freundlichen grüßen", "prezado", "prezada",
        "atenciosamente", "distinti saluti", "gentile", "拝啓", "敬具", "saygılarımla", "szanown*",
        "z poważaniem", "шановн*", "з повагою", "kính gửi", "trân trọng", "dengan hormat",
        "hormat saya", "تحياتي", "regards"),
    "social": (
        "你好吗", "最近怎么样", "как дела", "как ты", "cómo estás", "qué tal", "comment ça va",
        "comment vas-tu", "wie geht", "como vai", "tudo bem", "come stai", "元気", "잘 지내",
        "nasılsın", "jak się masz", "як справи", "bạn khỏe không", "apa kabar", "كيف حالك"),
    # Continue words anywhere (a turn that only says one is `continue_only`).
    "continue": (
        "继续", "接着写", "接着说", "продолж*", "continúa", "continua", "continuar", "sigue", "prosigue",
        "continue", "continuez", "la suite", "weiter", "mach weiter", "fahre fort", "fortsetzen",
        "prossiga", "vai avanti", "prosegui", "続けて", "続き", "つづけて", "계속", "이어서", "devam",
        "kontynuuj", "ciąg dalszy", "продовж*", "далі", "tiếp tục", "viết tiếp", "lanjut*",
        "teruskan", "استمر", "أكمل", "اكمل", "تابع", "go on", "keep going"),
    # Words that point back at the previous answer: pronouns, "again", "too
    # long", comparatives, and verbs that revise what is there ("shorten",
    # "add", "remove"). Pro-drop languages often say only the verb.
    "anaphora": (
        "这个", "那个", "上面", "刚才", "之前", "它", "这段", "这篇", "太长", "太短", "太多", "太少",
        "加上", "添加", "去掉", "删掉", "删除", "改成", "换成", "缩短", "改写", "重写", "修改", "改一下",
        "精简", "это", "этот", "эту", "эти", "его", "её", "их", "выше", "снова", "ещё раз", "еще раз",
        "опять", "слишком", "сократи", "перепиши", "исправь", "переделай", "дополни", "добавь",
        "убери", "удали", "замени", "измени", "поменяй", "esto", "eso", "este", "anterior",
        "arriba", "de nuevo", "otra vez", "demasiado", "acórtalo", "reescribe", "corrige", "añade",
        "agrega", "quita", "elimina", "cambia", "ça", "cela", "ceci", "précédent*", "ci-dessus",
        "encore", "de nouveau", "trop", "raccourcis", "réécris", "ajoute", "enlève", "supprime",
        "remplace", "change", "das", "dies", "diese*", "oben", "vorherige*", "nochmal",
        "noch einmal", "wieder", "kürze", "korrigiere", "füge", "entferne", "ändere", "ersetze",
        "isso", "isto", "esse", "essa", "acima", "de novo", "novamente", "demais", "encurte",
        "reescreva", "corrija", "adicione", "acrescente", "remova", "tire", "mude", "troque",
        "questo", "questa", "quello", "sopra", "precedente", "di nuovo", "troppo", "accorcia",
        "riscrivi", "correggi", "aggiungi", "togli", "rimuovi", "sostituisci", "これ", "それ", "上記",
        "さっき", "先ほど", "もう一度", "もっと", "すぎ", "短縮", "書き直", "修正", "追加", "削除", "変えて",
        "이거", "그거", "이것", "그것", "위의", "다시", "좀 더", "너무", "줄여", "수정", "추가", "빼", "바꿔",
        "bunu", "şunu", "onu", "yukarıdaki", "önceki", "tekrar", "yeniden", "fazla", "kısalt",
        "düzelt", "ekle", "çıkar", "değiştir", "tego", "ten", "powyżej", "poprzedni*",
        "jeszcze raz", "ponownie", "zbyt", "skróć", "przepisz", "popraw", "dodaj", "usuń", "zmień",
        "zamień", "це", "цей", "цю", "його", "її", "вище", "знову", "занадто", "скороти", "виправ",
        "додай", "прибери", "видали", "зміни", "cái này", "đoạn này", "bài này", "cái đó", "điều đó",
        "ở trên", "lại", "rút gọn", "viết lại", "sửa", "thêm", "xóa", "ini", "itu", "tersebut", "di atas", "lagi",
        "terlalu", "persingkat", "tulis ulang", "perbaiki", "tambahkan", "hapus", "ubah", "ganti",
        "هذا", "هذه", "ذلك", "السابق", "أعلاه", "مرة أخرى", "اختصر", "صحح", "أضف", "احذف",
        # object pronouns attached to the verb
        "hacerlo", "hazlo", "escríbelo", "reescríbelo", "mejóralo", "cámbialo", "acórtalo", "ponlo",
        "fais-le", "rends-le", "réécris-le", "refais-le", "rendilo", "fallo", "riscrivilo", "rifallo",
        "faça-o", "reescreva-o") + _COMPARATIVES,
    "followup": (
        "为什么", "如果", "那么", "почему", "зачем", "а если", "por qué", "y si", "pourquoi", "et si",
        "warum", "wieso", "und wenn", "por que", "e se", "perché", "なぜ", "どうして", "もし", "왜",
        "만약", "neden", "niye", "peki", "dlaczego", "a jeśli", "чому", "а якщо", "tại sao", "vì sao",
        "mengapa", "kenapa", "bagaimana kalau", "لماذا", "ماذا لو"),
}
# Substring patterns that need a look-around.
_RAW: dict[str, tuple[str, ...]] = {
    # 请 "please", not 申请 "apply", 邀请 "invite", 请求 "request", 请假 "leave".
    "please": (r"(?<![申邀聘提宴])请(?![求假客柬帖])", "麻烦", "劳驾"),
    # "500字", "500 文字", "300자": a length in characters or words.
    "constraint": (r"<number>\s*(?:个)?(?:字|词|文字|単語|자|단어|글자)",),
    # 再 "again", not 再见 "goodbye".
    "anaphora": (r"再(?!见)",),
}

CUES: dict[str, Lexicon] = {name: Lexicon(entries, _RAW.get(name, ())) for name, entries in _CUE_ENTRIES.items()}

# ----------------------------------------------------------------- openers

GREET = Lexicon((
    "你好", "您好", "嗨", "哈喽", "早上好", "下午好", "晚上好", "大家好", "привет*", "здравствуй*",
    "добрый день", "добрый вечер", "доброе утро", "доброй ночи", "hola", "buenos días", "buenas tardes",
    "buenas", "bonjour", "salut", "bonsoir", "coucou", "hallo", "guten tag", "guten morgen",
    "guten abend", "servus", "moin", "olá", "oi", "bom dia", "boa tarde", "ciao", "salve",
    "buongiorno", "buonasera", "こんにちは", "こんばんは", "おはよう", "merhaba", "selam",
    "günaydın", "cześć", "dzień dobry", "witam", "hej", "привіт*", "вітаю", "добрий день", "xin chào",
    "chào", "halo", "selamat pagi", "selamat siang", "selamat sore", "selamat malam", "مرحبا",
    "السلام عليكم", "اهلا", "أهلا", "hi", "hello", "hey", "hii*", "heyy*"),
    raw=(r"안녕(?!히)",))
# A turn that opens accepting: "ok", "好的", "хорошо", "vale", "d'accord".
AFFIRM = Lexicon((
    "好的", "好吧", "好啊", "是的", "没错", "明白", "了解", "嗯", "да", "ага", "ок", "окей", "хорошо",
    "ладно", "понял*", "согласен", "согласна", "верно", "точно", "vale", "claro", "de acuerdo",
    "perfecto", "exacto", "correcto", "dale", "oui", "ouais", "d'accord", "parfait", "exactement",
    "entendu", "très bien", "jawohl", "genau", "richtig", "stimmt", "alles klar", "einverstanden",
    "sim", "certo", "beleza", "exato", "tá bom", "ta bom", "va bene", "esatto", "giusto",
    "perfetto", "はい", "うん", "わかりました", "分かりました", "了解です", "オッケー", "응",
    "좋아", "알겠", "맞아", "evet", "tamam", "peki", "olur", "aynen", "dobrze", "jasne", "zgoda",
    "okej", "добре", "гаразд", "згоден", "згодна", "vâng", "dạ", "được", "đồng ý", "iya", "oke",
    "baik", "betul", "benar", "siap", "نعم", "حسنا", "تمام", "أجل", "صحيح", "ok", "okay", "okey",
    "yes", "sure", "super") + _CUE_ENTRIES["thank"], raw=(r"네(?=[\W_]|$|요)", r"예(?=[\W_]|$)"))
# Only when followed by punctuation or nothing: "si, ..." but not "si quieres".
AFFIRM_ALONE = Lexicon(("好", "对", "行", "可以", "si", "bien", "bon", "ja", "gut", "так", "tak", "ya",
                        "bene"), alone=True)
# A plain "no" or "wrong" opener.
NEGATE = Lexicon((
    "不对", "不是", "错了", "不行", "нет", "неправильно", "неверно", "incorrecto", "non", "nein", "nö",
    "falsch", "não", "いいえ", "違う", "ちがう", "아니", "아뇨", "틀렸", "hayır", "yanlış", "nie", "źle",
    "ні", "không", "tidak", "bukan", "salah", "enggak", "nggak", "gak", "لا", "no", "nope",
    "wrong"))
NEGATE_ALONE = Lexicon(("不", "错"), alone=True)
# Softer openers ("but", "wait", "actually", "don't"): a negation only with a correction cue.
SOFT_NEGATE = Lexicon((
    "但是", "可是", "等等", "其实", "不要", "别", "но", "подожди", "стоп", "вообще-то", "на самом деле",
    "pero", "espera", "en realidad", "mais", "attends", "en fait", "aber", "warte", "eigentlich",
    "moment", "mas", "na verdade", "ma", "aspetta", "in realtà", "でも", "待って", "実は", "근데",
    "그런데", "하지만", "잠깐", "ama", "fakat", "bekle", "aslında", "ale", "czekaj", "właściwie", "але",
    "зачекай", "nhưng", "khoan", "thật ra", "tapi", "tunggu", "sebenarnya", "لكن", "انتظر", "but",
    "wait", "actually"))
# A turn that only asks to go on ("продолжай", "继续", "sigue").
CONTINUE = Lexicon((
    "继续", "接着", "然后呢", "往下写", "продолж*", "дальше", "далее", "continúa", "continua", "continuar",
    "sigue", "prosigue", "continue", "continuez", "la suite", "weiter", "mach weiter", "fahre fort",
    "fortsetzen", "prossiga", "segue", "vai avanti", "prosegui", "続けて", "続き", "つづけて", "계속",
    "이어서", "devam", "kontynuuj", "dalej", "продовж*", "далі", "tiếp tục", "tiếp đi", "viết tiếp",
    "tiếp", "lanjut*", "teruskan", "استمر", "أكمل", "اكمل", "تابع", "go on", "next", "more"))
CONTINUE_ALONE = Lexicon(("ещё", "еще", "más", "plus", "mehr", "mais", "altro", "更多", "もっと", "더",
                          "daha", "więcej", "ще", "nữa", "lagi", "المزيد"), alone=True)

# Words skipped before the verb of an imperative ("пожалуйста, напиши",
# "ahora escribe", "那就写"): please, ok, now, then, and, again, greetings.
FILLERS = Lexicon((
    "请", "那", "那么", "那就", "现在", "然后", "好的", "麻烦", "接下来", "你", "您", "就", "帮忙", "再",
    "и", "а", "ну", "теперь", "ещё", "еще", "тогда", "так", "да", "ок", "окей", "хорошо", "ладно",
    "спасибо", "пожалуйста", "можешь", "y", "ahora", "bien", "vale", "bueno", "entonces", "también",
    "pues", "por favor", "gracias", "et", "maintenant", "alors", "bon", "merci", "aussi",
    "s'il te plait", "s'il vous plait", "und", "jetzt", "also", "dann", "bitte", "danke", "nun",
    "noch", "e", "agora", "então", "obrigado", "obrigada", "ora", "adesso", "allora", "per favore",
    "grazie", "anche", "şimdi", "tamam", "lütfen", "ve", "i", "teraz", "proszę", "dobrze", "і",
    "тепер", "будь ласка", "добре", "bây giờ", "vậy", "bạn", "hãy", "xin", "làm ơn", "vui lòng", "sekarang",
    "coba", "dan", "الآن", "و", "ok", "okay", "please", "pls", "now", "then", "and"))

# Verbs that open an imperative (and "let's"), per language. Checked at the
# start of a sentence or of a comma clause, after FILLERS.
IMPERATIVE_HEAD_ENTRIES = (
    # zh: a sentence that starts with a request verb.
    "写", "帮我", "帮", "给我", "给", "翻译", "解释", "生成", "总结", "改", "修改", "列出", "分析", "画",
    "做", "告诉", "介绍", "推荐", "优化", "重写", "继续", "说明", "描述", "计算", "编写", "设计", "创建",
    "提供", "举例", "举个", "讲", "回答", "检查", "润色", "扩写", "缩写", "整理", "我们来", "让我们",
    # ru
    "напиши*", "сделай*", "дай*", "объясни*", "помоги*", "переведи*", "создай*", "исправь*",
    "сократи*", "покажи*", "перечисли*", "продолжи*", "продолжай*", "опиши*", "расскажи*",
    "придумай*", "составь*", "перепиши*", "ответь*", "проверь*", "приведи*", "предложи*",
    "сгенерируй*", "используй*", "реши", "решите", "найди", "найдите", "добавь*", "убери*", "измени*", "давай*",
    "представь", "представьте",
    # es
    "escribe", "escríbeme", "escriba", "haz", "hazme", "haga", "dame", "dime", "explica", "explícame",
    "explique", "ayúdame", "ayuda", "hazlo", "hazla", "escríbelo", "escríbela", "reescríbelo", "acórtalo",
    "cámbialo", "explícalo", "tradúcelo", "corrígelo", "dámelo", "traduce", "traduzca", "crea", "créame",
    "genera", "corrige",
    "resume", "muéstrame", "muestra", "enumera", "describe", "cuéntame", "dale", "sigue", "continúa",
    "redacta", "vamos a", "usa", "utiliza", "añade", "agrega", "cambia", "quita", "responde", "proporciona",
    # fr
    "écris", "écris-moi", "écrivez", "fais", "fais-moi", "faites", "donne", "donne-moi", "donnez",
    "explique", "explique-moi", "expliquez", "aide-moi", "aidez-moi", "traduis", "traduisez", "crée",
    "créez", "génère", "corrige", "corrigez", "résume", "résumez", "montre-moi", "liste", "décris",
    "dis-moi", "rédige", "propose", "utilise", "utilisez", "ajoute", "continue", "continuez", "allons", "réponds",
    # de
    "schreib", "schreibe", "schreiben sie", "mach", "mache", "machen sie", "gib", "geben sie",
    "erkläre", "erklär", "erklären sie", "hilf", "helfen sie", "übersetze", "übersetzen sie",
    "erstelle", "erstellen sie", "korrigiere", "fasse", "zeig", "zeige", "nenne", "liste",
    "beschreibe", "formuliere", "lass uns", "verwende", "benutze", "füge", "ändere", "antworte",
    # pt
    "escreva", "escreve", "faça", "faz", "me dê", "me dá", "explique", "explica", "me ajude",
    "ajude", "ajuda", "traduza", "crie", "cria", "gere", "corrija", "resuma", "mostre", "liste",
    "descreva", "me diga", "diga", "conte", "continue", "continua", "vamos", "utilize", "adicione", "responda",
    # it
    "scrivi", "scrivimi", "fai", "fammi", "dammi", "dimmi", "spiega", "spiegami", "aiutami", "traduci",
    "crea", "genera", "correggi", "riassumi", "mostra", "mostrami", "elenca", "descrivi", "raccontami",
    "continua", "facciamo", "proviamo", "aggiungi", "rispondi",
    # tr (verb-first requests; verb-last ones are in IMPERATIVE_TAIL)
    "yaz", "yap", "ver", "açıkla", "çevir", "oluştur", "düzelt", "özetle", "göster", "anlat",
    "listele", "hazırla", "kullan", "hadi",
    # pl
    "napisz", "zrób", "daj", "wyjaśnij", "pomóż", "przetłumacz", "stwórz", "popraw", "podsumuj",
    "pokaż", "wymień", "kontynuuj", "opisz", "opowiedz", "podaj", "zaproponuj", "dodaj", "użyj", "zróbmy",
    "spróbujmy",
    # uk
    "напиши*", "зроби*", "дай*", "поясни*", "допоможи*", "переклади*", "створи*", "виправ*",
    "покажи*", "продовжуй*", "продовж*", "опиши*", "розкажи*", "придумай*", "склади*", "додай*",
    "використовуй*",
    # vi ("hãy", the imperative particle, folds to "hay" "good" and is a filler)
    "viết", "làm", "giải thích", "dịch", "tạo", "sửa", "tóm tắt", "liệt kê", "cho tôi",
    "giúp tôi", "giúp mình", "mô tả", "phân tích", "đưa ra", "kể", "trả lời", "cho mình", "dùng",
    # id
    "tulis", "tuliskan", "buat", "buatkan", "buatlah", "jelaskan", "bantu", "bantu saya",
    "terjemahkan", "berikan", "beri", "perbaiki", "ringkas", "ringkaskan", "sebutkan", "lanjutkan", "gunakan",
    "tolong", "carikan", "mari", "ayo",
    # ar
    "اكتب", "اشرح", "ساعدني", "ترجم", "اعطني", "أعطني", "لخص", "صحح", "اصنع", "انشئ", "أنشئ", "قم",
    "اذكر", "وضح", "أعد", "اعد", "حلل", "اقترح", "استخدم", "دعنا",
    # continue words
    "weiter", "계속", "이어서", "tiếp tục", "lanjut", "lanjutkan", "devam",
    # loanwords and English verbs in mixed turns
    "write", "make", "give", "explain", "fix", "create", "translate", "help", "generate", "continue",
    "rewrite", "summarize")
IMPERATIVE_HEAD = Lexicon(IMPERATIVE_HEAD_ENTRIES, raw=(r"用(?!户)",))
# Verbs that end a verb-final request (tr) or often end one (ru, uk, pl:
# "текст сократи").
IMPERATIVE_TAIL_ENTRIES = (
    "yaz", "yazın", "yap", "yapın", "verin", "açıkla", "açıklayın", "çevir", "oluştur", "düzelt",
    "özetle", "göster", "anlat", "listele", "hazırla", "et", "edin", "söyle", "bul", "напиши*",
    "сделай*", "дай*", "объясни*", "помоги*", "переведи*", "исправь*", "сократи*", "покажи*",
    "перепиши*", "продолжи*", "продолжай*", "зроби*", "поясни*", "допоможи*", "скороти*", "napisz",
    "zrób", "popraw", "skróć", "przepisz", "wyjaśnij")
IMPERATIVE_TAIL = Lexicon(IMPERATIVE_TAIL_ENTRIES)
# Request markers anywhere in a sentence, or as a sentence ending (ja, ko).
DIRECTIVE_MARK = Lexicon((
    "帮我", "给我", "请你", "请帮", "麻烦你", "帮忙", "替我", "我们来",
), raw=(
    r"(?:ください|下さい|くれ|ちょうだい|お願い(?:します)?|なさい|してほしい|して欲しい|しろ|せよ|して|いて|って|んで|えて|けて|せて|めて)[\W_]*$",
    r"(?<!안녕하)(?:주세요|주십시오|줘|줘요|줄래|하세요|십시오|시오|해라|하라|봐|봐요|알려줘)[\W_]*$",
))
# "Can you ...": a request phrased as a question.
COULD_YOU = Lexicon((
    "能不能", "能否", "可不可以", "你能", "您能", "你可以", "您可以", "можешь", "можете", "могли бы",
    "мог бы", "сможешь", "сможете", "puedes", "podrías", "podria", "podrias", "puede usted", "me puede",
    "peux-tu", "pouvez-vous", "pourrais-tu", "pourriez-vous", "tu peux", "vous pouvez", "tu pourrais",
    "kannst du", "könntest du", "können sie", "könnten sie", "você pode", "voce pode", "vc pode",
    "pode me", "poderia", "podes", "consegue", "puoi", "potresti", "può aiutarmi", "できますか",
    "もらえますか", "いただけますか", "くれますか", "もらえる", "くれない", "수 있나요", "수 있어",
    "줄 수", "주실 수", "해줄래", "해 줄래", "misin", "mısın", "musun", "müsün", "misiniz",
    "mısınız", "możesz", "mógłbyś", "mogłabyś", "możecie", "можеш", "могли б", "bạn có thể",
    "có thể giúp", "bisakah", "bisa tolong", "dapatkah", "bisa bantu", "هل يمكنك", "هل تستطيع",
    "ممكن", "can you", "could you"))
# Question words that open a question without "?".
QUESTION_HEAD = Lexicon((
    "为什么", "怎么", "如何", "什么是", "哪个", "哪些", "是否", "почему", "зачем", "сколько", "какой",
    "какая", "какие", "каков", "что", "как", "por qué", "cuál", "cuáles", "cuánto", "cuántos", "dónde",
    "pourquoi", "comment", "combien", "est-ce que", "qu'est-ce", "quel", "quelle", "quels", "quelles",
    "warum", "wieso", "weshalb", "wie viel", "wieviel", "welche", "welcher", "welches", "qual", "quais",
    "quanto", "onde", "perché", "quale", "quanti", "dove", "なぜ", "どうして", "どうやって", "どうすれば",
    "どうしたら", "왜", "어떻게",
    "무엇", "어디", "얼마", "neden", "niçin", "nasıl", "hangi", "nerede", "dlaczego", "ile", "gdzie",
    "który", "która", "które", "czy", "чому", "скільки", "який", "яка", "які", "тại sao", "vì sao",
    "làm sao", "làm thế nào", "mengapa", "kenapa", "bagaimana", "apakah", "berapa", "di mana", "siapa",
    "لماذا", "كيف", "ماذا", "هل", "أين", "متى", "كم"))
# Question particles at the end of a sentence (zh, ja, ko), and Vietnamese
# question words that end a question.
QUESTION_END = Lexicon((), raw=(r"(?:吗|呢|か|かな|까|까요|나요|니|냐)[\W_]*$",))
QUESTION_ANY = Lexicon(("được không", "phải không", "đúng không", "gì"), alone=True)
# First-person words: a sentence with one says something about the user.
SUBJECT = Lexicon((
    "我", "я", "мы", "меня", "мне", "у меня", "yo", "tengo", "estoy", "soy", "mi", "je", "j'ai", "nous",
    "mon", "ma", "mes", "ich", "wir", "mein", "meine", "eu", "meu", "minha", "tenho", "estou", "io",
    "ho", "sono", "mio", "mia", "私", "僕", "俺", "저는", "나는", "제가", "내가", "저의", "ben", "benim",
    "ja", "mam", "jestem", "mój", "moja", "ми", "мені", "tôi", "mình", "saya", "aku", "kami",
    "أنا", "لدي", "my", "we"))

# Courtesy anywhere in a sentence (thanks, apologies, goodbyes): a sentence
# of these and a few more words asks for nothing.
COURTESY_CUES = ("thank", "sorry", "goodbye")

# ------------------------------------------------- language detection aids

# Distinctive words of short turns ("gracias", "continua") that the English
# stopword test cannot judge (it needs three words). Greetings English
# speakers use too ("hola", "ciao") are left out.
FOREIGN_SHORT = frozenset(fold(w) for w in """
gracias merci danke dankeschön obrigado obrigada valeu grazie dziękuję dzięki teşekkürler teşekkür
sağol makasih olá merhaba cześć continúa continua sigue weiter
kontynuuj lanjut lanjutkan devam vale claro parfait perfecto perfeito perfetto genau sí oui nein não
tamam evet hayır dobrze bagus iya baik bitte prego lütfen proszę tolong adiós tschüss tchau
arrivederci porfavor porfa por siguiente otra otro más mais noch altro s'il plaît c'est pas je tu faux
est ist nicht isso é è está es questo d'accord ouais
""".split())
# Stopwords of languages the first detector does not know (tr, pl, vi, id)
# and accented stopwords of those it does (its tokens are ASCII only).
FOREIGN_STOPWORDS = frozenset(fold(w) for w in """
bir ve bu için ile çok daha gibi olarak nasıl değil şu benim nedir misin mısın lütfen olan
nie jest się że czy jak dla mnie już bardzo tylko jestem możesz proszę jako które
của và là có không cho với các những được tôi bạn một này để trong làm hãy viết gì như
yang dan dengan untuk tidak saya ada dari akan bisa kamu tolong bagaimana adalah juga atau seperti
karena buatkan jelaskan tentang lebih lagi sudah saja sangat jadi kalau harus
bana sana hakkında nedir şey
más está qué cómo también não você é são então è più perché für über können où très ça à
vous tu moi mon mes ce cette peux pouvez faire aussi donc puedes podrías hacer muy mi eso esto
kannst mir mein meine bitte sehr auch pode meu minha muito isso fazer puoi potresti mio mia molto
questo fare
""".split())

# Request verbs of the lists above that are not English words: evidence of
# a foreign turn as good as a stopword ("napisz o kocie", "bana bir hikaye yaz").
FOREIGN_VERBS = frozenset(
    e for e in (fold(x) for x in IMPERATIVE_HEAD_ENTRIES + IMPERATIVE_TAIL_ENTRIES)
    if " " not in e and "*" not in e and e.isalpha() and len(e) >= 3 and not _UNSPACED.search(e)
    and e not in {"propose", "resume", "dale", "hay", "mari", "tao", "conte", "sua"})

# ------------------------------------------------------ assistant replies

# A question in the user's language addressed to them (you-words, or a
# polite question ending in Japanese and Korean, which drop the pronoun).
ADDRESSED = Lexicon((
    "你", "您", "あなた", "ますか", "ですか", "でしょうか", "당신", "까요", "나요", "세요", "ты", "вы",
    "тебе", "вам", "тебя", "вас", "хочешь", "хотите", "предпочитаете", "предпочитаешь", "tú", "usted",
    "te", "quieres", "quiere", "prefieres", "prefiere", "deseas", "desea", "necesitas", "vous", "tu",
    "voulez", "veux", "préférez", "préfères", "souhaitez", "du", "sie", "dir", "ihnen", "möchtest",
    "möchten", "willst", "bevorzugst", "você", "voce", "vc", "quer", "prefere", "deseja", "gostaria",
    "vuoi", "vorresti", "desideri", "preferisci", "sen", "siz", "ister misin", "ister misiniz",
    "czy chcesz", "chcesz", "ci", "ти", "ви", "тобі", "хочеш", "bạn", "anda", "kamu", "أنت", "تريد",
    "هل"))
GENERIC_CLOSER = Lexicon((
    "如果还有", "还有什么", "其他问题", "随时", "需要帮助", "есть ли ещё", "есть ли еще", "если у вас есть",
    "если нужно", "обращайтесь", "algo más", "otra pregunta", "si necesitas", "n'hésitez pas",
    "autre question", "si vous avez", "weitere fragen", "sonst noch", "noch etwas", "algo mais",
    "outra pergunta", "se precisar", "qualcos'altro", "altre domande", "他に", "何かあれば", "다른 질문",
    "더 필요", "başka bir", "başka sorunuz", "coś jeszcze", "inne pytania", "ще щось", "інші питання",
    "còn gì", "câu hỏi khác", "ada lagi", "pertanyaan lain", "أي شيء آخر", "أسئلة أخرى"))

# ------------------------------------------------------- derived patterns

# A negation and the word after it: praise after "не", "no", "nicht" ("не
# получилось") is not praise, so validation is counted with these removed.
NEGATED = re.compile(r" (?:не|ни|no|ne|nicht|kein|nao|nie|ні|khong|chua|tidak|belum|non|not|degil|"
                     r"没|不) [^\s]+")


def _imperative_tail_end() -> re.Pattern:
    # An imperative at the end of a sentence, optionally followed by "please"
    # and punctuation ("текст сократи, пожалуйста").
    return re.compile(f" (?:{IMPERATIVE_TAIL.spaced})(?: (?:{CUES['please'].spaced}|"
                      f"[{re.escape(PUNCT)}]))* $")


# Built on first use, like the Lexicon patterns (module `__getattr__`).
__getattr__ = lazy_values(__name__, {"IMPERATIVE_TAIL_END": _imperative_tail_end}, globals())

CLAUSE_SPLIT = re.compile(r"[,，、;；:：،]")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？؟…])\s*|\n+")
GREEK = re.compile(r"[\u0370-\u03ff]")
# Letters of scripts with upper and lower case (Latin, Greek, Cyrillic).
CASED_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f]{2,}")
CASED_CHAR = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f]")
LETTER = re.compile(r"[^\W\d_]")
