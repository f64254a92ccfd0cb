"""The ``rae-fast`` command line.

Each command group lives in its own module of this package and exposes
``register(subparsers)``, which adds its sub-commands with ``set_defaults(func=...)``. Heavy
imports (torch, onnxruntime, matplotlib) happen inside the command functions, so that
``rae-fast --help`` stays fast and a missing optional extra only affects the commands that
need it.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import re
import sys
from typing import Dict, List, Optional

from .._version import __version__

# Command groups, in the order of the pipeline.
_GROUPS = [
    "rae_fast.cli.inspection",  # inspect
    "rae_fast.cli.data",        # preprocess, modify
    "rae_fast.cli.autocorr",    # autocorrelogram
    "rae_fast.cli.model",       # train, export-onnx, generate, reconstruct
    "rae_fast.cli.diagnostics", # diagnose
    "rae_fast.cli.embedding",   # embed
    "rae_fast.cli.codec",       # encode, decode
    "rae_fast.cli.evaluation",  # evaluate, predict, fuse, band-stats, fuse-chunks, export, import
    "rae_fast.cli.plot",        # plot tsne, plot reconstruction
    "rae_fast.cli.demo",        # demo
]

#: Exceptions that are the user's to fix: printed as one clear line, exit status 2.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, PermissionError,
               IsADirectoryError, NotADirectoryError, ImportError, OSError)


def _user_errors() -> tuple:
    """:data:`USER_ERRORS`, plus the Ray cluster's (a node without rae_fast...) once the
    distributed layer is loaded (it is not imported otherwise)."""
    cluster = sys.modules.get("rae_fast.distributed.cluster")
    return USER_ERRORS + ((cluster.ClusterError,) if cluster is not None else ())


def _flag_map(subparser: argparse.ArgumentParser) -> Dict[str, str]:
    """Library parameter name -> this command's flag, from the parser's own options plus the
    ``flag_aliases`` a command declares (``set_defaults(flag_aliases={"mel_bands":
    "--mel-spectrum"})``) where a library parameter has another name on the command line."""
    flags: Dict[str, str] = {}
    for action in subparser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in ("help",):
            flags.setdefault(action.dest, longs[0])
    flags.update(subparser.get_default("flag_aliases") or {})
    return flags


def translate_message(message: str, flags: Dict[str, str]) -> str:
    """Write a library error message in the command line's words: ``fixed_length`` ->
    ``--fixed-length``. Library errors name parameters; only snake_case names (and a name that
    starts the message, as in "workers must be >= 1") are replaced, never inside a path or a
    longer word.

    >>> flags = {"fixed_length": "--fixed-length", "skip_bad": "--skip-bad", "name": "--name"}
    >>> translate_message("set fixed_length, or use skip_bad=True or name=NAME", flags)
    'set --fixed-length, or use --skip-bad or --name NAME'
    """
    def swap(m: "re.Match") -> str:
        return flags.get(m.group(0), m.group(0))

    def assign(m: "re.Match") -> str:
        flag = flags.get(m.group(1))
        if flag is None:
            return m.group(0)
        return flag if m.group(2) == "True" else f"{flag} {m.group(2)}"

    message = re.sub(r"(?<![\w./\\-])([a-z][a-z0-9_]*)=([^\s,;)]+)", assign, message)

    names = sorted((n for n in flags if "_" in n), key=len, reverse=True)
    if names:
        pattern = r"(?<![\w./\\-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w/\\-])"
        message = re.sub(pattern, swap, message)
    first = re.match(r"^([a-z][a-z0-9]*)(?= must | is | has )", message)
    if first and first.group(1) in flags:
        message = flags[first.group(1)] + message[first.end():]
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rae-fast",
        description="Fast unsupervised representation learning from audio "
                    "(auDeep-style recurrent autoencoders, spectrograms and autocorrelograms).",
    )
    parser.add_argument("--version", action="version", version=f"rae-fast {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks instead of one-line error messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _GROUPS:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def _command_parser(parser: argparse.ArgumentParser, command: str
                    ) -> Optional[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def error_message(exc: BaseException) -> str:
    """The text after ``rae-fast CMD: error:`` for ``exc``.

    A full disk (``ENOSPC``, also inside a library's ``RuntimeError``) reads ``no space left
    on device while writing FILE`` whichever library raised it."""
    from .._io import WriteError, _no_space_errno, no_room_text

    if isinstance(exc, WriteError):
        return str(exc)
    code = _no_space_errno(exc)
    if code is not None:
        inner = exc
        while inner is not None and not (isinstance(inner, OSError) and inner.errno == code):
            inner = inner.__cause__ or inner.__context__
        return no_room_text(code, getattr(inner, "filename", None))
    return str(exc)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``rae-fast`` console script; returns the exit status."""
    from .._io import _no_space_errno

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv            # for messages that name the command to run next
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s")
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        hint = getattr(args, "interrupt_hint", None)
        print(f"rae-fast {args.command}: interrupted; " + (
            hint(args) if hint is not None else
            "no half-written file was left under an output name (run the same command again "
            "to resume)"), file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug or not (isinstance(exc, _user_errors()) or
                              _no_space_errno(exc) is not None):
            raise
        sub = _command_parser(parser, args.command)
        while sub is not None:               # a nested command (plot tsne): its own flags
            dests = [a.dest for a in sub._actions
                     if isinstance(a, argparse._SubParsersAction)]
            nested = _command_parser(sub, getattr(args, dests[0], None)) if dests else None
            if nested is None:
                break
            sub = nested
        text = error_message(exc)
        if sub is not None:
            text = translate_message(text, _flag_map(sub))
        print(f"rae-fast {args.command}: error: {text}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
