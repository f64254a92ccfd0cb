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

import sys

from ._ray import RAY_FLAGS, add_ray_option
from ._types import none_or

__all__ = ["cmd_autocorrelogram", "register"]


def cmd_autocorrelogram(args) -> int:
    """``rae-fast autocorrelogram``: see the module docstring."""
    from ..autocorr_files import AutocorrelogramSettings, write_autocorrelograms

    settings = AutocorrelogramSettings(
        sr=args.sr, channels=args.channels, frame_length=args.frame_length,
        hop_length=args.hop_length, max_lag=args.max_lag, fmin=args.fmin, window=args.window,
        normalize=args.normalize, center=not args.no_center, detrend=args.detrend,
        normals=args.normals, precision=args.precision, plot_kind=args.plot_kind)
    try:
        if args.ray is not None:
            if args.workers is not None:
                raise ValueError("--workers applies without --ray (--block-size sets the files "
                                 "per Ray task)")
            from ..distributed import write_autocorrelograms as ray_write

            res = ray_write(args.files, args.out, settings, formats=args.format or ["npy"],
                            address=args.ray, block_size=args.block_size,
                            skip_bad=args.skip_bad, overwrite=args.overwrite,
                            progress=False if args.quiet else None)
        else:
            if args.block_size is not None:
                raise ValueError("--block-size applies with --ray")
            res = write_autocorrelograms(args.files, args.out, settings,
                                         formats=args.format or ["npy"], workers=args.workers,
                                         skip_bad=args.skip_bad, overwrite=args.overwrite,
                                         progress=False if args.quiet else None)
    except KeyboardInterrupt:
        print("rae-fast autocorrelogram: stopped after the files in progress; every output "
              "written is complete, run the same command again to continue", file=sys.stderr)
        raise
    msg = (f"wrote the autocorrelograms of {res.n_written} file(s) to {res.out} in "
           f"{res.seconds:.1f} s")
    if res.n_done_before:
        msg += f" ({res.n_done_before} already done)"
    print(msg)
    if res.skipped:
        print(f"rae-fast autocorrelogram: skipped {len(res.skipped)} unusable file(s):",
              file=sys.stderr)
        for _, reason in res.skipped:
            print(f"  {reason}", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    """Add ``autocorrelogram`` to the ``rae-fast`` command line."""
    from ..audio import CHANNEL_MODES
    from ..autocorr_files import FORMATS

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
    p.add_argument("--max-lag", type=none_or(int), default=None, metavar="SAMPLES",
                   help="largest lag (< frame length); default: the period of --fmin, else "
                        "frame length / 2")
    p.add_argument("--fmin", type=none_or(float), default=None, metavar="HZ",
                   help="lowest frequency of interest: sets --max-lag to its period")
    p.add_argument("--window", type=none_or(str), default=None, metavar="NAME",
                   help="window applied to each frame, e.g. hann (default: none, rectangular)")
    p.add_argument("--normalize", type=none_or(str), default="lag0",
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
    add_ray_option(p, block="files")
    p.set_defaults(func=cmd_autocorrelogram, flag_aliases=dict(RAY_FLAGS))
