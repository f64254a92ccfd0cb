"""rae_fast: fast unsupervised representation learning from audio.

Signal processing on a C++ core (FFT, STFT, mel spectrograms, autocorrelograms), recurrent
sequence-to-sequence autoencoders (the auDeep method) trained with PyTorch and served with ONNX
Runtime, evaluation with cross-validation, and export.

>>> import numpy as np, rae_fast
>>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
>>> rae_fast.melspectrogram(y=y, sr=22050).shape
(128, 44)
"""
__version__ = "0.1.0"

from . import _core  # noqa: F401  (the compiled extension)
from .autocorr import (autocorrelation_method, autocorrelogram, autocorrelogram_axes,
                       fundamental_frequency)
from .dsp import (audeep_normalize, fft, get_window, hz_to_mel, ifft, irfft, mel_filterbank,
                  mel_to_hz, melspectrogram, power_spectrogram, power_to_db, rfft, simd_level,
                  spectrogram, spectrogram_frames, stft)

__all__ = [
    "__version__", "fft", "ifft", "rfft", "irfft", "get_window", "stft", "power_spectrogram",
    "mel_filterbank", "melspectrogram", "power_to_db", "spectrogram", "spectrogram_frames",
    "audeep_normalize", "hz_to_mel", "mel_to_hz", "simd_level", "autocorrelogram",
    "autocorrelogram_axes", "autocorrelation_method", "fundamental_frequency",
]
