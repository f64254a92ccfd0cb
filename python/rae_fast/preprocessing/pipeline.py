"""The streaming ``preprocess`` pipeline: a whole audio collection -> one netCDF data set."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._executor import Executor, ThreadExecutor
from .._validation import check_int, default_threads
from ..audio import AudioError, PathLike, audio_info
from ..dataset import DataSetWriter
from ..layouts import parse_dataset
from ..progress import progress as progress_bar
from .features import extract_features
from .settings import FeatureSettings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- whole collections

@dataclasses.dataclass
class PreprocessResult:
    """Summary of :func:`preprocess` (``seconds`` is wall time of this run)."""
    path: Path
    parser: str
    n_files: int
    n_instances: int
    feature_shape: Tuple[int, ...]
    skipped: List[Tuple[str, str]]
    resumed_files: int
    processed_files: int
    seconds: float


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


def _features_or_error(inst, settings: FeatureSettings):
    """The features of one file, or the :class:`AudioError` naming it (module level: an
    executor may run it in another process)."""
    try:
        return extract_features(inst.path, settings)
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
               progress: Optional[bool] = None,
               executor: Optional[Executor] = None) -> PreprocessResult:
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
    executor : optional
        Where the headers are read and the features computed
        (:class:`rae_fast._executor.ThreadExecutor` with ``workers`` threads by default;
        :func:`rae_fast.distributed.preprocess` passes a Ray executor). The output does not
        depend on it: results are written in the collection's order.

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
    if not isinstance(settings, FeatureSettings):
        raise TypeError(f"settings must be a FeatureSettings, got {type(settings).__name__}")
    workers = default_threads() if workers is None else check_int(workers, "workers", 1, 1024)
    if executor is None:
        executor = ThreadExecutor(workers, max_pending=4 * workers)
    t0 = time.perf_counter()
    output = Path(output)
    parsed = parse_dataset(basedir, parser, **(parser_options or {}))
    instances = parsed.instances
    if not instances:
        raise ValueError(f"no audio files found in {basedir} (parser {parsed.parser})")

    # 1. headers of every file, in parallel: report all unusable files at once
    bad: List[Tuple[str, str]] = []
    shapes: Dict[Tuple[int, ...], List] = {}  # shape -> [count, first file]
    good = []
    with contextlib.closing(executor.imap(_info_or_error, instances, chunk=256)) as infos:
        for inst, info in zip(instances, infos):   # consumed as they come: memory stays flat
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

    attrs = settings.to_attrs()
    attrs.update({"source.parser": parsed.parser, "source.basedir": str(Path(basedir).resolve()),
                  "source.n_files": len(instances),
                  "source.files_sha256": _files_fingerprint(instances),
                  "source.parser_options": dict(parser_options or {})})
    writer = DataSetWriter(output, settings.feature_dims, shape, parsed.n_folds,
                           parsed.label_map, attrs, resume=resume)
    try:
        done = writer.written_filenames() if writer.resumed else set()
        todo = [inst for inst in good if inst.filename not in done]
        resumed_files = len(good) - len(todo)
        n_bad_late = 0
        with progress_bar(total=len(good), initial=resumed_files, desc="preprocess", unit="file",
                      disable=None if progress is None else not progress) as bar, \
                contextlib.closing(executor.imap(_features_or_error, todo, settings)) as results:
            for inst, result in zip(todo, results):
                if isinstance(result, AudioError):
                    if not skip_bad:
                        raise result
                    bad.append((inst.filename, result.reason))
                    n_bad_late += 1
                    bar.update(1)
                    continue
                if result.shape[1:] != tuple(shape):
                    raise AudioError(inst.path, f"gives features of shape {result.shape[1:]}, "
                                                f"expected {tuple(shape)} like the other files")
                k = result.shape[0]
                writer.append(result, [inst.filename] * k, chunk_nr=np.arange(k),
                              label_nominal=[inst.label_nominal] * k,
                              cv_folds=np.repeat(np.asarray([inst.cv_folds], np.int64).reshape(
                                  1, parsed.n_folds), k, axis=0),
                              partition=[inst.partition] * k)
                bar.update(1)
        n_instances = writer.n_written
        writer.close(extra_attrs={"skipped_files": [f"{n}: {r}" for n, r in bad]})
    except BaseException:
        writer.abort()
        raise
    if bad:
        log.info("skipped %d unusable file(s):\n%s", len(bad), _format_bad(bad))
    return PreprocessResult(output, parsed.parser, len(good) - n_bad_late, n_instances,
                            tuple(shape), bad, resumed_files, len(todo),
                            time.perf_counter() - t0)

