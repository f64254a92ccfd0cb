"""The synthetic demo sounds: shapes, determinism, layout, resumability and that the classes
really differ in pitch and time structure."""
import numpy as np
import pytest
import soundfile as sf

import rae_fast
from rae_fast.synth import DEMO_CLASSES, make_demo_dataset, synth_clip


@pytest.mark.parametrize("kind", list(DEMO_CLASSES))
def test_clip_properties(kind):
    y = synth_clip(kind, sr=16000, seconds=1.5, rng=3)
    assert y.shape == (24000,) and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and 0.1 < np.abs(y).max() < 1.0
    assert np.array_equal(y, synth_clip(kind, sr=16000, seconds=1.5, rng=3))
    assert not np.array_equal(y, synth_clip(kind, sr=16000, seconds=1.5, rng=4))


def test_tones_have_their_pitch():
    for kind, (lo, hi) in (("low_tone", (110, 180)), ("high_tone", (500, 800))):
        f0 = rae_fast.fundamental_frequency(synth_clip(kind, 16000, 2.0, rng=1), 16000, fmin=80,
                                            fmax=1000)
        med = np.nanmedian(f0)
        assert lo * 0.98 <= med <= hi * 1.02, (kind, med)


def test_dataset_layout_folds_and_resume(tmp_path):
    root = make_demo_dataset(tmp_path / "d", n_per_class=6, n_folds=3, seconds=0.5, seed=1)
    files = sorted(root.glob("fold_*/*/*.wav"))
    assert len(files) == 6 * len(DEMO_CLASSES)
    for k in (1, 2, 3):
        per_class = [len(list((root / f"fold_{k}" / c).glob("*.wav"))) for c in DEMO_CLASSES]
        assert per_class == [2] * len(DEMO_CLASSES)
    y, sr = sf.read(files[0], dtype="float32")
    assert sr == 16000 and y.shape == (8000,)
    mtime = files[0].stat().st_mtime_ns
    files[-1].unlink()                      # an interrupted run: one file missing
    make_demo_dataset(tmp_path / "d", n_per_class=6, n_folds=3, seconds=0.5, seed=1)
    assert files[-1].exists() and files[0].stat().st_mtime_ns == mtime
    assert not list(root.rglob("*.tmp"))


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        synth_clip("violin")
    with pytest.raises(ValueError, match="n_per_class"):
        make_demo_dataset(tmp_path, n_per_class=2, n_folds=4)
    with pytest.raises(ValueError, match="class"):
        make_demo_dataset(tmp_path, classes=["violin"])
    with pytest.raises(ValueError, match="seconds"):
        synth_clip("chirp", seconds=0)
