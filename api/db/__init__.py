"""Database plumbing shared by the API and the worker."""
