"""The model registry: numbered model versions, aliases pointing at them, their artifacts."""
