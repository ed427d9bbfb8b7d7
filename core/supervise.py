"""Keep a background command running: restart it with back-off whenever it exits.

`rq cron` and `rq worker --with-scheduler` exit when Redis goes away (a ConnectionError
in their loop, or RQ's "unhandled exception, quitting") and never come back, so the
reconciler that recovers from a Redis outage stopped with the outage. RQ leaves
supervision to the operator (systemd, supervisord); this is ours, so the README's
commands recover without one::

    python -m core.supervise -- rq cron callbacks/cron.py --url "$REDIS_URL"

The child is started again after 1 s, doubling up to 30 s while it keeps failing (the
wait goes back to 1 s once it has run for a minute). SIGTERM and SIGINT are passed on to
the child and end the supervisor once the child has exited, with the child's exit status
(0 if the signal ended it).
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger("core.supervise")

FIRST_DELAY = 1.0
LONGEST_DELAY = 30.0
HEALTHY_AFTER = 60.0  # a run this long resets the back-off


def next_delay(delay: float, ran_for: float, first: float = FIRST_DELAY,
               longest: float = LONGEST_DELAY, healthy_after: float = HEALTHY_AFTER) -> float:
    """The wait before the next start: back to `first` after a healthy run, else doubled."""
    if ran_for >= healthy_after:
        return first
    return min(longest, max(first, delay * 2))


class Supervisor:
    """Runs one command, restarting it until asked to stop."""

    def __init__(self, command: Sequence[str], first: float = FIRST_DELAY,
                 longest: float = LONGEST_DELAY, healthy_after: float = HEALTHY_AFTER) -> None:
        self.command = list(command)
        self.first, self.longest, self.healthy_after = first, longest, healthy_after
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def stop(self, signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        """Stop restarting, and pass the signal on to the running child."""
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        """Start the command, and again each time it exits, until `stop`; its last status."""
        delay, status = self.first, 0
        while not self.stopping.is_set():
            started = time.monotonic()
            self.starts += 1
            # its own session: a terminal's Ctrl-C reaches the child once, through `stop`
            # (a second SIGINT would make an RQ worker kill its running job)
            self.child = subprocess.Popen(self.command, start_new_session=True)
            if self.stopping.is_set():  # asked to stop while it was starting
                self.child.send_signal(signal.SIGTERM)
            status = self.child.wait()
            ran_for = time.monotonic() - started
            if self.stopping.is_set():
                break
            delay = next_delay(delay, ran_for, self.first, self.longest, self.healthy_after)
            log.warning("%s exited with status %s after %.1f s; starting it again in %.1f s",
                        self.command[0], status, ran_for, delay)
            self.stopping.wait(delay)
        if status < 0:  # ended by a signal (ours, passed on): not a failure of the child
            return 0 if self.stopping.is_set() else 128 - status
        return status


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m core.supervise [--longest S] -- command ...`."""
    parser = argparse.ArgumentParser(prog="python -m core.supervise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=float, default=FIRST_DELAY,
                        help="seconds before the first restart (default %(default)s)")
    parser.add_argument("--longest", type=float, default=LONGEST_DELAY,
                        help="longest wait between restarts (default %(default)s)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to keep running")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    supervisor = Supervisor(command, first=args.first, longest=args.longest)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
