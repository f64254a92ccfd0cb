"""Signal processing on the C++ core: FFTs, windows, STFT, mel spectrograms, decibels, the
auDeep-compatible spectrogram, and the inverse transforms (istft, Griffin-Lim, mel -> STFT,
autocorrelation -> power spectrum).

Conventions (those of numpy.fft and librosa):

- arrays are float32 by default; float64 input is computed in float64; outputs are C-contiguous;
- spectrogram-like outputs put time on the last axis: ``(n_bins, n_frames)`` for one clip and
  ``(n_clips, n_bins, n_frames)`` for a 2-D batch of equal-length clips, computed in one call;
- every function validates its input first and raises ``TypeError`` / ``ValueError`` naming the
  parameter; ``n_threads=None`` uses all cores and results do not depend on the thread count.
"""
from .. import _core
from .audeep import audeep_normalize, spectrogram, spectrogram_clippings, spectrogram_frames
from .fft import fft, ifft, irfft, rfft
from .inverse import autocorr_to_power, griffinlim, istft, mel_to_audio, mel_to_stft, nnls
from .mel import hz_to_mel, mel_filterbank, mel_to_hz, melspectrogram, power_to_db
from .stft import power_spectrogram, stft
from .windows import get_window

__all__ = [
    "fft", "ifft", "rfft", "irfft", "get_window", "stft", "power_spectrogram", "mel_filterbank",
    "melspectrogram", "power_to_db", "spectrogram", "spectrogram_frames", "hz_to_mel",
    "mel_to_hz", "simd_level", "audeep_normalize", "spectrogram_clippings", "istft",
    "griffinlim", "nnls", "mel_to_stft", "mel_to_audio", "autocorr_to_power",
]


def simd_level() -> str:
    """Name of the SIMD kernels in use: ``"avx512"``, ``"avx2"`` or ``"baseline"``.

    Chosen once at import from what the CPU supports; ``RAE_FAST_SIMD=baseline`` (or ``avx2``)
    in the environment forces a lower level.

    >>> rae_fast.simd_level() in ("avx512", "avx2", "baseline")
    True
    """
    return _core.simd_level()

