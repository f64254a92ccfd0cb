"""The package reads as the pipeline: imports flow one way, no circles, rooms of modest size.

The layers, lowest first (a module may import its own layer and the layers below, never a layer
above; see docs/structure.md):

0. foundations: ``_version``, ``_io``, ``_validation``, ``_parallel``, ``_executor``, ``progress``
   and the ``_core`` extension
1. signal functions: ``dsp``, ``autocorr``
2. audio file reading: ``audio``
3. the data model and its storage: ``dataset``
4. dataset layouts (parsers): ``layouts``
5. preprocessing (settings, features, the ``preprocess`` pipeline) and synthetic sounds:
   ``preprocessing``, ``synth``
6. the autoencoder in PyTorch: ``model``
7. ONNX Runtime inference: ``inference``
8. embedding models (audio in, representations out; HEAR, pandas, scikit-learn adapters):
   ``embedding``, ``hear``
9. what uses representations and features: ``evaluation``, ``fusion``, ``export``, ``obj``,
   ``plotting``, ``autocorr_files``, ``codec`` (decoding to audio)
10. distributed execution on Ray (optional; Ray is imported only when asked for): ``distributed``
11. the command line: ``cli``

The checks read the source with :mod:`ast` (nothing is imported), so they also hold for code
paths that tests do not run.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PKG = Path(__file__).resolve().parents[1] / "python" / "rae_fast"

LAYERS: List[Set[str]] = [
    {"_version", "_io", "_validation", "_parallel", "_executor", "progress", "_core"},
    {"dsp", "autocorr"},
    {"audio"},
    {"dataset"},
    {"layouts"},
    {"preprocessing", "synth"},
    {"model"},
    {"inference"},
    {"embedding", "hear"},
    {"evaluation", "fusion", "export", "obj", "plotting", "autocorr_files", "codec"},
    {"distributed"},
    {"cli", "__main__"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}

#: Lines above which a module must say in its docstring why it is one module.
MAX_LINES = 600
LONG_MODULE_MARK = "This module is long because"


def _modules() -> Dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()
MODULES["rae_fast._core"] = PKG / "_core"          # the compiled extension (no .py file)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> Set[str]:
    """Modules of the package that ``module`` imports (at any depth of its code); ``from X
    import name`` counts ``X.name`` when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: Set[str] = set()
    for node in ast.walk(tree):
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        for t in targets:
            if t == "rae_fast" or t.startswith("rae_fast."):
                # the closest module of the package that the name refers to
                while t not in MODULES and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in MODULES and t != module:
                    found.add(t)
    return found


GRAPH = {m: (_imports(m, p) if p.suffix == ".py" else set()) for m, p in MODULES.items()}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles() -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    assert len(MODULES) > 40
    assert "rae_fast.dataset" in GRAPH["rae_fast.preprocessing.pipeline"]
    assert "rae_fast.dsp" in GRAPH["rae_fast.preprocessing.features"]


def test_no_import_cycle():
    assert _cycles() == []


def test_every_top_level_module_has_a_layer():
    tops = {_top(m) for m in MODULES if m != "rae_fast"}
    assert tops - set(LAYER_OF) == set(), "add new modules to LAYERS (and docs/structure.md)"


def test_imports_flow_one_way():
    """No module imports a higher layer, and only the command line imports the package root
    (``import rae_fast`` then ``rae_fast.x`` would run every import of ``__init__``)."""
    upward: List[Tuple[str, str]] = []
    root: List[str] = []
    for module, deps in GRAPH.items():
        if module == "rae_fast":
            continue
        layer = LAYER_OF[_top(module)]
        for dep in deps:
            if dep == "rae_fast":
                root.append(module)
            elif LAYER_OF[_top(dep)] > layer:
                upward.append((module, dep))
    assert upward == [], "imports that run back up the layers"
    assert [m for m in root if not m.startswith("rae_fast.cli")] == []


@pytest.mark.parametrize("module", sorted(m for m, p in MODULES.items() if p.suffix == ".py"))
def test_modules_are_of_modest_size(module):
    path = MODULES[module]
    n = len(path.read_text(encoding="utf-8").splitlines())
    if n > MAX_LINES:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert LONG_MODULE_MARK in doc, (f"{path.name} has {n} lines: split it, or say in its "
                                         f"docstring '{LONG_MODULE_MARK} ...'")


def test_library_code_does_not_name_cli_flags_in_errors():
    """Library errors name parameters (``fixed_length``); the CLI turns them into flags."""
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("rae_fast.cli") or path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for const in ast.walk(node.exc):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str) \
                            and " --" in const.value:
                        offenders.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert offenders == []


def test_cli_translates_parameter_names_into_flags():
    from rae_fast.cli import _command_parser, _flag_map, build_parser, translate_message

    parser = build_parser()
    flags = _flag_map(_command_parser(parser, "preprocess"))
    assert flags["fixed_length"] == "--fixed-length" and flags["mel_bands"] == "--mel-spectrum"
    msg = ("/data/fixed_length/x.wav: set fixed_length=SECONDS, or chunk_length=SECONDS with "
           "chunk_count=N; use skip_bad=True; mel_bands: 300")
    assert translate_message(msg, flags) == (
        "/data/fixed_length/x.wav: set --fixed-length SECONDS, or --chunk-length SECONDS with "
        "--chunk-count N; use --skip-bad; --mel-spectrum: 300")
    assert translate_message("workers must be >= 1, got 0", flags) == \
        "--workers must be >= 1, got 0"
    assert translate_message("the workers are busy", flags) == "the workers are busy"
    train = _flag_map(_command_parser(parser, "train"))
    assert translate_message("continue it with resume=True", train) == \
        "continue it with --continue"
