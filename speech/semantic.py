"""The semantic half of intent classification: meaning, not spelling.

The lexical model (`speech.intents`) knows the admin's words; callers use their own ("the
lights went out and the fridge is off" has no word of "I have no power"). Here every
example is a sentence embedding (`speech.encoder`) and a logistic regression learns the
intents in that space, with the same background class of everyday sentences as the
lexical model. As there, its probability is only trusted near the examples: it is
multiplied by a ramp of the cosine similarity to the intent's nearest example, because e5
puts every sentence of a language in one narrow cone (unrelated sentences still score
~0.78), and a classifier far from its data is confidently wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from speech.encoder import Embedder

SIM_LOW = 0.80
"""Nearest-example cosine at or below which the semantic model gives an intent nothing."""
SIM_HIGH = 0.88
"""Nearest-example cosine from which its probability is taken at face value."""
C = 8.0


class SemanticIntents:
    """Logistic regression over sentence embeddings of a flow's examples."""

    def __init__(self, names: list[str], classes: list[str], coef: np.ndarray,
                 intercept: np.ndarray, examples: np.ndarray, owners: np.ndarray) -> None:
        self.names = names
        self._columns = np.array([classes.index(name) for name in names])
        self._coef = np.ascontiguousarray(coef.T)  # (dim, classes or 1)
        self._intercept = intercept
        self._binary = len(classes) <= 2
        self._examples = np.ascontiguousarray(examples.T)  # (dim, examples)
        self._owners = owners

    @classmethod
    def train(cls, names: list[str], texts: Sequence[str], labels: Sequence[str],
              intent_rows: int, encoder: Embedder) -> SemanticIntents:
        """Fit on `texts` (the first `intent_rows` are intents' examples, then background)."""
        vectors = encoder.embed_examples(list(texts)) if hasattr(encoder, "embed_examples") \
            else encoder.embed(list(texts))
        model = LogisticRegression(C=C, max_iter=1000, class_weight="balanced")
        with threadpool_limits(limits=1):
            model.fit(vectors, list(labels))
        owners = np.array([names.index(label) for label in labels[:intent_rows]])
        return cls(names, list(model.classes_), model.coef_, model.intercept_,
                   vectors[:intent_rows], owners)

    def scores(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(trusted confidence, nearest-example cosine) of every intent, `names` order."""
        decision = vector @ self._coef + self._intercept
        if self._binary:
            positive = 1.0 / (1.0 + np.exp(-decision[0]))
            probabilities = np.array([1.0 - positive, positive])
        else:
            exps = np.exp(decision - decision.max())
            probabilities = exps / exps.sum()
        similarity = vector @ self._examples
        nearest = np.full(len(self.names), -1.0)
        np.maximum.at(nearest, self._owners, similarity)
        ramp = np.clip((nearest - SIM_LOW) / (SIM_HIGH - SIM_LOW), 0.0, 1.0)
        return probabilities[self._columns] * ramp, nearest
