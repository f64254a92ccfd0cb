"""Result objects of the evaluation protocols: scores, confusion matrix, predictions.

:class:`EvaluationResult` holds every split's accuracy, UAR and confusion matrix for every
repeat, and derives the summary that auDeep reports (mean accuracy / UAR, spread, summed
confusion matrix); it prints as a readable table and saves as JSON, CSV (the scores, and the
confusion matrix) and a PNG heatmap.
:class:`Predictions` holds per-instance (or per-file) predicted labels and class
probabilities and writes them as CSV.

>>> import numpy as np
>>> r = EvaluationResult(class_names=["cat", "dog"], accuracies=np.array([[1.0, 0.5]]),
...                      uars=np.array([[1.0, 0.5]]),
...                      confusion_matrices=np.array([[[[1, 0], [0, 1]], [[1, 0], [1, 0]]]]),
...                      split_names=["fold 1", "fold 2"], settings={"classifier": "svm"})
>>> r.accuracy, r.confusion_matrix.tolist()
(0.75, [[2, 0], [1, 1]])
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import numpy as np

from .._io import atomic_write_text
from .metrics import format_confusion_matrix, plot_confusion_matrix, recall_from_confusion

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["EvaluationResult", "Predictions"]


def _pct(x: float) -> str:
    return "-" if x is None or np.isnan(x) else f"{100.0 * x:6.2f} %"


@dataclass
class EvaluationResult:
    """Scores of one evaluation protocol run ``repeat`` times over ``n_splits`` splits.

    Attributes
    ----------
    class_names : list of str, length K
        Class ``k`` of the confusion matrix is ``class_names[k]`` (sorted by name, as auDeep).
    accuracies, uars : float64 ``(repeat, n_splits)``
        Accuracy and unweighted average recall of each split (cross-validation fold, or the
        one train/eval split of a partitioned evaluation) in each repeat, in ``[0, 1]``.
    confusion_matrices : int64 ``(repeat, n_splits, K, K)``
        Rows true class, columns predicted class.
    split_names : list of str
        ``"fold 1"``... or ``"train -> devel"``.
    settings : dict
        Protocol, classifier and its parameters, seed, options (saved with the results).

    Derived (properties): :attr:`accuracy`, :attr:`uar` (means over splits and repeats),
    :attr:`accuracy_std`, :attr:`uar_std` (population standard deviation, ``ddof=0``, over
    repeats of the per-repeat means; 0 for one repeat), :attr:`accuracy_split_std`,
    :attr:`uar_split_std` (population standard deviation over splits, averaged over repeats;
    auDeep computed ``np.std`` over folds the same way and printed twice it as its "confidence
    interval"; it reported no spread over repeats), :attr:`confusion_matrix` (summed over
    splits and repeats) and :attr:`per_class_recall` (from that summed matrix).
    """

    class_names: List[str]
    accuracies: np.ndarray
    uars: np.ndarray
    confusion_matrices: np.ndarray
    split_names: List[str] = field(default_factory=list)
    settings: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.class_names = [str(c) for c in self.class_names]
        self.accuracies = np.atleast_2d(np.asarray(self.accuracies, dtype=np.float64))
        self.uars = np.atleast_2d(np.asarray(self.uars, dtype=np.float64))
        self.confusion_matrices = np.asarray(self.confusion_matrices, dtype=np.int64)
        k = len(self.class_names)
        if self.confusion_matrices.shape != self.accuracies.shape + (k, k):
            raise ValueError(f"confusion_matrices must have shape {self.accuracies.shape + (k, k)}"
                             f", got {self.confusion_matrices.shape}")
        if self.uars.shape != self.accuracies.shape:
            raise ValueError("uars and accuracies must have the same shape")
        if not self.split_names:
            self.split_names = [f"split {i + 1}" for i in range(self.accuracies.shape[1])]

    # ------------------------------------------------------------------------- summaries
    @property
    def n_repeats(self) -> int:
        """Number of repeats."""
        return int(self.accuracies.shape[0])

    @property
    def n_splits(self) -> int:
        """Number of splits (folds) per repeat."""
        return int(self.accuracies.shape[1])

    @property
    def accuracy(self) -> float:
        """Mean accuracy over splits and repeats, in ``[0, 1]``."""
        return float(self.accuracies.mean())

    @property
    def uar(self) -> float:
        """Mean unweighted average recall over splits and repeats, in ``[0, 1]``."""
        return float(self.uars.mean())

    @property
    def accuracy_std(self) -> float:
        """Population standard deviation (``np.std``, ``ddof=0``) over the repeats of the
        per-repeat mean accuracy; 0 for one repeat. The sample standard deviation
        (``ddof=1``) is this times ``sqrt(R / (R - 1))`` for ``R`` repeats."""
        return float(self.accuracies.mean(axis=1).std())

    @property
    def uar_std(self) -> float:
        """Population standard deviation (``ddof=0``) over the repeats of the per-repeat mean
        UAR; 0 for one repeat (see :attr:`accuracy_std`)."""
        return float(self.uars.mean(axis=1).std())

    @property
    def accuracy_split_std(self) -> float:
        """Population standard deviation (``ddof=0``) of the accuracy over splits, averaged
        over repeats -- auDeep's ``np.std`` over folds (it printed twice this as "+/-")."""
        return float(self.accuracies.std(axis=1).mean())

    @property
    def uar_split_std(self) -> float:
        """Population standard deviation (``ddof=0``) of the UAR over splits, averaged over
        repeats (see :attr:`accuracy_split_std`)."""
        return float(self.uars.std(axis=1).mean())

    @property
    def confusion_matrix(self) -> np.ndarray:
        """Confusion matrix summed over splits and repeats, int64 ``(K, K)``."""
        return self.confusion_matrices.sum(axis=(0, 1))

    @property
    def per_class_recall(self) -> np.ndarray:
        """Recall of each class from :attr:`confusion_matrix` (float64 ``(K,)``, NaN for a
        class that never occurs in an evaluation split)."""
        return recall_from_confusion(self.confusion_matrix)

    # ---------------------------------------------------------------------- presentation
    def table(self, normalize: bool = False) -> str:
        """A readable text report: summary scores, per-split scores and the confusion matrix.

        >>> print(result.table())                       # doctest: +SKIP
        """
        s = self.settings
        lines = []
        title = s.get("protocol", "evaluation")
        clf = s.get("classifier")
        if clf:
            title += f", {clf}"
        lines.append(title)
        rep = self.n_repeats
        tail = f"  (std {100 * self.accuracy_std:.2f} over {rep} repeats)" if rep > 1 else ""
        lines.append(f"accuracy  {_pct(self.accuracy)}{tail}")
        tail = f"  (std {100 * self.uar_std:.2f} over {rep} repeats)" if rep > 1 else ""
        lines.append(f"UAR       {_pct(self.uar)}{tail}")
        if self.n_splits > 1:
            lines.append(f"std over splits: accuracy {100 * self.accuracy_split_std:.2f}, "
                         f"UAR {100 * self.uar_split_std:.2f} (percentage points)")
            lines.append("")
            w = max(len(n) for n in self.split_names)
            lines.append(f"{'split'.ljust(w)}  accuracy       UAR")
            acc, u = self.accuracies.mean(axis=0), self.uars.mean(axis=0)
            for name, a, b in zip(self.split_names, acc, u):
                lines.append(f"{name.ljust(w)}  {_pct(a)}  {_pct(b)}")
        lines.append("")
        what = "summed over splits" + (" and repeats" if rep > 1 else "")
        lines.append(f"confusion matrix ({what}):")
        lines.append(format_confusion_matrix(self.confusion_matrix, self.class_names,
                                             normalize=normalize))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready dict: summary, per-class recall, per-split scores, matrices, settings."""
        def num(x):
            return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

        return {
            "accuracy": num(self.accuracy), "accuracy_std": num(self.accuracy_std),
            "uar": num(self.uar), "uar_std": num(self.uar_std),
            "accuracy_split_std": num(self.accuracy_split_std),
            "uar_split_std": num(self.uar_split_std),
            "n_repeats": self.n_repeats, "n_splits": self.n_splits,
            "class_names": list(self.class_names),
            "per_class_recall": {c: num(r) for c, r in zip(self.class_names,
                                                           self.per_class_recall)},
            "confusion_matrix": self.confusion_matrix.tolist(),
            "split_names": list(self.split_names),
            "accuracies": self.accuracies.tolist(), "uars": self.uars.tolist(),
            "confusion_matrices": self.confusion_matrices.tolist(),
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "EvaluationResult":
        """Inverse of :meth:`to_dict` (e.g. for results read back with ``json.load``)."""
        return cls(class_names=d["class_names"], accuracies=np.asarray(d["accuracies"]),
                   uars=np.asarray(d["uars"]),
                   confusion_matrices=np.asarray(d["confusion_matrices"]),
                   split_names=list(d.get("split_names", [])),
                   settings=dict(d.get("settings", {})))

    def save_json(self, path: PathLike) -> None:
        """Write :meth:`to_dict` as JSON (atomically)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, default=_json_default)
                          + "\n")

    def save_confusion_csv(self, path: PathLike) -> None:
        """Write the summed confusion matrix as CSV: header ``true\\predicted,<classes>``,
        one row per true class (atomically)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["true\\predicted"] + self.class_names)
        for name, row in zip(self.class_names, self.confusion_matrix):
            w.writerow([name] + [int(v) for v in row])
        atomic_write_text(path, buf.getvalue())

    def save_scores_csv(self, path: PathLike) -> None:
        """Write the scores as a CSV table for spreadsheets (atomically).

        Columns ``metric,class,value,std_over_repeats,std_over_splits``; values are fractions
        in ``[0, 1]`` (9 significant digits), one row per score::

            metric,class,value,std_over_repeats,std_over_splits
            accuracy,,0.95,0.0047,0.0189
            uar,,0.94,0.0050,0.0201
            recall,cat,0.97,,
            recall,dog,0.93,,

        ``accuracy`` / ``uar``: :attr:`accuracy`, :attr:`uar` with :attr:`accuracy_std` /
        :attr:`uar_std` (population standard deviation over repeats; empty for one repeat) and
        :attr:`accuracy_split_std` / :attr:`uar_split_std` (over splits; empty for one split).
        ``recall``: :attr:`per_class_recall` of each class in :attr:`class_names` order
        (empty value for a class that never occurs in an evaluation split). Filter or pivot
        on the ``metric`` column.

        >>> result.save_scores_csv("scores.csv")          # doctest: +SKIP
        """
        def num(x) -> str:
            return "" if x is None or not np.isfinite(x) else f"{float(x):.9g}"

        rep = self.n_repeats > 1
        split = self.n_splits > 1
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["metric", "class", "value", "std_over_repeats", "std_over_splits"])
        w.writerow(["accuracy", "", num(self.accuracy), num(self.accuracy_std) if rep else "",
                    num(self.accuracy_split_std) if split else ""])
        w.writerow(["uar", "", num(self.uar), num(self.uar_std) if rep else "",
                    num(self.uar_split_std) if split else ""])
        for name, r in zip(self.class_names, self.per_class_recall):
            w.writerow(["recall", name, num(r), "", ""])
        atomic_write_text(path, buf.getvalue())

    def plot(self, path: PathLike, normalize: bool = True) -> None:
        """Save the summed confusion matrix as a PNG heatmap with class names (matplotlib)."""
        title = (f"accuracy {100 * self.accuracy:.1f} %, UAR {100 * self.uar:.1f} %")
        plot_confusion_matrix(self.confusion_matrix, self.class_names, path,
                              normalize=normalize, title=title)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


@dataclass
class Predictions:
    """Predicted labels (and class probabilities) for the instances or files of a data set.

    Attributes
    ----------
    filenames : list of str, length n
    chunk_nr : int64 ``(n,)`` or None
        Chunk of each row (None after a majority vote: one row per file).
    predicted : list of str, length n
        Predicted class names.
    class_names : list of str, length K
    probabilities : float64 ``(n, K)`` or None
        Class probabilities (for a majority vote: the mean over the file's chunks); None
        when the classifier has none (a linear SVM without ``probability=True``).
    true_labels : list of (str or None), optional
        The eval set's own labels, when it has them.
    """

    filenames: List[str]
    predicted: List[str]
    class_names: List[str]
    probabilities: Optional[np.ndarray] = None
    chunk_nr: Optional[np.ndarray] = None
    true_labels: Optional[List[Optional[str]]] = None

    def __len__(self) -> int:
        return len(self.filenames)

    def to_csv(self, path: PathLike) -> None:
        """Write ``filename[,chunk_nr],prediction[,true_label],p_<class>...`` rows as CSV
        (comma-separated, header line, atomically).

        >>> preds.to_csv("predictions.csv")             # doctest: +SKIP
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = ["filename"]
        if self.chunk_nr is not None:
            header.append("chunk_nr")
        header.append("prediction")
        if self.true_labels is not None:
            header.append("true_label")
        if self.probabilities is not None:
            header += [f"p_{c}" for c in self.class_names]
        w.writerow(header)
        for i, name in enumerate(self.filenames):
            row: List[Any] = [name]
            if self.chunk_nr is not None:
                row.append(int(self.chunk_nr[i]))
            row.append(self.predicted[i])
            if self.true_labels is not None:
                row.append("" if self.true_labels[i] is None else self.true_labels[i])
            if self.probabilities is not None:
                row += [f"{p:.6g}" for p in self.probabilities[i]]
            w.writerow(row)
        atomic_write_text(path, buf.getvalue())
