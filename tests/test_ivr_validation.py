"""ivr.validation: each rule, with a flow that breaks it and the shipped flow that passes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ivr.flowdoc import load_file
from ivr.validation import MIN_EXAMPLES, Problem, blocking, validate, vocabulary_problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"it": ["la bolletta è alta", "bolletta sbagliata", "fattura", "conguaglio",
                   "ho un problema con la bolletta"],
            "en": ["my bill is high", "wrong bill", "invoice", "adjustment",
                   "problem with my bill"]}


def small_flow() -> dict[str, Any]:
    """A valid two-language flow: ask, confirm, route, transfer, book, goodbye."""
    return {
        "id": "small", "languages": ["it", "en"], "default_language": "it", "start": "ask",
        "settings": {"human_step": "human"},
        "intents": {"billing": {"label": {"it": "la bolletta", "en": "your bill"},
                                "examples": copy.deepcopy(EXAMPLES)}},
        "steps": {
            "ask": {"type": "ask", "expecting": "intent", "prompt": {"it": "Dica", "en": "Say"},
                    "reprompt": {"it": "Ripeta", "en": "Again"}, "confirm": "sure",
                    "next": "route", "on_failure": "human"},
            "sure": {"type": "confirm", "prompt": {"it": "{label}?", "en": "{label}?"},
                     "reprompt": {"it": "Sì o no?", "en": "Yes or no?"}, "on_yes": "route",
                     "on_no": "ask"},
            "route": {"type": "route", "routes": {"billing": "book", "default": "human"}},
            "human": {"type": "transfer", "prompt": {"it": "Attenda", "en": "Hold on"},
                      "closed": "book", "on_no_answer": "book"},
            "book": {"type": "book", "prompt": {"it": "Fatto", "en": "Done"}, "next": "bye"},
            "bye": {"type": "end", "prompt": {"it": "Ciao", "en": "Bye"}},
        },
    }


def rules(problems: list[Problem]) -> set[str]:
    return {p.rule for p in problems if p.severity == "error"}


class FakeVocabulary:
    """A vocabulary source with a fixed word list (the real one is tested as slow below)."""

    def __init__(self, languages: list[str], known: set[str]) -> None:
        self.languages = languages
        self.known = known

    def missing_words(self, lang: str, phrases: Any) -> list[str]:
        from speech.grammar import words_of

        return [w for w in words_of(phrases) if w not in self.known]


def test_the_small_flow_and_the_shipped_flow_have_no_errors() -> None:
    assert rules(validate(small_flow())) == set()
    shipped = validate(load_file(ROOT / "ivr/flows/main.yaml"))
    assert rules(shipped) == set()
    assert {p.rule for p in shipped} == {"no_model"}  # no Italian/English model installed


def test_schema_errors_point_at_the_bad_value() -> None:
    flow = small_flow()
    flow["settings"]["confirm_below"] = 3
    flow["steps"]["ask"]["type"] = "shout"
    problems = validate(flow)
    assert rules(problems) == {"schema"}
    paths = {p.path for p in problems}
    assert "settings/confirm_below" in paths and "steps/ask/type" in paths
    assert all(p.blocking for p in problems)


def test_a_target_that_does_not_exist_is_a_reference_error() -> None:
    flow = small_flow()
    flow["steps"]["book"]["next"] = "gone"
    [problem] = validate(flow)
    assert (problem.rule, problem.path) == ("reference", "steps/book/next")
    assert "gone" in problem.text("en") and "gone" in problem.text("it")


def test_a_route_for_an_unknown_intent_is_a_warning() -> None:
    flow = small_flow()
    flow["steps"]["route"]["routes"]["weather"] = "human"
    problems = validate(flow)
    assert [(p.rule, p.severity, p.path) for p in problems if p.rule == "reference"] == [
        ("reference", "warning", "steps/route/routes/weather")]


def test_a_step_that_only_leads_into_a_trap_is_a_dead_end() -> None:
    flow = small_flow()
    steps = flow["steps"]
    steps["trap_a"] = {"type": "say", "prompt": {"it": "a", "en": "a"}, "next": "trap_b"}
    steps["trap_b"] = {"type": "confirm", "prompt": {"it": "b", "en": "b"},
                       "reprompt": {"it": "b", "en": "b"}, "on_yes": "trap_a",
                       "on_no": "trap_b"}
    steps["lead_in"] = {"type": "say", "prompt": {"it": "c", "en": "c"}, "next": "trap_a"}
    steps["route"]["routes"]["billing"] = "lead_in"
    problems = validate(flow)
    assert rules(problems) == {"loop", "dead_end"}
    [dead] = [p for p in problems if p.rule == "dead_end"]
    assert dead.path == "steps/lead_in" and dead.blocking
    [loop] = [p for p in problems if p.rule == "loop"]
    assert "trap_a" in loop.text("en") and "trap_b" in loop.text("en")


def test_a_loop_that_never_asks_is_refused_even_with_an_exit() -> None:
    flow = small_flow()
    steps = flow["steps"]
    steps["spin"] = {"type": "hours", "open": "spin_say", "closed": "human"}
    steps["spin_say"] = {"type": "say", "prompt": {"it": "x", "en": "x"}, "next": "spin"}
    steps["route"]["routes"]["default"] = "spin"
    problems = validate(flow)
    assert rules(problems) == {"loop"}
    [loop] = [p for p in problems if p.rule == "loop"]
    assert loop.path == "steps/spin" and loop.blocking
    assert "never asks" in loop.text("en") and "spin_say" in loop.text("en")


def test_a_step_nobody_reaches_is_a_warning() -> None:
    flow = small_flow()
    flow["steps"]["orphan"] = {"type": "end", "prompt": {"it": "x", "en": "x"}}
    problems = validate(flow)
    assert rules(problems) == set()
    assert [(p.rule, p.path) for p in problems if p.rule == "unreachable"] == [
        ("unreachable", "steps/orphan")]


def test_every_prompt_and_label_in_every_language() -> None:
    flow = small_flow()
    flow["steps"]["bye"]["prompt"] = {"it": "Ciao"}
    flow["intents"]["billing"]["label"] = {"it": "la bolletta"}
    problems = [p for p in validate(flow) if p.rule == "prompt_language"]
    assert {p.path for p in problems} == {"steps/bye/prompt/en", "intents/billing/label/en"}
    assert rules(validate(flow)) == {"prompt_language"}
    assert all(p.blocking for p in problems)


@pytest.mark.parametrize("count", [0, 1, MIN_EXAMPLES - 1])
def test_an_intent_needs_enough_examples_per_language(count: int) -> None:
    flow = small_flow()
    flow["intents"]["billing"]["examples"]["en"] = EXAMPLES["en"][:count]
    problems = [p for p in validate(flow) if p.rule == "few_examples"]
    assert [p.path for p in problems] == ["intents/billing/examples/en"]
    assert str(count) in problems[0].text("en") and not problems[0].blocking
    assert blocking(problems) == []


def test_words_the_model_does_not_know_are_named_and_missing_models_are_warnings() -> None:
    flow = small_flow()
    known = {w for phrase in EXAMPLES["it"] + ["la bolletta"] for w in phrase.split()}
    known.discard("conguaglio")
    problems = vocabulary_problems(flow, FakeVocabulary(["it"], known))
    vocab = [p for p in problems if p.rule == "vocabulary"]
    assert [(p.path, p.words) for p in vocab] == [("intents/billing/examples/it",
                                                  ("conguaglio",))]
    assert "conguaglio" in vocab[0].text("it")
    [no_model] = [p for p in problems if p.rule == "no_model"]
    assert no_model.path == "languages/en" and no_model.severity == "warning"


@pytest.mark.slow
def test_the_korean_model_reports_the_words_it_cannot_hear() -> None:
    import yaml

    from speech.models import ModelRegistry

    flow = yaml.safe_load((ROOT / "tests/data/flows/ko_intents.yaml").read_text())
    problems = vocabulary_problems(flow, ModelRegistry.from_config({}))
    missing = {w for p in problems if p.rule == "vocabulary" for w in p.words}
    assert "고지서가" in missing  # measured: the model knows "고지서" but not "고지서가"
    assert "요금" not in missing


def test_an_emergency_step_that_does_not_exist_is_a_reference_error() -> None:
    flow = small_flow()
    flow["settings"]["emergency_step"] = "gone"
    [problem] = validate(flow)
    assert (problem.rule, problem.path) == ("reference", "settings/emergency_step")
    assert problem.blocking
