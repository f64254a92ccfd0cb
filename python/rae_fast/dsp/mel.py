"""Mel scale, mel filterbanks (librosa.filters.mel), mel spectrograms and decibels."""
from __future__ import annotations

import functools
import warnings
from typing import Callable, Optional, Union

import numpy as np

from .. import _core
from .._validation import (MAX_FFT_SIZE, check_dtype_arg, check_float, check_int, check_out,
                           check_real_array, check_threads)
from .stft import _run_frames, _stft_params
from .windows import _frame_window

# -------------------------------------------------------------------------------------- mel

def hz_to_mel(frequencies, htk: bool = False):
    """Hz -> mel (Slaney's scale by default, HTK's with ``htk=True``), like librosa.

    >>> float(rae_fast.hz_to_mel(1000.0))
    15.0
    """
    f = np.asarray(frequencies, dtype=np.float64)
    out = np.vectorize(lambda v: _core.hz_to_mel(float(v), bool(htk)), otypes=[np.float64])(f)
    return out if out.ndim else float(out)


def mel_to_hz(mels, htk: bool = False):
    """mel -> Hz (inverse of :func:`hz_to_mel`).

    >>> float(rae_fast.mel_to_hz(15.0))
    1000.0
    """
    m = np.asarray(mels, dtype=np.float64)
    out = np.vectorize(lambda v: _core.mel_to_hz(float(v), bool(htk)), otypes=[np.float64])(m)
    return out if out.ndim else float(out)


@functools.lru_cache(maxsize=64)
def _mel_basis_cached(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype_str):
    W = _core.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm).astype(dtype_str)
    W.setflags(write=False)
    return W


@functools.lru_cache(maxsize=64)
def _empty_bands(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> int:
    """Number of mel bands that contain no FFT bin (librosa warns about these)."""
    W = _mel_basis_cached(sr, n_fft, n_mels, fmin, fmax, htk, norm, np.dtype(np.float64).str)
    return int(np.count_nonzero(W.max(axis=1) == 0))


def _mel_basis(args, dtype_str: str, stacklevel: int):
    """The cached filterbank; warns, like librosa, on every call whose bank has empty bands."""
    empty = _empty_bands(*args)
    if empty:
        sr, n_fft, n_mels = args[0], args[1], args[2]
        warnings.warn(f"Empty filters detected in mel frequency basis: {empty} of {n_mels} bands "
                      f"contain no FFT bin (sr={sr:g}, n_fft={n_fft}) and will always be 0; "
                      "reduce n_mels or increase n_fft", UserWarning, stacklevel=stacklevel)
    return _mel_basis_cached(*args, dtype_str)


def _check_norm(norm):
    if norm is None or norm == "slaney":
        return norm
    if isinstance(norm, str):
        raise ValueError(f'norm must be None, "slaney" or a number, got {norm!r}')
    if isinstance(norm, (bool, np.bool_)):
        raise TypeError(f"norm must be None, 'slaney' or a number, got {norm!r}")
    try:
        p = float(norm)
    except (TypeError, ValueError):
        raise TypeError(f'norm must be None, "slaney" or a number, got {norm!r}') from None
    if np.isnan(p) or p < 0:
        raise ValueError(f"norm must be a non-negative number, got {norm!r}")
    return p


def _mel_params(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    sr = check_float(sr, "sr", minimum=0.0, strict_min=True)
    n_fft = check_int(n_fft, "n_fft", 1, MAX_FFT_SIZE)
    n_mels = check_int(n_mels, "n_mels", 1, 1 << 16)
    fmin = check_float(fmin, "fmin", minimum=0.0)
    fmax = sr / 2.0 if fmax is None else check_float(fmax, "fmax", minimum=0.0)
    if fmax > sr / 2.0:
        raise ValueError(f"fmax ({fmax} Hz) must be <= sr / 2 ({sr / 2} Hz)")
    if fmin >= fmax:
        raise ValueError(f"fmin ({fmin} Hz) must be < fmax ({fmax} Hz)")
    if not isinstance(htk, (bool, np.bool_)):
        raise TypeError(f"htk must be True or False, got {htk!r}")
    return sr, n_fft, n_mels, fmin, fmax, bool(htk), _check_norm(norm)


def mel_filterbank(sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: Optional[float] = None, htk: bool = False, norm="slaney",
                   dtype=np.float32) -> np.ndarray:
    """Mel filterbank, identical to ``librosa.filters.mel`` (to float32 precision).

    Parameters
    ----------
    sr : float
        Sampling rate in Hz.
    n_fft : int
        FFT size; the bank covers ``1 + n_fft // 2`` bins.
    n_mels : int
        Number of bands.
    fmin, fmax : float
        Band edges in Hz (``fmax`` defaults to ``sr / 2`` and may not exceed it).
    htk : bool
        HTK mel formula instead of Slaney's (default).
    norm : {"slaney", None} or float
        ``"slaney"``: area normalisation (default); None: peaks of 1; a number p: unit p-norm.
    dtype : float32 (default) or float64

    Returns
    -------
    ndarray, shape ``(n_mels, 1 + n_fft // 2)``.

    Examples
    --------
    >>> rae_fast.mel_filterbank(sr=22050, n_fft=2048, n_mels=128).shape
    (128, 1025)
    """
    args = _mel_params(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    dt = check_dtype_arg(dtype) or np.dtype(np.float32)
    W = _mel_basis(args, dt.str, stacklevel=3)
    return W.copy()


def melspectrogram(y=None, sr: float = 22050, S: Optional[np.ndarray] = None, n_fft: int = 2048,
                   hop_length: int = 512, win_length: Optional[int] = None, window="hann",
                   center: bool = True, pad_mode: str = "constant", power: float = 2.0,
                   n_mels: int = 128, fmin: float = 0.0, fmax: Optional[float] = None,
                   htk: bool = False, norm="slaney", *, dtype=None, out: Optional[np.ndarray] = None,
                   n_threads: Optional[int] = None) -> np.ndarray:
    """Mel spectrogram, like ``librosa.feature.melspectrogram``.

    From audio, frames -> window -> FFT -> ``|X| ** power`` -> band-sparse mel filterbank run in
    one C++ pass per batch (no intermediate spectrogram is stored).

    Parameters
    ----------
    y : ndarray, float32 or float64, shape ``(n,)`` or ``(n_clips, n)``, optional
    sr : float
        Sampling rate in Hz.
    S : ndarray, optional
        A precomputed ``|STFT| ** power`` of shape ``(..., 1 + n_fft // 2, n_frames)``, used
        instead of ``y``.
    n_fft, hop_length, win_length, window, center, pad_mode : as for :func:`stft`.
    power : float
        Exponent of the magnitude (2 = power, 1 = energy).
    n_mels, fmin, fmax, htk, norm : as for :func:`mel_filterbank`.
    dtype, out, n_threads : as for :func:`stft`.

    Returns
    -------
    ndarray, float32 (float64 for float64 input), shape ``(n_mels, n_frames)`` or
    ``(n_clips, n_mels, n_frames)``.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> M = rae_fast.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=64)
    >>> M.shape
    (64, 44)
    """
    threads = check_threads(n_threads)
    power = check_float(power, "power", minimum=0.0, strict_min=True)
    if S is not None:
        if y is not None:
            raise ValueError("pass either y or S, not both")
        Sa = check_real_array(S, "S", ndim=(2, 3), dtype=check_dtype_arg(dtype))
        n_fft = check_int(n_fft, "n_fft", 1, MAX_FFT_SIZE)
        if Sa.shape[-2] != n_fft // 2 + 1:
            raise ValueError(f"S has {Sa.shape[-2]} frequency bins; n_fft = {n_fft} needs "
                             f"{n_fft // 2 + 1}")
        args = _mel_params(sr, n_fft, n_mels, fmin, fmax, htk, norm)
        basis = _mel_basis(args, Sa.dtype.str, stacklevel=3)
        res = np.matmul(basis, Sa)
        if out is not None:
            check_out(out, res.shape, res.dtype)[...] = res
            return out
        return np.ascontiguousarray(res)
    if y is None:
        raise ValueError("melspectrogram needs audio y or a spectrogram S")
    arr, n_fft, hop, win_length, pad, n_frames = _stft_params(
        y, n_fft, hop_length, win_length, center, pad_mode, dtype)
    args = _mel_params(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    basis = _mel_basis(args, arr.dtype.str, stacklevel=3)
    w = _frame_window(window, win_length, n_fft, arr.dtype)
    return _run_frames(arr, (args[2], n_frames), arr.dtype, out,
                       n_fft=n_fft, frame_len=n_fft, hop=hop, pad=pad, pad_mode=pad_mode,
                       pre_emphasis=0.0, detrend=False, window=w, mode="mel", power=power,
                       scale=1.0, basis=basis, max_lag=0, normalize=None, n_threads=threads)


def power_to_db(S, ref: Union[float, Callable] = 1.0, amin: float = 1e-10,
                top_db: Optional[float] = 80.0, *, out: Optional[np.ndarray] = None,
                n_threads: Optional[int] = None) -> np.ndarray:
    """Power spectrogram to decibels, identical to ``librosa.power_to_db``.

    ``10 * log10(max(amin, S)) - 10 * log10(max(amin, ref))``, then values more than ``top_db``
    below the maximum (over the whole array, as librosa does) are raised to ``max - top_db``.

    Parameters
    ----------
    S : ndarray, float32 or float64, any shape (non-negative power values)
    ref : float or callable
        Reference power (0 dB), or a function of ``S`` returning it (e.g. ``np.max``).
    amin : float
        Floor (> 0) applied before the logarithm.
    top_db : float or None
        Dynamic range kept below the maximum (>= 0), or None for no limit.
    out : ndarray, optional
        Preallocated result (may be ``S`` itself).
    n_threads : int, optional

    Returns
    -------
    ndarray of S's shape and dtype.

    Examples
    --------
    >>> rae_fast.power_to_db(np.array([1.0, 10.0, 100.0], dtype=np.float32))
    array([ 0., 10., 20.], dtype=float32)
    """
    threads = check_threads(n_threads)
    if isinstance(S, np.ndarray) and S.dtype.kind == "c":
        warnings.warn("power_to_db was called on complex input so phase information will be "
                      "discarded; pass np.abs(S) ** 2 instead", UserWarning, stacklevel=2)
        S = np.abs(S)
    arr = check_real_array(S, "S", ndim=tuple(range(0, 33)))
    amin = check_float(amin, "amin", minimum=0.0, strict_min=True)
    if callable(ref):
        try:
            ref_value = float(ref(arr))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"ref(S) must return one real number, got {exc}") from None
        if not np.isfinite(ref_value):
            raise ValueError(f"ref(S) returned {ref_value}; the reference power must be finite "
                             "(does S hold only zeros, or did ref divide by zero?)")
    else:
        ref_value = abs(check_float(ref, "ref"))
    if top_db is not None:
        top_db = check_float(top_db, "top_db", minimum=0.0)
    res = np.empty_like(arr) if out is None else check_out(out, arr.shape, arr.dtype)
    _core.power_to_db(arr, res, ref_value, amin, top_db, threads)
    return res
