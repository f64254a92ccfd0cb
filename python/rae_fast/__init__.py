"""rae_fast: fast unsupervised representation learning from audio.

Signal processing on a C++ core (FFT, STFT, mel spectrograms, autocorrelograms), recurrent
sequence-to-sequence autoencoders (the auDeep method) trained with PyTorch and served with ONNX
Runtime, evaluation with cross-validation, and export.

>>> import numpy as np, rae_fast
>>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
>>> rae_fast.melspectrogram(y=y, sr=22050).shape
(128, 44)

The sub-modules (``rae_fast.obj``, ``rae_fast.audio``, ``rae_fast.dataset``,
``rae_fast.plotting``...) are attributes of the package, imported on first use, so that
``import rae_fast`` stays light:

>>> callable(rae_fast.obj.write_autocorrelogram)
True
"""
from ._version import __version__

from . import _core  # noqa: F401  (the compiled extension)
from .autocorr import (autocorrelation_method, autocorrelogram, autocorrelogram_axes,
                       fundamental_frequency)
from .dsp import (audeep_normalize, fft, get_window, griffinlim, hz_to_mel, ifft, irfft, istft,
                  mel_filterbank, mel_to_hz, melspectrogram, power_spectrogram, power_to_db, rfft,
                  simd_level, spectrogram, spectrogram_frames, stft)

__all__ = [
    "__version__", "fft", "ifft", "rfft", "irfft", "get_window", "stft", "power_spectrogram",
    "mel_filterbank", "melspectrogram", "power_to_db", "spectrogram", "spectrogram_frames",
    "audeep_normalize", "hz_to_mel", "mel_to_hz", "simd_level", "autocorrelogram",
    "autocorrelogram_axes", "autocorrelation_method", "fundamental_frequency", "istft",
    "griffinlim",
]

#: Sub-modules reachable as ``rae_fast.<name>`` without importing them first; they are
#: imported on first access (torch, onnxruntime and matplotlib only load when a module
#: that needs them is used).
_SUBMODULES = frozenset({
    "audio", "autocorr", "autocorr_files", "cli", "codec", "dataset", "dsp", "embedding",
    "evaluation",
    "export", "fusion", "hear", "inference", "layouts", "model", "obj", "plotting",
    "preprocessing", "progress", "synth",
})

#: Classes reachable as ``rae_fast.<name>``, imported on first access.
_LAZY_CLASSES = {"Embedder": "embedding", "RaeEmbedder": "embedding"}


def __getattr__(name: str):
    """Import a sub-module on first access (``rae_fast.obj``, ``rae_fast.plotting``...)."""
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY_CLASSES))
