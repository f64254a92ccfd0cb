"""``rae-fast embed``: audio files, folders or lists -> representations with one model file.

::

    rae-fast embed --model run/encoder.onnx INPUT... --output OUT.{csv,parquet,nc}
        [--hop SECONDS] [--aggregate mean|mean+std] [--segmentation windows|preprocess]
        [--workers N] [--threads N] [--device auto|cpu|cuda] [--skip-bad] [--restart]
        [--ray ADDRESS [--block-size N]]

The model file carries its front end (``rae-fast export-onnx`` stores it), so no preprocessing
settings are needed: audio of any rate, channel count and length is resampled, fused, cut into
the model's windows and embedded (see :mod:`rae_fast.embedding`).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ._ray import RAY_FLAGS, add_ray_option
from ._types import positive_int, positive_seconds

__all__ = ["register"]



def _cmd_embed(args) -> int:
    from ..embedding import Embedder, embed_to_file

    model = Path(args.model)
    if model.is_dir():
        model = model / "encoder.onnx"
        if not model.is_file():
            raise FileNotFoundError(f"{args.model} has no encoder.onnx; run rae-fast "
                                    f"export-onnx {args.model} first")
    if args.ray is not None:
        if args.workers is not None or args.threads is not None:
            raise ValueError("--workers and --threads apply without --ray (each Ray task "
                             "decodes and encodes with one thread; --block-size sets the files "
                             "per task)")
        from ..distributed import embed as ray_embed

        emb = Embedder(model, device=args.device, n_threads=1, batch_size=args.batch_size)
        with emb:
            res = ray_embed(emb, args.inputs, args.output, hop=args.hop,
                            aggregate=args.aggregate, segmentation=args.segmentation,
                            progress=False if args.quiet else None, skip_bad=args.skip_bad,
                            resume=not args.restart, parser=args.parser, address=args.ray,
                            block_size=args.block_size)
    else:
        if args.block_size is not None:
            raise ValueError("--block-size applies with --ray")
        with Embedder(model, device=args.device, n_threads=args.threads,
                      batch_size=args.batch_size) as emb:
            res = embed_to_file(emb, args.inputs, args.output, hop=args.hop,
                                aggregate=args.aggregate, segmentation=args.segmentation,
                                workers=args.workers, progress=False if args.quiet else None,
                                skip_bad=args.skip_bad, resume=not args.restart,
                                parser=args.parser)
    msg = (f"wrote {res.n_rows} embedding(s) of size "
           f"{emb.embedding_size * (2 if args.aggregate == 'mean+std' else 1)} from "
           f"{res.n_files} file(s) to {res.path} in {res.seconds:.1f} s")
    if res.n_resumed_files:
        msg += f" ({res.n_resumed_files} file(s) resumed)"
    print(msg)
    if res.skipped:
        print(f"rae-fast embed: skipped {len(res.skipped)} unusable file(s):", file=sys.stderr)
        for name, reason in res.skipped[:50]:
            print(f"  {name}: {reason}", file=sys.stderr)
        if len(res.skipped) > 50:
            print(f"  ... and {len(res.skipped) - 50} more", file=sys.stderr)
        return 1                    # as rae-fast autocorrelogram: not every file is in
    return 0


def register(subparsers) -> None:
    """Add ``embed`` to the ``rae-fast`` command line."""
    p = subparsers.add_parser(
        "embed", help="audio -> representations with one exported model (csv/parquet/nc)",
        description="Embed audio files, folders (a single folder keeps the labels and folds of "
                    "its layout) or lists of files (.txt, one path per line) with an encoder "
                    "exported by rae-fast export-onnx, which carries its preprocessing. The "
                    "output format follows the suffix: .csv, .parquet or .nc (auDeep's data "
                    "model). Streamed, resumable (rerun the same command), written atomically.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files, folders or lists")
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="encoder.onnx (or the run folder that holds it)")
    p.add_argument("--output", required=True, metavar="OUT",
                   help="output file: .csv, .parquet or .nc")
    p.add_argument("--hop", type=positive_seconds, default=None, metavar="SECONDS",
                   help="seconds between windows (default: the model's window, no overlap)")
    p.add_argument("--aggregate", choices=("mean", "mean+std"), default=None,
                   help="one row per file: the mean (and standard deviation) of its windows")
    p.add_argument("--segmentation", choices=("windows", "preprocess"), default="windows",
                   help="windows: cut every file into the model's windows (default); "
                        "preprocess: the single cut preprocess takes (fixed length, centred "
                        "as trained)")
    p.add_argument("--parser", default="auto",
                   help="dataset layout of a single input folder (default: auto)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="files decoded in parallel (default: all cores)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--batch-size", type=positive_int, default=64, metavar="N",
                   help="instances per ONNX Runtime call (default 64)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="ONNX Runtime device (default auto)")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out unusable files (listed at the end; exit status 1) instead of "
                        "stopping at the first one")
    p.add_argument("--restart", action="store_true",
                   help="start again instead of resuming an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_ray_option(p, block="files")
    p.set_defaults(func=_cmd_embed, flag_aliases={"resume": "--restart", **RAY_FLAGS})
