"""Speed and memory of ``rae-fast preprocess`` on ESC-10, against librosa doing the same work.

Run with::

    python -m pytest benchmarks/bench_preprocess.py --benchmark-only \\
        --benchmark-columns=min,mean,max,rounds

Groups (compare rows within a group):

``preprocess ESC-10 (400 clips)``
    rae_fast (2 worker threads and 1), and librosa in one process
    (``librosa.load(sr=None)`` + centre to 5 s + ``melspectrogram`` (3528 / 1764 samples,
    128 bands, no centring) + ``power_to_db(ref=max, top_db=60)``) - the same work as
    auDeep's ESC-10 settings (0.08 s / 0.04 s windows, 128 mel bands, 5 s centred, -60 dB).
    ``extra_info['clips_per_s']`` holds the throughput, ``extra_info['cpu_ms_per_clip']`` the
    process CPU time per clip (all threads; librosa's includes OpenBLAS helper threads).
``preprocess 4 clippings (ESC-10)``
    auDeep's recipe needs the spectrograms clipped at -30, -45, -60 and -75 dB: four
    ``preprocess`` runs (each decodes every clip), against one ``preprocess_clippings`` run
    (``rae-fast preprocess --clip-below -30 -45 -60 -75 --output 'esc10_{clip}.nc'``: one
    decode and one STFT per clip, four files). Both write identical files (checked here);
    ``extra_info['cpu_s']`` is the process CPU time of a round.
``preprocess peak RSS``
    a fresh ``python -m rae_fast preprocess`` process on ESC-10 (400 clips) and on a folder
    of 4000 symbolic links to it (ESC-10 ten times); ``extra_info['peak_rss_mib']`` is the
    peak resident memory of that process (``ru_maxrss``). Flat memory: both about equal.

Timings on a shared 2-core machine are noisy; the ratio within one run is what counts.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import librosa_cut

ESC10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "esc10"
CLI_ARGS = ["--window-width", "0.08", "--window-overlap", "0.04", "--mel-spectrum", "128",
            "--fixed-length", "5", "--center-fixed", "--clip-below", "-60", "--quiet"]


@pytest.fixture(scope="module")
def esc10():
    files = sorted(ESC10.glob("*/*.ogg"))
    if len(files) != 400:
        pytest.skip(f"ESC-10 not found at {ESC10}")
    return files


class _CpuClock:
    """Wraps a function and records the process CPU time of each call (all threads):
    a load-independent figure next to pytest-benchmark's wall times."""

    def __init__(self, fn):
        self.fn, self.times = fn, []

    def __call__(self):
        t = time.process_time()
        out = self.fn()
        self.times.append(time.process_time() - t)
        return out

    def mean(self) -> float:
        return sum(self.times) / len(self.times)


def _settings():
    from rae_fast.preprocessing import FeatureSettings

    return FeatureSettings(window_width=0.08, window_overlap=0.04, mel_bands=128,
                           clip_below=-60.0, fixed_length=5.0, center_fixed=True)


@pytest.mark.parametrize("workers", [2, 1])
def test_rae_fast_preprocess(benchmark, esc10, tmp_path, workers):
    from rae_fast.preprocessing import preprocess

    benchmark.group = "preprocess ESC-10 (400 clips)"
    out = tmp_path / "esc10.nc"

    def run():
        return preprocess(ESC10, out, _settings(), workers=workers, resume=False,
                          progress=False)

    cpu = _CpuClock(run)
    res = benchmark.pedantic(cpu, rounds=3, iterations=1, warmup_rounds=1)
    assert res.n_instances == 400
    benchmark.extra_info["clips_per_s"] = round(400 / benchmark.stats.stats.mean, 1)
    benchmark.extra_info["cpu_ms_per_clip"] = round(cpu.mean() / 400 * 1e3, 2)
    print(f"\n{benchmark.name}: {benchmark.extra_info}")


def _librosa_clip(path):
    import librosa

    y, sr = librosa_cut(path)
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=3528, hop_length=1764, n_mels=128,
                                       center=False)
    return librosa.power_to_db(M, ref=np.max, top_db=60.0)


def test_librosa_one_process(benchmark, esc10):
    pytest.importorskip("librosa")
    benchmark.group = "preprocess ESC-10 (400 clips)"
    _librosa_clip(esc10[0])  # import / first-call costs outside the timing

    def run():
        return [_librosa_clip(f) for f in esc10]

    cpu = _CpuClock(run)
    out = benchmark.pedantic(cpu, rounds=2, iterations=1)
    assert len(out) == 400 and out[0].shape == (128, 124)
    benchmark.extra_info["clips_per_s"] = round(400 / benchmark.stats.stats.mean, 1)
    benchmark.extra_info["cpu_ms_per_clip"] = round(cpu.mean() / 400 * 1e3, 2)
    print(f"\n{benchmark.name}: {benchmark.extra_info}")


def _repeat_esc10(root: Path, times: int) -> Path:
    """ESC-10 layout with every clip linked ``times`` times (symbolic links, no copies)."""
    root.mkdir(parents=True, exist_ok=True)
    for d in sorted(p for p in ESC10.iterdir() if p.is_dir()):
        (root / d.name).mkdir()
        for f in sorted(d.glob("*.ogg")):
            for r in range(times):
                os.symlink(f, root / d.name / f"{f.stem}-r{r}{f.suffix}")
    return root


_RSS = ("import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


@pytest.mark.parametrize("copies", [1, 10])
def test_peak_rss(benchmark, esc10, tmp_path, copies):
    benchmark.group = "preprocess peak RSS"
    if copies == 1:
        basedir = ESC10
    else:
        basedir = _repeat_esc10(tmp_path / "esc10x", copies)
    out = tmp_path / "out.nc"
    cmd = [sys.executable, "-c", _RSS, sys.executable, "-m", "rae_fast", "preprocess",
           "--basedir", str(basedir), "--output", str(out), "--workers", "2", "--no-resume"]
    result = {}

    def run():
        t = time.perf_counter()
        proc = subprocess.run(cmd + CLI_ARGS, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        result["rss_kib"] = int(proc.stdout.strip().splitlines()[-1])
        result["seconds"] = time.perf_counter() - t

    benchmark.pedantic(run, rounds=1, iterations=1)
    n = 400 * copies
    benchmark.extra_info["clips"] = n
    benchmark.extra_info["peak_rss_mib"] = round(result["rss_kib"] / 1024, 1)
    benchmark.extra_info["clips_per_s"] = round(n / result["seconds"], 1)
    print(f"\n{n} clips: peak RSS {result['rss_kib'] / 1024:.1f} MiB, "
          f"{n / result['seconds']:.0f} clips/s (whole process)")


CLIPPINGS = [-30.0, -45.0, -60.0, -75.0]


@pytest.mark.parametrize("mode", ["one-decode", "separate-runs"])
def test_four_clippings(benchmark, esc10, tmp_path, mode):
    import dataclasses
    import hashlib

    from rae_fast.preprocessing import preprocess, preprocess_clippings

    benchmark.group = "preprocess 4 clippings (ESC-10)"
    settings = _settings()

    def run():
        if mode == "one-decode":
            return preprocess_clippings(ESC10, str(tmp_path / "esc10_{clip}.nc"), CLIPPINGS,
                                        settings, workers=2, resume=False, progress=False)
        return [preprocess(ESC10, tmp_path / f"esc10_{c:g}.nc",
                           dataclasses.replace(settings, clip_below=c), workers=2,
                           resume=False, progress=False) for c in CLIPPINGS]

    cpu = _CpuClock(run)
    res = benchmark.pedantic(cpu, rounds=3, iterations=1, warmup_rounds=1)
    assert [r.n_instances for r in res] == [400] * 4
    digests = [hashlib.sha256(r.path.read_bytes()).hexdigest()[:16] for r in res]
    benchmark.extra_info["cpu_s"] = round(cpu.mean(), 2)
    benchmark.extra_info["sha256"] = digests
    print(f"\n{benchmark.name}: {benchmark.extra_info}")
