"""Back from spectrograms to signals (librosa's names and conventions): inverse STFT,
Griffin-Lim phase reconstruction, mel -> linear power by non-negative least squares, and
autocorrelation -> power spectrum (Wiener-Khinchin).

All of them run in the C++ core: batched (a 3-D input is a batch of clips, computed in one
call), threaded (``n_threads``; results do not depend on it), with the GIL released, after
validating every argument.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .. import _core
from .._validation import (MAX_FFT_SIZE, check_dtype_arg, check_float, check_int, check_out,
                           check_output_size, check_real_array, check_threads)
from .fft import _COMPLEX_OF, _REAL_OF
from .mel import _mel_basis, _mel_params
from .windows import _frame_window, get_window

__all__ = ["istft", "griffinlim", "nnls", "mel_to_stft", "mel_to_audio", "autocorr_to_power"]

_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


# ------------------------------------------------------------------------------ helpers

def _check_complex(x, name: str, ndim, dtype=None) -> np.ndarray:
    """A complex64/complex128 array, C-contiguous, finite, of an allowed ndim."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind != "c":
        raise TypeError(f"{name} must be a complex array (an STFT), got dtype {arr.dtype}")
    if arr.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"{name} must be complex64 or complex128, got {arr.dtype}")
    if arr.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if dtype is not None:
        arr = arr.astype(_COMPLEX_OF[np.dtype(dtype)], copy=False)
    arr = np.ascontiguousarray(arr)
    if not _core.all_finite(arr):
        raise ValueError(f"{name} contains non-finite values (NaN or Inf)")
    return arr


def _inverse_params(n_bins: int, n_fft, hop_length, win_length, window, center, dtype):
    """librosa's defaults: n_fft = 2 (n_bins - 1), win_length = n_fft, hop = win_length // 4."""
    if n_fft is None:
        n_fft = 2 * (n_bins - 1)
        if n_fft < 1:
            raise ValueError("the spectrogram has a single frequency bin: give n_fft (1 or 2)")
    n_fft = check_int(n_fft, "n_fft", 1, MAX_FFT_SIZE)
    if n_bins != n_fft // 2 + 1:
        raise ValueError(f"the spectrogram has {n_bins} frequency bins; n_fft = {n_fft} needs "
                         f"{n_fft // 2 + 1}")
    win_length = n_fft if win_length is None else check_int(win_length, "win_length", 1)
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
    if hop_length is None:
        hop_length = win_length // 4
        if hop_length < 1:
            raise ValueError(f"hop_length must be >= 1 (win_length // 4 is 0 for "
                             f"win_length={win_length}); give hop_length")
    hop_length = check_int(hop_length, "hop_length", 1)
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be True or False, got {center!r}")
    w = _frame_window(window, win_length, n_fft, dtype)
    return n_fft, hop_length, w


def _length(n_frames: int, n_fft: int, hop: int, center: bool, length) -> int:
    if length is None:
        n = _core.istft_length(n_frames, n_fft, hop, bool(center))
        if n < 1:
            raise ValueError(f"{n_frames} centred frame(s) of hop {hop} give no samples; give "
                             "length")
        return n
    return check_int(length, "length", 1)


def _batch3(arr: np.ndarray):
    """(rows, frames) -> (1, rows, frames); returns the 3-D view and whether it was 2-D."""
    return (arr[None], True) if arr.ndim == 2 else (arr, False)


def _result(shape, dtype, out, single: bool):
    full = tuple(int(s) for s in shape)
    check_output_size(full, np.dtype(dtype).itemsize)
    if out is not None:
        res = check_out(out, full[1:] if single else full, dtype)
        return res, (res[None] if single else res)
    res3 = np.empty(full, dtype=dtype)
    return (res3[0] if single else res3), res3


# ------------------------------------------------------------------------------ istft

def istft(stft_matrix, *, hop_length: Optional[int] = None, win_length: Optional[int] = None,
          n_fft: Optional[int] = None, window="hann", center: bool = True, dtype=None,
          length: Optional[int] = None, out: Optional[np.ndarray] = None,
          n_threads: Optional[int] = None) -> np.ndarray:
    """Inverse short-time Fourier transform, like ``librosa.istft``.

    Every frame is inverse-transformed (``irfft`` of ``n_fft`` points), windowed, overlap-added
    and divided by the sum of the squared windows (where it is not zero), so that
    ``istft(stft(y)) == y`` for windows that satisfy the constant-overlap-add condition with
    their hop (e.g. Hann with ``hop_length <= win_length // 2``), up to float32 rounding.

    Parameters
    ----------
    stft_matrix : ndarray, complex64 or complex128, ``(1 + n_fft // 2, n_frames)`` or a batch
        ``(n_clips, 1 + n_fft // 2, n_frames)``
    hop_length, win_length, n_fft, window, center : as for :func:`stft` (``n_fft`` defaults to
        ``2 * (n_bins - 1)``, ``win_length`` to ``n_fft``, ``hop_length`` to
        ``win_length // 4``).
    dtype : float32 or float64, optional
        Output precision (default: that of ``stft_matrix``).
    length : int, optional
        Samples of the result (cut or zero-padded; default
        ``n_fft + hop_length * (n_frames - 1)``, minus ``2 * (n_fft // 2)`` when centred).
    out : ndarray, optional
        Preallocated result.
    n_threads : int, optional

    Returns
    -------
    ndarray, float32 (float64 for complex128), shape ``(length,)`` or ``(n_clips, length)``.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> D = rae_fast.stft(y, n_fft=2048, hop_length=512)
    >>> z = rae_fast.istft(D, hop_length=512, length=len(y))
    >>> float(np.abs(z - y).max()) < 1e-5
    True
    """
    threads = check_threads(n_threads)
    dt = check_dtype_arg(dtype)
    S = _check_complex(stft_matrix, "stft_matrix", (2, 3), dt)
    rdt = _REAL_OF[S.dtype]
    n_fft, hop, w = _inverse_params(S.shape[-2], n_fft, hop_length, win_length, window, center,
                                    rdt)
    L = _length(S.shape[-1], n_fft, hop, center, length)
    S3, single = _batch3(S)
    res, res3 = _result((S3.shape[0], L), rdt, out, single)
    _core.istft(S3, res3, n_fft, hop, w, bool(center), threads)
    return res


# ------------------------------------------------------------------------------ Griffin-Lim

def _initial_phase(init, S: np.ndarray, random_state):
    """librosa's initialisation: None (zero phase) or "random" (the same draws as librosa)."""
    if init is None:
        return None
    if isinstance(init, str) and init == "random":
        if random_state is None:
            rng = np.random.default_rng()
        elif isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
            rng = np.random.RandomState(seed=int(random_state))
        elif isinstance(random_state, (np.random.RandomState, np.random.Generator)):
            rng = random_state
        else:
            raise TypeError(f"random_state must be None, an int, a numpy RandomState or "
                            f"Generator, got {type(random_state).__name__}")
        phase = 2 * np.pi * rng.random(size=S.shape)
        ang = np.empty(S.shape, dtype=_COMPLEX_OF[S.dtype])
        ang.real = np.cos(phase)
        ang.imag = np.sin(phase)
        return ang
    if isinstance(init, np.ndarray):
        arr = _check_complex(init, "init", (S.ndim,), S.dtype)
        if arr.shape != S.shape:
            raise ValueError(f"init must have the shape of S {S.shape}, got {arr.shape}")
        return arr
    raise ValueError(f'init must be None, "random" or a complex array of phases, got {init!r}')


def griffinlim(S, *, n_iter: int = 32, hop_length: Optional[int] = None,
               win_length: Optional[int] = None, n_fft: Optional[int] = None, window="hann",
               center: bool = True, dtype=None, length: Optional[int] = None,
               pad_mode: str = "constant", momentum: float = 0.99, init="random",
               random_state=None, out: Optional[np.ndarray] = None,
               n_threads: Optional[int] = None) -> np.ndarray:
    """A signal whose STFT magnitude approximates ``S``: fast Griffin-Lim, like
    ``librosa.griffinlim``.

    Each iteration inverts the current complex estimate (:func:`istft`), takes the STFT of the
    result, subtracts ``momentum / (1 + momentum)`` times the previous iteration's STFT (fast
    Griffin-Lim, Perraudin et al. 2013; from the second iteration on), keeps the phase and puts
    the magnitudes ``S`` back. The whole loop runs in C++ without returning to Python.

    Parameters
    ----------
    S : ndarray, float32 or float64, ``(1 + n_fft // 2, n_frames)`` or a batch
        ``(n_clips, 1 + n_fft // 2, n_frames)``
        Non-negative STFT magnitudes.
    n_iter : int
        Iterations (>= 0).
    hop_length, win_length, n_fft, window, center, dtype, length : as for :func:`istft`.
        ``length`` must give ``n_frames`` STFT frames again.
    pad_mode : {"constant", "reflect", "symmetric", "edge", "wrap"}
        Padding of the forward STFTs when ``center``.
    momentum : float
        >= 0 (librosa's default 0.99; 0 is the original Griffin-Lim). Above 1 warns.
    init : None, "random" or complex ndarray
        Initial phases: None: zero phase; "random": uniform random phases drawn exactly as
        librosa draws them (so the same ``random_state`` gives librosa's initialisation); or an
        array of the shape of ``S`` whose values multiply the magnitudes.
    random_state : None, int, numpy RandomState or Generator
        For ``init="random"``.
    out : ndarray, optional
    n_threads : int, optional

    Returns
    -------
    ndarray, float32 (float64 for float64 ``S``), shape ``(length,)`` or ``(n_clips, length)``.

    Examples
    --------
    >>> t = np.arange(22050) / 22050
    >>> y = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    >>> S = np.abs(rae_fast.stft(y, n_fft=1024, hop_length=256))
    >>> z = rae_fast.griffinlim(S, n_iter=32, hop_length=256, init=None, length=len(y))
    >>> z.shape, z.dtype
    ((22050,), dtype('float32'))
    """
    threads = check_threads(n_threads)
    dt = check_dtype_arg(dtype)
    mag = check_real_array(S, "S", ndim=(2, 3), dtype=dt)
    if float(mag.min()) < 0:
        raise ValueError("S must hold magnitudes (>= 0); pass np.abs(D) for a complex STFT D")
    n_iter = check_int(n_iter, "n_iter", 0, 1 << 20)
    momentum = check_float(momentum, "momentum")
    if momentum < 0:
        raise ValueError(f"momentum must be >= 0, got {momentum}")
    if momentum > 1:
        warnings.warn(f"Griffin-Lim with momentum={momentum} > 1 can be unstable",
                      UserWarning, stacklevel=2)
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(_PAD_MODES)}, got {pad_mode!r}")
    n_fft, hop, w = _inverse_params(mag.shape[-2], n_fft, hop_length, win_length, window, center,
                                    mag.dtype)
    L = _length(mag.shape[-1], n_fft, hop, center, length)
    frames = _core.frame_count(L, n_fft, hop, n_fft // 2 if center else 0)
    if frames != mag.shape[-1]:
        raise ValueError(f"length = {L} gives {frames} STFT frames, S has {mag.shape[-1]}")
    ang = _initial_phase(init, mag, random_state)
    mag3, single = _batch3(mag)
    ang3 = None if ang is None else _batch3(ang)[0]
    res, res3 = _result((mag3.shape[0], L), mag.dtype, out, single)
    _core.griffinlim(mag3, ang3, res3, n_fft, hop, w, bool(center), pad_mode, n_iter, momentum,
                     threads)
    return res


# ------------------------------------------------------------------------------ NNLS, mel

#: Defaults of the projected-gradient NNLS (see :func:`nnls`).
NNLS_MAX_ITER = 500
NNLS_TOL = 1e-5


def nnls(A, B, *, max_iter: int = NNLS_MAX_ITER, tol: float = NNLS_TOL, dtype=None,
         n_threads: Optional[int] = None) -> np.ndarray:
    """Non-negative least squares for every column of ``B``: ``argmin ||A x - b||, x >= 0``
    (``librosa.util.nnls``'s problem).

    Built for filterbanks (each row of ``A`` a short run of non-zero columns, as mel bands are):
    ``A`` is applied band-sparse. Each column starts from ``max(0, pinv(A) b)`` (librosa's
    starting point; from zero for more than 1024 bands) and takes accelerated projected-gradient steps (FISTA with adaptive restart)
    until its projected gradient falls below ``tol * ||A^T b||`` or ``max_iter`` steps. Where
    the problem has several solutions (fewer bands than bins) the result is one of them and
    need not be librosa's (whose L-BFGS-B stops earlier, at a larger residual).

    Parameters
    ----------
    A : ndarray ``(n_bands, n_bins)``
    B : ndarray, float32 or float64, ``(n_bands, n_frames)`` or ``(n_clips, n_bands, n_frames)``
    max_iter : int
    tol : float
        Relative tolerance (>= 0).
    dtype : float32 or float64, optional
        Precision of the result (default: that of ``B``); the solver works in float64.
    n_threads : int, optional

    Returns
    -------
    ndarray, ``(n_bins, n_frames)`` or ``(n_clips, n_bins, n_frames)``.

    Examples
    --------
    >>> A = rae_fast.mel_filterbank(sr=8000, n_fft=256, n_mels=32)
    >>> x = np.random.default_rng(0).random((129, 10)).astype(np.float32)
    >>> X = rae_fast.dsp.nnls(A, A @ x)
    >>> X.shape, bool(X.min() >= 0), float(np.abs(A @ X - A @ x).max()) < 1e-3
    ((129, 10), True, True)
    """
    threads = check_threads(n_threads)
    Aa = check_real_array(A, "A", ndim=2, dtype=np.float64)
    Ba = check_real_array(B, "B", ndim=(2, 3), dtype=check_dtype_arg(dtype))
    if Ba.shape[-2] != Aa.shape[0]:
        raise ValueError(f"B has {Ba.shape[-2]} rows, A has {Aa.shape[0]} (one per band)")
    max_iter = check_int(max_iter, "max_iter", 0, 1 << 24)
    tol = check_float(tol, "tol", 0.0)
    B3, single = _batch3(Ba)
    res, res3 = _result((B3.shape[0], Aa.shape[1], B3.shape[2]), Ba.dtype, None, single)
    _core.nnls_filterbank(Aa, B3, res3, max_iter, tol, threads)
    return res


def mel_to_stft(M, *, sr: float = 22050, n_fft: int = 2048, power: float = 2.0,
                fmin: float = 0.0, fmax: Optional[float] = None, htk: bool = False,
                norm="slaney", dtype=None, max_iter: int = NNLS_MAX_ITER, tol: float = NNLS_TOL,
                n_threads: Optional[int] = None) -> np.ndarray:
    """Approximate STFT magnitude from a mel spectrogram, like
    ``librosa.feature.inverse.mel_to_stft``: the non-negative least-squares solution
    (:func:`nnls`) through the mel filterbank, then ``** (1 / power)``.

    Parameters
    ----------
    M : ndarray, float32 or float64, ``(n_mels, n_frames)`` or ``(n_clips, n_mels, n_frames)``
        Mel spectrogram of ``|STFT| ** power`` (not decibels).
    sr, n_fft, fmin, fmax, htk, norm : the filterbank, as for :func:`mel_filterbank`.
    power : float
        Exponent the mel spectrogram was computed with (> 0).
    dtype, max_iter, tol, n_threads : as for :func:`nnls`.

    Returns
    -------
    ndarray ``(1 + n_fft // 2, n_frames)`` (or with the batch axis), non-negative.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> M = rae_fast.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128)
    >>> rae_fast.dsp.mel_to_stft(M, sr=22050, n_fft=2048).shape
    (1025, 44)
    """
    Ma = check_real_array(M, "M", ndim=(2, 3), dtype=check_dtype_arg(dtype))
    power = check_float(power, "power", 0.0, strict_min=True)
    args = _mel_params(sr, n_fft, Ma.shape[-2], fmin, fmax, htk, norm)
    basis = _mel_basis(args, np.dtype(np.float64).str, stacklevel=3)
    P = nnls(basis, Ma, max_iter=max_iter, tol=tol, n_threads=n_threads)
    return np.power(P, 1.0 / power, out=P)


def mel_to_audio(M, *, sr: float = 22050, n_fft: int = 2048, hop_length: Optional[int] = None,
                 win_length: Optional[int] = None, window="hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, n_iter: int = 32,
                 length: Optional[int] = None, momentum: float = 0.99, init="random",
                 random_state=None, fmin: float = 0.0, fmax: Optional[float] = None,
                 htk: bool = False, norm="slaney", dtype=None,
                 n_threads: Optional[int] = None) -> np.ndarray:
    """Audio from a mel spectrogram, like ``librosa.feature.inverse.mel_to_audio``:
    :func:`mel_to_stft` then :func:`griffinlim`.

    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> M = rae_fast.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128)
    >>> rae_fast.dsp.mel_to_audio(M, sr=22050, n_fft=2048, hop_length=512, n_iter=4).shape
    (22016,)
    """
    S = mel_to_stft(M, sr=sr, n_fft=n_fft, power=power, fmin=fmin, fmax=fmax, htk=htk,
                    norm=norm, dtype=dtype, n_threads=n_threads)
    return griffinlim(S, n_iter=n_iter, hop_length=hop_length, win_length=win_length,
                      n_fft=n_fft, window=window, center=center, length=length,
                      pad_mode=pad_mode, momentum=momentum, init=init,
                      random_state=random_state, n_threads=n_threads)


# ------------------------------------------------------------------------------ Wiener-Khinchin

def _lag_weights(lag_window, n_lags: int, dtype) -> Optional[np.ndarray]:
    if lag_window is None:
        return None
    if isinstance(lag_window, (str, tuple)):
        # the right half of a symmetric window over lags -(n_lags - 1) .. n_lags - 1
        full = get_window(lag_window, 2 * n_lags + 1, fftbins=False, dtype=np.float64)
        return np.ascontiguousarray(full[n_lags:2 * n_lags], dtype=dtype)
    w = check_real_array(lag_window, "lag_window", ndim=1, dtype=dtype)
    if w.shape[0] != n_lags:
        raise ValueError(f"lag_window must have one value per lag ({n_lags}), got {w.shape[0]}")
    return w


def autocorr_to_power(acf, n_fft: Optional[int] = None, *, normalize: Optional[str] = None,
                      frame_length: Optional[int] = None, energy=None, lag_window=None,
                      clip_negative: bool = True, dtype=None,
                      n_threads: Optional[int] = None) -> np.ndarray:
    """Power spectrum of every frame from its autocorrelation (Wiener-Khinchin): the inverse
    of :func:`rae_fast.autocorrelogram` up to what its lags and normalisation keep.

    ``P[k] = sum over |l| < n_lags of w_l r_l exp(-2 pi i k l / n_fft)``. With all lags
    (``max_lag = frame_length - 1``) of an unnormalised autocorrelogram this is exactly the
    power spectrum ``|rfft(windowed frame, n_fft)|^2`` of each frame; with fewer lags it is that
    spectrum smoothed (a lag window such as ``"bartlett"`` keeps it non-negative).

    Parameters
    ----------
    acf : ndarray ``(n_lags, n_frames)`` or ``(n_clips, n_lags, n_frames)``
        Lags 0 .. n_lags - 1 (the layout :func:`rae_fast.autocorrelogram` returns).
    n_fft : int, optional
        Size of the transform: ``1 + n_fft // 2`` bins (default ``2 * (n_lags - 1)``, at least 1).
    normalize : None, "lag0" or "unbiased"
        The normalisation the autocorrelogram was computed with, undone where possible:
        ``"unbiased"`` (needs ``frame_length``) multiplies lag ``l`` back by
        ``frame_length - l``; ``"lag0"`` multiplies every frame by its ``energy`` (its lag-0
        value before normalisation) when given, else leaves unit-energy frames.
    frame_length : int, optional
        Samples per frame (for ``normalize="unbiased"``).
    energy : ndarray, optional
        Lag-0 values ``(n_frames,)`` or ``(n_clips, n_frames)``, for ``normalize="lag0"``.
    lag_window : None, str or ndarray
        Weights of the lags: a window name (the right half of a symmetric window over
        ``-(n_lags - 1) .. n_lags - 1``) or ``n_lags`` values.
    clip_negative : bool
        Set negative values (from truncated lags) to 0.
    dtype, n_threads : as for :func:`stft`.

    Returns
    -------
    ndarray ``(1 + n_fft // 2, n_frames)`` (or with the batch axis).

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    >>> R = rae_fast.autocorrelogram(y, frame_length=256, hop_length=128, max_lag=255,
    ...                              normalize=None, center=False)
    >>> P = rae_fast.dsp.autocorr_to_power(R, n_fft=512)
    >>> frames = np.lib.stride_tricks.sliding_window_view(y, 256)[::128]
    >>> ref = np.abs(np.fft.rfft(frames, n=512)) ** 2
    >>> P.shape, bool(np.allclose(P, ref.T, rtol=1e-3, atol=1e-2))
    ((257, 31), True)
    """
    threads = check_threads(n_threads)
    R = check_real_array(acf, "acf", ndim=(2, 3), dtype=check_dtype_arg(dtype))
    n_lags = R.shape[-2]
    n_fft = max(1, 2 * (n_lags - 1)) if n_fft is None else check_int(n_fft, "n_fft", 1,
                                                                      MAX_FFT_SIZE)
    if normalize not in (None, "lag0", "unbiased"):
        raise ValueError(f'normalize must be None, "lag0" or "unbiased", got {normalize!r}')
    if not isinstance(clip_negative, (bool, np.bool_)):
        raise TypeError(f"clip_negative must be True or False, got {clip_negative!r}")
    w = _lag_weights(lag_window, n_lags, R.dtype)
    if normalize == "unbiased":
        if frame_length is None:
            raise ValueError('normalize="unbiased" needs frame_length to undo the division')
        frame_length = check_int(frame_length, "frame_length", n_lags)
        undo = (frame_length - np.arange(n_lags)).astype(R.dtype)
        w = undo if w is None else np.ascontiguousarray(w * undo)
    if energy is not None:
        if normalize != "lag0":
            raise ValueError('energy applies to normalize="lag0" only')
        e = check_real_array(energy, "energy", ndim=(1, 2), dtype=R.dtype)
        if e.shape != R.shape[:-2] + R.shape[-1:]:
            raise ValueError(f"energy must have shape {R.shape[:-2] + R.shape[-1:]} (one value "
                             f"per frame), got {e.shape}")
        R = R * e[..., None, :]
    R3, single = _batch3(R)
    res, res3 = _result((R3.shape[0], n_fft // 2 + 1, R3.shape[2]), R.dtype, None, single)
    _core.acf_to_power(R3, res3, n_fft, w, bool(clip_negative), threads)
    return res
