"""Data commands: ``inspect``, ``preprocess``, ``modify``.

``rae-fast inspect DIR``        files, labels, folds, lengths, rates, channels of a collection
``rae-fast inspect FILE.nc``    the same for a stored data set, plus an integrity check
``rae-fast preprocess``         audio collection -> spectrograms / autocorrelograms (netCDF4)
``rae-fast modify FILE.nc``     add or remove a cross-validation setup or a partitioning

Example::

    rae-fast preprocess --basedir ESC-10 --output esc10.nc --window-width 0.08 \\
        --window-overlap 0.04 --mel-spectrum 128 --fixed-length 5 --center-fixed \\
        --clip-below -60 --workers 2
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from ._ray import RAY_FLAGS, add_ray_option
from ._types import finite_float, none_or

_FILE_HINT = "a data set file (.nc) or a collection folder"


# ------------------------------------------------------------------------------ helpers

def _parser_option(text: str) -> Tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    low = value.strip().lower()
    if low in ("true", "yes"):
        return key.strip(), True
    if low in ("false", "no"):
        return key.strip(), False
    for conv in (int, float):
        try:
            return key.strip(), conv(value)
        except ValueError:
            pass
    return key.strip(), value


def _table(rows: Sequence[Sequence[Any]], header: Optional[Sequence[str]] = None,
           title: Optional[str] = None) -> str:
    """Rows as an aligned text table (with a header: numbers right-aligned)."""
    cells = [[str(c) for c in r] for r in rows]
    if header:
        cells = [list(header)] + cells
    if not cells:
        return title or ""
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(max(map(len, cells)))]
    lines = [title] if title else []
    for j, r in enumerate(cells):
        parts = [r[0].ljust(widths[0])] + [
            c.rjust(widths[i + 1]) if header and _is_number(c) else c.ljust(widths[i + 1])
            for i, c in enumerate(r[1:])]
        lines.append("  " + "  ".join(parts).rstrip())
        if header and j == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _fmt_range(values, unit: str = "", fmt: str = "{}") -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    if lo == hi:
        return fmt.format(lo) + unit
    return f"{fmt.format(lo)}{unit} - {fmt.format(hi)}{unit}"


def _settings_from_args(args):
    from ..preprocessing import FeatureSettings

    return FeatureSettings(
        features=args.features, window_width=args.window_width,
        window_overlap=args.window_overlap,
        mel_bands=None if args.mel_spectrum == 0 else args.mel_spectrum,
        clip_below=args.clip_below, clip_above=args.clip_above,
        pre_emphasis=None if args.pre_emphasis == 0 else args.pre_emphasis,
        mean_norm=not args.no_mean_norm, channels=args.channels,
        fixed_length=args.fixed_length, center_fixed=args.center_fixed,
        chunk_length=args.chunk_length, chunk_count=args.chunk_count, sr=args.sr,
        max_lag=args.max_lag, fmin=args.fmin, acf_window=args.acf_window,
        acf_normalize=args.acf_normalize, acf_detrend=args.acf_detrend)


# ------------------------------------------------------------------------------ inspect

def _inspect_collection(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..audio import AudioError, audio_info
    from ..layouts import parse_dataset
    from ..progress import progress as progress_bar

    parsed = parse_dataset(args.path, args.parser, **dict(args.parser_option or []))
    infos, bad = [], []
    workers = args.workers or 4
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def one(inst):
            try:
                return audio_info(inst.path)
            except AudioError as exc:
                return exc
        results = progress_bar(pool.map(one, parsed.instances), total=len(parsed.instances),
                               desc="inspect", unit="file", disable=True if args.json else None)
        for inst, res in zip(parsed.instances, results):
            (bad.append((inst.filename, res.reason)) if isinstance(res, AudioError)
             else infos.append(res))
    counts = parsed.label_counts()
    folds = []
    for k in range(parsed.n_folds):
        tr = sum(1 for i in parsed.instances if i.cv_folds[k] == 0)
        va = sum(1 for i in parsed.instances if i.cv_folds[k] == 1)
        folds.append((k + 1, tr, va))
    parts: Dict[str, int] = {}
    for inst in parsed.instances:
        if inst.partition >= 0:
            name = ("train", "devel", "test")[inst.partition]
            parts[name] = parts.get(name, 0) + 1
    summary = {
        "path": str(parsed.basedir), "parser": parsed.parser,
        "audio_files": len(parsed.instances),
        "labels": len(parsed.label_map) if parsed.label_map else 0,
        "folds": parsed.n_folds, "partitions": parts,
        "min_length_s": min((i.duration for i in infos), default=None),
        "max_length_s": max((i.duration for i in infos), default=None),
        "sample_rates": sorted({i.sr for i in infos}),
        "channels": sorted({i.channels for i in infos}),
        "formats": sorted({f"{i.format}/{i.subtype}" for i in infos}),
        "label_counts": {str(k): v for k, v in counts.items()},
        "fold_counts": [{"fold": k, "train": t, "valid": v} for k, t, v in folds],
        "unreadable": [{"file": f, "reason": r} for f, r in bad],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 1 if bad else 0
    rows = [
        ("parser", parsed.parser),
        ("audio files", len(parsed.instances)),
        ("labels", summary["labels"] or "none (unlabelled)"),
        ("cross-validation folds", parsed.n_folds),
        ("partitions", ", ".join(f"{k} {v}" for k, v in parts.items()) or "none"),
        ("minimum length", _fmt_range([summary["min_length_s"]] if infos else [], " s", "{:.2f}")),
        ("maximum length", _fmt_range([summary["max_length_s"]] if infos else [], " s", "{:.2f}")),
        ("sample rates", _fmt_range(summary["sample_rates"], " Hz")),
        ("channels", _fmt_range(summary["channels"])),
        ("formats", ", ".join(summary["formats"]) or "-"),
        ("unreadable files", len(bad)),
    ]
    print(_table(rows, title=f"data set in {parsed.basedir}"))
    if parsed.label_map:
        print()
        print(_table([(k, counts.get(k, 0), v) for k, v in parsed.label_map.items()],
                     header=("label", "files", "id")))
    if folds:
        print()
        print(_table(folds, header=("fold", "train", "valid")))
    if bad:
        print()
        print(_table(bad, header=("unreadable file", "reason")))
    return 1 if bad else 0


def _inspect_file(args) -> int:
    import numpy as np

    from ..dataset import check_integrity, load

    ds = load(args.path, lazy=True)
    try:
        n = len(ds)
        files = {}
        for f in ds.filenames:
            files[f] = files.get(f, 0) + 1
        lo, hi, total, count = np.inf, -np.inf, 0.0, 0
        for _, _, x in ds.iter_batches(256):
            if x.size:
                lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
                total += float(x.sum(dtype=np.float64))
                count += x.size
        problems = check_integrity(ds)
        counts: Dict[str, int] = {}
        for lab in ds.label_nominal:
            key = "(unlabelled)" if lab is None else lab
            counts[key] = counts.get(key, 0) + 1
        folds = [(k + 1, int((ds.cv_folds[:, k] == 0).sum()), int((ds.cv_folds[:, k] == 1).sum()))
                 for k in range(ds.n_folds)]
        parts = {name: int((ds.partition == v).sum()) for v, name in
                 enumerate(("train", "devel", "test")) if (ds.partition == v).any()}
        summary = {
            "path": str(args.path), "instances": n, "files": len(files),
            "chunks_per_file": sorted(set(files.values())),
            "feature_dims": list(ds.feature_dims), "feature_shape": list(ds.feature_shape),
            "labels": len(ds.label_map) if ds.label_map else 0,
            "fully_labelled": ds.is_labelled, "folds": ds.n_folds, "partitions": parts,
            "min": lo if count else None, "max": hi if count else None,
            "mean": total / count if count else None,
            "label_counts": counts, "fold_counts": [
                {"fold": k, "train": t, "valid": v} for k, t, v in folds],
            "attrs": ds.attrs, "integrity_problems": problems,
        }
        if args.instance is not None:
            i = args.instance
            if not -n <= i < n:
                raise ValueError(f"--instance {i} is out of range for {n} instances")
            i %= n
            summary["instance"] = {
                "index": i, "filename": ds.filenames[i], "chunk_nr": int(ds.chunk_nr[i]),
                "label_nominal": ds.label_nominal[i], "label_numeric": int(ds.label_numeric[i]),
                "cv_folds": ds.cv_folds[i].tolist(), "partition": int(ds.partition[i]),
                "shape": list(ds.feature_shape)}
    finally:
        ds.close()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 1 if problems else 0
    rows = [
        ("instances", n), ("audio files", len(files)),
        ("chunks per file", _fmt_range(summary["chunks_per_file"])),
        ("feature dimensions", " x ".join(f"{d} {s}" for d, s in
                                          zip(ds.feature_dims, ds.feature_shape))),
        ("labels", summary["labels"] or "none"),
        ("fully labelled", "yes" if ds.is_labelled else "no"),
        ("cross-validation folds", ds.n_folds),
        ("partitions", ", ".join(f"{k} {v}" for k, v in parts.items()) or "none"),
        ("value range", "-" if not count else f"{lo:.4g} .. {hi:.4g} (mean {total / count:.4g})"),
        ("integrity", "OK" if not problems else f"{len(problems)} problem(s)"),
    ]
    print(_table(rows, title=f"data set file {args.path}"))
    if ds.label_map or counts:
        print()
        ids = ds.label_map or {}
        order = sorted(counts, key=lambda k: (ids.get(k, len(ids)), k))
        print(_table([(k, counts[k], ids.get(k, "-")) for k in order],
                     header=("label", "instances", "id")))
    if folds:
        print()
        print(_table(folds, header=("fold", "train", "valid")))
    if ds.attrs:
        print()
        print(_table([(k, json.dumps(v) if not isinstance(v, str) else v)
                      for k, v in ds.attrs.items()], title="attributes"))
    if "instance" in summary:
        print()
        print(_table(list(summary["instance"].items()), title=f"instance {summary['instance']['index']}"))
    if problems:
        print()
        print("integrity problems:")
        for p in problems[:50]:
            print(f"  {p}")
        if len(problems) > 50:
            print(f"  ... and {len(problems) - 50} more")
    return 1 if problems else 0


def cmd_inspect(args) -> int:
    """``rae-fast inspect PATH``: a collection folder or a stored data set."""
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist ({_FILE_HINT})")
    if path.is_dir():
        return _inspect_collection(args)
    if args.parser != "auto" or args.parser_option:
        raise ValueError("--parser / --parser-option apply to collection folders, not to .nc files")
    return _inspect_file(args)


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
    print(_table(info, title="spectrogram information" if is_spec else "autocorrelogram information"))

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


def cmd_preprocess(args) -> int:
    """``rae-fast preprocess``: see the module docstring."""
    from ..preprocessing import preprocess

    if (args.chunk_length is None) != (args.chunk_count is None):
        raise ValueError("--chunk-length and --chunk-count must be given together")
    settings = _settings_from_args(args)
    if args.pretend is not None:
        return _pretend(args, settings)
    out = Path(args.output)
    if out.suffix.lower() != ".nc":
        print(f"rae-fast preprocess: note: {out} does not end in .nc (it is netCDF4 anyway)",
              file=sys.stderr)
    try:
        if args.ray is not None:
            if args.workers is not None:
                raise ValueError("--workers applies without --ray (on Ray every CPU of the "
                                 "cluster works; --block-size sets the files per task)")
            from ..distributed import preprocess as ray_preprocess

            res = ray_preprocess(args.basedir, out, settings, parser=args.parser,
                                 parser_options=dict(args.parser_option or []),
                                 address=args.ray, block_size=args.block_size,
                                 skip_bad=args.skip_bad, resume=not args.no_resume,
                                 progress=False if args.quiet else None)
        else:
            if args.block_size is not None:
                raise ValueError("--block-size applies with --ray")
            res = preprocess(args.basedir, out, settings, parser=args.parser,
                             parser_options=dict(args.parser_option or []),
                             workers=args.workers, skip_bad=args.skip_bad,
                             resume=not args.no_resume, progress=False if args.quiet else None)
    except KeyboardInterrupt:
        print(f"rae-fast preprocess: the instances written so far are kept in {out}.partial; "
              "run the same command again to resume (or add --no-resume to start over)",
              file=sys.stderr)
        raise
    rate = res.processed_files / res.seconds if res.seconds > 0 else float("inf")
    msg = (f"wrote {res.n_instances} instances ({res.n_files} files, features "
           f"{' x '.join(map(str, res.feature_shape))}) to {res.path} in {res.seconds:.1f} s "
           f"({rate:.0f} files/s, parser {res.parser}")
    if res.resumed_files:
        msg += f", resumed after {res.resumed_files} files"
    print(msg + ")")
    if res.skipped:
        print(f"skipped {len(res.skipped)} unusable file(s):")
        for name, reason in res.skipped:
            print(f"  {name}: {reason}")
    return 0


# -------------------------------------------------------------------------------- modify

def cmd_modify(args) -> int:
    """``rae-fast modify``: add / remove cross-validation folds or a partitioning."""
    import numpy as np

    from ..dataset import DataSet, load, make_cv_folds, make_partitions, save

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
        save(new, out)
    finally:
        ds.close()
    print(f"{what}; wrote {out}")
    return 0


# ------------------------------------------------------------------------------ register

def register(subparsers) -> None:
    """Add ``inspect``, ``preprocess`` and ``modify`` to the ``rae-fast`` command line."""
    from ..audio import CHANNEL_MODES

    p = subparsers.add_parser(
        "inspect", help="describe an audio collection or a stored data set",
        description="Describe an audio collection folder (files, labels, folds, lengths, "
                    "sample rates, channels) or a stored data set file (.nc: the same plus an "
                    "integrity check; exit status 1 when it finds problems or unreadable files).")
    p.add_argument("path", help=_FILE_HINT)
    p.add_argument("--parser", default="auto",
                   help="layout of a collection folder (default: detect)")
    p.add_argument("--parser-option", action="append", type=_parser_option, metavar="KEY=VALUE",
                   help="parser option, e.g. n_folds=5 for class_folders (repeatable)")
    p.add_argument("--instance", type=int, default=None, metavar="INDEX",
                   help="also show one instance of a data set file")
    p.add_argument("--workers", type=int, default=None, help="threads reading file headers")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_inspect)

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
    p.add_argument("--parser-option", action="append", type=_parser_option, metavar="KEY=VALUE",
                   help="parser option, e.g. n_folds=5 (class_folders) or esc10=true (esc50)")
    p.add_argument("--features", choices=("spectrogram", "autocorrelogram"),
                   default="spectrogram", help="what to compute")
    p.add_argument("--window-width", type=float, default=0.08, help="FFT window in seconds")
    p.add_argument("--window-overlap", type=float, default=0.04,
                   help="overlap of the windows in seconds")
    p.add_argument("--mel-spectrum", type=int, default=128, metavar="FILTERS",
                   help="mel bands (0: linear power spectrum)")
    p.add_argument("--clip-below", type=none_or(finite_float), default=-60.0, metavar="dB",
                   help="clip dB values below this (0 dB = maximum); 'none' to disable")
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
    p.add_argument("--fixed-length", type=float, default=None, metavar="SECONDS",
                   help="cut or zero-pad every clip to this length")
    p.add_argument("--center-fixed", action="store_true",
                   help="cut / pad equally at both ends instead of at the end")
    p.add_argument("--sr", type=int, default=None, metavar="HZ",
                   help="resample every clip to this rate first (soxr)")
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
