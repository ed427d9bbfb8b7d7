"""`python -m ivr`: tools for voice flows.

    python -m ivr call --say "ho un problema con la bolletta" --digits 1 --digits 1
    python -m ivr call --lang en --say "my bill is too high" --url http://127.0.0.1:5000
    python -m ivr call --audio need.wav --to +820000000000 --from +821012345678

`call` places a call to the hotline as Twilio would and prints it turn by turn
(see ivr/terminal_call.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch the sub-command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "call":
        logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"),
                            format="%(levelname)s %(name)s: %(message)s")
        from ivr.terminal_call import main as call_main

        return call_main(rest)
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
