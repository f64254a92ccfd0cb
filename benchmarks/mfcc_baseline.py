"""A model-free reference: MFCC mean / standard deviation + logistic regression, on the folds
that ``rae-fast preprocess`` stores (same instances, same splits as the autoencoder runs).

    python benchmarks/mfcc_baseline.py --basedir ../shared/data/esc10 --fixed-length 5 \\
        --window 0.08 --hop 0.04
    python benchmarks/mfcc_baseline.py --basedir /tmp/digits --fixed-length 1 \\
        --window 0.032 --hop 0.016

Each clip is read as ``preprocess`` reads it (mono, cut / zero-padded to ``--fixed-length``
seconds, centred), 20 MFCCs (librosa, 40 mel bands) are summarised by their mean and standard
deviation over time (40 values), and scikit-learn's ``LogisticRegression`` (standardised
features, C=1) is trained on four folds and tested on the fifth. Needs librosa and
scikit-learn.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--basedir", type=Path, required=True)
    ap.add_argument("--parser", default="auto")
    ap.add_argument("--fixed-length", type=float, default=None)
    ap.add_argument("--window", type=float, default=0.032, help="seconds")
    ap.add_argument("--hop", type=float, default=0.016, help="seconds")
    a = ap.parse_args(argv)
    import librosa
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from rae_fast.audio import load_audio
    from rae_fast.layouts import parse_dataset

    parsed = parse_dataset(a.basedir, a.parser)
    feats, labels, folds = [], [], []
    for inst in parsed.instances:
        y, sr = load_audio(inst.path, fixed_length=a.fixed_length, center_fixed=True)
        m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_mels=40, n_fft=int(a.window * sr),
                                 hop_length=int(a.hop * sr), center=False)
        feats.append(np.concatenate([m.mean(axis=1), m.std(axis=1)]))
        labels.append(inst.label_nominal)
        folds.append(int(np.argmax(inst.cv_folds)))
    x, labels, folds = np.asarray(feats), np.asarray(labels), np.asarray(folds)
    accs = []
    for f in range(parsed.n_folds):
        tr, te = folds != f, folds == f
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        clf.fit(x[tr], labels[tr])
        accs.append(float(np.mean(clf.predict(x[te]) == labels[te])))
    print(f"MFCC mean/std + logistic regression, {len(x)} clips, {parsed.n_folds} folds: "
          f"accuracy {100 * np.mean(accs):.1f} % (folds: "
          f"{', '.join(f'{100 * v:.1f}' for v in accs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
