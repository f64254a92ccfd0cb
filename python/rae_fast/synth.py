"""Synthetic labelled sounds for the demo and for tests: classes that differ in pitch and in
time structure, written as a cross-validated dataset folder (``fold_K/<class>/*.wav``).

Every clip draws its own parameters (pitch, rate, timing, level, background noise at a random
SNR), so that the classes overlap in loudness and spectrum and telling them apart needs the
structure the autoencoder has to learn.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import numpy as np

from ._validation import check_float, check_int

__all__ = ["DEMO_CLASSES", "synth_clip", "make_demo_dataset"]

#: Class names of the demo dataset, each with a one-line description.
DEMO_CLASSES: Dict[str, str] = {
    "low_tone": "harmonic tone, f0 110-180 Hz, slow vibrato",
    "high_tone": "harmonic tone, f0 500-800 Hz, slow vibrato",
    "chirp": "sine sweeps up or down between 200 Hz and 3 kHz",
    "noise_bursts": "3-6 bursts of white noise of 50-150 ms",
    "click_train": "periodic clicks at 8-20 Hz",
    "am_noise": "low-passed noise, amplitude-modulated at 2-6 Hz",
}


def _envelope(n: int, sr: float, rng: np.random.Generator) -> np.ndarray:
    """Random onset/offset ramps of 10-200 ms."""
    env = np.ones(n)
    a = int(sr * rng.uniform(0.01, 0.2))
    r = int(sr * rng.uniform(0.01, 0.2))
    env[:a] = np.linspace(0, 1, a, endpoint=False)
    if r:
        env[-r:] = np.linspace(1, 0, r)
    return env


def _harmonic(t: np.ndarray, f0: float, sr: float, rng: np.random.Generator) -> np.ndarray:
    vib = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f0 * vib) / sr
    y = np.zeros_like(t)
    for k in range(1, 8):
        if k * f0 < sr / 2 * 0.9:
            y += rng.uniform(0.4, 1.0) * 0.7 ** k * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return y


def synth_clip(kind: str, sr: float = 16000, seconds: float = 2.0,
               rng: Optional[Union[int, np.random.Generator]] = None) -> np.ndarray:
    """One synthetic clip of class ``kind`` (a key of :data:`DEMO_CLASSES`).

    Parameters
    ----------
    kind : str
    sr : float
        Sampling rate in Hz (>= 4000).
    seconds : float
        Duration (> 0).
    rng : int or numpy Generator, optional
        Seed or generator for the clip's random parameters.

    Returns
    -------
    ndarray, float32, shape ``(round(sr * seconds),)``, peak amplitude below 1.

    Examples
    --------
    >>> y = rae_fast.synth.synth_clip("chirp", sr=16000, seconds=1.0, rng=0)
    >>> y.shape, y.dtype, bool(np.abs(y).max() < 1)
    ((16000,), dtype('float32'), True)
    """
    if kind not in DEMO_CLASSES:
        raise ValueError(f"kind must be one of {', '.join(DEMO_CLASSES)}, got {kind!r}")
    sr = check_float(sr, "sr", minimum=4000.0)
    seconds = check_float(seconds, "seconds", minimum=0.0, strict_min=True)
    rng = np.random.default_rng(rng)
    n = int(round(sr * seconds))
    if n < 16:
        raise ValueError(f"seconds = {seconds} is too short for a clip at sr = {sr} Hz")
    t = np.arange(n) / sr
    if kind == "low_tone":
        y = _harmonic(t, rng.uniform(110, 180), sr, rng) * _envelope(n, sr, rng)
    elif kind == "high_tone":
        y = _harmonic(t, rng.uniform(500, 800), sr, rng) * _envelope(n, sr, rng)
    elif kind == "chirp":
        lo, hi = rng.uniform(200, 500), rng.uniform(1500, min(3000, 0.45 * sr))
        f = np.geomspace(lo, hi, n) if rng.random() < 0.5 else np.geomspace(hi, lo, n)
        reps = rng.integers(1, 4)  # 1-3 sweeps
        f = np.tile(f[:: reps], reps)[:n] if reps > 1 else f
        f = np.pad(f, (0, n - f.size), mode="edge")
        y = np.sin(2 * np.pi * np.cumsum(f) / sr) * _envelope(n, sr, rng)
    elif kind == "noise_bursts":
        y = np.zeros(n)
        for _ in range(rng.integers(3, 7)):
            length = int(sr * rng.uniform(0.05, 0.15))
            start = rng.integers(0, max(1, n - length))
            burst = rng.standard_normal(length) * np.hanning(length)
            y[start:start + length] += burst
    elif kind == "click_train":
        y = np.zeros(n)
        period = sr / rng.uniform(8, 20)
        pos = np.arange(rng.uniform(0, period), n, period).astype(int)
        click = np.exp(-np.arange(int(0.004 * sr)) / (0.0008 * sr)) * np.sin(
            2 * np.pi * rng.uniform(1500, 3000) * np.arange(int(0.004 * sr)) / sr)
        for p in pos:
            m = min(click.size, n - p)
            y[p:p + m] += click[:m]
    else:  # am_noise
        noise = rng.standard_normal(n)
        k = max(1, int(sr / rng.uniform(800, 2500)))
        noise = np.convolve(noise, np.ones(k) / np.sqrt(k), mode="same")  # low-pass
        y = noise * (0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(2, 6) * t + rng.uniform(0, 6.3)))
    y = y / max(np.abs(y).max(), 1e-9)
    snr_db = rng.uniform(10, 30)
    y = y + rng.standard_normal(n) * 10 ** (-snr_db / 20) * np.sqrt(np.mean(y ** 2))
    y *= rng.uniform(0.2, 0.9) / max(np.abs(y).max(), 1e-9)
    return y.astype(np.float32)


def make_demo_dataset(folder: Union[str, Path], n_per_class: int = 20, n_folds: int = 4,
                      sr: int = 16000, seconds: float = 2.0, seed: int = 0,
                      classes: Optional[Sequence[str]] = None) -> Path:
    """Write a labelled, cross-validated dataset of synthetic WAV files.

    Layout ``folder/fold_K/<class>/<class>_NNN.wav`` (K = 1..n_folds), classes spread evenly
    over the folds — the ``cross_validated`` layout that ``rae-fast preprocess`` detects. Files
    are written under temporary names and renamed, and existing files are kept, so an
    interrupted run can simply be repeated.

    Parameters
    ----------
    folder : path
    n_per_class : int
        Clips per class (>= n_folds).
    n_folds : int
        Cross-validation folds (>= 2).
    sr : int
        Sampling rate in Hz.
    seconds : float
        Clip duration.
    seed : int
        Seed; the same seed gives the same files.
    classes : sequence of str, optional
        Subset of :data:`DEMO_CLASSES` (default: all six).

    Returns
    -------
    Path of the folder.

    Examples
    --------
    >>> root = rae_fast.synth.make_demo_dataset(tmp_path / "demo", n_per_class=4, n_folds=2)  # doctest: +SKIP
    """
    import soundfile as sf

    from ._io import atomic_path, write_error

    n_per_class = check_int(n_per_class, "n_per_class", 1)
    n_folds = check_int(n_folds, "n_folds", 2)
    if n_per_class < n_folds:
        raise ValueError(f"n_per_class ({n_per_class}) must be >= n_folds ({n_folds}) so that every "
                         f"fold holds every class")
    sr = check_int(sr, "sr", 4000)
    classes = list(DEMO_CLASSES) if classes is None else list(classes)
    for c in classes:
        if c not in DEMO_CLASSES:
            raise ValueError(f"unknown class {c!r}; choose from {', '.join(DEMO_CLASSES)}")
    root = Path(folder)
    master = np.random.default_rng(seed)
    for ci, name in enumerate(classes):
        seeds = master.integers(0, 2 ** 63, size=n_per_class)
        for i in range(n_per_class):
            fold = i % n_folds + 1
            path = root / f"fold_{fold}" / name / f"{name}_{i:03d}.wav"
            if path.exists():
                continue
            y = synth_clip(name, sr, seconds, np.random.default_rng(int(seeds[i])))
            try:
                with atomic_path(path, fsync=False) as tmp:      # many small clips
                    sf.write(str(tmp), y, sr, subtype="PCM_16", format="WAV")
            except RuntimeError as exc:     # libsndfile reports a full disk without an errno
                raise write_error(exc, path, y.size * 2) from exc
    return root
