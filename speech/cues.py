"""Cues in what callers say: "I am not digital" and "let me talk to a human".

The non-digital cue feeds the callback queue's digital-inclusion profile, so it comes
with its evidence (the words that triggered it). Patterns come in three kinds:

* strong: the caller states it of themselves ("non ho internet", "I'm not very techy");
* hearsay: someone else does it for them ("my daughter does the emails"), or their age;
  not from a caller who also shows they are at ease online;
* weak: "non riesco a farlo online" / "I can't do it online" is a cue, unless the same
  sentence talks about a technical failure ("errore", "it failed", "ho provato"): then
  the caller is digital and the website let them down, which is a different problem.

Patterns run on `normalize`d text (lowercase, no accents, apostrophes as spaces,
English contractions glued: "don't" -> "dont").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from speech.normalize import normalize


@dataclass(frozen=True)
class Cue:
    """A signal found in an utterance: kind "not_digital" or "human", and its words."""

    kind: str
    evidence: str


_IT_DEV = (r"(?:internet|computer|pc|smartphone|telefonino|cellulare|tablet|(?:e ?)?mail|"
           r"posta elettronica|wi ?fi|connessione|app|applicazione|applicazioni|sito|spid|"
           r"whatsapp|tecnologia|online|on line)")
_IT_ART = r"(?:(?:il|lo|la|l|un|uno|una|i|gli|le|neanche|nemmeno|manco|mai|proprio)\s+)*"
_IT_REL = (r"(?:mio|mia|nostro|nostra|la mia|il mio) (?:figlio|figlia|figli|nipote|nipoti|"
           r"marito|moglie|genero|nuora|fratello|sorella|vicino|vicina|badante)")
_EN_DEV = (r"(?:internet|computers?|pcs?|laptops?|smart ?phones?|mobile phones?|cell phones?|"
           r"tablets?|ipads?|e ?mails?|wi ?fi|apps?|websites?|online|technology|tech|"
           r"broadband|the web)")
_EN_ART = r"(?:(?:a|an|any|the|no|even)\s+)*"
_EN_REL = (r"(?:my|our) (?:sons?|daughters?|grandsons?|granddaughters?|grandchildren|"
           r"grandkids|kids|children|nephew|niece|husband|wife|neighbou?r|carer|friend)")

STRONG: dict[str, tuple[str, ...]] = {
    "it": (
        rf"\bnon (?:ho|abbiamo|possiedo|uso|usiamo|utilizzo) {_IT_ART}{_IT_DEV}\b",
        rf"\b(?:senza|niente) {_IT_ART}{_IT_DEV}\b",
        rf"\bnon (?:so|sappiamo|sono capace di|sono capace a|sono in grado di) "
        rf"(?:usare|utilizzare|adoperare|fare|andare|entrare|collegarmi|accedere)"
        rf"(?: \w+){{0,3}}? {_IT_ART}{_IT_DEV}\b",
        r"\bnon sono (?:molto |tanto |per niente |affatto )?(?:pratic[oaie]|capace|"
        r"espert[oa]|tecnologic[oa])\b(?: (?:di|con|col|coi|del|della|dei|delle) \w+)?",
        r"\bnon (?:me ne intendo|ci capisco niente|capisco niente di \w+)\b",
        r"\bnon ho (?:nessuna )?dimestichezza\b(?: con \w+)?",
        r"\bho solo (?:il )?(?:telefono )?fisso\b",
    ),
    "en": (
        rf"\b(?:i|we) (?:dont|do not|never|dont even|havent got|have not got|have no) "
        rf"(?:have |own |use |got )?{_EN_ART}{_EN_DEV}\b",
        rf"\b(?:i|we) have no {_EN_DEV}\b",
        rf"\bno {_EN_DEV} at home\b",
        rf"\b(?:i|we) (?:dont|do not) know how to (?:use|do|work|get on|go on)"
        rf"(?: \w+){{0,3}}? {_EN_ART}{_EN_DEV}\b",
        rf"\b(?:im|i am) not (?:very |really |that |too |much )?(?:good|great|comfortable|"
        rf"confident|handy|used to|any good|clever|savvy) (?:with|at|on|using) "
        rf"{_EN_ART}{_EN_DEV}\b",
        r"\b(?:im|i am) not (?:very |really )?(?:computer literate|tech savvy|techy|"
        r"online|on the internet|on email)\b",
        r"\b(?:i|we) only have a landline\b",
        rf"\b(?:i|we) dont do {_EN_ART}{_EN_DEV}\b",
        rf"\b(?:im|i am) (?:no good|hopeless|useless|rubbish|terrible|all thumbs) "
        rf"(?:with|at|on) {_EN_ART}{_EN_DEV}\b",
        r"\b(?:im|i am) (?:a bit of )?(?:a )?(?:technophobe|dinosaur)\b",
    ),
    "ko": (
        r"(?:인터넷|스마트폰|컴퓨터|이메일)(?:이|가|은|는)? ?없(?:어요|습니다|어)",
        r"(?:인터넷|스마트폰|컴퓨터)(?:을|를)? ?(?:못|잘 못) ?(?:해요|합니다|써요|씁니다)",
    ),
}
"""Statements that a caller is not digital, in their own words about themselves."""

HEARSAY: dict[str, tuple[str, ...]] = {
    "it": (
        rf"\b{_IT_REL}(?: \w+){{0,2}}? (?:mi aiuta|ci aiuta|aiuta|fa|fanno|gestisce|"
        rf"si occupa|ci pensa|pensa)\b(?: \w+){{0,4}}",
        rf"\b(?:mi aiuta|me lo fa|me la fa|me le fa|ci pensa|se ne occupa|lo fa)"
        rf"(?: sempre| di solito| lei| lui)? {_IT_REL}\b",
        r"\bsono (?:anzian[oa]|vecchi[oa])\b",
    ),
    "en": (
        rf"\b{_EN_REL}s? (?:\w+ ){{0,2}}?(?:does|do|helps|handles|sorts|deals with|"
        rf"sets up|looks after|takes care of)\b(?: \w+){{0,4}}",
        r"\b(?:does it|do it|does that|does them) for me\b",
    ),
}
"""Someone else does the online things for the caller, or only their age: a cue, but the
same words also fit "mio marito fa l'idraulico", so the learned detector may overrule it."""

WEAK: dict[str, tuple[str, ...]] = {
    "it": (
        r"\bnon (?:riesco|riusciamo|posso|sono riuscit[oa]) (?:a |ad )?(?:\w+ ){0,3}?"
        r"(?:online|on line|su internet|via internet|dal computer|col computer|"
        r"con il computer|sul sito|dal sito|con l app|dall app|via mail|per email|per mail)\b",
    ),
    "en": (
        r"\bi (?:cant|can not|cannot|couldnt|could not|am unable to|m unable to) "
        r"(?:\w+ ){0,4}?(?:online|on the internet|on the computer|on the website|"
        r"on the app|by email|on my phone)\b",
        rf"\bi (?:cant|can not|cannot|couldnt|could not) (?:use|work|manage|get on with|"
        rf"cope with|get into|make sense of) {_EN_ART}{_EN_DEV}\b",
    ),
}
"""Phrasings that are a cue unless the caller also reports a technical failure."""

FAILURE: dict[str, str] = {
    "it": (r"\b(?:errore|errori|non funziona|non va|si blocca|bloccat\w|password|"
           r"non carica|ho provato|abbiamo provato|ho gia|pagato online|fatto online|"
           r"messaggio|codice|rifiutat\w|fallit\w|in manutenzione)\b"),
    "en": (r"\b(?:error|errors|failed|fails|doesnt work|didnt work|isnt working|"
           r"not working|crash\w*|password|did it online|"
           r"paid online|keeps|stuck|down|broken|rejected|declined)\b"),
}
"""Words that show a digital caller facing a technical problem."""

AT_EASE_ONLINE: dict[str, str] = {
    "it": (r"\b(?:faccio|pago|gestisco|controllo|vedo|leggo|ho fatto|ho pagato|ho visto|"
           r"abbiamo fatto|facciamo|paghiamo)\b(?: \w+){0,3} (?:online|su internet|"
           r"(?:con l|con la|dall|nell|sull) app(?:licazione)?|sul sito|sul computer|"
           r"sul tablet|sul pc|sull iphone|sul telefonino|sullo smartphone)\b"
           r"|(?<!\bnon )\b(?:uso|usiamo|usa)\b(?: \w+){0,2} (?:whatsapp|internet|"
           r"il computer|il tablet|lo smartphone|l app|il pc|la mail|le email)\b"
           r"|\bme la cavo (?:bene )?(?:con|col) (?:il |lo |la )?(?:computer|internet|"
           r"smartphone|telefonino|tecnologia|cellulare)\b"
           r"|\b(?:ho scaricato|stampo|scarico)\b|\bbolletta digitale\b|"
           r"\bpreferisco (?:la )?(?:mail|email|online|l app)\b"),
    "en": (r"\b(?:i|we|ive|weve|i have|we have|i can|we can)\b "
           r"(?:(?!dont|cant|didnt|never|not|wont|havent|couldnt|cannot)\w+ )?"
           r"(?:do|did|done|manage|managed|check|pay|paid|see|sort|sorted|log|get|find)\b"
           r"(?: \w+){0,3} (?:online|on the (?:app|ipad|tablet|computer|laptop|internet|"
           r"website|site))\b"
           r"|(?<!\bno )(?<!\bnot )\b(?:fine|good|ok|okay|happy|great) with (?:the )?"
           r"(?:internet|computers?|technology|apps?|online)\b"
           r"|\b(?:paperless|i print|i printed|i downloaded|i download)\b"
           r"|\b(?:prefer|rather have) (?:the )?(?:email|e mail|online|the app)\b"),
}
"""Words that show a caller at ease online ("I do all my banking on the iPad", "faccio tutto
online"): what such a caller says about apps or age is no sign of not being digital."""

HUMAN: dict[str, tuple[str, ...]] = {
    "it": (r"\boperator[ei]\b", r"\boperatrice\b", r"(?<!sono )\buna persona\b",
           r"\bpersona (?:vera|reale|fisica)\b", r"\bessere umano\b", r"\bun umano\b",
           r"\bparlare con (?:qualcuno|un addetto|un impiegato|un assistente)\b",
           r"\bpassa(?:mi|temi) qualcuno\b", r"\bun addett[oa]\b", r"\bcon un consulente\b"),
    "en": (r"\boperator\b", r"\bagents?\b", r"\ba human\b", r"\bhuman being\b",
           r"\breal person\b", r"\blive person\b", r"\ba person\b",
           r"\b(?:talk|speak) (?:to|with) (?:someone|somebody|a person|a human|a real)\b",
           r"\brepresentative\b", r"\bcustomer service\b", r"\bsomeone real\b"),
    "ko": (r"상담원", r"사람(?:이랑|과|하고)? ?(?:통화|연결|얘기)",
           r"직원(?:이랑|과)? ?(?:통화|연결)"),
}
"""Escape words: the caller asks for a person."""

_NEGATED = re.compile(r"\b(?:non voglio|non serve|non mi serve|no|dont want|do not want|"
                      r"dont need|no need for)(?: \w+){0,2} $")


def _search(patterns: tuple[str, ...], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return match
    return None


@dataclass(frozen=True)
class NotDigitalReading:
    """What the rules read in one utterance: the rule that fired ("strong", "hearsay" or
    "weak", see the pattern tables) with its evidence, and the two signs of a digital
    caller, so a caller weighing the rules against a learned model needs no second pass."""

    rule: Literal["strong", "hearsay", "weak"] | None = None
    evidence: str = ""
    at_ease_online: bool = False
    reports_failure: bool = False

    @property
    def cue(self) -> Cue | None:
        """The non-digital cue this reading gives, if a rule fired."""
        return Cue("not_digital", self.evidence) if self.rule else None


def read_not_digital(text: str, lang: str) -> NotDigitalReading:
    """Run the non-digital rules once: a strong statement always counts; hearsay only from
    a caller not at ease online ("my daughter helps, but I do my banking on the iPad");
    a weak phrasing only when, besides, no technical failure is reported."""
    normalized = normalize(text or "", lang)
    if not normalized:
        return NotDigitalReading()
    at_ease, failure = AT_EASE_ONLINE.get(lang), FAILURE.get(lang)
    online = bool(at_ease and re.search(at_ease, normalized))
    failed = bool(failure and re.search(failure, normalized))
    match = _search(STRONG.get(lang, ()), normalized)
    if match is not None:
        return NotDigitalReading("strong", match.group(0).strip(), online, failed)
    match = None if online else _search(HEARSAY.get(lang, ()), normalized)
    if match is not None:
        return NotDigitalReading("hearsay", match.group(0).strip(), online, failed)
    match = None if online or failed else _search(WEAK.get(lang, ()), normalized)
    if match is not None:
        return NotDigitalReading("weak", match.group(0).strip(), online, failed)
    return NotDigitalReading(at_ease_online=online, reports_failure=failed)


def detect_not_digital(text: str, lang: str) -> Cue | None:
    """The non-digital cue with its evidence, or None when the caller did not give one."""
    return read_not_digital(text, lang).cue


def detect_human(text: str, lang: str) -> Cue | None:
    """The "let me talk to a person" cue with its evidence, unless it is negated."""
    normalized = normalize(text or "", lang)
    for pattern in HUMAN.get(lang, ()):
        for match in re.finditer(pattern, normalized):
            if not _NEGATED.search(normalized[:match.start()]):
                return Cue("human", match.group(0))
    return None


def wants_human(text: str, lang: str) -> bool:
    """Whether the caller asks to speak with a person ("operatore", "a human", ...)."""
    return detect_human(text, lang) is not None


ESCAPE_PHRASES: dict[str, tuple[str, ...]] = {
    "it": ("operatore", "un operatore", "parlare con un operatore", "una persona",
           "parlare con una persona", "parlare con qualcuno", "persona vera"),
    "en": ("operator", "agent", "a human", "talk to a person", "speak to someone",
           "talk to someone", "real person", "representative"),
    "ko": ("상담원", "상담원 연결"),
}
"""What the recogniser should always be ready to hear, whatever the step (accents kept)."""
