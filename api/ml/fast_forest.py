"""A fitted GradientBoostingRegressor flattened into stacked numpy arrays.

All trees' nodes live in one set of arrays; leaves point to themselves, so every
row can take exactly ``depth`` steps and the traversal is one vectorised numpy
step per depth level for all trees and rows at once.

Exactness with scikit-learn: its trees compare ``float32(x) <= threshold`` (the
threshold is a float64), so inputs are rounded through float32 first; each tree
contributes ``learning_rate * leaf_value`` computed in float64 (precomputed here,
the same product) and contributions are added to the init prediction one tree
after another, in tree order, as ``predict_stages`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor

from api.ml.fast_structure import UnsupportedModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Below this many rows a cumulative sum (one numpy call) beats a Python loop over
# trees; both add in tree order.
_SMALL_BLOCK = 64


@dataclass
class Forest:
    """Stacked trees: node arrays, roots, scaled leaf values and the init constant."""

    feature: IntArray  # split feature per node (0 for leaves)
    threshold: FloatArray  # split threshold per node (+inf for leaves: always "left")
    children: IntArray  # (2 * nodes,): [2n] left child, [2n + 1] right child of node n
    scaled_value: FloatArray  # learning_rate * value per node (used at leaves)
    roots: IntArray  # (trees,) index of each tree's root node
    depth: int
    init: float
    n_features: int

    @property
    def used_features(self) -> set[int]:
        """Feature indices at least one split reads."""
        return {int(f) for f in self.feature[np.isfinite(self.threshold)]}

    def leaves(self, X: FloatArray) -> IntArray:
        """Leaf node index of every (tree, row): shape (trees, rows).

        ``X`` must already be rounded through float32 and be finite.
        """
        rows = X.shape[0]
        flat = np.ascontiguousarray(X.T).ravel()  # feature-major: flat[f * rows + r]
        offset = np.arange(rows, dtype=np.intp)
        node = np.repeat(self.roots[:, None], rows, axis=1)
        for _ in range(self.depth):
            position = self.feature[node]
            position *= rows
            position += offset
            go_right = flat[position] > self.threshold[node]
            node *= 2
            node += go_right
            node = self.children[node]
        return node

    def raw_predict(self, X: FloatArray) -> FloatArray:
        """The regressor's prediction (before any target inverse transform)."""
        contributions = self.scaled_value[self.leaves(X)]
        rows = X.shape[0]
        if rows <= _SMALL_BLOCK:
            stacked = np.empty((contributions.shape[0] + 1, rows), dtype=np.float64)
            stacked[0] = self.init
            stacked[1:] = contributions
            result: FloatArray = np.cumsum(stacked, axis=0)[-1]
            return result
        out = np.full(rows, self.init, dtype=np.float64)
        for tree_contribution in contributions:
            out += tree_contribution
        return out


def _init_constant(regressor: GradientBoostingRegressor) -> float:
    init = regressor.init_
    if isinstance(init, str) and init == "zero":
        return 0.0
    if type(init) is not DummyRegressor:
        raise UnsupportedModel(
            "GradientBoostingRegressor init must be the default or 'zero', "
            f"got {type(init).__name__}"
        )
    constant = np.asarray(init.constant_, dtype=np.float64)
    if constant.size != 1:
        raise UnsupportedModel("multi-output GradientBoostingRegressor models are not supported")
    return float(constant.ravel()[0])


def flatten(regressor: GradientBoostingRegressor) -> Forest:
    """Stack every tree of a fitted GradientBoostingRegressor into one Forest."""
    estimators = regressor.estimators_
    if estimators.ndim != 2 or estimators.shape[1] != 1:
        raise UnsupportedModel("only single-output GradientBoostingRegressor models are supported")
    features, thresholds, children, values, roots = [], [], [], [], []
    depth, start = 0, 0
    learning_rate = float(regressor.learning_rate)
    for estimator in estimators[:, 0]:
        tree = estimator.tree_
        count = int(tree.node_count)
        left = tree.children_left.astype(np.intp)
        right = tree.children_right.astype(np.intp)
        leaf = left < 0
        own = np.arange(count, dtype=np.intp)
        pair = np.empty((count, 2), dtype=np.intp)
        pair[:, 0] = np.where(leaf, own, left) + start
        pair[:, 1] = np.where(leaf, own, right) + start
        features.append(np.where(leaf, 0, tree.feature).astype(np.intp))
        thresholds.append(np.where(leaf, np.inf, tree.threshold).astype(np.float64))
        children.append(pair.ravel())
        # learning_rate * value, the very product predict_stages adds per tree
        values.append(learning_rate * tree.value.reshape(count, -1)[:, 0].astype(np.float64))
        roots.append(start)
        depth = max(depth, int(tree.max_depth))
        start += count
    return Forest(
        feature=np.concatenate(features),
        threshold=np.concatenate(thresholds),
        children=np.concatenate(children),
        scaled_value=np.concatenate(values),
        roots=np.asarray(roots, dtype=np.intp),
        depth=depth,
        init=_init_constant(regressor),
        n_features=int(regressor.n_features_in_),
    )
