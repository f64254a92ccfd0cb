"""Codes -> audio files (:func:`decode_codes`, ``rae-fast decode``), and reconstructed data
sets -> audio files (:func:`dataset_to_audio`, ``rae-fast reconstruct --audio``).

Decoding a record: the free-running decoder turns each code into features
(:class:`rae_fast.inference.OnnxDecoder`), :func:`rae_fast.preprocessing.inverse.features_to_audio`
turns the features of each window into audio (de-normalisation with the stored offsets,
mel -> linear power, Griffin-Lim, de-emphasis), and the windows are put back where they were
cut from the file (averaged where they overlap). Files are written one by one, each
atomically; a rerun into the same folder with the same codes and decoder skips the files
already written (``resume``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from pathlib import Path, PurePath
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from .._io import atomic_path, atomic_write_text, write_error
from .._validation import check_int
from ..audio import resample
from ..embedding.embedder import window_spans
from ..preprocessing import OFFSET_COLUMNS, FrontEnd
from ..preprocessing.inverse import GL_ITERATIONS, features_to_audio
from ..progress import progress as progress_bar
from .codefile import CodeHeader, CodeRecord, iter_codes

__all__ = ["decode_codes", "decode_records", "dataset_to_audio", "DecodeResult",
           "AUDIO_FORMATS", "output_name"]

#: Output formats (soundfile), by name: (file suffix, subtype).
AUDIO_FORMATS = {"wav": (".wav", "PCM_16"), "flac": (".flac", "PCM_16")}
MANIFEST = ".rae-decode.json"


@dataclasses.dataclass
class DecodeResult:
    """What :func:`decode_codes` did: the files written (``resumed`` were there already)."""
    output_dir: Path
    files: List[Path]
    n_resumed: int
    sample_rate: int
    seconds: float


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def output_name(name: str, suffix: str) -> PurePath:
    """Where the audio of input ``name`` goes inside the output folder: relative names keep
    their folders; absolute ones (and ``..``) keep only the file name."""
    p = PurePath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        p = PurePath(p.name or "audio")
    return p.with_suffix(suffix)


def _check_decoder(header: CodeHeader, decoder, codes_path) -> FrontEnd:
    if decoder.encoder_sha256 != header.model_sha256:
        raise ValueError(
            f"{codes_path} was made by another model (encoder {header.model_sha256[:12]}...) "
            f"than {decoder.path} belongs to (encoder {decoder.encoder_sha256[:12]}...): decode "
            "with the decoder.onnx that export-onnx wrote next to the encoder that made the "
            "codes")
    if decoder.representation_size != header.representation_size:
        raise ValueError(f"{codes_path} holds codes of size {header.representation_size}, "
                         f"{decoder.path} expects {decoder.representation_size}")
    frontend = FrontEnd.from_dict(header.frontend)
    if frontend.feature_shape[1] != decoder.num_features:
        raise ValueError(f"{codes_path}: the front end gives {frontend.feature_shape[1]} values "
                         f"per frame, {decoder.path} produces {decoder.num_features}")
    return frontend


def _assemble(pieces: np.ndarray, spans, samples: int) -> np.ndarray:
    """Put the windows' audio back where they were cut from a clip of ``samples`` samples."""
    out = np.zeros(samples, dtype=np.float64)
    count = np.zeros(samples, dtype=np.float64)
    for w, (first, stop, offset) in zip(pieces, spans):
        width = min(stop - first, max(0, w.shape[0] - offset))
        out[first:first + width] += w[offset:offset + width]
        count[first:first + width] += 1.0
    return (out / np.maximum(count, 1.0)).astype(np.float32)


def decode_records(header: CodeHeader, records: Sequence[CodeRecord], decoder, *,
                   n_iter: int = GL_ITERATIONS, n_threads: Optional[int] = None
                   ) -> List[np.ndarray]:
    """Audio (float32, at the model's rate, each record's ``samples`` long) of code records."""
    frontend = _check_decoder(header, decoder, "the codes")
    settings, sr = frontend.settings, frontend.sample_rate
    T = frontend.feature_shape[0]
    chunks = frontend.instances_per_clip
    if not records:
        return []
    codes = np.concatenate([r.codes for r in records])
    side = {c: np.concatenate([r.side[c] for r in records]) for c in OFFSET_COLUMNS}
    X = decoder.decode(codes, T)
    windows = features_to_audio(X, settings, sr, side, chunks=chunks, n_iter=n_iter,
                                n_threads=n_threads)
    out, pos = [], 0
    for r in records:
        spans = window_spans(frontend, r.samples, header.hop_samples or frontend.clip_samples,
                             header.segmentation)
        if r.n_instances != len(spans) * chunks:
            raise ValueError(f"the codes of {r.name} hold {r.n_instances} instances, its length "
                             f"gives {len(spans) * chunks}")
        out.append(_assemble(windows[pos:pos + len(spans)], spans, r.samples))
        pos += len(spans)
    return out


def _write_audio(path: Path, y: np.ndarray, sr: int, fmt: str) -> None:
    import soundfile as sf

    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak > 0.999:                      # PCM would clip: scale the clip down instead
        y = y * (0.999 / peak)
    suffix, subtype = AUDIO_FORMATS[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=False) as tmp:
        try:
            sf.write(str(tmp), y, sr, subtype=subtype, format=fmt.upper())
        except RuntimeError as exc:       # libsndfile: "System error." on a full disk, no errno
            raise write_error(exc, path, y.nbytes) from exc


def _names(records_names: Iterable[str], suffix: str) -> Dict[str, PurePath]:
    """Output name per record; a name that two inputs would share gets ``-2``, ``-3``..."""
    seen: Dict[PurePath, int] = {}
    out = {}
    for name in records_names:
        p = output_name(name, suffix)
        if p in seen:
            seen[p] += 1
            p = p.with_name(f"{p.stem}-{seen[p]}{p.suffix}")
        seen[p] = 1
        out[name] = p
    return out


def decode_codes(codes, decoder, output_dir, *, format: str = "wav",
                 n_iter: int = GL_ITERATIONS, sr: Optional[int] = None, batch_size: int = 16,
                 resume: bool = True, progress: Optional[bool] = None,
                 n_threads: Optional[int] = None, device: str = "auto") -> DecodeResult:
    """Decode a code file into audio files in ``output_dir``.

    Parameters
    ----------
    codes : str or Path
        Code file written by :func:`rae_fast.codec.encode_files`.
    decoder : str, Path or OnnxDecoder
        ``decoder.onnx`` exported from the same run as the encoder that made the codes.
    output_dir : str or Path
        Folder for the audio files (``<name>.wav`` / ``.flac``; input folders are kept).
    format : {"wav", "flac"}
    n_iter : int
        Griffin-Lim iterations.
    sr : int, optional
        Output rate (default: the model's; other rates are resampled with soxr).
    batch_size : int
        Files decoded together (memory).
    resume : bool
        Keep files written by an interrupted run of the same codes and decoder.

    Raises
    ------
    ValueError
        Codes of another model (hash mismatch), a decoder that is an encoder-only or
        teacher-forced export, codes without their offsets; nothing is written then.
    CodeFileError
        A truncated or corrupt code file (found before anything is written).
    """
    t0 = time.perf_counter()
    from ..inference import OnnxDecoder

    if format not in AUDIO_FORMATS:
        raise ValueError(f"format must be one of {sorted(AUDIO_FORMATS)}, got {format!r}")
    n_iter = check_int(n_iter, "n_iter", 0, 100000)
    batch_size = check_int(batch_size, "batch_size", 1)
    codes = Path(codes)
    dec = decoder if isinstance(decoder, OnnxDecoder) else OnnxDecoder(decoder, device=device,
                                                                        n_threads=n_threads)
    # read the whole file once first: a truncated or corrupt file is refused before any output
    it = iter_codes(codes)
    header = next(it)
    names = [rec.name for rec in it]
    frontend = _check_decoder(header, dec, codes)
    out_sr = frontend.sample_rate if sr is None else check_int(sr, "sr", 1)
    suffix = AUDIO_FORMATS[format][0]
    targets = _names(names, suffix)
    out_dir = Path(output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output {out_dir} exists and is not a folder")
    manifest = {"codes_sha256": file_sha256(codes), "decoder_sha256": dec.sha256,
                "n_iter": n_iter, "sr": out_sr, "format": format}
    man_path = out_dir / MANIFEST
    same = False
    if resume and man_path.is_file():
        with contextlib.suppress(OSError, ValueError):
            same = json.loads(man_path.read_text(encoding="utf-8")) == manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(man_path, json.dumps(manifest, sort_keys=True))
    written: List[Path] = []
    n_resumed = 0
    batch: List[CodeRecord] = []

    def flush():
        audio = decode_records(header, batch, dec, n_iter=n_iter, n_threads=n_threads)
        for rec, y in zip(batch, audio):
            if out_sr != frontend.sample_rate:
                y = resample(y, frontend.sample_rate, out_sr)
            path = out_dir / targets[rec.name]
            _write_audio(path, y, out_sr, format)
            written.append(path)
        batch.clear()

    it = iter_codes(codes)
    next(it)
    with progress_bar(total=len(names), desc="decode", unit="file",
                      disable=None if progress is None else not progress) as bar:
        for rec in it:
            path = out_dir / targets[rec.name]
            if same and path.is_file():
                n_resumed += 1
                written.append(path)
                bar.update(1)
                continue
            batch.append(rec)
            if len(batch) >= batch_size:
                bar.update(len(batch))
                flush()
        if batch:
            bar.update(len(batch))
            flush()
    return DecodeResult(out_dir, written, n_resumed, out_sr, time.perf_counter() - t0)


def dataset_to_audio(features, source, output_dir, *, format: str = "wav",
                     n_iter: int = GL_ITERATIONS, progress: Optional[bool] = None,
                     n_threads: Optional[int] = None, resume: bool = True) -> List[Path]:
    """Audio files from a data set of (reconstructed) features, one per file name.

    ``features``: a data set (path or :class:`rae_fast.dataset.DataSet`) whose instances are
    spectrograms / autocorrelograms in the layout of ``source``; ``source``: the data set
    ``preprocess`` wrote (path), which holds the front end (its attributes) and the
    per-instance offsets (variables ``ref_db``, ``norm_db_min``, ``norm_db_max``). Chunks of a
    file are joined in ``chunk_nr`` order. Refuses (nothing written) a source without offsets
    or front end, or features whose instances do not match it.

    Each file is written atomically; with ``resume`` (and ``features`` given as a path) a rerun
    on the same features and source (same content: SHA-256), iterations and format keeps the
    audio files an interrupted run already wrote (``.rae-decode.json`` in ``output_dir``
    records what they came from).
    """
    from ..dataset import DataSet, load, read_extra_columns

    if format not in AUDIO_FORMATS:
        raise ValueError(f"format must be one of {sorted(AUDIO_FORMATS)}, got {format!r}")
    src = load(source, lazy=True)
    try:
        frontend = FrontEnd.from_dataset(src.attrs, src.feature_dims, src.feature_shape)
        src_names = list(src.filenames)
        src_chunks = np.asarray(src.chunk_nr)
    finally:
        src.close()
    if frontend is None:
        raise ValueError(f"{source} does not describe how its features were computed (not "
                         "written by rae-fast preprocess, or clips of different rates or "
                         "lengths), so they cannot be turned back into sound")
    extra = read_extra_columns(source)
    missing = [c for c in OFFSET_COLUMNS if c not in extra]
    if missing:
        raise ValueError(f"{source} lacks the normalisation offsets ({', '.join(missing)}) that "
                         "decoding needs: it was preprocessed by an older rae_fast; preprocess "
                         "the audio again")
    own = not isinstance(features, DataSet)
    ds = load(features, lazy=True) if own else features     # read file by file: flat memory
    try:
        manifest = None
        if not isinstance(features, DataSet):
            manifest = {"features_sha256": file_sha256(Path(features)),
                        "source_sha256": file_sha256(Path(source)),
                        "n_iter": n_iter, "format": format}
        return _write_groups(ds, src_names, src_chunks, extra, frontend, output_dir, format,
                             n_iter, progress, n_threads, manifest, resume)
    finally:
        if own:
            ds.close()


def _write_groups(ds, src_names, src_chunks, extra, frontend, output_dir, format, n_iter,
                  progress, n_threads, manifest, resume) -> List[Path]:
    if list(ds.filenames) != src_names or ds.feature_shape != frontend.feature_shape:
        raise ValueError("the reconstructions do not match the source data set (file names, "
                         "order or feature shape differ)")
    X = ds.features
    settings, sr = frontend.settings, frontend.sample_rate
    groups: Dict[str, List[int]] = {}
    for i, name in enumerate(src_names):
        groups.setdefault(str(name), []).append(i)
    targets = _names(groups, AUDIO_FORMATS[format][0])
    out_dir = Path(output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output {out_dir} exists and is not a folder")
    same = False
    man_path = out_dir / MANIFEST
    if manifest is not None and resume and man_path.is_file():
        with contextlib.suppress(OSError, ValueError):
            same = json.loads(man_path.read_text(encoding="utf-8")) == manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        atomic_write_text(man_path, json.dumps(manifest, sort_keys=True))
    elif man_path.is_file():
        man_path.unlink()                          # what is there now is not resumable
    written = []
    with progress_bar(total=len(groups), desc="audio", unit="file",
                      disable=None if progress is None else not progress) as bar:
        for name, idx in groups.items():
            if same and (out_dir / targets[name]).is_file():
                written.append(out_dir / targets[name])
                bar.update(1)
                continue
            idx = sorted(idx, key=lambda i: src_chunks[i])
            side = {c: extra[c][idx] for c in OFFSET_COLUMNS}
            y = features_to_audio(np.asarray(X[np.asarray(idx)], dtype=np.float32), settings,
                                  sr, side, chunks=len(idx), n_iter=n_iter,
                                  n_threads=n_threads)[0]
            path = out_dir / targets[name]
            _write_audio(path, y, sr, format)
            written.append(path)
            bar.update(1)
    return written
