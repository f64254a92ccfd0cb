"""Preprocessing: audio collections -> features (auDeep's ``preprocess``).

After :mod:`rae_fast.audio` has read a clip (channels fused, resampled, cut to a fixed
length), the steps are auDeep's (``audeep/backend/preprocessing.py``), so that features match
auDeep's for the same settings:

5. pre-emphasis, power spectrum, mel filterbank, dB relative to the clip's maximum with
   clipping (:func:`rae_fast.spectrogram`, whole clip), with auDeep's +-1 sample correction
   of the window overlap when ``fixed_length`` is set - or framewise autocorrelograms
   (:func:`rae_fast.autocorrelogram`);
6. split the frames into ``chunk_count`` chunks of ``int(sr * chunk_length) // hop`` frames
   (too few complete chunks is an error);
7. mean-normalise each chunk to [-1, 1] (:func:`rae_fast.audeep_normalize`).

Features are returned time-major, ``(n_chunks, n_frames, n_bands)``, as auDeep stores them.

- :mod:`.settings`: :class:`FeatureSettings`, every option validated, and derived sizes;
- :mod:`.features`: :func:`compute_features` (samples -> features) and
  :func:`extract_features` (file -> features);
- :mod:`.frontend`: :class:`FrontEnd`, what a trained model needs to embed new audio;
- :mod:`.pipeline`: :func:`preprocess`, a whole collection streamed to one netCDF data set
  with worker threads, resumable after an interruption; its header pass settles one rate
  and one shape for the collection (:func:`resolve_settings`: ``sr="auto"``,
  ``fixed_length="auto"``) and raises a :class:`CollectionError` when it cannot.

>>> import numpy as np
>>> from rae_fast.preprocessing import FeatureSettings, compute_features
>>> y = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
>>> compute_features(y, 44100, FeatureSettings(chunk_length=0.5, chunk_count=2)).shape
(2, 12, 128)
"""
from .features import (OFFSET_COLUMNS, chunk_frames, compute_features,
                       compute_features_clippings, extract_features, extract_features_clippings)
from .frontend import FrontEnd
from .pipeline import (CollectionError, DifferentLengthsError, FloorWarning,
                       MixedSampleRatesError, PreprocessResult, UnusableFilesError, clip_name,
                       preprocess, preprocess_clippings, resolve_settings)
from .settings import AUTO, FeatureSettings
from .statistics import STATISTICS, band_statistics

__all__ = ["AUTO", "OFFSET_COLUMNS", "FeatureSettings", "FrontEnd", "chunk_frames",
           "compute_features",
           "extract_features", "PreprocessResult", "preprocess", "resolve_settings",
           "CollectionError", "UnusableFilesError", "MixedSampleRatesError",
           "DifferentLengthsError", "compute_features_clippings", "extract_features_clippings",
           "preprocess_clippings", "clip_name", "FloorWarning", "band_statistics", "STATISTICS"]
