"""Is the caller reporting an emergency? One answer for live calls and the admin's "Try it".

An emergency can be said at any question ("sì, ma sento odore di gas"), not only at the
need question, so the check runs on every answer with words: one of the flow's
`emergency` intent keywords is enough (an exact phrase is the strongest signal we have
and a false alarm only costs safety advice and a person); otherwise the intent must be
`emergency` at or above the flow's confirmation threshold. At a step that expects no
intent, the words are classified only when they were not a plain yes/no, number or time.
The flow chooses where emergencies go with `settings.emergency_step` (none by default).

Doubtful words are never treated as an emergency, and never ignored either: words the
recogniser may have misheard that would report one, or the `emergency` intent understood
with a confidence between the flow's reject and confirm thresholds, are `emergency_doubt`:
the engine asks the flow's `settings.emergency_question` ("Is it an emergency?").
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.flowdoc import FlowDoc
from speech.keywords import KeywordIndex
from speech.normalize import normalize
from speech.understanding import Understanding, Understood

EMERGENCY = "emergency"
"""The intent of a caller in danger (gas, flooding, sparks, someone at risk)."""


def emergency_confidence(flow: FlowDoc, understanding: Understanding, words: str, lang: str,
                         heard: Understood, path: Sequence[str] = ()) -> float | None:
    """How sure we are that `words` report an emergency (1.0 for a keyword), or None.

    None as well when the flow has no emergency step or no `emergency` intent, or when
    the call has already been to the emergency step (`path`): it is not sent there twice.
    """
    found = _emergency(flow, understanding, words, lang, heard, path)
    if found is not None and found >= float(flow.settings["confirm_below"]):
        return found
    return None


def emergency_doubt(flow: FlowDoc, understanding: Understanding, words: str, lang: str,
                    heard: Understood, path: Sequence[str] = (),
                    misheard: bool = False) -> float | None:
    """How likely `words` report an emergency when we are not sure enough to act on them
    (`misheard`: the recogniser doubts its own words), or None.

    None as well when the flow has no `emergency_question` to ask.
    """
    if not flow.settings.get("emergency_question"):
        return None
    found = _emergency(flow, understanding, words, lang, heard, path)
    if found is None or found < float(flow.settings["reject_below"]):
        return None
    if misheard or found < float(flow.settings["confirm_below"]):
        return found
    return None


def _emergency(flow: FlowDoc, understanding: Understanding, words: str, lang: str,
               heard: Understood, path: Sequence[str]) -> float | None:
    """The emergency intent's confidence for `words` (1.0 for a keyword), any confidence."""
    target = flow.emergency_step
    spec = flow.intents.get(EMERGENCY)
    if not words or not target or spec is None or target in path:
        return None
    index = flow.memo(("emergency_keywords",),
                      lambda: KeywordIndex.build({EMERGENCY: spec}, flow.languages))
    if index.match(normalize(words, lang), lang):
        return 1.0
    result = heard.intent
    if result is None and heard.yes_no is None and heard.phone is None \
            and heard.time_window is None:
        result = understanding.classify(flow.document, words, lang)
    if result is not None and result.intent == EMERGENCY:
        return float(result.confidence)
    return None
