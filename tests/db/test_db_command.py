"""``tasador db ...`` on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.commands.db import _target, app

runner = CliRunner()


def test_upgrade_downgrade_and_current_report_the_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert "base" in runner.invoke(app, ["current", "--url", url]).output
    upgraded = runner.invoke(app, ["upgrade", "--url", url])
    assert upgraded.exit_code == 0, upgraded.output
    head = runner.invoke(app, ["current", "--url", url]).output.strip()
    assert head and head in upgraded.output and head != "base (no migrations applied)"
    down = runner.invoke(app, ["downgrade", "base", "--url", url])
    assert down.exit_code == 0, down.output
    assert down.output.strip().endswith("at revision base")


def test_database_password_is_masked_in_what_the_command_prints() -> None:
    shown = _target("postgresql+psycopg://tasador:s3cret-pw@db:5432/tasador")
    assert "s3cret-pw" not in shown
    assert shown == "postgresql+psycopg://tasador:***@db:5432/tasador"
