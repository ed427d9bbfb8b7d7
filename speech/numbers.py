"""Spoken numbers in Italian and English words, as a recogniser writes them.

Italian compounds are single words ("ventitré", "trecentoquarantacinque", "ventotto");
English tens and units are separate words ("twenty three"). `number_tokens` turns a
normalised utterance into a list of items, each either a digit string or a word that is
not a number, so that callers of this module (phone numbers, clock times) can decide how
to join them.
"""

from __future__ import annotations

_IT_UNITS = {"zero": 0, "uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6,
             "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "undici": 11, "dodici": 12,
             "tredici": 13, "quattordici": 14, "quindici": 15, "sedici": 16,
             "diciassette": 17, "diciotto": 18, "diciannove": 19}
_IT_TENS = {"venti": 20, "trenta": 30, "quaranta": 40, "cinquanta": 50, "sessanta": 60,
            "settanta": 70, "ottanta": 80, "novanta": 90}
_EN_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4,
             "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
             "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
             "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
            "seventy": 70, "eighty": 80, "ninety": 90}
REPEATERS = {"doppio": 2, "doppia": 2, "triplo": 3, "tripla": 3, "double": 2, "triple": 3}
PLUS_WORDS = frozenset({"piu", "plus", "+"})


def _it_below_hundred(word: str) -> int | None:
    if word in _IT_UNITS:
        return _IT_UNITS[word]
    for tens_word, tens in _IT_TENS.items():
        if word == tens_word:
            return tens
        stem = tens_word[:-1]  # "vent" + "uno", "trent" + "otto"
        for candidate in (tens_word, stem):
            if word.startswith(candidate):
                rest = word[len(candidate):]
                unit = _IT_UNITS.get(rest)
                if unit is not None and 1 <= unit <= 9:
                    if candidate == stem and rest not in ("uno", "otto"):
                        continue
                    return tens + unit
    return None


def italian_word_value(word: str) -> int | None:
    """Value of one Italian number word from 0 to 999 ("centotto" -> 108), else None."""
    at = word.find("cent")
    if at < 0:
        return _it_below_hundred(word)
    head, rest = word[:at], word[at + 4:]
    hundreds = 1 if not head else _IT_UNITS.get(head)
    if hundreds is None or not 1 <= hundreds <= 9 or (head and hundreds == 1):
        return None
    if rest in ("", "o"):
        return hundreds * 100
    for tail in (rest[1:], rest) if rest.startswith("o") else (rest,):
        value = _it_below_hundred(tail)
        if value is not None:
            return hundreds * 100 + value
    return None


def word_value(word: str, lang: str) -> int | None:
    """Value of a single number word in `lang` (Italian compounds included), else None."""
    if word.isdigit():
        return int(word)
    if lang == "it":
        value = italian_word_value(word)
        if value is None and word in ("un", "una"):
            return None
        return value
    if lang == "en":
        if word in _EN_UNITS:
            return _EN_UNITS[word]
        return _EN_TENS.get(word)
    return None


def number_tokens(words: list[str], lang: str) -> list[str]:
    """Replace number words with digit strings, joining English "twenty three" -> "23".

    "oh"/"o" count as zero only next to another number word, so "oh, my number" stays text.
    "hundred" multiplies the number before it ("eight hundred" -> "800").
    """
    out: list[str] = []
    values = [word_value(w, lang) for w in words]
    i = 0
    while i < len(words):
        word, value = words[i], values[i]
        if value is None or (word in ("oh", "o") and not _has_number_neighbour(values, i)):
            out.append(word)
            i += 1
            continue
        if word.isdigit():
            out.append(word)
            i += 1
            continue
        if lang == "en" and i + 1 < len(words) and words[i + 1] == "hundred" and value < 10:
            value *= 100
            i += 1
            if i + 1 < len(words) and words[i + 1] == "and":
                i += 1
            nxt = values[i + 1] if i + 1 < len(words) else None
            if nxt is not None and nxt < 100 and not words[i + 1].isdigit():
                value += nxt
                i += 1
                if nxt >= 20 and nxt % 10 == 0 and i + 1 < len(words):
                    unit = values[i + 1]
                    if unit is not None and 1 <= unit <= 9 and not words[i + 1].isdigit():
                        value += unit
                        i += 1
        elif value >= 20 and value % 10 == 0 and value < 100 and i + 1 < len(words):
            unit = values[i + 1]
            if unit is not None and 1 <= unit <= 9 and not words[i + 1].isdigit():
                value += unit
                i += 1
        out.append(str(value))
        i += 1
    return out


def _has_number_neighbour(values: list[int | None], i: int) -> bool:
    return (i > 0 and values[i - 1] is not None) or (
        i + 1 < len(values) and values[i + 1] is not None)
