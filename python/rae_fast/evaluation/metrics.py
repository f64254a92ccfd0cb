"""Classification metrics on integer class indices: accuracy, UAR, per-class recall, confusion.

Every function takes class *indices* ``0..K-1`` (int arrays of shape ``(n,)``), the encoding the
evaluation protocols use internally (class ``k`` is the ``k``-th name of ``class_names``). They
agree with scikit-learn (``accuracy_score``, ``balanced_accuracy_score``, ``recall_score``,
``confusion_matrix``) and are validated like the rest of the package: wrong shapes, dtypes,
empty inputs and out-of-range classes raise ``ValueError``/``TypeError`` naming the argument.

Also here: :func:`format_confusion_matrix` (a readable text table) and
:func:`plot_confusion_matrix` (a PNG heatmap with class names; needs matplotlib).

>>> import numpy as np
>>> y_true = np.array([0, 0, 1, 1, 2]); y_pred = np.array([0, 1, 1, 1, 0])
>>> round(accuracy(y_true, y_pred), 3), round(uar(y_true, y_pred, 3), 3)
(0.6, 0.5)
>>> confusion_matrix(y_true, y_pred, 3).tolist()
[[1, 1, 0], [0, 2, 0], [1, 0, 0]]
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import numpy as np

from .._validation import check_int
from .._io import atomic_path

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["confusion_matrix", "accuracy", "uar", "per_class_recall", "recall_from_confusion",
           "format_confusion_matrix", "plot_confusion_matrix"]


# ----------------------------------------------------------------------------- validation

def _check_n_classes(n_classes) -> int:
    return check_int(n_classes, "n_classes", 1)


def check_class_indices(y, name: str, n_classes: Optional[int] = None) -> np.ndarray:
    """``y`` as a 1-D int64 array of class indices in ``[0, n_classes)`` (validated).

    >>> check_class_indices([0, 2, 1], "y_true", 3).dtype
    dtype('int64')
    """
    arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must hold integer class indices, got non-integer floats")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of class indices, got dtype "
                        f"{arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"{name} holds a negative class index ({int(arr.min())}); missing "
                         "labels must be removed before scoring")
    if n_classes is not None and arr.max() >= n_classes:
        raise ValueError(f"{name} holds class index {int(arr.max())}, but n_classes is "
                         f"{n_classes}")
    return arr


def _pair(y_true, y_pred, n_classes):
    if n_classes is not None:
        n_classes = _check_n_classes(n_classes)
    t = check_class_indices(y_true, "y_true", n_classes)
    p = check_class_indices(y_pred, "y_pred", n_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and "
                         f"{p.shape[0]}")
    if n_classes is None:
        n_classes = int(max(t.max(), p.max())) + 1
    return t, p, n_classes


# ---------------------------------------------------------------------------------- metrics

def confusion_matrix(y_true, y_pred, n_classes: Optional[int] = None) -> np.ndarray:
    """Confusion matrix ``C`` (int64, ``(K, K)``): ``C[i, j]`` = instances of class ``i``
    predicted as ``j`` (rows true, columns predicted, as scikit-learn).

    Parameters
    ----------
    y_true, y_pred : int arrays ``(n,)``
        Class indices in ``[0, n_classes)``.
    n_classes : int, optional
        ``K``; default ``max(y_true, y_pred) + 1``.

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2).tolist()
    [[1, 0], [1, 1]]
    """
    t, p, k = _pair(y_true, y_pred, n_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions, in ``[0, 1]``.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    t, p, _ = _pair(y_true, y_pred, None)
    return float(np.mean(t == p))


def recall_from_confusion(cm) -> np.ndarray:
    """Per-class recall ``C[k, k] / sum(C[k, :])`` (float64 ``(K,)``); NaN for classes without
    true instances (their recall is undefined).

    >>> recall_from_confusion(np.array([[3, 1], [0, 0]])).tolist()
    [0.75, nan]
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) matrix, got shape {cm.shape}")
    if cm.dtype.kind not in "iuf":
        raise TypeError(f"cm must be numeric, got dtype {cm.dtype}")
    support = cm.sum(axis=1).astype(np.float64)
    diag = np.diag(cm).astype(np.float64)
    out = np.full(cm.shape[0], np.nan)
    np.divide(diag, support, out=out, where=support > 0)
    return out


def per_class_recall(y_true, y_pred, n_classes: Optional[int] = None) -> np.ndarray:
    """Recall of each class (float64 ``(K,)``), NaN where a class has no true instances.

    Equal to ``sklearn.metrics.recall_score(y_true, y_pred, average=None,
    labels=range(K))`` on the classes that occur in ``y_true``.

    >>> per_class_recall([0, 0, 1], [0, 1, 1], 3).tolist()
    [0.5, 1.0, nan]
    """
    return recall_from_confusion(confusion_matrix(y_true, y_pred, n_classes))


def uar(y_true, y_pred, n_classes: Optional[int] = None) -> float:
    """Unweighted average recall: the mean recall over the classes that occur in ``y_true``.

    Equal to ``sklearn.metrics.balanced_accuracy_score`` (and to ``recall_score(...,
    average="macro")`` when every predicted class also occurs in ``y_true``). Classes that
    are only predicted, never true, do not count: their recall is undefined.

    >>> uar([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    """
    rec = per_class_recall(y_true, y_pred, n_classes)
    return float(np.nanmean(rec))


# --------------------------------------------------------------------------- presentation

def _check_names(class_names, k: int) -> list:
    if class_names is None:
        return [str(i) for i in range(k)]
    if isinstance(class_names, str):
        raise TypeError("class_names must be a sequence of str, not a single str")
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} entries but the confusion matrix has {k} "
                         "classes")
    return names


def format_confusion_matrix(cm, class_names: Optional[Sequence[str]] = None,
                            normalize: bool = False) -> str:
    """The confusion matrix as a text table: one row per true class, one column per predicted
    class, plus each class's recall (``%``) at the end of its row.

    Parameters
    ----------
    cm : int array ``(K, K)``
    class_names : sequence of K str, optional
        Row/column labels; default ``"0".."K-1"``. With more than 4 classes and names longer
        than 8 characters the rows are numbered and the columns show the numbers; otherwise
        names longer than 12 characters are cut in the column header.
    normalize : bool
        Show each row as percentages of the true class instead of counts.

    >>> print(format_confusion_matrix(np.array([[2, 0], [1, 1]]), ["cat", "dog"]))
    true \\ predicted  cat  dog  recall
    cat                 2    0  100.0%
    dog                 1    1   50.0%
    """
    cm = np.asarray(cm)
    recall = recall_from_confusion(cm)
    k = cm.shape[0]
    names = _check_names(class_names, k)
    if normalize:
        support = cm.sum(axis=1, keepdims=True).astype(np.float64)
        vals = np.divide(100.0 * cm, support, out=np.zeros(cm.shape), where=support > 0)
        cells = [[f"{v:.1f}" for v in row] for row in vals]
    else:
        cells = [[str(int(v)) if float(v).is_integer() else f"{v:.2f}" for v in row]
                 for row in cm]
    by_number = k > 4 and max(len(n) for n in names) > 8
    if by_number:
        # long names: number the classes and use the numbers as column headers
        head = [str(i + 1) for i in range(k)]
        names = [f"{i + 1:>{len(str(k))}} {n}" for i, n in enumerate(names)]
    else:
        head = [n if len(n) <= 12 else n[:11] + "~" for n in names]
    corner = "true \\ predicted"
    w0 = max(len(corner), *(len(n) for n in names))
    widths = [max(len(h), *(len(cells[r][c]) for r in range(k))) for c, h in enumerate(head)]
    rec = ["-" if np.isnan(r) else f"{100 * r:.1f}%" for r in recall]
    wr = max(len("recall"), *(len(r) for r in rec))
    lines = [corner.ljust(w0) + "  " + "  ".join(h.rjust(w) for h, w in zip(head, widths))
             + "  " + "recall".rjust(wr)]
    for r in range(k):
        lines.append(names[r].ljust(w0) + "  "
                     + "  ".join(cells[r][c].rjust(widths[c]) for c in range(k))
                     + "  " + rec[r].rjust(wr))
    return "\n".join(lines)


def plot_confusion_matrix(cm, class_names: Optional[Sequence[str]], path: PathLike,
                          normalize: bool = True, title: Optional[str] = None,
                          dpi: int = 150) -> None:
    """Save the confusion matrix as a PNG heatmap with class names (atomically).

    Cells are coloured by the row-normalised value (fraction of the true class) and annotated
    with the count (or the percentage when ``normalize``). Needs matplotlib (the ``plot``
    extra); uses the non-interactive Agg backend, so it works without a display.

    Parameters
    ----------
    cm : int array ``(K, K)``
    class_names : sequence of K str or None
    path : str or Path
        Output ``.png`` file; written under a temporary name and renamed when complete.
    normalize : bool
        Annotate with row percentages instead of counts.
    title : str, optional
    dpi : int

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install rae_fast[plot]``).

    >>> plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"], "cm.png")  # doctest: +SKIP
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) matrix, got shape {cm.shape}")
    names = _check_names(class_names, cm.shape[0])
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting the confusion matrix needs matplotlib: "
                          "pip install 'rae_fast[plot]'") from None
    del matplotlib
    k = cm.shape[0]
    support = cm.sum(axis=1, keepdims=True).astype(np.float64)
    frac = np.divide(cm.astype(np.float64), support, out=np.zeros(cm.shape), where=support > 0)
    size = max(4.0, 0.55 * k + 2.5)
    fig = Figure(figsize=(size + 1.0, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=90)
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                text = f"{100 * frac[i, j]:.0f}" if normalize else f"{cm[i, j]:g}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.5 else "black")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi)
