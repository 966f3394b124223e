"""``tasador model train`` and ``model predict`` on a database, without any server."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tests.commands.conftest import tasador
from tests.sources.conftest import SECRET, listings, write_table

MAPPING = "columns=net_usable_area:usable_m2,n_rooms:rooms,price:price_uf"


def test_training_from_a_table_prints_the_metrics_of_the_same_rows_as_a_csv(
    client_pg: Engine, client_pg_url: str, tmp_path: Path
) -> None:
    rows = listings(800, seed=4)
    write_table(client_pg, "listings", rows)
    exported = tmp_path / "listings.csv"
    plain = rows.rename(columns={"usable_m2": "net_usable_area", "rooms": "n_rooms"})
    plain.rename(columns={"price_uf": "price"}).to_csv(exported, index=False)
    params = ("--preset", "default", "--param", "n_estimators=20", "--param", "max_depth=3")

    from_table = tasador(
        "model", "train", "--train-data", f"{client_pg_url}#table=listings&{MAPPING}",
        *params, "--output", tmp_path / "a.tsm",
    )  # fmt: skip
    from_csv = tasador(
        "model", "train", "--train-data", exported, *params, "--output", tmp_path / "b.tsm"
    )
    assert from_table.exit_code == 0, from_table.output
    assert from_csv.exit_code == 0, from_csv.output
    assert json.loads(from_table.stdout) == json.loads(from_csv.stdout)
    assert SECRET not in from_table.output

    predicted = tmp_path / "predicted.csv"
    result = tasador(
        "model", "predict", "--model", tmp_path / "a.tsm",
        "--input", f"{client_pg_url}#table=listings&{MAPPING}", "--output", predicted,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(predicted)) == 800


def test_a_table_that_is_not_there_is_bad_input(
    client_pg: Engine, client_pg_url: str, tmp_path: Path
) -> None:
    result = tasador(
        "model", "train", "--train-data", f"{client_pg_url}#table=nope",
        "--output", tmp_path / "m.tsm",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "nope" in result.stderr and SECRET not in result.output
