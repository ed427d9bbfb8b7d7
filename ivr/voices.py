"""Which Twilio voice says each prompt, and whether it may be given SSML.

A `<Say>` without a voice is said by Twilio's basic `man` voice, which speaks only
English, Spanish, French and German and ignores SSML (warning 13513 for `<prosody>`), so
an Italian prompt, or the slower prosody for callers flagged not digital, never reached
the caller as meant. Each flow names a voice per language (`settings.voice`); without one
we use Amazon Polly neural voices, which speak the language natively and honour
`<prosody rate>`. Only voices of an SSML-capable provider (Amazon Polly, Google) are given
SSML; the basic voices (`man`, `woman`, `alice`) get the plain sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_VOICES = {"it": "Polly.Bianca-Neural", "en": "Polly.Amy-Neural",
                  "ko": "Polly.Seoyeon-Neural"}
DEFAULT_SAY_LANGUAGE = {"it": "it-IT", "en": "en-GB", "ko": "ko-KR"}
SSML_PROVIDERS = ("Polly.", "Google.")


# Twilio's basic voices and the languages they speak (man/woman: English, Spanish,
# French, German); a flow naming one for another language would say nothing at all.
BASIC_LANGUAGES = {"man": ("en", "es", "fr", "de"), "woman": ("en", "es", "fr", "de"),
                   "alice": ("da", "de", "en", "ca", "es", "fi", "fr", "it", "ja", "ko", "nb",
                             "nl", "pl", "pt", "ru", "sv", "zh")}


def voice_for(settings: Mapping[str, Any], lang: str) -> str | None:
    """The flow's voice for `lang`, else our default for it (None: Twilio's own default)."""
    chosen = (settings.get("voice") or {}).get(lang)
    return str(chosen) if chosen else DEFAULT_VOICES.get(lang)


def say_language(settings: Mapping[str, Any], lang: str) -> str:
    """Twilio's language tag for `lang` ("it" -> "it-IT")."""
    tags = settings.get("say_language") or DEFAULT_SAY_LANGUAGE
    return str(tags.get(lang) or DEFAULT_SAY_LANGUAGE.get(lang, lang))


def speaks_ssml(voice: str | None) -> bool:
    """Whether Twilio honours SSML (e.g. `<prosody>`) for `voice` (None is `man`: no)."""
    return bool(voice) and str(voice).startswith(SSML_PROVIDERS)
