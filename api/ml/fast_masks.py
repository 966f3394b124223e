"""Bit-mask evaluation of a Forest, for batches (after QuickScorer, Lucchese et al. 2015).

The level-by-level traversal in ``fast_forest`` costs about ten numpy passes per
(tree, row) and depth level. Here, with the leaves of each tree numbered left to
right and held as bits of one integer, a split whose test fails (x > threshold)
rules out the leaves of its left subtree, and the leaf a row reaches is the
leftmost leaf nobody ruled out. For one feature, the failing splits of a row are
exactly those whose threshold is below its value: a prefix of that feature's
sorted thresholds. So each feature gets a table of cumulative ANDs over that
sorted order, and a row costs one ``searchsorted`` and one table row (all trees at
once) per used feature, an AND, and a lowest-set-bit look-up.

It applies to trees with at most 64 leaves (``max_depth`` <= 6); deeper forests use
the traversal. Results are identical: the same leaves, added in the same order.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from api.ml.fast_forest import FloatArray, Forest

# Leaf numbers come from the float exponent of the lowest set bit (exact for powers
# of two): its bit layout per mask width, as (float type, int view, mantissa bits, bias).
_EXPONENT = {
    np.dtype(np.uint32): (np.float32, np.int32, 23, 127),
    np.dtype(np.uint64): (np.float64, np.int64, 52, 1023),
}
SUB_BLOCK = 512  # rows per pass: keeps the (rows, trees) work arrays in cache


@dataclass
class LeafMasks:
    """Sorted thresholds per used feature and one stacked cumulative leaf-mask table."""

    features: list[int]
    thresholds: list[FloatArray]
    threshold_lists: list[list[float]]  # the same, for bisect on single rows
    offsets: list[int]  # first row of each feature's part of ``table``
    table: npt.NDArray[np.unsignedinteger]  # (sum of thresholds + 1 per feature, trees)
    leaf_values: FloatArray  # (trees * width,): [t * width + leaf number]
    leaf_offsets: npt.NDArray[np.int64]  # t * width - exponent bias, per tree
    n_trees: int
    width: int
    init: float

    def raw_predict(self, X: FloatArray) -> FloatArray:
        """Same result as ``Forest.raw_predict`` (X rounded through float32, finite)."""
        if X.shape[0] == 1:
            return self._predict_row([float(v) for v in X[0]])
        out = np.empty(X.shape[0], dtype=np.float64)
        for start in range(0, X.shape[0], SUB_BLOCK):
            out[start : start + SUB_BLOCK] = self._predict_block(X[start : start + SUB_BLOCK])
        return out

    def _leaf_index(self, acc: npt.NDArray[np.unsignedinteger]) -> npt.NDArray[np.intp]:
        """Flat ``leaf_values`` index of the lowest set bit of each (tree, row) mask."""
        floating, integer, mantissa, _ = _EXPONENT[acc.dtype]
        low = np.negative(acc)  # two's complement: acc & -acc keeps the lowest bit
        np.bitwise_and(acc, low, out=low)
        exponent = low.astype(floating).view(integer)
        exponent >>= mantissa
        offsets = self.leaf_offsets if acc.ndim == 1 else self.leaf_offsets[:, None]
        index: npt.NDArray[np.intp] = np.add(exponent, offsets, dtype=np.intp)
        return index

    def _predict_row(self, x: list[float]) -> FloatArray:
        rows = [
            offset + bisect_left(thresholds, x[f])
            for f, thresholds, offset in zip(
                self.features, self.threshold_lists, self.offsets, strict=True
            )
        ]
        acc = np.bitwise_and.reduce(self.table[rows], axis=0)
        contributions = np.empty(self.n_trees + 1, dtype=np.float64)
        contributions[0] = self.init
        np.take(self.leaf_values, self._leaf_index(acc), out=contributions[1:], mode="clip")
        # cumsum adds strictly in order: init, tree 0, tree 1, ... as scikit-learn does
        return np.cumsum(contributions)[-1:]

    def _predict_block(self, X: FloatArray) -> FloatArray:
        rows = X.shape[0]
        acc = np.empty((rows, self.n_trees), dtype=self.table.dtype)
        part = np.empty_like(acc)
        for i, (f, thresholds, offset) in enumerate(
            zip(self.features, self.thresholds, self.offsets, strict=True)
        ):
            failing = np.searchsorted(thresholds, X[:, f], side="left")
            failing += offset
            np.take(self.table, failing, axis=0, out=acc if i == 0 else part, mode="clip")
            if i:
                np.bitwise_and(acc, part, out=acc)
        contributions = np.empty((self.n_trees + 1, rows), dtype=np.float64)
        contributions[0] = self.init
        leaf = self._leaf_index(np.ascontiguousarray(acc.T))  # (trees, rows)
        np.take(self.leaf_values, leaf, out=contributions[1:], mode="clip")
        result: FloatArray = np.add.reduce(contributions, axis=0)
        return result


def _tree_bits(forest: Forest, root: int) -> tuple[dict[int, int], dict[int, int]]:
    """Leaf number of each leaf and left-subtree leaf bits of each split, one tree."""
    leaf_number: dict[int, int] = {}
    subtree_bits: dict[int, int] = {}
    left_bits: dict[int, int] = {}
    children = forest.children
    stack: list[tuple[int, bool]] = [(root, False)]
    while stack:  # iterative post-order: a split's bits are its children's
        node, expanded = stack.pop()
        left, right = int(children[2 * node]), int(children[2 * node + 1])
        if left == node:
            leaf_number[node] = len(leaf_number)
            subtree_bits[node] = 1 << leaf_number[node]
        elif expanded:
            left_bits[node] = subtree_bits[left]
            subtree_bits[node] = subtree_bits[left] | subtree_bits[right]
        else:
            stack += [(node, True), (right, False), (left, False)]
    return leaf_number, left_bits


def build_masks(forest: Forest) -> LeafMasks | None:
    """Compile a Forest into LeafMasks; None when some tree has more than 64 leaves."""
    n_trees = forest.roots.size
    per_tree = [_tree_bits(forest, int(root)) for root in forest.roots]
    most_leaves = max(len(leaves) for leaves, _ in per_tree)
    if most_leaves > 64:
        return None
    dtype = np.dtype(np.uint32) if most_leaves <= 32 else np.dtype(np.uint64)
    width, full = 8 * dtype.itemsize, (1 << (8 * dtype.itemsize)) - 1
    leaf_values = np.zeros(n_trees * width, dtype=np.float64)
    nodes: list[tuple[int, float, int, int]] = []  # (feature, threshold, tree, mask)
    for t, (leaves, left_bits) in enumerate(per_tree):
        for node, number in leaves.items():
            leaf_values[t * width + number] = forest.scaled_value[node]
        for node, bits in left_bits.items():
            nodes.append((int(forest.feature[node]), float(forest.threshold[node]), t, full ^ bits))
    features = sorted({f for f, _, _, _ in nodes})
    thresholds, tables, offsets, start = [], [], [], 0
    for f in features:
        mine = [(thr, t, mask) for g, thr, t, mask in nodes if g == f]
        unique = np.unique(np.array([thr for thr, _, _ in mine], dtype=np.float64))
        table = np.full((unique.size + 1, n_trees), full, dtype=dtype)
        rows = np.searchsorted(unique, [thr for thr, _, _ in mine]) + 1
        trees = np.array([t for _, t, _ in mine], dtype=np.intp)
        masks = np.array([mask for _, _, mask in mine], dtype=dtype)
        np.bitwise_and.at(table, (rows, trees), masks)
        thresholds.append(unique)
        tables.append(np.bitwise_and.accumulate(table, axis=0))
        offsets.append(start)
        start += unique.size + 1
    if not features:  # no splits at all: one all-ones row, every tree at its only leaf
        tables.append(np.full((1, n_trees), full, dtype=dtype))
    return LeafMasks(
        features=features,
        thresholds=thresholds,
        threshold_lists=[t.tolist() for t in thresholds],
        offsets=offsets,
        table=np.concatenate(tables),
        leaf_values=leaf_values,
        leaf_offsets=np.arange(n_trees, dtype=np.int64) * width - _EXPONENT[dtype][3],
        n_trees=int(n_trees),
        width=width,
        init=forest.init,
    )
