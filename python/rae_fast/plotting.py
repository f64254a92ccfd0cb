"""Pictures: autocorrelograms (a time x delay heatmap and a 3-D surface), a t-SNE map of
representations coloured by label (auDeep's ``visualize tsne``), and original and reconstructed
spectrograms side by side (matplotlib).

matplotlib is an optional extra (``pip install rae_fast[plot]``); it is imported only when a
picture is drawn, and only its object-oriented API with the Agg canvas is used (no pyplot, no
global figure list, no display needed), so plotting works on servers and in worker threads.

>>> import numpy as np, rae_fast
>>> from rae_fast.plotting import plot_autocorrelogram
>>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
>>> A = rae_fast.autocorrelogram(y, sr=16000, frame_length=512, hop_length=256, max_lag=64)
>>> t, d = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=16000, hop_length=256,
...                                      frame_length=512)
>>> fig = plot_autocorrelogram(A, t, d, path="noise.png")     # doctest: +SKIP
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ._io import atomic_path

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["plot_autocorrelogram", "plot_tsne", "plot_reconstruction", "save_figure", "KINDS"]

#: The pictures :func:`plot_autocorrelogram` draws.
KINDS = ("heatmap", "surface")

# matplotlib keeps global caches (fonts, text layout); drawing from several threads at once
# is not guaranteed to be safe, so figures are built and saved one at a time.
_LOCK = threading.RLock()


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib, an optional extra: "
                          "pip install 'rae_fast[plot]' (or pip install matplotlib)") from exc
    return Figure, FigureCanvasAgg


def _axes_or_index(values, n: int, name: str) -> Optional[np.ndarray]:
    if values is None:
        return None
    from .obj.mesh import _axis
    return _axis(values, name, n)


def plot_autocorrelogram(A, times=None, lags_ms=None, path: Optional[PathLike] = None,
                         kind: str = "heatmap", title: Optional[str] = None, *,
                         cmap: Optional[str] = None, value_label: str = "Autocorrelation",
                         figsize: Optional[Tuple[float, float]] = None, dpi: int = 100):
    """Draw an autocorrelogram as a heatmap (time x delay, colour bar) or a 3-D surface.

    Parameters
    ----------
    A : ndarray, float32 or float64, shape ``(n_lags, n_frames)``, both >= 2
        As returned by :func:`rae_fast.autocorrelogram` (lag first, time last); finite.
    times : array, shape ``(n_frames,)``, optional
        Frame times in seconds, increasing (:func:`rae_fast.autocorrelogram_axes`). Without
        it the x axis counts frames.
    lags_ms : array, shape ``(n_lags,)``, optional
        Delays in milliseconds, increasing. Without it the y axis counts lags (samples).
    path : str or Path, optional
        Save the picture there (atomically); the format follows the suffix (``.png`` ->
        PNG; also ``.pdf``, ``.svg``...; no suffix -> PNG).
    kind : {"heatmap", "surface"}
        ``"heatmap"``: time on x, delay on y, the value as colour, with a colour bar.
        ``"surface"``: 3-D surface (time, delay, value), at most 120 x 120 facets drawn.
    title : str, optional
    cmap : str, optional
        matplotlib colour map. Default: ``"RdBu_r"`` centred on 0 (white) when ``A`` has
        negative values, as normalised autocorrelations do; ``"magma"`` otherwise.
    value_label : str
        Name of the value (colour bar / z axis label).
    figsize : (width, height) in inches, optional
    dpi : int
        Resolution of the saved picture.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError, TypeError
        Bad ``A`` (not 2-D, not floating point, NaN/Inf, smaller than 2 x 2), axes of the wrong
        length or not increasing, an unknown ``kind`` or file format.
    ImportError
        matplotlib is not installed (the message says how to install it).

    Example
    -------
    >>> fig = plot_autocorrelogram(A, times, lags_ms, "dog.png", kind="surface",
    ...                            title="Dog bark")             # doctest: +SKIP
    >>> fig.axes[0].get_xlabel()                                 # doctest: +SKIP
    'Time (s)'
    """
    from ._validation import check_int, check_real_array

    if kind not in KINDS:
        raise ValueError(f'kind must be "heatmap" or "surface", got {kind!r}')
    A = check_real_array(A, "A", ndim=2)
    n_lags, n_frames = A.shape
    if n_lags < 2 or n_frames < 2:
        raise ValueError(f"A has shape {A.shape} (lags x frames): a picture needs at least 2 lags "
                         f"and 2 frames")
    t = _axes_or_index(times, n_frames, "times")
    d = _axes_or_index(lags_ms, n_lags, "lags_ms")
    xlabel = "Time (s)" if t is not None else "Frame"
    ylabel = "Delay (ms)" if d is not None else "Lag (samples)"
    t = np.arange(n_frames, dtype=np.float64) if t is None else t
    d = np.arange(n_lags, dtype=np.float64) if d is None else d
    dpi = check_int(dpi, "dpi", 10, 2000)
    fmt = None
    if path is not None:
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".") or "png"
    Figure, FigureCanvasAgg = _matplotlib()
    with _LOCK:
        fig = Figure(figsize=figsize or ((8, 4.5) if kind == "heatmap" else (8, 6)),
                     layout="constrained")
        canvas = FigureCanvasAgg(fig)
        if fmt is not None and fmt not in canvas.get_supported_filetypes():
            raise ValueError(f"cannot save a picture as .{fmt} ({path}); use one of "
                             f"{', '.join(sorted(canvas.get_supported_filetypes()))}")
        vals = A.astype(np.float32, copy=False)
        lo, hi = float(vals.min()), float(vals.max())
        if cmap is None and lo < 0:
            cmap, top = "RdBu_r", max(-lo, hi)
            lo, hi = -top, top
        elif cmap is None:
            cmap = "magma"
        if hi <= lo:                     # a constant picture still gets a colour scale
            lo, hi = lo - 0.5, hi + 0.5
        if kind == "heatmap":
            ax = fig.add_subplot()
            mesh = ax.pcolormesh(t, d, vals, shading="nearest", cmap=cmap, vmin=lo, vmax=hi,
                                 rasterized=True)
            fig.colorbar(mesh, ax=ax, label=value_label)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        else:
            ax = fig.add_subplot(projection="3d")
            X, Y = np.meshgrid(t, d)
            surf = ax.plot_surface(X, Y, vals, cmap=cmap, vmin=lo, vmax=hi,
                                   rcount=min(n_lags, 120), ccount=min(n_frames, 120),
                                   linewidth=0, antialiased=False)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_zlabel(value_label)
            ax.view_init(elev=35, azim=-60)
            fig.colorbar(surf, ax=ax, shrink=0.6, pad=0.1, label=value_label)
        if title:
            ax.set_title(title)
        if path is not None:
            save_figure(fig, path, dpi=dpi, format=fmt)
    return fig


def save_figure(fig, path: PathLike, dpi: int = 100, format: Optional[str] = None) -> Path:
    """Save a matplotlib figure atomically (temporary file renamed when complete).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
    dpi : int
    format : str, optional
        File format (default: from the suffix, PNG without one).

    Returns
    -------
    Path

    Example
    -------
    >>> save_figure(fig, "out/picture.png")      # doctest: +SKIP
    PosixPath('out/picture.png')
    """
    path = Path(path)
    fmt = format or path.suffix.lower().lstrip(".") or "png"
    with _LOCK, atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


def _figure_path(path):
    if path is None:
        return None, None
    path = Path(path)
    return path, path.suffix.lower().lstrip(".") or "png"


def _check_format(canvas, path, fmt) -> None:
    if fmt is not None and fmt not in canvas.get_supported_filetypes():
        raise ValueError(f"cannot save a picture as .{fmt} ({path}); use one of "
                         f"{', '.join(sorted(canvas.get_supported_filetypes()))}")


def tsne_embedding(features, perplexity: float = 30.0, learning_rate="auto",
                   random_state: int = 0) -> np.ndarray:
    """2-D t-SNE coordinates ``(n, 2)`` of ``features`` ``(n, ...)`` (flattened per instance),
    with scikit-learn's :class:`~sklearn.manifold.TSNE` (PCA initialisation).

    ``perplexity`` must be below the number of instances; ``learning_rate`` a number > 0 or
    ``"auto"`` (the default: scikit-learn's ``max(n / 48, 50)``; auDeep's ``visualize tsne``
    used 1000, the old scikit-learn default, which on a few hundred instances throws a few
    points far out and squeezes the rest into a dot)."""
    from ._validation import check_float, check_int, check_real_array

    X = check_real_array(features, "features", ndim=tuple(range(2, 6)), dtype=np.float64)
    X = X.reshape(X.shape[0], -1)
    n = X.shape[0]
    perplexity = check_float(perplexity, "perplexity", 0.0, strict_min=True)
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 instances, got {n}")
    if perplexity >= n:
        raise ValueError(f"perplexity must be smaller than the number of instances ({n}), got "
                         f"{perplexity:g}")
    if not (isinstance(learning_rate, str) and learning_rate == "auto"):
        learning_rate = check_float(learning_rate, "learning_rate", 0.0, strict_min=True)
    random_state = check_int(random_state, "random_state", 0)
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, learning_rate=learning_rate,
                init="pca", random_state=random_state)
    return tsne.fit_transform(X)


def plot_tsne(features, labels=None, path: Optional[PathLike] = None, *,
              perplexity: float = 30.0, learning_rate="auto", random_state: int = 0,
              title: Optional[str] = None, figsize: Optional[Tuple[float, float]] = None,
              dpi: int = 100):
    """A t-SNE map of representations (or any features), one point per instance, coloured by
    label (auDeep's ``visualize tsne``).

    Parameters
    ----------
    features : ndarray ``(n, ...)``, finite
    labels : sequence of ``n`` labels (str or int; None or "" for unlabelled), optional
    path : str or Path, optional
        Save the picture there (atomically; format from the suffix, PNG by default).
    perplexity, learning_rate, random_state : see :func:`tsne_embedding`.
    title : str, optional

    Returns
    -------
    (matplotlib.figure.Figure, ndarray ``(n, 2)`` of the t-SNE coordinates)

    Example
    -------
    >>> fig, xy = plot_tsne(reps, labels, "tsne.png", perplexity=20)     # doctest: +SKIP
    """
    from ._validation import check_int

    dpi = check_int(dpi, "dpi", 10, 2000)
    n = np.asarray(features).shape[0] if np.ndim(features) else 0
    if labels is not None:
        labels = ["" if v is None else str(v) for v in list(labels)]
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per instance ({n}), got {len(labels)}")
    path, fmt = _figure_path(path)
    Figure, FigureCanvasAgg = _matplotlib()
    xy = tsne_embedding(features, perplexity, learning_rate, random_state)
    with _LOCK:
        fig = Figure(figsize=figsize or (7, 6), layout="constrained")
        canvas = FigureCanvasAgg(fig)
        _check_format(canvas, path, fmt)
        ax = fig.add_subplot()
        if labels is None or all(v == "" for v in labels):
            ax.scatter(xy[:, 0], xy[:, 1], s=14, alpha=0.8)
        else:
            import matplotlib

            names = sorted(set(labels))
            cmap = matplotlib.colormaps["tab20" if len(names) > 10 else "tab10"]
            for i, name in enumerate(names):
                sel = np.array([v == name for v in labels])
                color = cmap(i % cmap.N)
                ax.scatter(xy[sel, 0], xy[sel, 1], s=14, alpha=0.8, color=color,
                           label=name or "(no label)")
            ax.legend(fontsize="small", markerscale=1.5, loc="best",
                      ncols=2 if len(names) > 12 else 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title or f"t-SNE of {n} instances (perplexity {perplexity:g})")
        if path is not None:
            save_figure(fig, path, dpi=dpi, format=fmt)
    return fig, xy


def plot_reconstruction(originals, reconstructions, path: Optional[PathLike] = None, *,
                        names=None, rmse=None, feature_dims=("time", "freq"),
                        title: Optional[str] = None, cmap: str = "magma", dpi: int = 100):
    """Original and reconstructed features side by side, one row per instance, with the RMSE.

    Parameters
    ----------
    originals, reconstructions : ndarray ``(k, T, F)`` (time-major, as data sets store them;
        ``(T, F)`` for one instance)
    path : str or Path, optional
    names : k strings, optional (row titles)
    rmse : k numbers, optional (default: computed from the two)
    feature_dims : the data set's feature dims (``("time", "lag")`` labels the y axis "Lag")

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._validation import check_int, check_real_array

    A = check_real_array(originals, "originals", ndim=(2, 3))
    B = check_real_array(reconstructions, "reconstructions", ndim=(2, 3))
    A = A[None] if A.ndim == 2 else A
    B = B[None] if B.ndim == 2 else B
    if A.shape != B.shape:
        raise ValueError(f"originals {A.shape} and reconstructions {B.shape} differ in shape")
    k = A.shape[0]
    if k > 16:
        raise ValueError(f"at most 16 instances fit one picture, got {k}")
    dpi = check_int(dpi, "dpi", 10, 2000)
    err = np.sqrt(((A.astype(np.float64) - B) ** 2).mean(axis=(1, 2))) if rmse is None \
        else np.asarray(rmse, dtype=np.float64).reshape(-1)
    if err.shape != (k,):
        raise ValueError(f"rmse must have {k} values, got {err.shape}")
    names = [f"instance {i}" for i in range(k)] if names is None else [str(v) for v in names]
    if len(names) != k:
        raise ValueError(f"names must have {k} entries, got {len(names)}")
    what = "Lag" if tuple(feature_dims)[-1] == "lag" else "Band"
    path, fmt = _figure_path(path)
    Figure, FigureCanvasAgg = _matplotlib()
    with _LOCK:
        fig = Figure(figsize=(10, 2.4 * k + 0.6), layout="constrained")
        canvas = FigureCanvasAgg(fig)
        _check_format(canvas, path, fmt)
        axes = fig.subplots(k, 2, squeeze=False, sharex=True, sharey=True)
        for i in range(k):
            lo = float(min(A[i].min(), B[i].min()))
            hi = float(max(A[i].max(), B[i].max()))
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
            for j, (data, label) in enumerate(((A[i], "original"), (B[i], "reconstruction"))):
                ax = axes[i, j]
                im = ax.imshow(data.T, origin="lower", aspect="auto", cmap=cmap, vmin=lo,
                               vmax=hi, interpolation="nearest")
                ax.set_title(f"{names[i]}: {label}" + (f" (RMSE {err[i]:.4f})" if j else ""),
                             fontsize="small")
                ax.set_ylabel(what if j == 0 else "")
            fig.colorbar(im, ax=axes[i, :].tolist(), shrink=0.9)
        for ax in axes[-1]:
            ax.set_xlabel("Frame")
        if title:
            fig.suptitle(title)
        if path is not None:
            save_figure(fig, path, dpi=dpi, format=fmt)
    return fig
