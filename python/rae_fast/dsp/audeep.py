"""auDeep's spectrogram: pre-emphasis, power spectrum, mel bands, dB relative to the clip's
maximum with clipping, and mean normalisation to [-1, 1]."""
from __future__ import annotations

import functools
import warnings
from typing import Optional, Sequence

import numpy as np

from .. import _core
from .._validation import (MAX_FFT_SIZE, check_dtype_arg, check_float, check_int, check_real_array,
                           check_threads)
from .stft import _run_frames

# ------------------------------------------------------------------------ auDeep spectrograms

def spectrogram_frames(n_samples: int, sr: float, window_width: float = 0.08,
                       window_overlap: float = 0.04, win_length: Optional[int] = None,
                       hop_length: Optional[int] = None):
    """Window length, hop and frame count that :func:`spectrogram` uses for a clip.

    Returns ``(win_length, hop_length, n_frames)`` in samples / frames, with auDeep's rounding
    (``int(sr * seconds)`` for the window and the overlap).

    >>> rae_fast.spectrogram_frames(5 * 44100, 44100)
    (3528, 1764, 124)
    """
    n_samples = check_int(n_samples, "n_samples", 0)
    sr = check_float(sr, "sr", minimum=0.0, strict_min=True)
    if win_length is None:
        window_width = check_float(window_width, "window_width", minimum=0.0, strict_min=True)
        win_length = int(sr * window_width)
        if win_length < 1:
            raise ValueError(f"window_width = {window_width} s is shorter than one sample at "
                             f"sr = {sr} Hz")
    win_length = check_int(win_length, "win_length", 1, MAX_FFT_SIZE)
    if hop_length is None:
        window_overlap = check_float(window_overlap, "window_overlap", minimum=0.0)
        overlap = int(sr * window_overlap)
        if overlap >= win_length:
            raise ValueError(f"window_overlap ({window_overlap} s = {overlap} samples) must be "
                             f"shorter than window_width ({win_length} samples)")
        hop_length = win_length - overlap
    hop_length = check_int(hop_length, "hop_length", 1)
    return win_length, hop_length, _core.frame_count(n_samples, win_length, hop_length, 0)


@functools.lru_cache(maxsize=64)
def _audeep_basis_cached(sr, n_fft, n_mels, dtype_str):
    W = _core.audeep_mel_filterbank(sr, n_fft, n_mels).astype(dtype_str)
    W.setflags(write=False)
    return W


@functools.lru_cache(maxsize=64)
def _audeep_empty_bands(sr, n_fft, n_mels) -> int:
    W = _audeep_basis_cached(sr, n_fft, n_mels, np.dtype(np.float64).str)
    return int(np.count_nonzero(W.max(axis=1) == 0))


def _audeep_basis(sr, n_fft, n_mels, dtype_str):
    """The cached filterbank; warns when bands hold no FFT bin (they would sit at the floor)."""
    W = _audeep_basis_cached(sr, n_fft, n_mels, dtype_str)
    empty = _audeep_empty_bands(sr, n_fft, n_mels)
    if empty:
        warnings.warn(f"Empty filters detected in mel frequency basis: {empty} of {n_mels} mel "
                      f"bands contain no FFT bin of a {n_fft}-sample window at {sr:g} Hz and "
                      "will always sit at the clipping floor; use fewer mel bands or a wider "
                      "window", UserWarning, stacklevel=4)
    return W


def spectrogram(y, sr: float, window_width: float = 0.08, window_overlap: float = 0.04,
                n_mels: Optional[int] = 128, clip_below: Optional[float] = -60.0,
                clip_above: Optional[float] = None, pre_emphasis: Optional[float] = 0.95,
                mean_norm: bool = True, *, win_length: Optional[int] = None,
                hop_length: Optional[int] = None, dtype=None, out: Optional[np.ndarray] = None,
                n_threads: Optional[int] = None, return_max: bool = False):
    """auDeep-compatible (log-)mel spectrogram, as the auDeep toolkit computes it.

    Steps: pre-emphasis ``y[t] - 0.95 y[t-1]``; frames of ``int(sr * window_width)`` samples
    every ``win_length - int(sr * window_overlap)`` samples, no centring; per-frame mean removal
    (scipy's default detrend); periodic Hann window; FFT of the window length (Bluestein when it
    is not a power of two); power ``|X|^2 / win_length``; HTK-formula triangles on floored FFT-bin
    edges without normalisation (``n_mels=None`` keeps the linear-frequency bins); dB relative
    to the clip's maximum (zeros raised to the smallest positive power first); clipping below /
    above the given dB; then, with ``mean_norm``, mean removal and min-max scaling to [-1, 1].

    Parameters
    ----------
    y : ndarray, float32 or float64, shape ``(n,)`` or ``(n_clips, n)``
    sr : float
        Sampling rate in Hz.
    window_width, window_overlap : float
        Window length and overlap in seconds (auDeep's ``--window-width``/``--window-overlap``).
    n_mels : int or None
        Mel bands (auDeep's ``--mel-spectrum``); None for the power spectrum.
    clip_below, clip_above : float or None
        Clip amplitudes below / above these dB values (relative to the maximum, 0 dB).
    pre_emphasis : float or None
        Pre-emphasis coefficient (None or 0 to disable).
    mean_norm : bool
        Mean normalisation and scaling to [-1, 1] (auDeep's default). False returns the clipped
        dB values (e.g. to split into chunks and normalise each chunk, as auDeep does).
    win_length, hop_length : int, optional
        Window length and hop in samples, overriding the values in seconds.
    dtype, out, n_threads : as for :func:`stft`.
    return_max : bool
        Also return the 0 dB reference of each clip: its largest (mel) power before the dB
        conversion (a float, or ``(n_clips,)`` for a batch), which the dB values are relative
        to; with it, and the dB range of each chunk, the spectrogram can be turned back into
        powers (:mod:`rae_fast.preprocessing.inverse`).

    Returns
    -------
    ndarray, float32 (float64 for float64 input), shape ``(n_mels, n_frames)`` or
    ``(n_clips, n_mels, n_frames)``; ``n_frames = 1 + (n - win_length) // hop_length``.
    With ``return_max``: ``(S, max_power)``.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(5 * 44100).astype(np.float32)
    >>> S = rae_fast.spectrogram(y, sr=44100)
    >>> S.shape, float(S.min()), float(S.max())
    ((128, 124), -1.0, 1.0)
    """
    threads = check_threads(n_threads)
    cb, ca = _check_clipping(clip_below, clip_above)
    if not isinstance(mean_norm, (bool, np.bool_)):
        raise TypeError(f"mean_norm must be True or False, got {mean_norm!r}")
    if not isinstance(return_max, (bool, np.bool_)):
        raise TypeError(f"return_max must be True or False, got {return_max!r}")
    res = _mel_power(y, sr, window_width, window_overlap, n_mels, pre_emphasis, win_length,
                     hop_length, dtype, out, threads)
    peak = _peak(res) if return_max else None
    _core.audeep_post(res if res.ndim == 3 else res[None], cb, ca, True, bool(mean_norm),
                      threads)
    return (res, peak) if return_max else res


def _check_clipping(clip_below, clip_above):
    cb = None if clip_below is None else check_float(clip_below, "clip_below")
    ca = None if clip_above is None else check_float(clip_above, "clip_above")
    if cb is not None and ca is not None and cb > ca:
        raise ValueError(f"clip_below ({cb} dB) must be <= clip_above ({ca} dB)")
    return cb, ca


def _mel_power(y, sr, window_width, window_overlap, n_mels, pre_emphasis, win_length,
               hop_length, dtype, out, threads) -> np.ndarray:
    """The (mel) power spectrum of :func:`spectrogram`, before dB, clipping and normalisation."""
    arr = check_real_array(y, "y", ndim=(1, 2), dtype=check_dtype_arg(dtype))
    win, hop, n_frames = spectrogram_frames(arr.shape[-1], sr, window_width, window_overlap,
                                            win_length, hop_length)
    if n_frames == 0:
        raise ValueError(f"y has {arr.shape[-1]} samples, fewer than one window of {win} samples "
                         f"({win / float(sr):.3f} s)")
    sr = float(sr)
    pre = 0.0 if pre_emphasis is None else check_float(pre_emphasis, "pre_emphasis", -1.0, 1.0)
    window = _core.get_window("hann", win, True).astype(arr.dtype)
    if n_mels is None:
        rows, mode, basis = win // 2 + 1, "magnitude", None
    else:
        n_mels = check_int(n_mels, "n_mels", 1, 1 << 16)
        basis = _audeep_basis(sr, win, n_mels, arr.dtype.str)
        rows, mode = n_mels, "mel"
    return _run_frames(arr, (rows, n_frames), arr.dtype, out,
                       n_fft=win, frame_len=win, hop=hop, pad=0, pad_mode="constant",
                       pre_emphasis=pre, detrend=True, window=window, mode=mode, power=2.0,
                       scale=1.0 / win, basis=basis, max_lag=0, normalize=None,
                       n_threads=threads)


def spectrogram_clippings(y, sr: float, clip_below: Sequence[Optional[float]],
                          window_width: float = 0.08, window_overlap: float = 0.04,
                          n_mels: Optional[int] = 128, clip_above: Optional[float] = None,
                          pre_emphasis: Optional[float] = 0.95, mean_norm: bool = True, *,
                          win_length: Optional[int] = None, hop_length: Optional[int] = None,
                          dtype=None, n_threads: Optional[int] = None,
                          return_max: bool = False):
    """:func:`spectrogram` for several ``clip_below`` values from one power spectrum.

    The frames, FFTs and mel bands are computed once; each clipping then gets its own dB
    conversion, clipping and normalisation. ``result[k]`` is bit-identical to
    ``spectrogram(y, sr, clip_below=clip_below[k], ...)`` (auDeep's recipe trains one
    autoencoder per clipping of the same audio). ``return_max``: also the 0 dB reference of
    :func:`spectrogram` (the same for every clipping): ``(list, max_power)``.

    >>> y = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
    >>> a, b = rae_fast.dsp.spectrogram_clippings(y, 44100, [-30, -60])
    >>> bool((a == rae_fast.spectrogram(y, 44100, clip_below=-30)).all()), a.shape == b.shape
    (True, True)
    """
    threads = check_threads(n_threads)
    if isinstance(clip_below, (str, bytes)) or not hasattr(clip_below, "__iter__"):
        raise TypeError(f"clip_below must be a sequence of dB values (or None), got "
                        f"{clip_below!r}")
    values = [_check_clipping(c, clip_above) for c in clip_below]
    if not values:
        raise ValueError("clip_below is empty")
    if not isinstance(mean_norm, (bool, np.bool_)):
        raise TypeError(f"mean_norm must be True or False, got {mean_norm!r}")
    if not isinstance(return_max, (bool, np.bool_)):
        raise TypeError(f"return_max must be True or False, got {return_max!r}")
    power = _mel_power(y, sr, window_width, window_overlap, n_mels, pre_emphasis, win_length,
                       hop_length, dtype, None, threads)
    peak = _peak(power) if return_max else None
    outs = []
    for cb, ca in values:
        res = power.copy()
        _core.audeep_post(res if res.ndim == 3 else res[None], cb, ca, True, bool(mean_norm),
                          threads)
        outs.append(res)
    return (outs, peak) if return_max else outs


def _peak(res: np.ndarray):
    """The largest (mel) power of each clip: a float, or ``(n_clips,)`` float64 for a batch."""
    res3 = res if res.ndim == 3 else res[None]
    peak = res3.reshape(res3.shape[0], -1).max(axis=1).astype(np.float64)
    return peak if res.ndim == 3 else float(peak[0])


def audeep_normalize(S: np.ndarray, *, n_threads: Optional[int] = None) -> np.ndarray:
    """auDeep's mean normalisation of one spectrogram (or a batch, first axis), in a new array.

    Subtracts the mean, then scales linearly to [-1, 1] when the range exceeds 1e-4 (otherwise
    only subtracts the minimum). Used per chunk after :func:`spectrogram` with
    ``mean_norm=False``.

    >>> S = rae_fast.audeep_normalize(np.array([[0.0, -30.0], [-60.0, -15.0]], dtype=np.float32))
    >>> float(S.min()), float(S.max())
    (-1.0, 1.0)
    """
    threads = check_threads(n_threads)
    arr = check_real_array(S, "S", ndim=(1, 2, 3)).copy()
    if arr.ndim == 1:
        arr3 = arr[None, None]
    elif arr.ndim == 2:
        arr3 = arr[None]
    else:
        arr3 = arr
    _core.audeep_post(arr3, None, None, False, True, threads)
    return arr
