"""Twilio's `<Say>` voices as the stand-in knows them: who speaks which language, and SSML.

Following Twilio's TwiML `<Say>` and Text-to-Speech pages and its error dictionary:

* no `voice` means `man`; the basic voices `man` and `woman` speak en (en-US), en-GB, es,
  fr and de; `alice` speaks a longer list of locales; none of them takes SSML;
* `Polly.<Name>` (standard) and `Polly.<Name>-Neural` speak their own locale and take SSML
  (`<prosody rate>` included); `Google.<locale>-<kind>-<X>` speak the locale in their name;
* a voice Twilio does not know, or one asked for a language it does not speak: warning
  13511 (Say: Invalid voice value) and the `<Say>` fails - the caller hears nothing and
  the call goes on with the next verb;
* SSML `<prosody>` for a basic voice, or a rate Twilio does not accept: warning 13513
  (Say: Invalid rate value) and the sentence is said at the default rate.

Only the voices the product might name are listed; extend the table when it names more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INVALID_VOICE = 13511
INVALID_RATE = 13513

BASIC_LANGUAGES = {"man": {"en", "en-us", "en-gb", "es", "es-es", "fr", "fr-fr", "de", "de-de"}}
BASIC_LANGUAGES["woman"] = BASIC_LANGUAGES["man"]
BASIC_LANGUAGES["alice"] = {
    "da-dk", "de-de", "en-au", "en-ca", "en-gb", "en-in", "en-us", "ca-es", "es-es", "es-mx",
    "fi-fi", "fr-ca", "fr-fr", "it-it", "ja-jp", "ko-kr", "nb-no", "nl-nl", "pl-pl", "pt-br",
    "pt-pt", "ru-ru", "sv-se", "zh-cn", "zh-hk", "zh-tw"}

# Amazon Polly voices by locale; names with a neural engine are also valid with "-Neural".
POLLY = {
    "it-it": ({"Carla", "Giorgio", "Bianca"}, {"Bianca", "Adriano"}),
    "en-gb": ({"Amy", "Brian", "Emma"}, {"Amy", "Brian", "Emma", "Arthur"}),
    "en-us": ({"Joanna", "Matthew", "Salli", "Ivy", "Kendra", "Kimberly", "Joey", "Justin"},
              {"Joanna", "Matthew", "Salli", "Ivy", "Kendra", "Kimberly", "Joey", "Justin",
               "Ruth", "Stephen", "Danielle", "Gregory"}),
    "es-es": ({"Conchita", "Enrique", "Lucia"}, {"Lucia", "Sergio"}),
    "fr-fr": ({"Celine", "Lea", "Mathieu"}, {"Lea", "Remi"}),
    "de-de": ({"Marlene", "Vicki", "Hans"}, {"Vicki", "Daniel"}),
    "ko-kr": ({"Seoyeon"}, {"Seoyeon"}),
}
GOOGLE = re.compile(r"Google\.([a-z]{2,3}-[A-Z]{2})-[A-Za-z0-9]+-[A-Z]")
RATE = re.compile(r"(x-slow|slow|medium|fast|x-fast|[0-9]{2,3}%)")


@dataclass(frozen=True)
class Notice:
    """A warning or error Twilio would show in the call's debugger log."""

    code: int
    message: str
    level: str = "WARNING"


@dataclass(frozen=True)
class Spoken:
    """What Twilio makes of one `<Say>`: whether it is heard, at what rate, and notices."""

    heard: bool
    rate: str | None
    notices: tuple[Notice, ...] = ()


def languages(voice: str) -> set[str] | None:
    """The (lower-case) language tags `voice` speaks; None for a voice Twilio does not know."""
    if voice in BASIC_LANGUAGES:
        return BASIC_LANGUAGES[voice]
    if voice.startswith("Polly."):
        name, neural = voice[len("Polly."):], voice.endswith("-Neural")
        name = name.removesuffix("-Neural")
        found = {tag for tag, (standard, neurals) in POLLY.items()
                 if name in (neurals if neural else standard)}
        return found or None
    match = GOOGLE.fullmatch(voice)
    return {match.group(1).lower()} if match else None


def speak(voice: str | None, language: str, rate: str | None, ssml: tuple[str, ...]) -> Spoken:
    """How Twilio treats a `<Say>` with this voice, language and SSML (see module doc)."""
    name = voice or "man"
    spoken = languages(name)
    if spoken is None:
        return Spoken(False, None, (Notice(INVALID_VOICE, f"Say: Invalid voice value "
                                                         f"{name!r}"),))
    if language.lower() not in spoken:
        return Spoken(False, None, (Notice(
            INVALID_VOICE, f"Say: voice {name!r} does not speak language {language!r}"),))
    if not ssml:
        return Spoken(True, None)
    if name in BASIC_LANGUAGES:
        return Spoken(True, None, (Notice(
            INVALID_RATE, f"Say: Invalid rate value: basic voice {name!r} takes no SSML "
                          f"(<{'>, <'.join(ssml)}>); said at the default rate"),))
    if rate is not None and not RATE.fullmatch(rate):
        return Spoken(True, None, (Notice(INVALID_RATE, f"Say: Invalid rate value {rate!r}; "
                                                        "said at the default rate"),))
    return Spoken(True, rate)
