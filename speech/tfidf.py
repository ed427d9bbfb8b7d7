"""TF-IDF rows exactly as scikit-learn's `TfidfVectorizer.transform` makes them, minus its checks.

The cue detectors score every utterance (and the clauses of long ones) with character
n-gram models. Through `transform` and `predict_proba`, scikit-learn's input validation
and general-purpose layers cost ~4 ms per utterance for microseconds of arithmetic. Here
the fitted parameters are read once and the same operations run in the same order: counts
in a CSR matrix with sorted indices, log + 1, times idf, each row scaled to unit length by
scikit-learn's own routine, then the sparse product with the coefficients. The numbers are
scikit-learn's to the last bit (tests/test_speech_tfidf.py), so no decision made on them
can differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2


class TfidfRows:
    """`vectorizer.transform(texts)` for a fitted `TfidfVectorizer` (l2 norm)."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        if vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError("only l2-normalised tf-idf is reproduced")
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        self._sublinear = bool(vectorizer.sublinear_tf)
        self._dtype = vectorizer.dtype

    def transform(self, texts: Sequence[str]) -> sp.csr_array:
        """The (len(texts), features) TF-IDF matrix, as `TfidfVectorizer.transform`."""
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:  # CountVectorizer._count_vocab, fixed vocabulary
            counter: dict[int, int] = {}
            for gram in self._analyzer(text):
                index = self._vocabulary.get(gram)
                if index is not None:
                    counter[index] = counter.get(index, 0) + 1
            indices.extend(counter)
            counts.extend(counter.values())
            indptr.append(len(indices))
        matrix = sp.csr_array(
            (np.asarray(counts, dtype=np.intc), np.asarray(indices, dtype=np.int32),
             np.asarray(indptr, dtype=np.int32)),
            shape=(len(texts), len(self._vocabulary)), dtype=self._dtype)
        matrix.sort_indices()
        if self._sublinear:  # TfidfTransformer.transform, in place
            np.log(matrix.data, matrix.data)
            matrix.data += 1.0
        matrix.data *= self._idf[matrix.indices]
        inplace_csr_row_normalize_l2(matrix)
        return matrix


def positive_probability(model: LogisticRegression, features: sp.csr_array) -> np.ndarray:
    """`model.predict_proba(features)[:, 1]` of a binary logistic regression."""
    decision = features @ model.coef_.T + model.intercept_
    return expit(decision[:, 0])
