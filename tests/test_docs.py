"""The documentation cannot rot: it is checked against the code.

* ``docs/cli.md`` equals what ``tools/gen_cli_docs.py`` generates from the real ``rae-fast``
  parser (regenerate with ``python tools/gen_cli_docs.py``).
* Every ``rae-fast ...`` (or ``python -m rae_fast ...``) command line in a fenced
  ````console`` / ````bash`` / ````sh`` block of README.md and docs/*.md names an existing
  sub-command and parses with that sub-command's real parser (lines with ``--help`` are only
  checked for the sub-command). A block preceded by ``<!-- no-check -->`` is skipped.
* Every ````python`` block of README.md and docs/*.md runs, in a temporary working directory;
  the blocks of one file run in order in one namespace (a fresh one per file). A block preceded
  by ``<!-- no-run -->`` is skipped.
* The README's quick start has exactly two set-up commands, the second being the test command
  that ``.ci/run`` runs.

The helpers below (fenced blocks, logical command lines, sections) are tested on small
hand-written documents first, so that a broken helper cannot make the checks pass vacuously.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import shlex
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"
DOC_FILES = ([README] if README.is_file() else []) + sorted((REPO / "docs").glob("*.md"))

SHELL_LANGS = ("console", "bash", "sh", "shell")
QUICK_START_LANGS = ("bash", "console")


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- Markdown helpers

@dataclass
class Block:
    """A fenced code block: language, 1-based line of its first content line, content lines,
    and the words of an HTML comment on the last non-blank line before the fence."""
    lang: str
    line: int
    lines: List[str]
    markers: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^\s`{]*)")
_MARKER = re.compile(r"^\s*<!--\s*(.*?)\s*-->\s*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def fenced_blocks(text: str) -> List[Block]:
    """All fenced code blocks of a Markdown text (backtick or tilde fences, any indentation
    up to 3 spaces; an unclosed block runs to the end, as CommonMark says)."""
    blocks: List[Block] = []
    lines = text.splitlines()
    i, previous = 0, ""
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        marker = _MARKER.match(previous)
        markers = tuple(marker.group(1).split()) if marker else ()
        body, j = [], i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            j += 1
        blocks.append(Block(lang, i + 2, body, markers))
        previous, i = "", j + 1
    return blocks


def headings(text: str) -> List[Tuple[int, int, str]]:
    """``(line index, level, title)`` of the ATX headings outside code blocks."""
    out, fence = [], None
    for k, line in enumerate(text.splitlines()):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(2)
            continue
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                fence = None
            continue
        h = _HEADING.match(line)
        if h:
            out.append((k, len(h.group(1)), h.group(2)))
    return out


def section(text: str, words: str) -> Optional[Tuple[int, str]]:
    """``(first line number, text)`` of the first section whose heading contains ``words``
    (case-insensitive), up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    hs = headings(text)
    for n, (k, level, title) in enumerate(hs):
        if words.lower() in title.lower():
            end = next((k2 for k2, l2, _ in hs[n + 1:] if l2 <= level), len(lines))
            return k + 1, "\n".join(lines[k:end]) + "\n"
    return None


def logical_lines(block: Block) -> List[Tuple[int, str]]:
    """The command lines of a shell block: ``(line number, command)``.

    Backslash continuations are joined; blank lines and ``#`` comments are dropped. In a
    ``console`` block that uses ``$`` prompts only the prompted lines (and their
    continuations, with an optional ``>`` prompt) are commands; the rest is output.
    """
    prompted = block.lang == "console" and any(
        ln.lstrip().startswith("$ ") or ln.strip() == "$" for ln in block.lines)
    out: List[Tuple[int, str]] = []
    current, start = None, 0
    for k, raw in enumerate(block.lines):
        line = raw.rstrip()
        if current is not None:  # continuation of the previous line
            cont = line.lstrip()
            if prompted and cont.startswith("> "):
                cont = cont[2:]
            current += " " + cont
        else:
            stripped = line.lstrip()
            if prompted:
                if not (stripped.startswith("$ ") or stripped == "$"):
                    continue
                stripped = stripped[1:].lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            current, start = stripped, block.line + k
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        out.append((start, current))
        current = None
    if current is not None:
        out.append((start, current))
    return out


_PLACEHOLDER = re.compile(r"<[A-Za-z_][^<>\n]*>")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}
_REDIRECTS = {">", ">>", "<", "<<", ">&", "&>", ">|", "<>"}
_WRAPPERS = {"time", "nohup", "env", "exec", "command"}


def rae_fast_commands(command: str) -> List[List[str]]:
    """The argument lists of every ``rae-fast`` / ``python -m rae_fast`` invocation in one
    shell command line (split at ``&&``, ``;``, ``|``..., redirections removed).

    Placeholders in angle brackets (``<file.wav>``) are replaced by a plain word first.
    """
    lexer = shlex.shlex(_PLACEHOLDER.sub("PLACEHOLDER", command), posix=True,
                        punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    segments, seg = [], []
    skip_next = False
    for tok in tokens:
        if skip_next:
            skip_next = False
            continue
        if tok in _OPERATORS:
            segments.append(seg)
            seg = []
        elif tok in _REDIRECTS:
            skip_next = True
            if seg and seg[-1].isdigit():
                seg.pop()
        else:
            seg.append(tok)
    segments.append(seg)
    found = []
    for seg in segments:
        while seg and (_ASSIGNMENT.match(seg[0]) or seg[0] in _WRAPPERS):
            seg = seg[1:]
        if seg and Path(seg[0]).name == "rae-fast":
            found.append(seg[1:])
        elif (len(seg) >= 3 and re.fullmatch(r"python[0-9.]*", Path(seg[0]).name)
              and seg[1:3] == ["-m", "rae_fast"]):
            found.append(seg[3:])
    return found


# ----------------------------------------------------------------------------- the real parser

def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs",
                                                  REPO / "tools" / "gen_cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_generator()


@pytest.fixture(scope="module")
def parser():
    from rae_fast.cli import build_parser

    return build_parser()


def command_error(parser, args: Sequence[str]) -> Optional[str]:
    """Why ``rae-fast ARGS`` is wrong, or None when the real parser accepts it.

    The sub-command must exist; with ``-h`` / ``--help`` nothing else is checked.
    """
    names = [name for action in parser._actions
             if isinstance(action, argparse._SubParsersAction) for name in action.choices]
    positional = [a for a in args if not a.startswith("-")]
    if not positional:
        if "--version" in args or "-h" in args or "--help" in args:
            return None
        return "no sub-command"
    if positional[0] not in names:
        return f"unknown sub-command {positional[0]!r} (known: {', '.join(names)})"
    if "-h" in args or "--help" in args:
        return None
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            parser.parse_args(list(args))
    except SystemExit as exc:
        if exc.code not in (0, None):
            lines = err.getvalue().strip().splitlines()
            return lines[-1] if lines else f"exit status {exc.code}"
    return None


def doc_commands(path: Path) -> List[Tuple[int, str, List[str]]]:
    """``(line, command line, rae-fast arguments)`` of the checked shell blocks of a file."""
    out = []
    for block in fenced_blocks(path.read_text(encoding="utf-8")):
        if block.lang not in SHELL_LANGS or "no-check" in block.markers:
            continue
        for line, command in logical_lines(block):
            for args in rae_fast_commands(command):
                out.append((line, command, args))
    return out


def python_blocks(path: Path) -> List[Block]:
    return [b for b in fenced_blocks(path.read_text(encoding="utf-8"))
            if b.lang in ("python", "py", "python3") and "no-run" not in b.markers]


def run_python_blocks(path: Path, blocks: Sequence[Block]) -> dict:
    """Run ``blocks`` in order in one fresh namespace; line numbers in tracebacks are the
    Markdown file's. Returns the namespace."""
    namespace = {"__name__": "__doc_example__"}
    for block in blocks:
        code = compile("\n" * (block.line - 1) + block.text, str(path), "exec")
        exec(code, namespace)
    return namespace


# ----------------------------------------------------------------------------- helpers work

def test_fenced_blocks_languages_lines_and_markers():
    text = ("# T\n\n<!-- no-check -->\n```bash\nrae-fast nope\n```\n\n"
            "Text.\n\n~~~python\nx = 1\n~~~\n<!-- no-run -->\n\n```python\nraise SystemExit\n"
            "```\n  ```console\n  $ rae-fast train\n  ```\n```\nplain\n")
    blocks = fenced_blocks(text)
    assert [(b.lang, b.line, b.lines, b.markers) for b in blocks] == [
        ("bash", 5, ["rae-fast nope"], ("no-check",)),
        ("python", 11, ["x = 1"], ()),
        ("python", 16, ["raise SystemExit"], ("no-run",)),
        ("console", 19, ["$ rae-fast train"], ()),
        ("", 22, ["plain"], ()),  # unclosed: runs to the end
    ]


def test_logical_lines_join_continuations_and_skip_output():
    bash = Block("bash", 10, ["# comment", "rae-fast train --input a.nc \\",
                              "    --run-dir RUN", "", "ls  # listing"])
    assert logical_lines(bash) == [(11, "rae-fast train --input a.nc --run-dir RUN"),
                                   (14, "ls  # listing")]
    console = Block("console", 1, ["$ rae-fast fuse a.nc b.nc \\", "> --output f.nc",
                                   "rae-fast fuse: error: output", "$ echo done"])
    assert logical_lines(console) == [(1, "rae-fast fuse a.nc b.nc --output f.nc"),
                                      (4, "echo done")]
    unprompted = Block("console", 1, ["rae-fast inspect x"])
    assert logical_lines(unprompted) == [(1, "rae-fast inspect x")]


def test_rae_fast_commands_are_found_in_shell_syntax():
    assert rae_fast_commands("rae-fast inspect 'my dir' --json > out.json") == \
        [["inspect", "my dir", "--json"]]
    assert rae_fast_commands("OMP_NUM_THREADS=1 time rae-fast export-onnx RUN && "
                             "python -m rae_fast generate --model <model.onnx>; ls | wc") == \
        [["export-onnx", "RUN"], ["generate", "--model", "PLACEHOLDER"]]
    assert rae_fast_commands("python -c 'print(1)'; echo rae-fast") == []


def test_command_error_uses_the_real_parser(parser):
    assert command_error(parser, ["inspect", "x"]) is None
    assert command_error(parser, ["-v", "export-onnx", "RUN", "--method", "graph"]) is None
    assert command_error(parser, ["train", "--help"]) is None
    assert "unknown sub-command 'trian'" in command_error(parser, ["trian", "--input", "x"])
    assert "unrecognized arguments: --bogus" in command_error(parser,
                                                              ["inspect", "x", "--bogus"])
    assert "invalid choice" in command_error(parser, ["export-onnx", "RUN", "--method", "x"])
    assert "required" in command_error(parser, ["generate", "--model", "m.onnx"])
    assert command_error(parser, []) == "no sub-command"


def test_section_and_headings_ignore_code_blocks():
    text = ("# Title\n## Quick start\n```bash\n# not a heading\ncmd\n```\n### Sub\nx\n"
            "## Next\ny\n")
    assert [h[2] for h in headings(text)] == ["Title", "Quick start", "Sub", "Next"]
    start, body = section(text, "quick START")
    assert start == 2 and body.startswith("## Quick start") and "### Sub" in body
    assert "## Next" not in body
    assert section(text, "missing") is None


def test_python_block_failures_name_the_markdown_file_and_line(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("Intro\n\n```python\nx = 2\n```\n\n```python\nassert x == 3\n```\n")
    blocks = python_blocks(doc)
    with pytest.raises(AssertionError) as info:
        run_python_blocks(doc, blocks)
    frame = info.traceback[-1]
    assert Path(str(frame.path)) == doc and frame.lineno + 1 == 8  # 0-based in pytest


# ----------------------------------------------------------------------------- a. docs/cli.md

def test_cli_reference_is_up_to_date(gen):
    ok, message = gen.check()
    assert ok, message


def test_cli_reference_covers_every_sub_command_and_option(gen, parser):
    text = gen.render(parser)
    subs = gen.subcommands(parser)
    assert len(subs) >= 14
    for name, sub, _ in subs:
        assert f"\n## {name}\n" in text
        assert f"usage: rae-fast {name}" in text
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in text, f"{name} {flag} missing from docs/cli.md"


def test_cli_reference_does_not_depend_on_the_terminal(gen, parser, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = gen.render(parser)
    monkeypatch.setenv("COLUMNS", "300")
    assert gen.render(parser) == narrow
    usage_lines = [ln for ln in narrow.splitlines() if ln.startswith("usage: ")]
    assert usage_lines and all(len(ln) <= gen.WIDTH for ln in usage_lines)


def test_generator_check_and_write(gen, tmp_path, capsys):
    out = tmp_path / "cli.md"
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert gen.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == gen.render()
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file
    assert gen.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("## train\n", "## trian\n"))
    assert gen.main(["--check", "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err and "python tools/gen_cli_docs.py" in err and "-## trian" in err


# ----------------------------------------------------------------------------- b. command lines

@pytest.mark.parametrize("path", DOC_FILES, ids=_rel)
def test_doc_command_lines_parse(path, parser):
    problems = [f"{_rel(path)}:{line}: {command}\n    -> {error}"
                for line, command, args in doc_commands(path)
                for error in [command_error(parser, args)] if error]
    assert not problems, "command lines the rae-fast parser rejects:\n" + "\n".join(problems)


SYNOPSIS_LANGS = ("", "text", "txt", "none", "plain")
_OPTION = re.compile(r"(?<![\w.-])--?[A-Za-z][\w-]*")


def synopses_from_text(text: str) -> List[Tuple[int, str]]:
    """``(line, text)`` of the command synopses in plain / ``text`` blocks: a line starting with
    ``rae-fast `` and the indented lines right after it."""
    out = []
    for block in fenced_blocks(text):
        if block.lang not in SYNOPSIS_LANGS or "no-check" in block.markers:
            continue
        open_synopsis = False
        for k, line in enumerate(block.lines):
            if line.startswith("rae-fast "):
                out.append((block.line + k, line))
                open_synopsis = True
            elif open_synopsis and line[:1].isspace() and line.strip():
                out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
            else:
                open_synopsis = False
    return out


def synopses(path: Path) -> List[Tuple[int, str]]:
    return synopses_from_text(path.read_text(encoding="utf-8"))


def synopsis_error(parser, text: str) -> Optional[str]:
    """Why a synopsis like ``rae-fast fuse A.nc ... [--weights W ...]`` is wrong (an unknown
    sub-command or an option the sub-command does not have), or None."""
    subs = {name: sub for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()}
    words = [w.strip("[](){}|.,") for w in text.split()[1:]]
    words = [w for w in words if w and not w.startswith("-")]
    if not words or words[0] not in subs:
        return f"unknown sub-command {words[0] if words else ''!r}"
    rest = text.split(words[0], 1)[1]
    unknown = [o for o in _OPTION.findall(rest) if o not in subs[words[0]]._option_string_actions]
    return f"{words[0]} has no option {', '.join(unknown)}" if unknown else None


def test_synopsis_checker(parser):
    doc_text = ("```\nrae-fast fuse A.nc B.nc --output F.nc [--weights W ...]\n"
                "    [--dimension generated] [--align]\nrae-fast fuse --bogus x\n```\n"
                "```\nrae-fast frobnicate [--x]\n```\n")
    found = synopses_from_text(doc_text)
    assert [line for line, _ in found] == [2, 4, 7] and found[0][1].count("\n") == 1
    assert synopsis_error(parser, found[0][1]) is None
    assert synopsis_error(parser, found[1][1]) == "fuse has no option --bogus"
    assert "unknown sub-command 'frobnicate'" in synopsis_error(parser, found[2][1])


@pytest.mark.parametrize("path", DOC_FILES, ids=_rel)
def test_doc_synopses_name_real_options(path, parser):
    problems = [f"{_rel(path)}:{line}: {text.splitlines()[0]}\n    -> {error}"
                for line, text in synopses(path)
                for error in [synopsis_error(parser, text)] if error]
    assert not problems, "synopses that do not match the parser:\n" + "\n".join(problems)


def test_docs_have_checked_command_lines():
    """The checks above see the examples (e.g. the pipeline example in docs/cli.md)."""
    counts = {_rel(p): len(doc_commands(p)) for p in DOC_FILES}
    assert counts.get("docs/cli.md", 0) >= 6, counts


# ----------------------------------------------------------------------------- c. python blocks

PYTHON_DOCS = [p for p in DOC_FILES if python_blocks(p)]


def _doc_failure(path: Path, exc: BaseException) -> str:
    """A short report of an exception raised by a doc block: the Markdown line, the last
    frames and the exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    in_doc = [f for f in frames if f.filename == str(path)]
    where = f"{_rel(path)}:{in_doc[-1].lineno}: {in_doc[-1].line}" if in_doc else _rel(path)
    shown = frames[frames.index(in_doc[-1]):] if in_doc else frames[-4:]
    return (f"a python block failed at {where}\n"
            + "".join(traceback.format_list(shown[-5:]))
            + "".join(traceback.format_exception_only(type(exc), exc)))


@pytest.mark.parametrize("path", PYTHON_DOCS, ids=_rel)
def test_doc_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    failure = None
    try:
        run_python_blocks(path, python_blocks(path))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- report the file and line
        failure = _doc_failure(path, exc)
    if failure:
        pytest.fail(failure, pytrace=False)


# ----------------------------------------------------------------------------- d. quick start

def _normalise(command: str) -> str:
    return " ".join(command.split())


def ci_test_command() -> str:
    """The test command of ``.ci/run``: its last command line that is not ``set``/``cd``."""
    assert CI_RUN.is_file(), f"{CI_RUN} is missing"
    block = Block("bash", 1, CI_RUN.read_text(encoding="utf-8").splitlines())
    commands = [c for _, c in logical_lines(block)
                if not re.match(r"(set|cd|export|trap)\b", c)]
    assert commands, f"{_rel(CI_RUN)} runs no command"
    return commands[-1]


def test_readme_quick_start_has_two_set_up_commands():
    assert README.is_file(), (
        "README.md does not exist: it needs a 'Quick start' section whose first ```bash "
        "block has exactly two commands, the second being the test command of .ci/run")
    text = README.read_text(encoding="utf-8")
    found = section(text, "Quick start")
    assert found is not None, "README.md has no section whose heading contains 'Quick start'"
    start, body = found
    blocks = [b for b in fenced_blocks(body) if b.lang in QUICK_START_LANGS]
    assert blocks, (f"README.md: the 'Quick start' section (line {start}) has no ```bash or "
                    "```console block")
    commands = [c for _, c in logical_lines(blocks[0])]
    assert len(commands) == 2, (
        f"README.md: the first block of 'Quick start' (line {start + blocks[0].line - 1}) "
        f"must have exactly two set-up commands, found {len(commands)}: {commands}")
    expected = ci_test_command()
    assert _normalise(commands[1]) == _normalise(expected), (
        f"README.md: the second quick-start command\n    {commands[1]}\nis not the test "
        f"command of .ci/run\n    {expected}")


# --- the README's pipeline really runs ------------------------------------------------------

#: Size substitutions that turn the README's full-size pipeline into a seconds-long run; the
#: commands and every other option stay exactly as written.
_SMALL = {"--num-units": "8", "--num-epochs": "1", "--num-layers": "1", "--repeat": "1"}


def _shrink(args: List[str], data: Path) -> List[str]:
    out = list(args)
    for i, a in enumerate(out):
        if a == "../shared/data/esc10":
            out[i] = str(data)
        elif a in _SMALL and i + 1 < len(out):
            out[i + 1] = _SMALL[a]
    if out and out[0] == "evaluate":
        out += ["--num-epochs", "20"]  # the MLP: 400 epochs by default
    if out and out[0] == "train":
        out += ["--threads", "1", "--quiet"]
    return out


def test_readme_pipeline_runs(tmp_path, monkeypatch):
    """Every command of the README's "From your recordings" block runs, in order, on a small
    ESC-layout collection standing in for ESC-10 (sizes shrunk, options as written)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import soundfile as sf
    from rae_fast.cli import main
    from rae_fast.synth import synth_clip

    text = README.read_text()
    found = section(text, "From your recordings")
    assert found, "README.md has no 'From your recordings' section"
    _, body = found
    block = next(b for b in fenced_blocks(body) if b.lang in ("bash", "console", "sh"))
    commands = [args for _, line in logical_lines(block) for args in rae_fast_commands(line)]
    assert len(commands) >= 6, commands
    data = tmp_path / "esc"
    for k, kind in enumerate(("chirp", "click_train", "low_tone")):
        d = data / f"{k + 1:03d} - {kind}"
        d.mkdir(parents=True)
        for fold in range(1, 6):
            sf.write(d / f"{fold}-{100 + k}-A.ogg", synth_clip(kind, 16000, 1.0, rng=fold),
                     16000)
    monkeypatch.chdir(tmp_path)
    for args in commands:
        small = _shrink(args, data)
        assert main(small) == 0, f"README command failed: rae-fast {' '.join(small)}"
    assert (tmp_path / "reps.nc").is_file() and (tmp_path / "confusion.png").is_file()
    assert any((tmp_path / "reps-csv").rglob("*.csv"))
