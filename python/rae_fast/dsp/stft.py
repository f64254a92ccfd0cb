"""Short-time Fourier transforms (librosa's conventions): stft, power_spectrogram."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _core
from .._validation import (MAX_FFT_SIZE, check_dtype_arg, check_float, check_int, check_out,
                           check_output_size, check_real_array, check_threads)
from .fft import _COMPLEX_OF
from .windows import _frame_window

_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


# ---------------------------------------------------------------------------------------- STFT

def _stft_params(y, n_fft, hop_length, win_length, center, pad_mode, dtype, name="y"):
    arr = check_real_array(y, name, ndim=(1, 2), dtype=check_dtype_arg(dtype))
    n_fft = check_int(n_fft, "n_fft", 1, MAX_FFT_SIZE)
    win_length = n_fft if win_length is None else check_int(win_length, "win_length", 1)
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
    hop_length = win_length // 4 if hop_length is None else check_int(hop_length, "hop_length", 1)
    if hop_length < 1:
        raise ValueError(f"hop_length must be >= 1 (win_length // 4 is 0 for win_length={win_length})")
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be True or False, got {center!r}")
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(_PAD_MODES)}, got {pad_mode!r}")
    pad = n_fft // 2 if center else 0
    length = arr.shape[-1]
    n_frames = _core.frame_count(length, n_fft, hop_length, pad)
    if n_frames == 0:
        raise ValueError(f"{name} has {length} samples, fewer than n_fft = {n_fft}; use "
                         f"center=True or a smaller n_fft")
    return arr, n_fft, hop_length, win_length, pad, n_frames


def _run_frames(arr, out_shape, out_dtype, out, **kw):
    batch = arr.ndim == 2
    y2 = arr if batch else arr[None, :]
    full_shape = (y2.shape[0],) + tuple(out_shape)
    check_output_size(full_shape, np.dtype(out_dtype).itemsize)
    if out is not None:
        res = check_out(out, full_shape if batch else tuple(out_shape), out_dtype)
        res3 = res if batch else res[None]
    else:
        res3 = np.empty(full_shape, dtype=out_dtype)
        res = res3 if batch else res3[0]
    _core.frames(y2, res3, **kw)
    return res


def stft(y, n_fft: int = 2048, hop_length: Optional[int] = None, win_length: Optional[int] = None,
         window="hann", center: bool = True, pad_mode: str = "constant", *, dtype=None,
         out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Short-time Fourier transform, like ``librosa.stft``.

    Parameters
    ----------
    y : ndarray, float32 or float64, shape ``(n,)`` or ``(n_clips, n)``
    n_fft : int
        FFT size (any size >= 1; powers of two are fastest).
    hop_length : int, optional
        Samples between frames (default ``win_length // 4``).
    win_length : int, optional
        Window length (<= n_fft, default n_fft); the window is zero-padded to n_fft, centred.
    window : str or ndarray
        Window name (see :func:`get_window`) or values (win_length or n_fft of them).
    center : bool
        Pad ``n_fft // 2`` samples on both sides so that frame t is centred on ``t * hop_length``.
    pad_mode : {"constant", "reflect", "symmetric", "edge", "wrap"}
        numpy.pad mode used for centring.
    dtype : float32 or float64, optional
        Working precision (default: that of ``y``).
    out : ndarray, optional
        Preallocated result of the exact output shape and dtype.
    n_threads : int, optional
        Threads (default all cores); frames of all clips are split between them.

    Returns
    -------
    ndarray, complex64 (complex128 for float64), shape ``(1 + n_fft // 2, n_frames)`` or
    ``(n_clips, 1 + n_fft // 2, n_frames)``, where ``n_frames = 1 + n // hop_length`` when
    centred, else ``1 + (n - n_fft) // hop_length``.

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> D = rae_fast.stft(y, n_fft=2048, hop_length=512)
    >>> D.shape, D.dtype
    ((1025, 44), dtype('complex64'))
    """
    threads = check_threads(n_threads)
    arr, n_fft, hop, win_length, pad, n_frames = _stft_params(
        y, n_fft, hop_length, win_length, center, pad_mode, dtype)
    w = _frame_window(window, win_length, n_fft, arr.dtype)
    return _run_frames(arr, (n_fft // 2 + 1, n_frames), _COMPLEX_OF[arr.dtype], out,
                       n_fft=n_fft, frame_len=n_fft, hop=hop, pad=pad, pad_mode=pad_mode,
                       pre_emphasis=0.0, detrend=False, window=w, mode="complex", power=2.0,
                       scale=1.0, basis=None, max_lag=0, normalize=None, n_threads=threads)


def power_spectrogram(y, n_fft: int = 2048, hop_length: Optional[int] = None,
                      win_length: Optional[int] = None, window="hann", center: bool = True,
                      pad_mode: str = "constant", power: float = 2.0, *, dtype=None,
                      out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """``|stft(y)| ** power`` without materialising the complex STFT.

    Parameters are those of :func:`stft`, plus ``power`` (> 0; 1 = magnitude, 2 = power).

    Returns
    -------
    ndarray, float32 (float64 for float64 input), shape ``(1 + n_fft // 2, n_frames)`` or
    ``(n_clips, 1 + n_fft // 2, n_frames)``.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> rae_fast.power_spectrogram(y, n_fft=512, hop_length=128).shape
    (257, 126)
    """
    threads = check_threads(n_threads)
    power = check_float(power, "power", minimum=0.0, strict_min=True)
    arr, n_fft, hop, win_length, pad, n_frames = _stft_params(
        y, n_fft, hop_length, win_length, center, pad_mode, dtype)
    w = _frame_window(window, win_length, n_fft, arr.dtype)
    return _run_frames(arr, (n_fft // 2 + 1, n_frames), arr.dtype, out,
                       n_fft=n_fft, frame_len=n_fft, hop=hop, pad=pad, pad_mode=pad_mode,
                       pre_emphasis=0.0, detrend=False, window=w, mode="magnitude", power=power,
                       scale=1.0, basis=None, max_lag=0, normalize=None, n_threads=threads)
