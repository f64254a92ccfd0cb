"""Per-band statistics of spectrograms (rae_fast.preprocessing.band_statistics,
``rae-fast band-stats``)."""
import numpy as np
import pytest

from rae_fast.cli import main
from rae_fast.dataset import DataSet, load, save
from rae_fast.preprocessing import band_statistics


def make(n=4, t=12, f=3, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, t, f)).astype(np.float32)
    return DataSet(x, ("time", "freq"), [f"{i}.wav" for i in range(n)],
                   label_nominal=["a", "b"] * (n // 2), label_map={"a": 0, "b": 1},
                   attrs={"preprocess.mel_bands": f})


def test_columns_are_the_statistics_of_each_band():
    ds = make()
    st = band_statistics(ds, ("mean", "std", "min", "max", "delta"))
    x = ds.features
    f = x.shape[2]
    assert st.feature_shape == (5 * f,) and st.feature_dims == ("generated",)
    np.testing.assert_allclose(st.features[:, :f], x.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(st.features[:, f:2 * f], x.std(axis=1), rtol=1e-5)
    np.testing.assert_allclose(st.features[:, 2 * f:3 * f], x.min(axis=1))
    np.testing.assert_allclose(st.features[:, 3 * f:4 * f], x.max(axis=1))
    np.testing.assert_allclose(st.features[:, 4 * f:], np.abs(np.diff(x, axis=1)).mean(axis=1),
                               rtol=1e-5)
    assert list(st.filenames) == list(ds.filenames) and st.label_map == ds.label_map
    assert st.attrs["band_statistics"] == {"statistics": ["mean", "std", "min", "max",
                                                          "delta"], "skip_floor": False}
    assert st.attrs["preprocess.mel_bands"] == 3


def test_skip_floor_leaves_out_silent_frames():
    ds = make(n=2)
    x = ds.features.copy()
    x[:, 6:] = -1.0                                   # padding at the floor
    x[:, :6] = np.clip(x[:, :6], -0.9, 1)
    ds = ds.with_features(x, ("time", "freq"))
    kept = band_statistics(ds, ["mean"], skip_floor=True).features
    np.testing.assert_allclose(kept, x[:, :6].mean(axis=1), rtol=1e-6)
    assert not np.allclose(band_statistics(ds, ["mean"]).features, kept)


@pytest.mark.parametrize("stats", [[], ["median"], ["mean", "mean"], "mean"])
def test_bad_statistics(stats):
    with pytest.raises(ValueError, match="statistics"):
        band_statistics(make(), stats)


def test_cli(tmp_path):
    save(make(), tmp_path / "s.nc")
    assert main(["band-stats", "--input", str(tmp_path / "s.nc"), "--output",
                 str(tmp_path / "b.nc"), "--statistics", "mean", "delta"]) == 0
    assert load(tmp_path / "b.nc").feature_shape == (6,)
