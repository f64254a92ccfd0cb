"""A scikit-learn transformer: ``fit`` trains the autoencoder on audio, ``transform`` embeds.

>>> from sklearn.pipeline import Pipeline
>>> from sklearn.svm import LinearSVC
>>> from sklearn.model_selection import cross_val_score
>>> pipe = Pipeline([("rae", RaeEmbedder(sr=16000, fixed_length=1.0, num_epochs=20)),
...                  ("clf", LinearSVC())])                                  # doctest: +SKIP
>>> cross_val_score(pipe, clips, labels, cv=5).mean()                        # doctest: +SKIP
0.93...

``X`` is a 2-D array of equal-length clips ``(n_clips, n_samples)`` at ``sr`` Hz (given to the
constructor), or a list of audio file paths. ``fit`` is unsupervised (``y`` is ignored): it
computes the features with the preprocessing options, trains the autoencoder with the training
options (both with the names of ``rae-fast preprocess`` / ``rae-fast train`` and of
:class:`~rae_fast.preprocessing.FeatureSettings`, :class:`~rae_fast.model.AutoencoderConfig`,
:class:`~rae_fast.model.TrainingConfig`), exports the encoder with its front end to ONNX and
keeps it in memory; ``transform`` embeds through ONNX Runtime, one row per clip (the mean of its
windows, or mean and standard deviation with ``aggregate="mean+std"``). ``fit`` needs PyTorch;
a fitted transformer pickles (the ONNX model travels as bytes) and embeds without it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..audio import fix_length, load_audio
from ..preprocessing import FeatureSettings, FrontEnd, compute_features

__all__ = ["RaeEmbedder"]

_FEATURE_PARAMS = ("features", "window_width", "window_overlap", "mel_bands", "clip_below",
                   "clip_above", "pre_emphasis", "mean_norm", "channels", "fixed_length",
                   "center_fixed", "chunk_length", "chunk_count", "max_lag", "fmin",
                   "acf_window", "acf_normalize", "acf_detrend")
_MODEL_PARAMS = ("num_layers", "num_units", "cell", "bidirectional_encoder",
                 "bidirectional_decoder", "dropout", "encoder_noise", "feed_previous_prob")
_TRAIN_PARAMS = ("num_epochs", "batch_size", "learning_rate", "clip_value", "seed", "shuffle")


class RaeEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Recurrent-autoencoder representations as a scikit-learn transformer.

    Parameters
    ----------
    sr : int, optional
        Sample rate: of the clips when ``X`` is an array (required then), and the rate files
        are resampled to (default: the files' common rate).
    features ... acf_detrend
        Preprocessing options (:class:`~rae_fast.preprocessing.FeatureSettings`; same
        defaults, except ``fixed_length`` which is needed for files of different lengths).
    num_layers ... feed_previous_prob
        Autoencoder options (:class:`~rae_fast.model.AutoencoderConfig`).
    num_epochs ... shuffle
        Training options (:class:`~rae_fast.model.TrainingConfig`); ``seed`` makes ``fit``
        repeatable.
    aggregate : {"mean", "mean+std"}
        How the windows of a clip make its one row in ``transform``.
    device : {"auto", "cpu", "cuda"}
        Where to train (PyTorch) and embed (ONNX Runtime).
    n_threads : int, optional
        CPU threads for training and embedding (default: all cores).
    progress : bool
        Progress bars while training.

    Attributes
    ----------
    frontend_ : FrontEnd
    embedder_ : rae_fast.embedding.Embedder
    onnx_model_ : bytes
        The exported encoder (with its front end); ``open(p, "wb").write(est.onnx_model_)``
        gives a file that ``rae-fast embed`` and :class:`Embedder` use directly.
    n_features_in_ : int
        Samples per clip (array input only).
    loss_curve_ : list of float
        Training loss per epoch.
    """

    def __init__(self, *, sr: Optional[int] = None, features: str = "spectrogram",
                 window_width: float = 0.08, window_overlap: float = 0.04,
                 mel_bands: Optional[int] = 128, clip_below: Optional[float] = -60.0,
                 clip_above: Optional[float] = None, pre_emphasis: Optional[float] = 0.95,
                 mean_norm: bool = True, channels: str = "mean",
                 fixed_length: Optional[float] = None, center_fixed: bool = False,
                 chunk_length: Optional[float] = None, chunk_count: Optional[int] = None,
                 max_lag: Optional[float] = None, fmin: Optional[float] = None,
                 acf_window: Optional[str] = None, acf_normalize: Optional[str] = "lag0",
                 acf_detrend: bool = False, num_layers: int = 1, num_units: int = 16,
                 cell: str = "gru", bidirectional_encoder: bool = False,
                 bidirectional_decoder: bool = False, dropout: float = 0.2,
                 encoder_noise: float = 0.0, feed_previous_prob: float = 0.0,
                 num_epochs: int = 10, batch_size: int = 64, learning_rate: float = 1e-3,
                 clip_value: float = 2.0, seed: int = 0, shuffle: bool = True,
                 aggregate: str = "mean", device: str = "auto",
                 n_threads: Optional[int] = None, progress: bool = False):
        self.sr = sr
        self.features = features
        self.window_width = window_width
        self.window_overlap = window_overlap
        self.mel_bands = mel_bands
        self.clip_below = clip_below
        self.clip_above = clip_above
        self.pre_emphasis = pre_emphasis
        self.mean_norm = mean_norm
        self.channels = channels
        self.fixed_length = fixed_length
        self.center_fixed = center_fixed
        self.chunk_length = chunk_length
        self.chunk_count = chunk_count
        self.max_lag = max_lag
        self.fmin = fmin
        self.acf_window = acf_window
        self.acf_normalize = acf_normalize
        self.acf_detrend = acf_detrend
        self.num_layers = num_layers
        self.num_units = num_units
        self.cell = cell
        self.bidirectional_encoder = bidirectional_encoder
        self.bidirectional_decoder = bidirectional_decoder
        self.dropout = dropout
        self.encoder_noise = encoder_noise
        self.feed_previous_prob = feed_previous_prob
        self.num_epochs = num_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.clip_value = clip_value
        self.seed = seed
        self.shuffle = shuffle
        self.aggregate = aggregate
        self.device = device
        self.n_threads = n_threads
        self.progress = progress

    # ------------------------------------------------------------------ input
    def _settings(self) -> FeatureSettings:
        kw = {k: getattr(self, k) for k in _FEATURE_PARAMS}
        return FeatureSettings(**kw, sr=None)

    def _clips(self, X, fitting: bool):
        """``(clips at the working rate, rate)`` for an array or a list of paths."""
        if isinstance(X, (str, os.PathLike)):
            raise TypeError("X must be a list of file paths or a 2-D array of clips, got one "
                            "path; wrap it in a list")
        if isinstance(X, (list, tuple)) and X and all(isinstance(x, (str, os.PathLike))
                                                      for x in X):
            target = self.sr if fitting or not hasattr(self, "frontend_") \
                else self.frontend_.sample_rate
            clips, rates = [], set()
            for path in X:
                y, sr = load_audio(path, sr=target, channels=self.channels)
                clips.append(y)
                rates.add(sr)
            if len(rates) > 1:
                raise ValueError(f"the files have different sample rates {sorted(rates)}; set "
                                 "sr to resample them to one")
            return clips, rates.pop()
        if self.sr is None:
            raise ValueError("sr is required when X is an array of clips (the sample rate of "
                             "its rows)")
        from sklearn.utils.validation import check_array
        arr = check_array(X, dtype=(np.float32, np.float64), ensure_min_samples=1,
                          ensure_min_features=1)
        if fitting:
            self.n_features_in_ = arr.shape[1]
        elif hasattr(self, "n_features_in_") and arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but RaeEmbedder is expecting "
                             f"{self.n_features_in_} features as input")
        return [np.ascontiguousarray(r, dtype=np.float32) for r in arr], int(self.sr)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Train the autoencoder on the clips of ``X`` (``y`` is ignored) and keep its
        encoder; returns ``self``."""
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ImportError("RaeEmbedder.fit trains with PyTorch: pip install "
                              "'rae_fast[train]' (transform needs only ONNX Runtime)") from None
        from ..model import AutoencoderConfig, TrainingConfig, export_encoder, train

        if self.aggregate not in ("mean", "mean+std"):
            raise ValueError(f"aggregate must be 'mean' or 'mean+std', got {self.aggregate!r}")
        settings = self._settings()
        clips, sr = self._clips(X, fitting=True)
        if settings.fixed_length is not None:
            n = int(settings.fixed_length * sr)
            clips = [fix_length(c, n, center=settings.center_fixed) for c in clips]
        lengths = {len(c) for c in clips}
        if len(lengths) > 1:
            raise ValueError(f"the clips have different lengths ({min(lengths)} to "
                             f"{max(lengths)} samples); set fixed_length (seconds) so that "
                             "they are cut or padded to one length")
        clip_samples = lengths.pop()
        feats = np.concatenate([compute_features(c, sr, settings, what="clip") for c in clips])
        model_cfg = AutoencoderConfig(num_features=int(feats.shape[2]),
                                      **{k: getattr(self, k) for k in _MODEL_PARAMS})
        train_cfg = TrainingConfig(**{k: getattr(self, k) for k in _TRAIN_PARAMS})
        frontend = FrontEnd(settings, sr, clip_samples, settings.feature_dims,
                            tuple(feats.shape[1:]))
        with tempfile.TemporaryDirectory(prefix="rae_embedder_") as tmp:
            result = train(feats, Path(tmp) / "run", model_cfg, train_cfg, device=self.device,
                           n_threads=self.n_threads, progress=bool(self.progress),
                           tensorboard=False)
            path = export_encoder(result.model.cpu(), Path(tmp) / "encoder.onnx",
                                  frontend=frontend)
            self.onnx_model_ = path.read_bytes()
        self.frontend_ = frontend
        self.loss_curve_ = list(result.losses)
        self._n_features_out = result.model.config.representation_size * (
            2 if self.aggregate == "mean+std" else 1)
        self.__dict__.pop("embedder_", None)
        self.embedder_ = self._embedder()
        return self

    def _embedder(self):
        from .embedder import Embedder
        return Embedder(self.onnx_model_, device=self.device, n_threads=self.n_threads)

    # ------------------------------------------------------------------ transform
    def transform(self, X) -> np.ndarray:
        """Representations, float32 ``(n_clips, D)`` (``2 D`` for ``"mean+std"``)."""
        check_is_fitted(self, "onnx_model_")
        if getattr(self, "embedder_", None) is None:
            self.embedder_ = self._embedder()
        clips, sr = self._clips(X, fitting=False)
        return self.embedder_.embed(clips, sr, aggregate=self.aggregate)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("embedder_", None)        # an ONNX Runtime session; rebuilt from the bytes
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.embedder_ = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        tags.non_deterministic = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]   # representations are float32
        return tags

