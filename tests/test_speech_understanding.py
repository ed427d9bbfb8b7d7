"""Tests for speech.understanding, the facade the flow engine calls."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from speech.understanding import Understanding, decide, flow_languages, thresholds, warm_up

ROOT = Path(__file__).resolve().parents[1]
FLOW = {**yaml.safe_load((ROOT / "ivr/flows/main.yaml").read_text()),
        "languages": ["it", "en"], "settings": {"confirm_below": 0.7, "reject_below": 0.3}}
NOW = datetime(2025, 3, 13, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


def test_intent_step_finds_intent_and_cues_together():
    found = Understanding().understand(FLOW, "non ho internet e la bolletta è sbagliata",
                                       "it", "intent")
    assert found.intent.intent == "billing"
    assert found.not_digital.evidence == "non ho internet"
    assert not found.wants_human


def test_each_expectation_fills_its_own_field():
    understanding = Understanding()
    assert understanding.understand(FLOW, "sì", "it", "yes_no").yes_no == "yes"
    assert understanding.understand(FLOW, "tre tre nove uno due tre", "it",
                                    "phone").phone == "339123"
    window = understanding.understand(FLOW, "domani mattina", "it", "time", now=NOW)
    assert window.time_window is not None and window.time_window.kind == "period"
    assert understanding.understand(FLOW, "operatore", "it", "yes_no").wants_human
    with pytest.raises(ValueError):
        understanding.understand(FLOW, "domani", "it", "time")


def test_empty_utterance_understands_nothing():
    found = Understanding().understand(FLOW, "", "it", "intent")
    assert found.intent is None and found.not_digital is None


def test_thresholds_and_decisions():
    assert thresholds(FLOW) == (0.7, 0.3)
    assert thresholds({}) == (0.7, 0.3)
    result = Understanding().classify(FLOW, "bolletta", "it")
    assert decide(result, 0.7, 0.3) == "accept"
    assert decide(result, 0.99, 0.3) == "confirm"
    assert decide(result, 0.99, 0.99) == "reject"


def test_languages_default_to_those_with_examples():
    assert flow_languages({"intents": FLOW["intents"]}) == ["it", "en"]


class _StoredOnlyEncoder:
    """Every example vector "on disk": nothing in the warm-up needs the engine itself."""

    model_id = "stored-only"

    def __init__(self) -> None:
        self.loads = 0

    def embed_examples(self, texts):
        rows = np.random.default_rng(len(texts)).normal(size=(len(texts), 384))
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    embed = embed_examples

    def load(self) -> None:
        self.loads += 1


def test_the_warm_up_builds_the_engine_even_when_every_example_is_stored():
    # Otherwise each forked web process would build its own engine at its first caller.
    encoder = _StoredOnlyEncoder()
    warm_up(Understanding(encoder), flow_docs=[])
    assert encoder.loads == 1
