"""The tree-ensemble loops, compiled to machine code by numba.

Splits compare bins, not floats. A row's value of a feature is first replaced by
its bin: how many of the feature's distinct split thresholds lie strictly below
it. Since ``x > threshold`` exactly when more than ``rank(threshold)`` thresholds
lie below ``x``, a split is ``bin > rank``, with no rounding question, and a
node (feature and rank) fits in one uint32.

Rows are evaluated BLOCK at a time, tree after tree, level after level across the
block: the rows of one level are independent, so the processor overlaps their
memory loads, where a row-by-row walk waits on each load before the next. A
single row goes level after level across the trees, for the same reason. Each
row's sum starts at the init value and adds the trees in order, as scikit-learn's
``predict_stages`` does, so the results are the same to the last bit.

Two node layouts (see ``forest.py``):

- perfect: each tree padded to a complete binary tree of the forest's depth, in
  heap order (node i has children 2i+1 and 2i+2), so a step is arithmetic on the
  index, without child pointers to load; padding nodes always go left;
- sparse: scikit-learn's nodes stacked, leaves pointing to themselves, for
  forests too deep to pad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np

BLOCK: Final[int] = 128  # rows per block: its bins and running sums stay in L1
LOG_BLOCK: Final[int] = 7
RANK_BITS: Final[int] = 22
RANK_MASK: Final[int] = (1 << RANK_BITS) - 1
# A node is ((feature * BLOCK) << RANK_BITS) | rank: the high bits are the offset
# of the feature's bins in a block, so the 32 bits hold at most this many features.
MAX_FEATURES: Final[int] = 1 << (32 - RANK_BITS - LOG_BLOCK)
FEATURE_SHIFT: Final[int] = RANK_BITS + LOG_BLOCK  # node >> FEATURE_SHIFT is the feature
# The rank of padding nodes and leaves: above every bin, so the step goes left.
ALWAYS_LEFT: Final[int] = RANK_MASK
# Node indices are kept unsigned: numba then skips its negative-index wraparound
# test on every load (a fifth of the batch kernel's time). uint16 holds every index
# of a padded tree up to depth 15 (2^16 - 2); stacked nodes use uint32.
PERFECT_INDEX = np.uint16
STACKED_INDEX = np.uint32

F = TypeVar("F", bound=Callable[..., Any])


def _jit(function: F) -> F:
    """Compile without the GIL; cache the machine code on disk where a cache dir is writable.

    numba raises RuntimeError at decoration when it finds no writable cache
    location (a read-only install and no home directory); then every process
    compiles on first use instead (about two seconds).
    """
    try:
        compiled = numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:
        compiled = numba.njit(nogil=True)(function)
    return cast(F, compiled)


@_jit
def _bin_block(X: Any, start: int, size: int, edges: Any, offsets: Any, bins: Any) -> None:
    """bins[f * BLOCK + r] = count of feature f's thresholds below X[start + r, f]."""
    for f in range(X.shape[1]):
        first, last = offsets[f], offsets[f + 1]
        for r in range(size):
            value = np.float64(X[start + r, f])
            low, high = first, last
            while low < high:
                middle = (low + high) >> 1
                if edges[middle] < value:
                    low = middle + 1
                else:
                    high = middle
            bins[f * BLOCK + r] = low - first


@_jit
def predict_perfect(
    X: Any, edges: Any, offsets: Any, nodes: Any, leaves: Any, init: float, depth: int, out: Any
) -> None:
    """out[r] = init + the trees' leaf values for row r; nodes (trees, 2^depth - 1)."""
    n, n_features = X.shape
    first_leaf = leaves.shape[1] - 1
    bins = np.zeros(n_features * BLOCK, dtype=np.int32)
    index = np.empty(BLOCK, dtype=PERFECT_INDEX)
    total = np.empty(BLOCK, dtype=np.float64)
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        _bin_block(X, start, size, edges, offsets, bins)
        for r in range(size):
            total[r] = init
        for t in range(nodes.shape[0]):
            tree = nodes[t]
            root = tree[0]
            column, rank = root >> RANK_BITS, root & RANK_MASK
            for r in range(size):  # every row starts at the root: no index to load
                index[r] = 1 + (bins[column + r] > rank)
            for _ in range(depth - 1):
                for r in range(size):
                    i = index[r]
                    node = tree[i]
                    index[r] = 2 * i + 1 + (bins[(node >> RANK_BITS) + r] > (node & RANK_MASK))
            values = leaves[t]
            for r in range(size):
                total[r] += values[index[r] - first_leaf]
        for r in range(size):
            out[start + r] = total[r]


@_jit
def predict_perfect_one(
    x: Any, edges: Any, offsets: Any, nodes: Any, leaves: Any, init: float, depth: int
) -> float:
    """One row, level after level across the trees; NaN when a value is not finite."""
    n_features = x.shape[0]
    bins = np.empty(n_features, dtype=np.int32)
    for f in range(n_features):
        value = np.float64(x[f])
        if not np.isfinite(value):
            return np.nan
        first, low, high = offsets[f], offsets[f], offsets[f + 1]
        while low < high:
            middle = (low + high) >> 1
            if edges[middle] < value:
                low = middle + 1
            else:
                high = middle
        bins[f] = low - first
    n_trees = nodes.shape[0]
    index = np.zeros(n_trees, dtype=PERFECT_INDEX)
    for _ in range(depth):
        for t in range(n_trees):
            i = index[t]
            node = nodes[t, i]
            index[t] = 2 * i + 1 + (bins[node >> FEATURE_SHIFT] > (node & RANK_MASK))
    first_leaf = leaves.shape[1] - 1
    total = init
    for t in range(n_trees):
        total += leaves[t, index[t] - first_leaf]
    return total


@_jit
def predict_sparse(
    X: Any,
    edges: Any,
    offsets: Any,
    nodes: Any,
    children: Any,
    values: Any,
    roots: Any,
    init: float,
    depth: int,
    out: Any,
) -> None:
    """As ``predict_perfect`` over stacked nodes; children[2i], children[2i + 1] of node i."""
    n, n_features = X.shape
    bins = np.zeros(n_features * BLOCK, dtype=np.int32)
    index = np.empty(BLOCK, dtype=STACKED_INDEX)
    total = np.empty(BLOCK, dtype=np.float64)
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        _bin_block(X, start, size, edges, offsets, bins)
        for r in range(size):
            total[r] = init
        for t in range(roots.shape[0]):
            for r in range(size):
                index[r] = roots[t]
            for _ in range(depth):
                for r in range(size):
                    i = index[r]
                    node = nodes[i]
                    right = bins[(node >> RANK_BITS) + r] > (node & RANK_MASK)
                    index[r] = children[2 * i + right]
            for r in range(size):
                total[r] += values[index[r]]
        for r in range(size):
            out[start + r] = total[r]
