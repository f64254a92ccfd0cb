"""The free-running decoder served by ONNX Runtime: :class:`OnnxDecoder` (no PyTorch).

``rae-fast export-onnx RUN`` writes ``RUN/decoder.onnx`` next to the encoder when the model's
decoder is unidirectional (:mod:`rae_fast.model.decoder_export`): representations in,
spectrogram-like features out, from the representation alone.

>>> dec = OnnxDecoder("run/decoder.onnx")                      # doctest: +SKIP
>>> dec.decode(codes, num_steps=124).shape                      # doctest: +SKIP
(400, 124, 128)
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .._validation import check_int, default_threads
from ..preprocessing import FrontEnd
from .runner import file_sha256
from .session import import_onnxruntime

__all__ = ["OnnxDecoder"]

PathLike = Union[str, "os.PathLike[str]"]


class OnnxDecoder:
    """A decoder exported by ``rae-fast export-onnx`` (``decoder.onnx``).

    Parameters
    ----------
    path : str or Path
    device : {"auto", "cpu", "cuda"}
        As for :class:`rae_fast.inference.OnnxModel`.
    n_threads : int, optional
        CPU threads: a batch is cut into chunks run concurrently, each single-threaded inside
        ONNX Runtime (results do not depend on it).

    Attributes
    ----------
    representation_size, num_features : int
    encoder_sha256 : str
        Content hash of the encoder these weights belong to (``rae_fast.content_sha256`` of
        ``encoder.onnx``); codes record the same hash.
    frontend : FrontEnd or None
        How the model's input was made from audio (None for models trained on data that did
        not come from ``preprocess``).
    sha256 : str
        SHA-256 of the file's bytes.

    Raises
    ------
    ValueError
        The file is an encoder or teacher-forced autoencoder export (no free-running decoder),
        or not a rae_fast decoder at all.
    """

    def __init__(self, path: PathLike, device: str = "auto", n_threads: Optional[int] = None):
        ort = import_onnxruntime()
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"model file {self.path} does not exist")
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path} is a directory, expected decoder.onnx")
        if not isinstance(device, str) or device.lower() not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be one of ('auto', 'cpu', 'cuda'), got {device!r}")
        self.n_threads = default_threads() if n_threads is None else \
            check_int(n_threads, "n_threads", 1)
        self.sha256 = file_sha256(self.path)
        want_cuda = device.lower() in ("auto", "cuda") and \
            "CUDAExecutionProvider" in ort.get_available_providers()
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = self.n_threads if want_cuda else 1
        opts.log_severity_level = 3
        providers = (["CUDAExecutionProvider"] if want_cuda else []) + ["CPUExecutionProvider"]
        try:
            self._session = ort.InferenceSession(str(self.path), opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(f"{self.path} is not a loadable ONNX model ({msg})") from None
        self.device = "cuda" if "CUDAExecutionProvider" in self._session.get_providers() \
            else "cpu"
        meta = dict(self._session.get_modelmeta().custom_metadata_map or {})
        self.metadata = meta
        kind = meta.get("rae_fast.kind")
        if kind == "encoder":
            raise ValueError(f"{self.path} is an encoder-only export: it has no decoder. Decoding "
                             "needs the free-running decoder that rae-fast export-onnx RUN "
                             "writes as RUN/decoder.onnx (models with a unidirectional decoder)")
        if kind == "autoencoder":
            raise ValueError(f"{self.path} is the teacher-forced autoencoder: its decoder needs "
                             "the spectrogram it reconstructs, not only the code. Use the "
                             "free-running RUN/decoder.onnx that rae-fast export-onnx RUN writes "
                             "(models with a unidirectional decoder)")
        if kind != "decoder" or "rae_fast.encoder_sha256" not in meta:
            raise ValueError(f"{self.path} is not a rae_fast decoder (rae_fast.kind = {kind!r}); "
                             "export one with rae-fast export-onnx RUN")
        self.encoder_sha256 = meta["rae_fast.encoder_sha256"]
        self.representation_size = int(meta["rae_fast.representation_size"])
        self.num_features = int(meta["rae_fast.num_features"])
        self.config = json.loads(meta["rae_fast.config"]) if "rae_fast.config" in meta else None
        self.frontend = FrontEnd.from_json(meta["rae_fast.frontend"]) \
            if "rae_fast.frontend" in meta else None
        self._pool: Optional[ThreadPoolExecutor] = None

    def __repr__(self) -> str:
        return (f"OnnxDecoder({str(self.path)!r}, representation_size="
                f"{self.representation_size}, num_features={self.num_features}, "
                f"device={self.device!r})")

    def _run(self, reps: np.ndarray, steps: int) -> np.ndarray:
        return self._session.run(["reconstruction"], {
            "representation": reps, "num_steps": np.array(steps, dtype=np.int64)})[0]

    def decode(self, representations, num_steps: int) -> np.ndarray:
        """Features ``(n, num_steps, F)`` float32 (time-major, in the input's time order) from
        representations ``(n, R)``."""
        reps = np.asarray(representations)
        if reps.dtype.kind != "f":
            raise TypeError(f"representations must be floating-point, got dtype {reps.dtype}")
        if reps.ndim != 2 or reps.shape[1] != self.representation_size or reps.shape[0] == 0:
            raise ValueError(f"representations must have shape (n, {self.representation_size}) "
                             f"with n >= 1, got {reps.shape}")
        reps = np.ascontiguousarray(reps, dtype=np.float32)
        if not np.isfinite(reps).all():
            raise ValueError("representations contain NaN or Inf")
        steps = check_int(num_steps, "num_steps", 1, 1 << 24)
        n = reps.shape[0]
        parts = 1 if self.device == "cuda" else min(self.n_threads, n)
        if parts <= 1:
            return self._run(reps, steps)
        bounds = np.linspace(0, n, parts + 1).round().astype(int)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.n_threads,
                                            thread_name_prefix="rae_fast_dec")
        chunks = [reps[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        return np.concatenate(list(self._pool.map(lambda c: self._run(c, steps), chunks)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "OnnxDecoder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
