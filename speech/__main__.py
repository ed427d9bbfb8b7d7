"""`python -m speech`: list/download models, transcribe a file, evaluate understanding.

    python -m speech models                   # language, path, sample rate, ok/broken
    python -m speech models download it       # official small model (needs the internet)
    python -m speech transcribe FILE [--lang ko] [--phrase 네 --phrase 아니요]
    python -m speech evaluate ...             # speech.evaluate.main (understanding)

Model configuration comes from the environment (VOSK_MODEL_PATH, VOSK_MODEL_PATHS,
VOSK_MODEL_LANG), plus pip-installed model packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from speech.models import ModelRegistry, ModelUnavailable, inspect_model

MODEL_LIST_URL = "https://alphacephei.com/vosk/models/model-list.json"
MODEL_BASE_URL = "https://alphacephei.com/vosk/models/"
OFFICIAL_MODELS = {"it": "vosk-model-small-it-0.22", "en": "vosk-model-small-en-us-0.15"}
ENV_KEYS = ("VOSK_MODEL_PATH", "VOSK_MODEL_PATHS", "VOSK_MODEL_LANG", "VOSK_DISCOVER_PACKAGES")


def registry_from_env() -> ModelRegistry:
    """The model registry as configured by this process's environment."""
    return ModelRegistry.from_config({k: os.environ[k] for k in ENV_KEYS if k in os.environ})


def list_models(registry: ModelRegistry, load: bool) -> int:
    """Print one line per configured language; exit status 1 if any model is broken."""
    if not registry.languages:
        print("no Vosk models configured (set VOSK_MODEL_PATHS=it=/path,en=/path)")
        return 1
    broken = 0
    for lang in registry.languages:
        if load:
            registry.available(lang)
        entry = registry.status()[lang]
        state = "ok" if entry["ok"] else f"broken: {entry['error']}"
        print(f"{lang}\t{entry['path']}\t{entry['sample_rate']} Hz\t{state}")
        broken += 0 if entry["ok"] else 1
    return 1 if broken else 0


def download_model(lang: str, target: Path) -> int:
    """Download and unpack the official small model for `lang` under `target`."""
    name = OFFICIAL_MODELS.get(lang)
    if name is None:
        print(f"error: no official model known for {lang!r} (known: {', '.join(OFFICIAL_MODELS)})",
              file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(MODEL_LIST_URL, timeout=15) as response:
            listed = {m.get("name") for m in json.load(response)}
        if name not in listed:
            print(f"error: {name} is not in {MODEL_LIST_URL}", file=sys.stderr)
            return 1
        target.mkdir(parents=True, exist_ok=True)
        archive = target / f"{name}.zip"
        urllib.request.urlretrieve(f"{MODEL_BASE_URL}{name}.zip", archive)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(target)
        archive.unlink()
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"error: cannot download {name} from alphacephei.com ({reason}); "
              f"copy the model directory here by hand and set VOSK_MODEL_PATHS", file=sys.stderr)
        return 1
    info = inspect_model(target / name)
    print(f"downloaded {lang}: {info.path} ({'ok' if not info.problem else info.problem})")
    print(f"use it with VOSK_MODEL_PATHS={lang}={info.path}")
    return 0 if not info.problem else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m speech`."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["evaluate"]:
        from speech.evaluate import main as evaluate_main

        return evaluate_main(args_in[1:])
    parser = argparse.ArgumentParser(prog="python -m speech")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list installed models, or download one")
    models.add_argument("action", nargs="?", choices=["list", "download"], default="list")
    models.add_argument("lang", nargs="?")
    models.add_argument("--dir", default=str(Path.home() / ".cache" / "vosk"))
    models.add_argument("--load", action="store_true", help="also try loading each model")
    transcribe = commands.add_parser("transcribe", help="transcribe a WAV or raw mu-law file")
    transcribe.add_argument("file")
    transcribe.add_argument("--lang", default=os.environ.get("VOSK_MODEL_LANG", "ko"))
    transcribe.add_argument("--phrase", action="append", help="limit to these phrases")
    commands.add_parser("evaluate", help="evaluate understanding (speech.evaluate)")
    args = parser.parse_args(args_in)

    if args.command == "models":
        if args.action == "download":
            if not args.lang:
                parser.error("models download needs a language, e.g. it or en")
            return download_model(args.lang, Path(args.dir))
        return list_models(registry_from_env(), args.load)
    from speech.transcribe import UnsupportedAudio, transcribe_file

    try:
        utterance = transcribe_file(args.file, args.lang, registry_from_env(), args.phrase)
    except (ModelUnavailable, UnsupportedAudio, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(utterance.as_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
