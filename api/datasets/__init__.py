"""Datasets: CSV uploads into the object store, validated row by row and fingerprinted."""
