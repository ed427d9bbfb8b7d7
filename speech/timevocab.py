"""The words of callback times in Italian and English, as patterns over cleaned text.

Data for speech.timewords: the text they run on is lowercase, without accents or
punctuation, with numbers as digits ("alle 3 e mezza", "in 45 minutes", "l 8 dicembre").
The order inside each list matters: the first pattern that matches wins, so longer or
more specific phrases come first ("tardo pomeriggio" before "pomeriggio"). The window
each phrase stands for is documented in speech.timeparse.
"""

from __future__ import annotations

import re
from datetime import time

END_OF_DAY = time(23, 59)

MONTHS = {"it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
                 "agosto", "settembre", "ottobre", "novembre", "dicembre"],
          "en": ["january", "february", "march", "april", "may", "june", "july", "august",
                 "september", "october", "november", "december"]}
WEEKDAYS = {"it": ["lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica"],
            "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                   "sunday"]}
_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
          "sixteenth", "seventeenth", "eighteenth", "nineteenth"]
ORDINALS: dict[str, str] = {
    **{word: f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"
       for n, word in enumerate(_UNITS, 1)},
    **{word: f"{n}th" for n, word in enumerate(_TEENS, 10)},
    "twentieth": "20th", "thirtieth": "30th",
    **{f"twenty{word}": f"2{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"
       for n, word in enumerate(_UNITS, 1)},
    "thirtyfirst": "31st",
}
"""English ordinal words as a recogniser writes them ("twenty first" joined first)."""

_M = {lang: "|".join(names) for lang, names in MONTHS.items()}
_D = {lang: "|".join(names) for lang, names in WEEKDAYS.items()}
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"

DATES = {"it": [rf"\b(?:il |l |lo )?(?P<d>\d{{1,2}}|primo) (?:di )?(?P<m>{_M['it']})\b"],
         "en": [rf"\b(?:the )?(?P<d>{_ORD}) (?:of )?(?P<m>{_M['en']})\b",
                rf"\b(?P<m>{_M['en']}) (?:the )?(?P<d>{_ORD})\b"]}
DAY_OF_MONTH = {"it": r"\b(?:il|l|giorno|per il) (?P<d>\d{1,2}|primo)\b"
                      r"(?! (?:e |ore|or[ae]|minut|meno))",
                "en": r"\bthe (?P<d>\d{1,2}(?:st|nd|rd|th))\b"}
RELATIVE_DAYS = {
    "it": [(r"\bdopodomani\b", 2), (r"\bdomani\b|\bdomattina\b", 1),
           (r"\boggi\b|\bstamattina\b|\bstamani\b|\bstasera\b|\bstanotte\b|"
            r"\bquesta (?:mattina|sera)\b|\bquesto pomeriggio\b|\bin giornata\b|"
            r"\bentro (?:oggi|la giornata|fine giornata)\b|\bpiu tardi\b", 0)],
    "en": [(r"\bday after tomorrow\b", 2), (r"\btomorrow\b", 1),
           (r"\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b|"
            r"\b(?:by the )?end of (?:the )?day\b|\blater (?:on|today)\b", 0)]}
_NEXT_WEEK = {"it": r"(?:la )?(?:settimana prossima|prossima settimana|settimana dopo|"
                    r"settimana che viene)",
              "en": r"(?:the )?(?:next|following) week"}
SPANS: dict[str, list[tuple[str, tuple[str, str]]]] = {
    "it": [(rf"\b(?:all |a |ad )?inizio (?:della |di )?{_NEXT_WEEK['it']}\b|"
            rf"\bprimi giorni della {_NEXT_WEEK['it']}\b|\binizio settimana\b",
            ("next_mon", "next_mon1")),
           (rf"\b{_NEXT_WEEK['it']}\b", ("next_mon", "next_mon4")),
           (r"\b(?:questa settimana|in settimana|entro la settimana|entro fine settimana)\b",
            ("today", "fri")),
           (r"\b(?:alla|verso la) fine della settimana\b", ("fri", "fri")),
           (r"\b(?:fine settimana|finesettimana|weekend|week end|sabato e domenica)\b",
            ("sat", "sun"))],
    "en": [(rf"\b(?:early|beginning of|start of) {_NEXT_WEEK['en']}\b|"
            rf"\bearly in {_NEXT_WEEK['en']}\b", ("next_mon", "next_mon1")),
           (rf"\b{_NEXT_WEEK['en']}\b", ("next_mon", "next_mon4")),
           (r"\b(?:this week|later this week|later in the week|by the end of the week|"
            r"before the weekend)\b", ("today", "fri")),
           (r"\bend of (?:the |this )?week\b", ("fri", "fri")),
           (r"\b(?:weekend|week end)\b", ("sat", "sun"))]}
_H = {"it": r"\d{1,2}|una|mezzogiorno|mezzanotte", "en": r"\d{1,2}|noon|midday|midnight"}
_C = {"it": (r"(?:{h})(?: e \d{{1,2}}| \d{{2}}| e mezz[ao]| e un quarto| e tre quarti|"
             r" meno un quarto| meno \d{{1,2}})?(?: di mattina| del mattino| della mattina|"
             r" di pomeriggio| del pomeriggio| di sera| della sera| in punto)?"),
      "en": (r"(?:(?:half past|half|quarter past|quarter to|a quarter past|a quarter to|"
             r"\d{{1,2}} (?:minutes )?(?:past|to)) )?(?:{h})(?: \d{{2}})?"
             r"(?: ?(?:am|pm|a m|p m|oclock|in the morning|in the afternoon|"
             r"in the evening))?")}
_CI = _C["it"].format(h=_H["it"])
_CI_AT = _C["it"].format(h=r"\d{1,2}|una")
_CE = _C["en"].format(h=_H["en"])
_CE_AT = _C["en"].format(h=r"\d{1,2}")
CLOCK: dict[str, list[tuple[str, str]]] = {
    "it": [("range", rf"\b(?:tra|fra|dalle|dall|da) (?:le |l )?({_CI}) (?:e|alle|all|a) "
                     rf"(?:le |l )?({_CI})\b"),
           ("after", rf"\b(?:non prima(?: delle| di| dell)?|(?<!non )dopo(?: le| l)?|"
                     rf"a partire(?: dalle| da| dall)|dalle|dall) (?:ore )?({_CI})"
                     rf"(?: in poi)?\b"),
           ("before", rf"\b(?:(?<!non )prima(?: delle| di| dell)|entro(?: le| l)?|"
                      rf"non dopo(?: le| l)?|non oltre(?: le| l)?|"
                      rf"non piu tardi(?: delle| di| dell)|al massimo alle) (?:ore )?({_CI})\b"),
           ("around", rf"\b(?:verso(?: le| l)?|intorno(?: alle| all| a)|sulle|sull|"
                      rf"circa(?: alle| all)|tipo(?: alle| all)|attorno(?: alle| all)) "
                      rf"(?:ore )?({_CI})\b"),
           ("at", rf"\b(?:alle|all|per le|per l|ore) (?:ore )?({_CI_AT})\b"),
           ("at", r"\b(\d{1,2} (?:e mezz[ao]|e un quarto|e tre quarti|meno un quarto|"
                  r"e \d{1,2}|\d{2}))\b")],
    "en": [("range", rf"\b(?:between|from) ({_CE}) (?:and|to|till|until) ({_CE})\b"),
           ("after", rf"\b(?:(?<!not )after|not before|no earlier than|not earlier than|"
                     rf"not until|not till|from) ({_CE})(?: onwards?| on)?\b"),
           ("before", rf"\b(?:(?<!not )before|by|not after|no later than|not later than|"
                      rf"(?<!not )until|(?<!not )till) ({_CE})\b"),
           ("around", rf"\b(?:at )?(?:around|about|roughly|approximately) ({_CE})\b"),
           ("around", rf"\b({_CE}) ?ish\b"),
           ("at", rf"\bat ({_CE_AT})\b"),
           ("at", r"\b((?:half past|half|quarter past|quarter to|a quarter past|a quarter to) "
                  r"\d{1,2}|\d{1,2}(?: \d{2})? ?(?:am|pm|a m|p m|oclock)|\d{1,2} \d{2})\b")]}
CLOCK_ALONE = {"it": rf"^ *(?:le |l |ore |alle )?({_CI_AT}) *$",
               "en": rf"^ *(?:at )?({_CE_AT}) *$"}
"""A clock time said on its own ("le tre", "4"), or as the whole of a correction."""

PERIODS: dict[str, list[tuple[str, time, time]]] = {
    "it": [(r"\bprima mattina\b|\bmattina presto\b|\bdi buon ora\b|\ba prima ora\b|"
            r"\bappena aprite\b|\ball apertura\b", time(8), time(10)),
           (r"\b(?<!entro )(?:a |verso )?fine giornata\b", time(17), END_OF_DAY),
           (r"\btarda mattina(?:ta)?\b|\bfine mattina(?:ta)?\b", time(11), time(13)),
           (r"\bdopo ?pranzo\b|\bprimo pomeriggio\b|\bpomeriggio presto\b|"
            r"\binizio (?:del )?pomeriggio\b|\bpresto (?:nel |il |di )?pomeriggio\b",
            time(14), time(16)),
           (r"\btardo pomeriggio\b|\bpomeriggio tardi\b|\bfine (?:del )?pomeriggio\b|"
            r"\bpomeriggio inoltrato\b", time(16), time(18)),
           (r"\bmeta mattina(?:ta)?\b", time(10), time(12)),
           (r"\bmeta pomeriggio\b", time(15), time(17)),
           (r"\b(?:sta)?sera\b|\bserata\b|\bsul tardi\b", time(17), END_OF_DAY),
           (r"\bpomeriggio\b", time(14), time(18)),
           (r"\b(?:sta|do)?mattin[ao]\b|\bmattinata\b|\bstamani\b", time(9), time(12)),
           (r"\bprima (?:di |del )?pranzo\b", time(0), time(12)),
           (r"\bpranzo\b|\bmezzogiorno\b", time(12), time(14))],
    "en": [(r"\bearly (?:in the )?morning\b|\b(?:first|1st) thing\b|"
            r"\b(?:as soon as|when) you open\b", time(8), time(10)),
           (r"(?<!by )\bthe end of the day\b", time(17), END_OF_DAY),
           (r"\blate (?:in the )?morning\b|\bend of the morning\b", time(11), time(13)),
           (r"\bafter lunch(?: ?time)?\b|\bearly (?:in the )?afternoon\b", time(14), time(16)),
           (r"\blate (?:in the )?afternoon\b|\blater in the afternoon\b", time(16), time(18)),
           (r"\bmid ?morning\b", time(10), time(12)),
           (r"\bmid ?afternoon\b", time(15), time(17)),
           (r"\bevening\b|\btonight\b|\bafter work\b", time(17), END_OF_DAY),
           (r"\bafternoon\b", time(14), time(18)),
           (r"\bmorning\b", time(9), time(12)),
           (r"\bbefore lunch(?: ?time)?\b", time(0), time(12)),
           (r"\blunch ?time\b|\blunch\b|\bnoon\b|\bmidday\b", time(12), time(14))]}
NEGATED_PERIOD = {
    "it": r"\b(?:non|tranne|eccetto) (?:(?:la|di|nel|in|al|alla|della|il) )?"
          r"(?P<p>mattin[ao]|mattinata|pomeriggio|sera|serata)\b",
    "en": r"\b(?:not|except) (?:in |during |on )?(?:the |this )?"
          r"(?P<p>morning|afternoon|evening)s?\b"}

_DAY_WORDS = {"it": rf"oggi|domani|dopodomani|stasera|stamattina|{_D['it']}",
              "en": rf"today|tomorrow|tonight|{_D['en']}"}
CANCEL_WORDS = {"it": rf"\bnon (?:per |di |il )?(?:{_DAY_WORDS['it']})\b|\bieri\b|"
                      rf"\b(?:{_D['it']}) scors[oa]\b|\bsettimana scorsa\b",
                "en": rf"\bnot (?:on |for )?(?:{_DAY_WORDS['en']})\b|\byesterday\b|"
                      rf"\blast (?:{_D['en']}|week)\b"}
"""A day refused or already past: with nothing else said, the caller is asked again."""

ASAP = {"it": r"\b(?:il |al )?(?:prima possibile|piu presto possibile|appena possibile|"
              r"appena (?:potete|puo|riuscite)|quanto prima|subito|adesso|ora stesso|"
              r"immediatamente|tra poco|fra poco|a breve)\b",
        "en": r"\b(?:as soon as (?:possible|you can)|soon as you can|asap|a s a p|right away|"
              r"straight away|right now|(?<!not )now|immediately|shortly|in a bit|"
              r"in a little while)\b"}
ANYTIME = {"it": r"\b(?:quando (?:volete|vuole|vuoi|potete|puo|preferite|vi pare|vi e comodo|"
                 r"vi fa comodo|vi va|capita)|in qualsiasi momento|in qualunque momento|"
                 r"(?:a )?qualsiasi ora|(?:a )?qualunque ora|va bene tutto|tutto il giorno|"
                 r"sempre)\b",
           "en": r"\b(?:any ?time(?: at all)?|whenever(?: you (?:like|want|can))?|all day|"
                 r"at any point)\b"}

_AMOUNT = {
    "it": (r"(?:(?P<h>\d{1,2}|un|una) (?:or[ae]|orett[ae])"
           r"(?: e (?P<f>mezz[ao]|un quarto)| e (?P<fm>\d{1,2}) minut[oi])?"
           r"|(?P<half>(?:una |un )?mezz ?or(?:a|etta)|mezzora)|(?P<quarter>un quarto d ora)"
           r"|(?P<couple>un paio d(?:i)? (?:or[ae]|orett[ae]))"
           r"|(?P<few>qualche minuto|pochi minuti|un paio di minuti|una decina di minuti)"
           r"|(?P<twenty>una ventina di minuti)"
           r"|(?P<m>\d{1,3}) minut[oi])"),
    "en": (r"(?:(?P<h>\d{1,2}|an|a|one)(?: and a (?P<f>half|quarter))? hours?"
           r"(?: and a (?P<f2>half|quarter)|(?: and)? (?P<fm>\d{1,2}) (?:minutes?|mins?))?"
           r"|(?P<half>half an hour|half hour|a half hour)"
           r"|(?P<quarter>(?:a )?quarter of an hour|a quarter hour)"
           r"|(?P<couple>a couple (?:of )?hours)"
           r"|(?P<few>a few minutes|a couple (?:of )?minutes|a minute or two|a minute)"
           r"|(?P<m>\d{1,3}) (?:minutes?|mins?))")}
DELAY = {"it": [rf"\b(?P<pre>tra|fra|entro|nel giro di|in)(?: circa| piu o meno)? "
                rf"{_AMOUNT['it']}\b",
                rf"\b{_AMOUNT['it']} da (?:adesso|ora)\b"],
         "en": [rf"\b(?P<pre>in|within|in the next|within the next)"
                rf"(?: about| around| roughly| approximately| maybe| like| just)? "
                rf"{_AMOUNT['en']}\b",
                rf"\b{_AMOUNT['en']} from now\b",
                r"\b(?P<pre>within|in the next) (?:the )?(?P<whole>hour)\b"]}

CORRECTION = {
    "it": r"(?:\b(?:no|anzi|o meglio|meglio|invece|piuttosto|pardon|scusi|scusa|mi scusi|"
          r"cioe|facciamo|correggo|ho sbagliato|aspetti|aspetta)\b ?)+",
    "en": r"(?:\b(?:no(?! (?:later|earlier|sooner|problem|worries|matter))|sorry|actually|"
          r"i mean|or rather|rather|make it|instead|scratch that|wait|lets say|"
          r"lets make it|on second thought|change (?:that|it) to)\b ?)+"}
"""A run of these words starts a correction: what follows replaces what came before."""

WORDS = {
    "en": frozenset(
        "tomorrow today tonight morning afternoon evening noon midday lunch lunchtime "
        "monday tuesday wednesday thursday friday saturday sunday next hour hours minutes "
        "at after before around oclock clock pm half past quarter soon asap anytime "
        "whenever one two three four five six seven eight nine ten eleven twelve twenty "
        "thirty forty fifty the please".split()),
    "it": frozenset(
        "domani oggi dopodomani stasera stamattina mattina mattinata pomeriggio sera "
        "serata pranzo mezzogiorno lunedi martedi mercoledi giovedi venerdi sabato "
        "domenica settimana prossima prossimo alle dopo prima verso ore oretta minuti "
        "mezz mezza mezzora tra fra entro uno due tre quattro cinque sei sette otto "
        "nove dieci undici dodici venti trenta grazie gennaio febbraio marzo aprile "
        "maggio giugno luglio agosto settembre ottobre novembre dicembre".split())}
"""Each language's telling time words: what marks an utterance as mixed, and what a word
split by the recogniser ("dopo pran zo", "to morrow") is put back together into."""
FOREIGN = {"it": WORDS["en"], "en": WORDS["it"]}
"""Time words of the other language: an utterance using them is mixed, so asked again."""


def clock_time(piece: str, lang: str, part: str | None = None) -> time | None:
    """A clock phrase ("3 e mezza", "quarter to 4", "10 pm") as a time.

    Without "am"/"pm" in the phrase, `part` ("am" or "pm", from a period said with it:
    "stasera alle 8") decides; failing that, 1-7 mean afternoon.
    """
    if lang == "it":
        m = re.fullmatch(rf"({_H['it']})(?: e (\d{{1,2}})| (\d{{2}})| e (mezz[ao])|"
                         r" e (un quarto)| e (tre quarti)| meno (un quarto)| meno (\d{1,2}))?"
                         r"(?: (.+))?", piece)
        if not m:
            return None
        word = m.group(1)
        hour = {"una": 1, "mezzogiorno": 12, "mezzanotte": 0}.get(word) or int(
            word if word.isdigit() else 0)
        minute = int(m.group(2) or m.group(3) or 0) + (30 if m.group(4) else 0) + (
            15 if m.group(5) else 0) + (45 if m.group(6) else 0) - (
            15 if m.group(7) else 0) - int(m.group(8) or 0)
        suffix = m.group(9) or ""
        am, pm = "mattin" in suffix, "pomeriggio" in suffix or "sera" in suffix
    else:
        m = re.fullmatch(rf"(?:(half|quarter|a quarter|\d{{1,2}})(?: minutes)? (past|to) |"
                         rf"(half) )?({_H['en']})(?: (\d{{2}}))?(?: ?(.+))?", piece)
        if not m:
            return None
        word = m.group(4)
        hour = {"noon": 12, "midday": 12, "midnight": 0}.get(word) or int(
            word if word.isdigit() else 0)
        minute = int(m.group(5) or 0) + (30 if m.group(3) else 0)  # "half three" = 3:30
        if m.group(1):
            amount = {"half": 30, "quarter": 15, "a quarter": 15}.get(m.group(1)) or int(
                m.group(1))
            minute += amount if m.group(2) == "past" else -amount
        suffix = (m.group(6) or "").replace(" ", "")
        am, pm = suffix in ("am", "inthemorning"), suffix in ("pm", "intheafternoon",
                                                              "intheevening")
    if hour > 23 or not -60 < minute < 120:
        return None
    if pm or (part == "pm" and not am):
        hour += 12 if hour < 12 else 0
    elif not am and part != "am" and 1 <= hour <= 7:
        hour += 12  # "alle tre" is 15:00: the centre is closed at 3 am
    total = min(max(hour * 60 + minute, 0), 23 * 60 + 59)
    return time(total // 60, total % 60)


def delay_minutes(match: re.Match[str]) -> tuple[int, int]:
    """(minutes from now, window length) of a delay phrase: "tra un'oretta" -> (60, 60)."""
    groups = match.groupdict()
    fraction = {"mezza": 30, "mezzo": 30, "half": 30, "un quarto": 15, "quarter": 15}
    if groups.get("h"):
        hours = int(groups["h"]) if groups["h"].isdigit() else 1
        minutes = hours * 60 + fraction.get(groups.get("f") or groups.get("f2") or "", 0) + int(
            groups.get("fm") or 0)
    elif groups.get("half"):
        minutes = 30
    elif groups.get("quarter"):
        minutes = 15
    elif groups.get("whole"):
        minutes = 60
    elif groups.get("couple"):
        minutes = 120
    elif groups.get("few"):
        minutes = 10
    elif groups.get("twenty"):
        minutes = 20
    else:
        minutes = int(groups.get("m") or 0)
    if groups.get("pre") in ("entro", "nel giro di", "within", "within the next", "in the next"):
        return 0, minutes
    return minutes, 60
