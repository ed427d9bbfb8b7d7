"""Why a callback is not done yet, in the agent's language.

`CallbackRequest.last_error` is written by the call machinery in English (logs and the API
read it as is). The console shows the known reasons translated; the technical detail that
follows some of them (Twilio's own error text, a call status) is kept verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# (pattern over the whole stored text, translation key); named groups become values.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), key) for pattern, key in (
        (r"(?P<reason>.+); not reached after (?P<n>\d+) attempts: an agent decides",
         "console.error.not_reached"),
        (r"retrying: (?P<detail>.*)", "console.error.retrying"),
        (r"answering machine", "console.error.machine"),
        (r"busy", "console.error.busy"),
        (r"no answer", "console.error.no_answer"),
        (r"call failed(?:: (?P<detail>.*))?", "console.error.failed"),
        (r"the caller answered but no agent was reached", "console.error.agent_unreached"),
        (r"the call ended without a result", "console.error.no_result"),
        (r"the agent's phone answered but the call was not taken.*?\)(?:: (?P<detail>.*))?",
         "console.error.agent_not_taken"),
        (r"the agent's phone did not connect \((?P<status>[^)]*)\)(?:: (?P<detail>.*))?",
         "console.error.agent_not_connected"),
    ))


def reason_text(stored: str | None, translate: Callable[..., str]) -> str:
    """`stored` in the agent's language when it is a known reason, otherwise as stored."""
    if not stored:
        return ""
    for pattern, key in _REASONS:
        match = pattern.fullmatch(stored)
        if match is None:
            continue
        values = {name: value or "" for name, value in match.groupdict().items()}
        if "reason" in values:
            values["reason"] = reason_text(values["reason"], translate)
        text = translate(key, **values)
        detail = values.get("detail")
        return f"{text}: {detail}" if detail and key != "console.error.retrying" else text
    return stored
