"""A local stand-in for Twilio: voice webhooks, TwiML execution, Media Streams, REST calls.

Tests and the embedded "local phone" use it to call the hotline without a Twilio account.
Nothing in the product needs to know whether Twilio or this stand-in is on the line.
"""

from localtwilio.caller import (
    Caller,
    CallerAction,
    HangUp,
    Hold,
    InteractiveCaller,
    Listening,
    PlayAudio,
    Press,
    SayText,
    ScriptedCaller,
    Silence,
)
from localtwilio.clock import CallClock
from localtwilio.dialing import DialOutcome, scripted_dial
from localtwilio.recordings import RecordingStore
from localtwilio.runner import LocalCall
from localtwilio.signing import Signer
from localtwilio.transcript import CallTranscript, Exchange, Turn
from localtwilio.transport import FlaskClientTransport, HttpReply, RequestsTransport

__all__ = [
    "CallClock", "CallTranscript", "Caller", "CallerAction", "DialOutcome", "Exchange",
    "FlaskClientTransport", "HangUp", "Hold", "HttpReply", "InteractiveCaller", "Listening",
    "LocalCall", "PlayAudio", "Press", "RecordingStore", "RequestsTransport", "SayText",
    "ScriptedCaller", "Signer", "Silence", "Turn", "scripted_dial",
]
