"""Audio files -> one code file (:func:`encode_files`, ``rae-fast encode``).

Every file is read as the model reads it (channels fused, resampled to the model's rate; see
:class:`rae_fast.Embedder`), cut into the model's windows, turned into features together with
the per-instance offsets that the features throw away (:data:`rae_fast.preprocessing.OFFSET_COLUMNS`),
and encoded; the representations (float16 or float32), the offsets and the file's length go
into a :mod:`code file <rae_fast.codec.codefile>`. Files are decoded and their features
computed by ``workers`` threads while ONNX Runtime encodes; the output is streamed into
``<output>.partial``, which a rerun with the same model and options resumes, and appears
atomically when complete.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .._parallel import ordered_map
from .._validation import check_int, default_threads
from .._version import __version__
from ..audio import AudioError, fuse_channels, read_audio, resample
from ..embedding import Embedder
from .._io import files_fingerprint
from ..embedding.files import Item, collect_inputs
from ..preprocessing import OFFSET_COLUMNS
from ..progress import progress as progress_bar
from .codefile import CODE_DTYPES, CodeHeader, CodeRecord, CodeWriter, iter_codes

__all__ = ["encode_files", "EncodeResult"]


@dataclasses.dataclass
class EncodeResult:
    """What :func:`encode_files` did: files and instances written (``resumed`` of the files
    were already in a partial output), files skipped with their reasons, the output's size in
    bytes, the seconds of audio it codes and the wall time of this run."""
    path: Path
    n_files: int
    n_instances: int
    n_resumed: int
    skipped: List[Tuple[str, str]]
    bytes: int
    audio_seconds: float
    seconds: float

    @property
    def bits_per_second(self) -> float:
        """Size of the whole file (codes, side information, names, header) per second of
        audio, in bits."""
        return 8.0 * self.bytes / self.audio_seconds if self.audio_seconds else float("nan")


def _content_sha256(emb: Embedder) -> str:
    sha = emb.model.metadata.get("rae_fast.content_sha256")
    if not sha:
        raise ValueError(f"{emb.path} carries no content hash (exported by rae_fast 0.1); "
                         "re-export it with rae-fast export-onnx RUN")
    return sha


def _load(emb: Embedder, item: Item, hop, segmentation):
    try:
        y2, file_sr = read_audio(item.path)
        clip = fuse_channels(y2, emb.frontend.settings.channels)
        if file_sr != emb.sample_rate:
            clip = resample(clip, file_sr, emb.sample_rate)
        clip = np.ascontiguousarray(clip, dtype=np.float32)
        offsets: list = []
        feats, _ = emb._window_features(clip, hop, segmentation, offsets=offsets)
    except AudioError as exc:
        return exc
    except (TypeError, ValueError) as exc:
        return AudioError(item.path, str(exc))
    X = np.concatenate(feats) if len(feats) > 1 else feats[0]
    side = {c: np.concatenate([o[c] for o in offsets]) for c in OFFSET_COLUMNS}
    return X, side, len(clip), int(file_sr)


def encode_files(model, inputs: Sequence, output, *, dtype: str = "float16",
                 hop: Optional[float] = None, segmentation: str = "windows",
                 workers: Optional[int] = None, progress: Optional[bool] = None,
                 skip_bad: bool = False, resume: bool = True, parser: str = "auto",
                 device: str = "auto", n_threads: Optional[int] = None) -> EncodeResult:
    """Encode audio files, folders or list files into one code file.

    Parameters
    ----------
    model : str, Path or Embedder
        ``encoder.onnx`` written by ``rae-fast export-onnx`` (it carries its front end).
    inputs : files, folders or ``.txt`` lists (see :func:`rae_fast.embedding.files.collect_inputs`)
    output : str or Path
        The code file (``.raec``).
    dtype : {"float16", "float32"}
        Precision of the stored codes and side information.
    hop : float, optional
        Seconds between windows (default: the model's clip length: windows tile the file).
    segmentation : {"windows", "preprocess"}
        As for :meth:`rae_fast.Embedder.embed`.
    workers, progress, skip_bad, resume, parser : as for :func:`rae_fast.embedding.embed_to_file`.
    device, n_threads : ONNX Runtime (when ``model`` is a path).

    Returns
    -------
    EncodeResult
    """
    t0 = time.perf_counter()
    if dtype not in CODE_DTYPES:
        raise ValueError(f"dtype must be one of {CODE_DTYPES}, got {dtype!r}")
    emb = model if isinstance(model, Embedder) else Embedder(model, device=device,
                                                              n_threads=n_threads)
    sha = _content_sha256(emb)
    workers = default_threads() if workers is None else check_int(workers, "workers", 1, 1024)
    output = Path(output)
    if output.is_dir():
        raise IsADirectoryError(f"output {output} is a folder")
    hop_n = emb._hop_samples(hop)
    if segmentation not in ("windows", "preprocess"):
        raise ValueError(f"segmentation must be 'windows' or 'preprocess', got {segmentation!r}")
    items, _, _ = collect_inputs(inputs, parser)
    if any(it.path.resolve() == output.resolve() for it in items):
        raise ValueError(f"output {output} is also an input")
    header = CodeHeader(model_sha256=sha, frontend=emb.frontend.to_dict(),
                        representation_size=emb.embedding_size, dtype=dtype, hop_samples=hop_n,
                        segmentation=segmentation, model_file=Path(emb.path).name,
                        inputs_sha256=files_fingerprint((it.name, it.path) for it in items), created_by=f"rae_fast {__version__}")
    skipped: List[Tuple[str, str]] = []
    writer = CodeWriter(output, header, resume=resume)
    try:
        done = set(writer.done)
        todo = [it for it in items if it.name not in done]
        n_resumed = len(items) - len(todo)
        batch: List[Tuple[Item, tuple]] = []

        def flush():
            if not batch:
                return
            X = np.concatenate([r[0] for _, r in batch])
            reps = emb.encode(X)
            pos = 0
            for it, (x, side, n, sr0) in batch:
                k = x.shape[0]
                writer.append(CodeRecord(it.name, sr0, n, reps[pos:pos + k], side,
                                         it.label_nominal))
                pos += k
            batch.clear()

        rows = 0
        with progress_bar(total=len(items), initial=n_resumed, desc="encode", unit="file",
                          disable=None if progress is None else not progress) as bar:
            for item, res in ordered_map(lambda it: _load(emb, it, hop, segmentation), todo,
                                         workers, max_pending=4 * workers, name="rae-encode"):
                bar.update(1)
                if isinstance(res, Exception):
                    if not skip_bad:
                        raise res
                    skipped.append((item.name, getattr(res, "reason", str(res))))
                    continue
                batch.append((item, res))
                rows += res[0].shape[0]
                if rows >= emb.batch_size:
                    flush()
                    rows = 0
            flush()
        n_records = writer.n_records
        writer.close()
    except BaseException:
        writer.abort()
        raise
    n_inst, seconds = 0, 0.0
    records = iter_codes(output)          # read back: the file is complete and consistent
    next(records)
    for rec in records:
        n_inst += rec.n_instances
        seconds += rec.samples / emb.sample_rate
    return EncodeResult(output, n_records, n_inst, n_resumed, skipped, output.stat().st_size,
                        seconds, time.perf_counter() - t0)
