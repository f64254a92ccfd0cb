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

import logging
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..dataset import MISSING, DataSet, Partition
from .metrics import accuracy, check_class_indices, confusion_matrix, uar
from .mlp import MLPClassifier, resolve_device, torch_threads
from .results import EvaluationResult, Predictions
from .svm import LinearSVMClassifier

__all__ = ["CLASSIFIERS", "WeightedStandardScaler", "make_classifier", "upsample_indices",
           "majority_vote", "evaluate_splits", "cross_validate", "evaluate_partitions",
           "predict", "feature_weights_from_attrs", "dataset_classes"]

log = logging.getLogger(__name__)

#: Classifier names understood by :func:`make_classifier`.
CLASSIFIERS = {"mlp": MLPClassifier, "svm": LinearSVMClassifier}


# ---------------------------------------------------------------------------- building blocks

class WeightedStandardScaler(StandardScaler):
    """``StandardScaler`` followed by a fixed per-feature weight (default: none).

    Standardising would undo the weight that ``rae-fast fuse --weights`` gives each fused
    feature set; applying the weights *after* standardisation keeps their effect (a block of
    weight 2 has twice the spread of a block of weight 1 when the classifier sees it).

    Parameters
    ----------
    feature_weights : float array ``(d,)`` or None
        Multiplies standardised feature ``j`` by ``feature_weights[j]``.
    copy : bool

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [2.0, 4.0]])
    >>> WeightedStandardScaler([1.0, 3.0]).fit_transform(X).tolist()
    [[-1.0, -3.0], [1.0, 3.0]]
    """

    def __init__(self, feature_weights=None, *, copy: bool = True):
        super().__init__(copy=copy)
        self.feature_weights = feature_weights

    def _weights(self, n_features: int) -> Optional[np.ndarray]:
        if self.feature_weights is None:
            return None
        w = np.asarray(self.feature_weights, dtype=np.float64)
        if w.shape != (n_features,):
            raise ValueError(f"feature_weights must have {n_features} entries (one per feature), "
                             f"got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("feature_weights must be finite and > 0")
        return w

    def fit(self, X, y=None, sample_weight=None):
        """Learn mean and standard deviation of every feature from ``X`` ``(n, d)``."""
        super().fit(X, y, sample_weight)
        self._weights(self.n_features_in_)
        return self

    def transform(self, X, copy=None):
        """``(X - mean_) / scale_ * feature_weights``, same shape and float dtype as ``X``."""
        out = super().transform(X, copy=copy)
        w = self._weights(self.n_features_in_)
        if w is not None:
            out *= w.astype(out.dtype)
        return out

    def inverse_transform(self, X, copy=None):
        """Undo :meth:`transform`."""
        w = self._weights(self.n_features_in_)
        if w is not None:
            X = np.asarray(X) / w.astype(np.asarray(X).dtype)
        return super().inverse_transform(X, copy=copy)


def make_classifier(classifier="mlp", *, feature_weights=None, random_state=None,
                    **params) -> Pipeline:
    """A scikit-learn pipeline: :class:`WeightedStandardScaler` -> classifier.

    Parameters
    ----------
    classifier : ``"mlp"``, ``"svm"`` or an unfitted scikit-learn classifier
        ``"mlp"``: :class:`~rae_fast.evaluation.mlp.MLPClassifier`; ``"svm"``:
        :class:`~rae_fast.evaluation.svm.LinearSVMClassifier`. An estimator is cloned.
    feature_weights : float array ``(d,)``, optional
        Per-feature weights applied after standardisation (see :func:`feature_weights_from_attrs`).
    random_state : int or None
        Passed to the classifier when it has a ``random_state`` parameter.
    **params
        Classifier parameters, e.g. ``epochs=200`` or ``C=0.1``.

    >>> make_classifier("svm", C=0.5).named_steps["classifier"].C
    0.5
    """
    if isinstance(classifier, str):
        key = classifier.strip().lower()
        if key not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {sorted(CLASSIFIERS)} or a scikit-learn "
                             f"estimator, got {classifier!r}")
        est = CLASSIFIERS[key]()
    elif isinstance(classifier, BaseEstimator) or hasattr(classifier, "fit"):
        est = clone(classifier)
    else:
        raise TypeError(f"classifier must be 'mlp', 'svm' or a scikit-learn estimator, got "
                        f"{type(classifier).__name__}")
    valid = est.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown} for {type(est).__name__}; valid: "
                        f"{sorted(valid)}")
    if params:
        est.set_params(**params)
    if random_state is not None and "random_state" in valid:
        est.set_params(random_state=random_state)
    return Pipeline([("standardize", WeightedStandardScaler(feature_weights)),
                     ("classifier", est)])


def upsample_indices(labels) -> np.ndarray:
    """auDeep's class balancing: indices that repeat every instance of class ``c``
    ``max_count // count_c`` times (in the original order, repeats adjacent).

    Parameters
    ----------
    labels : int array ``(n,)``
        Class indices.

    Returns
    -------
    int64 array ``(m,)`` of indices into ``labels``.

    >>> upsample_indices([0, 0, 0, 0, 1, 2, 2]).tolist()
    [0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 6, 6]
    """
    y = check_class_indices(labels, "labels")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    factors = counts.max() // counts
    return np.repeat(np.arange(len(y), dtype=np.int64), factors[inverse])


def majority_vote(groups, predictions, n_classes: Optional[int] = None
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine the predictions of the chunks of each file by majority vote.

    Parameters
    ----------
    groups : sequence ``(n,)``
        Group key of each instance (the file name).
    predictions : int array ``(n,)``
        Predicted class index of each instance.
    n_classes : int, optional

    Returns
    -------
    keys : ``(g,)``
        Distinct groups, sorted (as auDeep).
    voted : int64 ``(g,)``
        The most frequent prediction of each group; a tie goes to the smallest class index
        (auDeep's ``argmax(bincount)``).
    first : int64 ``(g,)``
        Index of each group's first instance (to look up its true label).

    >>> keys, voted, first = majority_vote(["b", "a", "a", "a", "b"], [1, 2, 0, 2, 0])
    >>> keys.tolist(), voted.tolist(), first.tolist()
    (['a', 'b'], [2, 0], [1, 0])
    """
    g = np.asarray(groups, dtype=object) if not isinstance(groups, np.ndarray) else groups
    if g.ndim != 1:
        raise ValueError(f"groups must be 1-D, got shape {g.shape}")
    p = check_class_indices(predictions, "predictions", n_classes)
    if len(g) != len(p):
        raise ValueError(f"groups and predictions must have the same length, got {len(g)} and "
                         f"{len(p)}")
    k = int(n_classes) if n_classes is not None else int(p.max()) + 1
    keys, first, inverse = np.unique(g, return_index=True, return_inverse=True)
    votes = np.zeros((len(keys), k), dtype=np.int64)
    np.add.at(votes, (inverse.ravel(), p), 1)
    return keys, np.argmax(votes, axis=1).astype(np.int64), first.astype(np.int64)


_vote = majority_vote  # the protocols' ``majority_vote`` flag shadows the function


# ------------------------------------------------------------------------------ validation

def _check_X(X) -> np.ndarray:
    arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    if arr.dtype.kind != "f":
        raise TypeError(f"X must be a floating-point array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (instances x features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"X is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"X contains NaN or Inf (first at instance {int(bad[0])}, feature "
                         f"{int(bad[1])})")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_split_indices(idx, n: int, what: str) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integer indices, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"{what} holds indices outside [0, {n})")
    return arr.astype(np.int64)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _default_jobs(n_tasks: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_tasks))


# ------------------------------------------------------------------------------ the engine

def evaluate_splits(X, y, splits: Sequence[Tuple[Any, Any]], *, class_names=None,
                    classifier="mlp", classifier_params: Optional[Dict[str, Any]] = None,
                    groups=None, upsample: bool = False, majority_vote: bool = False,
                    repeat: int = 1, seed: int = 0, n_jobs: Optional[int] = None,
                    feature_weights=None, split_names: Optional[Sequence[str]] = None,
                    settings: Optional[Dict[str, Any]] = None,
                    show_progress: Optional[bool] = False) -> EvaluationResult:
    """Train and evaluate a classifier on each ``(train_idx, eval_idx)`` split of ``X``.

    Parameters
    ----------
    X : float array ``(n, d)``
        Features (NaN/Inf refused).
    y : int array ``(n,)``
        Class indices ``0..K-1``.
    splits : list of ``(train_idx, eval_idx)`` pairs of int arrays
        E.g. the folds of a cross-validation (a list even for a single split). Every class
        that occurs in an evaluation split must occur in its training split.
    class_names : sequence of K str, optional
        Default ``"0".."K-1"`` with ``K = max(y) + 1``.
    classifier : ``"mlp"``, ``"svm"`` or a scikit-learn classifier
    classifier_params : dict, optional
        Parameters of the classifier (``{"epochs": 400}``, ``{"C": 0.1}``...).
    groups : sequence ``(n,)`` of str, optional
        File of each instance; required for ``majority_vote``.
    upsample : bool
        Balance the classes of every training split (auDeep's upsampling).
    majority_vote : bool
        Score one prediction per file (majority over its chunks) instead of per instance.
    repeat : int >= 1
        Repetitions with different seeds.
    seed : int
        Master seed; repeat ``r``, split ``s`` uses ``SeedSequence([seed, r, s])``.
    n_jobs : int, optional
        Splits evaluated at once (threads, one torch thread each); default: the number of
        cores, or 1 for an MLP on CUDA (``device`` is resolved first: ``"auto"`` on a machine
        without a GPU is the CPU) or an MLP whose ``n_threads`` is given. Results do not
        depend on it. The MLP's ``n_threads`` is honoured when the splits run one after the
        other; with ``n_jobs > 1`` each split gets one torch thread and a warning says that
        ``n_threads`` was replaced. ``settings`` records ``n_jobs``, the resolved ``device``
        and ``torch_threads``.
    feature_weights : float array ``(d,)``, optional
        Applied after standardisation (fused feature sets).
    split_names, settings : optional
        Labels and metadata stored in the result.
    show_progress : bool or None
        Progress bar over the splits (None: when standard error is a terminal).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    ValueError
        Empty splits, a class missing from a training split, inconsistent labels within a
        file (majority vote), bad parameters — naming the split and class.

    >>> rng = np.random.default_rng(1)
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = rng.standard_normal((30, 4)) + 4 * np.eye(3, 4)[y]
    >>> idx = np.arange(30)
    >>> res = evaluate_splits(X, y, [(idx[idx % 2 == 0], idx[idx % 2 == 1])], classifier="svm")
    >>> res.accuracy
    1.0
    """
    X = _check_X(X)
    n = X.shape[0]
    if class_names is not None:
        if isinstance(class_names, str):
            raise TypeError("class_names must be a sequence of str, not a str")
        class_names = [str(c) for c in class_names]
        k = len(class_names)
        if k < 2:
            raise ValueError(f"need at least 2 classes, got class_names={class_names}")
        y = check_class_indices(y, "y", k)
    else:
        y = check_class_indices(y, "y")
        k = int(y.max()) + 1
        class_names = [str(i) for i in range(k)]
    if len(y) != n:
        raise ValueError(f"X has {n} instances but y has {len(y)} labels")
    repeat = _check_int(repeat, "repeat", 1)
    seed = _check_int(seed, "seed", 0)
    upsample = _check_bool(upsample, "upsample")
    majority_vote_ = _check_bool(majority_vote, "majority_vote")
    params = dict(classifier_params or {})
    if groups is not None:
        groups = np.asarray(groups, dtype=object)
        if groups.shape != (n,):
            raise ValueError(f"groups must have one entry per instance ({n}), got shape "
                             f"{groups.shape}")
    if majority_vote_ and groups is None:
        raise ValueError("majority_vote needs groups (the file name of every instance)")
    if feature_weights is not None:
        # validated once here rather than in every split
        WeightedStandardScaler(feature_weights)._weights(X.shape[1])
    make_classifier(classifier, feature_weights=None, **params)  # validates name and params
    splits = list(splits)
    if not splits:
        raise ValueError("splits is empty: nothing to evaluate")
    names = list(split_names) if split_names is not None else \
        [f"split {i + 1}" for i in range(len(splits))]
    if len(names) != len(splits):
        raise ValueError(f"split_names has {len(names)} entries for {len(splits)} splits")
    checked: List[Tuple[np.ndarray, np.ndarray]] = []
    for name, split in zip(names, splits):
        try:
            tr, ev = split
        except (TypeError, ValueError):
            raise TypeError(f"{name}: each split must be a (train_idx, eval_idx) pair") from None
        tr = _check_split_indices(tr, n, f"{name}: the training split")
        ev = _check_split_indices(ev, n, f"{name}: the evaluation split")
        _check_split_classes(y[tr], y[ev], class_names, name)
        if np.intersect1d(tr, ev).size:
            log.warning("%s: %d instances are in both the training and the evaluation split",
                        name, np.intersect1d(tr, ev).size)
        if majority_vote_:
            _check_group_labels(groups[ev], y[ev], name)
        checked.append((tr, ev))

    tasks = [(r, s) for r in range(repeat) for s in range(len(checked))]
    uses_torch = (isinstance(classifier, str) and classifier.strip().lower() == "mlp") or \
        isinstance(classifier, MLPClassifier)
    torch_n = None                      # torch threads while the splits run (None: untouched)
    if uses_torch:
        device = resolve_device(params.get("device", getattr(classifier, "device", "cpu")))
        on_gpu = device != "cpu"
        user_threads = params.get("n_threads", None if isinstance(classifier, str)
                                  else getattr(classifier, "n_threads", None))
        if user_threads is not None:
            user_threads = _check_int(user_threads, "n_threads", 1)
        if n_jobs is None:
            # a CUDA MLP runs the splits one after the other; so does a CPU MLP whose
            # n_threads was given (the threads then go to each split's training)
            n_jobs = 1 if on_gpu or user_threads is not None else _default_jobs(len(tasks))
        n_jobs = _check_int(n_jobs, "n_jobs", 1)
        parallel = n_jobs > 1 and len(tasks) > 1
        if user_threads is not None and not parallel:
            # splits one after the other, in this thread: the MLP sets its own thread count
            torch_n = user_threads
            params["n_threads"] = user_threads
        else:
            if user_threads not in (None, 1):
                log.warning("n_threads=%d of the MLP is replaced by 1 torch thread per split: "
                            "%d splits run in parallel (n_jobs=%d); pass n_jobs=1 to train the "
                            "splits one after the other with %d threads each", user_threads,
                            min(n_jobs, len(tasks)), n_jobs, user_threads)
            # one torch thread per split (the threads run splits in parallel instead); torch's
            # setting is process-wide, so it is set here once, around all splits, and the
            # classifier must not change it from a worker thread
            torch_n = 1
            params["n_threads"] = None
    else:
        if n_jobs is None:
            n_jobs = _default_jobs(len(tasks))
        n_jobs = _check_int(n_jobs, "n_jobs", 1)

    def run(task):
        r, s = task
        tr, ev = checked[s]
        ss = np.random.SeedSequence([seed, r, s])
        task_seed = int(ss.generate_state(1)[0] & 0x7FFFFFFF)
        rng = np.random.default_rng(ss)
        if upsample:
            tr = tr[upsample_indices(y[tr])]
        tr = rng.permutation(tr)
        model = make_classifier(classifier, feature_weights=feature_weights,
                                random_state=task_seed, **params)
        model.fit(X[tr], y[tr])
        pred = np.asarray(model.predict(X[ev]), dtype=np.int64)
        truth = y[ev]
        if majority_vote_:
            _, pred, first = _vote(groups[ev], pred, k)
            truth = truth[first]
        a, u = accuracy(truth, pred), uar(truth, pred, k)
        log.info("%s%s: accuracy %.2f %%, UAR %.2f %%", names[s],
                 f" (repeat {r + 1})" if repeat > 1 else "", 100 * a, 100 * u)
        return a, u, confusion_matrix(truth, pred, k)

    from ..progress import progress

    results: Dict[Tuple[int, int], Tuple[float, float, np.ndarray]] = {}
    with torch_threads(torch_n):
        with progress(total=len(tasks), desc="evaluate", unit="split",
                      disable=None if show_progress is None else not show_progress) as bar:
            if n_jobs == 1 or len(tasks) == 1:
                for t in tasks:
                    results[t] = run(t)
                    bar.update(1)
            else:
                with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                    futures = {t: pool.submit(run, t) for t in tasks}
                    try:
                        for t in tasks:
                            results[t] = futures[t].result()
                            bar.update(1)
                    except BaseException:
                        for f in futures.values():
                            f.cancel()
                        raise
    acc = np.array([[results[(r, s)][0] for s in range(len(checked))] for r in range(repeat)])
    uars = np.array([[results[(r, s)][1] for s in range(len(checked))] for r in range(repeat)])
    cms = np.array([[results[(r, s)][2] for s in range(len(checked))] for r in range(repeat)])
    info = {"classifier": classifier if isinstance(classifier, str) else
            type(classifier).__name__, "classifier_params": _jsonable(params),
            "repeat": repeat, "seed": seed, "upsample": upsample,
            "majority_vote": majority_vote_, "n_instances": n, "n_jobs": n_jobs}
    if uses_torch:
        info["device"] = device
        info["torch_threads"] = torch_n
    info.update(settings or {})
    return EvaluationResult(class_names=class_names, accuracies=acc, uars=uars,
                            confusion_matrices=cms, split_names=names, settings=info)


def _jsonable(params: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = repr(value)
    return out


def _check_split_classes(y_train, y_eval, class_names, name: str) -> None:
    train_classes = set(np.unique(y_train).tolist())
    missing = sorted(set(np.unique(y_eval).tolist()) - train_classes)
    if missing:
        listed = ", ".join(repr(class_names[c]) for c in missing)
        raise ValueError(f"{name}: class {listed} has no instances in the training split (but "
                         "occurs in the evaluation split); every class needs training data")
    if len(train_classes) < 2:
        only = class_names[next(iter(train_classes))]
        raise ValueError(f"{name}: the training split holds only one class ({only!r}); need at "
                         "least 2")
    absent = sorted(train_classes - set(np.unique(y_eval).tolist()))
    if absent:
        log.warning("%s: class %s does not occur in the evaluation split (its recall is "
                    "undefined and left out of the UAR)", name,
                    ", ".join(repr(class_names[c]) for c in absent))


def _check_group_labels(groups, labels, name: str) -> None:
    keys, inverse = np.unique(groups, return_inverse=True)
    inverse = inverse.ravel()
    lo = np.full(len(keys), np.iinfo(np.int64).max)
    hi = np.full(len(keys), -1)
    np.minimum.at(lo, inverse, labels)
    np.maximum.at(hi, inverse, labels)
    bad = np.flatnonzero(lo != hi)
    if bad.size:
        raise ValueError(f"{name}: the chunks of file {keys[bad[0]]!r} have different labels; "
                         "majority voting needs one label per file")


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
                   n_jobs: Optional[int] = None, show_progress: Optional[bool] = False,
                   **classifier_params) -> EvaluationResult:
    """Cross-validated evaluation over the folds stored in ``dataset`` (auDeep's protocol).

    Fold ``f`` trains on the instances with ``cv_folds[:, f] == 0`` and evaluates on those
    with ``1``; accuracy and UAR are averaged over folds (and repeats), the confusion matrix
    summed.

    Parameters
    ----------
    dataset : DataSet
        Labelled representations with ``cv_folds`` (features of any shape, flattened).
    classifier : ``"mlp"``, ``"svm"`` or a scikit-learn classifier
    repeat, seed, upsample, majority_vote, n_jobs, show_progress
        See :func:`evaluate_splits`.
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
        feature_weights=weights, split_names=names, show_progress=show_progress,
        settings={"protocol": f"{dataset.n_folds}-fold cross-validation"})


def _partition_list(parts, name: str) -> List[Partition]:
    if parts is None:
        raise ValueError(f"{name} is required")
    if isinstance(parts, (str, numbers.Integral, Partition)):
        parts = [parts]
    out = []
    for p in parts:
        if isinstance(p, str):
            try:
                p = Partition[p.strip().upper()]
            except KeyError:
                raise ValueError(f"{name}: unknown partition {p!r} (train, devel, test)") from None
        elif isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Integral):
            raise TypeError(f"{name} must hold partition names or values, got {p!r}")
        else:
            try:
                p = Partition(int(p))
            except ValueError:
                raise ValueError(f"{name}: unknown partition {p!r} (0 train, 1 devel, 2 test)") \
                    from None
        if p not in out:
            out.append(p)
    if not out:
        raise ValueError(f"{name} is empty")
    return out


def evaluate_partitions(dataset: DataSet, train_partitions, eval_partitions,
                        classifier="mlp", *, repeat: int = 1, seed: int = 0,
                        upsample: bool = False, majority_vote: bool = False,
                        n_jobs: Optional[int] = None, show_progress: Optional[bool] = False,
                        **classifier_params) -> EvaluationResult:
    """Train on some partitions of ``dataset``, evaluate on others (auDeep's partitioned
    evaluation, e.g. train -> devel while tuning, train+devel -> test at the end).

    Parameters
    ----------
    dataset : DataSet
        Labelled representations with partition information.
    train_partitions, eval_partitions : partition name / value / :class:`Partition` or list
        ``"train"``, ``"devel"``, ``"test"`` (case-insensitive) or 0, 1, 2.
    classifier, repeat, seed, upsample, majority_vote, n_jobs, show_progress, **classifier_params
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
        show_progress=show_progress,
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
    seed = _check_int(seed, "seed", 0)
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
