"""Export a trained autoencoder to ONNX: the encoder (for ``generate``) and the whole autoencoder.

Two exporters:

``method="graph"`` (default)
    Writes the ONNX graph directly from the weights with ``onnx.helper``: one ONNX ``GRU`` /
    ``LSTM`` operator per layer and direction (``direction="reverse"`` for backward stacks),
    gates reordered from PyTorch's ``(r, z, n)`` / ``(i, f, g, o)`` to ONNX's ``(z, r, h)`` /
    ``(i, o, f, c)``, GRUs with ``linear_before_reset=1`` (PyTorch's formulation). Weights are
    initializers, so ONNX Runtime can pre-pack them. Needs only the ``onnx`` package, runs in
    milliseconds, and does not depend on the torch exporter's translation of recurrent layers.
``method="dynamo"`` (encoder only)
    ``torch.onnx.export(..., dynamo=True)``. Needs ``onnxscript >= 0.7.1``: older releases
    translated ``aten::gru`` without ``linear_before_reset=1`` and produced silently wrong
    numbers. The exporter's graph optimiser is switched off (``optimize=False``): with
    onnxscript 0.7.2 it folds the traced sequence length into a ``Reshape`` constant, and the
    exported model then fails for any other number of time steps.

Both produce models with input ``features`` ``(batch, time, F)`` float32 whose batch and time
axes are dynamic, weights inside the one ``.onnx`` file, and metadata (``rae_fast.kind``,
``rae_fast.config``, ``rae_fast.num_features``, ``rae_fast.representation_size``) that
:class:`rae_fast.inference.OnnxModel` reads. Encoder output: ``representation`` ``(batch, R)``.
Autoencoder outputs: ``reconstruction`` ``(batch, time, F)`` (teacher-forced, in the input's time
order, as in training) and ``representation``.

>>> from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, export_encoder
>>> model = RecurrentAutoencoder(AutoencoderConfig(num_features=8))
>>> export_encoder(model, "encoder.onnx")          # doctest: +SKIP
PosixPath('encoder.onnx')
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .._version import __version__
from .._io import atomic_path
from .autoencoder import RecurrentAutoencoder

__all__ = ["export_encoder", "export_autoencoder", "encoder_to_onnx", "autoencoder_to_onnx",
           "OPSET", "IR_VERSION", "MIN_ONNXSCRIPT"]

#: ONNX opset of the exported graphs (GRU/LSTM-14 semantics; ONNX Runtime >= 1.12).
OPSET = 17
#: IR version written (8 is what opset 17 needs; readable by every ONNX Runtime >= 1.12).
IR_VERSION = 8
#: Oldest onnxscript whose aten::gru translation is correct (linear_before_reset=1).
MIN_ONNXSCRIPT = (0, 7, 1)
_INT64_MAX = np.iinfo(np.int64).max

PathLike = Union[str, Path]
ModelSource = Union[RecurrentAutoencoder, str, Path]


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("exporting to ONNX needs the onnx package: pip install "
                          "'rae_fast[train]'") from exc
    return onnx


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self._count = 0

    def name(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, value, base: str, dtype=np.float32) -> str:
        from onnx import numpy_helper
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, base: Optional[str] = None,
           outputs: Optional[Sequence[str]] = None, **attrs) -> List[str]:
        from onnx import helper
        if outputs is None:
            outputs = [self.name(base or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs),
                                           name=self.name("n_" + op_type), **attrs))
        return list(outputs)

    def op1(self, op_type: str, inputs: Sequence[str], **kw) -> str:
        return self.op(op_type, inputs, **kw)[0]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def _rnn_weights(rnn: torch.nn.Module, cell: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX ``W (1, G*H, I)``, ``R (1, G*H, H)``, ``B (1, 2*G*H)`` of a one-layer torch RNN."""
    H = rnn.hidden_size
    if cell == "gru":   # torch (r, z, n) -> onnx (z, r, h)
        order = [slice(H, 2 * H), slice(0, H), slice(2 * H, 3 * H)]
    else:               # torch (i, f, g, o) -> onnx (i, o, f, c)
        order = [slice(0, H), slice(3 * H, 4 * H), slice(H, 2 * H), slice(2 * H, 3 * H)]

    def reorder(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[s] for s in order], axis=0)

    W = reorder(_np(rnn.weight_ih_l0))[None]
    R = reorder(_np(rnn.weight_hh_l0))[None]
    B = np.concatenate([reorder(_np(rnn.bias_ih_l0)), reorder(_np(rnn.bias_hh_l0))])[None]
    return W, R, B


def _rnn_layer(g: _Graph, rnn, cell: str, x: str, reverse: bool, tag: str,
               initial: Optional[Tuple[str, ...]] = None, need_y: bool = True
               ) -> Tuple[Optional[str], List[str]]:
    """One ONNX GRU/LSTM node. Returns (Y as (T, B, H) or None, final pieces [h] / [c, h])."""
    W, R, B = _rnn_weights(rnn, cell)
    H = rnn.hidden_size
    ins = [x, g.const(W, f"{tag}_W"), g.const(R, f"{tag}_R"), g.const(B, f"{tag}_B"), ""]
    direction = "reverse" if reverse else "forward"
    y = g.name(f"{tag}_Y") if need_y else ""
    yh = g.name(f"{tag}_Yh")
    if cell == "gru":
        if initial is not None:
            ins.append(initial[0])
        g.op("GRU", ins, outputs=[y, yh], hidden_size=H, direction=direction,
             linear_before_reset=1)
        finals = [yh]
    else:
        yc = g.name(f"{tag}_Yc")
        if initial is not None:
            ins.extend(initial)  # initial_h, initial_c
        g.op("LSTM", ins, outputs=[y, yh, yc], hidden_size=H, direction=direction)
        finals = [yc, yh]  # auDeep's order: c, h
    axis0 = g.const([0], "axis0", np.int64)
    pieces = [g.op1("Squeeze", [f, axis0], base=f"{tag}_final") for f in finals]
    if not need_y:
        return None, pieces
    axis1 = g.const([1], "axis1", np.int64)
    return g.op1("Squeeze", [y, axis1], base=f"{tag}_out"), pieces


def _encoder_graph(g: _Graph, model: RecurrentAutoencoder, x_tbf: str,
                   frames: bool = False) -> Union[str, Tuple[str, str]]:
    """Encoder on a time-major input (T, B, F); returns the representation name (B, R), and
    with ``frames`` also the top layer's outputs (T, B, directions * H)."""
    cfg = model.config
    per_dir: List[List[List[str]]] = []
    tops: List[str] = []
    for d, stack in enumerate(model.encoder):
        cur, layers = x_tbf, []
        for l, rnn in enumerate(stack):
            last = l == cfg.num_layers - 1
            cur, pieces = _rnn_layer(g, rnn, cfg.cell, cur, reverse=(d == 1),
                                     tag=f"enc_d{d}_l{l}", need_y=frames or not last)
            layers.append(pieces)
        per_dir.append(layers)
        tops.append(cur)
    ordered = [p for l in range(cfg.num_layers) for d in range(cfg.encoder_directions)
               for p in per_dir[d][l]]
    state = g.op1("Concat", ordered, axis=1, base="encoder_state") if len(ordered) > 1 \
        else ordered[0]
    lin = g.op1("Gemm", [state, g.const(_np(model.fc.weight), "fc_W"),
                         g.const(_np(model.fc.bias), "fc_b")], transB=1, base="fc")
    if not frames:
        return lin
    top = g.op1("Concat", tops, axis=2, base="enc_top") if len(tops) > 1 else tops[0]
    return lin, top


def _reverse_time(g: _Graph, x: str, base: str) -> str:
    return g.op1("Slice", [x, g.const([-1], "start", np.int64),
                           g.const([-_INT64_MAX], "end", np.int64),
                           g.const([0], "axes", np.int64), g.const([-1], "steps", np.int64)],
                 base=base)


def _finish(g: _Graph, inputs, outputs, model: RecurrentAutoencoder, kind: str, exporter: str):
    onnx = _onnx()
    from onnx import helper
    graph = helper.make_graph(g.nodes, f"rae_fast_{kind}", inputs, outputs, g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="rae_fast", producer_version=__version__)
    m.ir_version = IR_VERSION
    _add_metadata(m, model, kind, exporter)
    onnx.checker.check_model(m, full_check=True)
    return m


def _add_metadata(m, model: RecurrentAutoencoder, kind: str, exporter: str) -> None:
    cfg = model.config
    m.doc_string = (f"rae_fast {kind}: input features (batch, time, {cfg.num_features}) float32; "
                    f"output representation (batch, {cfg.representation_size})"
                    + ("; reconstruction (batch, time, F)" if kind == "autoencoder" else ""))
    meta = {"rae_fast.kind": kind, "rae_fast.config": json.dumps(cfg.to_dict(), sort_keys=True),
            "rae_fast.num_features": str(cfg.num_features),
            "rae_fast.representation_size": str(cfg.representation_size),
            "rae_fast.version": __version__, "rae_fast.exporter": exporter}
    del m.metadata_props[:]
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v


def _io(model: RecurrentAutoencoder):
    from onnx import TensorProto, helper
    F = model.config.num_features
    R = model.config.representation_size
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "time", F])
    rep = helper.make_tensor_value_info("representation", TensorProto.FLOAT, ["batch", R])
    recon = helper.make_tensor_value_info("reconstruction", TensorProto.FLOAT,
                                          ["batch", "time", F])
    return features, rep, recon


def _check_model(model) -> RecurrentAutoencoder:
    if not isinstance(model, RecurrentAutoencoder):
        raise TypeError(f"model must be a RecurrentAutoencoder, got {type(model).__name__}")
    return model


def encoder_to_onnx(model: RecurrentAutoencoder):
    """The encoder as an ``onnx.ModelProto``: ``features (B, T, F) -> representation (B, R)``
    and ``frame_features (B, T, directions * H)``, the top encoder layer's output at every
    frame (:meth:`RecurrentAutoencoder.encode_frames`).

    >>> m = encoder_to_onnx(RecurrentAutoencoder(AutoencoderConfig(8)))   # doctest: +SKIP
    >>> [o.name for o in m.graph.output]                                 # doctest: +SKIP
    ['representation', 'frame_features']
    """
    model = _check_model(model)
    features, rep, _ = _io(model)
    g = _Graph()
    x = g.op1("Transpose", ["features"], perm=[1, 0, 2], base="x_tbf")
    lin, top = _encoder_graph(g, model, x, frames=True)
    g.op("Tanh", [lin], outputs=["representation"])
    g.op("Transpose", [top], outputs=["frame_features"], perm=[1, 0, 2])
    from onnx import TensorProto, helper
    frames = helper.make_tensor_value_info("frame_features", TensorProto.FLOAT,
                                           ["batch", "time", model.frame_feature_size])
    return _finish(g, [features], [rep, frames], model, "encoder", "graph")


def autoencoder_to_onnx(model: RecurrentAutoencoder):
    """The whole autoencoder as an ``onnx.ModelProto``.

    Outputs ``reconstruction`` ``(batch, time, F)`` -- teacher-forced as in training (the decoder
    gets the expected previous frame) and put back into the input's time order -- and
    ``representation`` ``(batch, R)``.

    >>> m = autoencoder_to_onnx(RecurrentAutoencoder(AutoencoderConfig(8)))   # doctest: +SKIP
    >>> [o.name for o in m.graph.output]                                     # doctest: +SKIP
    ['reconstruction', 'representation']
    """
    model = _check_model(model)
    cfg = model.config
    features, rep_info, recon_info = _io(model)
    g = _Graph()
    x = g.op1("Transpose", ["features"], perm=[1, 0, 2], base="x_tbf")
    lin = _encoder_graph(g, model, x)
    rep = g.op("Tanh", [lin], outputs=["representation"])[0]
    # targets: the input reversed in time; teacher-forcing inputs shifted by one step
    targets = _reverse_time(g, x, "targets")
    shape = g.op1("Shape", [x])
    bf = g.op1("Slice", [shape, g.const([1], "s", np.int64), g.const([3], "e", np.int64)])
    zshape = g.op1("Concat", [g.const([1], "one", np.int64), bf], axis=0)
    from onnx import TensorProto, helper
    zeros = g.op1("ConstantOfShape", [zshape],
                  value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]), base="zeros")
    head = g.op1("Slice", [targets, g.const([0], "s", np.int64), g.const([-1], "e", np.int64),
                           g.const([0], "axes", np.int64)], base="targets_head")
    fw_in = g.op1("Concat", [zeros, head], axis=0, base="dec_in_fw")
    dec_in = [fw_in]
    if cfg.bidirectional_decoder:
        # auDeep's backward decoder: the forward inputs reversed, shifted by one step, run
        # forward in that order and not re-aligned (see RecurrentAutoencoder.decoder_inputs)
        rev = _reverse_time(g, fw_in, "dec_in_fw_reversed")
        rev_head = g.op1("Slice", [rev, g.const([0], "s", np.int64), g.const([-1], "e", np.int64),
                                   g.const([0], "axes", np.int64)], base="dec_in_bw_head")
        dec_in.append(g.op1("Concat", [zeros, rev_head], axis=0, base="dec_in_bw"))
    # initial decoder states: split the representation as auDeep does
    H = cfg.num_units
    axis0 = g.const([0], "axis0", np.int64)
    axis1 = g.const([1], "axis1", np.int64)
    init: Dict[Tuple[int, int], List[str]] = {}
    k = 0
    for l in range(cfg.num_layers):
        for d in range(cfg.decoder_directions):
            pieces = []
            for _ in range(cfg.state_pieces):
                sl = g.op1("Slice", [rep, g.const([k * H], "s", np.int64),
                                     g.const([(k + 1) * H], "e", np.int64), axis1])
                pieces.append(g.op1("Unsqueeze", [sl, axis0], base=f"init_l{l}_d{d}"))
                k += 1
            # ONNX LSTM takes initial_h then initial_c; auDeep's split order is (c, h)
            init[(d, l)] = pieces if cfg.cell == "gru" else [pieces[1], pieces[0]]
    outs = []
    for d, stack in enumerate(model.decoder):
        cur = dec_in[d]
        for l, rnn in enumerate(stack):
            cur, _ = _rnn_layer(g, rnn, cfg.cell, cur, reverse=False, tag=f"dec_d{d}_l{l}",
                                initial=tuple(init[(d, l)]))
        outs.append(cur)
    dec = g.op1("Concat", outs, axis=2, base="dec_out") if len(outs) > 1 else outs[0]
    proj = g.op1("MatMul", [dec, g.const(_np(model.projection.weight).T, "proj_W")])
    proj = g.op1("Add", [proj, g.const(_np(model.projection.bias), "proj_b")])
    recon_rev = g.op1("Tanh", [proj], base="recon_reversed")
    recon_tbf = _reverse_time(g, recon_rev, "recon_tbf")
    g.op("Transpose", [recon_tbf], outputs=["reconstruction"], perm=[1, 0, 2])
    return _finish(g, [features], [recon_info, rep_info], model, "autoencoder", "graph")


# ------------------------------------------------------------------------------ dynamo

class _EncoderModule(torch.nn.Module):
    def __init__(self, model: RecurrentAutoencoder):
        super().__init__()
        self.model = model

    def forward(self, features):
        return self.model._encode(features, None)


def _check_onnxscript() -> None:
    try:
        import onnxscript
    except ImportError as exc:
        raise ImportError("method='dynamo' needs onnxscript >= 0.7.1: pip install "
                          "'onnxscript>=0.7.1' (or use the default method='graph')") from exc
    parts = []
    for p in onnxscript.__version__.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    if tuple(parts) < MIN_ONNXSCRIPT:
        raise ImportError(f"onnxscript {onnxscript.__version__} translates GRU layers with wrong "
                          "numbers (linear_before_reset); method='dynamo' needs onnxscript >= "
                          "0.7.1 (pip install -U onnxscript) or use method='graph'")


def _encoder_dynamo(model: RecurrentAutoencoder):
    _check_onnxscript()
    import logging
    import warnings

    cfg = model.config
    # eval() switches the caller's model (a submodule of the wrapper) too: the export traces
    # the inference graph (no dropout / encoder noise); the caller's mode is restored below
    modes = {name: m.training for name, m in model.named_modules()}
    module = _EncoderModule(model).eval()
    example = torch.zeros(3, 7, cfg.num_features)
    dims = {"features": {0: torch.export.Dim("batch"), 1: torch.export.Dim("time")}}
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (example,), None, dynamo=True,
                                        input_names=["features"], output_names=["representation"],
                                        dynamic_shapes=dims, optimize=False, external_data=False,
                                        opset_version=18, verbose=False)
    finally:
        quiet.setLevel(level)
        for name, m in model.named_modules():
            m.training = modes[name]
    m = program.model_proto
    _add_metadata(m, model, "encoder", "dynamo")
    return m


# ------------------------------------------------------------------------------ public

def _resolve(source: ModelSource, epoch: Optional[int]) -> RecurrentAutoencoder:
    if isinstance(source, RecurrentAutoencoder):
        return source
    if isinstance(source, (str, Path)):
        from .checkpoints import load_model
        return load_model(source, epoch=epoch, device="cpu")
    raise TypeError(f"model must be a RecurrentAutoencoder, a run directory or a checkpoint "
                    f"path, got {type(source).__name__}")


def _frontend_of(source: ModelSource, frontend) -> Optional[str]:
    """The front end as JSON: given, or read from the run directory's ``config.json``."""
    if frontend is None and isinstance(source, (str, Path)) and Path(source).is_dir():
        from .checkpoints import read_run_frontend
        frontend = read_run_frontend(source)
    if frontend is None:
        return None
    from ..preprocessing.frontend import FrontEnd
    if isinstance(frontend, FrontEnd):
        return frontend.to_json()
    return FrontEnd.from_dict(frontend).to_json()       # validates a dict


def _stamp(m, frontend_json: Optional[str]) -> None:
    """Add the front end and a content hash (of the graph: weights and structure) to ``m``."""
    import hashlib
    digest = hashlib.sha256(m.graph.SerializeToString(deterministic=True)).hexdigest()
    entries = {"rae_fast.content_sha256": digest}
    if frontend_json is not None:
        entries["rae_fast.frontend"] = frontend_json
    for key, value in entries.items():
        m.metadata_props.add(key=key, value=value)


#: Largest |ONNX Runtime - PyTorch| accepted by ``verify=True``.
VERIFY_TOLERANCE = 1e-4


def _max_difference(model: RecurrentAutoencoder, onnx_path: Path, kind: str) -> Optional[float]:
    """Max |ORT - torch| on random batches of two shapes; None when ONNX Runtime is missing."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(0)
    worst = 0.0
    was_training = model.training
    model.eval()
    try:
        for batch, time in ((1, 7), (3, 31)):
            x = rng.uniform(-1, 1, (batch, time, model.config.num_features)).astype(np.float32)
            with torch.no_grad():
                recon, rep = model(torch.from_numpy(x))
            out = dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))
            rep_onnx = out.get("representation", next(iter(out.values())))
            worst = max(worst, float(np.abs(rep_onnx - rep.numpy()).max()))
            if kind == "autoencoder":
                worst = max(worst, float(np.abs(out["reconstruction"] - recon.numpy()).max()))
    finally:
        model.train(was_training)
    return worst


def _save(m, path: PathLike, model: Optional[RecurrentAutoencoder] = None,
          kind: str = "encoder", verify: bool = False) -> Path:
    """Write ``m`` atomically; with ``verify``, check it against ``model`` before it appears."""
    onnx = _onnx()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"output path {path} is a directory")
    with atomic_path(path) as tmp:
        onnx.save_model(m, str(tmp), save_as_external_data=False)
        if verify:
            worst = _max_difference(model, tmp, kind)
            if worst is None:
                warnings.warn("onnxruntime is not installed: the export was not checked against "
                              "PyTorch (pip install 'rae_fast[cpu]')", RuntimeWarning,
                              stacklevel=3)
            elif not worst <= VERIFY_TOLERANCE:
                raise ValueError(f"the ONNX {kind} differs from PyTorch by {worst:.3g} (more "
                                 f"than {VERIFY_TOLERANCE:g}); {path} was not written")
            m.metadata_props.add(key="rae_fast.verified_max_abs_diff",
                                 value="none" if worst is None else f"{worst:.3g}")
            onnx.save_model(m, str(tmp), save_as_external_data=False)
    return path


def read_verified_difference(path: PathLike) -> Optional[float]:
    """The max |ONNX Runtime - PyTorch| stored by ``verify=True`` (None if not verified)."""
    onnx = _onnx()
    m = onnx.load_model(str(path), load_external_data=False)
    for prop in m.metadata_props:
        if prop.key == "rae_fast.verified_max_abs_diff":
            try:
                return float(prop.value)
            except ValueError:
                return None
    return None


def export_encoder(model: ModelSource, path: PathLike, method: str = "graph",
                   epoch: Optional[int] = None, verify: bool = False, frontend=None) -> Path:
    """Write the encoder to ``path`` (one self-contained ``.onnx`` file, written atomically).

    Parameters
    ----------
    model : RecurrentAutoencoder, run directory or checkpoint path
    path : str or Path
        Output file.
    method : {"graph", "dynamo"}
        See the module docstring; both give the same numbers (tested to 1e-5).
    epoch : int, optional
        With a run directory: which checkpoint (default the newest).
    verify : bool
        Run the export with ONNX Runtime on random batches and compare with PyTorch before the
        file appears: more than :data:`VERIFY_TOLERANCE` apart raises ``ValueError`` and
        nothing is written; the difference is stored in the metadata
        (``rae_fast.verified_max_abs_diff``). Without onnxruntime it warns and writes.
    frontend : FrontEnd or dict, optional
        How audio becomes the model's input (:class:`rae_fast.preprocessing.FrontEnd`),
        stored as ``rae_fast.frontend`` so that :class:`rae_fast.embedding.Embedder` embeds
        audio with the file alone. Default: the run directory's (``rae-fast train`` stores it
        when its input came from ``preprocess``). The metadata also get
        ``rae_fast.content_sha256``, a hash of the graph and weights.

    Returns
    -------
    Path

    Example
    -------
    >>> export_encoder("run", "run/encoder.onnx", verify=True)        # doctest: +SKIP
    PosixPath('run/encoder.onnx')
    """
    if method not in ("graph", "dynamo"):
        raise ValueError(f"method must be 'graph' or 'dynamo', got {method!r}")
    m = _resolve(model, epoch)
    proto = encoder_to_onnx(m) if method == "graph" else _encoder_dynamo(m)
    _stamp(proto, _frontend_of(model, frontend))
    return _save(proto, path, m, "encoder", bool(verify))


def export_autoencoder(model: ModelSource, path: PathLike, epoch: Optional[int] = None,
                       verify: bool = False, frontend=None) -> Path:
    """Write the whole autoencoder (reconstruction + representation) to ``path`` atomically;
    ``verify`` and ``frontend`` as for :func:`export_encoder`.

    >>> export_autoencoder("run", "run/autoencoder.onnx")   # doctest: +SKIP
    PosixPath('run/autoencoder.onnx')
    """
    m = _resolve(model, epoch)
    proto = autoencoder_to_onnx(m)
    _stamp(proto, _frontend_of(model, frontend))
    return _save(proto, path, m, "autoencoder", bool(verify))
