"""Text normalisation shared by intents, entities and cues.

Recognised speech and typed test cases arrive with capitals, accents, punctuation and
filler words ("ehm", "allora", "well"). Everything downstream works on one canonical
form: lowercase, accents removed (Latin scripts only; Hangul is left intact), apostrophes
and punctuation turned into spaces (English contractions are glued: "don't" -> "dont"),
filler words dropped, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

FILLERS: dict[str, frozenset[str]] = {
    "it": frozenset(
        {"ehm", "eh", "ehh", "ehmm", "uhm", "uh", "mmm", "mm", "hmm", "allora", "cioe",
         "tipo", "dunque", "insomma", "ecco", "beh", "mah", "praticamente", "diciamo"}
    ),
    "en": frozenset(
        {"ehm", "uhm", "uh", "um", "umm", "er", "erm", "hmm", "mm", "mmm", "well", "so",
         "like", "basically", "actually"}
    ),
    "ko": frozenset({"음", "어", "그", "저", "아", "그러니까"}),
}
"""Words that carry no meaning in a spoken request, per language (accent-free form)."""

GREETINGS: dict[str, frozenset[str]] = {
    "it": frozenset({"pronto", "pronti", "si", "sì", "no", "buongiorno", "buonasera", "salve",
                     "ciao", "senta", "scusi", "mi", "sente", "c", "e", "qualcuno", "ok", "ah",
                     "oh", "eccomi", "grazie", "allo", "ehi", "ma", "niente", "aspetti",
                     "attimo", "un", "momento", "ascolti", "guardi", "buon", "giorno"}),
    "en": frozenset({"hello", "hi", "hey", "yes", "yeah", "no", "good", "morning",
                     "afternoon", "evening", "sorry", "excuse", "me", "is", "anyone", "there",
                     "can", "you", "hear", "ok", "okay", "oh", "ah", "right", "thanks",
                     "thank", "hang", "on", "a", "second", "moment", "wait", "um", "erm",
                     "love", "dear", "oi", "hullo", "hiya"}),
}
"""Words of a caller who has not started yet ("pronto? mi sente?", "hello, anyone there?")."""

_EN_CONTRACTION = re.compile(r"(?<=[a-z])['’](?=(t|m|s|re|ve|ll|d)\b)")
_APOSTROPHE = re.compile(r"['’`´]")
_NON_WORD = re.compile(r"[^\w+]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """Remove combining accents from Latin letters, leaving other scripts (Hangul) intact."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", kept)


def clean(text: str, lang: str = "it") -> str:
    """Lowercase, strip accents and punctuation, keep every word (fillers included)."""
    lowered = strip_accents(text.casefold())
    if lang == "en":
        lowered = _EN_CONTRACTION.sub("", lowered)
    lowered = _APOSTROPHE.sub(" ", lowered)
    lowered = lowered.replace("_", " ")
    lowered = _NON_WORD.sub(" ", lowered)
    return _SPACES.sub(" ", lowered).strip()


def normalize(text: str, lang: str = "it") -> str:
    """Canonical form of a caller's utterance: `clean` text without filler words.

    Fillers are only removed when something else remains, so a caller who says nothing
    but "allora" still yields "allora" rather than an empty string.
    """
    words = clean(text, lang).split()
    fillers = FILLERS.get(lang, frozenset())
    kept = [w for w in words if w not in fillers]
    return " ".join(kept if kept else words)


def tokens(text: str, lang: str = "it") -> list[str]:
    """Words of the normalised utterance."""
    return normalize(text, lang).split()


def spoken_form(text: str) -> str:
    """Lowercase words without punctuation but with accents kept, as a recogniser says them.

    Used for grammar phrases: Vosk vocabularies spell "sì" and "lunedì" with accents.
    """
    lowered = text.casefold().replace("’", "'")
    lowered = re.sub(r"[^\w'\s]+", " ", lowered, flags=re.UNICODE)
    lowered = re.sub(r"(?<!\w)'|'(?!\w)", " ", lowered)
    return _SPACES.sub(" ", lowered).strip()


def only_filler(text: str, lang: str = "it") -> bool:
    """Whether an utterance is nothing but filler and greetings ("ehm... pronto?"): the
    caller has not said what they need yet, so they are asked, never guessed at."""
    words = clean(text, lang).split()
    ignorable = FILLERS.get(lang, frozenset()) | GREETINGS.get(lang, frozenset())
    return bool(words) and all(word in ignorable for word in words)
