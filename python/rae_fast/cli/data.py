"""Data commands: ``preprocess``, ``modify`` (``inspect`` is :mod:`rae_fast.cli.inspection`).

``rae-fast preprocess``         audio collection -> spectrograms / autocorrelograms (netCDF4)
``rae-fast modify FILE.nc``     add or remove a cross-validation setup or a partitioning

Example::

    rae-fast preprocess --basedir ESC-10 --output esc10.nc --window-width 0.08 \\
        --window-overlap 0.04 --mel-spectrum 128 --fixed-length 5 --center-fixed \\
        --clip-below -60 --workers 2
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

from .._io import printable
from ._format import table
from ._ray import RAY_FLAGS, add_ray_option
from ._types import finite_float, none_or, parser_option



# ------------------------------------------------------------------------------ helpers

def _auto_or(conv, what: str):
    """argparse type: ``auto`` or a positive number (``conv``)."""
    def parse(text: str):
        if text.strip().lower() == "auto":
            return "auto"
        try:
            value = conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} or 'auto', got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected {what} > 0 or 'auto', got {text!r}")
        return value
    return parse


def _flag(name: str, value: Any = None) -> str:
    """A library parameter as this command's option: ``sr=44100`` -> ``--sr 44100``."""
    flag = "--" + name.replace("_", "-")
    return flag if value is None or value is True else f"{flag} {value}"


#: The ``preprocess`` sub-parser (set by :func:`register`), to spell out a command that works.
_PREPROCESS_PARSER: Optional[argparse.ArgumentParser] = None


def _command_line(args, parser: argparse.ArgumentParser, **changes) -> str:
    """The ``rae-fast preprocess ...`` command of ``args`` (non-default options only) with
    ``changes`` (option dest -> value) applied."""
    words = ["rae-fast", "preprocess"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "pretend", "pretend_output"):
            continue
        value = changes.get(action.dest, getattr(args, action.dest, action.default))
        if value == action.default and action.dest not in changes:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            if value:
                words.append(flag)
        elif isinstance(value, list) and action.nargs == "+":
            words += [flag, *("none" if v is None else str(v) for v in value)]
        elif isinstance(value, list):
            for item in value:
                words += [flag, "=".join(map(str, item)) if isinstance(item, tuple) else str(item)]
        else:
            words += [flag, "none" if value is None else str(value)]
    return " ".join(shlex.quote(w) for w in words)


def _settings_from_args(args):
    from ..preprocessing import FeatureSettings

    return FeatureSettings(
        features=args.features, window_width=args.window_width,
        window_overlap=args.window_overlap,
        mel_bands=None if args.mel_spectrum == 0 else args.mel_spectrum,
        clip_below=args.clip_below[0] if isinstance(args.clip_below, list) else args.clip_below,
        clip_above=args.clip_above,
        pre_emphasis=None if args.pre_emphasis == 0 else args.pre_emphasis,
        mean_norm=not args.no_mean_norm, channels=args.channels,
        fixed_length=args.fixed_length, center_fixed=args.center_fixed,
        chunk_length=args.chunk_length, chunk_count=args.chunk_count, sr=args.sr,
        max_lag=args.max_lag, fmin=args.fmin, acf_window=args.acf_window,
        acf_normalize=args.acf_normalize, acf_detrend=args.acf_detrend)


# ---------------------------------------------------------------------------- preprocess

def _pretend(args, settings) -> int:
    import numpy as np

    from ..audio import load_audio
    from ..preprocessing import compute_features
    from ..layouts import parse_dataset
    from ..plotting import _matplotlib, save_figure

    Figure, FigureCanvasAgg = _matplotlib()   # fail first, with an install hint, if missing

    parsed = parse_dataset(args.basedir, args.parser, **dict(args.parser_option or []))
    n = len(parsed.instances)
    if not -n <= args.pretend < n:
        raise ValueError(f"--pretend {args.pretend} is out of range: the collection has {n} files")
    inst = parsed.instances[args.pretend % n]
    if not settings.is_resolved:      # "auto" values come from the whole collection
        settings = _resolve_for_pretend(args, parsed, settings)
    y, sr = load_audio(inst.path, sr=settings.sr, channels=settings.channels,
                       fixed_length=settings.fixed_length, center_fixed=settings.center_fixed)
    is_spec = settings.features == "spectrogram"
    X = compute_features(y, sr, settings, mean_norm=False if is_spec else None, what=str(inst.path))
    full = np.concatenate(list(X), axis=0).T  # (bands, frames)
    win, hop = settings.frame_params(sr, len(y))
    info = [("data file", inst.filename), ("label", inst.label_nominal or "-"),
            ("cross-validation splits", ",".join("valid" if v == 1 else "train" if v == 0
                                                 else "-" for v in inst.cv_folds) or "-"),
            ("partition", ("train", "devel", "test")[inst.partition] if inst.partition >= 0
             else "-"),
            ("sample rate", f"{sr} Hz"), ("window / hop", f"{win} / {hop} samples"),
            ("number of chunks", X.shape[0]), ("time steps per chunk", X.shape[1]),
            ("bands", X.shape[2])]
    print(table(info, title="spectrogram information" if is_spec else "autocorrelogram information"))

    fig = Figure(figsize=(10, 7))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(2, 1, 1)
    t_end = full.shape[1] * hop / sr
    im = ax.imshow(full, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, t_end, 0, full.shape[0]))
    ax.set_title(f"{'Spectrogram (dB)' if is_spec else 'Autocorrelogram'}: {inst.filename}")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Mel band" if is_spec and settings.mel_bands else
                  ("Frequency bin" if is_spec else "Lag"))
    fig.colorbar(im, ax=ax)
    ax = fig.add_subplot(2, 1, 2)
    lo = settings.clip_below + 0.01 if (is_spec and settings.clip_below is not None) \
        else float(full.min())
    hi = settings.clip_above - 0.01 if (is_spec and settings.clip_above is not None) \
        else (0.0 if is_spec else float(full.max()))
    if hi <= lo:
        hi = lo + 1e-3
    ax.hist(full.ravel(), bins=100, range=(lo, hi), density=True, histtype="stepfilled")
    ax.set_title("Amplitude histogram")
    ax.set_xlabel("Amplitude (dB)" if is_spec else "Value")
    ax.set_ylabel("Probability density")
    fig.tight_layout()
    out = Path(args.pretend_output) if args.pretend_output else \
        Path(args.output).with_suffix("").with_name(
            Path(args.output).with_suffix("").name + f".pretend-{args.pretend % n}.png")
    save_figure(fig, out, dpi=100, format="png")
    print(f"wrote {out}")
    return 0


def _resolve_for_pretend(args, parsed, settings):
    from concurrent.futures import ThreadPoolExecutor

    from ..audio import AudioError, audio_info
    from ..preprocessing import CollectionError, resolve_settings

    def one(inst):
        try:
            return inst, audio_info(inst.path)
        except AudioError:
            return inst, None
    with ThreadPoolExecutor(max_workers=args.workers or 4) as pool:
        files = [(i, info) for i, info in pool.map(one, parsed.instances) if info is not None]
    try:
        settings, notes = resolve_settings(settings, files)
    except CollectionError as exc:
        raise ValueError(exc.message(_flag)) from None
    for name, text in notes.items():
        print(f"{_flag(name, 'auto')}: {text}")
    return settings


def cmd_preprocess(args) -> int:
    """``rae-fast preprocess``: see the module docstring."""
    import warnings

    from ..preprocessing import CollectionError, FloorWarning, preprocess, preprocess_clippings

    if (args.chunk_length is None) != (args.chunk_count is None):
        raise ValueError("--chunk-length and --chunk-count must be given together")
    clips = list(args.clip_below)
    several = len(clips) > 1 or "{clip}" in args.output
    settings = _settings_from_args(args)
    if args.pretend is not None:
        return _pretend(args, settings)
    out = Path(args.output)
    if out.suffix.lower() != ".nc":
        print(f"rae-fast preprocess: note: {out} does not end in .nc (it is netCDF4 anyway)",
              file=sys.stderr)
    def announce(name: str, text: str) -> None:
        print(f"{_flag(name, 'auto')}: {text}", flush=True)

    common = dict(parser=args.parser, parser_options=dict(args.parser_option or []),
                  workers=args.workers, skip_bad=args.skip_bad, resume=not args.no_resume,
                  progress=False if args.quiet else None, on_resolved=announce)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FloorWarning)
            if args.ray is not None:
                if args.workers is not None:
                    raise ValueError("--workers applies without --ray (on Ray every CPU of the "
                                     "cluster works; --block-size sets the files per task)")
                if several:
                    raise ValueError("several --clip-below values (one decode, many files) run "
                                     "without --ray; on Ray, run preprocess once per value")
                from ..distributed import preprocess as ray_preprocess

                results = [ray_preprocess(args.basedir, out, settings, parser=args.parser,
                                          parser_options=dict(args.parser_option or []),
                                          address=args.ray, block_size=args.block_size,
                                          skip_bad=args.skip_bad, resume=not args.no_resume,
                                          progress=False if args.quiet else None,
                                          on_resolved=announce)]
            else:
                if args.block_size is not None:
                    raise ValueError("--block-size applies with --ray")
                if several:
                    results = preprocess_clippings(args.basedir, args.output, clips, settings,
                                                   **common)
                else:
                    results = [preprocess(args.basedir, out, settings, **common)]
    except CollectionError as exc:
        msg = exc.message(_flag)
        if _PREPROCESS_PARSER is not None:
            msg += ("\nthis command deals with all of it:\n  "
                    + _command_line(args, _PREPROCESS_PARSER, **exc.fixes()))
        raise ValueError(msg) from None
    except KeyboardInterrupt:
        where = "the .partial files" if several else f"{out}.partial"
        print(f"rae-fast preprocess: the instances written so far are kept in {where}; "
              "run the same command again to resume (or add --no-resume to start over)",
              file=sys.stderr)
        raise
    for w in caught:
        if issubclass(w.category, FloorWarning):
            from . import _command_parser, _flag_map, build_parser, translate_message
            msg = str(w.message).replace("train with mask_silence=True",
                                         "train with rae-fast train --mask-silence")
            flags = _flag_map(_command_parser(build_parser(), "preprocess"))
            print(f"rae-fast preprocess: warning: {translate_message(msg, flags)}",
                  file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for res in results:
        rate = res.processed_files / res.seconds if res.seconds > 0 else float("inf")
        msg = (f"wrote {res.n_instances} instances ({res.n_files} files, features "
               f"{' x '.join(map(str, res.feature_shape))}) to {printable(res.path)} in "
               f"{res.seconds:.1f} s "
               f"({rate:.0f} files/s, parser {res.parser}")
        if res.resumed_files:
            msg += f", resumed after {res.resumed_files} files"
        print(msg + ")")
    res = results[0]
    if res.skipped:
        print(f"skipped {len(res.skipped)} unusable file(s):")
        for name, reason in res.skipped:
            print(f"  {name}: {reason}")
    return 0


# -------------------------------------------------------------------------------- modify

def cmd_modify(args) -> int:
    """``rae-fast modify``: add / remove cross-validation folds or a partitioning."""
    import numpy as np

    from ..dataset import DataSet, load, make_cv_folds, make_partitions, read_extra_columns, save

    if args.ratios is not None and args.add_partitioning is None:
        raise ValueError("--ratios only applies to --add-partitioning")
    src = Path(args.input)
    out = Path(args.output) if args.output else src
    ds = load(src, lazy=True)
    try:
        labels = ds.label_nominal if any(v is not None for v in ds.label_nominal) else None
        cv, part = ds.cv_folds, ds.partition
        if args.add_cv_setup is not None:
            cv = make_cv_folds(args.add_cv_setup, n=len(ds), labels=labels,
                               groups=ds.filenames, seed=args.seed)
            what = f"added {args.add_cv_setup} stratified cross-validation folds"
        elif args.remove_cv_setup:
            cv = np.zeros((len(ds), 0), np.int8)
            what = "removed the cross-validation setup"
        elif args.add_partitioning is not None:
            part = make_partitions(args.add_partitioning, args.ratios, n=len(ds), labels=labels,
                                   groups=ds.filenames, seed=args.seed)
            what = f"added a partitioning into {', '.join(args.add_partitioning)}"
        else:
            part = np.full(len(ds), -1, np.int8)
            what = "removed the partitioning"
        new = DataSet(ds.features, ds.feature_dims, ds.filenames, ds.chunk_nr,
                      ds.label_nominal, ds.label_numeric, cv, part, ds.label_map, ds.attrs)
        save(new, out, extra=read_extra_columns(src))   # e.g. the normalisation offsets
    finally:
        ds.close()
    print(f"{what}; wrote {out}")
    return 0


# ------------------------------------------------------------------------------ register

def register(subparsers) -> None:
    """Add ``preprocess`` and ``modify`` to the ``rae-fast`` command line."""
    from ..audio import CHANNEL_MODES

    p = subparsers.add_parser(
        "preprocess", help="audio collection -> spectrograms (netCDF4)",
        description="Compute auDeep-style spectrograms (or autocorrelograms) of every file of "
                    "a collection and stream them to a netCDF4 data set. Interrupted runs leave "
                    "OUTPUT.partial and resume when run again with the same settings.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--basedir", required=True, help="the collection's base folder")
    p.add_argument("--output", default="spectrograms.nc", help="data set file to write")
    p.add_argument("--parser", default="auto",
                   help="collection layout: auto, esc, esc50, dcase, urbansound8k, partitioned, "
                        "cross_validated, class_folders, no_metadata")
    p.add_argument("--parser-option", action="append", type=parser_option, metavar="KEY=VALUE",
                   help="parser option, e.g. n_folds=5 (class_folders) or esc10=true (esc50)")
    p.add_argument("--features", choices=("spectrogram", "autocorrelogram"),
                   default="spectrogram", help="what to compute")
    p.add_argument("--window-width", type=float, default=0.08, help="FFT window in seconds")
    p.add_argument("--window-overlap", type=float, default=0.04,
                   help="overlap of the windows in seconds")
    p.add_argument("--mel-spectrum", type=int, default=128, metavar="FILTERS",
                   help="mel bands (0: linear power spectrum)")
    p.add_argument("--clip-below", type=none_or(finite_float), nargs="+", default=[-60.0],
                   metavar="dB",
                   help="clip dB values below this (0 dB = maximum); 'none' to disable. "
                        "Several values write one file each from one decode of the audio: "
                        "--output must then contain {clip} (e.g. esc10_{clip}.nc)")
    p.add_argument("--clip-above", type=none_or(finite_float), default=None, metavar="dB",
                   help="clip dB values above this; 'none' to disable")
    p.add_argument("--pre-emphasis", type=float, default=0.95,
                   help="pre-emphasis coefficient (0 to disable)")
    p.add_argument("--no-mean-norm", action="store_true",
                   help="keep dB values instead of normalising each chunk to [-1, 1]")
    p.add_argument("--chunk-length", type=float, default=None, metavar="SECONDS",
                   help="split into chunks of this length (needs --chunk-count)")
    p.add_argument("--chunk-count", type=int, default=None,
                   help="chunks per file; too few chunks is an error (needs --chunk-length)")
    p.add_argument("--channels", type=str.lower, choices=CHANNEL_MODES, default="mean",
                   help="how to combine the channels of multi-channel audio")
    p.add_argument("--fixed-length", type=_auto_or(float, "a length in seconds"), default=None,
                   metavar="SECONDS",
                   help="cut or zero-pad every clip to this length; auto: the median clip "
                        "length of the collection (printed, and stored as the number)")
    p.add_argument("--center-fixed", action="store_true",
                   help="cut / pad equally at both ends instead of at the end")
    p.add_argument("--sr", type=_auto_or(int, "a rate in Hz"), default=None, metavar="HZ",
                   help="resample every clip to this rate first (soxr); auto: the most common "
                        "rate of the collection. Without it, files at several rates are refused")
    p.add_argument("--max-lag", type=float, default=None, metavar="SECONDS",
                   help="autocorrelograms: largest lag")
    p.add_argument("--fmin", type=float, default=None, metavar="HZ",
                   help="autocorrelograms: lowest frequency (sets the largest lag to its "
                        "period; not with --max-lag)")
    p.add_argument("--acf-window", type=none_or(str), default=None, metavar="NAME",
                   help="autocorrelograms: window applied to each frame, e.g. hann (none: "
                        "rectangular)")
    p.add_argument("--acf-normalize", type=none_or(str), default="lag0",
                   choices=("lag0", "unbiased", None), metavar="{lag0,unbiased,none}",
                   help="autocorrelograms: lag0: r[0] = 1; unbiased: divide by the overlap; "
                        "none: raw sums")
    p.add_argument("--acf-detrend", action="store_true",
                   help="autocorrelograms: remove each frame's mean first")
    p.add_argument("--workers", type=int, default=None,
                   help="worker threads (default: all cores); results do not depend on it")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out unusable files (listed at the end) instead of failing")
    p.add_argument("--no-resume", action="store_true",
                   help="start from scratch even if OUTPUT.partial matches")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--pretend", type=int, default=None, metavar="INDEX",
                   help="only plot the file at INDEX (spectrogram + amplitude histogram) to a PNG")
    p.add_argument("--pretend-output", default=None, metavar="PNG",
                   help="where --pretend writes (default: OUTPUT.pretend-INDEX.png)")
    add_ray_option(p, block="files")
    p.set_defaults(func=cmd_preprocess,
                   flag_aliases={"mel_bands": "--mel-spectrum", **RAY_FLAGS})
    global _PREPROCESS_PARSER
    _PREPROCESS_PARSER = p

    p = subparsers.add_parser(
        "modify", help="add or remove cross-validation folds or a partitioning",
        description="Add K stratified cross-validation folds (a file's chunks stay together), "
                    "a random stratified partitioning, or remove either; writes atomically.")
    p.add_argument("input", help="data set file (.nc)")
    p.add_argument("--output", default=None, help="where to write (default: replace INPUT)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--add-cv-setup", type=int, metavar="NUM_FOLDS",
                   help="assign NUM_FOLDS stratified folds (replaces existing folds)")
    g.add_argument("--remove-cv-setup", action="store_true", help="drop the folds")
    g.add_argument("--add-partitioning", nargs="+", type=str.lower,
                   choices=("train", "devel", "test"), metavar="PARTITION",
                   help="assign the partitions given (train devel test), stratified")
    g.add_argument("--remove-partitioning", action="store_true", help="drop the partitions")
    p.add_argument("--ratios", nargs="+", type=float, default=None,
                   help="relative sizes of the partitions (default: equal)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=cmd_modify)
