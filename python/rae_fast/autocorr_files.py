"""Autocorrelograms of audio files, written as ``.npy`` arrays, ``.obj`` meshes or ``.png`` pictures.

(:mod:`rae_fast.autocorr` holds the signal functions; this module runs them over files and
folders, as ``rae-fast autocorrelogram`` does.)

Outputs, for an input ``x.wav`` (a folder among the inputs is walked for audio files, and its
sub-folders are kept under the output folder, so that ``ESC-10/001 - Dog bark/1-100032-A.ogg``
gives ``OUT/001 - Dog bark/1-100032-A.obj``, a layout :func:`rae_fast.obj.load_dataset` reads):

* ``npy``: ``x.npy`` (float32 ``(n_lags, n_frames)``, :func:`numpy.load`) and ``x.axes.npz``
  (``times_s``, ``lags_ms``, ``sr``, ``frame_length``, ``hop_length``, ``center``);
* ``obj``: ``x.obj``, a Wavefront OBJ surface (:func:`rae_fast.obj.write_autocorrelogram`);
* ``png``: ``x.png``, a heatmap or 3-D surface (:func:`rae_fast.plotting.plot_autocorrelogram`).

Every output is written atomically. A rerun skips the outputs that already exist (resume), so
an interrupted run just continues; ``overwrite=True`` recomputes them. The settings are kept in
``OUT/autocorrelogram_settings.json``; a rerun with other settings into the same folder is
refused (instead of silently mixing results) unless ``overwrite=True``.

Unusable files (not audio, empty, truncated, too short for a frame without centring...): by
default the run stops at the first one, naming it (the outputs written so far are complete and
kept); with ``skip_bad=True`` they are skipped and listed in the result. Settings that are
impossible whatever the file (e.g. ``max_lag >= frame_length``) fail before any file is read.

>>> res = write_autocorrelograms(["clips/"], "acf", formats=("npy", "obj"))   # doctest: +SKIP
>>> res.n_written, res.skipped                                                 # doctest: +SKIP
(40, [])
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._executor import Executor, ThreadExecutor
from ._io import atomic_path, atomic_write_text, printable
from ._validation import check_float, check_int, default_threads
from .audio import CHANNEL_MODES, AudioError, load_audio
from .autocorr import autocorrelogram, autocorrelogram_axes
from .layouts import is_audio_file
from .progress import progress as progress_bar

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["FORMATS", "SETTINGS_FILE", "AutocorrelogramSettings", "AutocorrelogramResult",
           "write_autocorrelograms", "collect_audio_files"]

FORMATS = ("npy", "obj", "png")
SETTINGS_FILE = "autocorrelogram_settings.json"


@dataclasses.dataclass(frozen=True)
class AutocorrelogramSettings:
    """How each file's autocorrelogram is computed and written (see
    :func:`rae_fast.autocorrelogram` for the signal parameters).

    ``sr`` resamples every file first (None keeps its rate); ``channels`` is the channel
    fusion; ``normals`` / ``precision`` apply to OBJ meshes, ``plot_kind`` to PNG pictures.
    """
    sr: Optional[float] = None
    channels: str = "mean"
    frame_length: int = 2048
    hop_length: int = 512
    max_lag: Optional[int] = None
    fmin: Optional[float] = None
    window: Optional[str] = None
    normalize: Optional[str] = "lag0"
    center: bool = True
    detrend: bool = False
    normals: bool = False
    precision: int = 9
    plot_kind: str = "heatmap"

    def __post_init__(self):
        check_int(self.precision, "precision", 1, 17)
        if self.sr is not None:
            check_float(self.sr, "sr", minimum=0.0, strict_min=True)
        if self.fmin is not None:
            check_float(self.fmin, "fmin", minimum=0.0, strict_min=True)
        if self.fmin is not None and self.max_lag is not None:
            raise ValueError("give max_lag or fmin, not both")
        if self.channels not in CHANNEL_MODES:
            raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {self.channels!r}")
        if self.plot_kind not in ("heatmap", "surface"):
            raise ValueError(f"plot_kind must be 'heatmap' or 'surface', got {self.plot_kind!r}")
        n = 1 if self.center else max(1, int(self.frame_length))
        try:        # the signal function's own checks, on a dummy signal, before any file
            autocorrelogram(np.zeros(n, np.float32), sr=self.sr,
                            fmin=self.fmin if self.sr is not None else None,
                            frame_length=self.frame_length, hop_length=self.hop_length,
                            max_lag=self.max_lag, center=self.center, window=self.window,
                            normalize=self.normalize, detrend=self.detrend, n_threads=1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"impossible settings: {exc}") from None

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class AutocorrelogramResult:
    """What :func:`write_autocorrelograms` did: ``n_files`` inputs, ``n_written`` files whose
    outputs were computed in this run, ``n_done_before`` found complete, ``skipped``
    ``[(file, reason)]`` (with ``skip_bad``), ``seconds`` of wall time."""
    out: Path
    n_files: int
    n_written: int
    n_done_before: int
    skipped: List[Tuple[str, str]]
    seconds: float


def collect_audio_files(inputs: Sequence[PathLike]) -> List[Tuple[Path, Path]]:
    """``[(audio file, output stem relative to the output folder)]`` for files and folders.

    Folders are walked for audio files (hidden ones skipped) and keep their sub-folders; a file
    given by name is kept even if it is not audio (it fails, by name, when read). Two inputs
    that would write the same outputs are refused.
    """
    jobs: List[Tuple[Path, Path]] = []
    seen = set()
    for arg in inputs:
        p = Path(arg)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if is_audio_file(f)
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ValueError(f"no audio files found in folder {printable(p)}")
            items = [(f, f.relative_to(p).with_suffix("")) for f in found]
        else:
            items = [(p, Path(p.stem))]
        for f, base in items:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                jobs.append((f, base))
    clash: Dict[Path, Path] = {}
    for f, base in jobs:
        if base in clash:
            raise ValueError(f"{printable(clash[base])} and {printable(f)} would write the same "
                             f"outputs ({printable(base.as_posix())}.*); pass their folder "
                             f"instead, or write them into different output folders")
        clash[base] = f
    return jobs


def _check_manifest(out: Path, settings: Dict, overwrite: bool) -> None:
    path = out / SETTINGS_FILE
    if path.exists() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            old = None
        if not isinstance(old, dict):
            raise ValueError(f"{path} is not a settings file written by rae_fast; remove it or "
                             f"use overwrite=True")
        if old != settings:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in settings.items()
                             if old.get(k) != v)
            raise ValueError(f"{out} holds autocorrelograms made with other settings ({diff}); "
                             f"use overwrite=True to recompute them, or another output folder")
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(settings, indent=2) + "\n")


def _outputs(out: Path, base: Path, formats) -> List[Tuple[str, Path]]:
    stem = out / base
    res = []
    for fmt in formats:
        if fmt == "npy":
            res += [("npy", stem.with_name(stem.name + ".npy")),
                    ("axes", stem.with_name(stem.name + ".axes.npz"))]
        else:
            res.append((fmt, stem.with_name(stem.name + "." + fmt)))
    return res


class _FileError(Exception):
    """A problem with one input file (reported by name; skipped with skip_bad)."""


def _process(src: Path, todo: List[Tuple[str, Path]], s: AutocorrelogramSettings,
             n_threads: Optional[int]) -> None:
    try:
        y, sr = load_audio(src, sr=s.sr, channels=s.channels)
        A = autocorrelogram(y, sr=sr, frame_length=s.frame_length, hop_length=s.hop_length,
                            max_lag=s.max_lag, fmin=s.fmin, center=s.center, window=s.window,
                            normalize=s.normalize, detrend=s.detrend, n_threads=n_threads)
        times, lags_ms = autocorrelogram_axes(A.shape[1], A.shape[0], sr, s.hop_length,
                                              s.frame_length, s.center)
    except AudioError as exc:
        raise _FileError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise _FileError(f"{printable(src)}: {exc}") from None
    for fmt, path in todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # small files by the thousand: no fsync each (a full disk still fails the write)
            if fmt == "npy":
                with atomic_path(path, fsync=False) as tmp, open(tmp, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(A, dtype=np.float32))
            elif fmt == "axes":
                with atomic_path(path, fsync=False) as tmp, open(tmp, "wb") as fh:
                    np.savez(fh, times_s=times, lags_ms=lags_ms, sr=np.float64(sr),
                             frame_length=np.int64(s.frame_length),
                             hop_length=np.int64(s.hop_length), center=np.bool_(s.center))
            elif fmt == "obj":
                from .obj import write_autocorrelogram
                write_autocorrelogram(path, A, times, lags_ms, normals=s.normals,
                                      precision=s.precision,
                                      comment=f"source: {printable(src)}\nsettings: "
                                              f"{json.dumps(s.to_dict())}")
            else:
                from .plotting import plot_autocorrelogram
                plot_autocorrelogram(A, times, lags_ms, path, kind=s.plot_kind,
                                     title=str(src.name))
        except (TypeError, ValueError) as exc:
            raise _FileError(f"{printable(src)}: cannot write {printable(path.name)}: "
                             f"{exc}") from None


def _process_or_error(job: Tuple[Path, List[Tuple[str, Path]]], s: AutocorrelogramSettings,
                      n_threads: Optional[int]) -> Optional[str]:
    """Write one file's outputs; ``None``, or the reason it is unusable (module level: an
    executor may run it in another process)."""
    try:
        _process(job[0], job[1], s, n_threads)
    except _FileError as exc:
        return str(exc)
    return None


def write_autocorrelograms(inputs: Sequence[PathLike], out: PathLike,
                           settings: AutocorrelogramSettings = AutocorrelogramSettings(), *,
                           formats: Sequence[str] = ("npy",), workers: Optional[int] = None,
                           skip_bad: bool = False, overwrite: bool = False,
                           progress: Optional[bool] = None,
                           executor: Optional[Executor] = None) -> AutocorrelogramResult:
    """Compute the autocorrelogram of every audio file and write it in ``formats``.

    Parameters
    ----------
    inputs : files and / or folders (walked for audio files)
    out : output folder (created)
    settings : AutocorrelogramSettings
    formats : subset of :data:`FORMATS`
    workers : files processed in parallel (default: all cores; 1 gives each file all cores)
    skip_bad : skip unusable files (listed in the result) instead of stopping at the first
    overwrite : recompute existing outputs and replace a settings file made with other settings
    progress : progress bar (None: on a terminal only)
    executor : where the files are processed (default: ``workers`` threads here;
        :func:`rae_fast.distributed.write_autocorrelograms` passes a Ray executor, whose
        workers write into ``out``, which must then be a folder every node can write)

    Returns
    -------
    AutocorrelogramResult

    Raises
    ------
    ValueError
        Impossible settings, an unusable file (unless ``skip_bad``, naming it), other settings
        in ``out``. On Ctrl-C the files in progress are finished and every output written is
        complete.
    """
    t0 = time.perf_counter()
    if not isinstance(settings, AutocorrelogramSettings):
        raise TypeError(f"settings must be an AutocorrelogramSettings, got "
                        f"{type(settings).__name__}")
    formats = list(dict.fromkeys(formats))
    bad_fmt = [f for f in formats if f not in FORMATS]
    if bad_fmt or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats}")
    if workers is not None:
        workers = check_int(workers, "workers", 1, 1024)
    if "png" in formats:
        from .plotting import _matplotlib
        _matplotlib()                                   # fail now if matplotlib is missing
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"the output {out} exists and is not a folder")
    jobs = collect_audio_files(inputs)
    _check_manifest(out, settings.to_dict(), overwrite)
    work = []
    for src, base in jobs:
        todo = [(fmt, p) for fmt, p in _outputs(out, base, formats)
                if overwrite or not p.exists()]
        if todo:
            work.append((src, todo))
    done_before = len(jobs) - len(work)
    if executor is None:
        workers = workers or min(len(work), default_threads()) or 1
        # a failure or Ctrl-C stops the run after the files being processed: the results are
        # consumed in order and the files not yet started are cancelled
        executor = ThreadExecutor(workers, max_pending=2 * workers, name="rae-acf")
        n_threads = None if workers == 1 else 1
    else:
        n_threads = 1
    skipped: List[Tuple[str, str]] = []
    with progress_bar(total=len(jobs), initial=done_before, desc="autocorrelogram",
                      unit="file", disable=None if progress is None else not progress) as bar, \
            contextlib.closing(executor.imap(_process_or_error, work, settings,
                                             n_threads)) as results:
        for (src, _), error in zip(work, results):
            if error is not None:
                if not skip_bad:
                    raise ValueError(f"{error} (use skip_bad to skip unusable files)")
                skipped.append((str(src), error))
            bar.update(1)
    return AutocorrelogramResult(out, len(jobs), len(work) - len(skipped), done_before, skipped,
                                 time.perf_counter() - t0)
