"""The ``tasador`` command: every sub-command is a small Typer app of its own."""

from __future__ import annotations

import typer

from api.commands import data, db, model, services, users
from api.remote import commands as remote

app = typer.Typer(
    name="tasador",
    help="Tasador property valuation: offline pipeline, service processes, administration.",
    no_args_is_help=True,
)
app.add_typer(model.app, name="model")
app.add_typer(data.app, name="data")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(remote.app, name="remote")
services.register(app)
