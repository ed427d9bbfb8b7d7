"""Priority: not-digital first, then the promise, ageing so nobody starves, explanations."""

from __future__ import annotations

from datetime import timedelta

from callbacks import queue
from callbacks import settings as queue_settings
from callbacks.models import CallbackRequest
from callbacks.priority import effective_score, explain
from callbacks.settings import Weights
from tests.test_callbacks_support import TUESDAY_10, book


def _order(session, now):
    return [e.request.phone for e in queue.list_queue(session, now)]


def test_not_digital_caller_goes_before_an_earlier_digital_one(session):
    book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10 + timedelta(minutes=20),
         not_digital_cue="mio figlio mi aiuta con internet")
    assert _order(session, TUESDAY_10 + timedelta(minutes=21)) == [
        "+393331000002", "+393331000001"]


def test_waiting_ages_a_digital_request_past_a_newer_not_digital_one(session):
    book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10 + timedelta(minutes=150),
         not_digital_cue="non ho internet")
    first = session.get(CallbackRequest, 1)
    second = session.get(CallbackRequest, 2)
    weights = Weights()
    now = TUESDAY_10 + timedelta(minutes=151)
    # The older request has waited 150 minutes longer and its promise is long past:
    # that outweighs the not-digital bonus of 240 minutes.
    assert effective_score(first, now, weights) > effective_score(second, now, weights)
    assert _order(session, now) == ["+393331000001", "+393331000002"]


def test_order_by_stored_key_matches_scores_at_any_time(session):
    for i in range(12):
        book(session, f"+39333100{i:04d}", TUESDAY_10 + timedelta(minutes=7 * i),
             not_digital_cue="non ho internet" if i % 3 == 0 else None,
             window_start=TUESDAY_10 + timedelta(hours=2) if i == 5 else None,
             window_end=TUESDAY_10 + timedelta(hours=4) if i == 5 else None)
    weights = Weights()
    for later in (90, 300, 2000):
        now = TUESDAY_10 + timedelta(minutes=later)
        entries = queue.list_queue(session, now)
        scores = [effective_score(e.request, now, weights) for e in entries]
        assert scores == sorted(scores, reverse=True)


def test_explanation_reads_like_a_sentence(session):
    booking = book(session, "+393331000001", TUESDAY_10, not_digital_cue="non ho internet")
    request = session.get(CallbackRequest, booking.request_id)
    text = explain(request, TUESDAY_10 + timedelta(minutes=12), Weights(), "en").text()
    assert text == "not digital, waiting 12 minutes, promised by 10:15"
    italian = explain(request, TUESDAY_10 + timedelta(minutes=20), Weights(), "it").text()
    assert italian == "non digitale, in attesa da 20 minuti, promessa scaduta alle 10:15"


def test_changing_weights_reorders_open_requests(session):
    book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10 + timedelta(minutes=20),
         not_digital_cue="non ho internet")
    now = TUESDAY_10 + timedelta(minutes=21)
    assert _order(session, now)[0] == "+393331000002"
    queue_settings.save(session, "weights", {"not_digital_bonus": 0}, now)
    assert _order(session, now)[0] == "+393331000001"


def test_an_urgent_request_goes_before_hours_of_not_digital_waiting(session):
    book(session, "+393331000001", TUESDAY_10 - timedelta(hours=6),
         not_digital_cue="non ho internet")
    book(session, "+393331000002", TUESDAY_10 - timedelta(hours=3))
    book(session, "+393331000003", TUESDAY_10, intent="emergency",
         words="c'è odore di gas", urgent=True)
    assert _order(session, TUESDAY_10 + timedelta(hours=8)) == [
        "+393331000003", "+393331000001", "+393331000002"]


def test_an_urgent_request_is_explained_as_an_emergency_and_promises_no_time(session):
    booking = book(session, "+393331000003", TUESDAY_10, intent="emergency", urgent=True)
    request = session.get(CallbackRequest, booking.request_id)
    reason = explain(request, TUESDAY_10 + timedelta(minutes=3), Weights()).text()
    assert reason == "URGENT: emergency, waiting 3 minutes"
    assert explain(request, TUESDAY_10, Weights(), lang="it").text().startswith(
        "URGENTE: emergenza")


def test_a_silent_call_says_so_to_the_agents(session):
    booking = book(session, "+393331000004", TUESDAY_10, intent=None, words="",
                   source="silent")
    request = session.get(CallbackRequest, booking.request_id)
    assert explain(request, TUESDAY_10, Weights()).text().startswith("silent call, waiting")
    assert explain(request, TUESDAY_10, Weights(), lang="it").text().startswith(
        "chiamata silenziosa")
