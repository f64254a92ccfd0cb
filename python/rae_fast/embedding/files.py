"""Embedding audio files: streamed, in parallel, to a ``pandas.DataFrame`` or to a file.

:func:`embed_files` returns a ``DataFrame`` indexed by ``(file, start, end)`` (the
audinterface / opensmile-python convention: ``start`` / ``end`` are ``pandas.Timedelta``),
one row per window (see :mod:`rae_fast.embedding.embedder`) or, with ``aggregate``, per file.
:func:`embed_to_file` writes the same rows to ``.csv``, ``.parquet`` or ``.nc`` (auDeep's data
model: features ``(n, D)`` with dimension ``generated``, plus per-instance ``start`` / ``end``
variables; a single folder keeps the labels and folds its layout gives) -- streamed through a
resumable netCDF file, so memory stays flat in the number of files, an interrupted run resumes,
and the output appears only when complete.

Files are decoded and turned into model inputs by ``workers`` threads (the C++ core and the
decoders release the GIL) while ONNX Runtime encodes the previous ones; results come in the
input order and do not depend on ``workers``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .._executor import Executor
from .._io import atomic_path, files_fingerprint
from .._parallel import ordered_map
from .._validation import check_int, default_threads
from ..audio import AudioError, load_audio
from ..dataset import MISSING, DataSetWriter, load, read_extra_columns
from ..layouts import is_audio_file, parse_dataset
from ..progress import progress as progress_bar

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["OUTPUT_FORMATS", "Item", "collect_inputs", "iter_embeddings", "embed_files",
           "embed_to_file", "EmbedResult", "column_names"]

#: Output formats of :func:`embed_to_file`, by file suffix.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".nc": "nc"}
#: Suffixes read as lists of files (one path per line, relative to the list's folder).
LIST_SUFFIXES = (".txt", ".lst", ".list")


class Item(NamedTuple):
    """One input file: ``path`` to read, ``name`` stored in the output, and the metadata a
    dataset layout gave it (``None`` / ``()`` / ``MISSING`` when there is none)."""
    path: Path
    name: str
    label_nominal: Optional[str] = None
    cv_folds: Tuple[int, ...] = ()
    partition: int = MISSING


def collect_inputs(inputs: Sequence[PathLike], parser: str = "auto"
                   ) -> Tuple[List[Item], Optional[Dict[str, int]], int]:
    """``(items, label_map, n_folds)`` for files, folders and list files.

    A single folder is read with the dataset layouts (:func:`rae_fast.layouts.parse_dataset`,
    ``parser``), so that labels and folds come along and names are relative to it; otherwise
    folders are walked for audio files, a ``.txt`` / ``.lst`` file lists one path per line
    (relative to its folder; blank lines and ``#`` comments skipped), and any other file is an
    input itself (a file that is not audio fails, by name, when it is read).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise ValueError("no inputs given")
    if len(inputs) == 1 and inputs[0].is_dir():
        parsed = parse_dataset(inputs[0], parser)
        items = [Item(i.path, i.filename, i.label_nominal, tuple(i.cv_folds), i.partition)
                 for i in parsed.instances]
        if not items:
            raise ValueError(f"no audio files found in {inputs[0]}")
        return items, parsed.label_map, parsed.n_folds
    items: List[Item] = []
    for p in inputs:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if is_audio_file(f) and not any(
                part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ValueError(f"no audio files found in folder {p}")
            items += [Item(f, str(f)) for f in found]
        elif p.suffix.lower() in LIST_SUFFIXES and p.is_file():
            try:
                lines = p.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise ValueError(f"{p}: a list of files must be UTF-8 text") from None
            listed = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            if not listed:
                raise ValueError(f"{p} lists no files")
            for ln in listed:
                f = Path(ln) if Path(ln).is_absolute() else p.parent / ln
                items.append(Item(f, str(f)))
        else:
            items.append(Item(p, str(p)))
    seen, unique = set(), []
    for it in items:
        if it.name not in seen:
            seen.add(it.name)
            unique.append(it)
    return unique, None, 0


def column_names(size: int, aggregate: Optional[str] = None) -> List[str]:
    """Feature column names: ``rae_0 .. rae_{D-1}``; with ``"mean+std"`` ``rae_mean_i`` then
    ``rae_std_i``."""
    if aggregate == "mean+std":
        half = size // 2
        return [f"rae_mean_{i}" for i in range(half)] + [f"rae_std_{i}" for i in range(half)]
    return [f"rae_{i}" for i in range(size)]


def _load_one(embedder, item: Item, hop, segmentation):
    try:
        clip, _ = load_audio(item.path, sr=embedder.sample_rate,
                             channels=embedder.frontend.settings.channels)
        feats, spans = embedder._window_features(clip, hop, segmentation)
    except AudioError as exc:
        return exc
    except (TypeError, ValueError) as exc:
        return AudioError(item.path, str(exc))
    X = np.concatenate(feats) if len(feats) > 1 else feats[0]
    sr = float(embedder.sample_rate)
    spans_a = np.asarray(spans, dtype=np.float64) / sr
    return X, spans_a[:, 0], spans_a[:, 1]


def _aggregate(reps: np.ndarray, starts, ends, aggregate: str):
    part = reps.astype(np.float64)
    row = part.mean(axis=0)
    if aggregate == "mean+std":
        row = np.concatenate([row, part.std(axis=0)])
    return row[None].astype(np.float32), np.array([starts.min()]), np.array([ends.max()])


def _embed_one(item: Item, spec, embedder_type, batch_size: int, hop, segmentation, aggregate):
    """One file, decoded, cut and encoded in the process that runs it (module level: an
    executor may run it on another machine): ``(reps, starts, ends)`` or an AudioError. The
    embedder is rebuilt there from the model's bytes (``spec``; the ONNX session is kept
    between tasks)."""
    from ..inference.batch import _worker_model

    embedder = embedder_type(_worker_model(spec), batch_size=batch_size)
    res = _load_one(embedder, item, hop, segmentation)
    if isinstance(res, Exception):
        return res
    reps = embedder.encode(res[0])
    return (reps, res[1], res[2]) if aggregate is None else \
        _aggregate(reps, res[1], res[2], aggregate)


def iter_embeddings(embedder, items: Sequence[Item], *, hop: Optional[float] = None,
                    aggregate: Optional[str] = None, segmentation: str = "windows",
                    workers: Optional[int] = None, executor: Optional[Executor] = None
                    ) -> Iterator[Tuple[Item, Any]]:
    """``(item, (reps, starts, ends))`` per file in input order, or ``(item, AudioError)``
    for a file that cannot be used. ``reps`` float32 ``(rows, D)``; times in seconds.

    With an ``executor`` (:func:`rae_fast.distributed.embed` passes a Ray executor) each file
    is decoded and encoded where the executor runs it (the model's bytes travel with the
    work, one ONNX Runtime thread per task); the rows are those of this process (ONNX Runtime
    computes every row independently of the others in its batch)."""
    if aggregate not in (None, "mean", "mean+std"):
        raise ValueError(f"aggregate must be None, 'mean' or 'mean+std', got {aggregate!r}")
    if segmentation not in ("windows", "preprocess"):
        raise ValueError(f"segmentation must be 'windows' or 'preprocess', got {segmentation!r}")
    workers = default_threads() if workers is None else check_int(workers, "workers", 1, 1024)
    if hop is not None:
        embedder._hop_samples(hop)                      # validate before any work
    if executor is not None:
        from ..inference.batch import _model_spec

        spec = _model_spec(embedder.model, 1)
        with contextlib.closing(executor.imap(_embed_one, items, spec, type(embedder),
                                              embedder.batch_size, hop, segmentation,
                                              aggregate)) as results:
            yield from zip(items, results)
        return
    batch_rows = max(embedder.batch_size, 1)
    pending: List[Tuple[Item, Any]] = []
    rows = 0

    def flush():
        good = [(it, r) for it, r in pending if not isinstance(r, Exception)]
        if good:
            X = np.concatenate([r[0] for _, r in good]) if len(good) > 1 else good[0][1][0]
            reps = embedder.encode(X)
        pos = 0
        for it, r in pending:
            if isinstance(r, Exception):
                yield it, r
                continue
            n = r[0].shape[0]
            part = reps[pos:pos + n]
            pos += n
            if aggregate is None:
                yield it, (part, r[1], r[2])
            else:
                yield it, _aggregate(part, r[1], r[2], aggregate)
        pending.clear()

    work = ordered_map(lambda it: _load_one(embedder, it, hop, segmentation), items, workers,
                       max_pending=4 * workers + batch_rows, name="rae-embed")
    for item, result in work:
        pending.append((item, result))
        if not isinstance(result, Exception):
            rows += result[0].shape[0]
        if rows >= batch_rows:
            yield from flush()
            rows = 0
    yield from flush()


def _check_embedder(embedder) -> None:
    if not hasattr(embedder, "frontend") or not hasattr(embedder, "encode"):
        raise TypeError(f"embedder must be a rae_fast.embedding.Embedder, got "
                        f"{type(embedder).__name__}")


def embed_files(embedder, paths: Sequence[PathLike], *, hop: Optional[float] = None,
                aggregate: Optional[str] = None, segmentation: str = "windows",
                workers: Optional[int] = None, progress: Optional[bool] = None,
                skip_bad: bool = False):
    """Embed audio files into a ``pandas.DataFrame`` indexed by ``(file, start, end)``.

    ``file`` is the path as given; ``start`` / ``end`` are ``pandas.Timedelta`` (the clip's
    time span of the window; with ``aggregate`` the file's). Columns :func:`column_names`.
    Unusable files raise :class:`~rae_fast.audio.AudioError` naming the file, or are left out
    with ``skip_bad=True`` and listed in ``df.attrs["skipped"]`` (``[(file, reason)]``).
    """
    import pandas as pd

    _check_embedder(embedder)
    items, _, _ = collect_inputs(paths) if not isinstance(paths, (str, os.PathLike)) \
        else collect_inputs([paths])
    return _frame(embedder, items, hop=hop, aggregate=aggregate, segmentation=segmentation,
                  workers=workers, progress=progress, skip_bad=skip_bad, pd=pd)


def _good_rows(embedder, items, skipped: list, *, hop, aggregate, segmentation, workers,
               progress, skip_bad, total: int, initial: int = 0,
               executor: Optional[Executor] = None):
    """``(item, reps, starts, ends)`` of the usable files, with a progress bar; unusable files
    raise, or go to ``skipped`` with ``skip_bad``."""
    with progress_bar(total=total, initial=initial, desc="embed", unit="file",
                      disable=None if progress is None else not progress) as bar:
        for item, res in iter_embeddings(embedder, items, hop=hop, aggregate=aggregate,
                                         segmentation=segmentation, workers=workers,
                                         executor=executor):
            bar.update(1)
            if isinstance(res, Exception):
                if not skip_bad:
                    raise res
                skipped.append((item.name, getattr(res, "reason", str(res))))
                continue
            yield (item, *res)


def _frame(embedder, items, *, hop, aggregate, segmentation, workers, progress, skip_bad, pd):
    names: List[str] = []
    starts: List[np.ndarray] = []
    ends: List[np.ndarray] = []
    blocks: List[np.ndarray] = []
    skipped: List[Tuple[str, str]] = []
    for item, reps, s, e in _good_rows(embedder, items, skipped, hop=hop, aggregate=aggregate,
                                       segmentation=segmentation, workers=workers,
                                       progress=progress, skip_bad=skip_bad,
                                       total=len(items)):
        names += [item.name] * len(reps)
        starts.append(s)
        ends.append(e)
        blocks.append(reps)
    width = embedder.embedding_size * (2 if aggregate == "mean+std" else 1)
    data = np.concatenate(blocks) if blocks else np.zeros((0, width), np.float32)
    index = pd.MultiIndex.from_arrays(
        [pd.Index(names, dtype=object, name="file"),
         pd.to_timedelta(np.concatenate(starts) if starts else np.zeros(0), unit="s"),
         pd.to_timedelta(np.concatenate(ends) if ends else np.zeros(0), unit="s")],
        names=["file", "start", "end"])
    df = pd.DataFrame(data, index=index, columns=column_names(width, aggregate))
    df.attrs["skipped"] = skipped
    df.attrs["model"] = str(embedder.path)
    return df


# ---------------------------------------------------------------------------- to a file

@dataclasses.dataclass
class EmbedResult:
    """What :func:`embed_to_file` did (``seconds``: wall time of this run)."""
    path: Path
    n_files: int
    n_rows: int
    n_resumed_files: int
    skipped: List[Tuple[str, str]]
    seconds: float


def _output_format(output: Path) -> str:
    fmt = OUTPUT_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise ValueError(f"output must end in {', '.join(OUTPUT_FORMATS)} (the suffix picks the "
                         f"format), got {output.name!r}")
    return fmt


def _stream_path(output: Path) -> Path:
    """The resumable netCDF file rows are streamed into (the output itself for ``.nc``)."""
    return output if output.suffix.lower() == ".nc" else \
        output.with_name(output.name + ".embedding.nc")


def embed_to_file(embedder, inputs: Sequence[PathLike], output: PathLike, *,
                  hop: Optional[float] = None, aggregate: Optional[str] = None,
                  segmentation: str = "windows", workers: Optional[int] = None,
                  progress: Optional[bool] = None, skip_bad: bool = False,
                  resume: bool = True, parser: str = "auto",
                  executor: Optional[Executor] = None) -> EmbedResult:
    """Embed files, folders or list files (see :func:`collect_inputs`) into ``output``.

    The suffix picks the format: ``.csv`` (columns ``file, start, end, rae_0, ...``; times in
    seconds), ``.parquet`` (the same, typed) or ``.nc`` (auDeep's data model, see the module
    docstring). Rows go first into a resumable netCDF file (``output`` itself for ``.nc``,
    else ``<output>.embedding.nc``); an interrupted run keeps it as ``.partial`` and a rerun
    with the same model, inputs and options resumes after the last complete file. The output
    appears atomically at the end. ``executor``: see :func:`iter_embeddings`
    (:func:`rae_fast.distributed.embed`).
    """
    t0 = time.perf_counter()
    _check_embedder(embedder)
    output = Path(output)
    fmt = _output_format(output)
    if output.is_dir():
        raise IsADirectoryError(f"output {output} is a folder")
    items, label_map, n_folds = collect_inputs(inputs, parser)
    if any(it.path.resolve() == output.resolve() for it in items):
        raise ValueError(f"output {output} is also an input")
    width = embedder.embedding_size * (2 if aggregate == "mean+std" else 1)
    attrs = {"embedding": {
        "model": Path(embedder.path).name, "model_sha256": embedder.sha256,
        "hop_seconds": hop, "aggregate": aggregate, "segmentation": segmentation,
        "window_seconds": embedder.window_seconds, "sample_rate": embedder.sample_rate,
        "inputs_sha256": files_fingerprint((it.name, it.path) for it in items), "columns": column_names(width, aggregate)}}
    stream = _stream_path(output)
    skipped: List[Tuple[str, str]] = []
    resumed = 0
    if not (fmt != "nc" and stream.exists() and resume and _complete_stream(stream, attrs)):
        writer = DataSetWriter(stream, ("generated",), (width,), n_folds, label_map, attrs,
                               resume=resume, extra_columns=("start", "end"))
        try:
            done = writer.written_filenames() if writer.resumed else set()
            todo = [it for it in items if it.name not in done]
            resumed = len(items) - len(todo)
            for item, reps, s, e in _good_rows(
                    embedder, todo, skipped, hop=hop, aggregate=aggregate,
                    segmentation=segmentation, workers=workers, progress=progress,
                    skip_bad=skip_bad, total=len(items), initial=resumed,
                    executor=executor):
                k = len(reps)
                writer.append(reps, [item.name] * k, chunk_nr=np.arange(k),
                              label_nominal=[item.label_nominal] * k,
                              cv_folds=np.repeat(np.asarray([item.cv_folds], np.int64)
                                                 .reshape(1, n_folds), k, axis=0),
                              partition=[item.partition] * k,
                              extra={"start": s, "end": e})
            writer.close(extra_attrs={"skipped_files": [f"{n}: {r}" for n, r in skipped]})
        except BaseException:
            writer.abort()
            raise
    n_rows = _finish(stream, output, fmt)
    return EmbedResult(output, len(items) - len(skipped), n_rows, resumed, skipped,
                       time.perf_counter() - t0)


def _complete_stream(stream: Path, attrs: Dict[str, Any]) -> bool:
    """A finished stream file of the same run (its conversion was interrupted)."""
    try:
        ds = load(stream, lazy=True)
    except (OSError, ValueError):
        return False
    try:
        return ds.attrs.get("embedding") == json.loads(json.dumps(attrs["embedding"]))
    finally:
        ds.close()


def _finish(stream: Path, output: Path, fmt: str) -> int:
    """Convert the stream file into ``output`` (atomically) and remove it; returns the rows."""
    ds = load(stream, lazy=True)
    try:
        n = len(ds)
        if fmt == "nc":
            return n
        extra = read_extra_columns(stream)
        cols = ds.attrs["embedding"]["columns"]
        if fmt == "csv":
            _write_csv(ds, extra, cols, output)
        else:
            _write_parquet(ds, extra, cols, output)
    finally:
        ds.close()
    with contextlib.suppress(FileNotFoundError):
        stream.unlink()
    return n


def _write_csv(ds, extra, cols, output: Path) -> None:
    import csv
    import io

    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "start", "end"] + list(cols))
        for a, b, x in ds.iter_batches(4096):
            buf = io.StringIO()
            bw = csv.writer(buf, lineterminator="\n")
            for i in range(a, b):
                bw.writerow([ds.filenames[i], f"{extra['start'][i]:.9g}",
                             f"{extra['end'][i]:.9g}"] + [f"{v:.9g}" for v in x[i - a]])
            fh.write(buf.getvalue())


def _write_parquet(ds, extra, cols, output: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("writing .parquet needs pyarrow: pip install 'rae_fast[parquet]'") \
            from None
    schema = pa.schema([("file", pa.string()), ("start", pa.float64()), ("end", pa.float64())]
                       + [(c, pa.float32()) for c in cols])
    with atomic_path(output) as tmp:
        with pq.ParquetWriter(str(tmp), schema) as pw:
            for a, b, x in ds.iter_batches(8192):
                arrays = [pa.array([str(f) for f in ds.filenames[a:b]], pa.string()),
                          pa.array(extra["start"][a:b], pa.float64()),
                          pa.array(extra["end"][a:b], pa.float64())]
                arrays += [pa.array(x[:, j], pa.float32()) for j in range(x.shape[1])]
                pw.write_table(pa.Table.from_arrays(arrays, schema=schema))
