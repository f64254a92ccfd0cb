"""Cross-validation folds and partitions: stratified by label, grouped by file."""
from __future__ import annotations

import numbers
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._validation import check_int
from ._schema import MISSING, Partition, Split, partition_list

# ------------------------------------------------------------------ folds and partitions

def _group_order(n: int, labels, groups, seed) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Groups (files) shuffled within each label and concatenated label by label.

    Returns ``(group_of_instance, groups_in_order)`` where ``groups_in_order[c]`` lists
    the group ids of label ``c`` in dealing order.
    """
    if groups is None:
        gid = np.arange(n)
    else:
        keys = list(groups)
        if len(keys) != n:
            raise ValueError(f"groups must have {n} entries, got {len(keys)}")
        index: Dict[Any, int] = {}
        gid = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
    n_groups = int(gid.max()) + 1 if n else 0
    glabel: List[Any] = [None] * n_groups
    if labels is not None:
        labs = list(labels)
        if len(labs) != n:
            raise ValueError(f"labels must have {n} entries, got {len(labs)}")
        seen = [False] * n_groups
        for i, lab in enumerate(labs):
            if isinstance(lab, (numbers.Integral, np.integer)) and int(lab) == MISSING:
                lab = None
            g = gid[i]
            if not seen[g]:
                glabel[g], seen[g] = lab, True
            elif glabel[g] != lab:
                raise ValueError(f"instances of one file (group {groups[i] if groups is not None else i!r}) "
                                 f"have different labels ({glabel[g]!r} and {lab!r})")
    rng = np.random.default_rng(seed)
    by_label: Dict[Any, List[int]] = {}
    for g, lab in enumerate(glabel):
        by_label.setdefault(lab, []).append(g)
    keys = sorted(by_label, key=lambda k: (k is None, str(k)))
    ordered = []
    for k in keys:
        members = np.asarray(by_label[k], dtype=np.int64)
        ordered.append(members[rng.permutation(len(members))])
    return gid, ordered


def make_cv_folds(n_folds: int, *, n: Optional[int] = None, labels=None, groups=None,
                  seed: int = 0) -> np.ndarray:
    """Stratified, grouped K-fold assignment: int8 ``(n, n_folds)``, 0 train / 1 validation.

    Every group (e.g. all chunks of one file: pass the filenames as ``groups``) lands in the
    validation split of exactly one fold; groups of each label are shuffled (``seed``) and
    dealt round-robin over the folds, label after label, so that every fold gets each label's
    share to within one group and fold sizes differ by at most one group.

    >>> make_cv_folds(2, labels=["a", "a", "b", "b"], seed=0).sum(axis=0).tolist()
    [2, 2]
    """
    check_int(n_folds, "n_folds")
    if n is None:
        src = labels if labels is not None else groups
        if src is None:
            raise ValueError("give n, labels or groups")
        n = len(list(src))
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    gid, ordered = _group_order(n, labels, groups, seed)
    n_groups = sum(len(o) for o in ordered)
    if n_groups < n_folds:
        raise ValueError(f"cannot make {n_folds} folds from only {n_groups} file(s)")
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    fold_of_group[np.concatenate(ordered)] = np.arange(n_groups) % n_folds
    out = np.zeros((n, n_folds), dtype=np.int8)
    out[np.arange(n), fold_of_group[gid]] = Split.VALID
    return out


def make_partitions(partitions=(Partition.TRAIN, Partition.DEVEL, Partition.TEST), ratios=None,
                    *, n: Optional[int] = None, labels=None, groups=None,
                    seed: int = 0) -> np.ndarray:
    """Stratified, grouped random partitioning: int8 ``(n,)`` of :class:`Partition` values.

    ``partitions`` (names or values) share the groups of each label in proportion to
    ``ratios`` (default: equal shares, as auDeep's ``--add-partitioning``); a group's
    instances (a file's chunks) stay in one partition.

    >>> make_partitions(["train", "test"], [0.75, 0.25], labels=list("aaaabbbb")).tolist()
    [0, 0, 0, 2, 2, 0, 0, 0]
    """
    parts = partition_list(partitions, "partitions", distinct=True)
    r = np.ones(len(parts)) if ratios is None else np.asarray(ratios, dtype=np.float64)
    if r.shape != (len(parts),) or not np.isfinite(r).all() or (r < 0).any() or r.sum() <= 0:
        raise ValueError(f"ratios must be {len(parts)} non-negative numbers with a positive "
                         f"sum, got {ratios!r}")
    edges = np.cumsum(r / r.sum())
    if n is None:
        src = labels if labels is not None else groups
        if src is None:
            raise ValueError("give n, labels or groups")
        n = len(list(src))
    gid, ordered = _group_order(n, labels, groups, seed)
    n_groups = sum(len(o) for o in ordered)
    part_of_group = np.empty(n_groups, dtype=np.int64)
    values = np.array([int(p) for p in parts])
    for members in ordered:
        pos = (np.arange(len(members)) + 0.5) / len(members)
        idx = np.minimum(np.searchsorted(edges, pos, side="right"), len(parts) - 1)
        part_of_group[members] = values[idx]
    return part_of_group[gid].astype(np.int8)
