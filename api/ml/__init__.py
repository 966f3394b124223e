"""The pure machine-learning core: schema, validation, presets, training, metrics,
artifacts, synthetic data and the compiled predictor (``api.ml.predictor``).

Only pandas, numpy, scikit-learn, category_encoders, numba and the standard
library are imported here (an import-linter contract enforces it), so the CLI, the worker and
the prediction endpoint can all call it without a database, object store or queue.
"""
