"""TfidfRows and positive_probability give scikit-learn's numbers to the last bit.

They replace `TfidfVectorizer.transform` and `predict_proba` in the cue detectors for speed;
a decision made on them must be the one scikit-learn's path would make, so the comparison
is exact, not approximate.
"""

from __future__ import annotations

import pytest
from numpy.testing import assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from speech.cue_model import DATA, load_examples
from speech.normalize import normalize
from speech.tfidf import TfidfRows, positive_probability

LONG = ("buongiorno volevo dire che a casa non abbiamo il computer e mio figlio vive lontano "
        "quindi le bollette le leggo sulla carta e vorrei parlare con qualcuno per favore")
TEXTS = [
    "a casa non ho internet",
    "mio nipote mi fa tutto col telefonino",
    "I'd like to speak to a real person please",
    "my bill is far too high this quarter",
    "bolletta   bolletta\tbolletta bolletta",  # repeated n-grams: counts above one
    "ǂǂǂ ŋŋŋŋ",  # no known n-gram: an empty row, left unscaled
    "x",
    "",
    LONG,
    *[" ".join(LONG.split()[start:start + 8]) for start in range(0, 24, 4)],
]


@pytest.fixture(scope="module")
def fitted() -> tuple[TfidfVectorizer, LogisticRegression, list[str]]:
    examples = load_examples(DATA)
    texts, labels = [], []
    for lang, sets in examples.items():
        for kind, sentences in sets.items():
            texts += [normalize(s, lang) for s in sentences]
            labels += [kind == "not_digital"] * len(sentences)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=20.0, max_iter=2000, class_weight="balanced")
    return vectorizer, model.fit(features, labels), texts


def test_rows_equal_scikit_learns(fitted) -> None:
    vectorizer, _, training = fitted
    for texts in ([t] for t in TEXTS), [TEXTS], [training[:200]]:
        for batch in texts:
            expected = vectorizer.transform(batch)
            found = TfidfRows(vectorizer).transform(batch)
            assert found.shape == expected.shape
            assert_array_equal(found.indptr, expected.indptr)
            assert_array_equal(found.indices, expected.indices)
            assert_array_equal(found.data, expected.data)


def test_probabilities_equal_scikit_learns(fitted) -> None:
    vectorizer, model, training = fitted
    for batch in (TEXTS, training[:200], ["a casa non ho internet"]):
        features = TfidfRows(vectorizer).transform(batch)
        assert_array_equal(positive_probability(model, features),
                           model.predict_proba(vectorizer.transform(batch))[:, 1])


def test_only_l2_normalised_tf_idf_is_taken() -> None:
    vectorizer = TfidfVectorizer(norm="l1").fit(["ab cd", "cd ef"])
    with pytest.raises(ValueError):
        TfidfRows(vectorizer)
