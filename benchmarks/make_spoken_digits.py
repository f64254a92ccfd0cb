"""A small spoken-digit corpus made with espeak-ng: held-out "unseen" data for rae_fast.

Nothing is downloaded. Ten digit words ("zero" ... "nine") are spoken by ten synthetic
"speakers" -- each an espeak-ng accent and voice variant with its own pitch and speed -- six
times each with small random changes of pitch (+-6), speed (+-12 words/min) and amplitude, then
resampled to 8 kHz (``scipy.signal.resample_poly``), trimmed to the speech (-40 dB of the peak,
30 ms margins) and mixed with white noise at a random 25-45 dB SNR: 600 short clips (about 0.3
to 0.8 s; ``preprocess --fixed-length 1 --center-fixed`` pads them to 1 s). They are written in
ESC's layout, ``NNN - word/F-SPEAKER-DIGIT-TAKE.wav``, with the fold ``F`` (1-5) given by the
speaker (two speakers per fold), so that cross-validation always tests on unseen speakers:

    python benchmarks/make_spoken_digits.py --out /tmp/digits      # needs espeak-ng (apt)
    rae-fast preprocess --basedir /tmp/digits --parser esc --output digits.nc \\
        --window-width 0.032 --window-overlap 0.016 --mel-spectrum 40 --fixed-length 1 \\
        --center-fixed

The random choices come from ``numpy.random.default_rng(SEED)``, so the corpus is the same on
every machine with the same espeak-ng (1.51 here).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
#: (espeak-ng voice, pitch 0-99, speed words/min); speakers 2k-1, 2k are fold k.
SPEAKERS = [
    ("en-us+m1", 40, 150), ("en-us+f2", 70, 160),
    ("en-gb+m3", 35, 140), ("en-gb-scotland+f1", 60, 170),
    ("en-029+m4", 50, 130), ("en-us-nyc+f4", 80, 175),
    ("en-gb-x-rp+m7", 25, 145), ("en-us+klatt2", 55, 155),
    ("en-gb-x-gbclan+f5", 65, 135), ("en-gb-x-gbcwmd+m2", 45, 185),
]
TAKES = 6
SR = 8000
SEED = 2024


def speak(text: str, voice: str, pitch: int, speed: int, amplitude: int, tmp: Path):
    import soundfile as sf

    wav = tmp / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed),
                    "-a", str(amplitude), "-w", str(wav), text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    y, sr = sf.read(wav, dtype="float64")
    return y, sr


def to_8k_trimmed(y: np.ndarray, sr: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(SR, sr)
    y = resample_poly(y, SR // g, sr // g)
    env = np.abs(y)
    above = np.nonzero(env > env.max() * 10 ** (-40 / 20))[0]
    margin = int(0.03 * SR)
    a, b = max(0, above[0] - margin), min(len(y), above[-1] + margin)
    return y[a:b]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to create")
    a = ap.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 1
    import soundfile as sf

    rng = np.random.default_rng(SEED)
    a.out.mkdir(parents=True, exist_ok=True)
    lengths = []
    with tempfile.TemporaryDirectory() as tmp:
        for s, (voice, pitch, speed) in enumerate(SPEAKERS):
            fold = s // 2 + 1
            for d, word in enumerate(WORDS):
                folder = a.out / f"{d:03d} - {word}"
                folder.mkdir(exist_ok=True)
                for take in range(TAKES):
                    p = int(np.clip(pitch + rng.integers(-6, 7), 0, 99))
                    v = int(speed + rng.integers(-12, 13))
                    amp = int(rng.integers(80, 141))
                    y, sr = speak(word, voice, p, v, amp, Path(tmp))
                    y = to_8k_trimmed(y, sr)
                    snr = rng.uniform(25, 45)
                    noise = rng.standard_normal(len(y))
                    y = y + noise * np.sqrt(np.mean(y ** 2) / 10 ** (snr / 10))
                    y = 0.9 * y / np.abs(y).max()
                    sf.write(folder / f"{fold}-s{s:02d}-{d}-{take}.wav", y.astype(np.float32),
                             SR, subtype="PCM_16")
                    lengths.append(len(y) / SR)
    print(f"wrote {len(lengths)} clips to {a.out}: {len(SPEAKERS)} speakers x {len(WORDS)} "
          f"digits x {TAKES} takes, {SR} Hz, {min(lengths):.2f}-{max(lengths):.2f} s "
          f"(mean {np.mean(lengths):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
