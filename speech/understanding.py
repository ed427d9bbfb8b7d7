"""One entry point for the flow engine: what did the caller mean at this step?

`Understanding` is what `app.extensions["understanding"]` holds. It is stateless apart
from the classifier cache (keyed by the content hash of a flow's intents), so one
instance serves every call.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from speech.cue_model import CueDetector, detector_for, ready_detector
from speech.cues import Cue, detect_human, detect_not_digital
from speech.encoder import Embedder, shared_encoder
from speech.entities import parse_phone_number, parse_yes_no
from speech.intents import NO_MATCH, IntentResult, classifier_for, ready_classifier
from speech.normalize import normalize
from speech.phrases import expected_phrases
from speech.timeparse import OpeningHours, TimeWindow, parse_callback_time

log = logging.getLogger(__name__)
SHIPPED_FLOWS = Path(__file__).resolve().parent.parent / "ivr" / "flows"
DEFAULT_CONFIRM_BELOW = 0.7
DEFAULT_REJECT_BELOW = 0.3


@dataclass(frozen=True)
class Understood:
    """Everything found in one utterance; fields that do not apply are None."""

    text: str
    lang: str
    intent: IntentResult | None = None
    yes_no: str | None = None
    phone: str | None = None
    time_window: TimeWindow | None = None
    not_digital: Cue | None = None
    human: Cue | None = None

    @property
    def wants_human(self) -> bool:
        """Whether the caller asked for a person."""
        return self.human is not None


def flow_languages(flow_doc: Mapping) -> list[str]:
    """The flow's languages, or those its intents have examples in."""
    languages = list(flow_doc.get("languages") or [])
    if languages:
        return languages
    found: dict[str, None] = {}
    for spec in (flow_doc.get("intents") or {}).values():
        for lang in (spec.get("examples") or {}):
            found.setdefault(lang, None)
    return list(found)


def thresholds(flow_doc: Mapping) -> tuple[float, float]:
    """(confirm_below, reject_below) from the flow's settings, with defaults."""
    settings = flow_doc.get("settings") or {}
    return (float(settings.get("confirm_below", DEFAULT_CONFIRM_BELOW)),
            float(settings.get("reject_below", DEFAULT_REJECT_BELOW)))


def decide(result: IntentResult, confirm_below: float, reject_below: float) -> str:
    """"accept", "confirm" or "reject" for an intent result under a flow's thresholds."""
    if result.intent is None or result.confidence < reject_below:
        return "reject"
    if result.confidence < confirm_below:
        return "confirm"
    return "accept"


class Understanding:
    """The understanding side of the hotline, shared by every call.

    `encoder` is the sentence encoder behind the semantic models; by default the process's
    shared one (`speech.encoder.shared_encoder`). `semantic=False` keeps to the lexical
    model and the rules (for comparisons in the benchmarks). With `wait_for_models=False`
    (the web app's default) a model that is not trained yet is trained on a background
    thread while the lexical model and the rules answer: the first caller after a deploy or
    a publish never waits ~30 s for embeddings. Tests and the evaluation tools wait, so
    their figures are always the full model's.
    """

    def __init__(self, encoder: Embedder | None = None, *, semantic: bool = True,
                 wait_for_models: bool = True) -> None:
        self._encoder = encoder
        self._semantic = semantic
        self.wait_for_models = wait_for_models

    @property
    def encoder(self) -> Embedder | None:
        """The sentence encoder in use, created on first need; None when lexical only."""
        if not self._semantic:
            return None
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def classify(self, flow_doc: Mapping, text: str, lang: str,
                 languages: Sequence[str] | None = None) -> IntentResult:
        """The caller's intent under the flow's `intents` section."""
        intents = flow_doc.get("intents") or {}
        if not intents:
            return NO_MATCH
        languages = languages or flow_languages(flow_doc)
        if self.wait_for_models:
            return classifier_for(intents, languages, self.encoder).classify(text, lang)
        return ready_classifier(intents, languages, self.encoder).classify(text, lang)

    def cue_detector(self, flow_doc: Mapping | None = None) -> CueDetector | None:
        """The learned cue detectors (None when lexical only). They do not depend on the
        flow: trained once per process, with the shipped flows' intent examples as
        ordinary callers, so a newly published flow never retrains them in a webhook."""
        encoder = self.encoder
        if encoder is None:
            return None
        if self.wait_for_models:
            return detector_for(encoder, _shipped_examples())
        return ready_detector(encoder, _shipped_examples())

    def cues(self, flow_doc: Mapping, text: str, lang: str) -> dict[str, Cue | None]:
        """"not_digital" and "human" cues with their evidence (rules, then learned)."""
        detector = self.cue_detector(flow_doc)
        if detector is None:
            return {"not_digital": detect_not_digital(text, lang),
                    "human": detect_human(text, lang)}
        return detector.detect(text, lang)

    def phrases(self, flow_doc: Mapping, lang: str, expecting: str) -> list[str]:
        """Phrase list for the recogniser at a step (see `speech.phrases`)."""
        return expected_phrases(flow_doc, lang, expecting)

    def understand(self, flow_doc: Mapping, text: str, lang: str, expecting: str,
                   now: datetime | None = None, tz: str | None = None) -> Understood:
        """Interpret an utterance for a step expecting "intent", "yes_no", "phone", "time"
        or "free"; the cues (not digital, wants a human) are looked for every time."""
        if not normalize(text or "", lang):
            return Understood(text or "", lang)
        settings = flow_doc.get("settings") or {}
        found: dict = dict(self.cues(flow_doc, text, lang))
        if expecting in ("intent", "free"):
            found["intent"] = self.classify(flow_doc, text, lang)
        elif expecting == "yes_no":
            found["yes_no"] = parse_yes_no(text, lang)
        elif expecting == "phone":
            found["phone"] = parse_phone_number(text, lang)
        elif expecting == "time":
            if now is None:
                raise ValueError("parsing a callback time needs `now`")
            hours = OpeningHours.from_settings(settings)
            found["time_window"] = parse_callback_time(
                text, lang, now, hours, tz or str(settings.get("timezone", "Europe/Rome")))
        return Understood(text, lang, **found)


_SHIPPED: list[tuple[str, str]] = []


def _shipped_examples() -> list[tuple[str, str]]:
    """(example, lang) of every intent of the flows shipped in ivr/flows."""
    if not _SHIPPED:
        for path in sorted(SHIPPED_FLOWS.glob("*.yaml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            _SHIPPED.extend((str(example), str(lang))
                            for spec in (doc.get("intents") or {}).values()
                            for lang, examples in (spec.get("examples") or {}).items()
                            for example in examples)
    return _SHIPPED


_WARMED: set[int] = set()
_WARM_LOCK = threading.Lock()
_WARMING: list[threading.Thread] = []
_FORK_HOOKED = False
_FROZEN = False


def _settle_before_fork() -> None:
    """Before this process forks (gunicorn `--preload`, RQ's work horses): let a running
    warm-up finish. A thread does not survive a fork: the child would get half-trained
    models and whatever locks the thread held at that instant (the encoder's, the
    classifier cache's, the allocator's), and would train everything again itself. After
    it, the children inherit the trained models and the loaded encoder, and share those
    pages with this process copy-on-write (docs/benchmarks.md, "Memory per web process").

    The first time, `gc.freeze()` also moves every object alive now out of the collector's
    reach, as the `gc` documentation advises before a fork without exec: otherwise the
    child's first collections write to the headers of all the parent's objects and copy
    their pages. Only once: a parent that forks per job (RQ) must not freeze its garbage.
    """
    global _FROZEN
    for thread in list(_WARMING):
        if thread is not threading.current_thread():
            thread.join()
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


def warm_up(understanding: Understanding, flow_docs: Sequence[Mapping] | None = None) -> None:
    """Train the models of `flow_docs` (default: the flows shipped in ivr/flows) so the
    first caller does not wait for them; embeddings land in the on-disk store."""
    if flow_docs is None:
        flow_docs = [yaml.safe_load(path.read_text(encoding="utf-8"))
                     for path in sorted(SHIPPED_FLOWS.glob("*.yaml"))]
    started = time.perf_counter()
    for doc in flow_docs:
        intents = doc.get("intents") or {}
        if intents:
            classifier_for(intents, flow_languages(doc), understanding.encoder)
    if understanding.encoder is not None:
        detector_for(understanding.encoder, _shipped_examples())
        understanding.encoder.load()  # even when every example came from the on-disk store
    log.info("understanding ready for %d flow(s) in %.1f s", len(flow_docs),
             time.perf_counter() - started)


def warm_up_in_background(understanding: Understanding) -> None:
    """`warm_up` on a daemon thread, once per process and understanding; a fork waits
    for it (`_settle_before_fork`)."""
    with _WARM_LOCK:
        if id(understanding) in _WARMED:
            return
        _WARMED.add(id(understanding))

    def run() -> None:
        try:
            warm_up(understanding)
        except Exception:  # a failed warm-up only costs the first caller some time
            log.exception("understanding warm-up failed")
        finally:
            with _WARM_LOCK:
                _WARMING.remove(threading.current_thread())

    global _FORK_HOOKED
    thread = threading.Thread(target=run, name="understanding-warm-up", daemon=True)
    with _WARM_LOCK:
        if not _FORK_HOOKED:
            _FORK_HOOKED = True
            os.register_at_fork(before=_settle_before_fork)
        _WARMING.append(thread)
    thread.start()
