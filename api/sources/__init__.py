"""Data sources: the client's own databases, as inputs and outputs of jobs.

An admin registers a database by name (``endpoints``, ``service``); jobs then
name ``{"source": ..., "table": ...}`` wherever they take a data URI. Table and
column names are checked against the database's own catalogue (``catalogue``),
rows are streamed through a server-side cursor (``rows``) and outputs are
written to a staging table renamed on success (``writing``).
"""
