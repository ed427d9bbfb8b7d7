"""The form editor's values (ivr.admin_forms.apply_form): every schema field a form can carry."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ivr.admin.form_fields import SHOWN
from ivr.admin.forms import FormError, apply_form
from ivr.flowdoc import FLOWS_DIR, FlowDoc, load_file, validate_document

MISSING = object()


@pytest.fixture()
def doc() -> dict[str, Any]:
    """The shipped main flow (it, en): a transfer step `human`, a record step `leave_message`,
    a `say` step `documents_online` with digital_only."""
    return load_file(FLOWS_DIR / "main.yaml")


def at(document: dict[str, Any], field: str) -> Any:
    """The value a form field edits ("steps.human.timeout"), or MISSING."""
    node: Any = document
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


# field, a first value and what is stored, a second value and what is stored
EDITS = [
    ("steps.human.timeout", "45", 45, " 5 ", 5),
    ("steps.human.number", "02 1234 5678", "+390212345678", "+39 06 1234 5678",
     "+390612345678"),
    ("steps.leave_message.max_length", "600", 600, "30", 30),
    ("settings.transfer_number", "+39 02 1234 5678", "+390212345678", "0612345678",
     "+390612345678"),
    ("settings.asr_reject_below", "0,4", 0.4, "0.25", 0.25),
    ("settings.listen_timeout", "30", 30, "1", 1),
    ("settings.speech_input", "stream", "stream", "gather", "gather"),
    ("settings.say_language.en", "en-US", "en-US", "en-AU", "en-AU"),
    ("settings.voice.it", "Polly.Bianca", "Polly.Bianca", "Polly.Adriano", "Polly.Adriano"),
    ("settings.language_by_country", "IT: it, gb: en", {"IT": "it", "GB": "en"},
     "CH: it", {"CH": "it"}),
    ("numbers", "+39 02 1234 5678, 06 1234 5678", ["+390212345678", "+390612345678"],
     "0212345678\n0212345678", ["+390212345678"]),
    ("note", "Winter hours from December", "Winter hours from December", "Back to normal",
     "Back to normal"),
]


@pytest.mark.parametrize(("field", "first", "first_stored", "second", "second_stored"), EDITS)
def test_a_field_sets_its_value_and_a_second_save_changes_it(
        doc: dict[str, Any], field: str, first: str, first_stored: Any, second: str,
        second_stored: Any) -> None:
    edited = apply_form(doc, {field: first})
    assert at(edited, field) == first_stored
    assert validate_document(edited) == []
    changed = apply_form(edited, {field: second})
    assert at(changed, field) == second_stored
    assert validate_document(changed) == []


@pytest.mark.parametrize(("field", "value", "cleared"), [
    ("steps.human.timeout", "45", MISSING),
    ("steps.human.number", "0212345678", MISSING),
    ("steps.leave_message.max_length", "120", MISSING),
    ("settings.transfer_number", "0212345678", MISSING),
    ("settings.asr_reject_below", "0.4", MISSING),
    ("settings.confirm_below", "0.8", MISSING),
    ("settings.not_digital.pause_seconds", "3", MISSING),
    ("settings.say_language.en", "en-US", MISSING),
    ("settings.voice.en", "Polly.Amy", MISSING),
    ("settings.language_by_country", "IT: it", {}),
    ("numbers", "0212345678", MISSING),
    ("note", "Winter hours", MISSING),
])
def test_clearing_a_field_removes_the_value_so_the_default_applies(
        doc: dict[str, Any], field: str, value: str, cleared: Any) -> None:
    edited = apply_form(doc, {field: value})
    assert at(edited, field) is not MISSING
    emptied = apply_form(edited, {field: "  "})
    assert at(emptied, field) == cleared
    assert validate_document(emptied) == []


def test_cleared_timings_fall_back_to_the_engine_defaults(doc: dict[str, Any]) -> None:
    emptied = apply_form(doc, {"settings.listen_timeout": "", "steps.human.timeout": "",
                               "settings.not_digital.listen_timeout": ""})
    settings = FlowDoc(emptied).settings
    assert settings["listen_timeout"] == 5 and settings["not_digital"]["listen_timeout"] == 9
    assert settings["not_digital"]["prosody_rate"] == "85%"  # the others are kept
    assert "timeout" not in emptied["steps"]["human"]


@pytest.mark.parametrize(("field", "typed", "words"), [
    ("steps.human.timeout", "4", "4 is out of range: 5 to 120"),
    ("steps.human.timeout", "121", "121 is out of range: 5 to 120"),
    ("steps.human.timeout", "thirty", "'thirty' is not a number"),
    ("steps.human.timeout", "30.5", "'30.5' is not a whole number"),
    ("steps.leave_message.max_length", "601", "601 is out of range: 5 to 600"),
    ("steps.leave_message.max_length", "1e3", "'1e3' is not a number"),
    ("steps.human.number", "12345", "'12345' is not a valid phone number"),
    ("steps.human.number", "call Anna", "'call Anna' is not a valid phone number"),
    ("settings.transfer_number", "+39 02", "'+39 02' is not a valid phone number"),
    ("settings.asr_reject_below", "1.5", "1.5 is out of range: 0 to 1"),
    ("settings.asr_reject_below", "nan", "'nan' is not a number"),
    ("settings.listen_timeout", "0", "0 is out of range: 1 to 30"),
    ("settings.not_digital.pause_seconds", "6", "6 is out of range: 0 to 5"),
    ("settings.speech_input", "telepathy", "Choose one of stream, gather, auto"),
    ("settings.language_by_country", "IT: it, FR: fr", "Not valid: FR: fr"),
    ("settings.language_by_country", "Italy it", "Not valid: Italy it"),
    ("numbers", "0212345678, 42", "'42' is not a valid phone number"),
])
def test_a_bad_value_is_a_problem_at_its_field_in_both_languages_and_changes_nothing(
        doc: dict[str, Any], field: str, typed: str, words: str) -> None:
    with pytest.raises(FormError) as excinfo:
        apply_form(doc, {field: typed})
    [problem] = excinfo.value.problems
    assert problem.path == field.replace(".", "/")
    assert words in problem.text("en")
    assert problem.text("it") and problem.text("it") != problem.text("en")
    assert excinfo.value.document is not None
    assert at(excinfo.value.document, field) == at(doc, field)


def test_the_other_fields_of_a_refused_form_are_still_applied_for_the_redisplay(
        doc: dict[str, Any]) -> None:
    with pytest.raises(FormError) as excinfo:
        apply_form(doc, {"steps.human.timeout": "500", "steps.leave_message.max_length": "60",
                         "settings.barge_in": "yes"})
    assert [p.path for p in excinfo.value.problems] == ["steps/human/timeout"]
    shown = excinfo.value.document
    assert shown is not None and shown["steps"]["human"]["timeout"] == 30
    assert shown["steps"]["leave_message"]["max_length"] == 60
    assert shown["settings"]["barge_in"] is True


# ---------------------------------------------------------------- checkboxes
@pytest.mark.parametrize(("field", "key"), [
    ("settings.barge_in", ("settings", "barge_in")),
    ("steps.welcome.digital_only", ("steps", "welcome", "digital_only")),
])
def test_a_checkbox_turns_on_and_unchecked_with_its_marker_turns_off(
        doc: dict[str, Any], field: str, key: tuple[str, ...]) -> None:
    dotted = ".".join(key)
    assert at(doc, dotted) is MISSING
    on = apply_form(doc, {field + SHOWN: "1", field: "yes"})
    assert at(on, dotted) is True
    assert validate_document(on) == []
    off = apply_form(on, {field + SHOWN: "1"})  # what a browser posts for an unchecked box
    assert at(off, dotted) is MISSING
    assert validate_document(off) == []


def test_unchecking_turns_off_what_the_document_had_on(doc: dict[str, Any]) -> None:
    assert doc["steps"]["documents_online"]["digital_only"] is True
    off = apply_form(doc, {"steps.documents_online.digital_only" + SHOWN: "1"})
    assert not off["steps"]["documents_online"].get("digital_only")
    on = apply_form(doc, {"settings.barge_in": "yes"})
    assert FlowDoc(on).settings["barge_in"] is True
    off = apply_form(on, {"settings.barge_in" + SHOWN: "1"})
    assert not FlowDoc(off).settings.get("barge_in")


# ---------------------------------------------------------------- what the form does not carry
@pytest.fixture()
def rich(doc: dict[str, Any]) -> dict[str, Any]:
    """The main flow with every field of this change set to something other than a default."""
    rich = copy.deepcopy(doc)
    rich.update(note="Winter hours", numbers=["+390212345678"])
    rich["settings"].update(barge_in=True, speech_input="stream", asr_reject_below=0.4,
                            transfer_number="+390212345678", voice={"it": "Polly.Bianca"},
                            say_language={"it": "it-IT", "en": "en-US"},
                            language_by_country={"IT": "it"})
    rich["steps"]["human"].update(timeout=45, number="+390612345678")
    rich["steps"]["leave_message"]["max_length"] = 120
    rich["steps"]["welcome"]["digital_only"] = True
    rich["steps"]["book"].update(priority=True, source="phone")  # not in the form at all
    assert validate_document(rich) == []
    return rich


def test_a_form_that_carries_none_of_the_fields_leaves_every_value_as_it_was(
        rich: dict[str, Any]) -> None:
    assert apply_form(rich, {}) == rich
    edited = apply_form(rich, {"steps.goodbye.prompt.en": "Bye."})
    assert edited == {**rich, "steps": {**rich["steps"], "goodbye": {
        **rich["steps"]["goodbye"], "prompt": {**rich["steps"]["goodbye"]["prompt"],
                                              "en": "Bye."}}}}


def test_a_form_that_shows_the_values_unchanged_saves_the_same_document(
        rich: dict[str, Any]) -> None:
    form = {"note": "Winter hours", "numbers": "+390212345678",
            "settings.barge_in" + SHOWN: "1", "settings.barge_in": "yes",
            "settings.speech_input": "stream", "settings.asr_reject_below": "0.4",
            "settings.transfer_number": "+390212345678", "settings.voice.it": "Polly.Bianca",
            "settings.voice.en": "", "settings.say_language.it": "it-IT",
            "settings.say_language.en": "en-US", "settings.language_by_country": "IT: it",
            "steps.human.timeout": "45", "steps.human.number": "+390612345678",
            "steps.leave_message.max_length": "120", "steps.welcome.digital_only" + SHOWN: "1",
            "steps.welcome.digital_only": "yes"}
    assert apply_form(rich, form) == rich


def test_defaults_shown_in_the_form_are_not_written_into_a_document_without_them(
        doc: dict[str, Any]) -> None:
    del doc["settings"]["say_language"], doc["settings"]["speech_input"]
    del doc["settings"]["voice"]
    edited = apply_form(doc, {"settings.say_language.it": "it-IT",
                              "settings.say_language.en": "en-GB",
                              "settings.voice.it": "Polly.Bianca-Neural",
                              "settings.voice.en": "Polly.Amy-Neural",
                              "settings.speech_input": "auto"})
    assert edited == doc
