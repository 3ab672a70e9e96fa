"""GPQA letters in other languages, against lighteval 0.13's multilingual extractive match as the oracle.

lighteval carries, per language, the answer word of its multilingual multiple-choice templates and an index
extractor (`IndicesExtractionConfig` over `TRANSLATION_LITERALS`). reasonlift reads the same answer words, in
every language at once (a response switches language mid-way, and nothing says which one it ends in).

1. The format the prompt asks for, "<answer word><colon> X", in every language lighteval has an answer word for:
   both must read X.
2. Invented natural endings in the languages R1-Distill drifts into: each is read as written, and every case
   where lighteval (told the right language) reads something else is listed with its reason.
"""

from __future__ import annotations

import pytest

from recipes.protocol.grader import grade

DONE = "Let me weigh the options.\n</think>\n\n"


def lighteval_letter(text: str, language) -> str | None:
    from lighteval.metrics.utils.extractive_match_utils import (
        IndicesExtractionConfig,
        extract_target_from_pred,
        get_extraction_regexes_inspect,
    )

    regexes = get_extraction_regexes_inspect(
        [IndicesExtractionConfig(prefix_for_extraction="Letters")], language, len_choices=4
    )
    found = extract_target_from_pred(
        text, regexes, fallback_mode="no_fallback", extraction_mode="first_match", timeout_seconds=5
    )
    return found[0] if found else None


def answer_literals() -> list[tuple[object, str, str]]:
    from lighteval.tasks.templates.utils.translation_literals import TRANSLATION_LITERALS

    found = []
    for language, literals in TRANSLATION_LITERALS.items():
        try:
            word, colon = literals.answer, literals.colon
        except AttributeError:  # lighteval raises for a literal it does not have
            continue
        if word:
            found.append((language, word, colon))
    return found


def test_the_prompts_format_in_every_language_lighteval_carries():
    literals = answer_literals()
    assert len(literals) >= 45
    disagree = []
    for number, (language, word, colon) in enumerate(literals):
        letter = "ABCD"[number % 4]
        for text in (f"{word.capitalize()}{colon} {letter}", f"{word}{colon} ({letter})"):
            ours = grade(DONE + text, letter, "letter").extracted
            theirs = lighteval_letter(text, language)
            if not (ours == theirs == letter):
                disagree.append((language.value, text, ours, theirs))
    assert disagree == []


# (response ending, the letter it chose, lighteval's language, what lighteval reads when it differs: reason)
ENDINGS = [
    ("答案：B", "B", "CHINESE", None),
    ("最终答案：C", "C", "CHINESE", None),
    ("答案是B。", "B", "CHINESE", None),
    ("正确答案是 (D)。", "D", "CHINESE", None),
    ("所以正确选项是 C。\n\n答案：C", "C", "CHINESE", None),
    ("答案：Ｂ", "B", "CHINESE", "full-width letter: lighteval reads none; reasonlift reads Ｂ as B"),
    ("答案：（Ａ）", "A", "CHINESE", "full-width letter: lighteval reads none; reasonlift reads Ａ as A"),
    ("Antwort: C", "C", "GERMAN", None),
    ("Endgültige Antwort: A", "A", "GERMAN", None),
    ("Die richtige Antwort ist B.", "B", "GERMAN", None),
    ("Réponse : D", "D", "FRENCH", None),
    ("La bonne réponse est C.", "C", "FRENCH", None),
    ("Respuesta: B", "B", "SPANISH", None),
    ("La respuesta correcta es la A.", "A", "SPANISH", None),
    ("Ответ: C", "C", "RUSSIAN", None),
    ("Правильный ответ — B.", "B", "RUSSIAN", None),
    ("Risposta: B", "B", "ITALIAN", None),
    ("Resposta: D", "D", "PORTUGUESE", None),
    ("答え：D", "D", "JAPANESE", "lighteval's Japanese answer word is 回答; 答え is the usual one"),
    (
        "正解は B です。",
        "B",
        "JAPANESE",
        "lighteval's Japanese answer word is 回答; 正解 (correct answer) is not it",
    ),
    # hedges: two options after the marker are no single answer; lighteval takes the first
    ("答案：B或C", None, "CHINESE", "a hedge: lighteval reads the first option, reasonlift none"),
    ("Antwort: B oder C", None, "GERMAN", "a hedge: lighteval reads the first option, reasonlift none"),
    ("Réponse : B ou D", None, "FRENCH", "a hedge: lighteval reads the first option, reasonlift none"),
]


@pytest.mark.parametrize(("ending", "letter", "language", "departure"), ENDINGS)
def test_natural_endings_in_other_languages(ending, letter, language, departure):
    from lighteval.utils.language import Language

    ours = grade(DONE + ending, letter or "A", "letter")
    assert ours.extracted == letter
    theirs = lighteval_letter(ending, Language[language])
    if departure is None:
        assert theirs == letter
    else:
        assert theirs != letter, f"no departure any more: {departure}"
