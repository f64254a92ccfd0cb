"""ONNX Runtime sessions of exported encoders and autoencoders: :class:`OnnxModel`."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import check_int, default_threads
from .runner import file_sha256

log = logging.getLogger(__name__)
PathLike = Union[str, "os.PathLike[str]"]

ORT_MISSING_MESSAGE = (
    "ONNX Runtime is not installed. Install exactly one of: pip install 'rae_fast[cpu]' "
    "(onnxruntime, CPU) or pip install 'rae_fast[gpu]' (onnxruntime-gpu, CUDA); they cannot be "
    "installed together")
#: Instances per ONNX Runtime call on CPU (measured best for 2 x 256 GRUs; see docs/model.md).
DEFAULT_CHUNK_SIZE = 16
_DEVICES = ("auto", "cpu", "cuda")



def import_onnxruntime():
    """Import ``onnxruntime`` or raise ``ImportError`` explaining which extra to install.

    >>> ort = import_onnxruntime()          # doctest: +SKIP
    """
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(ORT_MISSING_MESSAGE) from exc
    return onnxruntime


def _as_batch(x, num_features: int, name: str) -> np.ndarray:
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array (float32), got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"{name} must be 3-D (instances, time, features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.shape[2] != num_features:
        raise ValueError(f"{name} has {arr.shape[2]} features per time step but the model expects "
                         f"{num_features} (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise ValueError(f"{name} contains NaN or Inf (instance {bad})")
    return arr


class OnnxModel:
    """An exported rae_fast encoder or autoencoder served by ONNX Runtime.

    Parameters
    ----------
    path : str, Path or bytes
        ``.onnx`` file from ``rae-fast export-onnx`` (or its bytes) (any model with one float input
        ``(batch, time, F)`` works; rae_fast's metadata are used when present).
    device : {"auto", "cpu", "cuda"}
        Execution provider choice (see the module docstring).
    n_threads : int, optional
        CPU worker threads (default: the usable cores, or ``RAE_FAST_NUM_THREADS``).
    chunk_size : int, optional
        Instances per ONNX Runtime call on CPU (default :data:`DEFAULT_CHUNK_SIZE`); on CUDA
        the whole batch is one call.
    device_id : int
        CUDA device.

    Attributes
    ----------
    kind : str
        ``"encoder"`` or ``"autoencoder"``.
    num_features : int
        ``F`` expected by the model.
    representation_size : int
    device : str
        ``"cuda"`` when the CUDA provider is active, else ``"cpu"``.
    providers : list of str
        Active providers of the session.
    sha256 : str
        SHA-256 (hex) of the ``.onnx`` file's bytes, read when the model was loaded;
        :func:`generate` stores it so that a resumed run never mixes two models.
    reconstruction_mode : str
        ``"teacher_forcing"``: the exported autoencoder's decoder gets the expected previous
        frame at every step (as in training); see :meth:`reconstruct`.

    Example
    -------
    >>> enc = OnnxModel("encoder.onnx", device="cpu", n_threads=2)      # doctest: +SKIP
    >>> reps = enc.encode(np.zeros((10, 125, 128), np.float32))         # doctest: +SKIP
    >>> reps.shape                                                      # doctest: +SKIP
    (10, 1024)
    """

    #: How :meth:`reconstruct` runs the decoder (the ONNX autoencoder is teacher-forced).
    reconstruction_mode = "teacher_forcing"

    def __init__(self, path: Union[PathLike, bytes], device: str = "auto",
                 n_threads: Optional[int] = None, chunk_size: Optional[int] = None,
                 device_id: int = 0):
        ort = import_onnxruntime()
        if isinstance(path, (bytes, bytearray, memoryview)):
            # a model held in memory (e.g. by a fitted scikit-learn transformer)
            source: Any = bytes(path)
            self.path = Path("<in-memory model>")
            self.sha256 = hashlib.sha256(source).hexdigest()
        else:
            self.path = Path(path)
            if not self.path.exists():
                raise FileNotFoundError(f"model file {self.path} does not exist")
            if self.path.is_dir():
                raise IsADirectoryError(f"{self.path} is a directory, expected an .onnx file")
            source = str(self.path)
            self.sha256 = file_sha256(self.path)
        if not isinstance(device, str) or device.lower() not in _DEVICES:
            raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
        device = device.lower()
        self.n_threads = default_threads() if n_threads is None else \
            check_int(n_threads, "n_threads", 1)
        self.chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else \
            check_int(chunk_size, "chunk_size", 1)
        self.device_id = check_int(device_id + 1, "device_id + 1", 1) - 1
        available = ort.get_available_providers()
        has_cuda = "CUDAExecutionProvider" in available
        if device == "cuda" and not has_cuda:
            warnings.warn("device='cuda' was requested but ONNX Runtime has no CUDA execution "
                          "provider (install onnxruntime-gpu instead of onnxruntime: pip install "
                          "'rae_fast[gpu]'); running on the CPU", RuntimeWarning, stacklevel=2)
        want_cuda = has_cuda and device in ("auto", "cuda")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        # CPU: parallel over chunks of the batch, each chunk single-threaded (see above)
        opts.intra_op_num_threads = 1 if not want_cuda else self.n_threads
        opts.log_severity_level = 3
        providers: List[Any] = ["CPUExecutionProvider"]
        if want_cuda:
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": self.device_id}))
        try:
            self._session = ort.InferenceSession(source, opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(f"{self.path} is not a loadable ONNX model ({msg})") from None
        self.providers = list(self._session.get_providers())
        self.device = "cuda" if "CUDAExecutionProvider" in self.providers else "cpu"
        if device == "cuda" and has_cuda and self.device != "cuda":
            warnings.warn("device='cuda' was requested but the CUDA execution provider could not "
                          "be activated (no GPU visible, or a CUDA/cuDNN library is missing); "
                          "running on the CPU", RuntimeWarning, stacklevel=2)
        self._inspect()
        # CPU with several threads: a second session whose operators use all the threads, for
        # batches too small to split into one chunk per thread (batch 1: one chunk).
        self._session_mt = None
        if self.device == "cpu" and self.n_threads > 1:
            opts_mt = ort.SessionOptions()
            opts_mt.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts_mt.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts_mt.inter_op_num_threads = 1
            opts_mt.intra_op_num_threads = self.n_threads
            opts_mt.log_severity_level = 3
            self._session_mt = ort.InferenceSession(source, opts_mt,
                                                    providers=["CPUExecutionProvider"])
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pool_lock = threading.Lock()

    # ------------------------------------------------------------------ model description
    def _inspect(self) -> None:
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{self.path}: expected one input (features), got "
                             f"{[i.name for i in inputs]}")
        inp = inputs[0]
        shape = list(inp.shape)
        if inp.type != "tensor(float)" or len(shape) != 3 or not isinstance(shape[2], int):
            raise ValueError(f"{self.path}: expected a float input (batch, time, F) with a fixed "
                             f"F, got {inp.name} {inp.type} {shape}")
        self.input_name = inp.name
        self.num_features = int(shape[2])
        self.output_names = [o.name for o in self._session.get_outputs()]
        meta = dict(self._session.get_modelmeta().custom_metadata_map or {})
        self.metadata = meta
        kind = meta.get("rae_fast.kind")
        if kind is None:
            kind = "autoencoder" if "reconstruction" in self.output_names else "encoder"
        if kind not in ("encoder", "autoencoder"):
            raise ValueError(f"{self.path}: unknown model kind {kind!r}")
        self.kind = kind
        if kind == "autoencoder" and not {"reconstruction", "representation"} <= set(
                self.output_names):
            raise ValueError(f"{self.path}: an autoencoder must output 'reconstruction' and "
                             f"'representation', got {self.output_names}")
        rep_name = "representation" if "representation" in self.output_names \
            else self.output_names[0]
        self._rep_index = self.output_names.index(rep_name)
        rep_shape = self._session.get_outputs()[self._rep_index].shape
        size = meta.get("rae_fast.representation_size")
        if size is not None:
            self.representation_size = int(size)
        elif len(rep_shape) == 2 and isinstance(rep_shape[1], int):
            self.representation_size = int(rep_shape[1])
        else:
            raise ValueError(f"{self.path}: cannot tell the representation size from output "
                             f"{rep_name} {rep_shape}")
        self.config = json.loads(meta["rae_fast.config"]) if "rae_fast.config" in meta else None

    def __repr__(self) -> str:
        return (f"OnnxModel({str(self.path)!r}, kind={self.kind!r}, device={self.device!r}, "
                f"num_features={self.num_features}, representation_size="
                f"{self.representation_size}, n_threads={self.n_threads})")

    # ------------------------------------------------------------------------ execution
    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.n_threads,
                                                thread_name_prefix="rae_fast_ort")
            return self._pool

    def _run_once(self, x: np.ndarray, names: Sequence[str], session=None) -> List[np.ndarray]:
        if self.device == "cuda":
            binding = self._session.io_binding()
            binding.bind_cpu_input(self.input_name, x)
            for name in names:
                binding.bind_output(name, "cuda", self.device_id)
            self._session.run_with_iobinding(binding)
            return list(binding.copy_outputs_to_cpu())
        return (session or self._session).run(list(names), {self.input_name: x})

    def _run_batch(self, x: np.ndarray, names: Sequence[str]) -> List[np.ndarray]:
        """The outputs ``names`` for one equal-length batch ``(b, T, F)`` (validated, float32)."""
        n = x.shape[0]
        if self.device == "cuda":
            return self._run_once(x, names)
        if n < self.n_threads and self._session_mt is not None:
            # fewer instances than threads: let ONNX Runtime's operators use the threads
            return self._run_once(x, names, self._session_mt)
        n_chunks = max(math.ceil(n / self.chunk_size), min(self.n_threads, n))
        if n_chunks <= 1:
            return self._run_once(x, names)
        bounds = np.linspace(0, n, n_chunks + 1).round().astype(int)
        parts = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        if self.n_threads > 1:
            results = list(self._executor().map(lambda p: self._run_once(p, names), parts))
        else:
            results = [self._run_once(p, names) for p in parts]
        return [np.concatenate([r[k] for r in results]) for k in range(len(names))]

    def _output_names(self, outputs: Optional[Sequence[str]]) -> List[str]:
        if outputs is None:
            return list(self.output_names)
        names = [outputs] if isinstance(outputs, str) else list(outputs)
        unknown = [o for o in names if o not in self.output_names]
        if unknown or not names:
            raise ValueError(f"outputs must be among {self.output_names}, got {names}")
        return names

    def run(self, features, batch_size: Optional[int] = None,
            outputs: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
        """The model's outputs for ``features`` (all, or those named in ``outputs``), as
        ``{output name: array}``.

        Parameters
        ----------
        features : float array ``(n, time, F)`` or sequence of ``(time_i, F)`` arrays
            A sequence of different lengths is run in groups of equal length and the outputs
            returned in the input order (per-instance outputs such as the reconstruction are
            then lists of arrays).
        batch_size : int, optional
            Largest number of instances handed to ONNX Runtime at once (bounds memory).

        >>> enc.run(np.zeros((2, 5, 128), np.float32))["representation"].shape   # doctest: +SKIP
        (2, 1024)
        """
        bs = None if batch_size is None else check_int(batch_size, "batch_size", 1)
        names = self._output_names(outputs)
        if isinstance(features, (list, tuple)):
            return self._run_ragged(features, bs, names)
        x = _as_batch(features, self.num_features, "features")
        step = bs or x.shape[0]
        chunks = [self._run_batch(x[a:a + step], names) for a in range(0, x.shape[0], step)]
        return {name: np.concatenate([c[k] for c in chunks]) for k, name in enumerate(names)}

    def _run_ragged(self, seqs: Sequence, bs: Optional[int], names: List[str]) -> Dict[str, Any]:
        if len(seqs) == 0:
            raise ValueError("features is empty (no instances)")
        arrays = []
        for i, s in enumerate(seqs):
            a = np.asarray(s)
            if a.ndim != 2:
                raise ValueError(f"features[{i}] must be 2-D (time, features), got shape {a.shape}")
            arrays.append(_as_batch(a[None], self.num_features, f"features[{i}]")[0])
        groups: Dict[int, List[int]] = {}
        for i, a in enumerate(arrays):
            groups.setdefault(a.shape[0], []).append(i)
        out: Dict[str, List[Any]] = {name: [None] * len(arrays) for name in names}
        for _, idx in sorted(groups.items()):
            batch = np.stack([arrays[i] for i in idx])
            res = self.run(batch, bs, names)
            for name in names:
                for j, i in enumerate(idx):
                    out[name][i] = res[name][j]
        result: Dict[str, Any] = {}
        for name, values in out.items():
            shapes = {v.shape for v in values}
            result[name] = np.stack(values) if len(shapes) == 1 else values
        return result

    def encode(self, features, batch_size: Optional[int] = None) -> np.ndarray:
        """Representations ``(n, representation_size)`` float32 of ``(n, time, F)`` features
        (or a list of ``(time_i, F)`` arrays, bucketed by length).

        >>> seqs = [np.zeros((5, 128), np.float32), np.zeros((9, 128), np.float32)]
        >>> enc.encode(seqs).shape                    # doctest: +SKIP
        (2, 1024)
        """
        rep = self.output_names[self._rep_index]
        return np.asarray(self.run(features, batch_size, [rep])[rep], dtype=np.float32)

    @property
    def has_frame_features(self) -> bool:
        """True when the model also outputs per-frame encoder states (``frame_features``;
        encoders exported by rae_fast 0.2 and later)."""
        return "frame_features" in self.output_names

    def encode_frames(self, features, batch_size: Optional[int] = None
                      ) -> Tuple[np.ndarray, Any]:
        """``(representation (n, R), frame_features (n, time, H))``: the representation and the
        top encoder layer's output at every frame, in one pass.

        Raises ``ValueError`` for models exported without ``frame_features`` (re-export them
        with ``rae-fast export-onnx``).
        """
        if not self.has_frame_features:
            raise ValueError(f"{self.path} has no frame_features output (exported by an older "
                             "rae_fast, or an autoencoder export); re-export the encoder with "
                             "rae-fast export-onnx RUN")
        rep = self.output_names[self._rep_index]
        res = self.run(features, batch_size, [rep, "frame_features"])
        return np.asarray(res[rep], dtype=np.float32), res["frame_features"]

    def reconstruct(self, features, batch_size: Optional[int] = None
                    ) -> Tuple[Any, np.ndarray]:
        """``(reconstruction (n, time, F), representation (n, R))`` -- autoencoder models only.

        The reconstruction is teacher-forced (as in training: at every step the decoder gets the
        expected previous frame, not its own output) and in the input's time order. A
        free-running reconstruction needs PyTorch: ``RecurrentAutoencoder.reconstruct(x,
        free_running=True)`` or ``rae-fast reconstruct --model RUN``.

        >>> ae = OnnxModel("run/autoencoder.onnx")                 # doctest: +SKIP
        >>> recon, rep = ae.reconstruct(x)                          # doctest: +SKIP
        """
        if self.kind != "autoencoder":
            raise ValueError(f"{self.path} is an encoder; reconstruction needs the autoencoder "
                             "export (rae-fast export-onnx writes RUN/autoencoder.onnx)")
        res = self.run(features, batch_size, ["reconstruction", "representation"])
        return res["reconstruction"], np.asarray(res["representation"], dtype=np.float32)

    def close(self) -> None:
        """Stop the worker threads (the session stays usable; threads restart on demand)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> "OnnxModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - GC timing
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
