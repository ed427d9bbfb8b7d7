"""The direct computation in IntentClassifier.scores gives scikit-learn's numbers.

`scores` skips `TfidfVectorizer.transform` and `LogisticRegression.predict_proba` for speed;
these tests run the scikit-learn path on the same fitted objects and compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from numpy.testing import assert_allclose

from speech.intents import NONE_LABEL, IntentClassifier, _ramp
from speech.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "ivr/flows/main.yaml").read_text())["intents"]
KOREAN = yaml.safe_load((ROOT / "tests/data/flows/ko_intents.yaml").read_text())["intents"]


def _single(name: str) -> dict:
    """A flow with one intent, so the model has two classes (the intent and background)."""
    return {name: {
        "examples": {
            "it": ["vorrei parlare con un operatore", "mi passi un operatore per favore",
                   "voglio parlare con una persona", "operatore"],
            "en": ["I want to talk to an agent", "put me through to a person please",
                   "can I speak to someone", "agent"],
        },
        "keywords": {"it": ["operatore"], "en": ["agent", "operator"]},
    }}


LONG = ("buongiorno volevo segnalare che da ieri sera non arriva più la corrente in tutto "
        "il palazzo e inoltre la bolletta di marzo mi sembra altissima quindi vorrei parlare "
        "con qualcuno al più presto grazie")
UNKNOWN = "ǂǂǂ ŋŋŋŋ"
"""No character of this is in any training text, so none of its n-grams is a feature."""
TEXTS = [
    ("mi è arrivata una bolletta altissima", "it"),
    ("da stamattina non ho la corrente in casa", "it"),
    ("vorrei intestare la fornitura a mia moglie", "it"),
    ("vorrei parlare con un operatore", "it"),
    ("Perché l'addebito è così caro?!", "it"),
    ("però... città, caffè, più già", "it"),
    ("my electricity isn't working", "en"),
    ("I want to reschedule the engineer's visit", "en"),
    ("could you mail me a duplicate", "en"),
    ("put me through to an AGENT, please!", "en"),
    ("what's the weather today", "en"),
    ("zzzz qqqq", "it"),
    (UNKNOWN, "en"),
    ("x", "en"),
    ("bolletta   bolletta\tbolletta bolletta", "it"),
    ("요금이 너무 많이 나왔어요", "ko"),
    ("전기가 안 들어와요", "ko"),
    (LONG, "it"),
]
FLOWS = {
    "default": (DEFAULT, ["it", "en"]),
    "korean": (KOREAN, ["ko"]),
    "one intent after the background label": (_single("operator"), ["it", "en"]),
    "one intent before the background label": (_single("Operator"), ["it", "en"]),
}


@pytest.fixture(scope="module", params=list(FLOWS), ids=list(FLOWS))
def classifier(request) -> IntentClassifier:
    intents, languages = FLOWS[request.param]
    return IntentClassifier.train(intents, languages)


def _sklearn_outputs(classifier: IntentClassifier, text: str) -> tuple[np.ndarray, np.ndarray]:
    vector = classifier._vectorizer.transform([text])
    probabilities = classifier._model.predict_proba(vector)[0]
    similarity = vector.toarray()[0] @ classifier._matrix.T
    return probabilities, similarity


def _sklearn_scores(classifier: IntentClassifier, text: str) -> np.ndarray:
    probabilities, similarity = _sklearn_outputs(classifier, text)
    classes = list(classifier._model.classes_)
    columns = [classes.index(name) for name in classifier.names]
    nearest = np.zeros(len(classifier.names))
    np.maximum.at(nearest, classifier._owners, similarity)
    return probabilities[columns] * _ramp(nearest)


class _SklearnPath(IntentClassifier):
    """The same trained classifier, scoring through scikit-learn as before."""

    def scores(self, text: str, lang: str) -> np.ndarray:
        return _sklearn_scores(self, text)


def _inputs() -> list[str]:
    raw = [text for text, _ in TEXTS]
    return raw + [normalize(text, lang) for text, lang in TEXTS]


def test_binary_flows_really_have_two_classes_in_both_orders():
    first = IntentClassifier.train(_single("operator"), ["it", "en"])
    second = IntentClassifier.train(_single("Operator"), ["it", "en"])
    assert list(first._model.classes_) == [NONE_LABEL, "operator"]
    assert list(second._model.classes_) == ["Operator", NONE_LABEL]
    assert first._model.coef_.shape[0] == 1


@pytest.mark.parametrize("text", _inputs())
def test_tfidf_row_matches_the_vectorizer(classifier, text):
    indices, values = classifier._tfidf(text)
    dense = np.zeros(len(classifier._vectorizer.vocabulary_))
    dense[indices] = values
    assert len(set(indices.tolist())) == len(indices)
    assert_allclose(dense, classifier._vectorizer.transform([text]).toarray()[0],
                    rtol=0, atol=1e-12)


@pytest.mark.parametrize("text", _inputs())
def test_probabilities_and_similarities_match_sklearn(classifier, text):
    probabilities, similarity = classifier._model_outputs(text)
    expected_probabilities, expected_similarity = _sklearn_outputs(classifier, text)
    assert_allclose(probabilities, expected_probabilities, rtol=0, atol=1e-9)
    assert_allclose(similarity, expected_similarity, rtol=0, atol=1e-9)


@pytest.mark.parametrize("text", _inputs())
def test_scores_match_sklearn(classifier, text):
    assert_allclose(classifier.scores(text, "it"), _sklearn_scores(classifier, text),
                    rtol=0, atol=1e-9)


def test_text_with_no_known_ngram_gives_the_intercept_and_no_similarity(classifier):
    indices, values = classifier._tfidf(UNKNOWN)
    assert len(indices) == len(values) == 0
    probabilities, similarity = classifier._model_outputs(UNKNOWN)
    model = classifier._model
    empty = np.zeros((1, len(classifier._vectorizer.vocabulary_)))
    assert_allclose(probabilities, model.predict_proba(empty)[0], rtol=0, atol=1e-9)
    assert not similarity.any()
    assert not classifier.scores(UNKNOWN, "en").any()


def test_the_texts_exercise_confident_and_unsure_scores(classifier):
    # Guards the comparisons above against passing on all-zero scores.
    best = [float(classifier.scores(normalize(text, lang), lang).max()) for text, lang in TEXTS]
    assert max(best) > 0.5
    assert min(best) == 0.0


@pytest.mark.parametrize(("text", "lang"), TEXTS)
def test_classify_is_unchanged(classifier, text, lang):
    reference = _SklearnPath(classifier.names, classifier._vectorizer, classifier._model,
                             classifier._matrix, classifier._owners, classifier._keywords)
    fast, slow = classifier.classify(text, lang), reference.classify(text, lang)
    assert (fast.intent, fast.runner_up, fast.matched_by) == (
        slow.intent, slow.runner_up, slow.matched_by)
    # Confidences are rounded to 4 places except for a "none" answer's runner-up.
    assert fast.confidence == pytest.approx(slow.confidence, abs=1e-9)
    assert fast.runner_up_confidence == pytest.approx(slow.runner_up_confidence, abs=1e-9)
