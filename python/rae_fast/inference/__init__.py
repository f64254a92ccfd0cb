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

:class:`OnnxDecoder` runs the free-running decoder (``decoder.onnx``: representations in,
features out) that decodes codes back to sound (:mod:`rae_fast.codec`).

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
from .batch import generate, input_fingerprint, reconstruct
from .decoder import OnnxDecoder
from .runner import ModelRunner, file_sha256
from .session import DEFAULT_CHUNK_SIZE, ORT_MISSING_MESSAGE, OnnxModel, import_onnxruntime

__all__ = ["OnnxModel", "OnnxDecoder", "ModelRunner", "generate", "reconstruct", "import_onnxruntime",
           "ORT_MISSING_MESSAGE", "DEFAULT_CHUNK_SIZE", "file_sha256", "input_fingerprint"]
