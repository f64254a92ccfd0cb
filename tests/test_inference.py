"""ONNX Runtime inference (rae_fast.inference): OnnxModel, generate, reconstruct; no torch
needed at run time."""
import csv
import subprocess
import sys
import warnings

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from rae_fast.dataset import DataSet, load, save  # noqa: E402
from rae_fast.inference import (ORT_MISSING_MESSAGE, OnnxModel, generate,  # noqa: E402
                                import_onnxruntime, reconstruct)
from rae_fast.model import (AutoencoderConfig, RecurrentAutoencoder,  # noqa: E402
                            export_autoencoder, export_encoder)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


F = 6
TOL = 1e-5


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=F, num_layers=2, num_units=5,
                                               bidirectional_encoder=True)).eval()
    return m, export_encoder(m, d / "encoder.onnx"), export_autoencoder(m, d / "ae.onnx")


def make_dataset(path, n=23, t=9, seed=0):
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.standard_normal((n, t, F))).astype(np.float32)
    labels = [["dog", "rain", "sea"][i] for i in rng.integers(0, 3, n)]
    ds = DataSet(x, ("time", "freq"), [f"{rng.integers(1, 5)}-{i:03d}-A.ogg" for i in
                                        rng.permutation(n)],
                 chunk_nr=rng.integers(0, 3, n), label_nominal=labels,
                 cv_folds=rng.integers(0, 2, (n, 3)), partition=rng.integers(0, 3, n),
                 attrs={"window_width": 0.08, "note": "test"})
    save(ds, path)
    return ds


def torch_encode(m, x):
    with torch.no_grad():
        return m.encode(torch.from_numpy(np.ascontiguousarray(x))).numpy()


# ----------------------------------------------------------------------------- OnnxModel

def test_encode_matches_torch_for_any_threads_chunks_and_batches(models):
    m, enc_path, _ = models
    x = np.tanh(np.random.default_rng(1).standard_normal((37, 11, F))).astype(np.float32)
    ref = torch_encode(m, x)
    results = []
    for n_threads in (1, 2):
        for chunk in (1, 3, 16, 64):
            with OnnxModel(enc_path, device="cpu", n_threads=n_threads, chunk_size=chunk) as enc:
                assert enc.device == "cpu" and enc.kind == "encoder"
                assert enc.num_features == F and enc.representation_size == 10
                for bs in (None, 5):
                    out = enc.encode(x, batch_size=bs)
                    assert out.shape == (37, 10) and out.dtype == np.float32
                    np.testing.assert_allclose(out, ref, rtol=0, atol=TOL)
                    results.append(out)
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=0, atol=1e-6)
    # a batch smaller than the thread count runs on the multi-threaded session
    with OnnxModel(enc_path, device="cpu", n_threads=3) as enc:
        for k in (1, 2):
            np.testing.assert_allclose(enc.encode(x[:k]), ref[:k], rtol=0, atol=TOL)
    enc = OnnxModel(enc_path, n_threads=2)
    assert "OnnxModel(" in repr(enc) and enc.config["num_units"] == 5
    np.testing.assert_allclose(enc.encode(x.astype(np.float64)), ref, rtol=0, atol=TOL)


def test_variable_lengths_are_bucketed_and_match_each_instance_alone(models):
    m, enc_path, ae_path = models
    rng = np.random.default_rng(2)
    seqs = [np.tanh(rng.standard_normal((int(n), F))).astype(np.float32)
            for n in [4, 9, 4, 1, 13, 9, 4]]
    enc = OnnxModel(enc_path, n_threads=2, chunk_size=2)
    out = enc.encode(seqs)
    assert out.shape == (7, 10)
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(out[i], enc.encode(s[None])[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(out[i], torch_encode(m, s[None])[0], rtol=0, atol=TOL)
    # torch with padding + lengths gives the same representations
    padded = np.zeros((7, 13, F), np.float32)
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = s
    with torch.no_grad():
        ref = m.encode(torch.from_numpy(padded), lengths=[len(s) for s in seqs]).numpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=TOL)
    recon, rep = OnnxModel(ae_path).reconstruct(seqs)
    assert isinstance(recon, list) and [r.shape for r in recon] == [s.shape for s in seqs]
    np.testing.assert_allclose(rep, out, rtol=0, atol=1e-6)


def test_reconstruct_matches_torch(models):
    m, _, ae_path = models
    x = np.tanh(np.random.default_rng(3).standard_normal((9, 14, F))).astype(np.float32)
    recon, rep = OnnxModel(ae_path, n_threads=2, chunk_size=4).reconstruct(x)
    with torch.no_grad():
        r_ref, rep_ref = m(torch.from_numpy(x))
    np.testing.assert_allclose(recon, r_ref.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(rep, rep_ref.numpy(), rtol=0, atol=TOL)


def test_bad_inputs_and_files_give_clear_errors(models, tmp_path):
    _, enc_path, _ = models
    enc = OnnxModel(enc_path, n_threads=1)
    with pytest.raises(TypeError, match="floating-point"):
        enc.encode(np.zeros((2, 3, F), np.int16))
    with pytest.raises(ValueError, match="3-D"):
        enc.encode(np.zeros((3, F), np.float32))
    with pytest.raises(ValueError, match="expects 6"):
        enc.encode(np.zeros((2, 3, F + 1), np.float32))
    with pytest.raises(ValueError, match="empty"):
        enc.encode(np.zeros((0, 3, F), np.float32))
    x = np.zeros((4, 3, F), np.float32)
    x[2, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or Inf \(instance 2\)"):
        enc.encode(x)
    with pytest.raises(ValueError, match=r"features\[1\] must be 2-D"):
        enc.encode([np.zeros((3, F), np.float32), np.zeros((1, 3, F), np.float32)])
    with pytest.raises(ValueError, match="no instances"):
        enc.encode([])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        enc.encode(np.zeros((1, 3, F), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="is an encoder"):
        enc.reconstruct(np.zeros((1, 3, F), np.float32))
    with pytest.raises(ValueError, match="n_threads"):
        OnnxModel(enc_path, n_threads=0)
    with pytest.raises(TypeError, match="chunk_size"):
        OnnxModel(enc_path, chunk_size=2.5)
    with pytest.raises(ValueError, match="device"):
        OnnxModel(enc_path, device="tpu")
    with pytest.raises(FileNotFoundError):
        OnnxModel(tmp_path / "missing.onnx")
    with pytest.raises(IsADirectoryError):
        OnnxModel(tmp_path)
    fake = tmp_path / "fake.onnx"
    fake.write_text("this is a text file, not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        OnnxModel(fake)


def test_model_without_rae_fast_metadata_still_works(models, tmp_path):
    onnx = pytest.importorskip("onnx")
    m, enc_path, _ = models
    proto = onnx.load(str(enc_path))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    enc = OnnxModel(tmp_path / "plain.onnx")
    assert enc.kind == "encoder" and enc.representation_size == 10 and enc.config is None
    x = np.zeros((2, 3, F), np.float32)
    np.testing.assert_allclose(enc.encode(x), torch_encode(m, x), rtol=0, atol=TOL)


def test_cuda_requested_without_cuda_warns_and_runs_on_cpu(models):
    _, enc_path, _ = models
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; see test_cuda_execution_provider")
    with pytest.warns(RuntimeWarning, match="onnxruntime-gpu"):
        enc = OnnxModel(enc_path, device="cuda")
    assert enc.device == "cpu" and enc.providers == ["CPUExecutionProvider"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert OnnxModel(enc_path, device="auto").device == "cpu"   # auto: silent


@pytest.mark.gpu
def test_cuda_execution_provider(models):
    m, enc_path, _ = models
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA execution provider (onnxruntime-gpu not installed)")
    enc = OnnxModel(enc_path, device="cuda")
    if enc.device != "cuda":
        pytest.skip("CUDA execution provider present but no usable GPU")
    x = np.tanh(np.random.default_rng(0).standard_normal((50, 20, F))).astype(np.float32)
    np.testing.assert_allclose(enc.encode(x), torch_encode(m, x), rtol=0, atol=1e-4)


def test_missing_onnxruntime_names_the_extras(monkeypatch, models):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError) as info:
        import_onnxruntime()
    assert "rae_fast[cpu]" in str(info.value) and "rae_fast[gpu]" in str(info.value)
    assert str(info.value) == ORT_MISSING_MESSAGE
    with pytest.raises(ImportError, match=r"rae_fast\[cpu\]"):
        OnnxModel(models[1])


# ------------------------------------------------------------------------------ generate

def test_generate_keeps_all_metadata_in_order(models, tmp_path):
    m, enc_path, _ = models
    src = make_dataset(tmp_path / "specs.nc")
    out = generate(enc_path, tmp_path / "specs.nc", tmp_path / "reps.nc", batch_size=7,
                   n_threads=2, progress=False)
    reps = load(out)
    assert reps.feature_dims == ("generated",) and reps.feature_shape == (10,)
    np.testing.assert_allclose(reps.features, torch_encode(m, src.features), rtol=0, atol=TOL)
    assert list(reps.filenames) == list(src.filenames)
    assert list(reps.label_nominal) == list(src.label_nominal)
    for name in ("chunk_nr", "label_numeric", "cv_folds", "partition"):
        np.testing.assert_array_equal(getattr(reps, name), getattr(src, name))
    assert reps.label_map == src.label_map
    assert reps.attrs["window_width"] == 0.08 and reps.attrs["note"] == "test"
    assert reps.attrs["representation"]["model"] == "encoder.onnx"
    assert reps.attrs["representation"]["source_feature_shape"] == [9, F]
    assert not (tmp_path / "reps.nc.partial").exists()
    # an autoencoder model works too (its representation output is used)
    out2 = generate(models[2], tmp_path / "specs.nc", tmp_path / "reps2.nc", progress=False)
    np.testing.assert_allclose(load(out2).features, reps.features, rtol=0, atol=1e-6)


def test_generate_resumes_after_an_interruption(models, tmp_path, monkeypatch):
    _, enc_path, _ = models
    make_dataset(tmp_path / "specs.nc", n=30)
    full = load(generate(enc_path, tmp_path / "specs.nc", tmp_path / "ref.nc", batch_size=4,
                         progress=False))
    calls = {"n": 0, "fail_at": 4}
    real = OnnxModel.encode

    def flaky(self, x, batch_size=None):
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise KeyboardInterrupt
        return real(self, x, batch_size)

    monkeypatch.setattr(OnnxModel, "encode", flaky)
    out = tmp_path / "reps.nc"
    with pytest.raises(KeyboardInterrupt):
        generate(enc_path, tmp_path / "specs.nc", out, batch_size=4, progress=False)
    assert not out.exists() and (tmp_path / "reps.nc.partial").exists()
    calls.update(n=0, fail_at=None)                     # no more interruptions
    generate(enc_path, tmp_path / "specs.nc", out, batch_size=4, progress=False)
    assert calls["n"] == 8 - 3                          # the 3 written batches are not redone
    assert load(out).equals(full)
    # resume=False starts again from scratch
    calls["n"] = 0
    generate(enc_path, tmp_path / "specs.nc", tmp_path / "again.nc", batch_size=4,
             resume=False, progress=False)
    assert calls["n"] == 8 and load(tmp_path / "again.nc").equals(full)


def _interrupt_generate_after(monkeypatch, n_calls, *args, **kwargs):
    """Run generate, raising KeyboardInterrupt in the n-th encode call; return the call log."""
    real = OnnxModel.encode
    calls = {"n": 0, "fail_at": n_calls}

    def flaky(self, x, batch_size=None):
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise KeyboardInterrupt
        return real(self, x, batch_size)

    monkeypatch.setattr(OnnxModel, "encode", flaky)
    with pytest.raises(KeyboardInterrupt):
        generate(*args, **kwargs)
    calls.update(n=0, fail_at=None)
    return calls


def test_generate_does_not_resume_with_another_model_under_the_same_name(tmp_path, monkeypatch,
                                                                          caplog):
    """A partial output written by model A is not continued with model B re-exported under the
    same file name: the representations of B are computed for every instance."""
    import logging

    cfg = AutoencoderConfig(num_features=F, num_units=4)
    torch.manual_seed(1)
    model_a = RecurrentAutoencoder(cfg).eval()
    torch.manual_seed(2)
    model_b = RecurrentAutoencoder(cfg).eval()
    src = make_dataset(tmp_path / "specs.nc", n=20)
    enc = tmp_path / "encoder.onnx"
    export_encoder(model_a, enc)
    out = tmp_path / "reps.nc"
    calls = _interrupt_generate_after(monkeypatch, 3, enc, tmp_path / "specs.nc", out,
                                      batch_size=4, progress=False)
    assert (tmp_path / "reps.nc.partial").exists() and not out.exists()
    export_encoder(model_b, enc)                         # same name, other weights
    with caplog.at_level(logging.INFO, logger="rae_fast.inference"):
        generate(enc, tmp_path / "specs.nc", out, batch_size=4, progress=False)
    assert calls["n"] == 5                               # all 5 batches computed again
    assert "another model" in caplog.text and "starting again" in caplog.text
    reps = load(out)
    np.testing.assert_allclose(reps.features, torch_encode(model_b, src.features), rtol=0,
                               atol=TOL)
    assert reps.attrs["representation"]["model_sha256"] == OnnxModel(enc).sha256
    import hashlib
    assert reps.attrs["representation"]["model_sha256"] == \
        hashlib.sha256(enc.read_bytes()).hexdigest()


def test_generate_does_not_resume_on_a_changed_input(models, tmp_path, monkeypatch):
    """Same model, same output name, but the input file was rewritten (same file names and
    shape, other spectrograms): the partial output is discarded."""
    m, enc_path, _ = models
    make_dataset(tmp_path / "specs.nc", n=20, seed=0)
    out = tmp_path / "reps.nc"
    calls = _interrupt_generate_after(monkeypatch, 3, enc_path, tmp_path / "specs.nc", out,
                                      batch_size=4, progress=False)
    assert (tmp_path / "reps.nc.partial").exists()
    first = load(tmp_path / "specs.nc")
    changed = first.with_features(np.tanh(first.features[::-1] * 0.5 + 0.1).astype(np.float32),
                                  first.feature_dims)
    (tmp_path / "specs.nc").unlink()
    save(changed, tmp_path / "specs.nc")
    generate(enc_path, tmp_path / "specs.nc", out, batch_size=4, progress=False)
    assert calls["n"] == 5
    np.testing.assert_allclose(load(out).features, torch_encode(m, changed.features), rtol=0,
                               atol=TOL)


def test_generate_refuses_bad_inputs(models, tmp_path):
    _, enc_path, _ = models
    make_dataset(tmp_path / "specs.nc")
    text = tmp_path / "notes.nc"
    text.write_text("hello, I am not netCDF")
    with pytest.raises(ValueError, match="not a readable netCDF4"):
        generate(enc_path, text, tmp_path / "o.nc", progress=False)
    with pytest.raises(FileNotFoundError):
        generate(enc_path, tmp_path / "missing.nc", tmp_path / "o.nc", progress=False)
    generate(enc_path, tmp_path / "specs.nc", tmp_path / "reps.nc", progress=False)
    with pytest.raises(ValueError, match="representations cannot be encoded again"):
        generate(enc_path, tmp_path / "reps.nc", tmp_path / "o.nc", progress=False)
    save(DataSet(np.zeros((2, 3, F + 2), np.float32), ("time", "freq"), ["a", "b"]),
         tmp_path / "wide.nc")
    with pytest.raises(ValueError, match="8 freq values per time step but the model expects 6"):
        generate(enc_path, tmp_path / "wide.nc", tmp_path / "o.nc", progress=False)
    with pytest.raises(ValueError, match="overwrite the input"):
        generate(enc_path, tmp_path / "specs.nc", tmp_path / "specs.nc", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        generate(enc_path, tmp_path / "specs.nc", tmp_path / "o.nc", batch_size=0)
    with pytest.raises(TypeError, match="model must be"):
        generate(42, tmp_path / "specs.nc", tmp_path / "o.nc")
    assert not (tmp_path / "o.nc").exists() and not (tmp_path / "o.nc.partial").exists()


def test_reconstruct_writes_reconstructions_and_rmse(models, tmp_path):
    m, enc_path, ae_path = models
    src = make_dataset(tmp_path / "specs.nc", n=11)
    out, err = reconstruct(ae_path, tmp_path / "specs.nc", tmp_path / "recon.nc", batch_size=4,
                           progress=False)
    rec = load(out)
    with torch.no_grad():
        ref, _ = m(torch.from_numpy(src.features))
    ref = ref.numpy()
    np.testing.assert_allclose(rec.features, ref, rtol=0, atol=TOL)
    assert rec.feature_dims == src.feature_dims and list(rec.filenames) == list(src.filenames)
    np.testing.assert_array_equal(rec.cv_folds, src.cv_folds)
    expected = np.sqrt(((ref.astype(np.float64) - src.features) ** 2).mean(axis=(1, 2)))
    np.testing.assert_allclose(err, expected, rtol=1e-5)
    rows = list(csv.DictReader(open(tmp_path / "recon.nc.rmse.csv")))
    assert [r["filename"] for r in rows] == list(src.filenames)
    np.testing.assert_allclose([float(r["rmse"]) for r in rows], err, rtol=1e-6)
    assert rec.attrs["reconstruction_model"] == "ae.onnx"
    assert rec.attrs["reconstruction_mode"] == "teacher_forcing"
    with pytest.raises(ValueError, match="is an encoder"):
        reconstruct(enc_path, tmp_path / "specs.nc", tmp_path / "r2.nc", progress=False)
    assert not (tmp_path / "r2.nc").exists()


def test_inference_works_with_torch_blocked(models, tmp_path):
    """rae_fast.inference (and generate) must not import torch."""
    _, enc_path, _ = models
    make_dataset(tmp_path / "specs.nc", n=5)
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import rae_fast.inference as inf, rae_fast.dataset as d\n"
        f"inf.generate({str(enc_path)!r}, {str(tmp_path / 'specs.nc')!r}, "
        f"{str(tmp_path / 'reps.nc')!r}, progress=False)\n"
        f"print(d.load({str(tmp_path / 'reps.nc')!r}).features.shape)\n"
        "assert sys.modules['torch'] is None\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "(5, 10)"
