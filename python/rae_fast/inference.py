"""Serving exported autoencoders with ONNX Runtime (no PyTorch needed).

:class:`OnnxModel` wraps an ``onnxruntime.InferenceSession`` for a model written by
:func:`rae_fast.model.export_encoder` / :func:`~rae_fast.model.export_autoencoder`:

- **device**: ``"auto"`` uses the CUDA execution provider when ``onnxruntime-gpu`` is installed
  and sees a GPU, else the CPU provider; ``"cuda"`` asks for CUDA and warns (``RuntimeWarning``)
  when it is not active; ``"cpu"`` forces the CPU. On CUDA, inputs and outputs go through I/O
  binding and the whole batch runs at once.
- **threads and batching on CPU**: a batch is cut into chunks of ``chunk_size`` instances that
  ``n_threads`` workers run concurrently, each chunk single-threaded inside ONNX Runtime. The
  recurrent kernels of ONNX Runtime parallelise poorly within a time step (small per-step
  matrix products, serial gate loops), so splitting the batch scales better with cores; small
  chunks also keep the per-step buffers in cache. Results do not depend on the thread count or
  chunk size (each instance is computed independently).
- **variable lengths**: a list of ``(time_i, F)`` arrays is grouped by length (bucketing), so no
  instance is ever padded and each representation equals the one computed alone.

:func:`generate` turns a stored data set of spectrograms into representations (feature dim
``generated``) with all instance metadata, streaming batch by batch into an atomically
renamed netCDF file that resumes after an interruption (only with the very same model file,
checked by SHA-256, and the same input). :func:`reconstruct` writes the autoencoder's
reconstructions and their RMSE.

Install ONNX Runtime with the package extras: ``pip install 'rae_fast[cpu]'`` (``onnxruntime``)
or ``pip install 'rae_fast[gpu]'`` (``onnxruntime-gpu``); the two cannot be installed together.

>>> from rae_fast.inference import OnnxModel
>>> enc = OnnxModel("run/encoder.onnx")               # doctest: +SKIP
>>> enc.encode(spectrograms).shape                    # doctest: +SKIP
(400, 1024)
"""
from __future__ import annotations

import csv
import hashlib
import io
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

from ._io import atomic_write_text, partial_path
from ._validation import check_int, default_threads
from .progress import progress as progress_bar

__all__ = ["OnnxModel", "generate", "reconstruct", "import_onnxruntime", "ORT_MISSING_MESSAGE",
           "DEFAULT_CHUNK_SIZE", "file_sha256", "input_fingerprint"]

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


def input_fingerprint(path: PathLike, ds) -> str:
    """A digest (hex, 32 characters) identifying a stored input data set cheaply.

    Covers the file's size and modification time (ns), the number of instances, the feature
    dims and shape, and every file name and chunk number; it changes when the file is
    rewritten (re-preprocessed, replaced by another data set) and stays the same while it is
    untouched. Used by :func:`generate` to resume only on the very same input.

    >>> input_fingerprint("specs.nc", load("specs.nc", lazy=True))   # doctest: +SKIP
    '9c41...'
    """
    st = os.stat(path)
    h = hashlib.sha256()
    h.update(json.dumps([int(st.st_size), int(st.st_mtime_ns), len(ds), list(ds.feature_dims),
                         [int(v) for v in ds.feature_shape]]).encode())
    for name in ds.filenames:
        h.update(str(name).encode("utf-8", "surrogatepass") + b"\0")
    h.update(np.ascontiguousarray(ds.chunk_nr, dtype=np.int64).tobytes())
    return h.hexdigest()[:32]


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
    path : str or Path
        ``.onnx`` file from ``rae-fast export-onnx`` (any model with one float input
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

    def __init__(self, path: PathLike, device: str = "auto", n_threads: Optional[int] = None,
                 chunk_size: Optional[int] = None, device_id: int = 0):
        ort = import_onnxruntime()
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"model file {self.path} does not exist")
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path} is a directory, expected an .onnx file")
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
        self.sha256 = file_sha256(self.path)
        try:
            self._session = ort.InferenceSession(str(self.path), opts, providers=providers)
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
            self._session_mt = ort.InferenceSession(str(self.path), opts_mt,
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

    def _run_once(self, x: np.ndarray, session=None) -> List[np.ndarray]:
        if self.device == "cuda":
            binding = self._session.io_binding()
            binding.bind_cpu_input(self.input_name, x)
            for name in self.output_names:
                binding.bind_output(name, "cuda", self.device_id)
            self._session.run_with_iobinding(binding)
            return list(binding.copy_outputs_to_cpu())
        return (session or self._session).run(self.output_names, {self.input_name: x})

    def _run_batch(self, x: np.ndarray) -> List[np.ndarray]:
        """All outputs for one equal-length batch ``(b, T, F)`` (validated, float32)."""
        n = x.shape[0]
        if self.device == "cuda":
            return self._run_once(x)
        if n < self.n_threads and self._session_mt is not None:
            # fewer instances than threads: let ONNX Runtime's operators use the threads
            return self._run_once(x, self._session_mt)
        n_chunks = max(math.ceil(n / self.chunk_size), min(self.n_threads, n))
        if n_chunks <= 1:
            return self._run_once(x)
        bounds = np.linspace(0, n, n_chunks + 1).round().astype(int)
        parts = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        if self.n_threads > 1:
            results = list(self._executor().map(self._run_once, parts))
        else:
            results = [self._run_once(p) for p in parts]
        return [np.concatenate([r[k] for r in results]) for k in range(len(self.output_names))]

    def run(self, features, batch_size: Optional[int] = None) -> Dict[str, np.ndarray]:
        """All model outputs for ``features``, as ``{output name: array}``.

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
        if isinstance(features, (list, tuple)):
            return self._run_ragged(features, bs)
        x = _as_batch(features, self.num_features, "features")
        step = bs or x.shape[0]
        chunks = [self._run_batch(x[a:a + step]) for a in range(0, x.shape[0], step)]
        return {name: np.concatenate([c[k] for c in chunks])
                for k, name in enumerate(self.output_names)}

    def _run_ragged(self, seqs: Sequence, bs: Optional[int]) -> Dict[str, Any]:
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
        out: Dict[str, List[Any]] = {name: [None] * len(arrays) for name in self.output_names}
        for _, idx in sorted(groups.items()):
            batch = np.stack([arrays[i] for i in idx])
            res = self.run(batch, bs)
            for name in self.output_names:
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
        res = self.run(features, batch_size)
        return np.asarray(res[self.output_names[self._rep_index]], dtype=np.float32)

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
        res = self.run(features, batch_size)
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


# ------------------------------------------------------------------------- data sets

def _open_model(model, device: str, n_threads: Optional[int]) -> Tuple[Any, bool]:
    if isinstance(model, (str, os.PathLike)):
        return OnnxModel(model, device=device, n_threads=n_threads), True
    if hasattr(model, "num_features") and (hasattr(model, "encode") or
                                           hasattr(model, "reconstruct")):
        return model, False
    raise TypeError(f"model must be a path to an .onnx file or an OnnxModel, got "
                    f"{type(model).__name__}")


def _model_sha256(runner) -> Optional[str]:
    """The SHA-256 of the model file ``runner`` was loaded from (``None`` without a file)."""
    sha = getattr(runner, "sha256", None)
    if isinstance(sha, str) and sha:
        return sha
    path = getattr(runner, "path", None)
    if path is not None and Path(path).is_file():
        return file_sha256(path)
    return None


def _open_input(input_path: PathLike, num_features: int):
    from .dataset import load

    ds = load(input_path, lazy=True)
    if len(ds.feature_dims) != 2:
        ds.close()
        raise ValueError(f"{input_path}: features must be 2-D per instance (time, frequency), got "
                         f"feature_dims {ds.feature_dims}; representations cannot be encoded again")
    if ds.feature_shape[1] != num_features:
        ds.close()
        raise ValueError(f"{input_path}: instances have {ds.feature_shape[1]} "
                         f"{ds.feature_dims[1]} values per time step but the model expects "
                         f"{num_features}")
    if len(ds) == 0:
        ds.close()
        raise ValueError(f"{input_path} holds no instances")
    return ds


def _meta(ds, a: int, b: int) -> Dict[str, Any]:
    return dict(filenames=ds.filenames[a:b], chunk_nr=ds.chunk_nr[a:b],
                label_nominal=ds.label_nominal[a:b], label_numeric=ds.label_numeric[a:b],
                cv_folds=ds.cv_folds[a:b], partition=ds.partition[a:b])


def generate(model, input_path: PathLike, output_path: PathLike, batch_size: int = 500,
             device: str = "auto", n_threads: Optional[int] = None, resume: bool = True,
             progress: Optional[bool] = None) -> Path:
    """Write the representations of every instance of a stored data set.

    Parameters
    ----------
    model : str, Path or OnnxModel
        The exported encoder (``encoder.onnx``) -- or an autoencoder, whose representation output
        is used.
    input_path : str or Path
        netCDF data set of spectrograms / autocorrelograms ``(time, F)`` (``rae-fast preprocess``).
    output_path : str or Path
        netCDF data set written: features ``(n, representation_size)``, feature dim
        ``generated``, with the input's filenames, chunk numbers, labels, label map, folds,
        partitions and attributes, in the same order, plus an attribute ``representation``
        (model file name, kind, ``model_sha256``, ``input_fingerprint``, sizes).
    batch_size : int
        Instances read, encoded and written per step (auDeep's ``--batch-size 500``).
    device, n_threads : see :class:`OnnxModel`.
    resume : bool
        Continue ``<output>.partial`` left by an interrupted run -- only when it was written by
        the same model file (same SHA-256 of its bytes, not just the same name) from the same
        input (same :func:`input_fingerprint`: size, modification time, file names, chunks) with
        the same settings; otherwise it starts again and logs why (INFO). ``False`` always
        starts again. A model object without a file (no ``path``/``sha256``) never resumes.
    progress : bool or None
        Progress bar (``None``: on a terminal only).

    Returns
    -------
    Path
        ``output_path``.

    Example
    -------
    >>> generate("run/encoder.onnx", "spectrograms.nc", "representations.nc")   # doctest: +SKIP
    PosixPath('representations.nc')
    """
    from .dataset import DataSetWriter

    batch_size = check_int(batch_size, "batch_size", 1)
    runner, owned = _open_model(model, device, n_threads)
    output_path = Path(output_path)
    try:
        ds = _open_input(input_path, runner.num_features)
        try:
            if output_path.resolve() == Path(input_path).resolve():
                raise ValueError(f"output {output_path} would overwrite the input")
            model_sha = _model_sha256(runner)
            attrs = dict(ds.attrs)
            attrs["representation"] = {
                "model": Path(getattr(runner, "path", "model")).name,
                "model_kind": getattr(runner, "kind", "encoder"),
                "model_sha256": model_sha,
                "input_fingerprint": input_fingerprint(input_path, ds),
                "representation_size": int(runner.representation_size),
                "source_feature_dims": list(ds.feature_dims),
                "source_feature_shape": list(ds.feature_shape)}
            n = len(ds)
            partial = partial_path(output_path)
            had_partial = resume and partial.exists()
            if had_partial and model_sha is None:
                log.info("%s: the model has no file to fingerprint, so the partial output "
                         "cannot be matched to it; starting again", partial)
                resume = False
            writer = DataSetWriter(output_path, ("generated",), (runner.representation_size,),
                                   ds.n_folds, ds.label_map, attrs, resume=resume)
            if had_partial and resume and not writer.resumed:
                log.info("%s was written by another model (this one: %s, sha256 %s...), from "
                         "another input or with other settings; starting again", partial,
                         attrs["representation"]["model"], model_sha[:12])
            if writer.n_written > n:
                writer.abort(keep_partial=False)
                writer = DataSetWriter(output_path, ("generated",),
                                       (runner.representation_size,), ds.n_folds, ds.label_map,
                                       attrs, resume=False)
            start = writer.n_written
            if start:
                log.info("resuming %s after %d of %d instances", output_path, start, n)
            with writer, progress_bar(total=n, initial=start, desc="generate", unit="inst",
                                      disable=None if progress is None else not progress) as bar:
                for a in range(start, n, batch_size):
                    b = min(n, a + batch_size)
                    reps = runner.encode(np.asarray(ds.features[a:b], dtype=np.float32))
                    writer.append(reps, **_meta(ds, a, b))
                    bar.update(b - a)
        finally:
            ds.close()
    finally:
        if owned:
            runner.close()
    return output_path


def reconstruct(model, input_path: PathLike, output_path: PathLike,
                rmse_path: Optional[PathLike] = None, batch_size: int = 100,
                device: str = "auto", n_threads: Optional[int] = None,
                progress: Optional[bool] = None) -> Tuple[Path, np.ndarray]:
    """Write the autoencoder's reconstruction of every instance, and their RMSE.

    Parameters
    ----------
    model : str, Path, OnnxModel, or any object with ``num_features`` and
        ``reconstruct(x) -> (reconstruction, representation)``
        Usually ``autoencoder.onnx`` from ``rae-fast export-onnx``.
    input_path, output_path : str or Path
        Input data set ``(time, F)``; the output has the same feature dims and shape, all
        metadata and attributes, plus ``reconstruction_model`` (the model file name) and
        ``reconstruction_mode``: the runner's ``reconstruction_mode`` attribute,
        ``"teacher_forcing"`` for an :class:`OnnxModel` (the decoder gets the expected previous
        frame at every step, as in training -- this measures less than a free-running decoder
        that sees only the representation) or ``"free_running"``.
    rmse_path : str or Path, optional
        CSV ``index,filename,chunk_nr,rmse`` (default ``<output>.rmse.csv``), written atomically.
    batch_size : int
        Instances per step.

    Returns
    -------
    (Path, ndarray)
        ``output_path`` and the per-instance RMSE ``(n,)`` (over all time steps and features).

    An interrupted run leaves no file under ``output_path`` and starts again next time.

    Example
    -------
    >>> path, err = reconstruct("run/autoencoder.onnx", "specs.nc", "recon.nc")   # doctest: +SKIP
    >>> float(err.mean())                                                         # doctest: +SKIP
    0.11...
    """
    from .dataset import DataSetWriter

    batch_size = check_int(batch_size, "batch_size", 1)
    runner, owned = _open_model(model, device, n_threads)
    output_path = Path(output_path)
    rmse_path = Path(rmse_path) if rmse_path is not None else \
        output_path.with_name(output_path.name + ".rmse.csv")
    try:
        if getattr(runner, "kind", "autoencoder") != "autoencoder":
            raise ValueError(f"{getattr(runner, 'path', 'the model')} is an encoder; "
                             "reconstruction needs the autoencoder export (RUN/autoencoder.onnx)")
        mode = str(getattr(runner, "reconstruction_mode", "teacher_forcing"))
        ds = _open_input(input_path, runner.num_features)
        try:
            if output_path.resolve() == Path(input_path).resolve():
                raise ValueError(f"output {output_path} would overwrite the input")
            n = len(ds)
            errors = np.empty(n, dtype=np.float64)
            attrs = dict(ds.attrs)
            attrs["reconstruction_model"] = Path(getattr(runner, "path", "model")).name
            attrs["reconstruction_mode"] = mode
            with DataSetWriter(output_path, ds.feature_dims, ds.feature_shape, ds.n_folds,
                               ds.label_map, attrs, keep_partial=False) as writer, \
                    progress_bar(total=n, desc="reconstruct", unit="inst",
                                 disable=None if progress is None else not progress) as bar:
                for a in range(0, n, batch_size):
                    b = min(n, a + batch_size)
                    x = np.asarray(ds.features[a:b], dtype=np.float32)
                    recon, _ = runner.reconstruct(x)
                    recon = np.asarray(recon, dtype=np.float32)
                    errors[a:b] = np.sqrt(np.mean((recon.astype(np.float64) - x) ** 2,
                                                  axis=(1, 2)))
                    writer.append(recon, **_meta(ds, a, b))
                    bar.update(b - a)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["index", "filename", "chunk_nr", "rmse"])
            for i in range(n):
                w.writerow([i, ds.filenames[i], int(ds.chunk_nr[i]), f"{errors[i]:.8g}"])
            atomic_write_text(rmse_path, buf.getvalue())
        finally:
            ds.close()
    finally:
        if owned:
            runner.close()
    return output_path, errors
