"""Framewise autocorrelation (autocorrelograms) and fundamental-frequency estimation.

An autocorrelogram is the autocorrelation of successive frames of a signal: a surface over
time (frames) and autocorrelation delay (lag), whose height is the correlation — the "3-D
autocorrelogram" view of a sound. Periodic sounds show ridges at multiples of their period;
noise shows a single ridge at lag 0.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from . import _core
from ._validation import (MAX_FFT_SIZE, check_dtype_arg, check_float, check_int, check_out,
                          check_output_size, check_real_array, check_threads)

__all__ = ["autocorrelogram", "autocorrelogram_axes", "autocorrelation_method",
           "fundamental_frequency"]

_NORMALIZE = ("lag0", "unbiased", None)
_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap")
_METHODS = ("auto", "fft", "direct")


def _acf_setup(y, sr, frame_length, hop_length, max_lag, fmin, center, window, normalize,
               pad_mode, method, dtype):
    arr = check_real_array(y, "y", ndim=(1, 2), dtype=check_dtype_arg(dtype))
    frame_length = check_int(frame_length, "frame_length", 2, MAX_FFT_SIZE // 2)
    hop_length = check_int(hop_length, "hop_length", 1)
    if sr is not None:
        sr = check_float(sr, "sr", minimum=0.0, strict_min=True)
    if fmin is not None and max_lag is not None:
        raise ValueError(f"give max_lag or fmin, not both (got max_lag={max_lag!r}, "
                         f"fmin={fmin!r}): fmin sets max_lag to its period ceil(sr / fmin)")
    if fmin is not None:
        if sr is None:
            raise ValueError("fmin needs the sampling rate sr (to turn a frequency into a lag)")
        fmin = check_float(fmin, "fmin", minimum=0.0, strict_min=True)
        if fmin > sr / 2:
            raise ValueError(f"fmin ({fmin} Hz) must be <= sr / 2 ({sr / 2} Hz)")
        lag = int(math.ceil(sr / fmin))
        if lag >= frame_length:
            raise ValueError(f"fmin = {fmin} Hz needs lags up to {lag} samples, which a frame of "
                             f"{frame_length} samples cannot hold; raise frame_length or fmin")
        max_lag = lag
    if max_lag is None:
        max_lag = frame_length // 2
    max_lag = check_int(max_lag, "max_lag", 0)
    if max_lag >= frame_length:
        raise ValueError(f"max_lag ({max_lag}) must be smaller than frame_length ({frame_length})")
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be True or False, got {center!r}")
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(_PAD_MODES)}, got {pad_mode!r}")
    if normalize not in _NORMALIZE:
        raise ValueError(f'normalize must be "lag0", "unbiased" or None, got {normalize!r}')
    if method not in _METHODS:
        raise ValueError(f'method must be "auto", "fft" or "direct", got {method!r}')
    pad = frame_length // 2 if center else 0
    n_frames = _core.frame_count(arr.shape[-1], frame_length, hop_length, pad)
    if n_frames == 0:
        raise ValueError(f"y has {arr.shape[-1]} samples, fewer than frame_length = {frame_length}; "
                         f"use center=True or a shorter frame")
    if window is None:
        w = None
    elif isinstance(window, (str, tuple)):
        from .dsp import get_window
        w = get_window(window, frame_length, fftbins=True, dtype=arr.dtype)
    else:
        w = check_real_array(window, "window", ndim=1).astype(arr.dtype)
        if w.shape[0] != frame_length:
            raise ValueError(f"window has {w.shape[0]} values, expected frame_length = {frame_length}")
    return arr, frame_length, hop_length, max_lag, pad, n_frames, w


def autocorrelation_method(frame_length: int, max_lag: int) -> str:
    """Which method ``method="auto"`` picks for these sizes: ``"direct"`` or ``"fft"``.

    Direct SIMD dot products cost about ``frame_length * (max_lag + 1)`` multiply-adds per frame;
    the FFT route (Wiener-Khinchin, zero-padded to a power of two >= frame_length + max_lag)
    about ``6 n log2 n``; the cheaper one is used. Both are exact to float32 precision.

    >>> rae_fast.autocorrelation_method(2048, 16), rae_fast.autocorrelation_method(2048, 1024)
    ('direct', 'fft')
    """
    frame_length = check_int(frame_length, "frame_length", 1)
    max_lag = check_int(max_lag, "max_lag", 0)
    return "direct" if _core.autocorr_prefer_direct(frame_length, max_lag) else "fft"


def autocorrelogram(y, sr: Optional[float] = None, frame_length: int = 2048, hop_length: int = 512,
                    max_lag: Optional[int] = None, fmin: Optional[float] = None, center: bool = True,
                    window=None, normalize: Optional[str] = "lag0", *, detrend: bool = False,
                    pad_mode: str = "constant", method: str = "auto", dtype=None,
                    out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Framewise autocorrelation of a signal: time x lag x amplitude.

    For every frame ``x`` of ``frame_length`` samples (every ``hop_length`` samples), optionally
    mean-removed and windowed, computes ``r[l] = sum_t x[t] x[t + l]`` for lags
    ``l = 0..max_lag`` — by FFT (Wiener-Khinchin: zero-pad to a power of two
    >= frame_length + max_lag, ``|X|^2``, inverse FFT) or by direct SIMD dot products when
    ``max_lag`` is small, chosen by cost (``method="auto"``); both are exact to float32 precision.
    All frames of all clips are computed in one C++ call, split over threads.

    Parameters
    ----------
    y : ndarray, float32 or float64, shape ``(n,)`` or ``(n_clips, n)``
    sr : float, optional
        Sampling rate in Hz (needed only with ``fmin``; see :func:`autocorrelogram_axes`).
    frame_length : int
        Samples per frame (default 2048).
    hop_length : int
        Samples between frame starts (default 512).
    max_lag : int, optional
        Largest lag in samples (< frame_length). Default: ``ceil(sr / fmin)`` when ``fmin`` is
        given, else ``frame_length // 2``. Give ``max_lag`` or ``fmin``, not both.
    fmin : float, optional
        Lowest frequency of interest in Hz: sets ``max_lag`` to its period ``ceil(sr / fmin)``
        (needs ``sr``). Giving both ``fmin`` and ``max_lag`` is a ``ValueError``, since one
        would silently override the other.
    center : bool
        Pad ``frame_length // 2`` samples on both sides so that frame t is centred at
        ``t * hop_length`` (librosa's convention).
    window : str or ndarray, optional
        Window applied to each frame (None: rectangular).
    normalize : {"lag0", "unbiased", None}
        ``"lag0"``: divide by the zero-lag value, so ``r[0] = 1`` (a silent frame gives zeros,
        not NaN); ``"unbiased"``: divide lag l by the overlap ``frame_length - l``; None: raw sums.
    detrend : bool
        Remove each frame's mean before windowing.
    pad_mode : str
        numpy.pad mode for centring (default zeros).
    method : {"auto", "fft", "direct"}
    dtype : float32 or float64, optional
        Working precision (default that of ``y``).
    out : ndarray, optional
        Preallocated result.
    n_threads : int, optional
        Threads (default: all cores); results do not depend on it.

    Returns
    -------
    ndarray, float32 (float64 for float64 input), shape ``(max_lag + 1, n_frames)`` or
    ``(n_clips, max_lag + 1, n_frames)`` — lag on the first axis, time last.

    Examples
    --------
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    >>> A = rae_fast.autocorrelogram(y, sr=sr, fmin=50)
    >>> A.shape
    (442, 44)
    >>> times, lags_ms = rae_fast.autocorrelogram_axes(A.shape[-1], A.shape[-2], sr=sr)
    >>> round(float(lags_ms[100 + np.argmax(A[100:, 20])]), 1)   # period of 220 Hz, in ms
    4.5
    """
    threads = check_threads(n_threads)
    arr, frame_length, hop_length, max_lag, pad, n_frames, w = _acf_setup(
        y, sr, frame_length, hop_length, max_lag, fmin, center, window, normalize, pad_mode,
        method, dtype)
    if not isinstance(detrend, (bool, np.bool_)):
        raise TypeError(f"detrend must be True or False, got {detrend!r}")
    if method == "auto":
        method = autocorrelation_method(frame_length, max_lag)
    n_fft = _core.autocorr_fft_size(frame_length, max_lag)
    mode = "autocorr_direct" if method == "direct" else "autocorr"
    batch = arr.ndim == 2
    y2 = arr if batch else arr[None]
    shape = (y2.shape[0], max_lag + 1, n_frames)
    check_output_size(shape, arr.dtype.itemsize)
    if out is not None:
        res = check_out(out, shape if batch else shape[1:], arr.dtype)
        res3 = res if batch else res[None]
    else:
        res3 = np.empty(shape, dtype=arr.dtype)
        res = res3 if batch else res3[0]
    _core.frames(y2, res3, n_fft=n_fft, frame_len=frame_length, hop=hop_length, pad=pad,
                 pad_mode=pad_mode, pre_emphasis=0.0, detrend=bool(detrend), window=w, mode=mode,
                 power=2.0, scale=1.0, basis=None, max_lag=max_lag, normalize=normalize,
                 n_threads=threads)
    return res


def autocorrelogram_axes(n_frames: int, n_lags: int, sr: float, hop_length: int = 512,
                         frame_length: int = 2048, center: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """The time and delay axes of an autocorrelogram.

    Parameters
    ----------
    n_frames, n_lags : int
        The autocorrelogram's shape ``(n_lags, n_frames)``.
    sr : float
        Sampling rate in Hz.
    hop_length, frame_length, center : as given to :func:`autocorrelogram`.

    Returns
    -------
    times : ndarray, float64, shape ``(n_frames,)``
        Time of each frame's centre in seconds.
    lags_ms : ndarray, float64, shape ``(n_lags,)``
        Autocorrelation delay of each lag in milliseconds.

    Examples
    --------
    >>> t, d = rae_fast.autocorrelogram_axes(3, 4, sr=1000, hop_length=10, frame_length=20)
    >>> t.tolist(), d.tolist()
    ([0.0, 0.01, 0.02], [0.0, 1.0, 2.0, 3.0])
    """
    n_frames = check_int(n_frames, "n_frames", 0)
    n_lags = check_int(n_lags, "n_lags", 0)
    sr = check_float(sr, "sr", minimum=0.0, strict_min=True)
    hop_length = check_int(hop_length, "hop_length", 1)
    frame_length = check_int(frame_length, "frame_length", 1)
    offset = 0.0 if center else frame_length / 2.0
    times = (np.arange(n_frames) * hop_length + offset) / sr
    lags_ms = np.arange(n_lags) * (1000.0 / sr)
    return times, lags_ms


def fundamental_frequency(y, sr: float, fmin: float = 60.0, fmax: float = 1000.0,
                          frame_length: Optional[int] = None, hop_length: int = 512,
                          method: str = "autocorrelation", threshold: Optional[float] = None,
                          center: bool = True, *, n_threads: Optional[int] = None) -> np.ndarray:
    """Fundamental frequency of each frame, in Hz (NaN for unvoiced frames).

    ``method="autocorrelation"``: the normalised, unbiased autocorrelation
    ``r[l] / (N - l) / (r[0] / N)`` of each mean-removed frame (computed through its power
    spectrum, band-limited-interpolated to at least ~40 points per period of fmax) is searched
    for peaks between the lags of ``fmax`` and ``fmin``; every peak is refined by parabolic interpolation and the
    shortest-lag peak whose interpolated height is within 15 % of the highest is taken (which
    avoids sub-octave errors); ``f0 = sr / lag``.
    It finds the period of the whole waveform, so tones whose fundamental is missing get their
    true f0. A frame is voiced when its peak is at least ``threshold`` (default 0.5).

    ``method="fft"``: the largest magnitude bin between fmin and fmax of the mean-removed,
    Hann-windowed frame (zero-padded to 4x its length), refined by parabolic interpolation of
    the log magnitude. This is the frequency of the strongest partial — for a tone without its
    fundamental that is a harmonic, not f0. A frame is voiced when the peak's power is at least
    ``threshold`` (default 10, i.e. 10 dB) times the mean power in [fmin, fmax].

    Parameters
    ----------
    y : ndarray, float32 or float64, shape ``(n,)`` or ``(n_clips, n)``
    sr : float
        Sampling rate in Hz.
    fmin, fmax : float
        Search range in Hz (0 < fmin < fmax <= sr / 2).
    frame_length : int, optional
        Default: the power of two holding at least 2.5 periods of fmin (at least 1024).
    hop_length : int
        Samples between frame starts (>= 1).
    method : {"autocorrelation", "fft"}
    threshold : float, optional
        Voicing threshold (see above).
    center : bool
        Frames centred on ``t * hop_length``.
    n_threads : int, optional

    Returns
    -------
    ndarray, float64, shape ``(n_frames,)`` or ``(n_clips, n_frames)``.

    Examples
    --------
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> y = sum(np.sin(2 * np.pi * k * 150 * t) for k in (2, 3, 4)).astype(np.float32)  # no 150 Hz
    >>> f0 = rae_fast.fundamental_frequency(y, sr, fmin=60, fmax=1000)
    >>> round(float(np.nanmedian(f0)))
    150
    """
    threads = check_threads(n_threads)
    sr = check_float(sr, "sr", minimum=0.0, strict_min=True)
    hop_length = check_int(hop_length, "hop_length", 1)
    fmin = check_float(fmin, "fmin", minimum=0.0, strict_min=True)
    fmax = check_float(fmax, "fmax", minimum=0.0, strict_min=True)
    if fmax > sr / 2:
        raise ValueError(f"fmax ({fmax} Hz) must be <= sr / 2 ({sr / 2} Hz)")
    if fmin >= fmax:
        raise ValueError(f"fmin ({fmin} Hz) must be < fmax ({fmax} Hz)")
    if method not in ("autocorrelation", "fft"):
        raise ValueError(f'method must be "autocorrelation" or "fft", got {method!r}')
    if frame_length is None:
        frame_length = max(1024, 1 << int(math.ceil(math.log2(2.5 * sr / fmin))))
    frame_length = check_int(frame_length, "frame_length", 4, MAX_FFT_SIZE // 4)
    if threshold is not None:
        threshold = check_float(threshold, "threshold", minimum=0.0)
    if method == "autocorrelation":
        return _f0_autocorrelation(y, sr, fmin, fmax, frame_length, hop_length,
                                   0.5 if threshold is None else threshold, center, threads)
    return _f0_fft(y, sr, fmin, fmax, frame_length, hop_length,
                   10.0 if threshold is None else threshold, center, threads)


def _parabolic(ym1, y0, yp1):
    """Offset in [-0.5, 0.5] of the vertex of the parabola through (-1, ym1), (0, y0), (1, yp1)."""
    den = ym1 - 2.0 * y0 + yp1
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(den < 0, 0.5 * (ym1 - yp1) / den, 0.0)
    return np.clip(d, -0.5, 0.5)


def _f0_autocorrelation(y, sr, fmin, fmax, frame_length, hop_length, threshold, center, threads):
    from .dsp import irfft
    lag_max = int(math.ceil(sr / fmin))
    if lag_max + 2 >= frame_length:
        raise ValueError(f"frame_length ({frame_length}) is too short for fmin = {fmin} Hz "
                         f"(period {lag_max} samples); use frame_length >= {2 * lag_max + 4}")
    arr = check_real_array(y, "y", ndim=(1, 2))
    n_fft = _core.autocorr_fft_size(frame_length, lag_max + 2)
    pad = frame_length // 2 if center else 0
    # Wiener-Khinchin with band-limited upsampling: the inverse FFT of the power spectrum of each
    # mean-removed frame, zero-padded U times, gives the autocorrelation at lags j / U, so that
    # even the shortest period (sr / fmax) spans >= ~40 points and peaks are well resolved.
    U = int(min(8, max(1, math.ceil(40.0 * fmax / sr))))
    P = _framewise_power(arr, frame_length, n_fft, hop_length, pad, threads, window=False)
    P = np.moveaxis(P, -2, -1)                          # (..., frames, bins)
    jmax = U * (lag_max + 2)
    r = irfft(np.ascontiguousarray(P), n=U * n_fft, n_threads=threads or None)[..., :jmax + 1]
    r = np.moveaxis(r.astype(np.float64), -1, -2)       # (..., lag points, frames)
    tau = np.arange(jmax + 1) / U
    overlap = (frame_length - tau)[:, None]
    r0 = r[..., :1, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(r0 > 0, (r / overlap) / (r0 / frame_length), 0.0)   # R(0) = 1
    lo = max(1, int(math.floor(U * sr / fmax)))
    hi = U * lag_max
    seg = R[..., lo - 1:hi + 2, :]
    left, mid, right = seg[..., :-2, :], seg[..., 1:-1, :], seg[..., 2:, :]
    peaks = (mid >= left) & (mid > right)
    frac_all = _parabolic(left, mid, right)
    height = mid - 0.25 * (left - right) * frac_all
    vals = np.where(peaks, height, -np.inf)
    best = vals.max(axis=-2, keepdims=True)
    ok = vals >= 0.85 * best                           # shortest lag within 15 % of the best
    first = np.argmax(ok, axis=-2)
    frac = np.take_along_axis(frac_all, first[..., None, :], axis=-2)[..., 0, :]
    f0 = sr * U / (first + lo + frac)
    voiced = np.isfinite(best[..., 0, :]) & (best[..., 0, :] >= threshold)
    return np.where(voiced, f0, np.nan)


def _f0_fft(y, sr, fmin, fmax, frame_length, hop_length, threshold, center, threads):
    arr = check_real_array(y, "y", ndim=(1, 2))
    n_fft = 4 * frame_length
    pad = frame_length // 2 if center else 0
    P = _framewise_power(arr, frame_length, n_fft, hop_length, pad, threads)
    k_lo = max(1, int(math.floor(fmin * n_fft / sr)))
    k_hi = min(n_fft // 2 - 1, int(math.ceil(fmax * n_fft / sr)))
    band = P[..., k_lo:k_hi + 1, :].astype(np.float64)
    k = np.argmax(band, axis=-2)
    peak = np.take_along_axis(band, k[..., None, :], axis=-2)[..., 0, :]
    mean = band.mean(axis=-2)
    kk = k + k_lo
    logP = np.log(np.maximum(P.astype(np.float64), 1e-300))
    take = lambda a, i: np.take_along_axis(a, i[..., None, :], axis=-2)[..., 0, :]  # noqa: E731
    frac = _parabolic(take(logP, kk - 1), take(logP, kk), take(logP, kk + 1))
    f0 = (kk + frac) * sr / n_fft
    with np.errstate(divide="ignore", invalid="ignore"):
        voiced = (mean > 0) & (peak >= threshold * mean)
    return np.where(voiced, f0, np.nan)


def _framewise_power(arr, frame_length, n_fft, hop_length, pad, threads, window=True):
    """|rfft|^2 of mean-removed (Hann-windowed) frames zero-padded to n_fft: (..., bins, frames)."""
    y2 = arr if arr.ndim == 2 else arr[None]
    n_frames = _core.frame_count(y2.shape[-1], frame_length, hop_length, pad)
    if n_frames == 0:
        raise ValueError(f"y has {y2.shape[-1]} samples, fewer than frame_length = {frame_length}")
    w = _core.get_window("hann", frame_length, True).astype(arr.dtype) if window else None
    out = np.empty((y2.shape[0], n_fft // 2 + 1, n_frames), dtype=arr.dtype)
    _core.frames(y2, out, n_fft=n_fft, frame_len=frame_length, hop=hop_length, pad=pad,
                 pad_mode="constant", pre_emphasis=0.0, detrend=True, window=w, mode="magnitude",
                 power=2.0, scale=1.0, basis=None, max_lag=0, normalize=None, n_threads=threads)
    return out if arr.ndim == 2 else out[0]
