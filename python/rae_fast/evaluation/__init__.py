"""Classification of learned representations: the evaluation half of the auDeep method.

- :class:`MLPClassifier` (PyTorch, the paper's 2 x 150 ReLU MLP) and
  :class:`LinearSVMClassifier` (liblinear), scikit-learn estimators;
- protocols: :func:`cross_validate` over the stored folds, :func:`evaluate_partitions`
  (train -> eval partitions), :func:`predict` (fit one set, label another), and the
  array-level :func:`evaluate_splits`; options ``repeat``, ``upsample``, ``majority_vote``,
  ``seed``;
- metrics: :func:`accuracy`, :func:`uar`, :func:`per_class_recall`, :func:`confusion_matrix`,
  and :class:`EvaluationResult` (``.table()``, ``.save_json()``, ``.save_confusion_csv()``,
  ``.plot()``).

>>> from rae_fast.dataset import load                        # doctest: +SKIP
>>> from rae_fast.evaluation import cross_validate           # doctest: +SKIP
>>> res = cross_validate(load("reps.nc"), "mlp", repeat=3)   # doctest: +SKIP
>>> print(res.table())                                       # doctest: +SKIP
>>> res.accuracy, res.uar, res.per_class_recall              # doctest: +SKIP
"""
from .metrics import (accuracy, confusion_matrix, format_confusion_matrix, per_class_recall,
                      plot_confusion_matrix, recall_from_confusion, uar)
from .mlp import MLPClassifier
from .components import (CLASSIFIERS, WeightedStandardScaler, majority_vote, make_classifier,
                         upsample_indices)
from .engine import evaluate_splits
from .protocols import (cross_validate, dataset_classes, evaluate_partitions,
                        feature_weights_from_attrs, predict)
from .results import EvaluationResult, Predictions
from .svm import LinearSVMClassifier

__all__ = [
    "MLPClassifier", "LinearSVMClassifier", "CLASSIFIERS", "make_classifier",
    "WeightedStandardScaler", "cross_validate", "evaluate_partitions", "evaluate_splits",
    "predict", "upsample_indices", "majority_vote", "dataset_classes",
    "feature_weights_from_attrs", "EvaluationResult", "Predictions", "accuracy", "uar",
    "per_class_recall", "confusion_matrix", "recall_from_confusion",
    "format_confusion_matrix", "plot_confusion_matrix",
]
