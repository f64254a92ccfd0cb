"""Builds the pure C++ core with its unit tests (no Python headers) and runs them through ctest,
once with the best SIMD kernels and once with RAE_FAST_SIMD=baseline."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed (pip install cmake)")
def test_cpp_unit_tests(tmp_path):
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DRAE_BUILD_TESTS=ON",
                    "-DCMAKE_BUILD_TYPE=Release", *gen], check=True, capture_output=True, text=True)
    res = subprocess.run(["cmake", "--build", str(build), "--target", "rae_core_tests", "-j2"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    for env_level in (None, "baseline"):
        env = dict(os.environ)
        if env_level:
            env["RAE_FAST_SIMD"] = env_level
        res = subprocess.run(["ctest", "--output-on-failure"], cwd=build, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
