"""rae_fast.RaeEmbedder: a scikit-learn transformer that trains the autoencoder in fit."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

import rae_fast  # noqa: E402
from rae_fast.embedding import Embedder  # noqa: E402
from rae_fast.synth import DEMO_CLASSES, synth_clip  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = dict(sr=8000, window_width=0.032, window_overlap=0.016, mel_bands=24, num_units=12,
             num_epochs=8, n_threads=1, device="cpu")


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    X, y = [], []
    for k in DEMO_CLASSES:
        for _ in range(6):
            X.append(synth_clip(k, sr=8000, seconds=0.5, rng=rng))
            y.append(k)
    return np.stack(X).astype(np.float32), np.array(y)


def test_pipeline_cross_val_score(clips):
    X, y = clips
    pipe = Pipeline([("rae", rae_fast.RaeEmbedder(**SMALL)), ("clf", LinearSVC())])
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 2.0 / len(DEMO_CLASSES)        # well above chance (1/6)


def test_fit_transform_pickle_clone_and_pandas_output(clips, tmp_path):
    X, _ = clips
    est = rae_fast.RaeEmbedder(**SMALL)
    Z = est.fit_transform(X)
    assert Z.shape == (len(X), 12) and Z.dtype == np.float32
    assert len(est.loss_curve_) == SMALL["num_epochs"]
    again = rae_fast.RaeEmbedder(**SMALL).fit(X).transform(X)
    np.testing.assert_array_equal(Z, again)                 # the seed makes fit repeatable
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.transform(X), Z)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "onnx_model_")
    est.set_output(transform="pandas")
    df = est.transform(X[:3])
    assert list(df.columns[:2]) == ["raeembedder0", "raeembedder1"]
    # the fitted model is an ordinary rae_fast model file
    path = tmp_path / "enc.onnx"
    path.write_bytes(est.onnx_model_)
    np.testing.assert_allclose(Embedder(path).embed(X[:3], 8000, aggregate="mean"), Z[:3],
                               atol=1e-6)
    ms = rae_fast.RaeEmbedder(**SMALL, aggregate="mean+std").fit(X[:12]).transform(X[:2])
    assert ms.shape == (2, 24)


def test_file_paths(clips, tmp_path):
    X, _ = clips
    paths = []
    for i, x in enumerate(X[:8]):
        p = tmp_path / f"c{i}.wav"
        sf.write(str(p), x, 8000, subtype="FLOAT")
        paths.append(str(p))
    est = rae_fast.RaeEmbedder(**SMALL).fit(paths)
    np.testing.assert_allclose(est.transform(paths), est.transform(X[:8]), atol=1e-4)
    sf.write(str(tmp_path / "long.wav"), np.concatenate([X[0], X[1]]), 8000)
    with pytest.raises(ValueError, match="different lengths.*fixed_length"):
        rae_fast.RaeEmbedder(**SMALL).fit(paths + [str(tmp_path / "long.wav")])
    ok = rae_fast.RaeEmbedder(**dict(SMALL, fixed_length=0.5)).fit(
        paths + [str(tmp_path / "long.wav")])
    assert ok.transform([str(tmp_path / "long.wav")]).shape == (1, 12)


def test_errors(clips):
    X, _ = clips
    with pytest.raises(ValueError, match="sr is required"):
        rae_fast.RaeEmbedder(num_epochs=1).fit(X)
    with pytest.raises(ValueError, match="aggregate"):
        rae_fast.RaeEmbedder(**SMALL, aggregate="max").fit(X)
    with pytest.raises(ValueError, match="window_overlap"):
        rae_fast.RaeEmbedder(**dict(SMALL, window_overlap=0.5)).fit(X)
    with pytest.raises(ValueError, match="NaN|infinity|finite"):
        bad = X.copy()
        bad[0, 0] = np.nan
        rae_fast.RaeEmbedder(**SMALL).fit(bad)
    est = rae_fast.RaeEmbedder(**SMALL).fit(X[:6])
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :100])
    with pytest.raises(TypeError, match="list"):
        est.transform("one.wav")


def test_sklearn_estimator_checks():
    """scikit-learn's own estimator checks, on a model small enough for their tiny data (rows
    of a few 'samples' at 1 kHz, padded to 12 ms)."""
    from sklearn.utils.estimator_checks import check_estimator

    est = rae_fast.RaeEmbedder(sr=1000, window_width=0.004, window_overlap=0.002, mel_bands=None,
                               fixed_length=0.012, num_units=2, num_epochs=1, batch_size=8,
                               n_threads=1, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert not failed, failed
    assert sum(r["status"] == "passed" for r in results) >= 45
