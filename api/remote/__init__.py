"""``tasador remote``: the service's HTTP API from a terminal or a script.

It talks only HTTP (httpx) and imports nothing of the server, so it runs on a
laptop against any deployment (an import-linter contract keeps it so).
"""
