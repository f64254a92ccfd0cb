"""One call from audio to representations: :class:`Embedder`, an exported model with its front end.

``rae-fast export-onnx`` stores the front end of a model (:class:`rae_fast.preprocessing.FrontEnd`:
sample rate, channel mode, clip length and centring, feature settings, chunks, normalisation) in
the ONNX file, so that the file alone turns any audio into representations. The path from audio
to numbers is the one ``preprocess`` + ``generate`` take, without files in between and without
PyTorch (ONNX Runtime and the C++ core only):

1. every clip is fused to one channel (the model's channel mode) and resampled to the model's
   rate with soxr (high quality), exactly as ``preprocess --sr`` does;
2. it is cut into *windows* of the model's clip length ``L`` (``fixed_length``, or the length of
   the training clips) with a hop (default ``L``: no overlap); a clip shorter than ``L``, and the
   last window, are zero-padded as ``preprocess`` pads (at the end, or centred with
   ``center_fixed``); ``segmentation="preprocess"`` instead takes the single cut ``preprocess``
   takes (the centred or first ``L`` samples);
3. each window gives the model's instances (one, or ``chunk_count`` chunks), computed exactly as
   ``preprocess`` computes a clip, and the encoder turns them into representations.

Every row of the result belongs to one window (chunk) and has its start and end time in the
clip: ``start`` may be negative and ``end`` beyond the clip where a window reaches into the
padding. ``aggregate="mean"`` (or ``"mean+std"``) gives one row per clip instead.

>>> emb = Embedder("run/encoder.onnx")                       # doctest: +SKIP
>>> emb.embed(y, sr=22050).shape                             # doctest: +SKIP
(3, 1024)
>>> emb.embed(y, sr=22050, aggregate="mean").shape           # doctest: +SKIP
(1, 1024)
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple, Union

import numpy as np

from .._validation import check_float, check_int, check_real_array
from ..audio import fix_length, fuse_channels, resample
from ..inference import OnnxModel
from ..preprocessing import FrontEnd, compute_features

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["Embedder", "WindowIndex", "AGGREGATES", "SEGMENTATIONS", "window_spans"]

#: Per-clip aggregates of :meth:`Embedder.embed`.
AGGREGATES = (None, "mean", "mean+std")
#: How a clip is cut into the model's clip length.
SEGMENTATIONS = ("windows", "preprocess")


def window_spans(frontend: FrontEnd, n: int, hop_samples: int, segmentation: str = "windows",
                 center_last: bool = True) -> List[Tuple[int, int, int]]:
    """``[(first, stop, offset)]``: how a clip of ``n`` samples at the model's rate is cut
    into the model's clip length ``L`` (see :meth:`Embedder.windows`); window ``i`` holds
    samples ``first:stop`` of the clip, placed at ``offset`` in the ``L``-sample window."""
    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
    L = frontend.clip_samples
    center = bool(frontend.settings.center_fixed)
    if segmentation == "preprocess" or n <= L:
        if n >= L:                     # the cut preprocess takes
            first = (n - L) // 2 if center else 0
            return [(first, first + L, 0)]
        return [(0, n, (L - n) // 2 if center else 0)]
    out = []
    # A tail shorter than one feature frame's hop would make a window of padding alone (e.g.
    # ESC-10's clips of 5.001 s in a 5 s model): it is not given a window of its own.
    _, frame_hop = frontend.settings.frame_params(frontend.sample_rate, L)
    count = max(1, math.ceil((n - L - min(frame_hop, hop_samples) + 1) / hop_samples) + 1)
    for i in range(count):
        first = i * hop_samples
        stop = min(n, first + L)
        width = stop - first
        out.append((first, stop, (L - width) // 2 if center and center_last and width < L
                    else 0))
    return out


class WindowIndex(NamedTuple):
    """Where each row of :meth:`Embedder.embed` comes from: ``clip`` (index of the input clip),
    ``start`` / ``end`` (seconds in that clip, float64)."""
    clip: np.ndarray
    start: np.ndarray
    end: np.ndarray


class Embedder:
    """An exported rae_fast encoder that embeds audio by itself.

    Parameters
    ----------
    model : str, Path or OnnxModel
        ``encoder.onnx`` written by ``rae-fast export-onnx`` (rae_fast 0.2 or later: the file
        carries the front end). An autoencoder export works too.
    device : {"auto", "cpu", "cuda"}
        ONNX Runtime execution provider (see :class:`rae_fast.inference.OnnxModel`).
    n_threads : int, optional
        ONNX Runtime worker threads (default: all cores).
    batch_size : int
        Instances per ONNX Runtime call (bounds memory).

    Attributes
    ----------
    frontend : FrontEnd
    sample_rate : int
        The rate the model works at (other audio is resampled to it).
    embedding_size : int
        Length of one representation.
    frame_embedding_size : int or None
        Length of one per-frame embedding (:meth:`embed_frames`), None when the file has no
        ``frame_features`` output.
    window_seconds : float
        The model's clip length ``L``.
    sha256 : str
        SHA-256 of the model file.

    Raises
    ------
    ValueError
        A model file without a front end (exported by rae_fast 0.1, or trained on a data set
        that did not come from ``preprocess``): re-export it, or use ``preprocess`` +
        ``generate``.
    """

    def __init__(self, model: Union[PathLike, OnnxModel], device: str = "auto",
                 n_threads: Optional[int] = None, batch_size: int = 64):
        self.model = model if isinstance(model, OnnxModel) else \
            OnnxModel(model, device=device, n_threads=n_threads)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        meta = self.model.metadata
        if "rae_fast.frontend" not in meta:
            raise ValueError(
                f"{self.model.path} does not carry its front end (exported by rae_fast 0.1, or "
                "from a run whose input did not come from preprocess), so it cannot embed audio "
                "by itself; re-export it with rae-fast export-onnx RUN, or compute features "
                "with rae-fast preprocess and use rae-fast generate")
        if self.model.frame_representation:
            raise ValueError(
                f"{self.model.path} is an f-rae encoder: it gives one representation per frame, "
                "not one per clip or window, so it cannot embed audio; compute features with "
                "rae-fast preprocess and use rae-fast generate (it stores them per frame), or "
                "embed with a t-rae or ft-rae model")
        self.frontend = FrontEnd.from_json(meta["rae_fast.frontend"])
        if self.frontend.feature_shape[1] != self.model.num_features:
            raise ValueError(f"{self.model.path}: its front end gives "
                             f"{self.frontend.feature_shape[1]} values per frame but the model "
                             f"expects {self.model.num_features}")

    # ------------------------------------------------------------------ description
    @property
    def path(self) -> Path:
        return self.model.path

    @property
    def sha256(self) -> str:
        return self.model.sha256

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def embedding_size(self) -> int:
        return int(self.model.representation_size)

    @property
    def frame_embedding_size(self) -> Optional[int]:
        if not self.model.has_frame_features:
            return None
        for out in self.model._session.get_outputs():
            if out.name == "frame_features":
                return int(out.shape[2])
        return None  # pragma: no cover

    @property
    def window_seconds(self) -> float:
        return self.frontend.clip_seconds

    @property
    def frame_hop_seconds(self) -> float:
        """Time between two frames (and two per-frame embeddings)."""
        return self.frontend.frame_params()[1] / self.sample_rate

    def __repr__(self) -> str:
        s = self.frontend.settings
        return (f"Embedder({str(self.path)!r}, {s.features} {self.frontend.feature_shape}, "
                f"{self.sample_rate} Hz, window {self.window_seconds:g} s, embedding size "
                f"{self.embedding_size})")

    def close(self) -> None:
        self.model.close()

    def __enter__(self) -> "Embedder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ audio -> clips
    def prepare(self, y, sr) -> List[np.ndarray]:
        """Clips as the model sees them: mono float32 at :attr:`sample_rate`.

        ``y``: a 1-D array (one clip), a 2-D array ``(n_clips, n_samples)`` (a batch of mono
        clips, the HEAR convention) or a sequence of clips of any lengths, each 1-D or 2-D
        ``(n_channels, n_samples)`` (fused with the model's channel mode). ``sr``: their rate
        in Hz (one number for all).
        """
        sr = check_float(sr, "sr", 0.0, strict_min=True)
        if isinstance(y, (list, tuple)):
            if len(y) == 0:
                raise ValueError("y holds no clips")
            clips = []
            for i, c in enumerate(y):
                a = check_real_array(np.asarray(c), f"y[{i}]", ndim=(1, 2))
                clips.append(fuse_channels(a, self.frontend.settings.channels) if a.ndim == 2
                             else a)
        else:
            try:
                arr = np.asarray(y)
            except Exception as exc:  # noqa: BLE001 - exotic objects
                raise TypeError(f"y must be an array of samples or a list of clips, got "
                                f"{type(y).__name__}") from exc
            arr = check_real_array(arr, "y", ndim=(1, 2))
            clips = [arr] if arr.ndim == 1 else list(arr)
        out = []
        for c in clips:
            c = np.ascontiguousarray(c, dtype=np.float32)
            if sr != self.sample_rate:
                c = resample(c, sr, self.sample_rate)
            out.append(c)
        return out

    # ------------------------------------------------------------------ clips -> windows
    def _hop_samples(self, hop: Optional[float]) -> int:
        if hop is None:
            return self.frontend.clip_samples
        hop = check_float(hop, "hop", 0.0, strict_min=True)
        return max(1, int(round(hop * self.sample_rate)))

    def windows(self, n: int, hop: Optional[float] = None, segmentation: str = "windows",
                center_last: bool = True) -> List[Tuple[int, int, int]]:
        """``[(first, stop, offset)]``: window ``i`` holds samples ``first:stop`` of an
        ``n``-sample clip, placed at ``offset`` in the ``L``-sample window (padding around).

        ``center_last=False`` pads a clip's last (short) window at its end even for a model
        trained with centred padding (keeps a regular frame grid)."""
        if segmentation not in SEGMENTATIONS:
            raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
        hop_n = self._hop_samples(hop)                     # validated even when unused
        return window_spans(self.frontend, n, hop_n, segmentation, center_last)

    def _window_features(self, clip: np.ndarray, hop, segmentation, center_last: bool = True,
                         offsets: Optional[list] = None):
        """Features and spans of a clip's windows; with a list as ``offsets``, each window's
        offsets (:func:`rae_fast.preprocessing.compute_features`) are appended to it."""
        L = self.frontend.clip_samples
        feats, spans = [], []
        for first, stop, offset in self.windows(len(clip), hop, segmentation, center_last):
            piece = clip[first:stop]
            w = piece if len(piece) == L else fix_length(piece, L, center=offset > 0)
            X = compute_features(w, self.sample_rate, self.frontend.settings, what="window",
                                 return_offsets=offsets is not None)
            if offsets is not None:
                X, off = X
                offsets.append(off)
            if X.shape[1:] != self.frontend.feature_shape:
                raise ValueError(f"a window gives features of shape {X.shape[1:]}, the model "
                                 f"expects {self.frontend.feature_shape}")  # pragma: no cover
            origin = first - offset        # sample of the clip at the window's sample 0
            for k in range(X.shape[0]):
                a, b = self.frontend.instance_span(k)
                spans.append((origin + a, origin + b))
            feats.append(X)
        return feats, spans

    def features(self, y, sr, *, hop: Optional[float] = None, segmentation: str = "windows"
                 ) -> Tuple[np.ndarray, WindowIndex]:
        """The model's input for ``y``: float32 ``(n_instances, frames, bands)`` and where
        each instance comes from (see the module docstring)."""
        clips = self.prepare(y, sr)
        feats, clip_idx, starts, ends = [], [], [], []
        for i, clip in enumerate(clips):
            f, spans = self._window_features(clip, hop, segmentation)
            feats.extend(f)
            clip_idx.extend([i] * len(spans))
            starts.extend(s for s, _ in spans)
            ends.extend(e for _, e in spans)
        X = np.concatenate(feats) if len(feats) > 1 else feats[0]
        sr_ = float(self.sample_rate)
        return X, WindowIndex(np.asarray(clip_idx, np.int64), np.asarray(starts) / sr_,
                              np.asarray(ends) / sr_)

    # ------------------------------------------------------------------ embeddings
    def encode(self, features: np.ndarray) -> np.ndarray:
        """Representations of model inputs ``(n, frames, bands)`` -> ``(n, embedding_size)``."""
        return self.model.encode(features, batch_size=self.batch_size)

    def embed(self, y, sr, *, hop: Optional[float] = None, aggregate: Optional[str] = None,
              segmentation: str = "windows", return_index: bool = False):
        """Representations of one clip or a batch.

        Parameters
        ----------
        y : 1-D array, 2-D array ``(n_clips, n_samples)`` or a list of clips
            See :meth:`prepare`.
        sr : float
            Sample rate of ``y`` in Hz (resampled to :attr:`sample_rate` when it differs).
        hop : float, optional
            Seconds between windows (default: the window length, no overlap).
        aggregate : None, "mean" or "mean+std"
            None: one row per window (and chunk); otherwise one row per clip, the mean (and
            standard deviation, concatenated) of its windows.
        segmentation : {"windows", "preprocess"}
            See the module docstring.
        return_index : bool
            Also return a :class:`WindowIndex` (``clip``, ``start``, ``end`` per row; with
            ``aggregate`` the clips' whole spans).

        Returns
        -------
        ndarray float32 ``(n_rows, D)`` (``2 D`` for ``"mean+std"``), and the index.
        """
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        X, index = self.features(y, sr, hop=hop, segmentation=segmentation)
        reps = self.encode(X)
        if aggregate is None:
            return (reps, index) if return_index else reps
        n_clips = int(index.clip.max()) + 1
        rows, starts, ends = [], [], []
        for c in range(n_clips):
            sel = index.clip == c
            part = reps[sel].astype(np.float64)
            row = part.mean(axis=0)
            if aggregate == "mean+std":
                row = np.concatenate([row, part.std(axis=0)])
            rows.append(row)
            starts.append(index.start[sel].min())
            ends.append(index.end[sel].max())
        out = np.asarray(rows, dtype=np.float32)
        if return_index:
            return out, WindowIndex(np.arange(n_clips), np.asarray(starts), np.asarray(ends))
        return out

    def embed_files(self, paths, *, hop: Optional[float] = None, aggregate: Optional[str] = None,
                    segmentation: str = "windows", workers: Optional[int] = None,
                    progress: Optional[bool] = None, skip_bad: bool = False):
        """Embed audio files into a ``pandas.DataFrame`` indexed by ``(file, start, end)``
        (:func:`rae_fast.embedding.embed_files`); ``workers`` threads decode and compute
        features while ONNX Runtime encodes.

        >>> df = Embedder("encoder.onnx").embed_files(["a.wav", "b.flac"])   # doctest: +SKIP
        >>> df.index.names                                                   # doctest: +SKIP
        FrozenList(['file', 'start', 'end'])
        """
        from .files import embed_files
        return embed_files(self, paths, hop=hop, aggregate=aggregate, segmentation=segmentation,
                           workers=workers, progress=progress, skip_bad=skip_bad)

    def embed_folder(self, root, **kwargs):
        """:meth:`embed_files` on every audio file under ``root`` (sorted, hidden ones
        skipped)."""
        root = Path(root)
        if not root.is_dir():
            raise NotADirectoryError(f"root {root} is not a folder")
        from ..layouts import is_audio_file
        files = sorted(f for f in root.rglob("*") if is_audio_file(f) and not any(
            part.startswith(".") for part in f.relative_to(root).parts))
        if not files:
            raise ValueError(f"no audio files found in {root}")
        return self.embed_files(files, **kwargs)

    def embed_frames(self, y, sr) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Per-frame embeddings (the top encoder layer's output at every frame) and their
        times, for each clip: ``([(T_i, frame_embedding_size) float32], [(T_i,) ms])``.

        Windows are laid so that the frames of consecutive windows continue the same regular
        grid (a hop of whole frames), and only frames whose centre lies inside the clip are
        kept, so timestamps are evenly spaced by :attr:`frame_hop_seconds`.
        """
        if self.frame_embedding_size is None:
            raise ValueError(f"{self.path} has no per-frame output (frame_features); "
                             "re-export the encoder with rae-fast export-onnx RUN")
        win, hop_len = self.frontend.frame_params()
        frames_per_window = self.frontend.feature_shape[0] * self.frontend.instances_per_clip
        tile = frames_per_window * hop_len
        clips = self.prepare(y, sr)
        embs, times = [], []
        for clip in clips:
            feats, spans = self._window_features(clip, tile / self.sample_rate, "windows",
                                                 center_last=False)
            X = np.concatenate(feats) if len(feats) > 1 else feats[0]
            _, frames = self.model.encode_frames(X, batch_size=self.batch_size)
            frames = np.asarray(frames, dtype=np.float32)
            t = np.concatenate([s + np.arange(frames.shape[1]) * hop_len + win / 2
                                for s, _ in spans])
            flat = frames.reshape(-1, frames.shape[2])
            keep = (t >= 0) & (t < len(clip))
            # windows overlap when the tile is shorter than the clip length: keep each time once
            t_kept, idx = np.unique(t[keep], return_index=True)
            embs.append(np.ascontiguousarray(flat[keep][idx]))
            times.append(t_kept * (1000.0 / self.sample_rate))
        return embs, times
