"""Sub-commands of the ``tasador`` command line, one typer app per concern."""
