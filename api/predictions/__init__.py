"""Synchronous predictions from cached models, and the prediction log."""
