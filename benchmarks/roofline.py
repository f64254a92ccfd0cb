"""Roofline estimate of the signal pipelines: what each clip costs in arithmetic and in memory
traffic, what the machine can do at most, and how close rae_fast gets.

For the pipelines of bench_pipelines.py (400 clips of 5 s), per clip:

- flops: nominal counts (a complex FFT of M points = 5 M log2 M, the real-FFT post-processing
  6 M, windowing 1 per sample, mean removal 2, power 3 per bin, the mel filterbank 2 per
  non-zero weight, a logarithm 15 per value; the autocorrelation adds the inverse transform);
- bytes: traffic to and from memory: the clip read once (overlapping frames and the FFT's
  working set of 16 frames stay in the caches) and the output written twice (the pages of a
  fresh result are zeroed by the kernel, then written);
- the machine: memory bandwidth measured here (numpy copy of 256 MiB: read + write), the
  arithmetic peak from the clock (``--ghz``, default /proc/cpuinfo) x the flops per cycle of
  the SIMD level in use (``--flops-per-cycle``, default 2 FMA units x lanes x 2);
- rae_fast's time per clip at 1 and 2 threads (minimum of ``--rounds`` runs).

The attainable throughput is min(peak flops, intensity x bandwidth); every pipeline here has
an intensity of tens of flops per byte, so it is compute-bound, and the table says which
fraction of the arithmetic peak each reaches.

    python benchmarks/roofline.py [--rounds 5] [--ghz 2.6] [--flops-per-cycle 64]
"""
import argparse
import math
import os
import time

import numpy as np

import rae_fast
from rae_fast import _core


def fft_flops(n_fft):
    """Real FFT of n_fft points through a complex FFT of n_fft / 2 (nominal count)."""
    m = n_fft // 2
    return 5 * m * math.log2(m) + 6 * m


def mel_nnz(sr, n_fft, n_mels, audeep=False):
    W = _core.audeep_mel_filterbank(sr, n_fft, n_mels) if audeep else \
        _core.mel_filterbank(sr, n_fft, n_mels, 0.0, sr / 2, False, "slaney")
    return int(np.count_nonzero(W))


def pipelines():
    """name -> (per-clip counts, function of (Y, threads), clips)."""
    out = {}
    # melspectrogram: 44.1 kHz, 5 s, window 3528 / hop 1764 / n_fft 4096 / 128 mels, centred
    sr, n = 44100, 5 * 44100
    nf = _core.frame_count(n, 4096, 1764, 2048)
    flops = nf * (3528 + fft_flops(4096) + 3 * 2049 + 2 * mel_nnz(sr, 4096, 128))
    out["melspectrogram"] = dict(
        sr=sr, samples=n, frames=nf, flops=flops, bytes=4 * n + 2 * 4 * 128 * nf,
        fn=lambda Y, t: rae_fast.melspectrogram(y=Y, sr=sr, n_fft=4096, hop_length=1764,
                                                win_length=3528, n_mels=128, n_threads=t))
    # auDeep spectrogram: 3528 / 1764, pre-emphasis, mean removal, 128 mels, dB, normalisation
    nf = _core.frame_count(n, 3528, 1764, 0)
    flops = (2 * n + nf * (3 * 3528 + fft_flops(3528) + 3 * 1765 + 2 * mel_nnz(sr, 3528, 128, True))
             + 128 * nf * (15 + 6))
    out["spectrogram"] = dict(sr=sr, samples=n, frames=nf, flops=flops,
                              bytes=4 * n + 2 * 4 * 128 * nf + 2 * 4 * 128 * nf,
                              fn=lambda Y, t: rae_fast.spectrogram(Y, sr, n_threads=t))
    # autocorrelogram: 16 kHz, frames 1280 / hop 640, lags 0..128 (FFT of 2048)
    sr, n = 16000, 5 * 16000
    nf = _core.frame_count(n, 1280, 640, 640)
    n_fft = _core.autocorr_fft_size(1280, 128)
    flops = nf * (1280 + 2 * fft_flops(n_fft) + 3 * (n_fft // 2 + 1) + 129)
    out["autocorrelogram"] = dict(
        sr=sr, samples=n, frames=nf, flops=flops, bytes=4 * n + 2 * 4 * 129 * nf,
        fn=lambda Y, t: rae_fast.autocorrelogram(Y, frame_length=1280, hop_length=640,
                                                 max_lag=128, window="hann", n_threads=t))
    return out


def bandwidth(rounds):
    a = np.ones(32 << 20)           # 256 MiB
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def clock_ghz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000
    except OSError:
        pass
    return 3.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ghz", type=float, default=None)
    ap.add_argument("--flops-per-cycle", type=float, default=None)
    args = ap.parse_args()
    lanes = _core.simd_lanes("float32")
    fpc = args.flops_per_cycle or 2 * 2 * lanes
    ghz = args.ghz or clock_ghz()
    peak = ghz * 1e9 * fpc
    bw = bandwidth(args.rounds)
    print(f"load average {os.getloadavg()}; SIMD {_core.simd_level()} ({lanes} float lanes); "
          f"peak {peak / 1e9:.0f} GFLOP/s per core ({ghz:.2f} GHz x {fpc:.0f} flops/cycle, "
          f"an assumption); memory {bw / 1e9:.1f} GB/s (numpy copy, read + write)\n")
    print("| pipeline | flops / clip | DRAM bytes / clip | flops / byte | attainable / core "
          "| threads | time / clip | GFLOP/s | of peak | GB/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name, p in pipelines().items():
        Y = rng.standard_normal((args.clips, p["samples"])).astype(np.float32)
        intensity = p["flops"] / p["bytes"]
        attain = min(peak, intensity * bw)
        for t in (1, 2):
            p["fn"](Y[:8], t)
            best = float("inf")
            for _ in range(args.rounds):
                s = time.perf_counter()
                p["fn"](Y, t)
                best = min(best, time.perf_counter() - s)
            per = best / args.clips
            print(f"| {name} | {p['flops'] / 1e6:.1f} M | {p['bytes'] / 1e6:.2f} MB | {intensity:.0f} "
                  f"| {attain / 1e9:.0f} GFLOP/s | {t} | {per * 1e3:.3f} ms | {p['flops'] / per / 1e9:.1f} "
                  f"| {p['flops'] / per / (peak * t):.0%} | {p['bytes'] / per / 1e9:.2f} |")


if __name__ == "__main__":
    main()
