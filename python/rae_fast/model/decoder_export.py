"""The free-running decoder: representation -> reconstruction, without the input.

``autoencoder.onnx`` is teacher-forced (its decoder gets the expected previous frame at every
step), so it needs the spectrogram it reconstructs. Decoding a stored code needs the decoder
alone: it starts from the representation (split into its initial states, as in training) and
feeds back its own previous output at every step (``feed_previous_prob = 1``), which only a
unidirectional decoder can do; a bidirectional decoder's backward direction needs the
expected later frames (see ``docs/model.md``).

:func:`decoder_to_onnx` builds that decoder as an ONNX graph: inputs ``representation``
``(batch, R)`` float32 and ``num_steps`` (int64 scalar), output ``reconstruction``
``(batch, num_steps, F)`` in the input's time order. The steps are an ONNX ``Loop`` whose body
runs one ``GRU``/``LSTM`` step per layer (weights shared with the outer graph) and the output
projection. Metadata: ``rae_fast.kind = "decoder"``, the configuration, and
``rae_fast.encoder_sha256``, the content hash (``rae_fast.content_sha256``) of the encoder
exported from the same weights, so that codes are never decoded by another model's decoder.

>>> import torch
>>> from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder
>>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8, num_units=4)).eval()
>>> decode_free_running(m, m.encode(torch.zeros(2, 5, 8)), 5).shape
torch.Size([2, 5, 8])
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List, Optional, Union

import numpy as np
import torch

from .autoencoder import RecurrentAutoencoder
from .onnx_export import (_check_session, _finish, _frontend_of, _Graph, _np, _onnx, _resolve,
                          _rnn_weights, _save, _stamp, encoder_to_onnx)

__all__ = ["decode_free_running", "decoder_to_onnx", "export_decoder", "encoder_content_sha256",
           "can_run_free", "free_run_obstacle",
           "VERIFY_TOLERANCE"]

#: Largest |ONNX Runtime - PyTorch| accepted by ``export_decoder(verify=True)`` (as for the
#: encoder; free-running steps feed back their own rounding, observed about 2e-7).
VERIFY_TOLERANCE = 1e-4


def free_run_obstacle(model) -> Optional[str]:
    """Why this model's decoder cannot be exported to run from the representation alone, or
    None when it can: a bidirectional decoder needs the expected later frames; the export is
    written for t-rae with PyTorch's GRU (or an LSTM), a one-step input shift and one output
    projection (the options of auDeep's family are not part of this graph)."""
    c = model.config
    if c.bidirectional_decoder:
        return ("the decoder is bidirectional: it cannot run from the representation alone (its "
                "backward direction needs the expected later frames), so it cannot decode codes; "
                "train with a unidirectional decoder (without bidirectional_decoder) to decode")
    if not isinstance(model, RecurrentAutoencoder) or c.architecture != "t-rae":
        return (f"a free-running decoder is exported for t-rae only, not for "
                f"{c.architecture}")
    odd = [f"{k}={getattr(c, k)!r}" for k, v in (("gru_variant", "pytorch"),
                                                 ("decoder_input_shift", 1),
                                                 ("decoder_projection", "single"),
                                                 ("decoder_inputs", "targets"))
           if getattr(c, k) != v]
    if odd:
        return ("a free-running decoder is exported for t-rae with the default decoder and GRU "
                f"options only, not with {', '.join(odd)}")
    return None


def can_run_free(model: RecurrentAutoencoder) -> bool:
    """Whether the decoder can be exported to run from the representation alone
    (:func:`free_run_obstacle` is None)."""
    return free_run_obstacle(model) is None


def _check_free(model) -> RecurrentAutoencoder:
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise TypeError(f"model must be a RecurrentAutoencoder, got {type(model).__name__}")
    why = free_run_obstacle(model)
    if why is not None:
        raise ValueError(why)
    return model


@torch.no_grad()
def decode_free_running(model: RecurrentAutoencoder, representation, num_steps: int
                        ) -> torch.Tensor:
    """What the decoder makes of ``representation`` ``(batch, R)`` alone: ``(batch,
    num_steps, F)`` in the input's time order (the decoder produces the sequence reversed).

    The same computation as ``model.reconstruct(x, free_running=True)`` once ``x`` is
    encoded, in evaluation mode (no dropout); the model's mode is restored afterwards.
    """
    model = _check_free(model)
    cfg = model.config
    rep = torch.as_tensor(np.asarray(representation, dtype=np.float32)
                          if not isinstance(representation, torch.Tensor) else representation,
                          dtype=torch.float32).to(model.fc.weight.device)
    if rep.dim() != 2 or rep.shape[1] != cfg.representation_size:
        raise ValueError(f"representation must have shape (batch, {cfg.representation_size}), "
                         f"got {tuple(rep.shape)}")
    if not bool(torch.isfinite(rep).all()):
        raise ValueError("representation contains NaN or Inf")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) \
            or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    was_training = model.training
    model.eval()
    try:
        states = list(model.split_state(rep)[0])
        prev = rep.new_zeros(rep.shape[0], cfg.num_features)
        outs = []
        for _ in range(int(num_steps)):
            h = prev.unsqueeze(1)
            for layer, rnn in enumerate(model.decoder[0]):
                h, states[layer] = rnn(h, states[layer])
            prev = torch.tanh(model.projection(h[:, 0]))
            outs.append(prev)
        return torch.flip(torch.stack(outs, dim=1), dims=(1,))
    finally:
        model.train(was_training)


def encoder_content_sha256(model: RecurrentAutoencoder) -> str:
    """``rae_fast.content_sha256`` of the encoder that :func:`export_encoder` writes for these
    weights (default ``method="graph"``): what codes made with it record."""
    proto = encoder_to_onnx(model)
    return hashlib.sha256(proto.graph.SerializeToString(deterministic=True)).hexdigest()


def decoder_to_onnx(model: RecurrentAutoencoder):
    """The free-running decoder as an ``onnx.ModelProto`` (see the module docstring)."""
    model = _check_free(model)
    _onnx()
    from onnx import TensorProto, helper

    cfg = model.config
    H, F, L = cfg.num_units, cfg.num_features, cfg.num_layers
    lstm = cfg.cell == "lstm"
    g = _Graph()
    axis0 = g.const([0], "axis0", np.int64)
    axis1 = g.const([1], "axis1", np.int64)
    # initial states: the representation split as auDeep splits it (layer-major; c then h)
    init: List[List[str]] = []
    k = 0
    for layer in range(L):
        pieces = []
        for _ in range(cfg.state_pieces):
            sl = g.op1("Slice", ["representation", g.const([k * H], "s", np.int64),
                                 g.const([(k + 1) * H], "e", np.int64), axis1])
            pieces.append(g.op1("Unsqueeze", [sl, axis0], base=f"init_l{layer}"))
            k += 1
        init.append(pieces if not lstm else [pieces[1], pieces[0]])   # ONNX: (h, c)
    shape = g.op1("Shape", ["representation"])
    batch = g.op1("Slice", [shape, g.const([0], "s", np.int64), g.const([1], "e", np.int64)])
    zshape = g.op1("Concat", [batch, g.const([F], "F", np.int64)], axis=0)
    prev0 = g.op1("ConstantOfShape", [zshape],
                  value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]), base="prev0")
    # weights live in the outer graph; the loop body refers to them by name
    weights = []
    for layer, rnn in enumerate(model.decoder[0]):
        W, R, B = _rnn_weights(rnn, cfg.cell)
        weights.append((g.const(W, f"dec_l{layer}_W"), g.const(R, f"dec_l{layer}_R"),
                        g.const(B, f"dec_l{layer}_B")))
    proj_w = g.const(_np(model.projection.weight).T, "proj_W")
    proj_b = g.const(_np(model.projection.bias), "proj_b")

    body = _Graph()
    per_layer = 2 if lstm else 1
    state_in = [f"state_in_{i}" for i in range(L * per_layer)]
    x = body.op1("Unsqueeze", ["prev_in", axis0], base="x")
    state_out: List[str] = []
    for layer in range(L):
        W, R, B = weights[layer]
        ins = [x, W, R, B, "", state_in[layer * per_layer]]
        y = body.name(f"l{layer}_Y")
        yh = body.name(f"l{layer}_Yh")
        if lstm:
            yc = body.name(f"l{layer}_Yc")
            ins.append(state_in[layer * per_layer + 1])
            body.op("LSTM", ins, outputs=[y, yh, yc], hidden_size=H, direction="forward")
            state_out += [yh, yc]
        else:
            body.op("GRU", ins, outputs=[y, yh], hidden_size=H, direction="forward",
                    linear_before_reset=1)
            state_out.append(yh)
        x = body.op1("Squeeze", [y, axis1], base=f"l{layer}_out")          # (1, B, H)
    top = body.op1("Squeeze", [x, axis0], base="top")                       # (B, H)
    out = body.op1("Tanh", [body.op1("Add", [body.op1("MatMul", [top, proj_w]), proj_b])],
                   base="frame")
    body.op("Identity", ["cond_in"], outputs=["cond_out"])
    outs_carried = [body.op1("Identity", [s], base="state_out") for s in state_out]
    prev_out = body.op1("Identity", [out], base="prev_out")
    frame_out = body.op1("Identity", [out], base="frame_out")
    fl = TensorProto.FLOAT
    body_inputs = ([helper.make_tensor_value_info("iter", TensorProto.INT64, []),
                    helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])]
                   + [helper.make_tensor_value_info(s, fl, [1, "batch", H]) for s in state_in]
                   + [helper.make_tensor_value_info("prev_in", fl, ["batch", F])])
    body_outputs = ([helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])]
                    + [helper.make_tensor_value_info(s, fl, [1, "batch", H])
                       for s in outs_carried]
                    + [helper.make_tensor_value_info(prev_out, fl, ["batch", F]),
                       helper.make_tensor_value_info(frame_out, fl, ["batch", F])])
    body_graph = helper.make_graph(body.nodes, "decoder_step", body_inputs, body_outputs)
    carried = [p for pieces in init for p in pieces] + [prev0]
    n_carried = len(carried)
    loop_out = g.op("Loop", ["num_steps", ""] + carried, n_out=n_carried + 1, base="loop",
                    body=body_graph)
    frames_rev = loop_out[-1]                                       # (T, B, F), reversed time
    frames = g.op1("Slice", [frames_rev, g.const([-1], "start", np.int64),
                             g.const([-np.iinfo(np.int64).max], "end", np.int64),
                             axis0, g.const([-1], "steps", np.int64)], base="recon_tbf")
    g.op("Transpose", [frames], outputs=["reconstruction"], perm=[1, 0, 2])
    inputs = [helper.make_tensor_value_info("representation", fl,
                                            ["batch", cfg.representation_size]),
              helper.make_tensor_value_info("num_steps", TensorProto.INT64, [])]
    outputs = [helper.make_tensor_value_info("reconstruction", fl, ["batch", "time", F])]
    m = _finish(g, inputs, outputs, model, "decoder", "graph")
    m.doc_string = (f"rae_fast decoder (free-running): inputs representation (batch, "
                    f"{cfg.representation_size}) float32 and num_steps (int64 scalar); output "
                    f"reconstruction (batch, num_steps, {F}) in the input's time order")
    m.metadata_props.add(key="rae_fast.encoder_sha256", value=encoder_content_sha256(model))
    return m


def _max_difference(model: RecurrentAutoencoder, path: Path) -> Optional[float]:
    """Max |ORT - torch| of the free-running decoder on random representations."""
    sess = _check_session(path)
    if sess is None:
        return None
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, steps in ((1, 7), (3, 31)):
        rep = rng.uniform(-1, 1, (batch, model.config.representation_size)).astype(np.float32)
        ref = decode_free_running(model, rep, steps).cpu().numpy()
        got = sess.run(["reconstruction"], {"representation": rep,
                                            "num_steps": np.array(steps, np.int64)})[0]
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


def export_decoder(model: Union[RecurrentAutoencoder, str, Path], path, epoch: Optional[int] = None,
                   verify: bool = False, frontend=None) -> Path:
    """Write the free-running decoder to ``path`` (one ``.onnx`` file, atomically).

    ``model``, ``epoch`` and ``frontend`` as for :func:`export_encoder`. A bidirectional
    decoder raises ``ValueError`` (it cannot run free). With ``verify`` the file is run with
    ONNX Runtime on random representations and compared with :func:`decode_free_running`
    before it appears (more than :data:`VERIFY_TOLERANCE` apart: ``ValueError``, nothing
    written).

    >>> export_decoder("run", "run/decoder.onnx", verify=True)      # doctest: +SKIP
    PosixPath('run/decoder.onnx')
    """
    m = _resolve(model, epoch)
    proto = decoder_to_onnx(m)
    _stamp(proto, _frontend_of(model, frontend))
    return _save(proto, path, kind="decoder", verify=verify,
                 difference=lambda tmp: _max_difference(m, tmp))
