"""Features of one clip: spectrograms or autocorrelograms, chunked and normalised.

The steps after reading are auDeep's (see :mod:`rae_fast.preprocessing`).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .._validation import check_int
from .. import autocorr, dsp
from ..audio import AudioError, PathLike, load_audio
from .settings import FeatureSettings


def chunk_frames(S: np.ndarray, chunk_frames: int, chunk_count: Optional[int] = None,
                 what: str = "signal") -> np.ndarray:
    """Split the last (time) axis into complete chunks: ``(n_chunks, ..., chunk_frames)``.

    Keeps the first ``chunk_count`` complete chunks (all complete chunks when ``None``);
    fewer complete chunks than ``chunk_count`` raise ``ValueError`` ("too few chunks").

    >>> chunk_frames(np.arange(10.0)[None], 3, 2).tolist()
    [[[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]]]
    """
    chunk_frames = check_int(chunk_frames, "chunk_frames", 1)
    S = np.asarray(S)
    n_complete = S.shape[-1] // chunk_frames
    if chunk_count is not None:
        if chunk_count < 1:
            raise ValueError(f"chunk_count must be >= 1, got {chunk_count}")
        if n_complete < chunk_count:
            raise ValueError(f"too few chunks: the {what} has {S.shape[-1]} frames, i.e. "
                             f"{n_complete} complete chunks of {chunk_frames} frames, but "
                             f"chunk_count is {chunk_count}")
        n_complete = chunk_count
    if n_complete == 0:
        raise ValueError(f"too few chunks: the {what} has {S.shape[-1]} frames, fewer than one "
                         f"chunk of {chunk_frames}")
    used = S[..., :n_complete * chunk_frames]
    parts = used.reshape(S.shape[:-1] + (n_complete, chunk_frames))
    return np.ascontiguousarray(np.moveaxis(parts, -2, 0))


# ---------------------------------------------------------------------- feature extraction

#: Per-instance values that the feature computation throws away and that are needed to turn
#: features back into sound (:mod:`rae_fast.preprocessing.inverse`): ``ref_db``, the 0 dB
#: reference in dB (10 log10 of the clip's largest mel power; for autocorrelograms of the
#: chunk's mean lag-0 energy), and ``norm_db_min`` / ``norm_db_max``, the dB range of the
#: chunk that mean normalisation maps to [-1, 1] (NaN for autocorrelograms). ``preprocess``
#: stores them as per-instance variables of the data set.
OFFSET_COLUMNS = ("ref_db", "norm_db_min", "norm_db_max")


def _db(power) -> np.ndarray:
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(p > 0, 10.0 * np.log10(np.where(p > 0, p, 1.0)), -300.0)


def compute_features(y: np.ndarray, sr: int, settings: FeatureSettings = FeatureSettings(),
                     *, mean_norm: Optional[bool] = None, n_threads: int = 1,
                     what: str = "signal", return_offsets: bool = False):
    """Features of one clip that already went through channels / resampling / fixed length.

    Parameters
    ----------
    y : ndarray ``(n_samples,)`` float
    sr : int
        Sampling rate in Hz.
    settings : FeatureSettings
    mean_norm : bool, optional
        Override ``settings.mean_norm`` (e.g. ``False`` to look at dB values).
    n_threads : int
        Threads of the C++ core for this clip (1 when clips run in parallel).

    return_offsets : bool
        Also return the per-instance offsets (:data:`OFFSET_COLUMNS`: ``{name: (n_chunks,)
        float64}``) that undo the dB reference and the mean normalisation.

    Returns
    -------
    ndarray float32 ``(n_chunks, n_frames, n_bands)`` - time-major, ``n_chunks`` is 1 without
    chunking; with ``return_offsets``, ``(features, offsets)``.

    >>> y = np.random.default_rng(1).standard_normal(22050).astype(np.float32)
    >>> compute_features(y, 22050, FeatureSettings(mel_bands=40)).shape
    (1, 24, 40)
    """
    norm = settings.mean_norm if mean_norm is None else bool(mean_norm)
    win, hop, cw = _frames(y, sr, settings, what)
    if settings.features == "spectrogram":
        S = dsp.spectrogram(y, sr, n_mels=settings.mel_bands,
                            clip_below=settings.clip_below, clip_above=settings.clip_above,
                            pre_emphasis=settings.pre_emphasis,
                            mean_norm=bool(norm and cw is None and not return_offsets),
                            win_length=win, hop_length=hop, n_threads=n_threads,
                            return_max=bool(return_offsets))
        S, peak = S if return_offsets else (S, None)
        return _finish_spectrogram(S, peak, settings, cw, norm, what, n_threads,
                                   bool(return_offsets))
    kw = dict(sr=sr, frame_length=win, hop_length=hop, center=False, n_threads=n_threads,
              max_lag=settings.max_lag_samples(sr, win), window=settings.acf_window,
              normalize=settings.acf_normalize, detrend=bool(settings.acf_detrend))
    S = np.asarray(autocorr.autocorrelogram(y, **kw), dtype=np.float32)
    S = chunk_frames(S, cw, settings.chunk_count, what) if cw is not None else S[None]
    X = np.ascontiguousarray(np.swapaxes(S, -1, -2), dtype=np.float32)
    if not return_offsets:
        return X
    kw.update(max_lag=0, normalize=None)
    e = np.asarray(autocorr.autocorrelogram(y, **kw), dtype=np.float64)
    e = chunk_frames(e, cw, settings.chunk_count, what) if cw is not None else e[None]
    k = S.shape[0]
    return X, {"ref_db": _db(e.reshape(k, -1).mean(axis=1)),
               "norm_db_min": np.full(k, np.nan), "norm_db_max": np.full(k, np.nan)}


def _frames(y: np.ndarray, sr: int, settings: FeatureSettings, what: str):
    n = y.shape[-1]
    win, hop = settings.frame_params(sr, n)
    if n < win:
        raise ValueError(f"the {what} has {n} samples, fewer than one window of {win} "
                         f"({settings.window_width} s at {sr} Hz)")
    return win, hop, settings.chunk_windows(sr, hop)


def _finish_spectrogram(S: np.ndarray, peak, settings: FeatureSettings, cw: Optional[int],
                        norm: bool, what: str, n_threads: int, return_offsets: bool):
    """``(bands, frames)`` clipped dB -> ``(n_chunks, frames, bands)``, each chunk normalised
    (unless ``S`` already is); with ``return_offsets`` also the offsets (``peak``: the 0 dB
    power), read before the normalisation."""
    S = chunk_frames(S, cw, settings.chunk_count, what) if cw is not None else S[None]
    offsets = None
    if return_offsets:
        k = S.shape[0]
        offsets = {"ref_db": np.full(k, float(_db(peak))),
                   "norm_db_min": S.reshape(k, -1).min(axis=1).astype(np.float64),
                   "norm_db_max": S.reshape(k, -1).max(axis=1).astype(np.float64)}
    if norm and (cw is not None or return_offsets):
        # the same C++ pass as spectrogram(mean_norm=True), after the dB range was read
        S = dsp.audeep_normalize(S, n_threads=n_threads)
    X = np.ascontiguousarray(np.swapaxes(S, -1, -2), dtype=np.float32)
    return (X, offsets) if return_offsets else X


def compute_features_clippings(y: np.ndarray, sr: int, settings: FeatureSettings,
                               clip_below: Sequence[Optional[float]], *, n_threads: int = 1,
                               what: str = "signal", return_offsets: bool = False) -> List:
    """:func:`compute_features` of one clip for several ``clip_below`` values (spectrograms):
    the frames, FFTs and mel bands are computed once; ``result[k]`` equals
    ``compute_features(y, sr, dataclasses.replace(settings, clip_below=clip_below[k]),
    return_offsets=return_offsets)`` exactly.

    >>> y = np.random.default_rng(1).standard_normal(22050).astype(np.float32)
    >>> [a.shape for a in compute_features_clippings(y, 22050, FeatureSettings(mel_bands=40),
    ...                                               [-30, -60])]
    [(1, 24, 40), (1, 24, 40)]
    """
    if settings.features != "spectrogram":
        raise ValueError("clip_below values apply to spectrograms (features='spectrogram')")
    win, hop, cw = _frames(y, sr, settings, what)
    norm = settings.mean_norm
    outs = dsp.spectrogram_clippings(y, sr, list(clip_below), n_mels=settings.mel_bands,
                                     clip_above=settings.clip_above,
                                     pre_emphasis=settings.pre_emphasis,
                                     mean_norm=bool(norm and cw is None and not return_offsets),
                                     win_length=win, hop_length=hop, n_threads=n_threads,
                                     return_max=bool(return_offsets))
    outs, peak = outs if return_offsets else (outs, None)
    return [_finish_spectrogram(S, peak, settings, cw, norm, what, n_threads,
                                bool(return_offsets)) for S in outs]


def extract_features(path: PathLike, settings: FeatureSettings = FeatureSettings(), *,
                     mean_norm: Optional[bool] = None, n_threads: int = 1,
                     return_offsets: bool = False):
    """Load one audio file and compute its features: float32 ``(n_chunks, n_frames, n_bands)``
    (and, with ``return_offsets``, the offsets of :func:`compute_features`).

    Errors about the file (unreadable, empty, truncated, too short, too few chunks) are
    :class:`AudioError` naming it.

    >>> X = extract_features("1-100032-A.ogg", FeatureSettings(fixed_length=5.0))  # doctest: +SKIP
    >>> X.shape                                                                    # doctest: +SKIP
    (1, 124, 128)
    """
    settings.check_resolved()
    y, sr = load_audio(path, sr=settings.sr, channels=settings.channels,
                       fixed_length=settings.fixed_length, center_fixed=settings.center_fixed)
    try:
        return compute_features(y, sr, settings, mean_norm=mean_norm, n_threads=n_threads,
                                what="clip", return_offsets=return_offsets)
    except ValueError as exc:
        raise AudioError(path, str(exc)) from None


def extract_features_clippings(path: PathLike, settings: FeatureSettings,
                               clip_below: Sequence[Optional[float]], *,
                               n_threads: int = 1, return_offsets: bool = False) -> List:
    """Load one audio file once and compute its spectrograms for several ``clip_below``
    values (:func:`compute_features_clippings`); errors as :func:`extract_features`."""
    settings.check_resolved()
    y, sr = load_audio(path, sr=settings.sr, channels=settings.channels,
                       fixed_length=settings.fixed_length, center_fixed=settings.center_fixed)
    try:
        return compute_features_clippings(y, sr, settings, clip_below, n_threads=n_threads,
                                          what="clip", return_offsets=return_offsets)
    except ValueError as exc:
        raise AudioError(path, str(exc)) from None
