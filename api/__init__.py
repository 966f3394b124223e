"""Tasador: property-valuation service (gateway, domain, ML core, storage)."""

__version__ = "0.1.0"
