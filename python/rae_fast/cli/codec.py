"""``rae-fast encode | decode``: audio -> compact codes -> audio, through a trained autoencoder.

::

    rae-fast encode --model RUN/encoder.onnx INPUT... --output codes.raec [--dtype float16]
    rae-fast decode codes.raec --model RUN/decoder.onnx --output decoded/ [--format wav|flac]

``export-onnx`` writes ``decoder.onnx`` next to ``encoder.onnx`` for models with a
unidirectional decoder (a bidirectional decoder cannot run from the code alone). The code file
carries the encoder's content hash, its front end and the offsets that the features throw away
(see :mod:`rae_fast.codec`).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ._types import positive_int, positive_seconds

__all__ = ["register"]


def _model(path: str, name: str) -> Path:
    p = Path(path)
    if p.is_dir():
        if not (p / name).is_file():
            raise FileNotFoundError(f"{p} has no {name}; run rae-fast export-onnx {p} first "
                                    "(decoder.onnx needs a unidirectional decoder)")
        return p / name
    return p


def _cmd_encode(args) -> int:
    from ..codec import encode_files

    res = encode_files(_model(args.model, "encoder.onnx"), args.inputs, args.output,
                       dtype=args.dtype, hop=args.hop, segmentation=args.segmentation,
                       workers=args.workers, progress=False if args.quiet else None,
                       skip_bad=args.skip_bad, resume=not args.restart, parser=args.parser,
                       device=args.device, n_threads=args.threads)
    msg = (f"wrote {res.path}: {res.n_instances} code(s) ({args.dtype}) of {res.n_files} "
           f"file(s), {res.audio_seconds:.1f} s of audio in {res.bytes} bytes "
           f"({res.bits_per_second:.0f} bits/s with names and side information) in "
           f"{res.seconds:.1f} s")
    if res.n_resumed:
        msg += f" ({res.n_resumed} file(s) resumed)"
    print(msg)
    if res.skipped:
        print(f"rae-fast encode: skipped {len(res.skipped)} unusable file(s):", file=sys.stderr)
        for name, reason in res.skipped[:50]:
            print(f"  {name}: {reason}", file=sys.stderr)
        return 1
    return 0


def _cmd_decode(args) -> int:
    from ..codec import decode_codes

    res = decode_codes(args.codes, _model(args.model, "decoder.onnx"), args.output,
                       format=args.format, n_iter=args.iterations, sr=args.sr,
                       batch_size=args.batch_size, resume=not args.restart,
                       progress=False if args.quiet else None, n_threads=args.threads,
                       device=args.device)
    msg = (f"wrote {len(res.files)} {args.format} file(s) at {res.sample_rate} Hz to "
           f"{res.output_dir} in {res.seconds:.1f} s")
    if res.n_resumed:
        msg += f" ({res.n_resumed} written before)"
    print(msg)
    return 0


def register(sub) -> None:
    """Add ``encode`` and ``decode`` to the CLI."""
    p = sub.add_parser(
        "encode", help="encode audio files into one compact code file",
        description="Encode audio files, folders or .txt lists with an exported encoder into one "
                    "code file: the representations (float16 or float32) plus what decoding "
                    "needs (model hash, front end, clip lengths, the per-instance "
                    "normalisation offsets). Streamed; an interrupted run resumes (unless "
                    "--restart); the file appears when complete.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files, folders or .txt lists")
    p.add_argument("--model", required=True, metavar="ENCODER.onnx",
                   help="exported encoder (or a run directory holding encoder.onnx)")
    p.add_argument("--output", "-o", required=True, metavar="CODES.raec", help="code file")
    p.add_argument("--dtype", choices=["float16", "float32"], default="float16",
                   help="precision of the stored codes (default float16)")
    p.add_argument("--hop", type=positive_seconds, default=None, metavar="SECONDS",
                   help="seconds between windows (default: the model's clip length)")
    p.add_argument("--segmentation", choices=["windows", "preprocess"], default="windows",
                   help="windows: the whole file, window after window (default); preprocess: "
                        "the one cut preprocess takes")
    p.add_argument("--parser", default="auto", help="dataset layout of a single input folder")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="threads reading files and computing features (default: all cores)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out unusable files and list them (exit status 1)")
    p.add_argument("--restart", action="store_true", help="ignore a partial output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser(
        "decode", help="decode a code file back into audio files",
        description="Turn a code file back into audio through the model's free-running decoder "
                    "(decoder.onnx), the stored offsets, mel (or autocorrelogram) inversion and "
                    "Griffin-Lim. Refuses codes of another model, truncated code files and "
                    "models without a decoder before writing anything; every audio file is "
                    "written atomically and a rerun resumes (unless --restart).")
    p.add_argument("codes", metavar="CODES.raec", help="code file written by rae-fast encode")
    p.add_argument("--model", required=True, metavar="DECODER.onnx",
                   help="exported decoder (or the run directory holding decoder.onnx)")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="folder for the audio")
    p.add_argument("--format", choices=["wav", "flac"], default="wav",
                   help="audio format (default wav, 16-bit)")
    p.add_argument("--iterations", type=positive_int, default=32,
                   help="Griffin-Lim iterations (default 32)")
    p.add_argument("--sr", type=positive_int, default=None, metavar="HZ",
                   help="output rate (default: the model's)")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="files decoded together (default 16)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="threads (default: all cores)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--restart", action="store_true",
                   help="decode every file again, even those an interrupted run wrote")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_decode, flag_aliases={"n_iter": "--iterations"})
