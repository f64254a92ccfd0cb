"""Thread scaling of the signal pipelines on 400 clips of 5 s (the shape of ESC-10), 1 and 2
threads, rae_fast only (the peers are in bench_logmel.py and bench_autocorr.py):

- ``melspectrogram``: 44.1 kHz, window 3528 / hop 1764 / n_fft 4096 / 128 mels (centred);
- ``spectrogram``: auDeep's mode at 44.1 kHz (0.08 s / 0.04 s windows = 3528 / 1764 samples,
  mixed-radix FFT of 3528 points, pre-emphasis, mean removal, 128 mels, dB, -60 dB clip,
  normalisation);
- ``autocorrelogram``: 16 kHz (the ESC-10 recipe's rate), frames 1280 / hop 640 / lags 0..128,
  Hann window, lag-0 normalisation.

``python benchmarks/tables.py pipelines.json`` prints the scaling table (1-thread time /
2-thread time; the goal is >= 1.7). ``python benchmarks/roofline.py`` puts the same
pipelines against the machine's memory bandwidth and arithmetic peak.
"""
import numpy as np
import pytest

import rae_fast
from conftest import run

N_CLIPS = 400


@pytest.fixture(scope="module")
def clips_16k():
    """400 clips of 5 s at 16 kHz (float32 noise with a varying envelope)."""
    rng = np.random.default_rng(2017)
    y = rng.standard_normal((N_CLIPS, 5 * 16000)).astype(np.float32)
    y *= np.linspace(0.1, 1.0, y.shape[1], dtype=np.float32)
    return y


PIPELINES = {
    "melspectrogram": lambda Y, t: rae_fast.melspectrogram(
        y=Y, sr=44100, n_fft=4096, hop_length=1764, win_length=3528, n_mels=128, n_threads=t),
    "spectrogram": lambda Y, t: rae_fast.spectrogram(Y, 44100, n_threads=t),
    "autocorrelogram": lambda Y, t: rae_fast.autocorrelogram(
        Y, frame_length=1280, hop_length=640, max_lag=128, window="hann", n_threads=t),
}


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("pipeline", list(PIPELINES))
def bench_pipeline_scaling(benchmark, clips_400x5s, clips_16k, pipeline, threads):
    Y = clips_16k if pipeline == "autocorrelogram" else clips_400x5s
    benchmark.group = f"{pipeline} 400 x 5 s"
    benchmark.extra_info.update(suite="pipelines", pipeline=pipeline, peer="rae_fast",
                                threads=threads, clips=len(Y), samples=Y.shape[1])
    fn = lambda: PIPELINES[pipeline](Y, threads)  # noqa: E731
    if threads == 2:  # the same result for any thread count
        assert np.array_equal(fn()[:3], PIPELINES[pipeline](Y[:3], 1))
    run(benchmark, fn, rounds=7, warmup=1)
