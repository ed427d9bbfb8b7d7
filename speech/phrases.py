"""Phrases the recogniser should listen for at a step, derived from the flow itself.

The same examples that train the intent classifier become the recogniser's phrase list,
so what admins write is what the hotline hears. Phrases are in spoken form (lowercase,
accents kept, no punctuation, numbers as words); the grammar module turns them into
Vosk grammar JSON and drops words the model does not know. Every list (except "free")
ends with the escape phrases, so "operatore" is heard at any step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from speech.cues import ESCAPE_PHRASES
from speech.normalize import spoken_form

EXPECTING = ("intent", "yes_no", "phone", "time", "free")

YES_NO_WORDS: dict[str, tuple[str, ...]] = {
    "it": ("sì", "no", "certo", "esatto", "giusto", "va bene", "non lo so", "non so",
           "sì grazie", "no grazie", "non è giusto", "sbagliato", "boh", "non saprei"),
    "en": ("yes", "no", "yeah", "yep", "nope", "sure", "correct", "that's right",
           "that's wrong", "not right", "i don't know", "not sure", "no idea", "okay"),
    "ko": ("네", "예", "아니요", "아니오", "맞아요", "모르겠어요"),
}
NUMBER_WORDS: dict[str, tuple[str, ...]] = {
    "it": ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
           "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici",
           "diciassette", "diciotto", "diciannove", "venti", "trenta", "quaranta",
           "cinquanta", "sessanta", "settanta", "ottanta", "novanta", "cento", "doppio",
           "più"),
    "en": ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight",
           "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
           "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
           "sixty", "seventy", "eighty", "ninety", "hundred", "double", "triple", "plus"),
    "ko": ("영", "공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"),
}
TIME_WORDS: dict[str, tuple[str, ...]] = {
    "it": ("oggi", "domani", "dopodomani", "lunedì", "martedì", "mercoledì", "giovedì",
           "venerdì", "sabato", "prossimo", "mattina", "stamattina", "pomeriggio",
           "dopo pranzo", "sera", "stasera", "il prima possibile", "appena possibile",
           "subito", "alle", "dopo le", "prima delle", "verso le", "tra le", "e mezza",
           "tra un'ora", "quando volete"),
    "en": ("today", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday",
           "saturday", "next", "morning", "this morning", "afternoon", "after lunch",
           "evening", "as soon as possible", "right away", "at", "after", "before",
           "around", "between", "and", "o'clock", "half past", "in an hour", "any time"),
}


def _unique(phrases: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for phrase in phrases:
        spoken = spoken_form(phrase)
        if spoken:
            seen.setdefault(spoken, None)
    return list(seen)


def intent_phrases(flow_doc: Mapping, lang: str) -> list[str]:
    """Examples and keywords of every intent in the flow, for one language."""
    phrases: list[str] = []
    for spec in (flow_doc.get("intents") or {}).values():
        phrases += (spec.get("examples") or {}).get(lang, [])
        phrases += (spec.get("keywords") or {}).get(lang, [])
        label = (spec.get("label") or {})
        if isinstance(label, Mapping) and label.get(lang):
            phrases.append(str(label[lang]))
    return _unique(phrases)


def expected_phrases(flow_doc: Mapping, lang: str, expecting: str) -> list[str]:
    """Phrase list for the recogniser at a step; [] means "listen freely" (no grammar).

    `expecting` is "intent" | "yes_no" | "phone" | "time" | "free". The escape phrases
    (a person, an operator) are included in every restricted list.
    """
    if expecting not in EXPECTING:
        raise ValueError(f"unknown expectation {expecting!r}; use one of {EXPECTING}")
    if expecting == "free":
        return []
    if expecting == "intent":
        base = intent_phrases(flow_doc, lang)
    elif expecting == "yes_no":
        base = list(YES_NO_WORDS.get(lang, ()))
    elif expecting == "phone":
        base = list(NUMBER_WORDS.get(lang, ()))
    else:
        base = list(TIME_WORDS.get(lang, ())) + list(NUMBER_WORDS.get(lang, ())[:13])
    return _unique([*base, *ESCAPE_PHRASES.get(lang, ())])
