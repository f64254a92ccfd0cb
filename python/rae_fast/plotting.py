"""Pictures of autocorrelograms: a time x delay heatmap and a 3-D surface (matplotlib).

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

__all__ = ["plot_autocorrelogram", "save_figure", "KINDS"]

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
