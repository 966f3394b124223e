"""The compiled predictor: a fitted preset pipeline turned into arrays and kernels.

- ``structure``: recognises the pipelines it can reproduce, refuses the others;
- ``encoding``: the target encoder's tables, read off the fitted encoder;
- ``forest``: the boosted trees as binned nodes in a padded or sparse layout;
- ``kernels``: the tree loops, compiled to machine code by numba;
- ``predictor``: ``FastPredictor``, the entry points for records, columns and frames.
"""

from api.ml.predictor.forest import compile_kernels
from api.ml.predictor.predictor import BLOCK_ROWS, FastPredictor, compile_predictor
from api.ml.predictor.structure import UnpredictableInput, UnsupportedModel

__all__ = [
    "BLOCK_ROWS",
    "FastPredictor",
    "UnpredictableInput",
    "UnsupportedModel",
    "compile_kernels",
    "compile_predictor",
]
