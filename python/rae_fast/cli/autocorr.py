"""``rae-fast autocorrelogram``: audio files -> autocorrelograms as .npy, .obj meshes or .png.

::

    rae-fast autocorrelogram FILES... --out DIR [--format npy obj png] [--sr HZ]
        [--frame-length 2048] [--hop-length 512] [--max-lag SAMPLES] [--fmin HZ]
        [--window NAME] [--normalize lag0|unbiased|none] [--no-center] [--detrend]
        [--plot-kind heatmap|surface] [--normals] [--precision 9]
        [--skip-bad] [--overwrite] [--workers N] [--quiet]

Outputs, for an input ``x.wav`` (a folder given in FILES is walked for audio files, and its
sub-folders are kept under DIR, so that ``ESC-10/001 - Dog bark/1-100032-A.ogg`` gives
``DIR/001 - Dog bark/1-100032-A.obj``, a layout :func:`rae_fast.obj.load_dataset` reads):

* ``npy``: ``x.npy`` (float32 ``(n_lags, n_frames)``, :func:`numpy.load`) and ``x.axes.npz``
  (``times_s``, ``lags_ms``, ``sr``, ``frame_length``, ``hop_length``, ``center``);
* ``obj``: ``x.obj``, a Wavefront OBJ surface (:func:`rae_fast.obj.write_autocorrelogram`);
* ``png``: ``x.png``, a heatmap or 3-D surface (:func:`rae_fast.plotting.plot_autocorrelogram`).

Every output is written atomically. A rerun skips the outputs that already exist (resume), so
an interrupted run just continues; ``--overwrite`` recomputes them. The settings are kept in
``DIR/autocorrelogram_settings.json``; a rerun with other settings into the same folder is
refused (instead of silently mixing results) unless ``--overwrite`` is given.

Unusable files (not audio, empty, truncated, too short for a frame without centring...): by
default the run stops at the first one, naming it (exit status 2; the outputs written so far
are complete and kept). With ``--skip-bad`` every such file is skipped, all of them are listed
by name with the reason at the end, and the exit status is 1 when any file was skipped (0 only
when every file has all its outputs). Settings that are impossible whatever the file (e.g.
``--max-lag`` >= ``--frame-length``) fail before any file is read.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

from .._io import printable

FORMATS = ("npy", "obj", "png")
SETTINGS_FILE = "autocorrelogram_settings.json"


def _none_or(conv):
    def parse(text: str):
        if text.strip().lower() in ("none", "off", ""):
            return None
        try:
            return conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None
    return parse


def _collect(paths: List[str]) -> List[Tuple[Path, Path]]:
    """``(audio file, output base relative to DIR)`` for FILES; folders are walked."""
    from ..layouts import is_audio_file

    jobs: List[Tuple[Path, Path]] = []
    seen = set()
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if is_audio_file(f)
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ValueError(f"no audio files found in folder {printable(p)}")
            items = [(f, f.relative_to(p).with_suffix("")) for f in found]
        else:
            items = [(p, Path(p.stem))]                 # read (and maybe fail) later, by name
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
                             f"instead, or run them "
                             f"into different --out folders")
        clash[base] = f
    return jobs


def _settings(args) -> Dict:
    return {"sr": args.sr, "channels": args.channels, "frame_length": args.frame_length,
            "hop_length": args.hop_length, "max_lag": args.max_lag, "fmin": args.fmin,
            "window": args.window, "normalize": args.normalize, "center": not args.no_center,
            "detrend": args.detrend, "normals": args.normals, "precision": args.precision,
            "plot_kind": args.plot_kind}


def _check_settings(args) -> None:
    """Fail before reading any file when the settings are impossible whatever the audio."""
    import numpy as np

    from ..autocorr import autocorrelogram
    from .._validation import check_int

    check_int(args.precision, "--precision", 1, 17)
    if args.workers is not None:
        check_int(args.workers, "--workers", 1, 1024)
    if args.sr is not None and not args.sr > 0:
        raise ValueError(f"--sr must be > 0, got {args.sr}")
    if args.fmin is not None and not args.fmin > 0:
        raise ValueError(f"--fmin must be > 0 Hz, got {args.fmin}")
    if args.fmin is not None and args.max_lag is not None:
        raise ValueError("give --max-lag or --fmin, not both")
    center = not args.no_center
    n = 1 if center else max(1, args.frame_length)
    try:
        autocorrelogram(np.zeros(n, np.float32), sr=args.sr,
                        fmin=args.fmin if args.sr is not None else None,
                        frame_length=args.frame_length, hop_length=args.hop_length,
                        max_lag=args.max_lag, center=center, window=args.window,
                        normalize=args.normalize, detrend=args.detrend, n_threads=1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"impossible settings: {exc}") from None


def _check_manifest(out: Path, settings: Dict, overwrite: bool) -> None:
    from .._io import atomic_write_text

    path = out / SETTINGS_FILE
    if path.exists() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            old = None
        if not isinstance(old, dict):
            raise ValueError(f"{path} is not a settings file written by rae-fast "
                             f"autocorrelogram; remove it or use --overwrite")
        if old != settings:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in settings.items()
                             if old.get(k) != v)
            raise ValueError(f"{out} holds autocorrelograms made with other settings ({diff}); "
                             f"use --overwrite to recompute them, or another --out folder")
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
    """A problem with one input file (reported by name; skipped with --skip-bad)."""


def _process(src: Path, base: Path, todo: List[Tuple[str, Path]], args, n_threads) -> None:
    import numpy as np

    from .._io import atomic_path
    from ..audio import AudioError, load_audio
    from ..autocorr import autocorrelogram, autocorrelogram_axes

    center = not args.no_center
    try:
        y, sr = load_audio(src, sr=args.sr, channels=args.channels)
        A = autocorrelogram(y, sr=sr, frame_length=args.frame_length,
                            hop_length=args.hop_length, max_lag=args.max_lag, fmin=args.fmin,
                            center=center, window=args.window, normalize=args.normalize,
                            detrend=args.detrend, n_threads=n_threads)
        times, lags_ms = autocorrelogram_axes(A.shape[1], A.shape[0], sr, args.hop_length,
                                              args.frame_length, center)
    except AudioError as exc:
        raise _FileError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise _FileError(f"{printable(src)}: {exc}") from None
    for fmt, path in todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if fmt == "npy":
                with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(A, dtype=np.float32))
            elif fmt == "axes":
                with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                    np.savez(fh, times_s=times, lags_ms=lags_ms, sr=np.float64(sr),
                             frame_length=np.int64(args.frame_length),
                             hop_length=np.int64(args.hop_length), center=np.bool_(center))
            elif fmt == "obj":
                from ..obj import write_autocorrelogram
                write_autocorrelogram(path, A, times, lags_ms, normals=args.normals,
                                      precision=args.precision,
                                      comment=f"source: {printable(src)}\nsettings: "
                                              f"{json.dumps(_settings(args))}")
            else:
                from ..plotting import plot_autocorrelogram
                plot_autocorrelogram(A, times, lags_ms, path, kind=args.plot_kind,
                                     title=str(src.name))
        except ImportError:
            raise
        except (TypeError, ValueError) as exc:
            raise _FileError(f"{printable(src)}: cannot write {printable(path.name)}: "
                             f"{exc}") from None


def cmd_autocorrelogram(args) -> int:
    """``rae-fast autocorrelogram``: see the module docstring."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from ..progress import progress

    t0 = time.perf_counter()
    formats = list(dict.fromkeys(args.format or ["npy"]))
    if "png" in formats:
        from ..plotting import _matplotlib
        _matplotlib()                                   # fail now if matplotlib is missing
    _check_settings(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a folder")
    jobs = _collect(args.files)
    _check_manifest(out, _settings(args), args.overwrite)
    work = []
    for src, base in jobs:
        todo = [(fmt, p) for fmt, p in _outputs(out, base, formats)
                if args.overwrite or not p.exists()]
        if todo:
            work.append((src, base, todo))
    done_before = len(jobs) - len(work)
    workers = args.workers or min(len(work), os.cpu_count() or 1) or 1
    n_threads = None if workers == 1 else 1
    bad: List[str] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rae-acf")
    try:
        with progress(total=len(jobs), initial=done_before, desc="autocorrelogram", unit="file",
                      disable=True if args.quiet else None) as bar:
            queue = iter(work)
            pending: Dict = {}
            while True:
                # at most `workers` files in flight: a failure or Ctrl-C stops the run after
                # the files being processed, without starting others
                for src, base, todo in queue:
                    pending[pool.submit(_process, src, base, todo, args, n_threads)] = src
                    if len(pending) >= workers:
                        break
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    pending.pop(fut)
                    try:
                        fut.result()
                    except _FileError as exc:
                        if not args.skip_bad:
                            raise ValueError(f"{exc} (use --skip-bad to skip unusable files)") \
                                from None
                        bad.append(str(exc))
                    bar.update(1)
    except KeyboardInterrupt:
        print("rae-fast autocorrelogram: stopped after the files in progress; every output "
              "written is complete, run the same command again to continue", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    n_ok = len(work) - len(bad)
    seconds = time.perf_counter() - t0
    msg = f"wrote the autocorrelograms of {n_ok} file(s) to {out} in {seconds:.1f} s"
    if done_before:
        msg += f" ({done_before} already done)"
    print(msg)
    if bad:
        print(f"rae-fast autocorrelogram: skipped {len(bad)} unusable file(s):", file=sys.stderr)
        for line in bad:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    """Add ``autocorrelogram`` to the ``rae-fast`` command line."""
    from ..audio import CHANNEL_MODES

    p = subparsers.add_parser(
        "autocorrelogram", help="audio files -> autocorrelograms (.npy, .obj meshes, .png)",
        description="Compute the framewise autocorrelation (time x lag) of audio files and "
                    "write it as .npy arrays (+ .axes.npz), Wavefront OBJ surfaces or PNG "
                    "pictures. Folders are walked for audio files (their layout is kept under "
                    "--out). Outputs are written atomically; a rerun resumes. Exit status: 0 "
                    "all done; 1 some files were skipped (--skip-bad); 2 an error (by default "
                    "the first unusable file, named).")
    p.add_argument("files", nargs="+", metavar="FILES", help="audio files and/or folders")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", nargs="+", action="extend", choices=FORMATS, default=None,
                   help="what to write, several allowed: npy (+ .axes.npz), obj, png "
                        "(default: npy)")
    p.add_argument("--sr", type=float, default=None, metavar="HZ",
                   help="resample every file to this rate first (default: keep its rate)")
    p.add_argument("--channels", type=str.lower, choices=CHANNEL_MODES, default="mean",
                   help="how to combine the channels of multi-channel audio (default: mean)")
    p.add_argument("--frame-length", type=int, default=2048, metavar="SAMPLES",
                   help="samples per frame (default: 2048)")
    p.add_argument("--hop-length", type=int, default=512, metavar="SAMPLES",
                   help="samples between frames (default: 512)")
    p.add_argument("--max-lag", type=_none_or(int), default=None, metavar="SAMPLES",
                   help="largest lag (< frame length); default: the period of --fmin, else "
                        "frame length / 2")
    p.add_argument("--fmin", type=_none_or(float), default=None, metavar="HZ",
                   help="lowest frequency of interest: sets --max-lag to its period")
    p.add_argument("--window", type=_none_or(str), default=None, metavar="NAME",
                   help="window applied to each frame, e.g. hann (default: none, rectangular)")
    p.add_argument("--normalize", type=_none_or(str), default="lag0",
                   choices=("lag0", "unbiased", None), metavar="{lag0,unbiased,none}",
                   help="lag0 (default): r[0] = 1; unbiased: divide by the overlap; none: raw sums")
    p.add_argument("--no-center", action="store_true",
                   help="frames start at the first sample (no padding); files shorter than a "
                        "frame are then unusable")
    p.add_argument("--detrend", action="store_true", help="remove each frame's mean")
    p.add_argument("--plot-kind", choices=("heatmap", "surface"), default="heatmap",
                   help="png: heatmap (time x delay, colour bar; default) or 3-D surface")
    p.add_argument("--normals", action="store_true", help="obj: also write vertex normals")
    p.add_argument("--precision", type=int, default=9, metavar="DIGITS",
                   help="obj: significant digits (default 9: float32 values are kept exactly)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip unusable files, list them at the end and exit with status 1, "
                        "instead of stopping at the first one")
    p.add_argument("--overwrite", action="store_true",
                   help="recompute outputs that exist (default: skip them, i.e. resume)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="files processed in parallel (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_autocorrelogram)
