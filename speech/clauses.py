"""Which part of an utterance carries the caller's need: negated topics and topic shifts.

"Non è per il gas, è la luce che non va" is about electricity; "it's not about my bill, I
want to pay in instalments" is about a payment. A keyword in the negated clause ("gas",
"bill") must not decide the intent, so `focus` drops clauses that *deny a topic* and keeps
what follows. Only topic denials are dropped: "non ho la luce" or "I have no water" deny
a supply, not a topic, and are the need itself.

A dropped clause runs from its opener ("non è per", "not about") to the next clause
boundary ("ma", "è", "but", "it's", a comma...) or to the end. When nothing would be left
the text is kept whole (the caller only said what it is not, and the model decides).
"""

from __future__ import annotations

import re

_IT_OPEN = (r"(?:non (?:e|e per|e per la|e per il|e sulla|e sul|si tratta di|si tratta della|"
            r"si tratta del|riguarda|e una questione di|e un problema di|chiamo per|"
            r"telefono per|sto chiamando per|parlo di|parlo della|parlo del|e quello|"
            r"e questo|c entra|centra|ce l ho con)|niente a che (?:fare|vedere) con|"
            r"lasciamo (?:stare|perdere)|a parte)")
_IT_STOP = (r"(?:ma|pero|bensi|e che|e la|e il|e lo|e l|e per|e un|e una|e invece|invece|"
            r"il problema e|volevo|vorrei|voglio|devo|ho bisogno|mi serve|chiamo per|"
            r"si tratta|riguarda|e che)")
_EN_OPEN = (r"(?:(?:it|its|it is|this|this is|thats|that is|im|i am)\s*(?:not|isnt|s not)\s+"
            r"(?:about|for|to do with|regarding|calling about|ringing about|phoning about|"
            r"the|my|a)|(?:isnt|is not|wasnt) (?:about|for|to do with)|"
            r"not (?:about|calling about|ringing about|phoning about|to do with) |"
            r"nothing to do with|forget (?:about )?the|never mind the|apart from)")
_EN_STOP = (r"(?:but|its|it is|i want|i need|id like|i would like|i wanted|im calling|"
            r"im ringing|instead|rather|the problem is|the thing is|theres|there is|what i|"
            r"this is about|its about)")

_PATTERNS = {
    "it": re.compile(rf"\b{_IT_OPEN}\b.*?(?=\b{_IT_STOP}\b|$)"),
    "en": re.compile(rf"\b{_EN_OPEN}\b.*?(?=\b{_EN_STOP}\b|$)"),
}
_CORRECTION = {
    "it": re.compile(r"^.*\b(?:anzi(?: no)?|no scusi|cioe no|mi correggo|volevo dire)\b"),
    "en": re.compile(r"^.*\b(?:i mean|sorry i mean|no wait|scratch that|or rather)\b"),
}


def focus(text: str, lang: str) -> str:
    """`text` (already normalised) without the clauses that deny a topic, and without what
    precedes a self-correction ("la bolletta, anzi no, il contratto" -> "il contratto")."""
    if not text:
        return text
    focused = text
    correction = _CORRECTION.get(lang)
    if correction is not None:
        after = correction.sub("", focused).strip()
        if after and after != focused:
            focused = after
    pattern = _PATTERNS.get(lang)
    if pattern is not None:
        kept = " ".join(pattern.sub(" ", focused).split())
        if kept:
            focused = kept
    return focused


def denied(text: str, lang: str) -> list[str]:
    """The topic-denying clauses of `text` (for tests and for the admin's "Try it")."""
    pattern = _PATTERNS.get(lang)
    return [m.group(0).strip() for m in pattern.finditer(text)] if pattern else []
