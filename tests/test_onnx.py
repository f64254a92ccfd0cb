"""ONNX export (rae_fast.model.onnx_export): ONNX Runtime == PyTorch within 1e-5 for every cell /
layer / direction combination, random batch sizes and lengths; graph structure; metadata."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from rae_fast.model import (AutoencoderConfig, RecurrentAutoencoder, TrainingConfig,  # noqa: E402
                            export_autoencoder, export_encoder, train)
from rae_fast.model import onnx_export  # noqa: E402
from rae_fast.model.onnx_export import autoencoder_to_onnx, encoder_to_onnx  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


TOL = 1e-5
COMBOS = list(itertools.product(["gru", "lstm"], [1, 2], [False, True], [False, True]))
IDS = [f"{c}-L{l}-{'bi' if e else 'uni'}enc-{'bi' if d else 'uni'}dec" for c, l, e, d in COMBOS]


def session(proto):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def model_for(cell, layers, bi_enc, bi_dec, F=7, H=6, seed=0):
    torch.manual_seed(seed)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=F, num_layers=layers, num_units=H,
                                               cell=cell, bidirectional_encoder=bi_enc,
                                               bidirectional_decoder=bi_dec))
    with torch.no_grad():          # a bit larger than the Glorot init (|w| up to ~0.8 here, as
        for p in m.parameters():   # with torch's default init x 2): exercise the nonlinearities
            p.mul_(1.2)
    return m.eval()


@pytest.mark.parametrize("cell,layers,bi_enc,bi_dec", COMBOS, ids=IDS)
def test_onnx_runtime_matches_torch(cell, layers, bi_enc, bi_dec):
    m = model_for(cell, layers, bi_enc, bi_dec)
    enc = session(encoder_to_onnx(m))
    ae = session(autoencoder_to_onnx(m))
    rng = np.random.default_rng(COMBOS.index((cell, layers, bi_enc, bi_dec)))
    sizes = [(1, 1)] + [(int(rng.integers(1, 10)), int(rng.integers(1, 41))) for _ in range(3)]
    for b, t in sizes:
        x = rng.uniform(-1, 1, (b, t, 7)).astype(np.float32)
        with torch.no_grad():
            recon, rep = m(torch.from_numpy(x))
            frames = m.encode_frames(torch.from_numpy(x))
        r1, f1 = enc.run(None, {"features": x})
        r2, rep2 = ae.run(None, {"features": x})
        assert r1.shape == (b, m.config.representation_size) and r2.shape == (b, t, 7)
        assert f1.shape == (b, t, (2 if bi_enc else 1) * m.config.num_units) == frames.shape
        np.testing.assert_allclose(r1, rep.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(f1, frames.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(rep2, rep.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(r2, recon.numpy(), rtol=0, atol=TOL)


def test_paper_size_encoder_parity():
    """2 x 256 GRU, 128 mel bands, 125 steps (ESC-10 at auDeep's defaults)."""
    torch.manual_seed(1)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
                                               bidirectional_decoder=True)).eval()
    x = np.random.default_rng(2).uniform(-1, 1, (3, 125, 128)).astype(np.float32)
    with torch.no_grad():
        recon, rep = m(torch.from_numpy(x))
    np.testing.assert_allclose(session(encoder_to_onnx(m)).run(None, {"features": x})[0],
                               rep.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(session(autoencoder_to_onnx(m)).run(None, {"features": x})[0],
                               recon.numpy(), rtol=0, atol=TOL)


def test_graph_structure_dynamic_axes_and_metadata(tmp_path):
    m = model_for("gru", 2, True, True)
    path = export_encoder(m, tmp_path / "enc.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    (inp,) = proto.graph.input
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == "features" and dims == ["batch", "time", 7]
    out, frames = proto.graph.output
    assert out.name == "representation" and frames.name == "frame_features"
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 24]
    assert [d.dim_param or d.dim_value for d in frames.type.tensor_type.shape.dim] == \
        ["batch", "time", 12]                          # 2 directions x 6 units
    grus = [n for n in proto.graph.node if n.op_type == "GRU"]
    assert len(grus) == 4            # 2 layers x 2 directions, each its own ONNX GRU
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in grus]
    assert all(a["linear_before_reset"] == 1 and a["hidden_size"] == 6 for a in attrs)
    assert sorted(a["direction"] for a in attrs) == [b"forward", b"forward", b"reverse",
                                                     b"reverse"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["rae_fast.kind"] == "encoder" and meta["rae_fast.representation_size"] == "24"
    assert AutoencoderConfig.from_dict(__import__("json").loads(meta["rae_fast.config"])) \
        == m.config
    assert not proto.graph.initializer[0].HasField("data_location") or \
        proto.graph.initializer[0].data_location == onnx.TensorProto.DEFAULT
    n_weights = sum(int(np.prod(i.dims)) for i in proto.graph.initializer if i.data_type == 1)
    assert n_weights >= sum(p.numel() for p in list(m.encoder.parameters())
                            + list(m.fc.parameters()))
    assert not list(tmp_path.glob("*.data")) and sorted(p.name for p in tmp_path.iterdir()) == \
        ["enc.onnx"]
    ae = onnx.load(str(export_autoencoder(m, tmp_path / "ae.onnx")))
    assert [o.name for o in ae.graph.output] == ["reconstruction", "representation"]
    assert {p.key: p.value for p in ae.metadata_props}["rae_fast.kind"] == "autoencoder"


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_dynamo_exporter_matches_torch(tmp_path, cell):
    """torch.onnx.export(dynamo=True) path: needs onnxscript >= 0.7.1 (GRU linear_before_reset).
    The caller's model keeps its training/eval mode."""
    pytest.importorskip("onnxscript")
    m = model_for(cell, 2, True, False, F=5, H=4).train()
    m.fc.eval()                                   # a mixed state must survive too
    modes = {name: mod.training for name, mod in m.named_modules()}
    path = export_encoder(m, tmp_path / "enc_dynamo.onnx", method="dynamo")
    assert {name: mod.training for name, mod in m.named_modules()} == modes
    assert m.training and not m.fc.training
    m.eval()
    proto = onnx.load(str(path))
    if cell == "gru":
        grus = [n for n in proto.graph.node if n.op_type == "GRU"]
        assert grus and all({a.name: onnx.helper.get_attribute_value(a)
                             for a in n.attribute}["linear_before_reset"] == 1 for n in grus)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for b, t in [(1, 1), (2, 13), (6, 40)]:     # other sizes than the traced (3, 7)
        x = rng.uniform(-1, 1, (b, t, 5)).astype(np.float32)
        with torch.no_grad():
            ref = m.encode(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(sess.run(None, {"features": x})[0], ref, rtol=0, atol=TOL)


def test_old_onnxscript_is_refused(monkeypatch):
    onnxscript = pytest.importorskip("onnxscript")
    monkeypatch.setattr(onnxscript, "__version__", "0.7.0")
    with pytest.raises(ImportError, match="0.7.1"):
        onnx_export._check_onnxscript()
    monkeypatch.setattr(onnxscript, "__version__", "0.7.1")
    onnx_export._check_onnxscript()


def test_export_from_run_directory_and_errors(tmp_path, monkeypatch):
    x = np.tanh(np.random.default_rng(0).standard_normal((8, 6, 4))).astype(np.float32)
    r = train(x, tmp_path / "run", AutoencoderConfig(num_features=4, num_units=3),
              TrainingConfig(num_epochs=2, batch_size=4), progress=False)
    p = export_encoder(tmp_path / "run", tmp_path / "e.onnx")
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = r.model.encode(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"features": x})[0], ref, rtol=0, atol=TOL)
    p1 = export_encoder(tmp_path / "run", tmp_path / "e1.onnx", epoch=1)
    assert sess.run(None, {"features": x})[0].tolist() != ort.InferenceSession(
        str(p1), providers=["CPUExecutionProvider"]).run(None, {"features": x})[0].tolist()
    with pytest.raises(ValueError, match="method"):
        export_encoder(r.model, tmp_path / "x.onnx", method="jit")
    with pytest.raises(IsADirectoryError):
        export_encoder(r.model, tmp_path)
    with pytest.raises(TypeError, match="RecurrentAutoencoder"):
        export_encoder(torch.nn.GRU(2, 2), tmp_path / "x.onnx")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        (tmp_path / "empty").mkdir()
        export_encoder(tmp_path / "empty", tmp_path / "x.onnx")

    def boom(*a, **k):
        Path_ = __import__("pathlib").Path
        Path_(a[1]).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx, "save_model", boom)
    with pytest.raises(KeyboardInterrupt):
        export_encoder(r.model, tmp_path / "out" / "enc.onnx")
    assert list((tmp_path / "out").iterdir()) == []       # nothing half-written is left


def test_export_verify_option(tmp_path, monkeypatch):
    """verify=True checks the file with ONNX Runtime before it appears; a mismatch leaves
    nothing behind and names the difference."""
    from rae_fast.model.onnx_export import read_verified_difference

    m = model_for("gru", 2, False, True)
    enc = export_encoder(m, tmp_path / "enc.onnx", verify=True)
    ae = export_autoencoder(m, tmp_path / "ae.onnx", verify=True)
    for p in (enc, ae):
        d = read_verified_difference(p)
        assert d is not None and 0 <= d <= TOL
    assert read_verified_difference(export_encoder(m, tmp_path / "plain.onnx")) is None
    monkeypatch.setattr(onnx_export, "_max_difference", lambda *a: 0.25)
    for fn in (export_encoder, export_autoencoder):
        target = tmp_path / f"bad_{fn.__name__}.onnx"
        with pytest.raises(ValueError, match="differs from PyTorch by 0.25.*was not written"):
            fn(m, target, verify=True)
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.onnx", "enc.onnx", "plain.onnx"]
    monkeypatch.setattr(onnx_export, "_max_difference", lambda *a: None)   # no onnxruntime
    with pytest.warns(RuntimeWarning, match="not checked"):
        export_encoder(m, tmp_path / "unchecked.onnx", verify=True)
    assert read_verified_difference(tmp_path / "unchecked.onnx") is None


def test_onnx_and_torch_runners_follow_the_model_runner_protocol(tmp_path):
    from rae_fast.inference import ModelRunner, OnnxModel
    from rae_fast.model import TorchModelRunner

    m = model_for("gru", 1, True, False)
    onnx_runner = OnnxModel(export_autoencoder(m, tmp_path / "ae.onnx"), device="cpu",
                            n_threads=1)
    torch_runner = TorchModelRunner(m, path=tmp_path)
    free = TorchModelRunner(m, free_running=True)
    for r in (onnx_runner, torch_runner, free):
        assert isinstance(r, ModelRunner)
    assert not isinstance(object(), ModelRunner)
    x = np.random.default_rng(3).uniform(-1, 1, (4, 9, 7)).astype(np.float32)
    np.testing.assert_allclose(onnx_runner.encode(x), torch_runner.encode(x), atol=TOL)
    (r1, p1), (r2, p2) = onnx_runner.reconstruct(x), torch_runner.reconstruct(x)
    np.testing.assert_allclose(r1, r2, atol=TOL)
    np.testing.assert_allclose(p1, p2, atol=TOL)
    assert torch_runner.reconstruction_mode == "teacher_forcing"
    assert free.reconstruction_mode == "free_running" and free.sha256 is None
    with pytest.raises(ValueError, match="unidirectional decoder"):
        TorchModelRunner(model_for("gru", 1, False, True), free_running=True)
    with pytest.raises(TypeError, match="RecurrentAutoencoder"):
        TorchModelRunner(torch.nn.GRU(2, 2))
