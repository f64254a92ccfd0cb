"""Feature settings: how one clip becomes features (auDeep's ``preprocess`` options).

:class:`FeatureSettings` holds every option, validates it, and derives frame, lag and chunk
sizes and the expected shape of an instance.

>>> s = FeatureSettings(fixed_length=5.0, center_fixed=True)
>>> s.frame_params(44100), s.expected_shape(220500, 44100)
((3528, 1764), (124, 128))
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from .._validation import check_float, check_int
from ..audio import CHANNEL_MODES

#: The value of ``sr`` / ``fixed_length`` that asks :func:`preprocess` to choose from the
#: collection (see :class:`FeatureSettings`).
AUTO = "auto"

# ---------------------------------------------------------------------- feature settings

@dataclasses.dataclass(frozen=True)
class FeatureSettings:
    """How features are computed from one clip (auDeep's ``extract_spectrograms`` options).

    Attributes
    ----------
    features : {"spectrogram", "autocorrelogram"}
        Mel/power spectrograms (dims ``("time", "freq")``) or framewise autocorrelograms
        (``("time", "lag")``, :func:`rae_fast.autocorrelogram`).
    window_width, window_overlap : float
        Frame length and overlap in seconds (auDeep's defaults for DCASE/ESC: 0.08 / 0.04).
    mel_bands : int or None
        Mel bands (``--mel-spectrum``); ``None`` keeps the linear power spectrum.
    clip_below, clip_above : float or None
        Clip dB values (0 dB = the clip's maximum) below / above these.
    pre_emphasis : float or None
        Pre-emphasis coefficient (auDeep always uses 0.95); spectrograms only.
    mean_norm : bool
        Normalise each chunk to [-1, 1] (spectrograms only).
    channels : {"mean", "left", "right", "diff"}
    fixed_length : float, "auto" or None
        Cut / pad every clip to this many seconds. ``"auto"``: the median clip length of the
        collection, which :func:`~rae_fast.preprocessing.preprocess` resolves from the file
        headers (and stores as the number it chose).
    center_fixed : bool
        Centre the cut / padding.
    chunk_length : float or None, chunk_count : int or None
        Split into ``chunk_count`` chunks of ``chunk_length`` seconds (both or neither).
    sr : int, "auto" or None
        Resample to this rate (Hz) first; ``None`` keeps each file's rate (a collection with
        several rates is then refused); ``"auto"``: the collection's most common rate,
        resolved like ``fixed_length="auto"``.
    max_lag, fmin : float or None
        Autocorrelograms only: largest lag in seconds, lowest frequency in Hz (not both);
        ``fmin`` must be at most the Nyquist frequency ``sr / 2`` and its period (the
        largest lag) shorter than the window.
    acf_window : str or None
        Autocorrelograms only: window applied to each frame before correlating (a name of
        :func:`rae_fast.get_window`, e.g. ``"hann"``); None (default): rectangular.
    acf_normalize : {"lag0", "unbiased", None}
        Autocorrelograms only (see :func:`rae_fast.autocorrelogram`): ``"lag0"`` (default)
        divides by the zero-lag value, ``"unbiased"`` divides lag l by the overlap
        ``frame - l``, None keeps the raw sums.
    acf_detrend : bool
        Autocorrelograms only: remove each frame's mean first.

    >>> s = FeatureSettings(fixed_length=5.0, center_fixed=True)
    >>> s.frame_params(44100), s.expected_shape(220500, 44100)
    ((3528, 1764), (124, 128))
    """
    features: str = "spectrogram"
    window_width: float = 0.08
    window_overlap: float = 0.04
    mel_bands: Optional[int] = 128
    clip_below: Optional[float] = -60.0
    clip_above: Optional[float] = None
    pre_emphasis: Optional[float] = 0.95
    mean_norm: bool = True
    channels: str = "mean"
    fixed_length: Union[float, str, None] = None
    center_fixed: bool = False
    chunk_length: Optional[float] = None
    chunk_count: Optional[int] = None
    sr: Union[int, str, None] = None
    max_lag: Optional[float] = None
    fmin: Optional[float] = None
    acf_window: Optional[str] = None
    acf_normalize: Optional[str] = "lag0"
    acf_detrend: bool = False

    def __post_init__(self):
        for name in ("sr", "fixed_length"):
            value = getattr(self, name)
            if isinstance(value, str):
                if value.strip().lower() != AUTO:
                    unit = "a rate in Hz" if name == "sr" else "a length in seconds"
                    raise ValueError(f'{name} must be {unit}, "auto" or None, got {value!r}')
                object.__setattr__(self, name, AUTO)
        if self.features not in ("spectrogram", "autocorrelogram"):
            raise ValueError(f"features must be 'spectrogram' or 'autocorrelogram', got "
                             f"{self.features!r}")
        ww = check_float(self.window_width, "window_width", 0.0, strict_min=True)
        wo = check_float(self.window_overlap, "window_overlap", 0.0)
        if wo >= ww:
            raise ValueError(f"window_overlap ({wo} s) must be shorter than window_width "
                             f"({ww} s)")
        check_int(self.mel_bands, "mel_bands", 1, allow_none=True)
        cb = check_float(self.clip_below, "clip_below", allow_none=True)
        ca = check_float(self.clip_above, "clip_above", allow_none=True)
        if cb is not None and ca is not None and cb > ca:
            raise ValueError(f"clip_below ({cb} dB) must be <= clip_above ({ca} dB)")
        pe = check_float(self.pre_emphasis, "pre_emphasis", -1.0, allow_none=True)
        if pe is not None and pe > 1.0:
            raise ValueError(f"pre_emphasis must be in [-1, 1], got {pe}")
        if not isinstance(self.mean_norm, (bool, np.bool_)):
            raise TypeError(f"mean_norm must be True or False, got {self.mean_norm!r}")
        if not isinstance(self.center_fixed, (bool, np.bool_)):
            raise TypeError(f"center_fixed must be True or False, got {self.center_fixed!r}")
        if not isinstance(self.channels, str) or self.channels.lower() not in CHANNEL_MODES:
            raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {self.channels!r}")
        fl = None if self.fixed_length == AUTO else check_float(
            self.fixed_length, "fixed_length", 0.0, strict_min=True, allow_none=True)
        if fl is not None and fl < ww:
            raise ValueError(f"fixed_length ({fl} s) must be at least one window "
                             f"(window_width = {ww} s)")
        cl = check_float(self.chunk_length, "chunk_length", 0.0, strict_min=True, allow_none=True)
        cc = check_int(self.chunk_count, "chunk_count", 1, allow_none=True)
        if (cl is None) != (cc is None):
            raise ValueError("chunk_length and chunk_count must be given together (or neither)")
        if cl is not None and fl is not None and cl * cc > fl + 1e-9:
            raise ValueError(f"chunk_count x chunk_length ({cc} x {cl} s) exceeds fixed_length "
                             f"({fl} s): too few chunks")
        if self.sr != AUTO:
            check_int(self.sr, "sr", 1, allow_none=True)
        check_float(self.max_lag, "max_lag", 0.0, strict_min=True, allow_none=True)
        check_float(self.fmin, "fmin", 0.0, strict_min=True, allow_none=True)
        if self.max_lag is not None and self.fmin is not None:
            raise ValueError("give max_lag or fmin, not both (fmin sets max_lag to its period)")
        self._check_acf_options()
        if self.sr is not None and self.sr != AUTO:
            self.check_rate(self.sr)

    @property
    def is_resolved(self) -> bool:
        """False while ``sr`` or ``fixed_length`` is still ``"auto"``."""
        return self.sr != AUTO and self.fixed_length != AUTO

    def check_resolved(self) -> None:
        """Raise ``ValueError`` while ``sr`` or ``fixed_length`` is ``"auto"`` (per-clip
        work needs numbers: :func:`~rae_fast.preprocessing.resolve_settings`)."""
        if not self.is_resolved:
            auto = [k for k in ("sr", "fixed_length") if getattr(self, k) == AUTO]
            raise ValueError(f"{' and '.join(auto)}='auto' must first be resolved from the "
                             "collection (preprocess does it from the file headers; or give "
                             "numbers)")

    def check_rate(self, sr: int) -> None:
        """Raise ``ValueError`` (naming the parameter) when these settings cannot work at the
        sampling rate ``sr`` whatever the audio: a window shorter than two samples or without
        a hop, ``fmin`` above the Nyquist frequency ``sr / 2``, a largest lag (``max_lag`` or
        the period of ``fmin``) not shorter than the window, a chunk shorter than one hop.

        >>> FeatureSettings(features="autocorrelogram", fmin=30000.0).check_rate(44100)
        Traceback (most recent call last):
        ...
        ValueError: fmin (30000.0 Hz) must be at most the Nyquist frequency, sr / 2 = 22050.0 Hz
        """
        fixed = None if self.fixed_length == AUTO else self.fixed_length
        win, hop = self._frame_params(sr, None, fixed)
        if self.features == "autocorrelogram":
            if win < 2:
                raise ValueError(f"window_width = {self.window_width} s gives a frame of {win} "
                                 f"sample at {sr} Hz; autocorrelograms need at least 2")
            if self.fmin is not None and self.fmin > sr / 2:
                raise ValueError(f"fmin ({self.fmin} Hz) must be at most the Nyquist frequency, "
                                 f"sr / 2 = {sr / 2} Hz")
            self.max_lag_samples(sr, win)
        self.chunk_windows(sr, hop)

    def _check_acf_options(self) -> None:
        if self.acf_window is not None:
            if not isinstance(self.acf_window, str):
                raise TypeError(f"acf_window must be a window name (str) or None, got "
                                f"{self.acf_window!r}")
            from ..dsp import get_window
            try:
                get_window(self.acf_window, 16)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"acf_window: {exc}") from None
        if self.acf_normalize not in ("lag0", "unbiased", None):
            raise ValueError(f'acf_normalize must be "lag0", "unbiased" or None, got '
                             f'{self.acf_normalize!r}')
        if not isinstance(self.acf_detrend, (bool, np.bool_)):
            raise TypeError(f"acf_detrend must be True or False, got {self.acf_detrend!r}")
        if self.features != "autocorrelogram":
            given = [name for name, value, default in (
                ("max_lag", self.max_lag, None), ("fmin", self.fmin, None),
                ("acf_window", self.acf_window, None),
                ("acf_normalize", self.acf_normalize, "lag0"),
                ("acf_detrend", bool(self.acf_detrend), False)) if value != default]
            if given:
                verb = "apply" if len(given) > 1 else "applies"
                raise ValueError(f"{', '.join(given)} only {verb} to features='autocorrelogram', "
                                 f"not to {self.features!r}")

    # derived quantities ------------------------------------------------------------------
    @property
    def feature_dims(self) -> Tuple[str, str]:
        """``("time", "freq")`` for spectrograms, ``("time", "lag")`` for autocorrelograms."""
        return ("time", "freq") if self.features == "spectrogram" else ("time", "lag")

    def frame_params(self, sr: int, n_samples: Optional[int] = None) -> Tuple[int, int]:
        """``(win_length, hop_length)`` in samples at rate ``sr``.

        ``int(sr * window_width)`` and ``win - int(sr * window_overlap)``; with
        ``fixed_length`` set, the overlap is moved by one sample when rounding would give
        more or fewer frames than ``int((fixed_length - overlap) / step)`` (auDeep's rule).
        """
        if self.fixed_length == AUTO:
            self.check_resolved()
        return self._frame_params(sr, n_samples, self.fixed_length)

    def _frame_params(self, sr: int, n_samples: Optional[int],
                      fixed_length: Optional[float]) -> Tuple[int, int]:
        win = int(sr * self.window_width)
        overlap = int(sr * self.window_overlap)
        if win < 1:
            raise ValueError(f"window_width = {self.window_width} s is shorter than one sample "
                             f"at {sr} Hz")
        if fixed_length is not None:
            n = int(fixed_length * sr) if n_samples is None else n_samples
            step_s = self.window_width - self.window_overlap
            expected = int((fixed_length - self.window_overlap) / step_s)
            actual = (n - overlap) // (win - overlap)
            if actual > expected:
                overlap -= 1
            elif actual < expected:
                overlap += 1
        hop = win - overlap
        if hop < 1 or overlap < 0:
            raise ValueError(f"window_overlap leaves no hop at {sr} Hz "
                             f"(window {win}, overlap {overlap} samples)")
        return win, hop

    def max_lag_samples(self, sr: int, win: int) -> int:
        """Autocorrelograms: the largest lag in samples (``int(sr * max_lag)``, the period of
        ``fmin``, or ``win // 2``); it must be shorter than the window."""
        if self.max_lag is not None:
            lag = max(1, int(sr * self.max_lag))
        elif self.fmin is not None:
            lag = int(math.ceil(sr / self.fmin))
        else:
            lag = win // 2
        if lag >= win:
            what = (f"max_lag = {self.max_lag} s" if self.max_lag is not None else
                    f"the period of fmin = {self.fmin} Hz" if self.fmin is not None else
                    "half the window")
            raise ValueError(f"the largest lag ({what}: {lag} samples at {sr} Hz) must be shorter "
                             f"than the window (window_width = {self.window_width} s: {win} "
                             "samples): lower max_lag / raise fmin or widen window_width")
        return lag

    def chunk_windows(self, sr: int, hop: int) -> Optional[int]:
        """Frames per chunk: ``int(sr * chunk_length) // hop`` (auDeep), or None."""
        if self.chunk_length is None:
            return None
        cw = int(sr * self.chunk_length) // hop
        if cw < 1:
            raise ValueError(f"chunk_length = {self.chunk_length} s is shorter than one hop "
                             f"({hop} samples at {sr} Hz)")
        return cw

    def expected_shape(self, n_samples: int, sr: int) -> Tuple[int, ...]:
        """Shape of one instance for a clip of ``n_samples`` at ``sr`` (after resampling),
        ``(n_frames, n_bands)`` (mel bands, FFT bins, or ``max_lag + 1`` lags for
        autocorrelograms); raises ``ValueError`` for clips too short for one window or for
        ``chunk_count`` chunks."""
        self.check_resolved()
        n = int(self.fixed_length * sr) if self.fixed_length is not None else int(n_samples)
        win, hop = self.frame_params(sr, n)
        if n < win:
            raise ValueError(f"the clip has {n} samples, fewer than one window of {win} "
                             f"({self.window_width} s)")
        n_frames = 1 + (n - win) // hop
        if self.features == "spectrogram":
            bands = self.mel_bands if self.mel_bands is not None else win // 2 + 1
        else:
            bands = self.max_lag_samples(sr, win) + 1
        cw = self.chunk_windows(sr, hop)
        if cw is not None:
            if n_frames // cw < self.chunk_count:
                raise ValueError(f"too few chunks: {n_frames} frames give {n_frames // cw} "
                                 f"complete chunks of {self.chunk_length} s, chunk_count is "
                                 f"{self.chunk_count}")
            n_frames = cw
        return (n_frames, bands)

    def to_attrs(self) -> Dict[str, Any]:
        """The settings as a dict for a data set's ``attrs`` (None values included)."""
        return {f"preprocess.{k}": v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_attrs(cls, attrs: Dict[str, Any]) -> "FeatureSettings":
        """Inverse of :meth:`to_attrs` (ignores other keys)."""
        kw = {k[len("preprocess."):]: v for k, v in attrs.items() if k.startswith("preprocess.")}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kw.items() if k in names})


