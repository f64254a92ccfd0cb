"""Back from features to sound: the inverse of :func:`~rae_fast.preprocessing.compute_features`,
as far as the features allow.

What ``compute_features`` throws away is put back from the per-instance offsets it can return
(:data:`~rae_fast.preprocessing.OFFSET_COLUMNS`, which ``preprocess`` stores in the data set
and ``rae-fast encode`` in the code file); what it loses for good is approximated:

spectrograms (auDeep's: pre-emphasis, ``|STFT|^2 / win``, auDeep's mel filterbank, dB relative
to the clip's maximum, clipping, mean normalisation to [-1, 1] per chunk)
    1. undo the normalisation: ``dB = min + (x + 1) / 2 * (max - min)`` with the chunk's dB range;
    2. undo the dB reference: ``P_mel = 10 ** ((dB + ref_db) / 10)`` (what was clipped stays at
       the clipping floor);
    3. mel -> linear power by non-negative least squares through the same filterbank
       (:func:`rae_fast.dsp.nnls`; the filterbank has fewer bands than bins, so the fine
       structure inside a band is not recoverable);
    4. magnitude ``sqrt(P * win)``, phase by Griffin-Lim (:func:`rae_fast.griffinlim`) on the
       analysis frames (window, hop); the frames of all chunks of a window are consecutive and
       are inverted together, so chunks join without seams; the first and last half window
       (covered by one frame's tail only) come out silent;
    5. de-emphasis (the inverse filter of the pre-emphasis).

autocorrelograms
    power spectrum of every frame from its (lag-window weighted) autocorrelation
    (:func:`rae_fast.dsp.autocorr_to_power`): only ``max_lag + 1`` lags are kept, so this is a
    smoothed spectrum; a lag-0 normalised autocorrelogram has lost every frame's energy, and
    only the chunk's mean energy (``ref_db``) is put back: the temporal envelope within a chunk
    is flat. Then Griffin-Lim as above.

>>> import numpy as np
>>> from rae_fast.preprocessing import FeatureSettings, compute_features
>>> s = FeatureSettings(window_width=0.032, window_overlap=0.016, mel_bands=40)
>>> y = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
>>> X, offsets = compute_features(y, 16000, s, return_offsets=True)
>>> z = features_to_audio(X, s, 16000, offsets, n_iter=16)
>>> z.shape    # 61 frames of 512 samples every 256
(1, 15872)
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import numpy as np

from .. import _core
from .._validation import check_int, check_real_array
from .. import dsp
from .features import OFFSET_COLUMNS
from .settings import FeatureSettings

__all__ = ["features_to_audio", "denormalize", "check_offsets", "GL_ITERATIONS"]

#: Griffin-Lim iterations used by default when decoding.
GL_ITERATIONS = 32


def check_offsets(offsets, n: int, settings: FeatureSettings, what: str = "offsets"
                  ) -> Dict[str, np.ndarray]:
    """The offsets as ``{name: float64 (n,)}``, validated; ``ValueError`` naming what is
    missing when ``settings`` need them."""
    if offsets is None:
        raise ValueError(f"{what} are missing: decoding needs the per-instance values that the "
                         f"feature computation throws away ({', '.join(OFFSET_COLUMNS)}); "
                         "preprocess stores them (rae_fast 0.2 or later) - preprocess the data "
                         "again")
    if not isinstance(offsets, Mapping):
        raise TypeError(f"{what} must be a mapping of {OFFSET_COLUMNS}, got "
                        f"{type(offsets).__name__}")
    missing = [c for c in OFFSET_COLUMNS if c not in offsets]
    if missing:
        raise ValueError(f"{what} lack {', '.join(missing)}: preprocess the data again with "
                         "rae_fast 0.2 or later, which stores them")
    out = {}
    for c in OFFSET_COLUMNS:
        v = np.asarray(offsets[c], dtype=np.float64).reshape(-1)
        if v.shape != (n,):
            raise ValueError(f"{what}[{c!r}] must have one value per instance ({n}), got "
                             f"{v.shape}")
        out[c] = v
    if not np.isfinite(out["ref_db"]).all():
        raise ValueError(f"{what}['ref_db'] holds non-finite values")
    if settings.features == "spectrogram" and settings.mean_norm:
        if not (np.isfinite(out["norm_db_min"]).all() and np.isfinite(out["norm_db_max"]).all()):
            raise ValueError(f"{what}: norm_db_min / norm_db_max are missing (NaN) for "
                             "mean-normalised spectrograms")
    return out


def denormalize(X: np.ndarray, settings: FeatureSettings, offsets: Mapping) -> np.ndarray:
    """Spectrogram features ``(n, T, F)`` -> dB relative to the clip's maximum (undoes the
    mean normalisation with each instance's dB range; unchanged without ``mean_norm``)."""
    X = np.asarray(X, dtype=np.float64)
    if not settings.mean_norm:
        return X
    lo = np.asarray(offsets["norm_db_min"], np.float64)[:, None, None]
    hi = np.asarray(offsets["norm_db_max"], np.float64)[:, None, None]
    span = hi - lo
    # auDeep scales to [-1, 1] when the range exceeds 1e-4, else only subtracts the minimum
    return np.where(span > 1e-4, lo + (np.clip(X, -1.0, 1.0) + 1.0) * 0.5 * span, lo + X)


def features_to_audio(X, settings: FeatureSettings, sr: int, offsets, *,
                      chunks: Optional[int] = None, n_iter: int = GL_ITERATIONS,
                      momentum: float = 0.99, init="random", random_state=0,
                      n_threads: Optional[int] = None) -> np.ndarray:
    """Audio from features: ``X`` ``(n_windows * chunks, T, F)`` -> float32
    ``(n_windows, samples)``, ``samples = (chunks * T - 1) * hop + win``.

    Parameters
    ----------
    X : ndarray ``(n, T, F)``
        Model inputs or reconstructions (time-major, as :func:`compute_features` returns
        them), the ``chunks`` instances of every window one after the other.
    settings : FeatureSettings
        How the features were computed.
    sr : int
        Their sampling rate.
    offsets : mapping
        ``{name: (n,)}`` for :data:`OFFSET_COLUMNS` (see :func:`compute_features`).
    chunks : int, optional
        Instances per window (default ``settings.chunk_count`` or 1); their frames are
        consecutive and inverted together.
    n_iter, momentum, init, random_state : Griffin-Lim (:func:`rae_fast.griffinlim`); the
        default random initialisation is seeded, so results are reproducible.
    n_threads : int, optional

    Returns
    -------
    ndarray float32 ``(n_windows, samples)`` at ``sr``; sample 0 is the first sample of the
    first frame.
    """
    X = check_real_array(X, "X", ndim=3, dtype=np.float64)
    sr = check_int(sr, "sr", 1)
    chunks = int(settings.chunk_count or 1) if chunks is None else check_int(chunks, "chunks", 1)
    n, T, F = X.shape
    if n % chunks:
        raise ValueError(f"X holds {n} instances, not a multiple of chunks = {chunks}")
    off = check_offsets(offsets, n, settings)
    win, hop = settings.frame_params(sr, None)
    n_win = n // chunks
    if settings.features == "spectrogram":
        power = _spectrogram_power(X, settings, sr, win, off, n_threads)     # (n, bins, T)
    else:
        power = _autocorrelogram_power(X, settings, win, off, n_threads)
    # the frames of a window's chunks are consecutive: (n_win, bins, chunks * T)
    bins = power.shape[1]
    power = power.reshape(n_win, chunks, bins, T).transpose(0, 2, 1, 3).reshape(
        n_win, bins, chunks * T)
    mag = np.sqrt(np.maximum(power, 0.0)).astype(np.float32)
    if settings.features == "spectrogram":
        window = "hann"
    else:
        window = settings.acf_window or "boxcar"
    frames = chunks * T
    # Frame t covers samples [t hop, t hop + win): the frames of a centred STFT of the signal
    # shifted by win // 2. Griffin-Lim runs centred, so that the first and last half windows,
    # which only one frame's tail covers, are not divided by a window sum near zero (which
    # blows up whatever an inconsistent spectrogram puts there); they come out silent.
    half = win // 2
    core = dsp.griffinlim(mag, n_iter=n_iter, hop_length=hop, n_fft=win, window=window,
                          center=True, length=(frames - 1) * hop, momentum=momentum,
                          init=init, random_state=random_state, n_threads=n_threads)
    y = np.zeros((n_win, (frames - 1) * hop + win), dtype=np.float32)
    y[:, half:half + core.shape[1]] = core
    if settings.features == "spectrogram" and settings.pre_emphasis:
        from scipy.signal import lfilter
        y = lfilter([1.0], [1.0, -float(settings.pre_emphasis)], y, axis=-1)
    return np.ascontiguousarray(y, dtype=np.float32)


def _spectrogram_power(X, settings, sr, win, off, n_threads) -> np.ndarray:
    """Linear power ``|STFT|^2`` ``(n, win // 2 + 1, T)`` of spectrogram features."""
    db = denormalize(X, settings, off)                       # (n, T, F), relative to the max
    power = 10.0 ** ((db + off["ref_db"][:, None, None]) / 10.0)
    power = np.ascontiguousarray(np.swapaxes(power, 1, 2))  # (n, F, T)
    if settings.mel_bands is not None:
        basis = _core.audeep_mel_filterbank(float(sr), win, settings.mel_bands)
        power = dsp.nnls(basis, power, dtype=np.float64, n_threads=n_threads)
    return power * win                                       # the spectrogram is |X|^2 / win


def _autocorrelogram_power(X, settings, win, off, n_threads) -> np.ndarray:
    """Power ``(n, win // 2 + 1, T)`` of autocorrelogram features (a smoothed spectrum)."""
    R = np.ascontiguousarray(np.swapaxes(X, 1, 2))          # (n, lags, T)
    P = dsp.autocorr_to_power(R, n_fft=win, normalize=settings.acf_normalize,
                              frame_length=win, lag_window="bartlett", n_threads=n_threads)
    if settings.acf_normalize == "lag0":
        P = P * (10.0 ** (off["ref_db"] / 10.0))[:, None, None]
    return P
