"""``tasador standalone``: the whole service on one machine with nothing but Python.

API, workers, Flower and an in-memory broker run as supervised child processes
over SQLite and the local object store, all under one data directory. Real
services named in the environment (database, broker, S3) replace the embedded
ones. ``command`` holds the CLI entry; ``runner`` supervises processes;
``bootstrap`` does the first-start work; ``environment`` decides the settings
every child shares.
"""
