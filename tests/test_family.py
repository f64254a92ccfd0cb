"""auDeep's model family (rae_fast.model.frequency, rnn, config options): f-rae / ft-rae shapes
against auDeep's feature dimensions, ONNX Runtime == PyTorch within 1e-5, exact resume,
TensorFlow's GRU, auDeep's decoder options, mask_silence."""
import itertools
import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from rae_fast.model import (AutoencoderConfig, FrequencyAutoencoder,  # noqa: E402
                            FrequencyTimeAutoencoder, RecurrentAutoencoder, TrainingConfig,
                            build_autoencoder, load_checkpoint, rmse, train)
from rae_fast.model.frequency import window_features  # noqa: E402
from rae_fast.model.onnx_export import autoencoder_to_onnx, encoder_to_onnx  # noqa: E402
from rae_fast.model.rnn import TFGRU, teacher_inputs  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TOL = 1e-5


def session(proto):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def rand_x(b, t, f, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, (b, t, f))
                            .astype(np.float32))


def family_model(arch, cell="gru", variant="pytorch", bi_enc=False, bi_dec=False, seed=0,
                 F=20, **kw):
    torch.manual_seed(seed)
    cfg = AutoencoderConfig(num_features=F, num_layers=2, num_units=6, cell=cell,
                            gru_variant=variant, bidirectional_encoder=bi_enc,
                            bidirectional_decoder=bi_dec, architecture=arch,
                            freq_window_width=8, freq_window_overlap=4, num_f_layers=2,
                            num_f_units=5, bidirectional_f_encoder=bi_enc,
                            bidirectional_f_decoder=not bi_dec, **kw)
    m = build_autoencoder(cfg)
    with torch.no_grad():
        for p in m.parameters():        # exercise the nonlinearities
            p.mul_(1.3)
    return m.eval()


# -------------------------------------------------------------- auDeep's dimensions

def test_f_rae_shapes_follow_audeep():
    """auDeep's defaults on 128 mel bands: windows of 32 overlapping by 24 -> 13 windows; one
    representation per frame of the decoder's state size."""
    cfg = AutoencoderConfig(num_features=128, architecture="f-rae", num_layers=2, num_units=8,
                            bidirectional_decoder=True)
    assert cfg.num_windows == (128 - 32) // 8 + 1 == 13
    assert cfg.frame_representation and cfg.representation_size == 2 * 8 * 2
    m = FrequencyAutoencoder(cfg).eval()
    assert m.projection.in_features == 13 * 2 * 32 and m.projection.out_features == 128
    assert [p.out_features for p in m.direction_projections] == [32, 32]
    recon, rep = m(rand_x(3, 9, 128))
    assert rep.shape == (3, 9, 32) and recon.shape == (3, 9, 128)
    # frames are independent instances: a frame's representation ignores the others
    x = rand_x(2, 6, 128).requires_grad_(True)
    (g,) = torch.autograd.grad(m.encode(x)[:, 3].sum(), x)
    assert float(g[:, 3].abs().sum()) > 0
    assert float(g[:, [0, 1, 2, 4, 5]].abs().max()) == 0.0


def test_ft_rae_shapes_follow_audeep():
    """auDeep's ft-rae defaults (frequency 1 x 64, time 2 x 128): the time encoder reads the
    frequency encoder's final states; one representation per clip."""
    cfg = AutoencoderConfig(num_features=128, architecture="ft-rae", num_layers=2,
                            num_units=12, bidirectional_decoder=True, num_f_units=10)
    assert (cfg.num_f_layers, cfg.num_windows) == (1, 13)
    assert cfg.f_encoder_state_size == 10 and cfg.representation_size == 2 * 12 * 2
    m = FrequencyTimeAutoencoder(cfg).eval()
    assert m.encoder[0][0].input_size == 10
    assert m.f_init.in_features == 2 * 10 and m.f_init.out_features == cfg.f_decoder_state_size
    recon, rep = m(rand_x(3, 9, 128))
    assert rep.shape == (3, 48) and recon.shape == (3, 9, 128)


def test_windows_and_dropped_bands():
    x = torch.arange(10.).view(1, 10)
    w = window_features(x, 4, 1)                  # starts 0, 3, 6; band 9 is left out
    assert w.shape == (1, 3, 4) and w[0, 2].tolist() == [6., 7., 8., 9.]
    with pytest.warns(UserWarning, match="last 2 of 130 frequency bands"):
        build_autoencoder(AutoencoderConfig(num_features=130, architecture="f-rae"))


@pytest.mark.parametrize("kw,match", [
    (dict(architecture="f-rae", freq_window_width=200), "freq_window_width"),
    (dict(architecture="f-rae", freq_window_overlap=32), "freq_window_overlap"),
    (dict(architecture="f-rae", decoder_projection="single"), "per-direction"),
    (dict(cell="lstm", gru_variant="tensorflow"), "needs cell='gru'"),
    (dict(bidirectional_decoder=True, feed_previous_prob=0.5), "per-direction"),
    (dict(architecture="x-rae"), "architecture"),
    (dict(decoder_input_shift=3), "decoder_input_shift"),
    (dict(decoder_inputs="some"), "decoder_inputs"),
    (dict(decoder_input_dropout=1.0), "decoder_input_dropout"),
])
def test_config_errors_name_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderConfig(num_features=128, **kw)


def test_old_configs_load_with_the_new_defaults():
    old = {"num_features": 8, "num_layers": 1, "num_units": 4, "cell": "gru",
           "bidirectional_encoder": False, "bidirectional_decoder": True, "dropout": 0.2,
           "encoder_noise": 0.0, "feed_previous_prob": 0.0}
    cfg = AutoencoderConfig.from_dict(old)
    assert (cfg.architecture, cfg.gru_variant, cfg.decoder_projection,
            cfg.decoder_input_shift, cfg.decoder_inputs) == ("t-rae", "pytorch", "single", 1,
                                                             "targets")
    assert AutoencoderConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert TrainingConfig.from_dict({"num_epochs": 2}).mask_silence is False


# ------------------------------------------------------------------------- ONNX parity

ARCH_COMBOS = [(a, c, v, e, d) for a in ("t-rae", "f-rae", "ft-rae")
               for c, v in (("gru", "pytorch"), ("gru", "tensorflow"), ("lstm", "pytorch"))
               for e, d in itertools.product([False, True], [False, True])]
ARCH_IDS = [f"{a}-{c}-{v}-{'bi' if e else 'uni'}enc-{'bi' if d else 'uni'}dec"
            for a, c, v, e, d in ARCH_COMBOS]


def _check_parity(m, F, seed):
    enc, ae = session(encoder_to_onnx(m)), session(autoencoder_to_onnx(m))
    rng = np.random.default_rng(seed)
    sizes = [(1, 1), (1, 2)] + [(int(rng.integers(1, 6)), int(rng.integers(1, 25)))
                                for _ in range(2)]
    for b, t in sizes:
        x = rng.uniform(-1, 1, (b, t, F)).astype(np.float32)
        with torch.no_grad():
            recon, rep = m(torch.from_numpy(x))
            frames = m.encode_frames(torch.from_numpy(x))
        r1, f1 = enc.run(None, {"features": x})
        r2, rep2 = ae.run(None, {"features": x})
        assert r1.shape == tuple(rep.shape) and r2.shape == (b, t, F)
        # the per-frame output (embedding's timestamp features) of every architecture
        assert f1.shape == (b, t, m.frame_feature_size) == tuple(frames.shape)
        np.testing.assert_allclose(f1, frames.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(r1, rep.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(rep2, rep.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(r2, recon.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("arch,cell,variant,bi_enc,bi_dec", ARCH_COMBOS, ids=ARCH_IDS)
def test_onnx_runtime_matches_torch_for_the_family(arch, cell, variant, bi_enc, bi_dec):
    m = family_model(arch, cell, variant, bi_enc, bi_dec)
    _check_parity(m, 20, ARCH_COMBOS.index((arch, cell, variant, bi_enc, bi_dec)))


@pytest.mark.parametrize("arch", ["t-rae", "f-rae", "ft-rae"])
@pytest.mark.parametrize("extra", [dict(decoder_input_shift=2), dict(decoder_inputs="none"),
                                   dict(decoder_projection="per-direction")],
                         ids=["shift2", "no-inputs", "per-direction"])
def test_onnx_parity_of_the_decoder_options(arch, extra):
    m = family_model(arch, bi_dec=True, **extra)
    _check_parity(m, 20, 1)


def test_onnx_graph_of_tensorflow_gru_uses_linear_before_reset_0():
    m = family_model("t-rae", variant="tensorflow")
    flags = {a.i for n in encoder_to_onnx(m).graph.node if n.op_type == "GRU"
             for a in n.attribute if a.name == "linear_before_reset"}
    assert flags == {0}
    m = family_model("t-rae")
    flags = {a.i for n in encoder_to_onnx(m).graph.node if n.op_type == "GRU"
             for a in n.attribute if a.name == "linear_before_reset"}
    assert flags == {1}


def test_paper_size_f_rae_and_ft_rae_parity():
    """128 mel bands, auDeep's windows, 40 frames: the sizes the ESC-10 recipe uses."""
    for arch, kw in (("f-rae", dict(num_layers=2, num_units=32, bidirectional_decoder=True)),
                     ("ft-rae", dict(num_layers=2, num_units=64, bidirectional_decoder=True,
                                     num_f_units=32))):
        torch.manual_seed(0)
        m = build_autoencoder(AutoencoderConfig(num_features=128, architecture=arch, **kw))
        _check_parity(m.eval(), 128, 2)


# ---------------------------------------------------------------------- training

def _weights(result):
    return {k: v.clone() for k, v in result.model.state_dict().items()}


@pytest.mark.parametrize("kw", [
    dict(architecture="f-rae", encoder_noise=0.2, feed_previous_prob=0.3,
         bidirectional_decoder=True),
    dict(architecture="ft-rae", encoder_noise=0.2, f_encoder_noise=0.1,
         f_feed_previous_prob=0.3, feed_previous_prob=0.2),
    dict(gru_variant="tensorflow", decoder_projection="per-direction",
         bidirectional_decoder=True, feed_previous_prob=0.3, decoder_input_dropout=0.3,
         decoder_input_shift=2),
], ids=["f-rae", "ft-rae", "t-rae-audeep-options"])
def test_resume_equals_uninterrupted_run(tmp_path, kw):
    x = np.tanh(np.random.default_rng(0).standard_normal((10, 7, 20))).astype(np.float32)
    cfg = AutoencoderConfig(num_features=20, num_layers=2, num_units=5, dropout=0.2,
                            freq_window_width=8, freq_window_overlap=4, num_f_units=4, **kw)
    tc = TrainingConfig(num_epochs=3, batch_size=4, seed=5, mask_silence=True)
    full = train(x, tmp_path / "full", cfg, tc, progress=False)

    class Stop(KeyboardInterrupt):
        pass

    def stop(epoch, loss):
        if epoch == 1:
            raise Stop()

    with pytest.raises(Stop):
        train(x, tmp_path / "cut", cfg, tc, progress=False, on_epoch_end=stop)
    torch.manual_seed(123)
    resumed = train(x, tmp_path / "cut", resume=True, progress=False)
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert full.losses == resumed.losses
    assert type(resumed.model).__name__ == {"f-rae": "FrequencyAutoencoder",
                                            "ft-rae": "FrequencyTimeAutoencoder"}.get(
        cfg.architecture, "RecurrentAutoencoder")
    assert load_checkpoint(resumed.checkpoint)["training_config"]["mask_silence"] is True


# ------------------------------------------------------------------- TensorFlow's GRU

def test_tfgru_is_tensorflows_formula():
    torch.manual_seed(0)
    m = TFGRU(3, 4)
    x = torch.randn(2, 5, 3)
    h0 = torch.randn(1, 2, 4)
    out, hn = m(x, h0)
    W, R = m.weight_ih_l0.detach().numpy(), m.weight_hh_l0.detach().numpy()
    bi, bh = m.bias_ih_l0.detach().numpy(), m.bias_hh_l0.detach().numpy()
    h = h0[0].numpy()

    def sig(v):
        return 1 / (1 + np.exp(-v))

    for t in range(5):
        xt = x[:, t].numpy()
        r = sig(xt @ W[:4].T + bi[:4] + h @ R[:4].T + bh[:4])
        z = sig(xt @ W[4:8].T + bi[4:8] + h @ R[4:8].T + bh[4:8])
        n = np.tanh(xt @ W[8:].T + bi[8:] + (r * h) @ R[8:].T + bh[8:])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(out[:, t].detach().numpy(), h, atol=1e-6)
    np.testing.assert_allclose(hn[0].detach().numpy(), h, atol=1e-6)
    # and it is not PyTorch's GRU with the same weights
    g = torch.nn.GRU(3, 4, batch_first=True)
    g.load_state_dict(m.state_dict())
    assert not torch.allclose(g(x, h0)[0], out, atol=1e-4)


def test_tfgru_padding_never_reaches_the_state():
    torch.manual_seed(0)
    m = build_autoencoder(AutoencoderConfig(num_features=5, num_units=4, num_layers=2,
                                            gru_variant="tensorflow",
                                            bidirectional_encoder=True)).eval()
    x = rand_x(3, 8, 5)
    x[0, 5:] = 0
    batch = m.encode(x, lengths=[5, 8, 8])
    alone = m.encode(x[:1, :5])
    torch.testing.assert_close(batch[:1], alone, rtol=0, atol=1e-6)


def test_tensorflow_initialisation_spans_the_concatenated_kernels():
    torch.manual_seed(0)
    m = build_autoencoder(AutoencoderConfig(num_features=64, num_units=256,
                                            gru_variant="tensorflow"))
    rnn = m.encoder[0][0]
    gates = torch.cat([rnn.weight_ih_l0[:512].flatten(), rnn.weight_hh_l0[:512].flatten()]).detach()
    limit = (6 / (64 + 256 + 512)) ** 0.5
    assert float(gates.abs().max()) <= limit and float(gates.abs().max()) > 0.95 * limit
    assert torch.equal(rnn.bias_ih_l0[:512], torch.ones(512))
    assert float(rnn.bias_ih_l0[512:].abs().max()) == 0.0


# ------------------------------------------------------------------- decoder options

def test_decoder_input_shift_two_is_audeeps_raw_rnn():
    y = torch.arange(1., 6.).view(1, 5, 1)
    fw, bw = teacher_inputs(y, None, 2, True)
    assert fw[0, :, 0].tolist() == [0, 0, 1, 2, 3]
    assert bw[0, :, 0].tolist() == [0, 4, 3, 2, 1]      # the backward direction is unchanged
    fw1, bw1 = teacher_inputs(y, None, 1, True)
    assert fw1[0, :, 0].tolist() == [0, 1, 2, 3, 4] and torch.equal(bw, bw1)
    assert teacher_inputs(y[:, :1], None, 2, False)[0].shape == (1, 1, 1)


@pytest.mark.parametrize("arch", ["t-rae", "f-rae", "ft-rae"])
def test_decoder_without_inputs_never_sees_the_targets(arch):
    m = family_model(arch, bi_dec=True, decoder_inputs="none")
    x = rand_x(2, 6, 20)
    rep = m.encode(x).detach()
    a = m.reconstruct_from(rep, x)
    b = m.reconstruct_from(rep, rand_x(2, 6, 20, seed=5))
    # the decoders read zeros: only the representation matters (ft-rae's time decoder still
    # needs nothing from x either)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_decoder_input_dropout_acts_in_training_only():
    m = family_model("t-rae", decoder_input_dropout=0.5, dropout=0.0)
    x = rand_x(4, 9, 20)
    with torch.no_grad():
        ev1, _ = m(x)
        ev2, _ = m(x)
        m.train()
        torch.manual_seed(1)
        tr1, _ = m(x)
        torch.manual_seed(2)
        tr2, _ = m(x)
    torch.testing.assert_close(ev1, ev2, rtol=0, atol=0)
    assert not torch.allclose(tr1, tr2)
    assert not torch.allclose(tr1, ev1)


def test_per_direction_projection_feeds_back_each_directions_own_output():
    """auDeep's FeedPreviousRNN: with feed_previous_prob=1 each direction of a bidirectional
    decoder reads its own previous projected output -- the decoder sees only the code."""
    m = family_model("t-rae", bi_dec=True, decoder_projection="per-direction")
    assert m.projection.in_features == 2 * 20
    x = rand_x(3, 7, 20).requires_grad_(True)
    rep = torch.tanh(torch.randn(3, m.config.representation_size))
    free = m.decode(rep, x, feed_previous_prob=1.0)
    (g,) = torch.autograd.grad(free.sum(), x)
    assert float(g.abs().max()) == 0.0
    recon, _ = m.reconstruct(x.detach(), free_running=True)
    assert recon.shape == (3, 7, 20)


def test_mask_silence_is_audeeps_loss():
    target = torch.tensor([[[-1.0, 0.5], [-1.0, -1.0]]])
    pred = torch.tensor([[[0.3, 0.1], [0.9, -1.0]]], requires_grad=True)
    loss = rmse(pred, target, mask_silence=True)
    # auDeep: tf.where(targets == -1, -1, reconstruction); the mean runs over all 4 values
    assert float(loss) == pytest.approx(((0.5 - 0.1) ** 2 / 4) ** 0.5)
    (g,) = torch.autograd.grad(loss, pred)
    assert float(g[0, 0, 0]) == 0.0 and float(g[0, 1, 0]) == 0.0 and float(g[0, 0, 1]) != 0
    assert float(rmse(pred, target)) > float(loss)


def test_ft_rae_padded_batch_equals_instances_alone():
    m = family_model("ft-rae", bi_enc=True, bi_dec=True)
    x = rand_x(3, 8, 20)
    x[1, 4:] = 0
    with torch.no_grad():
        recon, rep = m(x, lengths=[8, 4, 8])
        r_alone, rep_alone = m(x[1:2, :4])
    torch.testing.assert_close(rep[1:2], rep_alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(recon[1:2, :4], r_alone, rtol=0, atol=1e-5)
    assert float(recon[1, 4:].abs().max()) == 0.0


def test_build_autoencoder_and_classes_check_the_architecture():
    cfg = AutoencoderConfig(num_features=40, architecture="f-rae")
    with pytest.raises(ValueError, match="build_autoencoder"):
        RecurrentAutoencoder(cfg)
    with pytest.raises(ValueError, match="ft-rae"):
        FrequencyTimeAutoencoder(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(build_autoencoder(cfg), FrequencyAutoencoder)


@pytest.mark.parametrize("arch", ["t-rae", "ft-rae"])
@pytest.mark.parametrize("bi_enc", [False, True])
def test_pooled_encoder_states_match_onnx(arch, bi_enc, tmp_path):
    from rae_fast.model import export_encoder
    from rae_fast.model.onnx_export import read_verified_difference

    m = family_model(arch, bi_enc=bi_enc)
    x = rand_x(3, 9, 20)
    pooled = m.encode_pooled(x).detach()
    assert pooled.shape == (3, m.config.representation_size + m.pooled_size)
    torch.testing.assert_close(pooled[:, :m.config.representation_size], m.encode(x))
    sess = session(encoder_to_onnx(m, pool_states=True))
    np.testing.assert_allclose(sess.run(None, {"features": x.numpy()})[0], pooled.numpy(),
                               rtol=0, atol=TOL)
    # padding is left out of the average
    x[1, 5:] = 0
    batch = m.encode_pooled(x, lengths=[9, 5, 9]).detach()
    torch.testing.assert_close(batch[1:2], m.encode_pooled(x[1:2, :5]).detach(), rtol=0,
                               atol=1e-5)
    path = export_encoder(m, tmp_path / "e.onnx", verify=True, pool_states=True)
    assert read_verified_difference(path) < TOL
    with pytest.raises(ValueError, match="f-rae"):
        family_model("f-rae").encode_pooled(x)
