"""The streaming ``preprocess`` pipeline: a whole audio collection -> one netCDF data set.

The header pass reads every file's header first and settles what holds for the whole
collection before any feature is computed: unusable files (all listed at once), one sampling
rate (files at several rates are refused unless ``sr`` is given; ``sr="auto"`` takes the most
common one), settings that cannot work at that rate, and one feature shape
(``fixed_length="auto"`` takes the median clip length).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._executor import Executor, ThreadExecutor
from .._io import files_fingerprint, printable
from .._validation import check_int, default_threads
from ..audio import AudioError, AudioInfo, PathLike, audio_info
from ..dataset import DataSetWriter
from ..layouts import parse_dataset
from ..progress import progress as progress_bar
from .features import OFFSET_COLUMNS, extract_features, extract_features_clippings
from .floor import FLOOR_WARNING_FRACTION, FloorWarning, clip_name, floor_frames
from .settings import AUTO, FeatureSettings

log = logging.getLogger(__name__)


class Placeholder(str):
    """A value to fill in (``SECONDS``), spelled without quotes by :func:`spell_parameter`."""


def spell_parameter(name: str, value: Any = None) -> str:
    """How the library writes a parameter in messages: ``sr=44100``, ``fixed_length="auto"``,
    ``fixed_length=SECONDS`` (a :class:`Placeholder`) or just ``skip_bad``. Front ends pass
    their own speller to :meth:`CollectionError.message` (the CLI writes ``--sr 44100``)."""
    if value is None:
        return name
    if isinstance(value, str) and not isinstance(value, Placeholder):
        return f'{name}="{value}"'
    return f"{name}={value}"


class CollectionError(ValueError):
    """A problem of a collection as a whole, found by :func:`preprocess`'s header pass.

    ``str(err)`` names the library's parameters; :meth:`message` takes another speller so
    that a front end can name its own options instead. ``also``: the other problems the
    header pass found (all are reported at once); ``fix``: the parameters that solve this
    one, e.g. ``{"sr": "auto"}``.
    """

    fix: Dict[str, Any] = {}

    def __init__(self):
        self.also: List["CollectionError"] = []
        super().__init__(self.message())

    def _own_message(self, spell: Callable[..., str]) -> str:
        raise NotImplementedError

    def message(self, spell: Callable[..., str] = spell_parameter) -> str:
        """The message, with parameters written by ``spell(name, value=None)``."""
        text = self._own_message(spell)
        for other in self.also:
            text += "\nalso: " + other._own_message(spell)
        return text

    def fixes(self) -> Dict[str, Any]:
        """The parameters that solve this problem and the others in ``also``."""
        out: Dict[str, Any] = {}
        for err in [self] + self.also:
            out.update(err.fix)
        return out

    def _with(self, others: List["CollectionError"]) -> "CollectionError":
        self.also = list(others)
        self.args = (self.message(),)
        return self

    def __reduce__(self):   # picklable (their __init__ does not take the message)
        return _rebuild_error, (type(self), self.args, dict(self.__dict__))


def _rebuild_error(cls, args, state):
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class UnusableFilesError(CollectionError):
    """Files that cannot be used (unreadable, corrupt, too short...) and ``skip_bad`` is not set.
    ``bad``: ``[(filename, reason), ...]``; ``basedir``: the collection (printable)."""

    fix = {"skip_bad": True}

    def __init__(self, basedir: str, bad: List[Tuple[str, str]]):
        self.basedir, self.bad = basedir, bad
        super().__init__()

    def _own_message(self, spell) -> str:
        return (f"{len(self.bad)} unusable audio file(s) in {self.basedir} (with "
                f"{spell('skip_bad', True)} they are left out):\n{_format_bad(self.bad)}")


class MixedSampleRatesError(CollectionError):
    """The files of a collection have several sampling rates and ``sr`` is not set.

    ``rates``: ``[(rate, n_files, example_filename), ...]``, most common first;
    ``suggested``: the most common rate (what ``sr="auto"`` chooses).
    """

    fix = {"sr": AUTO}

    def __init__(self, rates: List[Tuple[int, int, str]]):
        self.rates = rates
        self.suggested = rates[0][0]
        super().__init__()

    def describe(self) -> str:
        """``44100 Hz (300 files, e.g. a.wav), 16000 Hz (...)``."""
        return ", ".join(f"{r} Hz ({n} file{'s' if n > 1 else ''}, e.g. {ex})"
                         for r, n, ex in self.rates)

    def _own_message(self, spell) -> str:
        return (f"the files have different sample rates: {self.describe()}. Features computed "
                "at different rates do not match (the same band or lag means another frequency "
                "or delay in each file): resample every file to one rate with "
                f"{spell('sr', self.suggested)} (the most common rate) or {spell('sr', AUTO)} "
                "(which chooses it)")


class DifferentLengthsError(CollectionError):
    """The clips of a collection give features of different shapes (no ``fixed_length`` or
    chunking). ``shapes``: ``[(shape, n_files, example_filename), ...]``; ``median_s``: the
    median clip length in seconds (what ``fixed_length="auto"`` chooses)."""

    fix = {"fixed_length": AUTO}

    def __init__(self, shapes: List[Tuple[Tuple[int, ...], int, str]], median_s: float):
        self.shapes = shapes
        self.median_s = median_s
        super().__init__()

    def describe(self, limit: int = 4) -> str:
        """``3 file(s) like a.wav -> 124 frames; ...``."""
        text = "; ".join(f"{n} file(s) like {ex} -> {shape[0]} frames"
                         for shape, n, ex in self.shapes[:limit])
        if len(self.shapes) > limit:
            text += f"; and {len(self.shapes) - limit} other lengths"
        return text

    def _own_message(self, spell) -> str:
        return (f"the clips give features of different lengths ({self.describe()}): give them "
                f"one length with {spell('fixed_length', AUTO)} (the median clip length, "
                f"{self.median_s:.4g} s) or {spell('fixed_length', Placeholder('SECONDS'))}, or "
                f"split them with {spell('chunk_length')} and {spell('chunk_count')}")


# ---------------------------------------------------------------------- whole collections

@dataclasses.dataclass
class PreprocessResult:
    """Summary of :func:`preprocess` (``seconds`` is wall time of this run; ``settings`` the
    settings used, with ``"auto"`` values resolved; ``notes`` what was chosen for them;
    ``floor_fraction``: share of the frames written in this run whose every value sits at the
    instance's floor -- digital silence, padding or everything clipped -- for spectrograms,
    else ``None``)."""
    path: Path
    parser: str
    n_files: int
    n_instances: int
    feature_shape: Tuple[int, ...]
    skipped: List[Tuple[str, str]]
    resumed_files: int
    processed_files: int
    seconds: float
    settings: Optional[FeatureSettings] = None
    notes: Dict[str, str] = dataclasses.field(default_factory=dict)
    floor_fraction: Optional[float] = None


def _info_or_error(inst):
    try:
        return audio_info(inst.path)
    except AudioError as exc:
        return exc


def _features_or_error(inst, settings: FeatureSettings,
                       clip_values: Optional[List[Optional[float]]] = None):
    """``[(features, offsets)]`` of one file -- one pair per output (per ``clip_values``
    value, from one decode) -- or an :class:`AudioError` naming it (module level: an executor
    may run it in another process)."""
    try:
        if clip_values is None:
            return [extract_features(inst.path, settings, return_offsets=True)]
        return extract_features_clippings(inst.path, settings, clip_values, return_offsets=True)
    except AudioError as exc:
        return exc
    except (OSError, ValueError) as exc:   # anything else about this file: name it
        return AudioError(inst.path, str(exc) or type(exc).__name__)


def _target_frames(info: AudioInfo, sr: int) -> int:
    """Samples of the file after resampling to ``sr`` (what :func:`rae_fast.audio.resample`
    returns)."""
    return info.frames if sr == info.sr else int(round(info.frames * sr / info.sr))


def _resolve_rate(settings: FeatureSettings, files) -> Tuple[int, Optional[str]]:
    """``(rate of every instance, note on an "auto" choice)``; raises
    :class:`MixedSampleRatesError` for several rates without ``sr``. ``files``:
    ``[(instance, AudioInfo), ...]``."""
    if settings.sr is not None and settings.sr != AUTO:
        return settings.sr, None
    counts = collections.Counter(info.sr for _, info in files)
    example: Dict[int, str] = {}
    for inst, info in files:
        example.setdefault(info.sr, inst.filename)
    rates = sorted(counts, key=lambda r: (-counts[r], -r))   # ties: the higher rate
    if settings.sr is None:
        if len(rates) > 1:
            raise MixedSampleRatesError([(r, counts[r], example[r]) for r in rates])
        return rates[0], None
    chosen = rates[0]
    if len(rates) == 1:
        return chosen, f"{chosen} Hz, the rate of every file (nothing is resampled)"
    others = ", ".join(f"{r} Hz ({counts[r]})" for r in rates[1:])
    return chosen, (f"{chosen} Hz, the most common rate ({counts[chosen]} of {len(files)} "
                    f"files); the others are resampled: {others}")


def _resolve_length(settings: FeatureSettings, files, sr: int) -> Tuple[Optional[float],
                                                                        Optional[str]]:
    """``(fixed_length in seconds, note)``: ``"auto"`` becomes the median clip length."""
    if settings.fixed_length != AUTO:
        return settings.fixed_length, None
    lengths = sorted((_target_frames(info, sr), inst.filename) for inst, info in files)
    n, example = lengths[(len(lengths) - 1) // 2]      # a real clip: the lower median
    seconds = n / sr
    while int(seconds * sr) < n:                         # int(fixed_length * sr) == n
        seconds = math.nextafter(seconds, math.inf)
    longer = [k for k, _ in lengths if k > n]
    shorter = [k for k, _ in lengths if k < n]
    where = "centred" if settings.center_fixed else "at the end"
    parts = [f"{seconds:.4g} s, the median clip length (e.g. {example})"]
    if longer:
        parts.append(f"{len(longer)} longer clip(s) are cut {where} (by up to "
                     f"{(max(longer) - n) / sr:.3g} s)")
    if shorter:
        parts.append(f"{len(shorter)} shorter one(s) are zero-padded {where}")
    if not longer and not shorter:
        parts.append("every clip has that length")
    return seconds, "; ".join(parts)


def resolve_settings(settings: FeatureSettings, files) -> Tuple[FeatureSettings, Dict[str, str]]:
    """Settle the settings for a collection: ``(resolved settings, notes)``.

    ``files``: ``[(instance, AudioInfo), ...]`` of the usable files (e.g.
    ``(inst, audio_info(inst.path))`` for the instances of
    :func:`rae_fast.layouts.parse_dataset`). ``sr="auto"`` becomes the most common rate
    (ties: the higher) and ``fixed_length="auto"`` the median clip length at that rate (the
    lower median: the length of a real clip), as numbers; ``notes`` maps each parameter that
    was ``"auto"`` to a sentence saying what was chosen. Then
    :meth:`FeatureSettings.check_rate` checks the settings at the rate of the instances.

    The median, not the longest clip: one long outlier does not blow every instance up (and
    fill it with padding), and a collection of nominally equal clips with a few that are off
    (ESC-10: 380 of 400 clips are 5.0 s, the others 3.6 - 7.2 s) gets its nominal length,
    auDeep's own setting for it; the clips that are longer lose their ends.

    Raises :class:`MixedSampleRatesError` when the files have several rates and ``sr`` is
    None, ``ValueError`` (naming the parameter) for settings that cannot work at that rate.

    >>> s, notes = resolve_settings(FeatureSettings(fixed_length="auto"), files)  # doctest: +SKIP
    >>> s.fixed_length, notes                                                      # doctest: +SKIP
    (5.0, {'fixed_length': '5 s, the median clip length (e.g. ...); ...'})
    """
    files = list(files)
    if not files:
        raise ValueError("no usable audio files to choose sr / fixed_length from")
    rate, rate_note = _resolve_rate(settings, files)
    length, length_note = _resolve_length(settings, files, rate)
    notes = {k: v for k, v in (("sr", rate_note), ("fixed_length", length_note)) if v}
    if notes:
        try:
            settings = dataclasses.replace(
                settings, sr=rate if settings.sr == AUTO else settings.sr, fixed_length=length)
        except ValueError as exc:
            chosen = "; ".join(f"{spell_parameter(k, AUTO)} chose {v}" for k, v in notes.items())
            raise ValueError(f"{exc} ({chosen})") from None
    try:
        settings.check_rate(rate)
    except ValueError as exc:
        if settings.sr is None:
            raise ValueError(f"{exc} (the files' rate: {rate} Hz)") from None
        raise
    return settings, notes


def _file_shape(inst, info, settings: FeatureSettings, rate: int, bad: list, shapes: dict,
                good: list) -> None:
    """Sort one usable file into ``bad`` (too short...) / ``good`` and count its shape."""
    try:
        shape = settings.expected_shape(_target_frames(info, rate), rate)
    except ValueError as exc:
        bad.append((inst.filename, str(exc)))
        return
    entry = shapes.setdefault(shape, [0, inst.filename])
    entry[0] += 1
    good.append(inst)


def _source_signal(settings: FeatureSettings, rate: int, lengths: set) -> Dict[str, Any]:
    """The rate the features were computed at and the length of one clip in samples (None
    where the clips differ): what a model trained on them needs to embed new audio
    (:class:`rae_fast.preprocessing.FrontEnd`)."""
    if settings.fixed_length is not None:
        clip = int(settings.fixed_length * rate)
    else:
        clip = next(iter(lengths)) if len(lengths) == 1 else None
    return {"source.sample_rate": int(rate), "source.clip_samples": clip}


def _format_bad(bad: List[Tuple[str, str]], limit: int = 20) -> str:
    lines = [f"  {name}: {reason}" for name, reason in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def _log_choice(parameter: str, text: str) -> None:
    log.info("%s: %s", spell_parameter(parameter, AUTO), text)


def preprocess(basedir: PathLike, output: PathLike, settings: FeatureSettings = FeatureSettings(),
               parser: str = "auto", parser_options: Optional[Dict[str, Any]] = None,
               workers: Optional[int] = None, skip_bad: bool = False, resume: bool = True,
               progress: Optional[bool] = None,
               on_resolved: Optional[Callable[[str, str], None]] = None,
               executor: Optional[Executor] = None) -> PreprocessResult:
    """Turn an audio collection into a netCDF data set of features, streaming to disk.

    Parses ``basedir`` (:func:`rae_fast.layouts.parse_dataset`), checks every file's header
    first (all unreadable / too short files are reported together; the files must share one
    sampling rate unless ``settings.sr`` is set, and give one feature shape; ``"auto"``
    values of ``sr`` and ``fixed_length`` are chosen here, logged, and stored as numbers -
    see :func:`resolve_settings`), then computes the features with ``workers`` threads
    (results do not depend on it) and appends them, in order, to ``<output>.partial``,
    renamed to ``output`` at the end. Files found damaged only when decoded (e.g. an Ogg page
    that fails its checksum) are errors, or skipped with ``skip_bad``. An interruption leaves
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
    on_resolved : callable, optional
        Called as ``on_resolved(parameter, text)`` for each ``"auto"`` value chosen
        (``"sr"``, ``"fixed_length"``), before any feature is computed (default: logged).
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
        Unparseable folder; settings impossible at the collection's rate (e.g. ``fmin`` above
        the Nyquist frequency). Subclasses: :class:`UnusableFilesError` (bad files, unless
        ``skip_bad``), :class:`MixedSampleRatesError` (several rates, no ``sr``),
        :class:`DifferentLengthsError` (no ``fixed_length`` or chunking) - all problems of
        the collection at once, in ``err.also`` -, :class:`AudioError` (a file found bad
        while decoding, naming it).

    >>> res = preprocess("esc10", "esc10.nc", FeatureSettings(fixed_length=5.0,
    ...                  center_fixed=True), workers=2)            # doctest: +SKIP
    >>> res.n_instances, res.feature_shape                          # doctest: +SKIP
    (400, (124, 128))
    """
    return _preprocess(basedir, [Path(output)], None, settings, parser, parser_options, workers,
                       skip_bad, resume, progress, on_resolved, executor)[0]


def preprocess_clippings(basedir: PathLike, output: str, clip_below: Sequence[Optional[float]],
                         settings: FeatureSettings = FeatureSettings(), parser: str = "auto",
                         parser_options: Optional[Dict[str, Any]] = None,
                         workers: Optional[int] = None, skip_bad: bool = False,
                         resume: bool = True, progress: Optional[bool] = None,
                         on_resolved: Optional[Callable[[str, str], None]] = None,
                         executor: Optional[Executor] = None) -> List[PreprocessResult]:
    """:func:`preprocess` for several ``clip_below`` values with one decode of the audio.

    Every file is read and transformed (frames, FFT, mel bands) once; each clipping gets its
    own dB conversion, clipping and normalisation and its own output file, ``output`` with
    ``{clip}`` replaced by :func:`clip_name` of the value (e.g. ``"esc10_{clip}.nc"`` ->
    ``esc10_-30.nc``, ``esc10_-60.nc``). Each file is identical to the one :func:`preprocess`
    writes with ``dataclasses.replace(settings, clip_below=value)`` (same features, metadata
    and attributes), and each resumes on its own after an interruption. auDeep's recipes
    train one autoencoder per clipping of the same audio.

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
    outputs = [Path(output.replace("{clip}", clip_name(v))) for v in values]
    return _preprocess(basedir, outputs, values, settings, parser, parser_options, workers,
                       skip_bad, resume, progress, on_resolved, executor)


def _preprocess(basedir, outputs: List[Path], clip_values: Optional[List[Optional[float]]],
                settings: FeatureSettings, parser, parser_options, workers, skip_bad, resume,
                progress, on_resolved, executor) -> List[PreprocessResult]:
    if not isinstance(settings, FeatureSettings):
        raise TypeError(f"settings must be a FeatureSettings, got {type(settings).__name__}")
    workers = default_threads() if workers is None else check_int(workers, "workers", 1, 1024)
    if executor is None:
        executor = ThreadExecutor(workers, max_pending=4 * workers, name="rae-preprocess")
    t0 = time.perf_counter()
    if len({p.resolve() for p in outputs}) != len(outputs):
        raise ValueError(f"the outputs must be different files, got {[str(p) for p in outputs]}")
    parsed = parse_dataset(basedir, parser, **(parser_options or {}))
    instances = parsed.instances
    if not instances:
        raise ValueError(f"no audio files found in {printable(basedir)} (parser {parsed.parser})")

    # 1. headers of every file, in parallel: report all unusable files at once
    bad: List[Tuple[str, str]] = []
    readable = []
    with contextlib.closing(executor.imap(_info_or_error, instances, chunk=256)) as infos:
        for inst, info in zip(instances, infos):   # consumed as they come: memory stays flat
            if isinstance(info, AudioError):
                bad.append((inst.filename, info.reason))
            else:
                readable.append((inst, info))
    # 2. one rate, settings that work at it, "auto" values, one shape; every problem of the
    #    collection is reported at once (what a rerun would find next included)
    if not readable:
        raise ValueError(f"no usable audio files in {printable(basedir)}:\n{_format_bad(bad)}")
    problems: List[CollectionError] = []
    try:
        settings, notes = resolve_settings(settings, readable)
    except MixedSampleRatesError as exc:
        problems.append(exc)        # look further as if at the most common rate
        settings, notes = resolve_settings(dataclasses.replace(settings, sr=exc.suggested),
                                           readable)
    rate = readable[0][1].sr if settings.sr is None else settings.sr
    shapes: Dict[Tuple[int, ...], List] = {}  # shape -> [count, first file]
    good = []
    for inst, info in readable:
        _file_shape(inst, info, settings, rate, bad, shapes, good)
    kept = {id(inst) for inst in good}
    good_lengths = {_target_frames(info, rate) for inst, info in readable if id(inst) in kept}
    if bad and not skip_bad:
        problems.insert(0, UnusableFilesError(printable(basedir), bad))
    if len(shapes) > 1:
        lengths = sorted(_target_frames(info, rate) for inst, info in readable)
        problems.append(DifferentLengthsError([(k, v[0], v[1]) for k, v in shapes.items()],
                                              lengths[(len(lengths) - 1) // 2] / rate))
    if not good:
        raise ValueError(f"no usable audio files in {printable(basedir)}:\n{_format_bad(bad)}")
    if problems:
        raise problems[0]._with(problems[1:])
    for parameter, text in notes.items():
        (on_resolved or _log_choice)(parameter, text)
    shape = next(iter(shapes))

    source = {"source.parser": parsed.parser,
              "source.basedir": printable(Path(basedir).resolve()),
              "source.n_files": len(instances),
              "source.files_sha256": files_fingerprint((i.filename, i.path) for i in instances),
              "source.parser_options": dict(parser_options or {}),
              **_source_signal(settings, rate, good_lengths)}
    if notes:
        source["source.auto"] = notes
    per_output = [settings if clip_values is None else
                  dataclasses.replace(settings, clip_below=c) for c in (clip_values or [None])]
    writers: List[DataSetWriter] = []
    try:
        for path, s_i in zip(outputs, per_output):
            writers.append(DataSetWriter(path, s_i.feature_dims, shape, parsed.n_folds,
                                         parsed.label_map, {**s_i.to_attrs(), **source},
                                         resume=resume, extra_columns=OFFSET_COLUMNS))
        done = [w.written_filenames() if w.resumed else set() for w in writers]
        todo = [inst for inst in good if any(inst.filename not in d for d in done)]
        n_bad_late = 0
        floor = [0] * len(writers)
        frames = [0] * len(writers)
        with progress_bar(total=len(good), initial=len(good) - len(todo), desc="preprocess",
                          unit="file", disable=None if progress is None else not progress) as bar, \
                contextlib.closing(executor.imap(_features_or_error, todo, settings,
                                                 clip_values)) as results:
            for inst, result in zip(todo, results):
                if not isinstance(result, AudioError) and result[0][0].shape[1:] != tuple(shape):
                    result = AudioError(inst.path, f"gives features of shape "
                                                   f"{result[0][0].shape[1:]}, expected "
                                                   f"{tuple(shape)} from its header like the "
                                                   "other files")
                if isinstance(result, AudioError):
                    if not skip_bad:
                        raise result
                    bad.append((inst.filename, result.reason))
                    n_bad_late += 1
                    bar.update(1)
                    continue
                for i, (w, (feats, offsets)) in enumerate(zip(writers, result)):
                    if inst.filename in done[i]:
                        continue
                    k = feats.shape[0]
                    w.append(feats, [inst.filename] * k, chunk_nr=np.arange(k),
                             label_nominal=[inst.label_nominal] * k,
                             cv_folds=np.repeat(np.asarray([inst.cv_folds], np.int64).reshape(
                                 1, parsed.n_folds), k, axis=0),
                             partition=[inst.partition] * k, extra=offsets)
                    floor[i] += floor_frames(feats)
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
        log.debug("skipped %d unusable file(s):\n%s", len(bad), _format_bad(bad))
    results = []
    for i, (path, s_i) in enumerate(zip(outputs, per_output)):
        fraction = floor[i] / frames[i] if frames[i] and s_i.features == "spectrogram" \
            else None
        if fraction is not None and fraction > FLOOR_WARNING_FRACTION:
            warnings.warn(FloorWarning(path, fraction), stacklevel=3)
        n_todo = sum(inst.filename not in done[i] for inst in good)
        results.append(PreprocessResult(path, parsed.parser, len(good) - n_bad_late, counts[i],
                                        tuple(shape), bad, len(good) - n_todo, n_todo,
                                        time.perf_counter() - t0, s_i, notes, fraction))
    return results
