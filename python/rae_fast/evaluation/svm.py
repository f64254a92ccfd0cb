"""Linear SVM (liblinear through scikit-learn's ``LinearSVC``), auDeep's second classifier.

:class:`LinearSVMClassifier` is ``LinearSVC`` with auDeep's parameter name for the
complexity (``C``) plus optional calibrated probabilities: with ``probability=True``, ``fit``
also learns a temperature ``T`` so that ``softmax(scores / T)`` of the SVM's decision values
minimises the log-loss on decision values obtained by internal cross-validation (the
calibration data are never the data the scores were fitted on, as in libsvm's Platt scaling).
One shared temperature keeps the ranking of the classes, so the arg-max of
:meth:`predict_proba` is always :meth:`predict` (unlike libsvm's per-class Platt scaling).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(-2, 1, (20, 5)), rng.normal(2, 1, (20, 5))])
>>> y = np.array([0] * 20 + [1] * 20)
>>> LinearSVMClassifier(C=1.0).fit(X, y).score(X, y)
1.0
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from .._validation import check_bool, check_float, check_int

__all__ = ["LinearSVMClassifier"]


def _has_proba(est) -> bool:
    if not est.probability:
        raise AttributeError("predict_proba is only available with probability=True")
    return True


class LinearSVMClassifier(ClassifierMixin, BaseEstimator):
    """Linear support vector machine (one-vs-rest, squared hinge loss, L2 penalty).

    Parameters
    ----------
    C : float > 0, default 1.0
        Complexity: the inverse regularisation strength (auDeep's ``--complexity``).
    probability : bool, default False
        Also fit a probability calibration (5-fold internal cross-validation, fewer folds
        when a class has fewer than 5 instances) so that :meth:`predict_proba` is available.
    max_iter : int, default 10000
        liblinear iterations (a ``ConvergenceWarning`` is issued if they do not suffice).
    tol : float, default 1e-4
    class_weight : dict, "balanced" or None
    random_state : int, RandomState or None
        liblinear's coordinate order and the calibration folds.

    Attributes
    ----------
    classes_ : ndarray ``(K,)``
    n_features_in_ : int
    svc_ : sklearn.svm.LinearSVC
        The fitted SVM (``coef_``, ``intercept_``).
    n_iter_ : int
        liblinear iterations used.
    temperature_ : float
        Calibration temperature (only with ``probability=True``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (20, 5)), rng.normal(2, 1, (20, 5))])
    >>> y = np.array(["no"] * 20 + ["yes"] * 20)
    >>> clf = LinearSVMClassifier(C=0.1, probability=True, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.predict(X[:2]).tolist()
    ((2, 2), ['no', 'no'])
    """

    def __init__(self, C: float = 1.0, probability: bool = False, max_iter: int = 10000,
                 tol: float = 1e-4, class_weight=None, random_state=None):
        self.C = C
        self.probability = probability
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.random_state = random_state

    def _check_params(self):
        check_float(self.C, "C (the SVM complexity)", 0.0, strict_min=True)
        check_bool(self.probability, "probability")
        check_int(self.max_iter, "max_iter", 1)

    def _svc(self):
        from sklearn.svm import LinearSVC

        return LinearSVC(C=float(self.C), max_iter=int(self.max_iter), tol=self.tol,
                         class_weight=self.class_weight, random_state=self.random_state)

    def fit(self, X, y) -> "LinearSVMClassifier":
        """Train on ``X`` (float ``(n, d)``) and labels ``y`` (``(n,)``)."""
        self._check_params()
        X, y = check_X_y(X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"LinearSVMClassifier needs instances of at least 2 classes, got "
                             f"only one class ({classes[0]!r})")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.svc_ = self._svc().fit(X, y_idx)
        self.n_iter_ = self.svc_.n_iter_
        if self.probability:
            self.temperature_ = self._fit_calibration(X, y_idx)
        return self

    def _fit_calibration(self, X, y_idx) -> float:
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        counts = np.bincount(y_idx)
        folds = int(min(5, counts.min()))
        if folds < 2:
            raise ValueError("probability=True needs at least 2 training instances of every "
                             f"class (class {self.classes_[int(np.argmin(counts))]!r} has "
                             f"{int(counts.min())})")
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        scores = self._as_matrix(cross_val_predict(self._svc(), X, y_idx, cv=cv,
                                                   method="decision_function"))
        rows = np.arange(len(y_idx))

        def nll(log_t):
            z = scores / np.exp(log_t)
            z = z - z.max(axis=1, keepdims=True)
            return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, y_idx]))

        res = minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded")
        return float(np.exp(res.x))

    @staticmethod
    def _as_matrix(scores: np.ndarray) -> np.ndarray:
        """Binary decision values ``(n,)`` -> ``(n, 2)`` logits with the same difference."""
        if scores.ndim == 1:
            return np.stack([-0.5 * scores, 0.5 * scores], axis=1)
        return scores

    def _check_X(self, X):
        check_is_fitted(self, "svc_")
        X = check_array(X, dtype=(np.float64, np.float32))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but LinearSVMClassifier is expecting "
                             f"{self.n_features_in_} features as input")
        return X

    def decision_function(self, X) -> np.ndarray:
        """Signed distances to the hyperplanes: ``(n, K)``, or ``(n,)`` for two classes
        (positive -> ``classes_[1]``), as ``LinearSVC``."""
        X = self._check_X(X)
        return self.svc_.decision_function(X)

    def predict(self, X) -> np.ndarray:
        """Predicted class of each row, ``(n,)`` with the dtype of ``classes_``."""
        X = self._check_X(X)
        idx = self.svc_.predict(X)
        return self.classes_[idx]

    @available_if(_has_proba)
    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, float64 ``(n, K)`` in the order of ``classes_``
        (only with ``probability=True``)."""
        check_is_fitted(self, "temperature_")
        z = self._as_matrix(self.decision_function(X)) / self.temperature_
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / z.sum(axis=1, keepdims=True)
