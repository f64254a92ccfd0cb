"""Embedding models: one exported file that turns audio into representations.

- :class:`Embedder`: load ``encoder.onnx`` (it carries its front end), then ``embed(y, sr)``,
  ``embed_files(paths)`` / ``embed_folder(root)`` (a ``pandas.DataFrame`` indexed by
  ``(file, start, end)``), ``embed_frames(y, sr)`` (per-frame embeddings with timestamps);
- :func:`embed_to_file`: the ``rae-fast embed`` pipeline (``.csv`` / ``.parquet`` / ``.nc``,
  streamed, resumable, atomic);
- :class:`RaeEmbedder`: a scikit-learn transformer that trains the autoencoder in ``fit`` and
  embeds in ``transform`` (needs PyTorch for ``fit`` only);
- :mod:`rae_fast.hear`: the HEAR 2021 API on top of :class:`Embedder`.

No PyTorch is imported on the way from audio to representations: ``pip install
'rae_fast[cpu]'`` (ONNX Runtime) is enough to embed.

>>> from rae_fast.embedding import Embedder
>>> emb = Embedder("run/encoder.onnx")                                # doctest: +SKIP
>>> emb.embed(y, sr=16000, aggregate="mean").shape                    # doctest: +SKIP
(1, 1024)
"""
from .embedder import AGGREGATES, SEGMENTATIONS, Embedder, WindowIndex
from .files import EmbedResult, collect_inputs, column_names, embed_files, embed_to_file

__all__ = ["Embedder", "WindowIndex", "AGGREGATES", "SEGMENTATIONS", "embed_files",
           "embed_to_file", "EmbedResult", "collect_inputs", "column_names", "RaeEmbedder"]


def __getattr__(name: str):
    if name == "RaeEmbedder":               # scikit-learn is imported only when asked for
        from .sklearn import RaeEmbedder
        return RaeEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
