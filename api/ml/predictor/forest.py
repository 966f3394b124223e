"""A fitted GradientBoostingRegressor compiled into arrays for the kernels.

Exactness with scikit-learn: its trees compare ``float32(x) <= threshold`` (the
threshold a float64), so inputs are rounded to float32 first, and each row's
bins count the thresholds strictly below the (float64) value of that float32,
which is the same comparison. Each tree contributes ``learning_rate *
leaf_value`` computed in float64 (precomputed here, the same product) and the
kernels add the contributions to the init prediction in tree order, as
``predict_stages`` does.

Forests up to PERFECT_MAX_DEPTH levels use the perfect layout (see
``kernels.py``); deeper ones, whose padding would grow as 2^depth, the sparse one.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor

from api.ml.predictor import kernels
from api.ml.predictor.structure import UnsupportedModel

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
NodeArray = npt.NDArray[np.uint32]

# Depth 10 pads a tree to 1,023 nodes and 1,024 leaves (12 KB); deeper, the sparse
# layout (the padded one would double per level; its uint16 indices allow up to 15).
PERFECT_MAX_DEPTH: Final[int] = 10
# Below this many rows per thread, starting threads costs more than it saves.
MIN_ROWS_PER_THREAD: Final[int] = 4 * kernels.BLOCK


@dataclass
class Forest:
    """Split thresholds as bins, plus the nodes and leaf values of one layout.

    Perfect layout: ``nodes`` (trees, 2^depth - 1), ``leaves`` (trees, 2^depth),
    ``children`` and ``roots`` None. Sparse: ``nodes`` and ``leaves`` per stacked
    node, ``children`` (2 * nodes,) and ``roots`` (trees,).
    """

    edges: FloatArray  # each feature's distinct thresholds, ascending, feature after feature
    offsets: npt.NDArray[np.int64]  # feature f's are edges[offsets[f] : offsets[f + 1]]
    nodes: NodeArray
    leaves: FloatArray  # learning_rate * value
    children: IntArray | None
    roots: IntArray | None
    depth: int
    init: float
    n_features: int
    used_features: frozenset[int]

    def raw_predict(self, X: Float32Array, threads: int = 1) -> FloatArray:
        """The regressor's raw prediction for finite float32 rows (n, n_features)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.empty(X.shape[0], dtype=np.float64)
        threads = max(1, min(threads, X.shape[0] // MIN_ROWS_PER_THREAD))
        if threads == 1:
            self._run(X, out)
            return out
        # The kernels release the GIL; each thread fills its own slice of ``out``.
        step = -(-X.shape[0] // threads)
        step += -step % kernels.BLOCK
        with ThreadPoolExecutor(threads) as pool:
            parts = [(X[s : s + step], out[s : s + step]) for s in range(0, X.shape[0], step)]
            list(pool.map(lambda part: self._run(*part), parts))
        return out

    def raw_predict_one(self, x: Float32Array) -> float:
        """One row (n_features,) float32; NaN when some value is not finite."""
        if self.roots is not None:
            if not np.isfinite(x).all():
                return float("nan")
            return float(self.raw_predict(x.reshape(1, -1))[0])
        return float(
            kernels.predict_perfect_one(
                x, self.edges, self.offsets, self.nodes, self.leaves, self.init, self.depth
            )
        )

    def _run(self, X: Float32Array, out: FloatArray) -> None:
        if self.roots is None:
            kernels.predict_perfect(
                X, self.edges, self.offsets, self.nodes, self.leaves, self.init, self.depth, out
            )
        else:
            assert self.children is not None
            kernels.predict_sparse(
                X, self.edges, self.offsets, self.nodes, self.children, self.leaves,
                self.roots, self.init, self.depth, out,
            )  # fmt: skip

    def warm_up(self) -> None:
        """Compile the kernels now (or load them from numba's cache), not on a request."""
        x = np.zeros(self.n_features, dtype=np.float32)
        self.raw_predict(x.reshape(1, -1))
        self.raw_predict_one(x)


def compile_kernels() -> None:
    """Compile every kernel now, or load it from numba's disk cache.

    A process that forks workers (a Celery prefork pool) can call this first, so
    that the children inherit the machine code instead of each compiling it again
    (about two seconds each, or half a second from the cache).
    """
    none = np.zeros(0, dtype=np.float64)
    offsets = np.zeros(2, dtype=np.int64)  # one feature, no thresholds
    padding = kernels.ALWAYS_LEFT
    padded = Forest(
        none, offsets, np.full((1, 1), padding, dtype=np.uint32), np.zeros((1, 2)),
        None, None, depth=1, init=0.0, n_features=1, used_features=frozenset(),
    )  # fmt: skip
    stacked = Forest(
        none, offsets, np.full(1, padding, dtype=np.uint32), np.zeros(1),
        np.zeros(2, dtype=np.intp), np.zeros(1, dtype=np.intp), depth=1, init=0.0,
        n_features=1, used_features=frozenset(),
    )  # fmt: skip
    padded.warm_up()
    stacked.warm_up()


def default_threads() -> int:
    """Threads for large batches: the cores this process may run on, at most four."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4))


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


@dataclass
class _Stacked:
    """Every tree's nodes in one set of arrays; leaves are their own children."""

    feature: IntArray
    threshold: FloatArray  # +inf at leaves
    children: IntArray  # [2n] left, [2n + 1] right child of node n
    value: FloatArray  # learning_rate * value
    roots: IntArray
    depth: int


def _stack(regressor: GradientBoostingRegressor) -> _Stacked:
    estimators = regressor.estimators_
    if estimators.ndim != 2 or estimators.shape[1] != 1:
        raise UnsupportedModel("only single-output GradientBoostingRegressor models are supported")
    features, thresholds, children, values, roots = [], [], [], [], []
    depth, start = 1, 0
    learning_rate = float(regressor.learning_rate)
    for estimator in estimators[:, 0]:
        tree = estimator.tree_
        count = int(tree.node_count)
        left = tree.children_left.astype(np.intp)
        leaf = left < 0
        own = np.arange(count, dtype=np.intp)
        pair = np.empty((count, 2), dtype=np.intp)
        pair[:, 0] = np.where(leaf, own, left) + start
        pair[:, 1] = np.where(leaf, own, tree.children_right.astype(np.intp)) + start
        features.append(np.where(leaf, 0, tree.feature).astype(np.intp))
        thresholds.append(np.where(leaf, np.inf, tree.threshold).astype(np.float64))
        children.append(pair.ravel())
        # learning_rate * value, the very product predict_stages adds per tree
        values.append(learning_rate * tree.value.reshape(count, -1)[:, 0].astype(np.float64))
        roots.append(start)
        depth = max(depth, int(tree.max_depth))
        start += count
    return _Stacked(
        feature=np.concatenate(features),
        threshold=np.concatenate(thresholds),
        children=np.concatenate(children),
        value=np.concatenate(values),
        roots=np.asarray(roots, dtype=np.intp),
        depth=depth,
    )


def _binned_nodes(
    stacked: _Stacked, n_features: int
) -> tuple[NodeArray, FloatArray, npt.NDArray[np.int64]]:
    """Packed nodes (feature offset and threshold rank) and the per-feature thresholds."""
    if n_features > kernels.MAX_FEATURES:
        raise UnsupportedModel(
            f"the regressor has {n_features} features; at most {kernels.MAX_FEATURES} are supported"
        )
    split = np.isfinite(stacked.threshold)
    rank = np.full(stacked.feature.size, kernels.ALWAYS_LEFT, dtype=np.int64)
    edges, offsets = [], [0]
    for f in range(n_features):
        mine = split & (stacked.feature == f)
        distinct = np.unique(stacked.threshold[mine])
        if distinct.size >= kernels.ALWAYS_LEFT:
            raise UnsupportedModel(f"feature {f} has too many distinct split thresholds")
        rank[mine] = np.searchsorted(distinct, stacked.threshold[mine])
        edges.append(distinct)
        offsets.append(offsets[-1] + distinct.size)
    column = np.where(split, stacked.feature, 0).astype(np.int64) * kernels.BLOCK
    nodes = ((column << kernels.RANK_BITS) | rank).astype(np.uint32)
    return nodes, np.concatenate(edges), np.asarray(offsets, dtype=np.int64)


def compile_forest(regressor: GradientBoostingRegressor) -> Forest:
    """Compile every tree of a fitted GradientBoostingRegressor into one Forest."""
    stacked = _stack(regressor)
    if stacked.feature.size > np.iinfo(kernels.STACKED_INDEX).max:
        raise UnsupportedModel(f"the forest has too many nodes ({stacked.feature.size:,})")
    n_features = int(regressor.n_features_in_)
    nodes, edges, offsets = _binned_nodes(stacked, n_features)
    used = frozenset(int(f) for f in stacked.feature[np.isfinite(stacked.threshold)])
    children: IntArray | None = stacked.children
    roots: IntArray | None = stacked.roots
    leaves = stacked.value
    if stacked.depth <= PERFECT_MAX_DEPTH:
        nodes, leaves = _perfect(stacked, nodes)
        children = roots = None
    return Forest(
        edges=edges,
        offsets=offsets,
        nodes=nodes,
        leaves=leaves,
        children=children,
        roots=roots,
        depth=stacked.depth,
        init=_init_constant(regressor),
        n_features=n_features,
        used_features=used,
    )


def _perfect(stacked: _Stacked, nodes: NodeArray) -> tuple[NodeArray, FloatArray]:
    """Nodes (trees, 2^depth - 1) in heap order and leaf values (trees, 2^depth).

    All trees are walked level by level from their roots; a leaf reached early is
    its own child, so it fills its whole padded subtree and every path takes
    ``depth`` steps (its padding nodes have rank ALWAYS_LEFT).
    """
    current = stacked.roots[:, None]
    levels = []
    for _ in range(stacked.depth):
        levels.append(nodes[current])
        following = np.empty((current.shape[0], 2 * current.shape[1]), dtype=np.intp)
        following[:, 0::2] = stacked.children[2 * current]
        following[:, 1::2] = stacked.children[2 * current + 1]
        current = following
    padded = np.ascontiguousarray(np.concatenate(levels, axis=1))
    return padded, np.ascontiguousarray(stacked.value[current])
