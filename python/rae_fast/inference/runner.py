"""What a model must offer to be run over a data set: the :class:`ModelRunner` protocol.

:func:`~rae_fast.inference.generate` and :func:`~rae_fast.inference.reconstruct` take any object
that has these members: :class:`~rae_fast.inference.OnnxModel` (ONNX Runtime, no torch) and
:class:`rae_fast.model.TorchModelRunner` (a PyTorch model, e.g. for free-running
reconstructions) both do. It is a :class:`typing.Protocol`: nothing needs to inherit from it,
and ``isinstance(obj, ModelRunner)`` checks that the members are there.

>>> from rae_fast.inference import ModelRunner, OnnxModel
>>> isinstance(OnnxModel("run/encoder.onnx"), ModelRunner)      # doctest: +SKIP
True
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Optional, Protocol, Tuple, Union, runtime_checkable

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["ModelRunner", "file_sha256"]


@runtime_checkable
class ModelRunner(Protocol):
    """A trained model that turns batches of features ``(n, time, F)`` into representations,
    and (autoencoders) into reconstructions.

    Attributes
    ----------
    kind : str
        ``"encoder"`` or ``"autoencoder"`` (only autoencoders reconstruct).
    num_features : int
        ``F``, values per time step that the model expects.
    representation_size : int
        Length of one representation.
    frame_representation : bool, optional
        True when :meth:`encode` gives one representation per frame, ``(n, time, R)``
        (f-rae); absent means False.
    reconstruction_mode : str
        How :meth:`reconstruct` runs the decoder: ``"teacher_forcing"`` (the expected previous
        frame at every step, as in training) or ``"free_running"`` (its own previous output).
    path : Path or None
        The file (or run folder) the model came from, for messages and attributes.
    sha256 : str or None
        SHA-256 of the model file's bytes; ``None`` when there is no file to fingerprint (then
        :func:`~rae_fast.inference.generate` never resumes a partial output with it).
    """

    kind: str
    num_features: int
    representation_size: int
    reconstruction_mode: str
    path: Optional[Path]
    sha256: Optional[str]

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Representations, float32 ``(n, representation_size)``."""

    def reconstruct(self, features: np.ndarray) -> Tuple[Any, np.ndarray]:
        """``(reconstruction (n, time, F), representation (n, representation_size))``."""

    def close(self) -> None:
        """Release threads / sessions (the object may be used again afterwards)."""


def file_sha256(path: PathLike, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 (hex digest) of a file's bytes, read in 1 MiB chunks.

    >>> file_sha256("run/encoder.onnx")          # doctest: +SKIP
    '3f2a...'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()
