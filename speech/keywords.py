"""Exact keyword and phrase matching for intents, with a little tolerance.

A keyword matches whole words of the normalised utterance ("bill" does not match
"billion"); a multi-word keyword must appear as consecutive words. Two tolerances:

* single words of 7 letters or more also match with one typo (one edit), so "boletta"
  still means "bolletta" while "pagato" is not confused with "pagare";
* in Korean, whose particles attach to the noun ("요금이"), a keyword matches the start
  of a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from speech.normalize import normalize

TYPO_MIN_LENGTH = 7
PREFIX_LANGUAGES = frozenset({"ko", "ja"})


def within_one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one insertion, deletion or substitution."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = 0
    edits = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        edits += 1
        if edits > 1:
            return False
        if len(a) == len(b):
            i += 1
        j += 1
    return edits + (len(b) - j) + (len(a) - i) <= 1


def phrase_in(words: Sequence[str], phrase: Sequence[str], lang: str) -> bool:
    """Whether `phrase` (a list of words) occurs in `words` under the tolerances above."""
    if not phrase or len(phrase) > len(words):
        return False
    prefix = lang in PREFIX_LANGUAGES
    fuzzy = len(phrase) == 1 and len(phrase[0]) >= TYPO_MIN_LENGTH and not prefix
    for start in range(len(words) - len(phrase) + 1):
        window = words[start:start + len(phrase)]
        if prefix and all(w.startswith(p) for w, p in zip(window, phrase, strict=True)):
            return True
        if window == list(phrase):
            return True
        if fuzzy and within_one_edit(window[0], phrase[0]):
            return True
    return False


@dataclass(frozen=True)
class KeywordIndex:
    """Normalised keywords per language: lang -> tuple of (intent, words)."""

    entries: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]

    @classmethod
    def build(cls, intents: Mapping[str, Mapping], languages: Iterable[str]) -> KeywordIndex:
        """Collect every intent's `keywords` for the given languages."""
        entries: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        for lang in languages:
            items = []
            for name, spec in intents.items():
                for keyword in (spec.get("keywords") or {}).get(lang, []):
                    words = tuple(normalize(str(keyword), lang).split())
                    if words:
                        items.append((name, words))
            entries[lang] = tuple(items)
        return cls(entries)

    def match(self, text: str, lang: str) -> set[str]:
        """Intents whose keywords occur in the already normalised `text`."""
        words = text.split()
        return {name for name, phrase in self.entries.get(lang, ())
                if phrase_in(words, phrase, lang)}
