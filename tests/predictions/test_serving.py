"""Serving state without a database: alias resolution and warm-up on alias moves."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.config import Settings
from api.errors import NotFound
from api.predictions.serving import ServedModel, Serving


class Registry:
    """Stands in for the alias table and the artifact store."""

    def __init__(self) -> None:
        self.aliases = {"production": 1}
        self.loaded: list[int] = []

    def read(self) -> dict[str, int]:
        return dict(self.aliases)

    def load(self, version: int) -> ServedModel:
        self.loaded.append(version)
        return ServedModel(version, predictor=None)  # type: ignore[arg-type]


def serving(registry: Registry) -> Serving:
    rows: list[Any] = []
    return Serving(
        Settings(alias_refresh_seconds=60),
        read_aliases=registry.read,
        load=registry.load,
        write_rows=rows.extend,
    )


def wait_for(condition: Any, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def test_a_known_alias_resolves_from_the_snapshot_without_the_database() -> None:
    state = serving(Registry())
    state.aliases.refresh()
    assert state.resolve(None, "production") == 1  # type: ignore[arg-type]
    assert state.resolve(None, "7") == 7  # type: ignore[arg-type]


@pytest.mark.parametrize("model", [0, 2**31, "99999999999"])
def test_versions_outside_the_column_range_are_not_found(model: int | str) -> None:
    with pytest.raises(NotFound) as caught:
        serving(Registry()).resolve(None, model)  # type: ignore[arg-type]
    assert caught.value.code == "model_not_found"


def test_the_first_snapshot_warms_the_production_model() -> None:
    registry = Registry()
    state = serving(registry)
    state.aliases.refresh()
    assert wait_for(lambda: registry.loaded == [1])


def test_moving_a_served_alias_warms_its_new_version_but_a_new_alias_does_not() -> None:
    registry = Registry()
    state = serving(registry)
    state.aliases.refresh()
    assert wait_for(lambda: state.cache.peek(1) is not None)
    registry.aliases = {"production": 2, "staging": 3}
    state.aliases.refresh()
    assert wait_for(lambda: state.cache.peek(2) is not None)
    time.sleep(0.1)
    assert registry.loaded == [1, 2]  # staging -> 3 was not loaded
