"""The local spool: records survive the process, replay hands each over, removes a file
only when all of it was handled, and a writer never appends to a replayed file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from core.spool import Spool


def _append_in_child(directory: str, sid: str) -> None:
    Spool(directory).append({"call_sid": sid})


def test_records_written_by_other_processes_are_replayed_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_append_in_child, args=(str(tmp_path), f"CA{n}"))
                for n in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    spool = Spool(tmp_path)
    assert len(spool.files()) == 3 and spool.pending() == 3
    seen: list[Any] = []
    assert spool.replay(seen.append) == 3
    assert sorted(r["call_sid"] for r in seen) == ["CA0", "CA1", "CA2"]
    assert spool.files() == [] and spool.replay(seen.append) == 0


def test_a_replay_cut_short_keeps_the_file_for_the_next_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(3):
        spool.append({"call_sid": f"CA{n}", "words": "non ho più la luce"})
    handled: list[str] = []

    def database_away_at_the_second(record: dict[str, Any]) -> None:
        if record["call_sid"] == "CA1":
            raise ConnectionError("database away again")
        handled.append(record["call_sid"])

    with pytest.raises(ConnectionError):
        spool.replay(database_away_at_the_second)
    assert handled == ["CA0"] and spool.pending() == 3
    spool.replay(lambda record: handled.append(record["call_sid"]))
    assert handled == ["CA0", "CA0", "CA1", "CA2"] and spool.pending() == 0


def test_appending_after_a_replay_starts_a_new_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"call_sid": "CA1"})
    spool.replay(lambda record: None)
    spool.append({"call_sid": "CA2"})
    seen: list[Any] = []
    spool.replay(seen.append)
    assert [r["call_sid"] for r in seen] == ["CA2"]


def test_a_line_torn_by_a_crash_is_skipped_not_fatal(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    path = spool.append({"call_sid": "CA1"})
    with open(path, "ab") as file:
        file.write(b'{"call_sid": "CA2", "wor')
    seen: list[Any] = []
    assert spool.replay(seen.append) == 1 and seen == [{"call_sid": "CA1"}]
