#!/usr/bin/env python3
"""Build the command line reference ``docs/cli.md`` from the real ``rae-fast`` parser.

Usage::

    python tools/gen_cli_docs.py            # (re)write docs/cli.md atomically
    python tools/gen_cli_docs.py --check    # exit 1 with a message if docs/cli.md is stale
    python tools/gen_cli_docs.py --stdout   # print the generated text instead

The parser comes from :func:`rae_fast.cli.build_parser` (the same function ``rae-fast`` runs),
so every sub-command registered by a command group appears here, with its description, a usage
block and one table per argument group (flags, argument, default, help).

The output is deterministic and does not depend on the terminal or the Python version: usage
lines are composed here (not by argparse, whose wrapping and layout differ between Python
releases and terminal widths) and wrapped at :data:`WIDTH` columns; tests/test_docs.py checks
that docs/cli.md is up to date.

Example
-------
>>> import importlib.util, sys                                     # doctest: +SKIP
>>> spec = importlib.util.spec_from_file_location("gen_cli_docs", "tools/gen_cli_docs.py")
>>> gen = importlib.util.module_from_spec(spec); spec.loader.exec_module(gen)
>>> text = gen.render()                 # the Markdown of docs/cli.md, as a str
>>> gen.check()                         # (True, "docs/cli.md is up to date") when it is
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
#: The generated file.
DOC = REPO / "docs" / "cli.md"
#: Column at which usage lines are wrapped (like running argparse with ``COLUMNS=100``).
WIDTH = 100
#: The command that regenerates the file (quoted in messages and in the file's header).
REGENERATE = "python tools/gen_cli_docs.py"

# The typical pipeline, in order, with what each step does (used by the introduction; commands
# that the parser does not have are left out, commands not listed here still get a section).
PIPELINE = [
    ("inspect", "look at an audio collection (layout, labels, folds, lengths)"),
    ("preprocess", "audio files -> spectrograms in a netCDF data set"),
    ("train", "train the recurrent autoencoder on the spectrograms"),
    ("export-onnx", "export the trained encoder (and autoencoder) to ONNX"),
    ("generate", "compute one representation per instance with ONNX Runtime"),
    ("evaluate", "classify the representations with cross-validation or partitions"),
]

# Commands that continue an interrupted run (`train` with --continue).
RESUMING = ["preprocess", "autocorrelogram", "train --continue", "generate"]

# An example pipeline; every line is parsed by tests/test_docs.py like any other doc example.
EXAMPLE = [
    "rae-fast inspect audio/",
    "rae-fast preprocess --basedir audio/ --output specs.nc",
    "rae-fast train --input specs.nc --run-dir run/ --num-layers 2 --num-units 256 \\\n"
    "    --bidirectional-decoder --num-epochs 64",
    "rae-fast export-onnx run/",
    "rae-fast generate --model run/encoder.onnx --input specs.nc --output reps.nc",
    "rae-fast evaluate --input reps.nc --cross-validate",
]


# ----------------------------------------------------------------------------- the parser

def get_parser() -> argparse.ArgumentParser:
    """The ``rae-fast`` parser, built exactly as the console script builds it."""
    from rae_fast.cli import build_parser

    return build_parser()


def subcommands(parser: argparse.ArgumentParser
                ) -> List[Tuple[str, argparse.ArgumentParser, str]]:
    """``(name, sub-parser, one-line help)`` of every sub-command, in registration order.

    Aliases (several names for one sub-parser) are listed once, under their first name.
    """
    out, seen = [], set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            out.append((name, sub, helps.get(name, "")))
    return out


def _metavar(action: argparse.Action) -> str:
    if action.metavar is not None:
        return action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    return action.dest if not action.option_strings else action.dest.upper()


def format_args(action: argparse.Action) -> str:
    """The argument part of an action, e.g. ``FILE [FILE ...]``; ``""`` for flags."""
    if action.nargs == 0:
        return ""
    m = _metavar(action)
    nargs = action.nargs
    if nargs is None:
        return m
    if nargs == argparse.OPTIONAL:
        return f"[{m}]"
    if nargs == argparse.ZERO_OR_MORE:
        return f"[{m} ...]"
    if nargs == argparse.ONE_OR_MORE:
        return f"{m} [{m} ...]"
    if nargs == argparse.REMAINDER:
        return "..."
    if nargs == argparse.PARSER:
        return f"{m} ..."
    return " ".join([m] * int(nargs))


def _is_help(action: argparse.Action) -> bool:
    return isinstance(action, argparse._HelpAction)


def _invocation(action: argparse.Action) -> str:
    """How the action is written in a usage line: ``--input FILE [FILE ...]``."""
    args = format_args(action)
    if not action.option_strings:
        return args
    return f"{action.option_strings[0]} {args}".rstrip()


def usage(parser: argparse.ArgumentParser, prog: Optional[str] = None) -> str:
    """A usage text for ``parser``, wrapped at :data:`WIDTH` columns.

    Options come first (optional ones in brackets, mutually exclusive ones grouped with ``|``,
    in parentheses when one of them is required), then the positional arguments, as argparse
    writes them; the help option is left out.
    """
    prog = prog or parser.prog
    group_of = {}
    for group in parser._mutually_exclusive_groups:
        for a in group._group_actions:
            group_of[id(a)] = group
    parts, done = [], set()
    for action in parser._actions:
        if _is_help(action) or not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        group = group_of.get(id(action))
        if group is None:
            text = _invocation(action)
            parts.append(text if action.required else f"[{text}]")
        elif id(group) not in done:
            done.add(id(group))
            members = [_invocation(a) for a in group._group_actions]
            left, right = ("(", ")") if group.required else ("[", "]")
            whole = left + " | ".join(members) + right
            if len(whole) <= WIDTH - len(f"usage: {prog} "):
                parts.append(whole)
            else:  # too long for one line: allow line breaks before each "|"
                parts += [left + members[0]] + [f"| {m}" for m in members[1:-1]] + \
                    [f"| {members[-1]}{right}"]
    for action in parser._actions:
        if action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            parts.append(f"{_metavar(action)} ...")
        else:
            parts.append(format_args(action))
    head = f"usage: {prog} "
    lines, line = [], head
    for part in parts:
        if line.strip() and line != head and len(line) + len(part) > WIDTH:
            lines.append(line.rstrip())
            line = " " * len(head)
        line += part + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------- Markdown

def _cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return " ".join(str(text).split()).replace("<", "&lt;").replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code for a table cell (pipes escaped, as GitHub tables need)."""
    return f"`{text}`".replace("|", "\\|") if text else ""


def _expand_help(action: argparse.Action, prog: str) -> str:
    """``action.help`` with ``%(default)s``-style references filled in, as argparse does."""
    if not action.help:
        return ""
    params = dict(vars(action), prog=prog)
    for name in list(params):
        if params[name] is argparse.SUPPRESS:
            del params[name]
    for name in list(params):
        if hasattr(params[name], "__name__"):
            params[name] = params[name].__name__
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(c) for c in params["choices"])
    return action.help % params


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
        return ""  # flags, and options without a default value
    value = action.default
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def _description(action: argparse.Action, prog: str) -> str:
    text = _expand_help(action, prog)
    if (action.choices is not None and action.metavar is not None
            and not str(action.metavar).startswith("{")):
        text += f" (choices: {', '.join(str(c) for c in action.choices)})"
    if action.required and action.option_strings:
        text = "**required**; " + text
    return _cell(text.strip())


def _exclusive_note(group) -> str:
    names = ", ".join(f"`{a.option_strings[0]}`" for a in group._group_actions)
    if group.required:
        return f"Exactly one of {names} is required."
    return f"At most one of {names} may be given."


def option_tables(parser: argparse.ArgumentParser) -> List[str]:
    """Markdown lines: one table per argument group that has visible arguments.

    A note after a table names the options of a mutually exclusive group whose first member
    is in that table.
    """
    first_of = {id(g._group_actions[0]): g for g in parser._mutually_exclusive_groups
                if g._group_actions}
    lines: List[str] = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if not _is_help(a) and a.help != argparse.SUPPRESS
                   and not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        if group is parser._positionals:
            title = "Arguments"
        elif group is parser._optionals:
            title = "Options"
        else:
            title = group.title[:1].upper() + group.title[1:]
        lines += [f"**{_cell(title)}**", ""]
        if group.description:
            lines += [_cell(group.description), ""]
        lines += ["| option | argument | default | description |", "|---|---|---|---|"]
        notes = []
        for a in actions:
            flags = ", ".join(f"`{s}`" for s in a.option_strings) if a.option_strings else \
                _code(_metavar(a))
            lines.append(f"| {flags} | {_code(format_args(a))} | {_code(_default(a))} | "
                         f"{_description(a, parser.prog)} |")
            if id(a) in first_of:
                notes.append(_exclusive_note(first_of[id(a)]))
        lines.append("")
        if notes:
            lines += [" ".join(notes), ""]
    return lines


def _and(items: Sequence[str]) -> str:
    """``a, b and c``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _intro(names: Sequence[str]) -> List[str]:
    steps = [(n, what) for n, what in PIPELINE if n in names]
    lines = [
        "# Command line reference: `rae-fast`",
        "",
        f"<!-- Generated by `{REGENERATE}` from the parser of the `rae-fast` console script."
        " Do not edit by hand: edit the parser's help texts and regenerate. -->",
        "",
        "`rae-fast` is one console script with a sub-command per step. A typical pipeline runs "
        + " -> ".join(f"`{n}`" for n, _ in steps) + ":",
        "",
    ]
    lines += [f"{i}. `{n}`: {what};" if i < len(steps) else f"{i}. `{n}`: {what}."
              for i, (n, what) in enumerate(steps, 1)]
    lines += ["", "```bash"] + [cmd for cmd in EXAMPLE
                                if cmd.split()[1] in names] + ["```", ""]
    others = [n for n in names if n not in dict(PIPELINE) and n != "demo"]
    if others:
        lines += ["The other commands, " + ", ".join(f"[`{n}`](#{n})" for n in others)
                  + ", are listed with the pipeline's in the table below."]
        if "demo" in names:
            lines[-1] += (" To try everything at once, [`rae-fast demo`](#demo) runs the whole "
                          "pipeline on sounds it synthesises itself.")
        lines.append("")
    lines += [
        "Every command accepts `-h` / `--help`. Long-running commands show a progress bar and "
        "can be interrupted with Ctrl-C (exit status 130) without leaving a half-written output "
        "file; " + _and([f"`{n}`" for n in RESUMING if n.split()[0] in names])
        + " resume where they stopped when run again. Errors the user can fix (a missing or unreadable file, an "
        "impossible setting) are printed as one line, `rae-fast COMMAND: error: ...`, with exit "
        "status 2; `--debug` shows the full traceback instead. So is a full disk (or quota): "
        "`rae-fast COMMAND: error: no space left on device while writing FILE`; no output is "
        "left half-written, and only what a rerun resumes from stays (the line says so: "
        "`OUTPUT.partial` of `preprocess` / `generate` when the disk was found too full before "
        "a write, the checkpoints of `train`, with the exact `--continue` command to run; a "
        "file that failed in the middle of a write is deleted).",
        "",
    ]
    return lines


def render(parser: Optional[argparse.ArgumentParser] = None) -> str:
    """The complete Markdown text of ``docs/cli.md`` for ``parser`` (default: the real one)."""
    parser = parser or get_parser()
    subs = subcommands(parser)
    names = [n for n, _, _ in subs]
    lines = _intro(names)
    lines += ["## Commands", ""]
    lines += ["| command | what it does |", "|---|---|"]
    lines += [f"| [`{n}`](#{n}) | {_cell(h)} |" for n, _, h in subs]
    lines += ["", "## Global options", "",
              "Given before the command, e.g. `rae-fast --debug train ...`.", "",
              "```text", usage(parser), "```", ""]
    lines += option_tables(parser)
    for name, sub, short in subs:
        lines += [f"## {name}", ""]
        if short:
            lines += [f"*{_cell(short)}*", ""]
        if sub.description:
            lines += [" ".join(sub.description.split()), ""]
        lines += ["```text", usage(sub), "```", ""]
        lines += option_tables(sub)
        if sub.epilog:
            lines += [" ".join(sub.epilog.split()), ""]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- writing, checking

def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def check(path: Path = DOC, parser: Optional[argparse.ArgumentParser] = None
          ) -> Tuple[bool, str]:
    """Compare ``path`` with the text the parser gives: ``(up_to_date, message)``.

    The message of a stale file names it, says how to regenerate it and shows the first lines
    of a unified diff (file -> expected).
    """
    path = Path(path)
    shown_path = _shown(path)
    expected = render(parser)
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False, f"{shown_path} does not exist; run `{REGENERATE}` to create it"
    if current == expected:
        return True, f"{shown_path} is up to date"
    diff = list(difflib.unified_diff(current.splitlines(), expected.splitlines(),
                                     f"{shown_path} (current)", f"{shown_path} (from the parser)",
                                     lineterm="", n=1))
    shown = "\n".join(diff[:40]) + ("\n..." if len(diff) > 40 else "")
    return False, (f"{shown_path} is out of date with the rae-fast parser; run `{REGENERATE}`.\n"
                   f"{shown}")


def write(path: Path = DOC, parser: Optional[argparse.ArgumentParser] = None) -> bool:
    """Write the generated text to ``path`` atomically; return True if the file changed."""
    from rae_fast._io import atomic_write_text

    path = Path(path)
    text = render(parser)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


def main(argv: Optional[Iterable[str]] = None) -> int:
    """Command line of this script; returns the exit status (0 ok, 1 stale with --check)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if the file is out of date instead of writing it")
    mode.add_argument("--stdout", action="store_true", help="print the text instead")
    ap.add_argument("--output", type=Path, default=DOC,
                    help=f"file to write or check (default {_shown(DOC)})")
    args = ap.parse_args(None if argv is None else list(argv))
    if args.stdout:
        sys.stdout.write(render())
        return 0
    if args.check:
        ok, message = check(args.output)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    changed = write(args.output)
    print(f"{'wrote' if changed else 'unchanged:'} {_shown(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
