"""Learned cues: "I am not at ease online" and "let me talk to a person", however said.

The rules in `speech.cues` catch the plain statements ("non ho internet", "operator") and
stay as a precision floor: a rule hit is always a cue. Callers mostly say it indirectly
("in casa ho solo il fisso", "my grandson sorts out the computer things", "vorrei sentire
una voce vera"), which no list of patterns covers, so each cue also has a detector learnt
from example sets (`speech/data/cues.yaml`, >= 60 mostly indirect phrasings per language,
and ordinary callers' sentences, hard negatives included: a digital caller whose app
failed, "I don't need a person").

Each detector is a logistic regression over sentence embeddings (`speech.encoder`), one
cue against everything else (the flow's own intent examples count as ordinary callers
too). A cue is raised when its probability reaches the detector's threshold, chosen on the
development set for few false flags (docs/benchmarks.md, "Understanding"). The evidence
kept for agents is the clause of the utterance that scores highest, not the whole story.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from speech.cues import Cue, detect_human, detect_not_digital
from speech.encoder import Embedder
from speech.normalize import normalize

DATA = Path(__file__).with_name("data") / "cues.yaml"
KINDS = ("not_digital", "human")
THRESHOLDS = {"not_digital": 0.5, "human": 0.5}
"""Probability from which a cue is raised (tuned on the development set only)."""
SHORT_ANSWERS = {
    "it": ["sì", "no", "va bene", "d'accordo", "certo", "non lo so", "forse", "grazie",
           "pronto", "sì grazie", "no grazie", "uno", "due", "zero", "esatto", "ok"],
    "en": ["yes", "no", "okay", "all right", "sure", "I don't know", "maybe", "thank you",
           "hello", "yes please", "no thanks", "one", "two", "zero", "exactly", "right"],
}
"""Answers heard at every yes/no step: never a cue on their own."""
_CLAUSE_BREAK = re.compile(r"\b(?:ma|pero|perche|quindi|e poi|but|because|so|and then|"
                           r"anyway|comunque)\b")
WINDOW, STRIDE, LONG_TEXT = 8, 4, 12


@dataclass(frozen=True)
class CueScores:
    """Probability of each learned cue for one utterance."""

    not_digital: float
    human: float


def load_examples(path: Path = DATA) -> dict[str, dict[str, list[str]]]:
    """lang -> set name ("not_digital", "human", "ordinary") -> sentences."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(lang): {str(k): [str(s) for s in v or []] for k, v in sets.items()}
            for lang, sets in data.items()}


def _clauses(text: str) -> list[str]:
    """The utterance, and for long ones its clauses and overlapping word windows."""
    words = text.split()
    if len(words) <= LONG_TEXT:
        return [text]
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(text) if len(p.split()) >= 3]
    for start in range(0, len(words) - WINDOW + STRIDE, STRIDE):
        pieces.append(" ".join(words[start:start + WINDOW]))
    return [text] + list(dict.fromkeys(pieces))


class CueDetector:
    """Both learned detectors over one encoder; immutable after `train`."""

    def __init__(self, encoder: Embedder, models: Mapping[str, LogisticRegression],
                 thresholds: Mapping[str, float] | None = None) -> None:
        self._encoder = encoder
        self._weights = {kind: (np.ascontiguousarray(m.coef_[0]), float(m.intercept_[0]))
                         for kind, m in models.items()}
        self.thresholds = dict(thresholds or THRESHOLDS)

    @classmethod
    def train(cls, encoder: Embedder, examples: Mapping[str, Mapping[str, Sequence[str]]],
              extra_ordinary: Iterable[tuple[str, str]] = ()) -> CueDetector:
        """Learn each cue against the others and the ordinary sentences.

        `extra_ordinary` are (text, lang) pairs known to carry no cue: a flow's intent
        examples.
        """
        texts: list[str] = []
        kinds: list[str] = []
        for lang, sets in examples.items():
            for kind, sentences in sets.items():
                for sentence in sentences:
                    texts.append(normalize(sentence, lang))
                    kinds.append(kind)
            for sentence in SHORT_ANSWERS.get(lang, []):
                texts.append(normalize(sentence, lang))
                kinds.append("ordinary")
        for sentence, lang in extra_ordinary:
            texts.append(normalize(sentence, lang))
            kinds.append("ordinary")
        embed = getattr(encoder, "embed_examples", encoder.embed)
        vectors = embed(texts)
        labels = np.array(kinds)
        models = {}
        with threadpool_limits(limits=1):
            for kind in KINDS:
                model = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced")
                model.fit(vectors, labels == kind)
                models[kind] = model
        return cls(encoder, models)

    def _probabilities(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        return {kind: 1.0 / (1.0 + np.exp(-(vectors @ coef + intercept)))
                for kind, (coef, intercept) in self._weights.items()}

    def scores(self, text: str, lang: str) -> CueScores:
        """Probability of each cue for the whole utterance (normalised here)."""
        vector = self._encoder.embed([normalize(text, lang)])
        found = self._probabilities(vector)
        return CueScores(float(found["not_digital"][0]), float(found["human"][0]))

    def detect(self, text: str, lang: str) -> dict[str, Cue | None]:
        """Each cue with its evidence, rules first (a rule hit always counts)."""
        normalized = normalize(text or "", lang)
        found: dict[str, Cue | None] = {"not_digital": detect_not_digital(text, lang),
                                        "human": detect_human(text, lang)}
        if not normalized or all(found.values()):
            return found
        pieces = _clauses(normalized)
        vectors = self._encoder.embed(pieces)
        probabilities = self._probabilities(vectors)
        for kind in KINDS:
            if found[kind] is not None:
                continue
            best = int(np.argmax(probabilities[kind]))
            if probabilities[kind][best] >= self.thresholds[kind]:
                found[kind] = Cue(kind, pieces[best])
        return found


_DETECTORS: dict[tuple[int, str], CueDetector] = {}
_LOCK = threading.Lock()


def detector_for(encoder: Embedder, extra_ordinary: Sequence[tuple[str, str]] = (),
                 key: str = "") -> CueDetector:
    """The detector for an encoder (and a flow's ordinary examples, named by `key`),
    trained once per process."""
    cache_key = (id(encoder), key)
    with _LOCK:
        cached = _DETECTORS.get(cache_key)
    if cached is not None:
        return cached
    detector = CueDetector.train(encoder, load_examples(), extra_ordinary)
    with _LOCK:
        _DETECTORS[cache_key] = detector
        while len(_DETECTORS) > 16:
            _DETECTORS.pop(next(iter(_DETECTORS)))
    return detector
