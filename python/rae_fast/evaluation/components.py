"""The building blocks of one evaluation: the classifier pipeline (scaler + MLP or linear
SVM), auDeep's class upsampling and the majority vote of a file's chunks."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .metrics import check_class_indices
from .mlp import MLPClassifier
from .svm import LinearSVMClassifier

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
