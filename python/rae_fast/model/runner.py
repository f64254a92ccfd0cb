"""A PyTorch autoencoder behind the :class:`rae_fast.inference.ModelRunner` protocol.

:func:`rae_fast.inference.generate` and :func:`~rae_fast.inference.reconstruct` usually run an
ONNX export through ONNX Runtime; :class:`TorchModelRunner` runs the PyTorch model instead,
which is what a free-running reconstruction needs (the ONNX autoencoder is teacher-forced).

>>> from rae_fast.model import TorchModelRunner, load_model
>>> runner = TorchModelRunner(load_model("run"), path="run", free_running=True)  # doctest: +SKIP
>>> recon, rep = runner.reconstruct(x)                                           # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch

from .autoencoder import AutoencoderBase

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["TorchModelRunner"]


class TorchModelRunner:
    """Run an autoencoder (t-rae, f-rae, ft-rae) on numpy batches (a :class:`ModelRunner`).

    Parameters
    ----------
    model : AutoencoderBase
        Put in eval mode; runs on the device its parameters are on.
    path : str or Path, optional
        Where the model came from (run folder or checkpoint), for messages and attributes.
    free_running : bool
        :meth:`reconstruct` feeds the decoder its own previous outputs (needs a
        unidirectional decoder) instead of the expected previous frames.
    sha256 : str, optional
        Fingerprint of the model file, when known; without it ``generate`` never resumes.
    """

    kind = "autoencoder"

    def __init__(self, model: AutoencoderBase, path: Optional[PathLike] = None,
                 free_running: bool = False, sha256: Optional[str] = None):
        if not isinstance(model, AutoencoderBase):
            raise TypeError(f"model must be an autoencoder of rae_fast.model (e.g. a "
                            f"RecurrentAutoencoder), got {type(model).__name__}")
        if free_running and model.config.bidirectional_decoder \
                and model.config.decoder_projection == "single":
            raise ValueError("free_running needs a unidirectional decoder or "
                             "decoder_projection='per-direction': with one output layer over "
                             "both directions, a direction has no output of its own to feed "
                             "back")
        self.model = model.eval()
        self.path = None if path is None else Path(path)
        self.sha256 = sha256
        self.free_running = bool(free_running)
        self.reconstruction_mode = "free_running" if free_running else "teacher_forcing"
        self.num_features = int(model.config.num_features)
        self.representation_size = int(model.config.representation_size)
        self.frame_representation = bool(model.config.frame_representation)

    def _tensor(self, x) -> torch.Tensor:
        device = next(self.model.parameters()).device
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)

    def encode(self, features) -> np.ndarray:
        """Representations, float32 ``(n, representation_size)``."""
        with torch.no_grad():
            return self.model.encode(self._tensor(features)).cpu().numpy()

    def reconstruct(self, features) -> Tuple[np.ndarray, np.ndarray]:
        """``(reconstruction (n, time, F), representation (n, R))`` as float32 arrays."""
        with torch.no_grad():
            recon, rep = self.model.reconstruct(self._tensor(features),
                                                free_running=self.free_running)
        return recon.cpu().numpy(), rep.cpu().numpy()

    def close(self) -> None:
        """Nothing to release (kept for the protocol)."""

    def __repr__(self) -> str:
        return (f"TorchModelRunner({self.path}, mode={self.reconstruction_mode!r}, "
                f"num_features={self.num_features}, "
                f"representation_size={self.representation_size})")
