"""Stored data sets through a model: :func:`generate` (representations) and :func:`reconstruct`
(reconstructions and their RMSE), streamed batch by batch into atomically renamed netCDF files."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from .._executor import Executor
from .._io import atomic_write_text, partial_path
from .._validation import check_int
from ..dataset import DataSetWriter, load
from ..progress import progress as progress_bar
from .runner import ModelRunner
from .session import OnnxModel

log = logging.getLogger(__name__)
PathLike = Union[str, "os.PathLike[str]"]


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


# ------------------------------------------------------------------------- data sets

def _open_model(model, device: str, n_threads: Optional[int]) -> Tuple[ModelRunner, bool]:
    """``(runner, owned)``: a path is opened as an :class:`OnnxModel` (closed by the caller)."""
    if isinstance(model, (str, os.PathLike)):
        return OnnxModel(model, device=device, n_threads=n_threads), True
    if isinstance(model, ModelRunner):
        return model, False
    raise TypeError(f"model must be a path to an .onnx file or a ModelRunner (OnnxModel, "
                    f"rae_fast.model.TorchModelRunner), got {type(model).__name__}")


def _model_name(runner: ModelRunner) -> str:
    return Path(runner.path).name if runner.path is not None else type(runner).__name__


def _open_input(input_path: PathLike, num_features: int):

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


# ------------------------------------------------------------- encoding in other processes

@dataclasses.dataclass(frozen=True)
class _ModelSpec:
    """An ONNX model as sent to other processes: its bytes (so that the workers need no copy
    of the file) and how to run it."""
    name: str
    sha256: str
    data: bytes = dataclasses.field(repr=False)
    device: str
    n_threads: int
    chunk_size: int


def _model_spec(runner: ModelRunner, n_threads: int) -> _ModelSpec:
    if not isinstance(runner, OnnxModel):
        raise TypeError(f"running generate on other processes needs an exported ONNX model "
                        f"(OnnxModel or an .onnx path), got {type(runner).__name__}")
    data = runner.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != runner.sha256:
        raise ValueError(f"{runner.path} changed since it was loaded; load it again")
    return _ModelSpec(runner.path.name, runner.sha256, data, runner.device, n_threads,
                      runner.chunk_size)


_WORKER_CACHE: Dict[tuple, object] = {}
_WORKER_LOCK = threading.Lock()


def _worker_model(spec: _ModelSpec) -> OnnxModel:
    """One :class:`OnnxModel` per model and settings in a worker process (kept between
    tasks), loaded from the bytes of the spec."""
    key = ("model", spec.sha256, spec.device, spec.n_threads, spec.chunk_size)
    with _WORKER_LOCK:
        model = _WORKER_CACHE.get(key)
        if model is None:
            folder = Path(tempfile.mkdtemp(prefix="rae_fast_model_"))
            path = folder / spec.name
            path.write_bytes(spec.data)
            model = OnnxModel(path, device=spec.device, n_threads=spec.n_threads,
                              chunk_size=spec.chunk_size)
            if model.sha256 != spec.sha256:           # pragma: no cover - a corrupted copy
                raise ValueError(f"{spec.name}: the copy on this worker differs from the model")
            _WORKER_CACHE[key] = model
    return model


def _worker_input(input_path: str, fingerprint: str):
    """The lazily opened input data set of a worker process (kept between tasks), checked
    against the driver's fingerprint so that a node never reads another file of that name."""
    key = ("input", input_path, fingerprint)
    with _WORKER_LOCK:
        ds = _WORKER_CACHE.get(key)
        if ds is None:
            if not os.path.exists(input_path):
                raise FileNotFoundError(f"{input_path} is not readable on this worker; the input "
                                        f"must be on storage that every node reads (same path)")
            ds = load(input_path, lazy=True)
            if input_fingerprint(input_path, ds) != fingerprint:
                ds.close()
                raise ValueError(f"{input_path} on this worker is not the file the driver "
                                 f"reads (other size, time or instances)")
            _WORKER_CACHE[key] = ds
    return ds


def _encode_range(bounds: Tuple[int, int], spec: _ModelSpec, input_path: str,
                  fingerprint: str) -> np.ndarray:
    """Representations of instances ``bounds[0]:bounds[1]`` of the input (module level: an
    executor may run it in another process)."""
    a, b = bounds
    ds = _worker_input(input_path, fingerprint)
    x = np.asarray(ds.features[a:b], dtype=np.float32)
    return _worker_model(spec).encode(x)


def generate(model, input_path: PathLike, output_path: PathLike, batch_size: int = 500,
             device: str = "auto", n_threads: Optional[int] = None, resume: bool = True,
             progress: Optional[bool] = None, executor: Optional[Executor] = None) -> Path:
    """Write the representations of every instance of a stored data set.

    Parameters
    ----------
    model : str, Path, or a :class:`~rae_fast.inference.ModelRunner` (``OnnxModel``...)
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
    executor : optional
        Encode the batches elsewhere (:func:`rae_fast.distributed.generate` passes a Ray
        executor): each batch is read from ``input_path`` and encoded by a worker (the input
        must be readable at the same path there; the ONNX model's bytes are sent along, with
        one ONNX Runtime thread per worker); this process writes the results in order. The
        output is the same as without an executor (each instance is computed independently
        of the others). Needs an ONNX model (:class:`OnnxModel` or a path).

    Returns
    -------
    Path
        ``output_path``.

    Example
    -------
    >>> generate("run/encoder.onnx", "spectrograms.nc", "representations.nc")   # doctest: +SKIP
    PosixPath('representations.nc')
    """

    batch_size = check_int(batch_size, "batch_size", 1)
    runner, owned = _open_model(model, device, n_threads)
    output_path = Path(output_path)
    try:
        ds = _open_input(input_path, runner.num_features)
        try:
            if output_path.resolve() == Path(input_path).resolve():
                raise ValueError(f"output {output_path} would overwrite the input")
            model_sha = runner.sha256
            attrs = dict(ds.attrs)
            attrs["representation"] = {
                "model": _model_name(runner),
                "model_kind": runner.kind,
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
                if executor is None:
                    for a, b, x in ds.iter_batches(batch_size, start=start):
                        writer.append(runner.encode(x), **ds.instance_metadata(slice(a, b)))
                        bar.update(b - a)
                else:
                    spec = _model_spec(runner, 1)
                    ranges = [(a, min(n, a + batch_size)) for a in range(start, n, batch_size)]
                    source = str(Path(input_path).resolve())
                    with contextlib.closing(executor.imap(
                            _encode_range, ranges, spec, source,
                            attrs["representation"]["input_fingerprint"])) as results:
                        for (a, b), reps in zip(ranges, results):
                            writer.append(reps, **ds.instance_metadata(slice(a, b)))
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
    model : str, Path, or a :class:`~rae_fast.inference.ModelRunner` (``OnnxModel``,
        :class:`rae_fast.model.TorchModelRunner`)
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

    An interrupted or failed run (a full disk: :class:`rae_fast._io.WriteError`) leaves
    neither ``output_path`` nor the RMSE file and starts again next time.

    Example
    -------
    >>> path, err = reconstruct("run/autoencoder.onnx", "specs.nc", "recon.nc")   # doctest: +SKIP
    >>> float(err.mean())                                                         # doctest: +SKIP
    0.11...
    """

    batch_size = check_int(batch_size, "batch_size", 1)
    runner, owned = _open_model(model, device, n_threads)
    output_path = Path(output_path)
    rmse_path = Path(rmse_path) if rmse_path is not None else \
        output_path.with_name(output_path.name + ".rmse.csv")
    try:
        if runner.kind != "autoencoder":
            raise ValueError(f"{_model_name(runner)} is an encoder; reconstruction needs the "
                             "autoencoder export (RUN/autoencoder.onnx)")
        mode = str(runner.reconstruction_mode)
        ds = _open_input(input_path, runner.num_features)
        try:
            if output_path.resolve() == Path(input_path).resolve():
                raise ValueError(f"output {output_path} would overwrite the input")
            n = len(ds)
            errors = np.empty(n, dtype=np.float64)
            attrs = dict(ds.attrs)
            attrs["reconstruction_model"] = _model_name(runner)
            attrs["reconstruction_mode"] = mode
            with DataSetWriter(output_path, ds.feature_dims, ds.feature_shape, ds.n_folds,
                               ds.label_map, attrs, keep_partial=False) as writer, \
                    progress_bar(total=n, desc="reconstruct", unit="inst",
                                 disable=None if progress is None else not progress) as bar:
                for a, b, x in ds.iter_batches(batch_size):
                    recon, _ = runner.reconstruct(x)
                    recon = np.asarray(recon, dtype=np.float32)
                    errors[a:b] = np.sqrt(np.mean((recon.astype(np.float64) - x) ** 2,
                                                  axis=(1, 2)))
                    writer.append(recon, **ds.instance_metadata(slice(a, b)))
                    bar.update(b - a)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["index", "filename", "chunk_nr", "rmse"])
            for i in range(n):
                w.writerow([i, ds.filenames[i], int(ds.chunk_nr[i]), f"{errors[i]:.8g}"])
            try:
                atomic_write_text(rmse_path, buf.getvalue())
            except BaseException:
                output_path.unlink(missing_ok=True)      # both outputs or neither
                raise
        finally:
            ds.close()
    finally:
        if owned:
            runner.close()
    return output_path, errors
