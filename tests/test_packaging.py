"""Packaging: the installed extension works, the sdist holds what a build needs (and nothing
else), and the wheel configuration (cibuildwheel, release workflow) covers the promised targets.

The first test also runs inside cibuildwheel on every built wheel (see [tool.cibuildwheel] in
pyproject.toml); the others need a source checkout and skip elsewhere.
"""
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

import rae_fast
from rae_fast import _core

ROOT = Path(__file__).resolve().parents[1]
IN_CHECKOUT = (ROOT / "cpp").is_dir() and (ROOT / "CMakeLists.txt").is_file()
PYTHONS = ("cp310", "cp311", "cp312", "cp313")


def test_installed_extension_smoke():
    assert Path(_core.__file__).suffix in (".so", ".pyd")
    assert rae_fast.simd_level() in _core.simd_levels()
    assert "baseline" in _core.simd_levels()
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-12)):
        x = rng.standard_normal((3, 1000)).astype(dtype)
        ref = np.fft.rfft(x.astype(np.float64))
        assert np.max(np.abs(rae_fast.rfft(x) - ref)) < tol * np.max(np.abs(ref))
        assert np.allclose(rae_fast.irfft(rae_fast.rfft(x), n=1000), x, atol=tol * 10)
    S = rae_fast.melspectrogram(y=rng.standard_normal(8000).astype(np.float32), sr=16000,
                                n_fft=512, hop_length=128, n_mels=40)
    assert S.shape == (40, 63) and np.all(np.isfinite(S))


def _load_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.skipif(not IN_CHECKOUT, reason="needs a source checkout")
def test_sdist_holds_the_sources_and_nothing_else(tmp_path):
    pytest.importorskip("scikit_build_core")
    pytest.importorskip("pybind11")
    code = ("import os, sys; os.chdir(sys.argv[1]); "
            "from scikit_build_core.build import build_sdist; print(build_sdist(sys.argv[2]))")
    res = subprocess.run([sys.executable, "-c", code, str(ROOT), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    name = res.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as tar:
        members = [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]
    files = set(members)
    for needed in ("CMakeLists.txt", "pyproject.toml", "README.md", "PKG-INFO",
                   "cmake/RaeSimd.cmake", "cmake/RaeSanitizers.cmake", "cmake/RaeWarnings.cmake",
                   "cpp/bindings/module.cpp", "cpp/include/rae/fft.hpp",
                   "cpp/src/kernels/kernels_impl.hpp", "cpp/src/kernels/kernel_types.hpp",
                   "cpp/tests/test_core.cpp", "python/rae_fast/__init__.py",
                   "python/rae_fast/_version.py", "tests/test_fuzz.py"):
        assert needed in files, f"{needed} missing from the sdist"
    for m in members:
        top = m.split("/", 1)[0]
        assert top not in ("build", "dist", ".ci", ".github", "shared", "wheelhouse", ".git"), m
        assert not m.startswith("benchmarks/.benchmarks"), m
        assert "__pycache__" not in m and not m.endswith((".so", ".pyd", ".pyc", ".whl")), m
    if (ROOT / "LICENSE").exists():
        assert "LICENSE" in files


@pytest.mark.skipif(not IN_CHECKOUT, reason="needs a source checkout")
def test_cibuildwheel_configuration():
    cfg = _load_pyproject()["tool"]["cibuildwheel"]
    assert sorted(b.split("-")[0] for b in cfg["build"]) == list(PYTHONS)
    assert cfg["linux"]["archs"] == ["x86_64", "aarch64"]
    assert cfg["macos"]["archs"] == ["arm64"]
    assert cfg["windows"]["archs"] == ["AMD64"]
    assert "tests/test_packaging.py" in cfg["test-command"]
    # the suites run on every wheel must not import torch or librosa at module level (the
    # one test of test_fft.py that uses librosa is deselected with -k)
    for path in cfg["test-command"].split():
        if path.startswith("tests/test_"):
            text = (ROOT / path).read_text()
            assert not re.search(r"^(import|from)\s+(torch|librosa)\b", text, re.M), path
    workflow = (ROOT / ".github" / "workflows" / "wheels.yml").read_text()
    for needed in ("pypa/cibuildwheel@", "ubuntu-24.04-arm", "macos-14", "windows-",
                   "pypa/gh-action-pypi-publish", "id-token: write", "--sdist"):
        assert needed in workflow, needed


@pytest.mark.skipif(not IN_CHECKOUT or shutil.which("cibuildwheel") is None,
                    reason="needs a source checkout and cibuildwheel (pip install cibuildwheel)")
def test_cibuildwheel_build_identifiers():
    expected = {"linux": [f"{py}-manylinux_{arch}" for arch in ("x86_64", "aarch64")
                          for py in PYTHONS],
                "macos": [f"{py}-macosx_arm64" for py in PYTHONS],
                "windows": [f"{py}-win_amd64" for py in PYTHONS]}
    for platform, ids in expected.items():
        res = subprocess.run(["cibuildwheel", "--print-build-identifiers", "--platform", platform],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        assert sorted(res.stdout.split()) == sorted(ids), res.stdout
