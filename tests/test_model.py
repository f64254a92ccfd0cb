"""The recurrent autoencoder (rae_fast.model.autoencoder): shapes, state layout, decoder inputs,
causality, variable-length invariance, dropout / noise placement, validation."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rae_fast.model import (AutoencoderConfig, RecurrentAutoencoder, reverse_padded,  # noqa: E402
                            rmse)
from rae_fast.model.autoencoder import check_lengths  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


COMBOS = list(itertools.product(["gru", "lstm"], [1, 2], [False, True], [False, True]))
COMBO_IDS = [f"{c}-L{l}-{'bi' if e else 'uni'}enc-{'bi' if d else 'uni'}dec"
             for c, l, e, d in COMBOS]


def make(cell="gru", layers=1, bi_enc=False, bi_dec=False, F=6, H=5, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = AutoencoderConfig(num_features=F, num_layers=layers, num_units=H, cell=cell,
                            bidirectional_encoder=bi_enc, bidirectional_decoder=bi_dec, **kw)
    return RecurrentAutoencoder(cfg)


def rand_x(b, t, f, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, f, generator=g) * 2 - 1


# ------------------------------------------------------------------------------ shapes

@pytest.mark.parametrize("cell,layers,bi_enc,bi_dec", COMBOS, ids=COMBO_IDS)
def test_shapes_and_state_sizes(cell, layers, bi_enc, bi_dec):
    F, H = 6, 5
    m = make(cell, layers, bi_enc, bi_dec, F, H).eval()
    c = m.config
    pieces = 2 if cell == "lstm" else 1
    assert c.encoder_state_size == layers * H * pieces * (2 if bi_enc else 1)
    assert c.decoder_state_size == layers * H * pieces * (2 if bi_dec else 1)
    assert c.representation_size == c.decoder_state_size
    assert len(m.encoder) == (2 if bi_enc else 1) and len(m.decoder) == (2 if bi_dec else 1)
    for stack in list(m.encoder) + list(m.decoder):
        assert len(stack) == layers
        for l, rnn in enumerate(stack):
            assert isinstance(rnn, torch.nn.GRU if cell == "gru" else torch.nn.LSTM)
            assert rnn.num_layers == 1 and not rnn.bidirectional
            assert rnn.input_size == (F if l == 0 else H) and rnn.hidden_size == H
    assert (m.fc.in_features, m.fc.out_features) == (c.encoder_state_size, c.decoder_state_size)
    assert (m.projection.in_features, m.projection.out_features) == \
        (H * (2 if bi_dec else 1), F)
    for b, t in [(1, 1), (3, 7), (4, 13)]:
        x = rand_x(b, t, F)
        with torch.no_grad():
            rep = m.encode(x)
            recon, rep2 = m(x)
        assert rep.shape == (b, c.representation_size) and rep.dtype == torch.float32
        assert recon.shape == (b, t, F)
        torch.testing.assert_close(rep, rep2, rtol=0, atol=0)
        assert float(rep.abs().max()) <= 1 and float(recon.abs().max()) <= 1
        init = m.split_state(rep)
        assert len(init) == len(m.decoder) and all(len(d) == layers for d in init)
        for d in init:
            for s in d:
                for piece in (s if cell == "lstm" else (s,)):
                    assert piece.shape == (1, b, H)


def test_paper_configuration_sizes():
    cfg = AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
                            bidirectional_decoder=True)
    assert (cfg.encoder_state_size, cfg.representation_size) == (512, 1024)
    m = RecurrentAutoencoder(cfg)
    # 2 encoder GRU layers, fc, 2x2 decoder GRU layers, projection
    expected = (3 * 256 * (128 + 256 + 2) + 3 * 256 * (256 + 256 + 2)) * 3 \
        + 512 * 1024 + 1024 + 512 * 128 + 128
    assert m.num_parameters() == expected


# ------------------------------------------------------------------------ state layout

def _manual_stack(stack, x, reverse, init=None):
    """Reference: run single-layer RNNs one after another (eval mode, no dropout)."""
    cur = torch.flip(x, (1,)) if reverse else x
    finals = []
    for l, rnn in enumerate(stack):
        cur, st = rnn(cur, None if init is None else init[l])
        finals.append(st)
    return (torch.flip(cur, (1,)) if reverse else cur), finals


@pytest.mark.parametrize("cell,layers,bi_enc,bi_dec", COMBOS, ids=COMBO_IDS)
def test_state_order_is_audeeps(cell, layers, bi_enc, bi_dec):
    """fc input = [layer0: fw(c,h), bw(c,h), layer1: ...]; the decoder gets the inverse split."""
    m = make(cell, layers, bi_enc, bi_dec).eval()
    x = rand_x(3, 9, 6)
    seen = {}
    m.fc.register_forward_pre_hook(lambda mod, inp: seen.__setitem__("fc_in", inp[0].clone()))
    h0_seen = {}
    for d, stack in enumerate(m.decoder):
        for l, rnn in enumerate(stack):
            rnn.register_forward_pre_hook(
                lambda mod, inp, d=d, l=l: h0_seen.__setitem__((d, l), inp[1]))
    with torch.no_grad():
        _, rep = m(x)
        per_dir = [_manual_stack(s, x, reverse=(d == 1))[1] for d, s in enumerate(m.encoder)]
    expected = []
    for l in range(layers):
        for d in range(len(m.encoder)):
            st = per_dir[d][l]
            expected += [st[1][0], st[0][0]] if cell == "lstm" else [st[0]]
    torch.testing.assert_close(seen["fc_in"], torch.cat(expected, 1), rtol=0, atol=1e-7)
    # decoder initial states: consecutive num_units slices of the representation, same order
    H = m.config.num_units
    k = 0
    for l in range(layers):
        for d in range(len(m.decoder)):
            h0 = h0_seen[(d, l)]
            if cell == "lstm":
                h, c = h0
                torch.testing.assert_close(c[0], rep[:, k * H:(k + 1) * H], rtol=0, atol=0)
                torch.testing.assert_close(h[0], rep[:, (k + 1) * H:(k + 2) * H], rtol=0, atol=0)
                k += 2
            else:
                torch.testing.assert_close(h0[0], rep[:, k * H:(k + 1) * H], rtol=0, atol=0)
                k += 1
    assert k * H == rep.shape[1]


# --------------------------------------------------------------------- decoder inputs

@pytest.mark.parametrize("bi_dec", [False, True])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_decoder_sees_reversed_shifted_target(cell, bi_dec):
    m = make(cell, 2, False, bi_dec, dropout=0.0).eval()
    x = rand_x(4, 8, 6)
    seen = {}
    for d, stack in enumerate(m.decoder):
        stack[0].register_forward_pre_hook(
            lambda mod, inp, d=d: seen.__setitem__(d, inp[0].clone()))
    proj_in = {}
    m.projection.register_forward_pre_hook(lambda mod, inp: proj_in.__setitem__(0, inp[0]))
    with torch.no_grad():
        recon, rep = m(x)
    target = torch.flip(x, (1,))                    # the decoder reconstructs x reversed
    zero = torch.zeros(4, 1, 6)
    torch.testing.assert_close(seen[0], torch.cat([zero, target[:, :-1]], 1), rtol=0, atol=0)
    if bi_dec:
        # the backward stack (auDeep's layout) consumes the forward inputs reversed and
        # shifted by one step, [0, y[T-2], ..., y[0]] = [0, x[1], ..., x[T-1]], in that order
        torch.testing.assert_close(seen[1], torch.cat([zero, x[:, 1:]], 1), rtol=0, atol=0)
        torch.testing.assert_close(seen[1], torch.cat([zero, torch.flip(seen[0], (1,))[:, :-1]],
                                                      1), rtol=0, atol=0)
    # the projection output, in decoder order, flipped back gives the returned reconstruction
    with torch.no_grad():
        out = torch.tanh(m.projection(proj_in[0]))
    torch.testing.assert_close(recon, torch.flip(out, (1,)), rtol=0, atol=0)
    torch.testing.assert_close(m.loss(x), rmse(torch.flip(out, (1,)), x))


@pytest.mark.parametrize("cell,bi_dec", [("gru", False), ("gru", True), ("lstm", True)])
def test_decoder_dependencies_follow_audeeps_layout(cell, bi_dec):
    """d out[t] / d target[s]: forward direction exactly s < t; auDeep's backward direction
    (not re-aligned) exactly T-1-t <= s <= T-2, so the first half of the output sees neither
    the frame it predicts nor the one after it (no neighbour interpolation)."""
    m = make(cell, 2, False, bi_dec).eval()
    T = 6
    targets = rand_x(2, T, 6).requires_grad_(True)
    rep = torch.tanh(torch.randn(2, m.config.representation_size))
    out = m.decode(rep, targets)
    for t in range(T):
        (g,) = torch.autograd.grad(out[:, t].sum(), targets, retain_graph=True)
        dep = g.abs().sum(dim=(0, 2)) > 0
        expect = torch.zeros(T, dtype=torch.bool)
        expect[:t] = True
        if bi_dec:
            expect[T - 1 - t:T - 1] = True
        assert torch.equal(dep, expect), (t, dep, expect)
        if t < (T - 2) / 2:
            assert not dep[t] and not dep[t + 1]


def test_free_running_decoder_ignores_targets_and_loop_matches_teacher_path():
    m = make("gru", 2, True, False).eval()
    targets = rand_x(3, 7, 6).requires_grad_(True)
    rep = torch.tanh(torch.randn(3, m.config.representation_size))
    free = m.decode(rep, targets, feed_previous_prob=1.0)
    (g,) = torch.autograd.grad(free.sum(), targets)
    assert float(g.abs().max()) == 0.0
    # the step-by-step loop is the same network as the teacher-forced path
    with torch.no_grad():
        teacher = m.decode(rep, targets)
        loop = m._decode_feed_previous(m.split_state(rep), targets.detach(), prob=0.0)
    torch.testing.assert_close(loop, teacher, rtol=0, atol=2e-6)
    # free running = feeding back its own output: the first decoder layer's input at step t,
    # captured by a hook, is exactly the decoder's output at t-1 (zeros at t=0), never a target
    fed = torch.cat([torch.zeros(3, 1, 6), free.detach()[:, :-1]], 1)
    seen = []
    hook = m.decoder[0][0].register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().clone()))
    try:
        with torch.no_grad():
            free2 = m.decode(rep, targets.detach(), feed_previous_prob=1.0)
    finally:
        hook.remove()
    assert len(seen) == 7 and all(s.shape == (3, 1, 6) for s in seen)   # one call per step
    torch.testing.assert_close(free2, free.detach(), rtol=0, atol=0)
    torch.testing.assert_close(torch.cat(seen, 1), fed, rtol=0, atol=0)
    assert not torch.allclose(fed[:, 1:], targets.detach()[:, :-1])
    # and teacher forcing on its own outputs reproduces them (same inputs, same network)
    with torch.no_grad():
        again = m.decode(rep, free.detach(), feed_previous_prob=0.0)
    torch.testing.assert_close(m.decoder_inputs(free.detach())[0], fed, rtol=0, atol=0)
    torch.testing.assert_close(again, free.detach(), rtol=0, atol=2e-6)


def test_feed_previous_mixes_inputs_in_training():
    m = make("gru", 1, False, False, feed_previous_prob=0.5, dropout=0.0).train()
    x = rand_x(8, 20, 6)
    torch.manual_seed(3)
    a, _ = m(x)
    torch.manual_seed(3)
    b, _ = m(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)         # reproducible under a seed
    with torch.no_grad():
        teacher, _ = m(x, feed_previous_prob=0.0)
        free, _ = m(x, feed_previous_prob=1.0)
    assert not torch.allclose(a, teacher) and not torch.allclose(a, free)
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x)[0], teacher, rtol=0, atol=0)  # eval: no feeding


# -------------------------------------------------------------------- variable length

@pytest.mark.parametrize("cell,layers,bi_enc,bi_dec",
                         [c for c in COMBOS if c[1] == 2], ids=[i for c, i in zip(COMBOS, COMBO_IDS)
                                                                if c[1] == 2])
def test_padded_batch_gives_each_instance_its_own_result(cell, layers, bi_enc, bi_dec):
    """Tolerance 1e-5 (observed ~1e-7): packing only changes float summation order."""
    m = make(cell, layers, bi_enc, bi_dec).eval()
    rng = np.random.default_rng(5)
    lengths = [int(v) for v in rng.integers(1, 15, size=6)] + [15]
    T = max(lengths)
    x = torch.full((len(lengths), T, 6), 0.77)             # padding value must not matter
    singles = []
    for i, n in enumerate(lengths):
        xi = rand_x(1, n, 6, seed=10 + i)
        x[i, :n] = xi[0]
        singles.append(xi)
    with torch.no_grad():
        rep = m.encode(x, lengths)
        recon, rep2 = m(x, lengths)
        x0 = x.clone()
        for i, n in enumerate(lengths):
            x0[i, n:] = 0
        rep0 = m.encode(x0, torch.tensor(lengths))
        for i, n in enumerate(lengths):
            r_alone, rep_alone = m(singles[i])
            torch.testing.assert_close(rep[i], m.encode(singles[i])[0], rtol=0, atol=1e-5)
            torch.testing.assert_close(rep2[i], rep_alone[0], rtol=0, atol=1e-5)
            torch.testing.assert_close(recon[i, :n], r_alone[0], rtol=0, atol=1e-5)
            assert float(recon[i, n:].abs().sum()) == 0.0
    torch.testing.assert_close(rep, rep0, rtol=0, atol=0)
    # the masked loss equals the RMSE over the valid frames only
    with torch.no_grad():
        loss = m.loss(x, lengths)
        sq = sum(float(((recon[i, :n] - x[i, :n]) ** 2).sum()) for i, n in enumerate(lengths))
    assert abs(float(loss) - (sq / (sum(lengths) * 6)) ** 0.5) < 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_reverse_padded_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    b, t = rng.integers(1, 6), rng.integers(1, 9)
    x = rng.standard_normal((b, t, 3)).astype(np.float32)
    lengths = rng.integers(1, t + 1, size=b)
    ref = x.copy()
    for i, n in enumerate(lengths):
        ref[i, :n] = x[i, :n][::-1]
    got = reverse_padded(torch.from_numpy(x), torch.from_numpy(lengths))
    np.testing.assert_array_equal(got.numpy(), ref)
    np.testing.assert_array_equal(reverse_padded(torch.from_numpy(x), None).numpy(), x[:, ::-1])


def test_rmse_matches_numpy():
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 1), (3, 5, 7), (8, 20, 4)]:
        a, b = rng.standard_normal(shape), rng.standard_normal(shape)
        got = rmse(torch.from_numpy(a), torch.from_numpy(b))
        assert abs(float(got) - np.sqrt(np.mean((a - b) ** 2))) < 1e-12
    with pytest.raises(ValueError, match="same shape"):
        rmse(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5))


# -------------------------------------------------------------- dropout and noise

@pytest.mark.parametrize("bi_enc,bi_dec", [(False, False), (True, True)])
def test_dropout_on_layer_inputs_and_outputs_not_on_states(bi_enc, bi_dec):
    m = make("lstm", 2, bi_enc, bi_dec, dropout=0.5).train()
    calls = []
    m.dropout.register_forward_hook(lambda mod, inp, out: calls.append(  # dropped fraction
        float(((out == 0) & (inp[0] != 0)).float().sum() / (inp[0] != 0).float().sum())))
    h0_seen = []
    m.decoder[0][0].register_forward_pre_hook(lambda mod, inp: h0_seen.append(inp[1]))
    x = rand_x(16, 30, 6)
    recon, rep = m(x)
    n_dirs = len(m.encoder) + len(m.decoder)
    assert len(calls) == 2 * 2 * n_dirs            # input + output of every layer of every stack
    assert 0.35 < float(np.mean(calls)) < 0.65     # the masks really drop about p = 0.5
    h, c = h0_seen[0]                              # initial states: the representation, undropped
    H = m.config.num_units
    torch.testing.assert_close(c[0], rep[:, :H], rtol=0, atol=0)
    torch.testing.assert_close(h[0], rep[:, H:2 * H], rtol=0, atol=0)
    m.eval()
    calls.clear()
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(calls) == 2 * (2 * 2 * n_dirs) and max(calls) == 0.0  # two forward passes


def test_encoder_noise_zeroes_whole_time_steps_in_training_only():
    m = make("gru", 1, False, False, dropout=0.0, encoder_noise=0.5).train()
    seen = []
    m.encoder[0][0].register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].clone()))
    x = rand_x(20, 25, 6) * 0.5 + 0.6               # no exact zeros in the input
    m.encode(x)
    got = seen[-1]
    zero_steps = (got == 0).all(dim=2)
    kept = (got == x).all(dim=2)
    assert bool((zero_steps | kept).all())          # whole steps: all features or none
    assert 0.35 < float(zero_steps.float().mean()) < 0.65
    m.eval()
    m.encode(x)
    torch.testing.assert_close(seen[-1], x, rtol=0, atol=0)


# ------------------------------------------------------------------------ validation

def test_input_validation_names_the_parameter():
    m = make().eval()
    with pytest.raises(TypeError, match="x must be a floating-point"):
        m.encode(torch.zeros(2, 3, 6, dtype=torch.int64))
    with pytest.raises(TypeError, match="floating-point array"):
        m.encode(np.zeros((2, 3, 6), np.int16))
    with pytest.raises(TypeError, match="torch.Tensor or numpy"):
        m.encode([[[0.0] * 6]])
    with pytest.raises(ValueError, match="3-D"):
        m.encode(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="num_features"):
        m.encode(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="empty"):
        m.encode(torch.zeros(0, 3, 6))
    with pytest.raises(ValueError, match="empty"):
        m.encode(torch.zeros(2, 0, 6))
    bad = torch.zeros(2, 3, 6)
    bad[1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        m.encode(bad)
    bad[1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(bad)
    with pytest.raises(ValueError, match="lengths must be in"):
        m.encode(torch.zeros(2, 3, 6), lengths=[0, 3])
    with pytest.raises(ValueError, match="lengths must be in"):
        m.encode(torch.zeros(2, 3, 6), lengths=[4, 3])
    with pytest.raises(ValueError, match="one entry per instance"):
        m.encode(torch.zeros(2, 3, 6), lengths=[3])
    with pytest.raises(TypeError, match="lengths must be integers"):
        m.encode(torch.zeros(2, 3, 6), lengths=[2.5, 3.0])
    with pytest.raises(ValueError, match="representation must have shape"):
        m.decode(torch.zeros(2, 7), torch.zeros(2, 3, 6))
    with pytest.raises(ValueError, match="state must have shape"):
        m.split_state(torch.zeros(2, 3))
    assert check_lengths(np.array([3, 3]), 2, 3) is None
    # numpy float64 input is accepted and converted
    assert m.encode(np.zeros((1, 2, 6))).dtype == torch.float32


def test_config_validation():
    with pytest.raises(ValueError, match="num_layers"):
        AutoencoderConfig(num_features=4, num_layers=0)
    with pytest.raises(TypeError, match="num_units"):
        AutoencoderConfig(num_features=4, num_units=2.0)
    with pytest.raises(TypeError, match="num_features"):
        AutoencoderConfig(num_features=True)
    with pytest.raises(ValueError, match="cell"):
        AutoencoderConfig(num_features=4, cell="rnn")
    with pytest.raises(ValueError, match="dropout"):
        AutoencoderConfig(num_features=4, dropout=1.0)
    with pytest.raises(ValueError, match="encoder_noise"):
        AutoencoderConfig(num_features=4, encoder_noise=-0.1)
    with pytest.raises(ValueError, match="feed_previous_prob"):
        AutoencoderConfig(num_features=4, feed_previous_prob=1.5)
    with pytest.raises(ValueError, match="bidirectional decoder"):
        AutoencoderConfig(num_features=4, feed_previous_prob=0.5, bidirectional_decoder=True)
    with pytest.raises(TypeError, match="bidirectional_encoder"):
        AutoencoderConfig(num_features=4, bidirectional_encoder=1)
    with pytest.raises(ValueError, match="unknown AutoencoderConfig"):
        AutoencoderConfig.from_dict({"num_features": 4, "units": 3})
    with pytest.raises(TypeError, match="AutoencoderConfig"):
        RecurrentAutoencoder({"num_features": 4})
    cfg = AutoencoderConfig(num_features=4, cell="LSTM")
    assert cfg.cell == "lstm" and AutoencoderConfig.from_dict(cfg.to_dict()) == cfg
    m = make("gru", 1, False, True)
    with pytest.raises(ValueError, match="unidirectional decoder"):
        m.decode(torch.zeros(1, 10), torch.zeros(1, 3, 6), feed_previous_prob=0.5)
