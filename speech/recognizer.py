"""Streaming recognition of one answer: audio in, an `Utterance` out.

One `StreamingRecognizer` (one `KaldiRecognizer` per pass) per call and question, over the
shared `vosk.Model`; with a `pool` (`speech.recognizer_pool`) the `KaldiRecognizer`s are
leased and given back by `close()`, so a grammar's decoding graph is not built again for
every answer. Audio is buffered into 100 ms chunks before Vosk sees it (per-20 ms calls
cost more in JSON than in decoding). Every timing decision uses the *audio clock* (how
much audio has arrived), not the wall clock: Twilio sends audio in real time, and tests can
stream faster than real time and still get the same decisions.

When has the caller finished? All times below are multiplied by `settings.patience`
(callers flagged as not digital get more, say 1.5-2.0), except the hard `max_seconds`:

- nothing recognised after `no_input_seconds` (and no voice for `incomplete_silence_seconds`,
  the wait of an answer not finished yet) -> "silence";
- words recognised: the turn ends ("speech") once the voice detector (`speech.vad`) has
  heard nothing for a wait that depends on what was said. With a grammar the words tell
  whether the caller has finished:
  * a complete expected phrase that no longer phrase continues, and that is *sure*:
    `complete_pause_seconds` (a short pause; the caller said what we asked for). Sure
    means Vosk's final words agree (a grammar's partial result runs ahead of the audio),
    the decoder ranked them above the other n-best texts and above "nothing" by
    `sure_posterior`, and the words' timings span `sure_coverage` of the voice heard.
    A phrase that is not sure waits like an incomplete one. A *lone first word* (one word,
    all the caller said, in a grammar with longer phrases) waits `first_word_pause_seconds`
    when set: espeak's slow "다음" or "카드" is heard as "네" or "아니요" with posterior 1.0,
    and nothing tried tells it from a real one (the garbage pass; a grammar that also holds
    the longer phrases' first words; where the word begins in the voice: Vosk puts real
    "없어요" 0.35-0.4 s in), so only time can; `ivr.listening` gives that wait to callers
    flagged not digital;
  * a complete phrase that a longer one continues ("네" / "네 맞아요"), or free-form
    listening: `end_silence_seconds` with the words unchanged that long, or Vosk's own
    endpoint after the last change;
  * words that are not yet a phrase ("vorrei... ehm..."), or words the decoder ranked
    below "nothing" (a slow caller's first word that the grammar forces into a phrase):
    `incomplete_silence_seconds`, longer than the pauses slow speakers make mid-sentence;
  * never less than `pause_margin` times the longest pause the caller already made in
    this answer: a caller who stopped for a second between words may do it again.
  When the voice stops and Vosk has shown no words, its segment is finalised after the
  short pause to see what it holds. Vosk's endpoint alone (0.5 s trailing silence in the
  Korean model) is too eager for people who pause, so it only counts in the middle case.
  Figures: docs/benchmarks.md, "Turn ends" (`bench.turns`, and a held-out corpus);
- a key press switches to keypad mode: `max_digits` keys, "#", or `digit_timeout_seconds`
  after the last key -> "dtmf";
- `max_seconds` of listening -> "timeout" with whatever was recognised; `hangup()` ->
  "hangup" with the words so far.

The silence before an answer is not decoded: until the caller speaks, audio more than 0.6 s
after the last sound is held back and only its last 1.5 s fed when a sound comes (Vosk
costs nearly as much per second of silence as of speech, and a barge-in prompt is seconds
of it); the turn rules above run on every frame, on the audio clock.

Confidence: with `max_alternatives > 0` Vosk returns an n-best list whose scores are
log-likelihoods; a softmax over them gives each alternative's posterior, and the top one's
posterior is the grammar pass's confidence. On the Korean model this matches Vosk's own MBR
word confidences (`SetWords(True)`): "네" 0.90 vs word conf 0.903; "바로 연결해 주세요" 0.52
vs lowest word conf 0.528. With `max_alternatives = 0` the lowest word confidence is used.
Both only rank grammar phrases against each other, so with a grammar two more passes run
on the same audio, each a `KaldiRecognizer` of this call over the shared `Model`
(`speech.hearing` explains them and fuses the result into `Utterance.confidence`,
`heard` and `doubt`): a garbage-path grammar pass (`settings.garbage_check`, on by
default; +0.034 CPU-s per audio second, 2.6 times the grammar pass) and a free-form pass
(`settings.free_form_check`, off by default; +0.35 CPU-s per audio second). Figures:
docs/benchmarks.md, "Phone audio".
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import vosk

from speech import audio, hearing
from speech.grammar import grammar_json, grammar_phrases
from speech.hearing import Segment
from speech.recognizer_pool import Lease, RecognizerPool, fresh_lease
from speech.vad import VoiceDetector

log = logging.getLogger(__name__)

REASONS = ("speech", "silence", "timeout", "hangup", "dtmf", "error")


@dataclass(frozen=True)
class ListenSettings:
    """How long to listen at one step of the flow."""

    no_input_seconds: float = 6.0      # silence before the caller starts -> reason "silence"
    end_silence_seconds: float = 1.2   # trailing silence that ends an utterance
    complete_pause_seconds: float = 0.3  # ... after a complete expected phrase
    incomplete_silence_seconds: float = 2.5  # ... after words that are not a phrase yet
    sure_posterior: float = 0.7        # a complete phrase ends early only this sure ...
    sure_coverage: float = 0.6         # ... and only when its words span this share of voice
    first_word_pause_seconds: float | None = None  # ... after a lone first word (None: same)
    pause_margin: float = 1.25         # never end on less than this x the caller's own pauses
    max_seconds: float = 20.0          # hard cap (not scaled by patience)
    patience: float = 1.0              # multiplier for slow speakers / not-digital callers
    digit_timeout_seconds: float = 3.0  # after a key press, wait this long for the next
    max_digits: int = 1                # keypad answer complete after this many keys
    max_alternatives: int = 3          # n-best size; 0 = word confidences only
    garbage_check: bool = True         # second grammar pass with a garbage path (hearing)
    free_form_check: bool = False      # third pass without grammar (hearing; costly)
    heard_coverage: float = hearing.HEARD_COVERAGE  # trusted from this garbage-pass coverage
    garbage_ratio: float = hearing.GARBAGE_RATIO  # phrases' weight against the garbage
    skip_silence: bool = True          # Vosk skips long silences (`_to_decode`)


@dataclass(frozen=True)
class Utterance:
    """What the caller said (or did) in answer to one question."""

    text: str                 # "" when nothing recognised
    confidence: float         # 0..1
    alternatives: list[tuple[str, float]]
    reason: str               # "speech" | "silence" | "timeout" | "hangup" | "dtmf" | "error"
    digits: str = ""          # keypad presses received during listening
    duration_seconds: float = 0.0
    missing_words: list[str] = field(default_factory=list)  # grammar words the model lacks
    heard: bool = True        # False: the words may be misheard; confirm or ask again
    doubt: str = ""           # why not heard: "garbage" | "free_form" | "unknown_only"
    coverage: float | None = None  # share of speech time on grammar words (garbage pass)
    free_text: str = ""       # the free-form pass's transcript, when it ran
    lang: str = ""            # the language that heard it, when several recognisers listened

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the database and the CLI)."""
        data = asdict(self)
        data["alternatives"] = [[text, conf] for text, conf in self.alternatives]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Utterance:
        """Inverse of `as_dict`."""
        values = dict(data)
        values["alternatives"] = [(str(t), float(c)) for t, c in values.get("alternatives", [])]
        return cls(**values)


def _strong(segment: Segment) -> bool:
    """The decoder's best for `segment` was words, not "nothing" (a text ranked below
    silence is a guess: a slow caller's first word forced into some phrase)."""
    return bool(segment.alternatives) and segment.alternatives[0][1] > segment.silence


MIN_PAUSE_SECONDS = 0.3  # a gap in the voice shorter than this is inside a word
PREROLL_SECONDS = 1.5  # audio before a sound that Vosk still gets (onset, the line's noise)
HANGOVER_SECONDS = 0.6  # audio after the last sound that Vosk still gets (its endpoint)
WORD_MARGIN_SECONDS = 0.2  # voice this close to a recognised word belongs to it


class StreamingRecognizer:
    """Recognise one answer from a live stream of telephone audio."""

    CHUNK_SECONDS = 0.1
    FRAME_SECONDS = 0.02

    def __init__(self, model: vosk.Model, *, phrases: list[str] | None,
                 settings: ListenSettings, input_rate: int = 8000,
                 vosk_rate: int | None = None, prompt_seconds: float = 0.0,
                 pool: RecognizerPool | None = None) -> None:
        self.settings = settings
        self.input_rate = input_rate
        self.missing_words: list[str] = []
        vosk_rate = vosk_rate or input_rate
        self._resampler = (audio.StreamResampler(input_rate, vosk_rate)
                           if vosk_rate != input_rate else None)
        usable = grammar_phrases(model, phrases) if phrases else []
        if phrases:
            from speech.grammar import missing_words
            self.missing_words = missing_words(model, phrases)
            if self.missing_words:
                log.warning("grammar words not in model vocabulary: %s", self.missing_words)
            if not usable:
                log.warning("no usable grammar phrase; listening free-form")
        self._vosk_bytes_per_second = 2 * vosk_rate

        def lease(grammar: str | None) -> Lease:
            return (pool.lease(model, vosk_rate, grammar) if pool is not None
                    else fresh_lease(model, vosk_rate, grammar))

        self._vosk = lease(grammar_json(usable) if usable else None)
        self._vosk.SetWords(True)
        self._vosk.SetMaxAlternatives(max(0, settings.max_alternatives))
        # the hearing checks: extra recognisers of this call on the same audio
        self._grammar_words = {w for p in usable for w in p.split()}
        self._checks: dict[str, Lease] = {}
        self._check_segments: dict[str, list[Segment]] = {}
        self._garbage: frozenset[str] = frozenset()
        if usable and settings.garbage_check:
            phrases_with_garbage, self._garbage = hearing.garbage_grammar(
                usable, hearing.garbage_syllables(model), settings.garbage_ratio)
            if self._garbage:
                self._checks["garbage"] = lease(grammar_json(phrases_with_garbage))
        if usable and settings.free_form_check:
            self._checks["free"] = lease(None)
        for check in self._checks.values():
            check.SetWords(True)
            check.SetMaxAlternatives(0)
        self._check_segments = {name: [] for name in self._checks}
        self._vad = VoiceDetector(input_rate)
        # what a finished answer looks like: the phrases, and the word prefixes of longer ones
        self._phrases = {p for p in usable if p != hearing.UNKNOWN}
        self._longer = any(" " in p for p in self._phrases)
        self._continued = {" ".join(p.split()[:n]) for p in self._phrases
                           for n in range(1, len(p.split()))}
        self._pending = b""
        self._chunk_bytes = int(input_rate * self.CHUNK_SECONDS) * 2
        self._frame_bytes = int(input_rate * self.FRAME_SECONDS) * 2
        self._segments: list[Segment] = []
        self._partial = ""
        self._hypothesis = ""
        self._seconds = 0.0                # audio received
        self._listen_from = prompt_seconds  # the no-input clock starts after the prompt
        self._voiced_run = 0
        self._last_voice = -math.inf
        self._last_sound = -math.inf
        self._preroll: list[bytes] = []     # silence held back from Vosk, fed if sound follows
        self._fed_seconds = 0.0             # audio Vosk has been given (its word times' clock)
        self._skips: list[tuple[float, float]] = []  # (fed seconds, audio skipped before them)
        self._last_change = 0.0
        self._endpoint_at = -math.inf
        self._voiced: list[list[float]] = []  # [start, end] stretches of voice this turn
        self._longest_pause = 0.0           # the caller's longest pause inside this answer
        self._doubted = ""                  # a complete phrase not trusted to end early
        self.speech_started = False
        self.digits = ""
        self._last_digit = 0.0
        self._unflushed = False
        self.result: Utterance | None = None

    @property
    def done(self) -> bool:
        """True once the answer is complete (`result` is set)."""
        return self.result is not None

    @property
    def partial_text(self) -> str:
        """Words recognised so far."""
        return self._hypothesis

    @property
    def decoded_seconds(self) -> float:
        """Audio given to Vosk so far (less than heard when silences were skipped)."""
        return self._fed_seconds

    def close(self) -> None:
        """Give the Vosk recognisers back to the pool (the answer is over; idempotent)."""
        for recognizer in (self._vosk, *self._checks.values()):
            recognizer.give_back()

    def prompt_finished(self) -> None:
        """The prompt stopped playing (mark echoed or cleared): start the no-input clock."""
        self._listen_from = min(self._listen_from, self._seconds)

    def accept_ulaw(self, data: bytes) -> bool:
        """Feed mu-law audio at `input_rate`; returns `done`."""
        return self.accept_pcm(audio.ulaw_to_pcm16(data))

    def accept_pcm(self, pcm16: bytes) -> bool:
        """Feed 16-bit little-endian PCM at `input_rate`; returns `done`."""
        if self.done:
            return True
        self._pending += pcm16
        while len(self._pending) >= self._chunk_bytes and not self.done:
            chunk, self._pending = (self._pending[:self._chunk_bytes],
                                    self._pending[self._chunk_bytes:])
            self._process(chunk)
        return self.done

    def add_digit(self, digit: str) -> bool:
        """Record a keypad press heard during listening; returns `done`."""
        if self.done:
            return True
        if digit == "#" and self.digits:
            return self._finish("dtmf")
        self.digits += digit
        self._last_digit = self._seconds
        if len(self.digits) >= self.settings.max_digits:
            self._finish("dtmf")
        return self.done

    def hangup(self) -> Utterance:
        """The stream ended before the answer was complete: keep what was heard."""
        if not self.done:
            self._finish("hangup")
        assert self.result is not None
        return self.result

    def finish(self, reason: str = "speech") -> Utterance:
        """Force the answer to complete now (used for recordings and on errors)."""
        if not self.done:
            self._finish(reason)
        assert self.result is not None
        return self.result

    def _process(self, chunk: bytes) -> None:
        verdicts, sound = self._vad.listen(chunk)
        for voiced in verdicts:
            self._seconds += self.FRAME_SECONDS
            if voiced:
                self._note_voice(self._seconds)
                self._voiced_run += 1
                self._last_voice = self._seconds
                if self._voiced_run >= 5 and not self.speech_started:
                    self.speech_started = True
                    self._voiced = self._voiced[-1:]  # blips before the answer are no voice
                    self.prompt_finished()
            else:
                self._voiced_run = 0
        if sound:
            self._last_sound = self._seconds
        feed = self._resampler.process(chunk) if self._resampler else chunk
        for piece in self._to_decode(feed):
            self._decode(piece)
        self._update_hypothesis()
        self._decide()

    def _to_decode(self, feed: bytes) -> list[bytes]:
        """The audio Vosk should decode now.

        A second of line silence costs Vosk nearly what a second of speech does (0.030
        against 0.035 CPU-s for the grammar pass, 0.038 against 0.054 for the garbage
        pass), and much of a call is the silence before an answer (a barge-in prompt
        playing, the caller thinking). So until the caller starts speaking, audio more
        than `HANGOVER_SECONDS` after the last frame above the detector's floor is held
        back, and the last `PREROLL_SECONDS` of it fed when a sound comes; the rest is
        skipped, and `_clock` maps Vosk's word times back onto the audio clock.

        The pre-roll is long because Vosk adapts to the line (online CMVN, i-vector) over
        what it hears: after 0.5 s, 18 of the tuning corpus's 40 one-breath answers ended
        early instead of 22 (`bench.turns --lead 2|4`). Once the answer has begun every
        frame is decoded: the silence of a pause weighs on Vosk's "nothing" against a slow
        caller's first word (skipping pauses too cut off 22 of heldout2's 72 slow answers,
        against 18, in one run)."""
        if not self.settings.skip_silence or self.speech_started or \
                self._seconds - self._last_sound <= HANGOVER_SECONDS:
            pieces, self._preroll = self._preroll, []
            return [*pieces, feed]
        self._preroll.append(feed)
        held = sum(len(piece) for piece in self._preroll) / self._vosk_bytes_per_second
        while held - len(self._preroll[0]) / self._vosk_bytes_per_second >= PREROLL_SECONDS:
            dropped = len(self._preroll.pop(0)) / self._vosk_bytes_per_second
            held -= dropped
            skipped = (self._skips[-1][1] if self._skips else 0.0) + dropped
            if self._skips and self._skips[-1][0] == self._fed_seconds:
                self._skips[-1] = (self._fed_seconds, skipped)
            else:
                self._skips.append((self._fed_seconds, skipped))
        return []

    def _clock(self, vosk_seconds: float) -> float:
        """A time in the audio Vosk was fed, on the audio clock (skipped silence added)."""
        vosk_seconds -= self._vosk.offset_seconds  # a pooled recogniser's earlier audio
        skipped = 0.0
        for fed_at, total in self._skips:
            if fed_at > vosk_seconds:
                break
            skipped = total
        return vosk_seconds + skipped

    def _decode(self, feed: bytes) -> None:
        self._unflushed = True
        self._fed_seconds += len(feed) / self._vosk_bytes_per_second
        for name, check in self._checks.items():
            if check.AcceptWaveform(feed):
                self._check_segments[name].append(hearing.parse_result(check.Result()))
        if self._vosk.AcceptWaveform(feed):
            segment = hearing.parse_result(self._vosk.Result())
            if segment.alternatives:
                self._segments.append(segment)
            self._partial = ""
            self._endpoint_at = self._seconds
        else:
            self._partial = hearing.strip_unknown(
                json.loads(self._vosk.PartialResult()).get("partial", ""))

    def _note_voice(self, at: float) -> None:
        """Keep the stretches of voice and the longest pause between them (after speech
        began: a blip of line noise before the answer is no pause of the caller's)."""
        start = at - self.FRAME_SECONDS
        if self._voiced and start - self._voiced[-1][1] < MIN_PAUSE_SECONDS:
            self._voiced[-1][1] = at
            return
        if self._voiced and self.speech_started:
            self._longest_pause = max(self._longest_pause, start - self._voiced[-1][1])
        self._voiced.append([start, at])

    def _update_hypothesis(self) -> bool:
        """The words the turn is judged on (segments whose best was words, and the partial
        result); True if they changed."""
        hypothesis = " ".join([seg.text for seg in self._segments if _strong(seg)] +
                              ([self._partial] if self._partial else []))
        if hypothesis == self._hypothesis:
            return False
        self._hypothesis = hypothesis
        self._last_change = self._seconds
        return True

    def _decide(self) -> None:
        s, now = self.settings, self._seconds
        listened = now - min(self._listen_from, now)
        if self.digits:
            if now - self._last_digit >= s.digit_timeout_seconds * s.patience:
                self._finish("dtmf")
            return
        if listened >= s.max_seconds:
            self._finish("timeout")
            return
        quiet = s.end_silence_seconds * s.patience
        silent_for = now - self._last_voice
        if not self._hypothesis and not self._segments:
            if self.speech_started and self._unflushed \
                    and silent_for >= s.complete_pause_seconds * s.patience:
                # Voice came and went with no partial words: the decoder may hold some
                # that it has not shown. The words branch below judges them.
                self._flush()
                self._update_hypothesis()
                if self._segments:
                    return
            if silent_for < quiet:
                return
            if self.speech_started:  # voice but no words at all: noise, start over
                self._vosk.Reset()
                for name, check in self._checks.items():
                    check.Reset()
                    self._check_segments[name] = []
                self.speech_started = False
                self._voiced, self._longest_pause = [], 0.0
            # A caller whose voice came without words may be a slow one mid-answer (a first
            # word the decoder ranks below "nothing"): not "silence" until they have been
            # quiet as long as words that are not a phrase yet would wait. (Ending at the
            # no-input time cut off 7 of the 14 slow answers of the tuning corpus of
            # `bench.turns --lead 4`.)
            if listened >= s.no_input_seconds * s.patience and \
                    silent_for >= max(quiet, s.incomplete_silence_seconds * s.patience):
                self._finish("silence")
            return
        wait = self._turn_wait() * s.patience
        if wait >= quiet and now - self._last_change < quiet:
            return  # the words are still changing (a complete phrase is checked below)
        if silent_for >= wait:
            if wait < quiet and not self._confirm_complete():
                return
            self._finish("speech")
        elif wait == quiet and self._endpoint_at >= self._last_change \
                and now - self._last_change >= quiet:
            self._finish("speech")

    def _confirm_complete(self) -> bool:
        """Before ending early on a complete phrase, make Vosk commit to its words: a
        grammar's partial result runs ahead of the audio ("상담원" is shown as "상담원 연결"
        before "연결" is said). False (listen on) when the final words are not complete,
        or are not sure enough to end early (then `_doubted`: the phrase waits as long as
        words that are not a phrase yet)."""
        if self._unflushed:
            self._flush()
            self._partial = ""
            if self._update_hypothesis():
                return False
        if self._sure():
            return True
        self._doubted = self._hypothesis
        return False

    def _sure(self) -> bool:
        """Is the complete phrase heard what the caller said, all of it? The decoder put it
        well above the other n-best texts and "nothing" (`sure_posterior`), and its words
        span most of the voice heard (`sure_coverage`): a grammar turns a slow caller's
        first word into some short phrase, and voice no word accounts for is a sign of it."""
        s = self.settings
        strong = [seg for seg in self._segments if _strong(seg)]
        if min((seg.alternatives[0][1] for seg in strong), default=0.0) < s.sure_posterior:
            return False
        spans = [(self._clock(w.start) - WORD_MARGIN_SECONDS,
                  self._clock(w.end) + WORD_MARGIN_SECONDS)
                 for seg in strong for w in seg.words]
        voiced = sum(end - start for start, end in self._voiced)
        if not spans or voiced <= 0:
            return True  # no timing to judge by: trust the words
        covered = sum(max(0.0, min(end, w_end) - max(start, w_start))
                      for start, end in self._voiced for w_start, w_end in spans)
        return covered / voiced >= s.sure_coverage

    def _lone_first_word(self) -> bool:
        """The caller has said one word, a whole phrase, and the grammar has longer ones: a
        slow caller's first word of one of those may have been heard as it."""
        return self._longer and len(self._hypothesis.split()) == 1

    def _turn_wait(self) -> float:
        """Silence (before patience) that ends the turn, given the words so far: never
        shorter than `pause_margin` times the longest pause the caller made in this answer
        (a caller who stopped for a second mid-answer may do it again)."""
        s, words = self.settings, self._hypothesis
        if not self._phrases:
            wait = s.end_silence_seconds
        elif words in self._phrases and words != self._doubted:
            if words in self._continued:
                wait = s.end_silence_seconds
            elif self._lone_first_word() and s.first_word_pause_seconds is not None:
                wait = s.first_word_pause_seconds
            else:
                wait = s.complete_pause_seconds
        else:
            wait = max(s.incomplete_silence_seconds, s.end_silence_seconds)
        return max(wait, s.pause_margin * self._longest_pause)

    def _flush(self) -> bool:
        """Finalise Vosk's current segment; True if it held words."""
        final = hearing.parse_result(self._vosk.FinalResult())
        for name, check in self._checks.items():
            self._check_segments[name].append(hearing.parse_result(check.FinalResult()))
        self._unflushed = False
        self._partial = ""
        if final.alternatives:
            self._segments.append(final)
        return bool(final.alternatives)

    def _hearing(self, text: str, posterior: float) -> tuple[hearing.Hearing, str]:
        """The fused judgement on `text` from the check passes; and the free-form text."""
        covered = free = None
        if "garbage" in self._checks:
            words = [(w.word, w.start, w.end)
                     for seg in self._check_segments["garbage"] for w in seg.words]
            covered = hearing.coverage(words, self._grammar_words)
        if "free" in self._checks:
            free = " ".join(seg.text for seg in self._check_segments["free"] if seg.text)
        verdict = hearing.judge(text, posterior, coverage=covered, free_text=free,
                                heard_coverage=self.settings.heard_coverage)
        return verdict, free or ""

    def _finish(self, reason: str) -> bool:
        if self._unflushed:
            self._flush()
        segments = self._segments
        pieces = [seg.text for seg in segments]
        prefix = " ".join(pieces[:-1])
        alternatives = [(f"{prefix} {text}".strip(), conf)
                        for text, conf in (segments[-1].alternatives if segments else [])]
        text = " ".join(pieces)
        confidence = min((seg.alternatives[0][1] for seg in segments), default=0.0)
        if reason in ("speech", "silence"):
            reason = "speech" if text else "silence"
        heard, free_text = (self._hearing(text, confidence) if self._checks and text
                            else (hearing.judge(text, confidence), ""))
        self.result = Utterance(
            text=text, confidence=heard.confidence if text else 0.0,
            alternatives=[(t, round(c, 4)) for t, c in alternatives],
            reason=reason, digits=self.digits,
            duration_seconds=round(self._seconds - min(self._listen_from, self._seconds), 2),
            missing_words=list(self.missing_words),
            heard=heard.heard or not text, doubt=heard.doubt if text else "",
            coverage=heard.coverage, free_text=free_text,
        )
        log.debug("listening finished reason=%s words=%d", reason, len(text.split()))
        return True
