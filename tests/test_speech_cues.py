"""Tests for speech.cues: the non-digital cue and the escape words for a human."""

import pytest

from speech.cues import Cue, detect_human, detect_not_digital, wants_human


@pytest.mark.parametrize(
    ("text", "lang", "evidence"),
    [
        ("non ho internet", "it", "non ho internet"),
        ("Guardi, non so usare il computer.", "it", "non so usare il computer"),
        ("mio figlio mi aiuta di solito", "it", "mio figlio mi aiuta di solito"),
        ("non ho lo smartphone", "it", "non ho lo smartphone"),
        ("non riesco a farlo online", "it", "non riesco a farlo online"),
        ("me lo fa sempre mia figlia", "it", "me lo fa sempre mia figlia"),
        ("io non sono pratica di computer", "it", "non sono pratica di computer"),
        ("I don't have a smartphone", "en", "i dont have a smartphone"),
        ("I can't do it online", "en", "i cant do it online"),
        ("Well, I'm not good with computers", "en", "im not good with computers"),
        ("my daughter does the emails", "en", "my daughter does the emails"),
        ("I don't know how to use the internet", "en", "i dont know how to use the internet"),
        ("I only have a landline", "en", "i only have a landline"),
        ("I'm no good with apps, love", "en", "im no good with apps"),
        ("I can't use the website, is there someone", "en", "i cant use the website"),
        ("I'm a bit of a dinosaur with all this", "en", "im a bit of a dinosaur"),
        ("인터넷이 없어요", "ko", "인터넷이 없어요"),
    ],
)
def test_non_digital_cue_is_found_with_its_evidence(text, lang, evidence):
    assert detect_not_digital(text, lang) == Cue("not_digital", evidence)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ho pagato online", "it"),
        ("I did it online but it failed", "en"),
        ("ho provato a pagare online ma mi dà errore", "it"),
        ("non riesco a farlo online, il sito dà errore", "it"),
        ("I can't pay online, the website keeps crashing", "en"),
        ("I paid my bill online last week", "en"),
        ("mio figlio ha cambiato casa", "it"),
        ("non ho ricevuto la bolletta", "it"),
        ("I don't have my bill", "en"),
        ("my daughter does it for me online but I'm 82 and I do all my banking on the iPad",
         "en"),
        ("me lo fa mia figlia, ma io faccio tutto online", "it"),
        ("", "it"),
    ],
)
def test_digital_callers_and_unrelated_text_give_no_cue(text, lang):
    assert detect_not_digital(text, lang) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [("operatore", "it"), ("voglio parlare con un operatore", "it"),
     ("posso parlare con qualcuno?", "it"), ("una persona, per favore", "it"),
     ("agent", "en"), ("I want to talk to a human", "en"), ("can I speak to someone", "en"),
     ("representative please", "en"), ("상담원 연결해 주세요", "ko")],
)
def test_escape_words_for_a_human(text, lang):
    assert wants_human(text, lang)
    assert detect_human(text, lang).kind == "human"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("sono una persona anziana", "it"), ("non voglio un operatore", "it"),
     ("I don't want an agent", "en"), ("the bill", "en"), ("", "en")],
)
def test_no_human_requested(text, lang):
    assert not wants_human(text, lang)
