"""``tasador data``: synthetic data shaped like the client's."""

from __future__ import annotations

import io
from pathlib import Path

import typer

from api.errors import InvalidInput, TasadorError
from api.ml.synth import generate_chunks
from api.storage import open_output

app = typer.Typer(help="Synthetic data with the client's schema.", no_args_is_help=True)


@app.command("synth")
def synth(
    rows: int = typer.Option(10_000, min=1, help="rows to generate"),
    seed: int = typer.Option(0, min=0, help="random seed (same seed, same file)"),
    output: str = typer.Option(..., help="file path or s3:// URI to write"),
    dirty_fraction: float = typer.Option(0.0, min=0.0, max=1.0, help="share of invalid rows"),
    chunk_rows: int = typer.Option(500_000, min=1, help="rows generated at a time"),
) -> None:
    """Write a CSV with the client's columns; generated in chunks, so any size fits.

    Exit code 2 for a malformed output URI, 1 when the output cannot be written
    (a folder or bucket that does not exist, a store that does not answer)."""
    try:
        with open_output(output if "://" in output else Path(output)) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            for i, chunk in enumerate(
                generate_chunks(rows, seed, chunk_rows, dirty_fraction=dirty_fraction)
            ):
                chunk.to_csv(text, header=i == 0, index=False)
            text.flush()
            text.detach()
    except TasadorError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from exc
    typer.echo(f"wrote {rows} rows to {output}")
