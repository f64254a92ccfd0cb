"""Log-mel spectrograms of 400 clips of 5 s at 44.1 kHz (the shape of ESC-10), 1 and 2 threads.

(a) window 3528 / hop 1764 / n_fft 4096 / 128 mels; (b) window 8820 / hop 4410 / n_fft 8820 /
320 mels. Peers in the same run, all producing (mels x frames) dB arrays for all clips:
- librosa: ``feature.melspectrogram`` + ``power_to_db`` per clip (single process);
- scipy: ``scipy.signal.spectrogram`` on the whole batch + a dense mel matrix + dB;
- torch: ``torch.stft`` + mel matmul + dB, per clip and in chunks of 50 clips (best reported);
- rae_fast: ``melspectrogram`` on the 2-D batch + ``power_to_db``.
"""
import librosa
import numpy as np
import pytest
import scipy.signal

import rae_fast
from conftest import run

SR = 44100
CONFIGS = {
    "a": dict(win_length=3528, hop_length=1764, n_fft=4096, n_mels=128),
    "b": dict(win_length=8820, hop_length=4410, n_fft=8820, n_mels=320),
}


def _db(x, np_mod=np):
    return 10.0 * np_mod.log10(np_mod.maximum(x, 1e-10))


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("cfg", ["a", "b"])
@pytest.mark.parametrize("peer", ["rae_fast", "torch-chunks", "torch-per-clip", "scipy", "librosa"])
def bench_logmel_400_clips(benchmark, clips_400x5s, cfg, threads, peer):
    c = CONFIGS[cfg]
    Y = clips_400x5s
    benchmark.group = f"log-mel 400 x 5 s, config {cfg} {c}, {threads} thread(s)"
    benchmark.extra_info.update(peer=peer, threads=threads, cfg=cfg)
    basis = librosa.filters.mel(sr=SR, n_fft=c["n_fft"], n_mels=c["n_mels"])
    if peer == "rae_fast":
        def fn():
            M = rae_fast.melspectrogram(y=Y, sr=SR, n_threads=threads, **c)
            return rae_fast.power_to_db(M, out=M, n_threads=threads)
        rounds = 5
    elif peer == "librosa":
        if threads != 1:
            pytest.skip("librosa runs one process; its BLAS threads are not ours to set")

        def fn():
            return [librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, **c)) for y in Y]
        rounds = 1
    elif peer == "scipy":
        if threads != 1:
            pytest.skip("scipy.signal.spectrogram is single-threaded")
        win = scipy.signal.get_window("hann", c["win_length"])
        win = np.pad(win, ((c["n_fft"] - c["win_length"]) // 2, (c["n_fft"] - c["win_length"] + 1) // 2))
        pad = c["n_fft"] // 2

        def fn():
            Yp = np.pad(Y, ((0, 0), (pad, pad)))
            _, _, S = scipy.signal.spectrogram(Yp, window=win, nperseg=c["n_fft"],
                                               noverlap=c["n_fft"] - c["hop_length"],
                                               detrend=False, scaling="spectrum", mode="magnitude")
            return _db(np.matmul(basis, S.astype(np.float32) ** 2))
        rounds = 1
    else:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(threads)
        Yt = torch.from_numpy(Y)
        W = torch.from_numpy(basis)
        win = torch.hann_window(c["win_length"])
        chunk = 1 if peer == "torch-per-clip" else 50

        def fn():
            res = []
            with torch.inference_mode():
                for i in range(0, len(Y), chunk):
                    S = torch.stft(Yt[i:i + chunk], n_fft=c["n_fft"], hop_length=c["hop_length"],
                                   win_length=c["win_length"], window=win, center=True,
                                   pad_mode="constant", return_complex=True).abs() ** 2
                    res.append(10.0 * torch.log10(torch.clamp(W @ S, min=1e-10)))
            return res
        rounds = 2
    # what is timed is right (rae_fast against librosa on two clips)
    if peer == "rae_fast":
        got = fn()[:2]
        ref = np.stack([librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, **c)) for y in Y[:2]])
        assert np.max(np.abs(got - ref)) < 1e-3
    run(benchmark, fn, rounds=rounds, warmup=1 if rounds > 1 else 0)
