"""Entities in a caller's answer: yes / no / "I don't know", numbers, phone numbers."""

from __future__ import annotations

from speech.normalize import clean
from speech.numbers import PLUS_WORDS, REPEATERS, number_tokens

YES_NO_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "it": {
        "dont_know": ("non lo so", "non so", "boh", "non saprei", "non ne ho idea",
                      "non ricordo", "non mi ricordo", "non sono sicuro", "non sono sicura",
                      "forse"),
        "no": ("no", "non e giusto", "non e corretto", "non e cosi", "sbagliato", "sbagliata",
               "negativo", "per niente", "assolutamente no", "nient affatto", "non proprio",
               "non e quello", "nemmeno", "neanche"),
        "yes": ("si", "certo", "certamente", "esatto", "esattamente", "giusto", "va bene",
                "ok", "okay", "d accordo", "confermo", "corretto", "proprio cosi", "sicuro",
                "perfetto", "assolutamente", "appunto", "e giusto", "e cosi", "volentieri"),
    },
    "en": {
        "dont_know": ("i dont know", "dont know", "dunno", "not sure", "no idea",
                      "i cant remember", "i dont remember", "maybe", "im not sure"),
        "no": ("no", "nope", "nah", "not really", "thats wrong", "wrong", "incorrect",
               "not right", "thats not right", "negative", "not at all", "absolutely not",
               "no thanks", "no thank you"),
        "yes": ("yes", "yeah", "yep", "yup", "sure", "of course", "correct", "right",
                "thats right", "exactly", "ok", "okay", "alright", "absolutely", "indeed",
                "yes please", "i do", "that is it", "affirmative", "no problem",
                "not a problem", "no worries"),
    },
    "ko": {
        "dont_know": ("모르겠어요", "모르겠습니다", "잘 모르겠어요", "몰라요"),
        "no": ("아니요", "아니오", "아니", "아닙니다", "아니에요", "틀려요"),
        "yes": ("네", "예", "응", "맞아요", "맞습니다", "그래요", "좋아요"),
    },
}
"""Answers to a yes/no question, per language, in `clean` form (no accents)."""

CORRECTIONS: dict[str, tuple[str, ...]] = {
    "it": ("anzi", "cioe", "aspetti", "aspetta", "scusi", "scusa", "mi correggo",
           "volevo dire", "pardon", "ci ho ripensato"),
    "en": ("wait", "sorry", "actually", "i mean", "hang on", "hold on", "rather",
           "scratch that", "on second thoughts", "on second thought", "changed my mind"),
    "ko": ("잠깐", "잠깐만요", "정정할게요"),
}
"""Words with which a caller takes an answer back ("sì... anzi no")."""


def _phrase_spans(words: list[str], table: dict[str, tuple[str, ...]]) -> list[tuple[int, str]]:
    """(position, label) of every longest phrase found, scanning left to right."""
    phrases = sorted(((tuple(p.split()), label) for label, ps in table.items() for p in ps),
                     key=lambda item: -len(item[0]))
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(words):
        for phrase, label in phrases:
            if tuple(words[i:i + len(phrase)]) == phrase:
                found.append((i, label))
                i += len(phrase)
                break
        else:
            i += 1
    return found


def parse_yes_no(text: str, lang: str) -> str | None:
    """"yes", "no", "dont_know" or None for an answer to a yes/no question.

    Longer phrases win over the words inside them ("non lo so" is not "no", "no problem" is
    yes); when a caller takes an answer back ("sì... anzi no", "yes, sorry, no") the last
    answer counts, and both answers with nothing that takes one back are no answer.
    """
    table = YES_NO_PHRASES.get(lang)
    if table is None or not text:
        return None
    words = clean(text, lang).split()
    spans = _phrase_spans(words, table)
    if not spans:
        return None
    answers = {label for _, label in spans if label in ("yes", "no")}
    if len(answers) > 1 and not _phrase_spans(words[spans[0][0]:],
                                              {"correction": CORRECTIONS.get(lang, ())}):
        # "yes no" with nothing that takes one back: a misheard line (a recogniser held to
        # a yes/no grammar turns noise into "네 아니오") or a caller in two minds; asked again
        return None
    return spans[-1][1]


def spoken_digits(text: str, lang: str) -> list[str]:
    """Digit groups in an utterance, in order, with "double five" expanded to "55"."""
    words = clean(text, lang).split()
    items = number_tokens(words, lang)
    groups: list[str] = []
    repeat = 1
    for item in items:
        if item in REPEATERS:
            repeat = REPEATERS[item]
            continue
        if item.isdigit():
            groups.append(item * repeat if len(item) == 1 else item)
        repeat = 1
    return groups


def parse_number(text: str, lang: str) -> int | None:
    """The single number in an answer ("ventitré" -> 23, "twenty three" -> 23), else None."""
    groups = spoken_digits(text, lang)
    return int(groups[0]) if len(groups) == 1 else None


def parse_phone_number(text: str, lang: str) -> str | None:
    """Digits of a spoken phone number, keeping a leading "+" or "00"; None if implausible.

    Accepts digit by digit ("tre tre nove"), groups ("trentatré novantuno"), repeats
    ("double five", "doppio zero"), written digits ("339 12 34") and mixtures of them.
    A phone number has 6 to 15 digits (E.164 allows at most 15).
    """
    if not text:
        return None
    stripped = text.strip().replace("+", " + ")
    plus = False
    for item in number_tokens(clean(stripped, lang).split(), lang):
        if item in PLUS_WORDS:
            plus = True
            break
        if item.isdigit() or item in REPEATERS:
            break
    digits = "".join(spoken_digits(stripped, lang))
    if not 6 <= len(digits) <= 15:
        return None
    return ("+" + digits) if plus else digits
