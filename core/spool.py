"""A durable local spool: what must reach the database, kept on disk while it is away.

When the database stays away longer than a webhook can wait, the caller's number and what
they said are appended to a file of this process's own in SPOOL_DIR (one JSON object a
line, fsync'd before the webhook answers), and replayed into the database when it is back
(by the reconciler and at start-up). The spool needs nothing but the local disk, so it
survives the outage it recovers from.

Each process appends to `spool-<host>-<pid>.jsonl`; a replayer reads every file in the
directory. Writer and replayer hold an exclusive `flock` on the file while they use it,
and a replayed file is removed under that lock, so a record is never appended to a file
that was already replayed and removed (the writer checks that the path still names the
file it locked, else opens a new one). Replay hands each record to a handler that must be
idempotent (the caller's call sid is the key): a file is removed only after every record in
it was handled, so a replay cut short by a new outage starts the file again next time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Record = dict[str, Any]


class Spool:
    """Append-only, fsync'd records in `directory`, replayed by `replay`."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _own_path(self) -> Path:
        host = socket.gethostname().replace("/", "_") or "host"
        return self.directory / f"spool-{host}-{os.getpid()}.jsonl"

    @contextmanager
    def _locked(self, path: Path, create: bool) -> Iterator[int | None]:
        """An fd of `path`, exclusively locked, that is still the file the path names
        (None if it is gone and `create` is false)."""
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        while True:
            try:
                descriptor = os.open(path, flags, 0o600)
            except FileNotFoundError:
                yield None
                return
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                try:
                    same = os.path.samestat(os.fstat(descriptor), os.stat(path))
                except FileNotFoundError:
                    same = False
                if same:
                    yield descriptor
                    return
            finally:
                os.close(descriptor)  # closing releases the lock
            if not create:  # replayed and removed meanwhile
                yield None
                return

    def append(self, record: Record) -> Path:
        """Write one record durably (on disk when this returns); returns the file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._own_path()
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
        new = not path.exists()
        with self._locked(path, create=True) as descriptor:
            assert descriptor is not None
            os.write(descriptor, line)
            os.fsync(descriptor)
        if new:  # the file's name must survive a crash too
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return path

    def files(self) -> list[Path]:
        """The spool files waiting to be replayed, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("spool-*.jsonl"), key=lambda p: p.stat().st_mtime)

    def pending(self) -> int:
        """How many records wait to be replayed (for /healthz and tests)."""
        return sum(len(_parse(p.read_bytes(), p)) for p in self.files())

    def replay(self, handle: Callable[[Record], Any]) -> int:
        """Hand every spooled record to `handle` (idempotent); a file whose records were all
        handled is removed. Stops at the first record that raises (the database went away
        again) and re-raises; returns how many records were handled."""
        handled = 0
        for path in self.files():
            with self._locked(path, create=False) as descriptor:
                if descriptor is None:
                    continue
                data = b""
                with open(path, "rb") as file:
                    data = file.read()
                for record in _parse(data, path):
                    handle(record)
                    handled += 1
                path.unlink()
        if handled:
            log.info("spool: %d record(s) replayed into the database", handled)
        return handled


def _parse(data: bytes, path: Path) -> list[Record]:
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # a line torn by a crash mid-write: nothing else can be done
            log.error("spool %s line %d is not a record; skipped", path.name, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
