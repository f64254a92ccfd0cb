"""The front end of a trained model: everything needed to turn a waveform into its input.

A model is trained on features that ``preprocess`` computed with some :class:`FeatureSettings`
from clips at some sample rate. To embed new audio with that model, the same steps must run
again: resample to the same rate, fuse the channels the same way, cut or pad to the same clip
length, compute the same features, chunk and normalise them the same way. :class:`FrontEnd`
holds those facts; ``rae-fast train`` stores it in the run's ``config.json`` and
``rae-fast export-onnx`` in the ONNX file's metadata (``rae_fast.frontend``), so that an
exported model is one self-contained file (see :class:`rae_fast.embedding.Embedder`).

>>> s = FeatureSettings(fixed_length=5.0, center_fixed=True)
>>> fe = FrontEnd(s, sample_rate=44100, clip_samples=220500, feature_dims=("time", "freq"),
...               feature_shape=(124, 128))
>>> fe.clip_seconds, fe.instances_per_clip, fe.frame_params()
(5.0, 1, (3528, 1764))
>>> FrontEnd.from_json(fe.to_json()) == fe
True
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Mapping, Optional, Tuple

from .._validation import check_int
from .settings import FeatureSettings

__all__ = ["FrontEnd", "FRONTEND_FORMAT"]

#: Version of the stored front-end description.
FRONTEND_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """How audio becomes the input of one model.

    Attributes
    ----------
    settings : FeatureSettings
        The preprocessing settings (feature type, windows, mel bands, clipping, pre-emphasis,
        normalisation, channel mode, fixed length and centring, chunks).
    sample_rate : int
        Rate (Hz) the features were computed at; other audio is resampled to it (soxr).
    clip_samples : int
        Samples of one clip at ``sample_rate``: ``fixed_length * sample_rate`` when a fixed
        length was set, else the common length of the training clips.
    feature_dims : (str, str)
        ``("time", "freq")`` or ``("time", "lag")``.
    feature_shape : (int, int)
        ``(frames, bands)`` of one instance (one chunk when chunked).
    """
    settings: FeatureSettings
    sample_rate: int
    clip_samples: int
    feature_dims: Tuple[str, str]
    feature_shape: Tuple[int, int]

    def __post_init__(self):
        if not isinstance(self.settings, FeatureSettings):
            raise TypeError(f"settings must be a FeatureSettings, got "
                            f"{type(self.settings).__name__}")
        check_int(self.sample_rate, "sample_rate", 1)
        check_int(self.clip_samples, "clip_samples", 1)
        object.__setattr__(self, "feature_dims", tuple(self.feature_dims))
        object.__setattr__(self, "feature_shape", tuple(int(v) for v in self.feature_shape))
        if len(self.feature_dims) != 2 or len(self.feature_shape) != 2:
            raise ValueError(f"feature_dims and feature_shape must have 2 entries, got "
                             f"{self.feature_dims} and {self.feature_shape}")
        expected = self.settings.expected_shape(self.clip_samples, self.sample_rate)
        if tuple(expected) != self.feature_shape:
            raise ValueError(f"the settings give instances of shape {tuple(expected)} for clips "
                             f"of {self.clip_samples} samples at {self.sample_rate} Hz, not "
                             f"{self.feature_shape}")

    # derived quantities ----------------------------------------------------------------
    @property
    def clip_seconds(self) -> float:
        """Length of one clip in seconds."""
        return self.clip_samples / self.sample_rate

    @property
    def instances_per_clip(self) -> int:
        """Instances (model inputs) one clip gives: ``chunk_count``, or 1."""
        return int(self.settings.chunk_count or 1)

    def frame_params(self) -> Tuple[int, int]:
        """``(win_length, hop_length)`` in samples at :attr:`sample_rate`."""
        return self.settings.frame_params(self.sample_rate, self.clip_samples)

    def instance_span(self, k: int) -> Tuple[int, int]:
        """``(first, end)`` sample of the part of a clip that instance ``k`` covers.

        Frame ``i`` of instance ``k`` starts at sample ``first + i * hop``; ``end`` is the last
        frame's end (chunks use consecutive frames of the clip's feature sequence).
        """
        win, hop = self.frame_params()
        frames = self.feature_shape[0]
        first = k * frames * hop
        return first, first + (frames - 1) * hop + win

    # storage ---------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return {"format": FRONTEND_FORMAT, "settings": dataclasses.asdict(self.settings),
                "sample_rate": self.sample_rate, "clip_samples": self.clip_samples,
                "feature_dims": list(self.feature_dims),
                "feature_shape": list(self.feature_shape)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FrontEnd":
        if not isinstance(data, Mapping) or data.get("format") != FRONTEND_FORMAT:
            raise ValueError(f"not a rae_fast front end of format {FRONTEND_FORMAT}: {data!r}")
        return cls(FeatureSettings(**data["settings"]), int(data["sample_rate"]),
                   int(data["clip_samples"]), tuple(data["feature_dims"]),
                   tuple(data["feature_shape"]))

    @classmethod
    def from_json(cls, text: str) -> "FrontEnd":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the front end is not valid JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dataset(cls, attrs: Mapping[str, Any], feature_dims, feature_shape
                     ) -> Optional["FrontEnd"]:
        """The front end of a data set written by ``preprocess`` (from its ``attrs``), or
        None when the attributes do not describe one (a set from auDeep, an older rae_fast,
        or one whose clips had different rates or lengths)."""
        sr, clip = attrs.get("source.sample_rate"), attrs.get("source.clip_samples")
        if sr is None or clip is None or not any(k.startswith("preprocess.") for k in attrs):
            return None
        try:
            return cls(FeatureSettings.from_attrs(dict(attrs)), int(sr), int(clip),
                       tuple(feature_dims), tuple(feature_shape))
        except (TypeError, ValueError):
            return None
