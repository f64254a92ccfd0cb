"""How close decoded audio is to the original: spectral convergence and log-spectral distance.

Both compare STFT magnitudes (Hann window, ``n_fft`` / ``hop_length``, centred), so they do
not depend on the phase, which a magnitude-only representation cannot keep:

- **spectral convergence** ``SC = || |S| - |S_hat| ||_F / || |S| ||_F`` (0 is perfect; 1 is
  what silence scores);
- **log-spectral distance** (dB): per frame ``sqrt(mean_k (10 log10 P[k] - 10 log10
  P_hat[k])^2)``, averaged over frames, with both powers floored at ``floor_db`` below the
  reference's largest power (default -80 dB), so that near-silent bins do not dominate.

>>> import numpy as np
>>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
>>> spectral_convergence(y, y), log_spectral_distance(y, y)
(0.0, 0.0)
"""
from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int, check_real_array
from .. import dsp

__all__ = ["spectral_convergence", "log_spectral_distance", "align"]


def align(reference, estimate):
    """Both signals as float32 1-D arrays of the shorter one's length."""
    a = check_real_array(reference, "reference", ndim=1, dtype=np.float32)
    b = check_real_array(estimate, "estimate", ndim=1, dtype=np.float32)
    n = min(len(a), len(b))
    return a[:n], b[:n]


def _mags(reference, estimate, n_fft, hop_length):
    n_fft = check_int(n_fft, "n_fft", 2)
    hop_length = check_int(hop_length, "hop_length", 1)
    a, b = align(reference, estimate)
    S = np.abs(dsp.stft(np.stack([a, b]), n_fft=n_fft, hop_length=hop_length)).astype(np.float64)
    return S[0], S[1]


def spectral_convergence(reference, estimate, *, n_fft: int = 2048,
                         hop_length: int = 512) -> float:
    """``|| |STFT(ref)| - |STFT(est)| ||_F / || |STFT(ref)| ||_F`` (0 for a silent
    reference that is matched exactly)."""
    A, B = _mags(reference, estimate, n_fft, hop_length)
    den = float(np.linalg.norm(A))
    num = float(np.linalg.norm(A - B))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den


def log_spectral_distance(reference, estimate, *, n_fft: int = 2048, hop_length: int = 512,
                          floor_db: float = -80.0) -> float:
    """Mean over frames of the RMS difference of the log power spectra, in dB."""
    floor_db = check_float(floor_db, "floor_db", maximum=0.0)
    A, B = _mags(reference, estimate, n_fft, hop_length)
    Pa, Pb = A ** 2, B ** 2
    peak = float(Pa.max())
    if peak == 0.0:
        return 0.0 if float(Pb.max()) == 0.0 else float("inf")
    floor = peak * 10.0 ** (floor_db / 10.0)
    da = 10.0 * np.log10(np.maximum(Pa, floor))
    db = 10.0 * np.log10(np.maximum(Pb, floor))
    return float(np.mean(np.sqrt(np.mean((da - db) ** 2, axis=0))))
