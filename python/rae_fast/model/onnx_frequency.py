"""ONNX graphs of f-rae and ft-rae (see :mod:`rae_fast.model.frequency`).

The frequency windows of every frame become the sequence axis of ONNX ``GRU`` / ``LSTM``
operators (``(N, batch * time, W)``); ft-rae's time part runs over ``(time, batch, S)``. The
graphs end in the outputs ``representation`` (f-rae ``(batch, time, R)``, ft-rae ``(batch,
R)``) and, for the autoencoder, ``reconstruction`` ``(batch, time, F)`` (teacher-forced, as
in training). Called by :func:`rae_fast.model.onnx_export.encoder_to_onnx` and
:func:`~rae_fast.model.onnx_export.autoencoder_to_onnx`.
"""
from __future__ import annotations

from .onnx_graph import (Graph, concat_finals, decoder_graph, frame_output, linear, np_,
                         pooled_output, reverse_axis, split_init, stack_graph)

__all__ = ["frequency_graph"]


def _windows(g: Graph, flat: str, config, tag: str) -> str:
    """``flat`` ``(M, F)`` -> the frequency windows ``(N, M, W)``."""
    W, step = config.freq_window_width, config.freq_window_width - config.freq_window_overlap
    axis1, axis0 = g.ints([1], "axis1"), g.ints([0], "axis0")
    parts = []
    for k in range(config.num_windows):
        sl = g.op1("Slice", [flat, g.ints([k * step], "s"), g.ints([k * step + W], "e"), axis1])
        parts.append(g.op1("Unsqueeze", [sl, axis0]))
    return g.op1("Concat", parts, axis=0, base=tag) if len(parts) > 1 else parts[0]


def _flat_frames(g: Graph, x: str, F: int, tag: str) -> str:
    """``(B, T, F)`` -> ``(B * T, F)``."""
    return g.op1("Reshape", [x, g.ints([-1, F], "shape")], base=tag)


def _batch_time(g: Graph) -> str:
    """``[B, T]`` of the input, as an int64 tensor."""
    shape = g.op1("Shape", ["features"])
    return g.op1("Slice", [shape, g.ints([0], "s"), g.ints([2], "e")], base="batch_time")


def _restore(g: Graph, flat: str, last: int, tag: str) -> str:
    """``(B * T, last)`` -> ``(B, T, last)``."""
    shape = g.op1("Concat", [_batch_time(g), g.ints([last], "last")], axis=0)
    return g.op1("Reshape", [flat, shape], base=tag)


def _encode_windows(g: Graph, stacks, cell: str, windows: str, num_layers: int, tag: str
                    ) -> str:
    """Final states ``(M, size)`` of a frequency encoder reading ``windows`` ``(N, M, W)``."""
    per_dir = [stack_graph(g, stack, cell, windows, d == 1, f"{tag}_d{d}", need_y=False)[1]
               for d, stack in enumerate(stacks)]
    return concat_finals(g, per_dir, num_layers, f"{tag}_state")


def _fc(g: Graph, x: str, lin, tag: str) -> str:
    return g.op1("Gemm", [x, g.const(np_(lin.weight), f"{tag}_W"),
                          g.const(np_(lin.bias), f"{tag}_b")], transB=1, base=tag)


def _decode_windows(g: Graph, model, stacks, projections, out_proj, source_windows: str,
                    init, layers: int, tag: str) -> str:
    """A frequency decoder over teacher windows ``(N, M, W)``; returns ``(M, F)`` reversed in
    frequency (what auDeep's decoders reconstruct)."""
    cfg = model.config
    if cfg.decoder_inputs == "none":
        source_windows = g.zeros_like(source_windows)
    outs = decoder_graph(g, stacks, projections, cfg.cell, source_windows,
                         cfg.decoder_input_shift, init, tag)
    cat = g.op1("Concat", outs, axis=2) if len(outs) > 1 else outs[0]      # (N, M, dirs*W)
    per_frame = g.op1("Transpose", [cat], perm=[1, 0, 2])                   # (M, N, dirs*W)
    width = cfg.num_windows * len(stacks) * cfg.freq_window_width
    flat = g.op1("Reshape", [per_frame, g.ints([-1, width], "shape")])
    return g.op1("Tanh", [_fc(g, flat, out_proj, f"{tag}_proj")], base=f"{tag}_recon")


def _f_rae(g: Graph, model, with_decoder: bool, frames: bool = False) -> None:
    cfg = model.config
    F, R = cfg.num_features, cfg.decoder_state_size
    flat = _flat_frames(g, "features", F, "frames")
    windows = _windows(g, flat, cfg, "windows")
    state = _encode_windows(g, model.encoder, cfg.cell, windows, cfg.num_layers, "enc")
    rep_flat = g.op1("Tanh", [_fc(g, state, model.fc, "fc")], base="rep_flat")
    g.op("Reshape", [rep_flat, g.op1("Concat", [_batch_time(g), g.ints([R], "r")], axis=0)],
         outputs=["representation"])
    if frames:     # f-rae's per-frame representation is its per-frame output
        g.op("Identity", ["representation"], outputs=["frame_features"])
    if not with_decoder:
        return
    init = split_init(g, rep_flat, cfg.num_layers, cfg.num_units, cfg.decoder_directions,
                      cfg.cell, "dec")
    source = reverse_axis(g, windows, 0, "dec_source")         # windows in reverse order
    recon = _decode_windows(g, model, model.decoder, model.direction_projections,
                            model.projection, source, init, cfg.num_layers, "dec")
    recon = reverse_axis(g, recon, 1, "recon_flat")               # back to input frequencies
    g.op("Reshape", [recon, g.op1("Shape", ["features"])], outputs=["reconstruction"])


def _ft_rae(g: Graph, model, with_decoder: bool, pool_states: bool = False,
            frames: bool = False) -> None:
    cfg = model.config
    F, S = cfg.num_features, cfg.f_encoder_state_size
    flat = _flat_frames(g, "features", F, "frames")
    windows = _windows(g, flat, cfg, "windows")
    f_state = _encode_windows(g, model.f_encoder, cfg.cell, windows, cfg.num_f_layers, "fenc")
    states_btS = _restore(g, f_state, S, "frame_states")                # (B, T, S)
    states = g.op1("Transpose", [states_btS], perm=[1, 0, 2], base="frame_states_tbs")
    runs = [stack_graph(g, stack, cfg.cell, states, d == 1, f"tenc_d{d}",
                        need_y=pool_states or frames)
            for d, stack in enumerate(model.encoder)]
    t_state = concat_finals(g, [r[1] for r in runs], cfg.num_layers, "tenc_state")
    if frames:
        frame_output(g, [r[0] for r in runs])
    if pool_states:
        pooled_output(g, g.op1("Tanh", [_fc(g, t_state, model.fc, "fc")], base="code"),
                      [r[0] for r in runs])
        return
    rep = g.op("Tanh", [_fc(g, t_state, model.fc, "fc")], outputs=["representation"])[0]
    if not with_decoder:
        return
    # time decoder: the frequency encoder's states reversed in time
    t_source = reverse_axis(g, states, 0, "tdec_targets")
    if cfg.decoder_inputs == "none":
        t_source = g.zeros_like(t_source)
    init_t = split_init(g, rep, cfg.num_layers, cfg.num_units, cfg.decoder_directions,
                        cfg.cell, "tdec")
    outs = decoder_graph(g, model.decoder, model.direction_projections, cfg.cell, t_source,
                         cfg.decoder_input_shift, init_t, "tdec")
    cat = g.op1("Concat", outs, axis=2) if len(outs) > 1 else outs[0]    # (T, B, dirs*S)
    f_init = linear(g, cat, model.f_init, "f_init")                        # (T, B, Sf_dec)
    f_init = g.op1("Transpose", [f_init], perm=[1, 0, 2])
    f_init = g.op1("Reshape", [f_init, g.ints([-1, cfg.f_decoder_state_size], "shape")],
                   base="f_init_flat")
    init_f = split_init(g, f_init, cfg.num_f_layers, cfg.num_f_units, len(model.f_decoder),
                        cfg.cell, "fdec")
    # frequency decoder: every frame of the input reversed in time and frequency
    targets = reverse_axis(g, reverse_axis(g, "features", 1, "x_rev_t"), 2, "targets")
    t_windows = _windows(g, _flat_frames(g, targets, F, "target_frames"), cfg, "target_windows")
    recon = _decode_windows(g, model, model.f_decoder, model.f_direction_projections,
                            model.f_projection, t_windows, init_f, cfg.num_f_layers, "fdec")
    recon = _restore(g, recon, F, "recon_reversed")                      # (B, T, F) reversed
    recon = reverse_axis(g, reverse_axis(g, recon, 2, "recon_f"), 1, "recon_t")
    g.op("Identity", [recon], outputs=["reconstruction"])


def frequency_graph(g: Graph, model, with_decoder: bool, pool_states: bool = False,
                    frames: bool = False) -> None:
    """Add f-rae's or ft-rae's graph (input ``features``) to ``g`` (``pool_states``: ft-rae's
    encoder only, the code followed by the mean of the time encoder's top outputs;
    ``frames``: also the output ``frame_features``, as
    :meth:`~rae_fast.model.autoencoder.AutoencoderBase.encode_frames` gives it)."""
    if model.config.architecture == "f-rae":
        _f_rae(g, model, with_decoder, frames)
    elif model.config.architecture == "ft-rae":
        _ft_rae(g, model, with_decoder and not pool_states, pool_states, frames)
    else:  # pragma: no cover - callers dispatch
        raise ValueError(f"not a frequency autoencoder: {model.config.architecture}")

