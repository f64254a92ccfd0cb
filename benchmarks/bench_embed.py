"""Speed and memory of embedding audio with one model file, on ESC-10.

Run with::

    python -m pytest benchmarks/bench_embed.py --benchmark-only \\
        --benchmark-columns=min,mean,max,rounds

Groups (compare rows within a group):

``embed ESC-10 (400 clips, 2 x 256 GRU)``
    - ``Embedder.embed_files`` (decode + features in 2 worker threads, ONNX Runtime with 2
      threads) of the 400 clips with the paper's model (2 x 256 GRU encoder, auDeep's ESC-10
      front end: 0.08 / 0.04 s windows, 128 mel bands, 5 s centred, -60 dB);
    - ``preprocess`` alone (the same front end, no encoder, 2 workers): the embedding should
      run at >= 0.8x its throughput (the encoder must not dominate);
    - the straightforward path a user would write: ``librosa.load`` + ``melspectrogram`` +
      ``power_to_db`` + auDeep's normalisation, then the PyTorch encoder, one clip at a time
      (the goal: embed_files >= 3x it).
    ``extra_info['clips_per_s']`` holds the throughput.
``embed peak RSS``
    ``rae-fast embed`` in a fresh process on ESC-10 and on 4000 symbolic links to it;
    ``extra_info['peak_rss_mib']``: flat memory means both about equal.

The model is randomly initialised (speed does not depend on the weights). Timings on a shared
2-core machine are noisy; the ratios within one run are what counts.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import librosa_cut

ESC10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "esc10"
GROUP = "embed ESC-10 (400 clips, 2 x 256 GRU)"


@pytest.fixture(scope="module")
def esc10():
    files = sorted(ESC10.glob("*/*.ogg"))
    if len(files) != 400:
        pytest.skip(f"ESC-10 not found at {ESC10}")
    return files


def _settings():
    from rae_fast.preprocessing import FeatureSettings

    return FeatureSettings(window_width=0.08, window_overlap=0.04, mel_bands=128,
                           clip_below=-60.0, fixed_length=5.0, center_fixed=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, export_encoder
    from rae_fast.preprocessing import FrontEnd

    s = _settings()
    fe = FrontEnd(s, 44100, 220500, s.feature_dims, s.expected_shape(220500, 44100))
    torch.manual_seed(0)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
                                               bidirectional_decoder=True)).eval()
    path = tmp_path_factory.mktemp("model") / "encoder.onnx"
    export_encoder(m, path, frontend=fe)
    return m, path


def _record(benchmark, n=400):
    benchmark.extra_info["clips_per_s"] = round(n / benchmark.stats.stats.mean, 1)
    print(f"\n{benchmark.name}: {benchmark.extra_info}")


def test_embed_files(benchmark, esc10, model):
    from rae_fast.embedding import Embedder

    benchmark.group = GROUP
    emb = Embedder(model[1], device="cpu", n_threads=2)
    emb.embed_files(esc10[:8], workers=2, progress=False)               # warm up

    def run():
        return emb.embed_files(esc10, workers=2, progress=False, segmentation="preprocess")

    df = benchmark.pedantic(run, rounds=3, iterations=1)
    assert df.shape == (400, 1024)
    _record(benchmark)


def test_preprocess_alone(benchmark, esc10, tmp_path):
    from rae_fast.preprocessing import preprocess

    benchmark.group = GROUP

    def run():
        return preprocess(ESC10, tmp_path / "esc10.nc", _settings(), workers=2, resume=False,
                          progress=False)

    res = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert res.n_instances == 400
    _record(benchmark)


def _librosa_features(path):
    import librosa

    y, sr = librosa_cut(path)
    y = np.append(y[0], y[1:] - 0.95 * y[:-1])
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=3528, hop_length=1764, n_mels=128,
                                       center=False)
    S = librosa.power_to_db(M, ref=np.max, top_db=60.0)
    S = (S - S.min()) / max(S.max() - S.min(), 1e-12) * 2 - 1     # auDeep's [-1, 1]
    return S.T.astype(np.float32)


def test_librosa_then_torch_one_clip_at_a_time(benchmark, esc10, model):
    pytest.importorskip("librosa")
    import torch

    benchmark.group = GROUP
    m = model[0]
    torch.set_num_threads(2)

    def run():
        out = []
        with torch.inference_mode():
            for f in esc10:
                x = torch.from_numpy(_librosa_features(f))[None]
                out.append(m.encode(x)[0].numpy())
        return out

    _librosa_features(esc10[0])
    out = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(out) == 400 and out[0].shape == (1024,)
    _record(benchmark)


_RSS = ("import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


@pytest.mark.parametrize("copies", [1, 10])
def test_embed_peak_rss(benchmark, esc10, model, tmp_path, copies):
    """A fresh ``rae-fast embed`` process (wrapped so that only its own peak is read)."""
    benchmark.group = "embed peak RSS"
    src = tmp_path / "clips"
    src.mkdir()
    for c in range(copies):
        for f in esc10:
            os.symlink(f, src / f"{c:02d}_{f.parent.name[:3]}_{f.name}")
    out = tmp_path / "out.nc"
    cmd = [sys.executable, "-c", _RSS, sys.executable, "-m", "rae_fast", "embed", "--model",
           str(model[1]), str(src), "--output", str(out), "--restart", "--quiet",
           "--workers", "2", "--threads", "2"]
    result = {}

    def run():
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        result["rss_kib"] = int(proc.stdout.strip().splitlines()[-1])

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["files"] = 400 * copies
    benchmark.extra_info["peak_rss_mib"] = round(result["rss_kib"] / 1024, 1)
    benchmark.extra_info["clips_per_s"] = round(400 * copies / benchmark.stats.stats.mean, 1)
    print(f"\n{benchmark.name}: {benchmark.extra_info}")
