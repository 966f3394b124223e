"""Benchmarks (``make bench``): not collected by pytest; see ``tests/perf/run.py``."""
