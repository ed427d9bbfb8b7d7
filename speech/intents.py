"""Intent classification learnt from a flow's example phrases.

Admins give each intent a handful of examples and keywords per language. We learn a
character n-gram model (TF-IDF over `char_wb` 2-5 grams + logistic regression, trained in
milliseconds) and then keep its probabilities honest, because with ten examples an
intent a logistic regression is confidently wrong on text it has never seen:

* the model is trained with a background class of everyday out-of-domain sentences, whose
  probability mass counts against every real intent;
* each intent's probability is multiplied by a ramp of the cosine similarity between the
  utterance and that intent's nearest example, so text far from every example (out of
  domain, or noise from the recogniser) cannot score high;
* exact keywords or phrases lift a single matching intent to a high confidence; when
  keywords of two intents are present the model decides but the confidence stays in the
  "ask for confirmation" band;
* very long answers are also scored in overlapping word windows, and the best window
  counts, so a long story with one relevant sentence is not diluted.

The figures that show how honest the result is (held-out accuracy, misroute rate,
calibration error) are in docs/benchmarks.md ("Understanding").
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from pathlib import Path

import numpy as np
import yaml
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from speech.clauses import focus
from speech.encoder import Embedder
from speech.keywords import KeywordIndex
from speech.normalize import normalize, only_filler
from speech.semantic import SemanticIntents

NONE_LABEL = "__none__"
SIM_LOW = 0.12
"""Nearest-example similarity at or below which an intent gets no confidence at all."""
SIM_HIGH = 0.50
"""Nearest-example similarity from which the model probability is taken at face value."""
NONE_FLOOR = 0.12
"""Best confidence under which the answer is "none": nothing fits."""
KEYWORD_CONFIDENCE = 0.92
KEYWORD_AGREEMENT = 0.55
"""Fused confidence an intent needs (with the semantic model's vote) for its keyword to lift
it to `KEYWORD_CONFIDENCE`; a keyword the models only half back is confirmed instead.
0.55 from 5-fold cross-validation over the examples: at 0.4, 10 of 300 keyword lifts were
wrong (a copy of a bill is a document, not a billing problem); at 0.55, 2 of 277."""
AMBIGUOUS_HIGH = 0.65
AMBIGUOUS_LOW = 0.45
WINDOW, STRIDE, LONG_TEXT = 8, 4, 14
SEMANTIC_WEIGHT = 0.5
"""Share of the semantic model in the fused confidence (the lexical model has the rest)."""

BACKGROUND_DATA = Path(__file__).parent / "data" / "background.yaml"


@cache
def background_sentences() -> dict[str, list[str]]:
    """lang -> everyday sentences that belong to no intent (speech/data/background.yaml);
    they anchor the background class, so an off-topic caller is asked again, not routed."""
    data = yaml.safe_load(BACKGROUND_DATA.read_text(encoding="utf-8")) or {}
    return {str(lang): [str(s) for s in sentences or []] for lang, sentences in data.items()}


@dataclass(frozen=True)
class IntentResult:
    """What the caller wants, with a calibrated confidence and the runner-up."""

    intent: str | None
    confidence: float
    runner_up: str | None
    runner_up_confidence: float
    matched_by: str  # "keyword" | "model" | "none"


NO_MATCH = IntentResult(None, 0.0, None, 0.0, "none")


def _ramp(similarity: np.ndarray) -> np.ndarray:
    return np.clip((similarity - SIM_LOW) / (SIM_HIGH - SIM_LOW), 0.0, 1.0)


class IntentClassifier:
    """A trained model for one flow's `intents` section; immutable after `train`."""

    def __init__(self, names: list[str], vectorizer: TfidfVectorizer,
                 model: LogisticRegression, matrix: np.ndarray, owners: np.ndarray,
                 keywords: KeywordIndex, semantic: SemanticIntents | None = None,
                 encoder: Embedder | None = None) -> None:
        self.names = names
        self.semantic = semantic
        self._encoder = encoder
        self._vectorizer = vectorizer  # the fitted sklearn objects stay as the reference
        self._model = model            # that `scores` reproduces (see tests)
        self._matrix = matrix
        self._owners = owners
        self._keywords = keywords
        self._columns = np.array([list(model.classes_).index(name) for name in names])
        # `scores` runs once per utterance inside a webhook, where sklearn's per-call input
        # validation and sparse matrices cost ~2.5 ms for microseconds of arithmetic. So the
        # fitted parameters are copied out once and `scores` computes the same numbers
        # directly: same analyzer, sublinear tf * idf, l2 norm, then the linear model.
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._coef_rows = np.ascontiguousarray(model.coef_.T)  # (features, classes or 1)
        self._intercept = np.asarray(model.intercept_, dtype=np.float64)
        self._binary = len(model.classes_) <= 2
        self._matrix_rows = np.ascontiguousarray(matrix.T)  # (features, training rows)

    @classmethod
    def train(cls, intents: Mapping[str, Mapping], languages: Sequence[str],
              encoder: Embedder | None = None) -> IntentClassifier:
        """Learn from every intent's examples and keywords in `languages`; with an
        `encoder`, a semantic model is learnt from the same sentences too."""
        names = sorted(intents)
        texts: list[str] = []
        labels: list[str] = []
        for name in names:
            spec = intents[name]
            for lang in languages:
                phrases = list((spec.get("examples") or {}).get(lang, []))
                phrases += list((spec.get("keywords") or {}).get(lang, []))
                for phrase in phrases:
                    text = normalize(str(phrase), lang)
                    if text:
                        texts.append(text)
                        labels.append(name)
        if len(names) < 1 or not texts:
            raise ValueError("intents need at least one example")
        intent_rows = len(texts)
        for lang in languages:
            background = background_sentences()
            for sentence in background.get(lang, background["en"]):
                texts.append(normalize(sentence, lang))
                labels.append(NONE_LABEL)
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        features = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=20.0, max_iter=500, solver="newton-cg",
                                   class_weight="balanced")
        with threadpool_limits(limits=1):  # BLAS threads only slow down a problem this small
            model.fit(features, labels)
        matrix = features[:intent_rows].toarray()
        owners = np.array([names.index(label) for label in labels[:intent_rows]])
        semantic = (SemanticIntents.train(names, texts, labels, intent_rows, encoder)
                    if encoder is not None else None)
        return cls(names, vectorizer, model, matrix, owners,
                   KeywordIndex.build(intents, languages), semantic, encoder)

    def scores(self, text: str, lang: str) -> np.ndarray:
        """Calibrated confidence of every intent (in `self.names` order) for normalised text."""
        probabilities, similarity = self._model_outputs(text)
        nearest = np.zeros(len(self.names))
        np.maximum.at(nearest, self._owners, similarity)
        return probabilities[self._columns] * _ramp(nearest)

    def _model_outputs(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """`predict_proba` (in `model.classes_` order) and the cosine similarity to every
        training row, for one text, without going through scikit-learn."""
        indices, values = self._tfidf(text)
        decision = values @ self._coef_rows[indices] + self._intercept
        if self._binary:  # LogisticRegression._predict_proba_lr: [1 - p, p]
            positive = expit(decision[0])
            probabilities = np.array([1.0 - positive, positive])
        else:  # sklearn.utils.extmath.softmax
            exps = np.exp(decision - decision.max())
            probabilities = exps / exps.sum()
        return probabilities, values @ self._matrix_rows[indices]

    def _tfidf(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's TF-IDF row as (feature indices, values), as `vectorizer.transform`."""
        counts = Counter(self._analyzer(text))
        indices = np.fromiter(map(self._vocabulary.get, counts, repeat(-1)), dtype=np.intp,
                              count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        known = indices >= 0  # n-grams never seen in training have no feature
        indices = indices[known]
        values = (np.log(tf[known]) + 1.0) * self._idf[indices]
        norm = np.sqrt(values @ values)
        if norm > 0.0:  # no known n-gram: an all-zero row, like sklearn's
            values /= norm
        return indices, values

    def _model_scores(self, text: str, lang: str) -> np.ndarray:
        words = text.split()
        best = self.scores(text, lang)
        if len(words) > LONG_TEXT:
            for start in range(0, len(words) - WINDOW + STRIDE, STRIDE):
                window = " ".join(words[start:start + WINDOW])
                best = np.maximum(best, self.scores(window, lang))
        return best

    def _scores_and_semantic_choice(self, text: str, lang: str
                                    ) -> tuple[np.ndarray, int | None]:
        """Fused scores (lexical and semantic models together; lexical alone without an
        encoder), and the intent the semantic model alone prefers (None without it)."""
        scores = self._model_scores(text, lang)
        if self.semantic is None or self._encoder is None:
            return scores, None
        semantic, _ = self.semantic.scores(self._encoder.embed([text])[0])
        fused = SEMANTIC_WEIGHT * semantic + (1.0 - SEMANTIC_WEIGHT) * scores
        return fused, int(np.argmax(semantic))

    def classify(self, text: str, lang: str) -> IntentResult:
        """Best intent for what the caller said, or intent None when nothing fits."""
        normalized = focus(normalize(text or "", lang), lang)
        if not normalized or only_filler(normalized, lang):
            return NO_MATCH
        scores, semantic_choice = self._scores_and_semantic_choice(normalized, lang)
        hits = self._keywords.match(normalized, lang)
        matched_by = "model"
        if len(hits) == 1:
            name = next(iter(hits))
            index = self.names.index(name)
            favourite = self.names[int(np.argmax(scores))]
            if favourite != name:
                hits.add(favourite)  # the model disagrees with the keyword: ambiguous
            elif (scores[index] >= KEYWORD_AGREEMENT
                  and semantic_choice in (None, index)):
                scores[index] = max(scores[index], KEYWORD_CONFIDENCE)
                matched_by = "keyword"
            else:
                # A keyword the meaning of the sentence barely backs ("le fatture dell'anno
                # scorso in una busta" is about documents): worth asking, not acting on.
                scores[index] = max(scores[index], AMBIGUOUS_HIGH)
                matched_by = "keyword"
        if len(hits) > 1:
            matched_by = "keyword"
            indexes = [self.names.index(name) for name in hits]
            ranked = sorted(indexes, key=lambda i: scores[i], reverse=True)
            top, other_top = ranked[0], ranked[1]
            share = scores[top] / (scores[top] + scores[other_top] + 1e-9)
            scores[top] = AMBIGUOUS_LOW + (AMBIGUOUS_HIGH - AMBIGUOUS_LOW) * (2 * share - 1)
            for other in ranked[1:]:
                scores[other] = min(scores[other], AMBIGUOUS_LOW)
        order = np.argsort(-scores)
        first = int(order[0])
        second = int(order[1]) if len(order) > 1 else None
        runner = self.names[second] if second is not None else None
        runner_score = float(scores[second]) if second is not None else 0.0
        if scores[first] < NONE_FLOOR:
            return IntentResult(None, 0.0, self.names[first], float(scores[first]), "none")
        return IntentResult(self.names[first], round(float(scores[first]), 4), runner,
                            round(runner_score, 4), matched_by)


def intents_hash(intents: Mapping[str, Mapping], languages: Sequence[str]) -> str:
    """Stable content hash of an intents section (and its languages)."""
    payload = json.dumps([intents, list(languages)], sort_keys=True, ensure_ascii=False,
                         default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_CACHE: OrderedDict[str, IntentClassifier] = OrderedDict()
_CACHE_SIZE = 32
_LOCK = threading.Lock()


def classifier_for(intents: Mapping[str, Mapping], languages: Sequence[str],
                   encoder: Embedder | None = None) -> IntentClassifier:
    """Cached by content hash: instant on re-use, retrained when the intents change."""
    key = intents_hash(intents, languages) + (f"/{encoder.model_id}" if encoder else "")
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    classifier = IntentClassifier.train(intents, languages, encoder)
    with _LOCK:
        _CACHE[key] = classifier
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return classifier


_TRAINING: set[str] = set()


def ready_classifier(intents: Mapping[str, Mapping], languages: Sequence[str],
                     encoder: Embedder | None) -> IntentClassifier:
    """The classifier a webhook can use right now: the semantic one when it is trained,
    otherwise the lexical one (tens of milliseconds) while the semantic one is trained on a
    background thread, so a caller never waits for a model to train."""
    if encoder is None:
        return classifier_for(intents, languages)
    key = intents_hash(intents, languages) + f"/{encoder.model_id}"
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        start = key not in _TRAINING
        _TRAINING.add(key)
    if start:
        def train() -> None:
            try:
                classifier_for(intents, languages, encoder)
            finally:
                with _LOCK:
                    _TRAINING.discard(key)

        threading.Thread(target=train, name="intent-training", daemon=True).start()
    return classifier_for(intents, languages)
