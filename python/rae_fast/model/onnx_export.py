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
from typing import Callable, List, Optional, Union

import numpy as np
import torch

from .._version import __version__
from .._io import atomic_path
from .autoencoder import AutoencoderBase, RecurrentAutoencoder
from .onnx_graph import (INT64_MAX, Graph, concat_finals, decoder_graph, frame_output, linear,
                         np_, pooled_output, reverse_axis, rnn_layer, rnn_weights, split_init,
                         stack_graph)

__all__ = ["export_encoder", "export_autoencoder", "encoder_to_onnx", "autoencoder_to_onnx",
           "OPSET", "IR_VERSION", "MIN_ONNXSCRIPT"]

#: ONNX opset of the exported graphs (GRU/LSTM-14 semantics; ONNX Runtime >= 1.12).
OPSET = 17
#: IR version written (8 is what opset 17 needs; readable by every ONNX Runtime >= 1.12).
IR_VERSION = 8
#: Oldest onnxscript whose aten::gru translation is correct (linear_before_reset=1).
MIN_ONNXSCRIPT = (0, 7, 1)
_INT64_MAX = INT64_MAX

PathLike = Union[str, Path]
ModelSource = Union[AutoencoderBase, str, Path]


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("exporting to ONNX needs the onnx package: pip install "
                          "'rae_fast[train]'") from exc
    return onnx


# names of the shared graph pieces as this module had them (kept for callers and tests)
_Graph, _np, _rnn_weights, _rnn_layer = Graph, np_, rnn_weights, rnn_layer


def _encoder_graph(g: Graph, model: RecurrentAutoencoder, x_tbf: str, tops=None) -> str:
    """t-rae's encoder on a time-major input (T, B, F); returns the fc output (B, R). With a
    list ``tops``, the top layer's outputs (T, B, H) of each direction are appended to it."""
    cfg = model.config
    runs = [stack_graph(g, stack, cfg.cell, x_tbf, d == 1, f"enc_d{d}", need_y=tops is not None)
            for d, stack in enumerate(model.encoder)]
    if tops is not None:
        tops.extend(r[0] for r in runs)
    state = concat_finals(g, [r[1] for r in runs], cfg.num_layers, "encoder_state")
    return g.op1("Gemm", [state, g.const(np_(model.fc.weight), "fc_W"),
                          g.const(np_(model.fc.bias), "fc_b")], transB=1, base="fc")


def _reverse_time(g: Graph, x: str, base: str) -> str:
    return reverse_axis(g, x, 0, base)


def _finish(g: Graph, inputs, outputs, model: AutoencoderBase, kind: str, exporter: str,
            pool_states: bool = False):
    onnx = _onnx()
    from onnx import helper
    graph = helper.make_graph(g.nodes, f"rae_fast_{kind}", inputs, outputs, g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="rae_fast", producer_version=__version__)
    m.ir_version = IR_VERSION
    _add_metadata(m, model, kind, exporter, pool_states)
    onnx.checker.check_model(m, full_check=True)
    return m


def _rep_size(model: AutoencoderBase, pool_states: bool) -> int:
    return model.config.representation_size + (model.pooled_size if pool_states else 0)


def _add_metadata(m, model: AutoencoderBase, kind: str, exporter: str,
                  pool_states: bool = False) -> None:
    cfg = model.config
    size = _rep_size(model, pool_states)
    rep = ("(batch, time, {})" if cfg.frame_representation else "(batch, {})").format(size)
    m.doc_string = (f"rae_fast {cfg.architecture} {kind}: input features (batch, time, "
                    f"{cfg.num_features}) float32; output representation {rep}"
                    + ("; reconstruction (batch, time, F)" if kind == "autoencoder" else ""))
    meta = {"rae_fast.kind": kind, "rae_fast.config": json.dumps(cfg.to_dict(), sort_keys=True),
            "rae_fast.architecture": cfg.architecture,
            "rae_fast.frame_representation": "1" if cfg.frame_representation else "0",
            "rae_fast.num_features": str(cfg.num_features),
            "rae_fast.representation_size": str(size),
            "rae_fast.pool_states": "mean" if pool_states else "none",
            "rae_fast.version": __version__, "rae_fast.exporter": exporter}
    del m.metadata_props[:]
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v


def _io(model: AutoencoderBase, pool_states: bool = False):
    from onnx import TensorProto, helper
    F = model.config.num_features
    R = _rep_size(model, pool_states)
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "time", F])
    rep_shape = ["batch", "time", R] if model.config.frame_representation else ["batch", R]
    rep = helper.make_tensor_value_info("representation", TensorProto.FLOAT, rep_shape)
    recon = helper.make_tensor_value_info("reconstruction", TensorProto.FLOAT,
                                          ["batch", "time", F])
    return features, rep, recon


def _check_model(model) -> AutoencoderBase:
    if not isinstance(model, AutoencoderBase):
        raise TypeError(f"model must be an autoencoder of rae_fast.model (e.g. a "
                        f"RecurrentAutoencoder), got {type(model).__name__}")
    return model


def encoder_to_onnx(model: RecurrentAutoencoder, pool_states: bool = False):
    """The encoder as an ``onnx.ModelProto``: ``features (B, T, F) -> representation (B, R)``
    and ``frame_features (B, T, directions * H)``, the top encoder layer's output at every
    frame (:meth:`AutoencoderBase.encode_frames`; f-rae: its per-frame representation).

    ``pool_states``: the representation is followed by the time average of the top encoder
    layer's outputs (:meth:`AutoencoderBase.encode_pooled`; t-rae and ft-rae).

    >>> m = encoder_to_onnx(RecurrentAutoencoder(AutoencoderConfig(8)))   # doctest: +SKIP
    >>> [o.name for o in m.graph.output]                                 # doctest: +SKIP
    ['representation', 'frame_features']
    """
    model = _check_model(model)
    pool_states = bool(pool_states)
    if pool_states and model.config.architecture == "f-rae":
        raise ValueError("pool_states applies to t-rae and ft-rae (f-rae gives one "
                         "representation per frame already)")
    features, rep, _ = _io(model, pool_states)
    from onnx import TensorProto, helper
    frames = helper.make_tensor_value_info("frame_features", TensorProto.FLOAT,
                                           ["batch", "time", model.frame_feature_size])
    g = Graph()
    if model.config.architecture != "t-rae":
        from .onnx_frequency import frequency_graph
        frequency_graph(g, model, with_decoder=False, pool_states=pool_states, frames=True)
        return _finish(g, [features], [rep, frames], model, "encoder", "graph", pool_states)
    x = g.op1("Transpose", ["features"], perm=[1, 0, 2], base="x_tbf")
    tops: List[str] = []
    lin = _encoder_graph(g, model, x, tops)
    if pool_states:
        pooled_output(g, g.op1("Tanh", [lin], base="code"), tops)
    else:
        g.op("Tanh", [lin], outputs=["representation"])
    frame_output(g, tops)
    return _finish(g, [features], [rep, frames], model, "encoder", "graph", pool_states)


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
    g = Graph()
    if cfg.architecture != "t-rae":
        from .onnx_frequency import frequency_graph
        frequency_graph(g, model, with_decoder=True)
        return _finish(g, [features], [recon_info, rep_info], model, "autoencoder", "graph")
    x = g.op1("Transpose", ["features"], perm=[1, 0, 2], base="x_tbf")
    lin = _encoder_graph(g, model, x)
    rep = g.op("Tanh", [lin], outputs=["representation"])[0]
    # targets: the input reversed in time; the decoders read them shifted (auDeep's layout for
    # the backward direction, see RecurrentAutoencoder.decoder_inputs)
    targets = _reverse_time(g, x, "targets")
    source = g.zeros_like(targets) if cfg.decoder_inputs == "none" else targets
    init = split_init(g, rep, cfg.num_layers, cfg.num_units, cfg.decoder_directions, cfg.cell,
                      "dec")
    per_dir = cfg.decoder_projection == "per-direction"
    outs = decoder_graph(g, model.decoder, model.direction_projections if per_dir else None,
                         cfg.cell, source, cfg.decoder_input_shift, init, "dec")
    dec = g.op1("Concat", outs, axis=2, base="dec_out") if len(outs) > 1 else outs[0]
    recon_rev = linear(g, dec, model.projection, "proj")
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


def _encoder_dynamo(model: AutoencoderBase):
    cfg = model.config
    if cfg.architecture != "t-rae" or cfg.gru_variant != "pytorch":
        raise ValueError("method='dynamo' exports t-rae with PyTorch's GRU/LSTM only; use "
                         "method='graph' for f-rae, ft-rae and gru_variant='tensorflow'")
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

def _resolve(source: ModelSource, epoch: Optional[int]) -> AutoencoderBase:
    if isinstance(source, AutoencoderBase):
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


def _check_session(onnx_path: Path):
    """A quiet one-thread CPU ONNX Runtime session for checking an export; None when ONNX
    Runtime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])


def _max_difference(model: AutoencoderBase, onnx_path: Path, kind: str,
                    pool_states: bool = False) -> Optional[float]:
    """Max |ORT - torch| on random batches of two shapes; None when ONNX Runtime is missing."""
    sess = _check_session(onnx_path)
    if sess is None:
        return None
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
                if pool_states:
                    rep = model.encode_pooled(torch.from_numpy(x))
            out = dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))
            rep_onnx = out.get("representation", next(iter(out.values())))
            worst = max(worst, float(np.abs(rep_onnx - rep.numpy()).max()))
            if kind == "autoencoder":
                worst = max(worst, float(np.abs(out["reconstruction"] - recon.numpy()).max()))
    finally:
        model.train(was_training)
    return worst


def _save(m, path: PathLike, model: Optional[AutoencoderBase] = None,
          kind: str = "encoder", verify: bool = False, pool_states: bool = False,
          difference: Optional[Callable[[Path], Optional[float]]] = None) -> Path:
    """Write ``m`` atomically; with ``verify``, check it against ``model`` before it appears
    (``difference(tmp_path)``: the max |ORT - torch| when the check is not
    :func:`_max_difference`'s, e.g. the decoder's)."""
    onnx = _onnx()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"output path {path} is a directory")
    with atomic_path(path) as tmp:
        onnx.save_model(m, str(tmp), save_as_external_data=False)
        if verify:
            worst = (difference(tmp) if difference is not None else
                     _max_difference(model, tmp, kind, pool_states))
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
                   epoch: Optional[int] = None, verify: bool = False,
                   pool_states: bool = False, frontend=None) -> Path:
    """Write the encoder to ``path`` (one self-contained ``.onnx`` file, written atomically).

    Parameters
    ----------
    model : an autoencoder (t-rae, f-rae, ft-rae), run directory or checkpoint path
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
    pool_states : bool
        Append the time average of the top encoder layer's outputs to the representation
        (:meth:`AutoencoderBase.encode_pooled`; graph method, t-rae and ft-rae).
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
    if pool_states and method != "graph":
        raise ValueError("pool_states needs method='graph'")
    proto = encoder_to_onnx(m, pool_states) if method == "graph" else _encoder_dynamo(m)
    _stamp(proto, _frontend_of(model, frontend))
    return _save(proto, path, m, "encoder", bool(verify), bool(pool_states))


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
