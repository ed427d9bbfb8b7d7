"""The evaluation sets stay unseen: no sentence of them is also a training sentence.

A figure measured on sentences the models were trained on says nothing about new callers.
Training and evaluation data are written by different people, but they may meet by chance
(both writers given the same illustrative phrasing). Short utterances ("pronto", "yes
please") are allowed to coincide: every caller says them; longer ones are not.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from speech.cue_model import load_examples
from speech.intents import background_sentences

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "eval"
SHIPPED_FLOWS = ROOT / "ivr" / "flows"
LONGEST_SHARED = 3  # words: "mi passi un operatore" may not coincide, "yes please" may


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@cache  # read once for all the evaluation files
def _training_sentences() -> dict[str, str]:
    """normalised sentence -> where it is trained from."""
    found: dict[str, str] = {}
    for path in sorted(SHIPPED_FLOWS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, spec in (doc.get("intents") or {}).items():
            for examples in (spec.get("examples") or {}).values():
                for example in examples:
                    found[_words(str(example))] = f"{path.name} intent {name}"
    for lang, sets in load_examples().items():
        for kind, sentences in sets.items():
            for sentence in sentences:
                found[_words(sentence)] = f"speech/data/cues.yaml {lang}.{kind}"
    for lang, sentences in background_sentences().items():
        for sentence in sentences:
            found[_words(sentence)] = f"speech/data/background.yaml {lang}"
    return found


EVAL_FILES = sorted(p for p in EVAL.glob("*/*.yaml") if not p.name.startswith("times"))


def test_there_are_evaluation_sets():
    assert len(EVAL_FILES) >= 8


@pytest.mark.parametrize("path", EVAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_evaluation_sentence_is_trained_on(path: Path):
    training = _training_sentences()
    cases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases") or []
    shared = [(case["text"], training[_words(case["text"])]) for case in cases
              if len(_words(case["text"]).split()) > LONGEST_SHARED
              and _words(case["text"]) in training]
    # Name only the training side: the fix is to drop the training sentence, and the blind
    # sets' own sentences are not printed anywhere.
    assert not shared, (f"{len(shared)} sentences of {path.parent.name}/{path.name} are also "
                        f"trained on; drop them from: "
                        f"{sorted({where for _, where in shared})}")
