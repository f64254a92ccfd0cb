"""The streaming ``preprocess`` pipeline: a whole audio collection -> one netCDF data set."""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import warnings

import numpy as np

from .._validation import check_int, default_threads
from ..audio import AudioError, PathLike, audio_info
from ..dataset import DataSetWriter
from ..layouts import parse_dataset
from ..progress import progress as progress_bar
from .features import extract_features, extract_features_clippings
from .settings import FeatureSettings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- whole collections

@dataclasses.dataclass
class PreprocessResult:
    """Summary of :func:`preprocess` (``seconds`` is wall time of this run; ``floor_fraction``:
    share of the frames written in this run whose every value sits at the instance's floor --
    digital silence, padding or everything clipped -- for spectrograms, else ``None``)."""
    path: Path
    parser: str
    n_files: int
    n_instances: int
    feature_shape: Tuple[int, ...]
    skipped: List[Tuple[str, str]]
    resumed_files: int
    processed_files: int
    seconds: float
    floor_fraction: Optional[float] = None


def _ordered_map(fn: Callable, items: Sequence, workers: int,
                 max_pending: int) -> Iterator[Tuple[Any, Any]]:
    """``(item, fn(item))`` in input order, at most ``max_pending`` results in flight."""
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rae-preprocess") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) >= max_pending:
                    it, fut = pending.popleft()
                    yield it, fut.result()
            while pending:
                it, fut = pending.popleft()
                yield it, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()


def _files_fingerprint(instances) -> str:
    h = hashlib.sha256()
    for inst in instances:
        try:
            st = inst.path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{inst.filename}\0{stamp}\0".encode())
    return h.hexdigest()


def _info_or_error(inst):
    try:
        return audio_info(inst.path)
    except AudioError as exc:
        return exc


def _check_header(inst, info, settings: FeatureSettings, bad: list, shapes: dict,
                  good: list) -> None:
    """Sort one file of the header pass into ``bad`` / ``good`` and count its shape."""
    if isinstance(info, AudioError):
        bad.append((inst.filename, info.reason))
        return
    n = info.frames if settings.sr is None else int(round(info.frames * settings.sr / info.sr))
    sr = info.sr if settings.sr is None else settings.sr
    try:
        shape = settings.expected_shape(n, sr)
    except ValueError as exc:
        bad.append((inst.filename, str(exc)))
        return
    entry = shapes.setdefault(shape, [0, inst.filename])
    entry[0] += 1
    good.append(inst)


def _format_bad(bad: List[Tuple[str, str]], limit: int = 20) -> str:
    lines = [f"  {name}: {reason}" for name, reason in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def preprocess(basedir: PathLike, output: PathLike, settings: FeatureSettings = FeatureSettings(),
               parser: str = "auto", parser_options: Optional[Dict[str, Any]] = None,
               workers: Optional[int] = None, skip_bad: bool = False, resume: bool = True,
               progress: Optional[bool] = None) -> PreprocessResult:
    """Turn an audio collection into a netCDF data set of features, streaming to disk.

    Parses ``basedir`` (:func:`rae_fast.layouts.parse_dataset`), checks every file's header
    first (all unreadable / too short files are reported together), then computes the
    features with ``workers`` threads (results do not depend on it) and appends them, in
    order, to ``<output>.partial``, renamed to ``output`` at the end. An interruption leaves
    only ``<output>.partial``; running again with the same settings and files resumes after
    the last written file, different settings start again.

    Parameters
    ----------
    basedir : folder of the collection
    output : the ``.nc`` file to write
    settings : FeatureSettings
    parser : str
        A parser name (``rae_fast.layouts.PARSERS``) or ``"auto"``.
    parser_options : dict, optional
        Options for the parser (e.g. ``{"n_folds": 5}`` for ``class_folders``).
    workers : int, optional
        Worker threads (default: all cores).
    skip_bad : bool
        Skip unusable files (listed in the result and in the file's ``skipped_files``
        attribute) instead of failing.
    resume : bool
        Continue a matching ``<output>.partial`` (default) or always start from scratch.
    progress : bool or None
        Progress bar (None: only on a terminal).

    Returns
    -------
    PreprocessResult

    Raises
    ------
    ValueError
        Unparseable folder, bad files (unless ``skip_bad``), clips of different lengths
        without ``fixed_length``, too few chunks... (:class:`AudioError` names the file.)

    >>> res = preprocess("esc10", "esc10.nc", FeatureSettings(fixed_length=5.0,
    ...                  center_fixed=True), workers=2)            # doctest: +SKIP
    >>> res.n_instances, res.feature_shape                          # doctest: +SKIP
    (400, (124, 128))
    """
    return _preprocess(basedir, [(Path(output), settings)], settings, None, parser,
                       parser_options, workers, skip_bad, resume, progress)[0]


def clip_name(value: Optional[float]) -> str:
    """``-30.0`` -> ``"-30"``, ``-45.5`` -> ``"-45.5"``, ``None`` -> ``"none"``.

    >>> clip_name(-60.0), clip_name(None)
    ('-60', 'none')
    """
    return "none" if value is None else f"{float(value):g}"


def preprocess_clippings(basedir: PathLike, output: str, clip_below: Sequence[Optional[float]],
                         settings: FeatureSettings = FeatureSettings(), parser: str = "auto",
                         parser_options: Optional[Dict[str, Any]] = None,
                         workers: Optional[int] = None, skip_bad: bool = False,
                         resume: bool = True, progress: Optional[bool] = None
                         ) -> List[PreprocessResult]:
    """:func:`preprocess` for several ``clip_below`` values with one decode of the audio.

    Every file is read and transformed (frames, FFT, mel bands) once; each clipping gets its
    own dB conversion, clipping and normalisation and its own output file, ``output`` with
    ``{clip}`` replaced by :func:`clip_name` of the value (e.g. ``"esc10_{clip}.nc"`` ->
    ``esc10_-30.nc``, ``esc10_-60.nc``). Each file is identical to the one :func:`preprocess`
    writes with ``dataclasses.replace(settings, clip_below=value)`` (same features, metadata and
    attributes), and each resumes on its own after an interruption. auDeep's recipes train one
    autoencoder per clipping of the same audio.

    Parameters
    ----------
    output : str
        File name pattern; must contain ``{clip}`` when there are several values.
    clip_below : sequence of float or None
        dB values (0 dB = the clip's maximum), distinct.
    settings : FeatureSettings
        Spectrogram settings; its own ``clip_below`` is ignored.
    (the other parameters as for :func:`preprocess`)

    Returns
    -------
    list of PreprocessResult, one per value, in order

    >>> res = preprocess_clippings("esc10", "esc10_{clip}.nc", [-30, -45, -60, -75],
    ...                            FeatureSettings(fixed_length=5.0))      # doctest: +SKIP
    >>> [r.path.name for r in res]                                         # doctest: +SKIP
    ['esc10_-30.nc', 'esc10_-45.nc', 'esc10_-60.nc', 'esc10_-75.nc']
    """
    if not isinstance(settings, FeatureSettings):
        raise TypeError(f"settings must be a FeatureSettings, got {type(settings).__name__}")
    if isinstance(clip_below, (str, bytes)) or not hasattr(clip_below, "__iter__"):
        raise TypeError(f"clip_below must be a sequence of dB values, got {clip_below!r}")
    values = [None if v is None else float(v) for v in clip_below]
    if not values:
        raise ValueError("clip_below is empty")
    if len(set(values)) != len(values):
        raise ValueError(f"clip_below has repeated values: {values}")
    if settings.features != "spectrogram":
        raise ValueError("several clip_below values apply to spectrograms only "
                         "(features='spectrogram')")
    output = str(output)
    if len(values) > 1 and "{clip}" not in output:
        raise ValueError(f"output must contain {{clip}} when clip_below has several values "
                         f"(e.g. 'specs_{{clip}}.nc'), got {output!r}")
    outputs = [(Path(output.replace("{clip}", clip_name(v))),
                dataclasses.replace(settings, clip_below=v)) for v in values]
    return _preprocess(basedir, outputs, settings, values, parser, parser_options, workers,
                       skip_bad, resume, progress)


#: Share of frames at the floor above which :func:`preprocess` warns.
FLOOR_WARNING_FRACTION = 1 / 3


def _floor_frames(x: np.ndarray) -> int:
    """Frames (time steps) of ``x`` ``(k, time, bands)`` whose every value is at the floor
    (the smallest value of their instance)."""
    lo = x.min(axis=(1, 2), keepdims=True)
    return int(np.count_nonzero((x <= lo + 1e-6).all(axis=2)))


def _preprocess(basedir, outputs: List[Tuple[Path, FeatureSettings]], settings: FeatureSettings,
                clip_values: Optional[List[Optional[float]]], parser, parser_options, workers,
                skip_bad, resume, progress) -> List[PreprocessResult]:
    if not isinstance(settings, FeatureSettings):
        raise TypeError(f"settings must be a FeatureSettings, got {type(settings).__name__}")
    workers = default_threads() if workers is None else check_int(workers, "workers", 1, 1024)
    t0 = time.perf_counter()
    paths = [p for p, _ in outputs]
    if len({p.resolve() for p in paths}) != len(paths):
        raise ValueError(f"the outputs must be different files, got {[str(p) for p in paths]}")
    parsed = parse_dataset(basedir, parser, **(parser_options or {}))
    instances = parsed.instances
    if not instances:
        raise ValueError(f"no audio files found in {basedir} (parser {parsed.parser})")

    # 1. headers of every file, in parallel: report all unusable files at once
    bad: List[Tuple[str, str]] = []
    shapes: Dict[Tuple[int, ...], List] = {}  # shape -> [count, first file]
    good = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        infos = pool.map(_info_or_error, instances)  # consumed as they come: memory stays flat
        for inst, info in zip(instances, infos):
            _check_header(inst, info, settings, bad, shapes, good)
    if bad and not skip_bad:
        raise ValueError(f"{len(bad)} unusable audio file(s) in {basedir} (use skip_bad=True "
                         f"to leave them out):\n{_format_bad(bad)}")
    if not good:
        raise ValueError(f"no usable audio files in {basedir}:\n{_format_bad(bad)}")
    if len(shapes) > 1:
        examples = "; ".join(f"{v[0]} file(s) like {v[1]} -> {k[0]} frames"
                             for k, v in list(shapes.items())[:4])
        raise ValueError(f"the clips give features of different lengths ({examples}); set "
                         "fixed_length=SECONDS, or chunk_length=SECONDS with chunk_count=N, so "
                         "that every instance has the same shape")
    shape = next(iter(shapes))

    def work(inst):
        try:
            if clip_values is None:
                return [extract_features(inst.path, settings)]
            return extract_features_clippings(inst.path, settings, clip_values)
        except AudioError as exc:
            return exc

    source = {"source.parser": parsed.parser, "source.basedir": str(Path(basedir).resolve()),
              "source.n_files": len(instances),
              "source.files_sha256": _files_fingerprint(instances),
              "source.parser_options": dict(parser_options or {})}
    writers: List[DataSetWriter] = []
    try:
        for path, s_i in outputs:
            writers.append(DataSetWriter(path, s_i.feature_dims, shape, parsed.n_folds,
                                         parsed.label_map, {**s_i.to_attrs(), **source},
                                         resume=resume))
        done = [w.written_filenames() if w.resumed else set() for w in writers]
        todo = [inst for inst in good if any(inst.filename not in d for d in done)]
        n_bad_late = 0
        floor = [0] * len(writers)
        frames = [0] * len(writers)
        with progress_bar(total=len(good), initial=len(good) - len(todo), desc="preprocess",
                          unit="file", disable=None if progress is None else not progress) as bar:
            for inst, result in _ordered_map(work, todo, workers, max_pending=4 * workers):
                if isinstance(result, AudioError):
                    if not skip_bad:
                        raise result
                    bad.append((inst.filename, result.reason))
                    n_bad_late += 1
                    bar.update(1)
                    continue
                for i, (w, feats) in enumerate(zip(writers, result)):
                    if inst.filename in done[i]:
                        continue
                    if feats.shape[1:] != tuple(shape):
                        raise AudioError(inst.path, f"gives features of shape "
                                                    f"{feats.shape[1:]}, expected "
                                                    f"{tuple(shape)} like the other files")
                    k = feats.shape[0]
                    w.append(feats, [inst.filename] * k, chunk_nr=np.arange(k),
                             label_nominal=[inst.label_nominal] * k,
                             cv_folds=np.repeat(np.asarray([inst.cv_folds], np.int64).reshape(
                                 1, parsed.n_folds), k, axis=0),
                             partition=[inst.partition] * k)
                    floor[i] += _floor_frames(feats)
                    frames[i] += feats.shape[0] * feats.shape[1]
                bar.update(1)
        counts = [w.n_written for w in writers]
        for w in writers:
            w.close(extra_attrs={"skipped_files": [f"{n}: {r}" for n, r in bad]})
    except BaseException:
        for w in writers:
            w.abort()
        raise
    if bad:
        log.info("skipped %d unusable file(s):\n%s", len(bad), _format_bad(bad))
    results = []
    for i, (path, s_i) in enumerate(outputs):
        fraction = floor[i] / frames[i] if frames[i] and s_i.features == "spectrogram" \
            else None
        if fraction is not None and fraction > FLOOR_WARNING_FRACTION:
            warnings.warn(FloorWarning(path, fraction), stacklevel=3)
        n_todo = sum(inst.filename not in done[i] for inst in good)
        results.append(PreprocessResult(path, parsed.parser, len(good) - n_bad_late, counts[i],
                                        tuple(shape), bad, len(good) - n_todo, n_todo,
                                        time.perf_counter() - t0, fraction))
    return results


class FloorWarning(UserWarning):
    """More than :data:`FLOOR_WARNING_FRACTION` of a data set's frames sit at the dB floor
    (digital silence, zero padding, or everything clipped): an autoencoder then spends much of
    its loss on reproducing silence. ``path`` and ``fraction`` are attributes."""

    def __init__(self, path: Path, fraction: float):
        self.path, self.fraction = Path(path), float(fraction)
        super().__init__(f"{path}: {100 * fraction:.0f} % of the frames lie at the dB floor "
                         f"(digital silence or padding); train with mask_silence=True, shorten "
                         f"fixed_length or clip less (clip_below) so that the autoencoder does "
                         f"not spend itself on silence")
