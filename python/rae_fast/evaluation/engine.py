"""The array-level evaluation engine: :func:`evaluate_splits` runs every split x repeat (in
parallel threads, one torch thread each, results independent of ``n_jobs``)."""
from __future__ import annotations

import contextlib
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .metrics import accuracy, check_class_indices, confusion_matrix, uar
from .mlp import MLPClassifier, resolve_device, torch_threads
from .results import EvaluationResult
from .._executor import Executor, ThreadExecutor
from .._validation import check_bool, check_int, default_threads
from .components import WeightedStandardScaler, _vote, make_classifier, upsample_indices

log = logging.getLogger(__name__)


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


_check_bool = check_bool  # the protocols share it


def _default_jobs(n_tasks: int) -> int:
    return max(1, min(default_threads(), n_tasks))


# ------------------------------------------------------------------------------ the engine

def evaluate_splits(X, y, splits: Sequence[Tuple[Any, Any]], *, class_names=None,
                    classifier="mlp", classifier_params: Optional[Dict[str, Any]] = None,
                    groups=None, upsample: bool = False, majority_vote: bool = False,
                    repeat: int = 1, seed: int = 0, n_jobs: Optional[int] = None,
                    feature_weights=None, split_names: Optional[Sequence[str]] = None,
                    settings: Optional[Dict[str, Any]] = None,
                    progress: Optional[bool] = False,
                    executor: Optional[Executor] = None) -> EvaluationResult:
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
    progress : bool or None
        Progress bar over the splits (None: when standard error is a terminal).
    executor : optional
        Run the splits x repeats elsewhere (:func:`rae_fast.distributed.cross_validate` &
        co. pass a Ray executor, which sends ``X`` once): each task trains with the same seed
        as here and the torch thread count chosen here, so the result equals the local one
        (on machines with the same CPU kind). ``n_jobs`` then only sets what ``settings``
        records. Default: ``n_jobs`` threads of this process.

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
    repeat = check_int(repeat, "repeat", 1)
    seed = check_int(seed, "seed", 0)
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
            user_threads = check_int(user_threads, "n_threads", 1)
        if n_jobs is None:
            # a CUDA MLP runs the splits one after the other; so does a CPU MLP whose
            # n_threads was given (the threads then go to each split's training)
            n_jobs = 1 if on_gpu or user_threads is not None else _default_jobs(len(tasks))
        n_jobs = check_int(n_jobs, "n_jobs", 1)
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
        n_jobs = check_int(n_jobs, "n_jobs", 1)

    shared = dict(X=X, y=y, splits=checked, seed=seed, upsample=upsample,
                  classifier=classifier, params=params, feature_weights=feature_weights,
                  majority_vote=majority_vote_, groups=groups, k=k, names=names, repeat=repeat,
                  torch_threads=None)
    if executor is None:
        executor = ThreadExecutor(1 if len(tasks) == 1 else n_jobs, max_pending=len(tasks))
    elif not executor.in_process:
        shared["torch_threads"] = torch_n   # set in each worker process, around each split

    from ..progress import progress as progress_bar

    results: Dict[Tuple[int, int], Tuple[float, float, np.ndarray]] = {}
    with torch_threads(torch_n if executor.in_process else None), \
            progress_bar(total=len(tasks), desc="evaluate", unit="split",
                         disable=None if progress is None else not progress) as bar, \
            contextlib.closing(executor.imap(_run_split, tasks, shared)) as done:
        for t, res in zip(tasks, done):
            results[t] = res
            bar.update(1)
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


def _run_split(task: Tuple[int, int], shared: Dict[str, Any]
               ) -> Tuple[float, float, np.ndarray]:
    """Train and score repeat ``r`` of split ``s`` (module level: an executor may run it in
    another process). Seeds: ``SeedSequence([seed, r, s])``."""
    r, s = task
    y, k = shared["y"], shared["k"]
    tr, ev = shared["splits"][s]
    ss = np.random.SeedSequence([shared["seed"], r, s])
    task_seed = int(ss.generate_state(1)[0] & 0x7FFFFFFF)
    rng = np.random.default_rng(ss)
    if shared["upsample"]:
        tr = tr[upsample_indices(y[tr])]
    tr = rng.permutation(tr)
    X = shared["X"]
    with torch_threads(shared["torch_threads"]):
        model = make_classifier(shared["classifier"], feature_weights=shared["feature_weights"],
                                random_state=task_seed, **shared["params"])
        model.fit(X[tr], y[tr])
        pred = np.asarray(model.predict(X[ev]), dtype=np.int64)
    truth = y[ev]
    if shared["majority_vote"]:
        _, pred, first = _vote(shared["groups"][ev], pred, k)
        truth = truth[first]
    a, u = accuracy(truth, pred), uar(truth, pred, k)
    log.info("%s%s: accuracy %.2f %%, UAR %.2f %%", shared["names"][s],
             f" (repeat {r + 1})" if shared["repeat"] > 1 else "", 100 * a, 100 * u)
    return a, u, confusion_matrix(truth, pred, k)


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
