"""Evaluation protocols of auDeep: cross-validation over stored folds, or train/eval partitions.

Each split (a cross-validation fold, or the one train/eval partition split) is evaluated the
same way, as in auDeep:

1. the training instances are optionally *upsampled* (every instance of class ``c`` repeated
   ``max_count // count_c`` times, auDeep's class balancing) and shuffled;
2. a :func:`make_classifier` pipeline is fitted on them: a standard scaler fitted on the
   training split only (so no statistics of the evaluation split leak into training),
   then the MLP or linear SVM;
3. the evaluation instances are predicted; with ``majority_vote`` the chunks of one file vote
   (the most frequent predicted class wins; ties go to the class that comes first);
4. accuracy, UAR and the confusion matrix are computed.

``repeat`` reruns everything with other seeds (derived from ``seed``, the repeat and the
split), to report the mean and spread. Splits and repeats run in parallel threads
(``n_jobs``), one torch thread each, so results do not depend on ``n_jobs``.

The array-level entry point is :func:`evaluate_splits`; :func:`cross_validate`,
:func:`evaluate_partitions` and :func:`predict` take :class:`rae_fast.dataset.DataSet` objects.

>>> import numpy as np
>>> from rae_fast.dataset import DataSet
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 20)
>>> X = (rng.standard_normal((40, 8)) + 3 * y[:, None]).astype(np.float32)
>>> folds = np.zeros((40, 2), np.int8); folds[::2, 0] = 1; folds[1::2, 1] = 1
>>> ds = DataSet(X, ("generated",), [f"{i}.wav" for i in range(40)],
...              label_nominal=np.array(["cat", "dog"])[y].tolist(), cv_folds=folds)
>>> res = cross_validate(ds, "svm", seed=0)
>>> res.accuracy, res.class_names
(1.0, ['cat', 'dog'])
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validation import check_int
from ..dataset._schema import partition_list
from ..dataset import MISSING, DataSet, Partition
from .components import _vote, make_classifier, upsample_indices
from .engine import _check_bool, evaluate_splits
from .results import EvaluationResult, Predictions

__all__ = ["cross_validate", "evaluate_partitions", "predict", "feature_weights_from_attrs",
           "dataset_classes"]


# ------------------------------------------------------------------------ DataSet protocols

def dataset_classes(dataset: DataSet) -> Tuple[List[str], Dict[int, int]]:
    """Class names of a data set and the map ``label_numeric -> class index``.

    Names come from the label map, sorted by name (auDeep's order); without a label map the
    numeric labels themselves are the names, sorted numerically.

    >>> dataset_classes(ds)                          # doctest: +SKIP
    (['cat', 'dog'], {0: 0, 1: 1})
    """
    if dataset.label_map:
        names = sorted(dataset.label_map)
        return names, {int(dataset.label_map[c]): i for i, c in enumerate(names)}
    ids = sorted(int(v) for v in np.unique(dataset.label_numeric) if v != MISSING)
    return [str(i) for i in ids], {v: i for i, v in enumerate(ids)}


def feature_weights_from_attrs(attrs: Dict[str, Any], feature_dims: Sequence[str],
                               feature_shape: Sequence[int]) -> Optional[np.ndarray]:
    """Per-feature weights recorded by :func:`rae_fast.fusion.fuse`, flattened to
    ``(prod(feature_shape),)`` (row-major, as the features are flattened), or None.

    The attribute ``feature_weights`` is ``{"dimension": name, "runs": [[count, weight],
    ...]}``: consecutive positions along ``dimension`` and their weight.

    >>> feature_weights_from_attrs({"feature_weights": {"dimension": "generated",
    ...     "runs": [[2, 1.0], [1, 0.5]]}}, ("generated",), (3,)).tolist()
    [1.0, 1.0, 0.5]
    """
    spec = attrs.get("feature_weights") if attrs else None
    if spec is None:
        return None
    try:
        dim = spec["dimension"]
        runs = [(int(c), float(w)) for c, w in spec["runs"]]
    except (TypeError, KeyError, ValueError):
        raise ValueError("attribute feature_weights must be {'dimension': str, 'runs': "
                         f"[[count, weight], ...]}}, got {spec!r}") from None
    if dim not in feature_dims:
        raise ValueError(f"attribute feature_weights refers to dimension {dim!r}, but the "
                         f"features have dimensions {tuple(feature_dims)}")
    axis = list(feature_dims).index(dim)
    along = np.concatenate([np.full(c, w) for c, w in runs]) if runs else np.zeros(0)
    if len(along) != feature_shape[axis] or np.any(along <= 0) or not np.all(np.isfinite(along)):
        raise ValueError(f"attribute feature_weights covers {len(along)} positions of "
                         f"{dim!r} (weights must be > 0), but it has {feature_shape[axis]}")
    shape = [1] * len(feature_shape)
    shape[axis] = len(along)
    return np.broadcast_to(along.reshape(shape), tuple(feature_shape)).reshape(-1).copy()


def _flat_features(dataset: DataSet, idx: Optional[np.ndarray] = None) -> np.ndarray:
    feats = dataset.features if idx is None else dataset.subset(idx).features
    arr = np.asarray(feats, dtype=np.float32)
    return arr.reshape(arr.shape[0], -1)


def _labelled_classes(dataset: DataSet, used: np.ndarray, what: str):
    if not isinstance(dataset, DataSet):
        raise TypeError(f"{what} must be a rae_fast.dataset.DataSet, got "
                        f"{type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{what} has no instances")
    lab = dataset.label_numeric[used]
    if np.all(dataset.label_numeric == MISSING):
        raise ValueError(f"{what} has no labels: evaluation needs labelled representations "
                         "(label_nominal / label_numeric)")
    unl = used[lab == MISSING]
    if unl.size:
        raise ValueError(f"{what}: {unl.size} of the instances to evaluate have no label "
                         f"(e.g. {dataset.filenames[unl[0]]!r}, chunk "
                         f"{int(dataset.chunk_nr[unl[0]])})")
    names, to_index = dataset_classes(dataset)
    ids = np.array(sorted(to_index), dtype=np.int64)
    pos = np.array([to_index[int(v)] for v in ids], dtype=np.int64)
    y = np.full(len(dataset), -1, dtype=np.int64)
    y[used] = pos[np.searchsorted(ids, dataset.label_numeric[used])]
    return names, y


def cross_validate(dataset: DataSet, classifier="mlp", *, repeat: int = 1, seed: int = 0,
                   upsample: bool = False, majority_vote: bool = False,
                   n_jobs: Optional[int] = None, progress: Optional[bool] = False,
                   executor=None, **classifier_params) -> EvaluationResult:
    """Cross-validated evaluation over the folds stored in ``dataset`` (auDeep's protocol).

    Fold ``f`` trains on the instances with ``cv_folds[:, f] == 0`` and evaluates on those
    with ``1``; accuracy and UAR are averaged over folds (and repeats), the confusion matrix
    summed.

    Parameters
    ----------
    dataset : DataSet
        Labelled representations with ``cv_folds`` (features of any shape, flattened).
    classifier : ``"mlp"``, ``"svm"`` or a scikit-learn classifier
    repeat, seed, upsample, majority_vote, n_jobs, progress, executor
        See :func:`evaluate_splits` (:func:`rae_fast.distributed.cross_validate` runs the
        folds on Ray).
    **classifier_params
        E.g. ``epochs=400, dropout=0.4`` (MLP) or ``C=0.1`` (SVM).

    Returns
    -------
    EvaluationResult
        ``.accuracy``, ``.uar``, ``.per_class_recall``, ``.confusion_matrix``,
        ``.class_names``, ``.table()``.

    Raises
    ------
    ValueError
        No folds, unlabelled instances, a fold with an empty split or a class without
        training instances (message names the fold and class).

    >>> res = cross_validate(load("reps.nc"), "mlp", repeat=3, seed=0)   # doctest: +SKIP
    >>> print(res.table())                                               # doctest: +SKIP
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a rae_fast.dataset.DataSet, got "
                        f"{type(dataset).__name__}")
    if dataset.n_folds == 0:
        raise ValueError("the data set has no cross-validation folds (cv_folds is empty); use "
                         "partitioned evaluation or a data set with folds")
    splits, names = [], []
    for f in range(dataset.n_folds):
        tr, ev = dataset.fold_indices(f)
        if tr.size == 0 or ev.size == 0:
            raise ValueError(f"fold {f + 1}: the {'training' if tr.size == 0 else 'validation'} "
                             "split is empty")
        splits.append((tr, ev))
        names.append(f"fold {f + 1}")
    used = np.unique(np.concatenate([np.concatenate(s) for s in splits]))
    class_names, y = _labelled_classes(dataset, used, "the data set")
    X = _flat_features(dataset)
    weights = feature_weights_from_attrs(dataset.attrs, dataset.feature_dims,
                                         dataset.feature_shape)
    return evaluate_splits(
        X, np.where(y < 0, 0, y), splits, class_names=class_names, classifier=classifier,
        classifier_params=classifier_params, groups=dataset.filenames, upsample=upsample,
        majority_vote=majority_vote, repeat=repeat, seed=seed, n_jobs=n_jobs,
        feature_weights=weights, split_names=names, progress=progress, executor=executor,
        settings={"protocol": f"{dataset.n_folds}-fold cross-validation"})


def _partition_list(parts, name: str) -> List[Partition]:
    return partition_list(parts, name)


def evaluate_partitions(dataset: DataSet, train_partitions, eval_partitions,
                        classifier="mlp", *, repeat: int = 1, seed: int = 0,
                        upsample: bool = False, majority_vote: bool = False,
                        n_jobs: Optional[int] = None, progress: Optional[bool] = False,
                        executor=None, **classifier_params) -> EvaluationResult:
    """Train on some partitions of ``dataset``, evaluate on others (auDeep's partitioned
    evaluation, e.g. train -> devel while tuning, train+devel -> test at the end).

    Parameters
    ----------
    dataset : DataSet
        Labelled representations with partition information.
    train_partitions, eval_partitions : partition name / value / :class:`Partition` or list
        ``"train"``, ``"devel"``, ``"test"`` (case-insensitive) or 0, 1, 2.
    classifier, repeat, seed, upsample, majority_vote, n_jobs, progress, executor
        As in :func:`cross_validate`.
    **classifier_params
        As in :func:`cross_validate`.

    >>> res = evaluate_partitions(ds, "train", "devel", "svm", C=0.01)   # doctest: +SKIP
    """
    if not isinstance(dataset, DataSet):
        raise TypeError(f"dataset must be a rae_fast.dataset.DataSet, got "
                        f"{type(dataset).__name__}")
    train_p = _partition_list(train_partitions, "train_partitions")
    eval_p = _partition_list(eval_partitions, "eval_partitions")
    if np.all(dataset.partition == MISSING):
        raise ValueError("the data set has no partition information; use cross-validation or "
                         "a data set with train/devel/test partitions")
    tr = dataset.partition_indices(train_p)
    ev = dataset.partition_indices(eval_p)
    tname = "+".join(p.name.lower() for p in train_p)
    ename = "+".join(p.name.lower() for p in eval_p)
    if tr.size == 0:
        raise ValueError(f"the training partition(s) {tname} hold no instances")
    if ev.size == 0:
        raise ValueError(f"the evaluation partition(s) {ename} hold no instances")
    class_names, y = _labelled_classes(dataset, np.union1d(tr, ev), "the data set")
    X = _flat_features(dataset)
    weights = feature_weights_from_attrs(dataset.attrs, dataset.feature_dims,
                                         dataset.feature_shape)
    return evaluate_splits(
        X, np.where(y < 0, 0, y), [(tr, ev)], class_names=class_names, classifier=classifier,
        classifier_params=classifier_params, groups=dataset.filenames, upsample=upsample,
        majority_vote=majority_vote, repeat=repeat, seed=seed, n_jobs=n_jobs,
        feature_weights=weights, split_names=[f"{tname} -> {ename}"],
        progress=progress, executor=executor,
        settings={"protocol": f"partitioned evaluation ({tname} -> {ename})"})


def predict(train: DataSet, evaluate: DataSet, classifier="mlp", *, train_partitions=None,
            eval_partitions=None, upsample: bool = False, majority_vote: bool = False,
            seed: int = 0, **classifier_params) -> Predictions:
    """Fit on ``train`` (optionally some of its partitions), predict ``evaluate``.

    ``evaluate`` needs no labels (its labels, when present, are reported next to the
    predictions). Both sets must have the same feature shape.

    Parameters
    ----------
    train : DataSet
        Labelled training data.
    evaluate : DataSet
        Data to label.
    classifier : ``"mlp"``, ``"svm"`` or a scikit-learn classifier
        For ``"svm"``, pass ``probability=True`` to get probabilities.
    train_partitions, eval_partitions : optional
        Restrict either set to some partitions (names or values).
    upsample : bool
        Balance the training classes.
    majority_vote : bool
        One row per file: the majority of its chunks' predictions; probabilities are the
        mean over the chunks.
    seed : int
    **classifier_params

    Returns
    -------
    Predictions
        ``.filenames``, ``.chunk_nr`` (None with majority vote), ``.predicted`` (class names),
        ``.probabilities`` (``(n, K)`` or None), ``.class_names``; ``.to_csv(path)``.

    >>> preds = predict(load("train.nc"), load("test.nc"), "mlp")    # doctest: +SKIP
    >>> preds.to_csv("predictions.csv")                              # doctest: +SKIP
    """
    for obj, what in ((train, "train"), (evaluate, "evaluate")):
        if not isinstance(obj, DataSet):
            raise TypeError(f"{what} must be a rae_fast.dataset.DataSet, got "
                            f"{type(obj).__name__}")
    seed = check_int(seed, "seed", 0)
    upsample = _check_bool(upsample, "upsample")
    majority_vote_ = _check_bool(majority_vote, "majority_vote")
    if train_partitions is not None:
        train = train.subset(train.partition_indices(
            _partition_list(train_partitions, "train_partitions")))
    if eval_partitions is not None:
        evaluate = evaluate.subset(evaluate.partition_indices(
            _partition_list(eval_partitions, "eval_partitions")))
    if len(train) == 0:
        raise ValueError("the training data hold no instances"
                         + (" in the selected partitions" if train_partitions else ""))
    if len(evaluate) == 0:
        raise ValueError("the evaluation data hold no instances"
                         + (" in the selected partitions" if eval_partitions else ""))
    if train.feature_shape != evaluate.feature_shape:
        raise ValueError(f"training features have shape {train.feature_shape} but evaluation "
                         f"features {evaluate.feature_shape}; they must match")
    class_names, y = _labelled_classes(train, np.arange(len(train)), "the training data")
    if len(np.unique(y)) < 2:
        raise ValueError(f"the training data hold only one class ({class_names[int(y[0])]!r}); "
                         "need at least 2")
    X = _flat_features(train)
    ss = np.random.SeedSequence([seed])
    idx = np.arange(len(train))
    if upsample:
        idx = idx[upsample_indices(y)]
    idx = np.random.default_rng(ss).permutation(idx)
    weights = feature_weights_from_attrs(train.attrs, train.feature_dims, train.feature_shape)
    model = make_classifier(classifier, feature_weights=weights,
                            random_state=int(ss.generate_state(1)[0] & 0x7FFFFFFF),
                            **classifier_params)
    model.fit(X[idx], y[idx])
    Xe = _flat_features(evaluate)
    pred = np.asarray(model.predict(Xe), dtype=np.int64)
    proba = model.predict_proba(Xe) if hasattr(model, "predict_proba") else None
    if proba is not None:
        full = np.zeros((len(Xe), len(class_names)))
        full[:, model.named_steps["classifier"].classes_.astype(np.int64)] = proba
        proba = full
    truth = [None if v is None else str(v) for v in evaluate.label_nominal]
    has_truth = any(t is not None for t in truth)
    if majority_vote_:
        keys, voted, first = _vote(evaluate.filenames, pred, len(class_names))
        if proba is not None:
            _, inverse = np.unique(evaluate.filenames, return_inverse=True)
            inverse = inverse.ravel()
            sums = np.zeros((len(keys), len(class_names)))
            np.add.at(sums, inverse, proba)
            proba = sums / np.bincount(inverse, minlength=len(keys))[:, None]
        return Predictions(filenames=[str(f) for f in keys],
                           predicted=[class_names[int(c)] for c in voted],
                           class_names=class_names, probabilities=proba, chunk_nr=None,
                           true_labels=[truth[i] for i in first] if has_truth else None)
    return Predictions(filenames=[str(f) for f in evaluate.filenames],
                       predicted=[class_names[int(c)] for c in pred], class_names=class_names,
                       probabilities=proba, chunk_nr=evaluate.chunk_nr.copy(),
                       true_labels=truth if has_truth else None)
