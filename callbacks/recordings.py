"""Recorded messages: kept on the caller's callback request and transcribed by a job.

When the flow records a message, `attach_recording` stores Twilio's RecordingUrl on the
request, marks its transcript "pending" and, once the webhook's transaction commits,
enqueues `transcribe_message` on the "speech" queue. The job downloads the audio the way
Twilio serves it (RecordingUrl + ".wav", HTTP Basic auth with the account SID and auth
token, only to Twilio's own origin or the configured API base), transcribes it free-form
with the Vosk model of the request's language and stores text and confidence.

The database says what is left to do: a request whose transcript is "pending" past its due
time is re-enqueued by the reconciler (`due_for_transcription`). The job is idempotent: it
only writes with a compare-and-set on (status "pending", same recording), and it sets the
transcript rather than appending, so a duplicate run changes nothing. A download error (or
an unexpected recogniser error) is retried with back-off, MAX_TRIES tries in all; no model
for the language ends as "no_model" with an empty transcript; undecodable audio ends as
"failed" with the reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, scoped_session

from callbacks.models import (
    NO_MODEL,
    TRANSCRIBED,
    TRANSCRIPT_FAILED,
    TRANSCRIPT_PENDING,
    CallbackRequest,
)
from core.config import TWILIO_DEFAULT_API_BASE
from core.jobs import JobQueue, app_job

log = logging.getLogger(__name__)

MAX_TRIES = 4  # downloads in all (the first and three retries)
RETRY_BASE = timedelta(seconds=30)  # 30 s, 60 s, 120 s between downloads
DOWNLOAD_TIMEOUT = 30.0
MAX_BYTES = 64 * 1024 * 1024  # a one-hour 8 kHz WAV is 58 MB
# How long past its due time a pending transcription may take before the reconciler
# enqueues it again (longer than a slow transcription, so running jobs are rarely doubled).
TRANSCRIPT_GRACE = timedelta(minutes=3)
_PENDING_KEY = "callbacks.recordings.to_enqueue"


class DownloadError(Exception):
    """The recording could not be fetched; `retry` says whether trying later may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def job_id(request_id: int, tries: int = 0) -> str:
    """The job id of a request's transcription (a retry gets its own)."""
    base = f"callback-transcript-{request_id}"
    return f"{base}-retry{tries}" if tries else base


def media_url(recording_url: str) -> str:
    """The URL Twilio serves the recording's WAV at (the RecordingUrl plus ".wav")."""
    return recording_url if recording_url.endswith(".wav") else recording_url + ".wav"


def attach_recording(session: Session, request_id: int, recording_url: str,
                     duration: int | None, now: datetime, jobs: JobQueue) -> bool:
    """Keep a recorded message on the request and have it transcribed after commit.

    Returns False (and changes nothing) when this recording is already on the request:
    Twilio retrying the webhook never queues a second transcription.
    """
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    url = recording_url.strip().removesuffix(".wav")[:500]
    if request.recording_url == url and request.transcript_status is not None:
        return False
    request.recording_url, request.recording_duration = url, duration
    request.transcript, request.transcript_confidence = None, None
    request.transcript_status, request.transcript_tries = TRANSCRIPT_PENDING, 0
    request.transcript_due_at, request.transcript_error = now, None
    request.updated_at = now
    session.flush()
    enqueue_after_commit(session, jobs, [request.id])
    log.info("callback %s: recorded message (%s s), transcription pending", request.id,
             duration)
    return True


def enqueue_after_commit(session: Session, jobs: JobQueue, request_ids: Sequence[int]) -> None:
    """Enqueue the transcriptions once `session` commits (never for rolled-back work)."""
    real = session() if isinstance(session, scoped_session) else session
    waiting: set[int] = real.info.setdefault(_PENDING_KEY, set())
    if not event.contains(real, "after_commit", _enqueue_committed):
        event.listen(real, "after_commit", _enqueue_committed)
        event.listen(real, "after_soft_rollback", _forget_rolled_back)
    real.info[_PENDING_KEY + ".jobs"] = jobs
    waiting.update(request_ids)


def _enqueue_committed(session: Session) -> None:
    waiting: set[int] = session.info.get(_PENDING_KEY, set())
    jobs: JobQueue | None = session.info.get(_PENDING_KEY + ".jobs")
    if jobs is None:
        return
    for request_id in sorted(waiting):
        enqueue(jobs, request_id)
    waiting.clear()


def _forget_rolled_back(session: Session, _previous: Any) -> None:
    session.info.get(_PENDING_KEY, set()).clear()


def enqueue(jobs: JobQueue, request_id: int, at: datetime | None = None, tries: int = 0) -> None:
    """Put a transcription on the "speech" queue; a lost job is left to the reconciler."""
    try:
        jobs.enqueue(transcribe_message, request_id, queue="speech", at=at,
                     job_id=job_id(request_id, tries))
    except Exception as exc:  # Redis down: the request stays pending in the database
        log.warning("callback %s: cannot enqueue the transcription (%s); the reconciler "
                    "will", request_id, type(exc).__name__)


def due_for_transcription(session: Session, before: datetime) -> list[int]:
    """Requests whose transcription should have run before `before` and is still pending."""
    return list(session.scalars(select(CallbackRequest.id).where(
        CallbackRequest.transcript_status == TRANSCRIPT_PENDING,
        CallbackRequest.transcript_due_at < before).order_by(CallbackRequest.id)))


# A recording's media path under an API base, as Twilio (and the local stand-in) serve it.
RECORDING_PATH = re.compile(r"/2010-04-01/Accounts/AC[0-9A-Za-z]{1,64}"
                            r"/Recordings/RE[0-9A-Za-z]{1,64}(\.wav)?")


def trusted_origins(config: Any) -> set[str]:
    """API bases the account's credentials may be sent to: Twilio's and the configured one.

    Each is scheme, host and path prefix ("https://api.twilio.com", or the local stand-in's
    "http://host:port/local-twilio" when the app is configured with it).
    """
    bases = {TWILIO_DEFAULT_API_BASE, str(config.get("TWILIO_API_BASE_URL") or "")}
    trusted = set()
    for base in filter(None, bases):
        parts = urlsplit(base)
        trusted.add(f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}")
    return trusted


def is_recording_url(url: str, trusted: set[str]) -> bool:
    """Whether `url` is a recording's media under one of the `trusted` API bases (nothing else:
    no other path on the same host, no query string, no user info)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        return False
    origin = f"{parts.scheme}://{parts.netloc}"
    for base in trusted:
        prefix = base[len(origin):] if base.startswith(origin) else None
        if prefix is not None and (base == origin or base[len(origin)] == "/") and \
                parts.path.startswith(prefix) and \
                RECORDING_PATH.fullmatch(parts.path[len(prefix):]):
            return True
    return False


def download(url: str, account_sid: str, auth_token: str, trusted: set[str]) -> tuple[
        bytes, str]:
    """Fetch the recording's WAV with HTTP Basic auth; returns (bytes, content type).

    The credentials go only to a recording path under Twilio's API or the configured API
    base (a stand-in), and only audio comes back: anything else is refused, not retried.
    """
    parts = urlsplit(url)
    if not any(base.startswith(f"{parts.scheme}://{parts.netloc}") for base in trusted):
        raise DownloadError(f"recording host {parts.netloc!r} is not Twilio's", retry=False)
    if not is_recording_url(url, trusted):
        raise DownloadError("not a recording's address", retry=False)
    try:
        with requests.get(media_url(url), auth=(account_sid, auth_token),
                          timeout=DOWNLOAD_TIMEOUT, stream=True) as response:
            if response.status_code in (401, 403):
                raise DownloadError(f"HTTP {response.status_code}: not allowed", retry=False)
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code}")
            content_type = response.headers.get("Content-Type", "audio/x-wav")
            if not content_type.split(";")[0].strip().lower().startswith("audio/"):
                raise DownloadError(f"not audio ({content_type[:60]!r})", retry=False)
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > MAX_BYTES:
                    raise DownloadError("the recording is too large", retry=False)
    except requests.RequestException as exc:
        raise DownloadError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    return bytes(data), content_type


def _settle(app: Any, request_id: int, url: str, **values: Any) -> bool:
    """Write the job's result only if the request still waits for this recording."""
    with app.extensions["db"].transaction() as session:
        done = session.execute(
            update(CallbackRequest).where(
                CallbackRequest.id == request_id,
                CallbackRequest.transcript_status == TRANSCRIPT_PENDING,
                CallbackRequest.recording_url == url)
            .values(updated_at=app.extensions["clock"].now(), **values)
            .execution_options(synchronize_session=False)).rowcount
    return bool(done)


def _try_failed(app: Any, request_id: int, url: str, tries: int, exc: DownloadError,
                what: str = "download") -> str:
    now = app.extensions["clock"].now()
    error = f"{what} {tries}/{MAX_TRIES} failed: {exc}"[:300]
    if exc.retry and tries < MAX_TRIES:
        when = now + RETRY_BASE * 2 ** (tries - 1)
        if _settle(app, request_id, url, transcript_tries=tries, transcript_due_at=when,
                   transcript_error=error):
            log.warning("callback %s: %s; retrying at %s", request_id, error, when.isoformat())
            enqueue(app.extensions["jobs"], request_id, at=when, tries=tries)
            return "retry"
        return "skipped"
    _settle(app, request_id, url, transcript_tries=tries, transcript_status=TRANSCRIPT_FAILED,
            transcript_error=error)
    log.error("callback %s: recording not transcribed: %s", request_id, error)
    return TRANSCRIPT_FAILED


@app_job
def transcribe_message(request_id: int) -> str:
    """Job: download a request's recorded message, transcribe it with Vosk and store it."""
    from speech.models import ModelUnavailable
    from speech.transcribe import UnsupportedAudio, transcribe_recording

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.extensions["db"].transaction() as session:
        request = session.get(CallbackRequest, request_id)
        if (request is None or request.transcript_status != TRANSCRIPT_PENDING
                or not request.recording_url):
            return "skipped"
        url, lang, tries = request.recording_url, request.language, request.transcript_tries
    registry = app.extensions.get("speech")
    no_model = f"no speech model for language {lang!r}"
    if registry is None or not registry.available(lang):
        _settle(app, request_id, url, transcript_status=NO_MODEL, transcript="",
                transcript_error=no_model)
        log.warning("callback %s: %s; message left untranscribed", request_id, no_model)
        return NO_MODEL
    config = app.config
    try:
        data, content_type = download(url, config["TWILIO_ACCOUNT_SID"],
                                      config["TWILIO_AUTH_TOKEN"], trusted_origins(config))
    except DownloadError as exc:
        return _try_failed(app, request_id, url, tries + 1, exc)
    try:
        heard = transcribe_recording(data, content_type, lang, registry)
    except ModelUnavailable as exc:
        _settle(app, request_id, url, transcript_status=NO_MODEL, transcript="",
                transcript_error=f"{no_model}: {exc}"[:300])
        return NO_MODEL
    except UnsupportedAudio as exc:
        _settle(app, request_id, url, transcript_status=TRANSCRIPT_FAILED,
                transcript_tries=tries + 1, transcript_error=str(exc)[:300])
        return TRANSCRIPT_FAILED
    except Exception as exc:  # counted like a failed download: never retried for ever
        log.exception("callback %s: transcription failed", request_id)
        return _try_failed(app, request_id, url, tries + 1,
                           DownloadError(f"{type(exc).__name__}: {exc}"), "transcription")
    stored = _settle(app, request_id, url, transcript_status=TRANSCRIBED,
                     transcript=heard.text, transcript_confidence=round(heard.confidence, 4),
                     transcript_tries=tries + 1, transcript_error=None)
    log.info("callback %s: message transcribed (%d words, confidence %.2f)%s", request_id,
             len(heard.text.split()), heard.confidence, "" if stored else " - already done")
    return TRANSCRIBED if stored else "skipped"
