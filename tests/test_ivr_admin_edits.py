"""Structural edits of a flow document (ivr.admin_edits) and the form fields that ask for them."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.admin import edits as admin_edits
from ivr.admin.edits import EditRefused
from ivr.admin.forms import FormError, apply_form
from ivr.flowdoc import FLOWS_DIR, TARGET_KEYS, load_file, validate_document
from ivr.validation import validate


@pytest.fixture()
def doc() -> dict[str, Any]:
    """The shipped main flow (it, en)."""
    return load_file(FLOWS_DIR / "main.yaml")


def refusal(excinfo: pytest.ExceptionInfo[EditRefused]) -> tuple[str, str]:
    [problem] = excinfo.value.problems
    return problem.path, problem.text("en")


THANKS = {"prompt": {"it": "Grazie del suo tempo.", "en": "Thanks for your time."}}


# ---------------------------------------------------------------- what each type offers
@pytest.mark.parametrize("step_type", admin_edits.step_types())
def test_every_route_field_the_schema_allows_is_offered_for_every_step_type(
        step_type: str) -> None:
    fields = admin_edits.step_fields(step_type)
    assert sorted(fields.targets + fields.other_targets) == sorted(TARGET_KEYS)
    assert not set(fields.targets) & set(fields.other_targets)
    required_targets = [k for k in fields.required if k in TARGET_KEYS]
    assert list(fields.targets[:len(required_targets)]) == \
        [k for k in TARGET_KEYS if k in required_targets]
    assert set(fields.texts) <= fields.required


def test_step_types_and_their_needs_come_from_the_schema() -> None:
    assert {"say", "ask", "route", "transfer", "end"} <= set(admin_edits.step_types())
    ask = admin_edits.step_fields("ask")
    assert ask.texts == ("prompt", "reprompt")
    assert ask.targets == ("next", "confirm", "on_failure")
    assert admin_edits.step_fields("route").routes
    assert admin_edits.step_fields("hours").targets == ("open", "closed")
    assert admin_edits.step_fields("end").targets == ()


# ---------------------------------------------------------------- add
def test_add_step_appends_a_valid_step_with_only_its_types_fields(doc: dict[str, Any]) -> None:
    edited = admin_edits.add_step(doc, "thanks", "say", {**THANKS, "reprompt": {"en": "x"}},
                                  {"next": "goodbye", "on_yes": "human"})
    assert list(edited["steps"])[-1] == "thanks"
    assert edited["steps"]["thanks"] == {"type": "say", **THANKS, "next": "goodbye",
                                         "on_yes": "human"}
    assert "thanks" not in doc["steps"]  # the original is left alone
    assert validate_document(edited) == []


def test_add_step_of_route_and_ask_types(doc: dict[str, Any]) -> None:
    edited = admin_edits.add_step(doc, "route_more", "route", {}, {"not_digital": "human"},
                                  {"billing": "offer_callback", "default": "human",
                                   "payment": ""})
    assert edited["steps"]["route_more"] == {
        "type": "route", "not_digital": "human",
        "routes": {"billing": "offer_callback", "default": "human"}}
    texts = {"prompt": {"it": "Mi dica", "en": "Tell me"},
             "reprompt": {"it": "Prema 1", "en": "Press 1"}}
    edited = admin_edits.add_step(edited, "ask_more", "ask", texts, {"next": "route_more"})
    assert edited["steps"]["ask_more"]["expecting"] == "intent"
    assert validate_document(edited) == []


@pytest.mark.parametrize(("name", "step_type", "texts", "targets", "path", "words"), [
    ("Bad Name", "say", THANKS, {"next": "goodbye"}, "new_step/key", "Invalid name"),
    ("goodbye", "say", THANKS, {"next": "goodbye"}, "new_step/key", "already a step"),
    ("thanks", "dance", THANKS, {"next": "goodbye"}, "new_step/type", "Unknown step type"),
    ("thanks", "say", {"prompt": {"it": " ", "en": ""}}, {"next": "goodbye"},
     "new_step/prompt/it", "needs this text"),
    ("thanks", "say", THANKS, {"next": ""}, "new_step/next", "needs this field"),
])
def test_add_step_is_refused_with_the_reason_at_its_field(
        doc: dict[str, Any], name: str, step_type: str, texts: Any, targets: Any, path: str,
        words: str) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.add_step(doc, name, step_type, texts, targets)
    where, text = refusal(excinfo)
    assert where == path and words in text


def test_a_route_step_needs_a_default_route(doc: dict[str, Any]) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.add_step(doc, "route_more", "route", {}, {}, {"billing": "human"})
    assert refusal(excinfo)[0] == "new_step/routes/default"


# ---------------------------------------------------------------- remove
def test_remove_step_takes_out_a_step_nothing_leads_to(doc: dict[str, Any]) -> None:
    added = admin_edits.add_step(doc, "thanks", "say", THANKS, {"next": "goodbye"})
    edited = admin_edits.remove_step(added, "thanks")
    assert edited == doc


def test_remove_step_is_refused_while_steps_route_to_it_and_lists_them(
        doc: dict[str, Any]) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.remove_step(doc, "goodbye")
    path, text = refusal(excinfo)
    assert path == "steps/goodbye"
    assert "steps.book.next" in text and "steps.leave_message.next" in text


def test_remove_step_is_refused_for_the_start_step(doc: dict[str, Any]) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.remove_step(doc, "welcome")
    assert refusal(excinfo) == ("steps/welcome", "'welcome' is the start step: choose another "
                                "start step first")


def test_remove_step_is_refused_for_the_human_step(doc: dict[str, Any]) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.remove_step(doc, "human")
    assert "settings.human_step" in refusal(excinfo)[1]
    assert "steps.route_need.routes.outage" in refusal(excinfo)[1]


def test_a_step_that_only_leads_to_itself_can_be_removed(doc: dict[str, Any]) -> None:
    added = admin_edits.add_step(doc, "again", "ask_time",
                                 {"prompt": {"en": "When?"}, "reprompt": {"en": "When?"}},
                                 {"next": "goodbye", "on_failure": "again"})
    assert "again" not in admin_edits.remove_step(added, "again")["steps"]


# ---------------------------------------------------------------- rename
def test_rename_step_updates_every_route_to_it_and_keeps_the_order(doc: dict[str, Any]) -> None:
    edited = admin_edits.rename_step(doc, "offer_callback", "offer_call_back")
    order = list(doc["steps"])
    assert list(edited["steps"]) == [n if n != "offer_callback" else "offer_call_back"
                                     for n in order]
    assert edited["steps"]["route_need"]["routes"]["default"] == "offer_call_back"
    assert edited["steps"]["documents_online"]["next"] == "offer_call_back"
    assert admin_edits.references(edited, "offer_callback") == []
    assert validate_document(edited) == []


def test_rename_of_the_start_and_human_steps_follows_them(doc: dict[str, Any]) -> None:
    edited = admin_edits.rename_step(doc, "welcome", "hello")
    assert edited["start"] == "hello"
    edited = admin_edits.rename_step(edited, "human", "agent")
    assert edited["settings"]["human_step"] == "agent"
    assert edited["steps"]["not_digital_heard"]["next"] == "agent"
    edited = admin_edits.rename_step(edited, "route_not_digital", "route_offline")
    assert edited["steps"]["route_need"]["not_digital"] == "route_offline"
    assert validate_document(edited) == []


@pytest.mark.parametrize(("new", "words"), [("goodbye", "already a step"),
                                            ("9lives", "Invalid name")])
def test_rename_step_is_refused_for_a_taken_or_bad_name(doc: dict[str, Any], new: str,
                                                        words: str) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.rename_step(doc, "book", new)
    path, text = refusal(excinfo)
    assert path == "steps/book/key" and words in text


# ---------------------------------------------------------------- reorder
def test_move_step_up_and_down_stopping_at_the_ends(doc: dict[str, Any]) -> None:
    order = list(doc["steps"])
    up = admin_edits.move_step(doc, order[2], -1)
    assert list(up["steps"])[:3] == [order[0], order[2], order[1]]
    assert list(admin_edits.move_step(doc, order[0], -1)["steps"]) == order
    assert list(admin_edits.move_step(doc, order[-1], 1)["steps"]) == order
    down = admin_edits.move_step(doc, order[0], 1)
    assert list(down["steps"])[:2] == [order[1], order[0]]
    assert down["steps"] == doc["steps"]  # same steps, other order


# ---------------------------------------------------------------- intents
def test_add_intent_with_labels_and_examples_per_language(doc: dict[str, Any]) -> None:
    edited = admin_edits.add_intent(doc, "moving", {"it": "il trasloco", "en": ""},
                                    {"it": ["devo traslocare", " "], "en": ["I am moving"]})
    assert edited["intents"]["moving"] == {
        "label": {"it": "il trasloco", "en": "moving"},
        "examples": {"it": ["devo traslocare"], "en": ["I am moving"]}}
    assert validate_document(edited) == []
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.add_intent(edited, "moving")
    assert refusal(excinfo) == ("new_intent", "There is already an intent 'moving'")


def test_remove_intent_is_refused_while_a_keypad_or_route_uses_it(doc: dict[str, Any]) -> None:
    with pytest.raises(EditRefused) as excinfo:
        admin_edits.remove_intent(doc, "outage")
    path, text = refusal(excinfo)
    assert path == "intents/outage"
    assert "steps.ask_need.keypad.3" in text and "steps.route_need.routes.outage" in text
    added = admin_edits.add_intent(doc, "moving")
    assert admin_edits.remove_intent(added, "moving") == doc


# ---------------------------------------------------------------- through the form
def test_the_form_adds_a_step_and_routes_to_it_in_two_saves(doc: dict[str, Any]) -> None:
    edited = apply_form(doc, {"op": "add_step", "new_step.key": "survey", "new_step.type": "say",
                              "new_step.prompt.it": "Grazie.", "new_step.prompt.en": "Thanks.",
                              "new_step.next": "goodbye", "new_step.on_yes": "human"})
    assert edited["steps"]["survey"] == {"type": "say", "prompt": {"it": "Grazie.",
                                         "en": "Thanks."}, "next": "goodbye",
                                         "on_yes": "human"}
    assert any(p.rule == "unreachable" and p.path == "steps/survey" for p in validate(edited))
    edited = apply_form(edited, {"steps.book.next": "survey"})
    assert not [p for p in validate(edited) if p.path.startswith("steps/survey")]


def test_the_form_removes_a_step_once_the_route_to_it_is_cleared_in_the_same_save(
        doc: dict[str, Any]) -> None:
    with pytest.raises(FormError) as excinfo:
        apply_form(doc, {"op": "remove_step:documents_online", "steps.goodbye.prompt.en": "Bye"})
    [problem] = excinfo.value.problems
    assert problem.path == "steps/documents_online"
    assert "steps.route_need.routes.documents" in problem.text("en")
    assert excinfo.value.document is not None
    assert excinfo.value.document["steps"]["goodbye"]["prompt"]["en"] == "Bye"
    edited = apply_form(doc, {"op": "remove_step:documents_online",
                              "steps.route_need.routes.documents": ""})
    assert "documents_online" not in edited["steps"]
    assert validate_document(edited) == []


def test_the_form_renames_moves_and_edits_keypads_and_intents(doc: dict[str, Any]) -> None:
    keypad = {f"steps.ask_need.keypad.{d}": "" for d in "123456789"}
    keypad["steps.ask_need.keypad.1"] = "billing"
    edited = apply_form(doc, {"op": "move_down:welcome", "steps.book.key": "booking",
                              **keypad, "steps.ask_need_again.keypad.6": "",
                              "intents.documents.delete": "yes",
                              "steps.route_need.routes.documents": "",
                              "new_intent": "moving", "new_intent.label.en": "your move",
                              "new_intent.examples.en": "I am moving\nnew address"})
    assert list(edited["steps"])[:2] == ["opening", "welcome"]
    assert "booking" in edited["steps"] and edited["steps"]["callback_number"]["next"] == \
        "booking"
    assert edited["steps"]["ask_need"]["keypad"] == {"1": "billing"}
    assert "documents" not in edited["intents"]
    assert edited["intents"]["moving"]["examples"]["en"] == ["I am moving", "new address"]
    assert validate_document(edited) == []


def test_the_form_refuses_an_intent_deletion_while_a_keypad_uses_it(doc: dict[str, Any]) -> None:
    with pytest.raises(FormError) as excinfo:
        apply_form(doc, {"intents.billing.delete": "yes"})
    [problem] = excinfo.value.problems
    assert problem.path == "intents/billing" and "steps.ask_need.keypad.1" in problem.text("en")
