"""The HEAR 2021 API (Holistic Evaluation of Audio Representations) for rae_fast models.

A model exported by ``rae-fast export-onnx`` runs in the HEAR benchmark (``hear-eval-kit``) as
the module ``rae_fast.hear`` with the ``.onnx`` file as its weights::

    python3 -m heareval.embeddings.runner rae_fast.hear --model run/encoder.onnx

- :func:`load_model` returns a ``torch.nn.Module`` (as HEAR requires) with ``sample_rate``,
  ``scene_embedding_size`` and ``timestamp_embedding_size``. ``sample_rate`` is one of the
  rates HEAR allows (16, 22.05, 44.1, 48 kHz): the model's own rate when it is one of them,
  else the next higher one (audio is then resampled to the model's rate with soxr).
- :func:`get_scene_embeddings`: ``(n_sounds, n_samples)`` -> ``(n_sounds, D)``, the mean of the
  window representations of each sound (:meth:`rae_fast.embedding.Embedder.embed`).
- :func:`get_timestamp_embeddings`: ``(n_sounds, n_samples)`` -> ``(n_sounds, T, H)`` and
  timestamps ``(n_sounds, T)`` in milliseconds: the top encoder layer's output at every frame,
  on a regular grid of the model's frame hop (:meth:`~rae_fast.embedding.Embedder.embed_frames`).

Audio of any length works (cut into the model's windows); tensors come back on the input's
device as float32. The computation itself runs in ONNX Runtime; PyTorch only carries the
tensors in and out.

>>> from rae_fast import hear
>>> model = hear.load_model("run/encoder.onnx")                             # doctest: +SKIP
>>> hear.get_scene_embeddings(torch.zeros(2, 32000), model).shape           # doctest: +SKIP
torch.Size([2, 1024])
"""
from __future__ import annotations

import functools
from typing import Tuple

import numpy as np

__all__ = ["load_model", "get_scene_embeddings", "get_timestamp_embeddings", "HEAR_SAMPLE_RATES"]

#: Input sample rates the HEAR 2021 rules accept.
HEAR_SAMPLE_RATES = (16000, 22050, 44100, 48000)


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("the HEAR API passes torch tensors: install PyTorch (pip install "
                          "torch) to use rae_fast.hear") from None
    return torch


@functools.lru_cache(maxsize=1)
def _module_class():
    torch = _torch()

    class RaeHearModel(torch.nn.Module):
        """A rae_fast :class:`~rae_fast.embedding.Embedder` in a ``torch.nn.Module`` shell."""

        def __init__(self, embedder, sample_rate: int):
            super().__init__()
            self.embedder = embedder
            self.sample_rate = int(sample_rate)
            self.scene_embedding_size = int(embedder.embedding_size)
            self.timestamp_embedding_size = int(embedder.frame_embedding_size or 0)

        def forward(self, audio):                   # what nn.Module users call
            return get_scene_embeddings(audio, self)

        def extra_repr(self) -> str:
            return (f"{self.embedder!r}, sample_rate={self.sample_rate}, "
                    f"scene_embedding_size={self.scene_embedding_size}, "
                    f"timestamp_embedding_size={self.timestamp_embedding_size}")

    return RaeHearModel


def __getattr__(name: str):
    if name == "RaeHearModel":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_model(model_file_path: str = "", device: str = "cpu"):
    """Load an exported encoder (``.onnx`` with its front end) as a HEAR model.

    ``device``: ``"cpu"`` or ``"cuda"`` (ONNX Runtime's provider; ``"auto"`` picks CUDA when
    it is there).
    """
    from .embedding import Embedder

    if not model_file_path:
        raise ValueError("rae_fast.hear.load_model needs model_file_path: the encoder.onnx "
                         "written by rae-fast export-onnx (rae_fast ships no pretrained model)")
    embedder = Embedder(model_file_path, device=device)
    if embedder.frame_embedding_size is None:
        raise ValueError(f"{model_file_path} has no per-frame output for timestamp embeddings; "
                         "re-export it with rae-fast export-onnx RUN")
    rate = embedder.sample_rate
    if rate not in HEAR_SAMPLE_RATES:
        higher = [r for r in HEAR_SAMPLE_RATES if r >= rate]
        rate = higher[0] if higher else HEAR_SAMPLE_RATES[-1]
    return _module_class()(embedder, rate)


def _audio(audio, model) -> np.ndarray:
    if not hasattr(model, "embedder") or not hasattr(model, "sample_rate"):
        raise TypeError("model must come from rae_fast.hear.load_model")
    if getattr(audio, "ndim", None) != 2:
        raise ValueError(f"audio must be a 2-D tensor (n_sounds, n_samples), got shape "
                         f"{tuple(getattr(audio, 'shape', ()))}")
    arr = audio.detach().cpu().numpy() if hasattr(audio, "detach") else np.asarray(audio)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"audio is empty (shape {arr.shape})")
    return np.ascontiguousarray(arr, dtype=np.float32)


def get_scene_embeddings(audio, model):
    """``(n_sounds, n_samples)`` float tensor at ``model.sample_rate`` -> float32
    ``(n_sounds, scene_embedding_size)``."""
    torch = _torch()
    x = _audio(audio, model)
    out = model.embedder.embed(x, model.sample_rate, aggregate="mean")
    return torch.from_numpy(out).to(audio.device if hasattr(audio, "device") else "cpu")


def get_timestamp_embeddings(audio, model) -> Tuple:
    """``(n_sounds, n_samples)`` -> ``(embeddings (n_sounds, T, timestamp_embedding_size),
    timestamps (n_sounds, T))``: float32, timestamps in milliseconds (frame centres)."""
    torch = _torch()
    x = _audio(audio, model)
    embs, times = model.embedder.embed_frames(x, model.sample_rate)
    T = min(len(t) for t in times)       # equal-length sounds give equal counts
    if any(len(t) != T for t in times):  # pragma: no cover - rows of one tensor are equal
        raise ValueError("the sounds gave different numbers of frames")
    dev = audio.device if hasattr(audio, "device") else "cpu"
    e = torch.from_numpy(np.stack(embs).astype(np.float32)).to(dev)
    t = torch.from_numpy(np.stack(times).astype(np.float32)).to(dev)
    return e, t
