"""The alias snapshot: swapped whole, kept through database failures."""

from __future__ import annotations

import time
from collections.abc import Mapping

from api.predictions.aliases import AliasSnapshot


def test_a_failed_read_keeps_serving_the_previous_snapshot() -> None:
    answers: list[dict[str, int] | Exception] = [{"production": 1}, ConnectionError("db down")]

    def read() -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    snapshot = AliasSnapshot(read, interval=60)
    assert snapshot.lookup("production") is None  # not read yet
    assert snapshot.refresh()
    assert not snapshot.refresh()
    assert snapshot.lookup("production") == 1


def test_the_thread_picks_up_a_moved_alias_within_the_interval() -> None:
    table = {"production": 1}
    changes: list[tuple[Mapping[str, int], Mapping[str, int]]] = []
    snapshot = AliasSnapshot(
        lambda: dict(table), interval=0.05, on_change=lambda a, b: changes.append((a, b))
    )
    snapshot.start()
    try:
        deadline = time.monotonic() + 2
        while snapshot.lookup("production") != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        table["production"] = 2
        moved = time.monotonic()
        while snapshot.lookup("production") != 2 and time.monotonic() < moved + 2:
            time.sleep(0.01)
        assert snapshot.lookup("production") == 2
        assert time.monotonic() - moved < 0.5
    finally:
        snapshot.stop()
    assert dict(changes[-1][0]) == {"production": 1}
    assert dict(changes[-1][1]) == {"production": 2}
