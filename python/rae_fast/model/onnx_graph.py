"""ONNX graph pieces shared by the exports of t-rae, f-rae and ft-rae (built with
``onnx.helper``; all recurrent layers become ONNX ``GRU`` / ``LSTM`` operators).

Tensors inside the graphs are time-major ``(steps, batch, features)``, as ONNX's recurrent
operators expect. :func:`decoder_graph` mirrors :func:`rae_fast.model.rnn.teacher_inputs` and
``AutoencoderBase._run_decoders`` (teacher forcing, as the exported autoencoders run).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .rnn import TFGRU

__all__ = ["Graph", "rnn_layer", "reverse_axis", "shift_steps", "linear", "stack_graph",
           "decoder_graph", "split_init", "concat_finals", "frame_output", "pooled_output",
           "INT64_MAX"]

INT64_MAX = np.iinfo(np.int64).max


class Graph:
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

    def ints(self, values, base: str = "i") -> str:
        return self.const(list(values), base, np.int64)

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

    def zeros_like(self, x: str, base: str = "zeros") -> str:
        from onnx import TensorProto, helper
        return self.op1("ConstantOfShape", [self.op1("Shape", [x])],
                        value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]),
                        base=base)


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def rnn_weights(rnn: torch.nn.Module, cell: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX ``W (1, G*H, I)``, ``R (1, G*H, H)``, ``B (1, 2*G*H)`` of a one-layer torch RNN."""
    H = rnn.hidden_size
    if cell == "gru":   # torch (r, z, n) -> onnx (z, r, h)
        order = [slice(H, 2 * H), slice(0, H), slice(2 * H, 3 * H)]
    else:               # torch (i, f, g, o) -> onnx (i, o, f, c)
        order = [slice(0, H), slice(3 * H, 4 * H), slice(H, 2 * H), slice(2 * H, 3 * H)]

    def reorder(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[s] for s in order], axis=0)

    W = reorder(np_(rnn.weight_ih_l0))[None]
    R = reorder(np_(rnn.weight_hh_l0))[None]
    B = np.concatenate([reorder(np_(rnn.bias_ih_l0)), reorder(np_(rnn.bias_hh_l0))])[None]
    return W, R, B


def rnn_layer(g: Graph, rnn, cell: str, x: str, reverse: bool, tag: str,
              initial: Optional[Tuple[str, ...]] = None, need_y: bool = True
              ) -> Tuple[Optional[str], List[str]]:
    """One ONNX GRU/LSTM node. Returns (Y as (T, B, H) or None, final pieces [h] / [c, h]).

    GRUs get ``linear_before_reset=1`` (``torch.nn.GRU``) or ``0`` (:class:`TFGRU`,
    TensorFlow's formula)."""
    W, R, B = rnn_weights(rnn, cell)
    H = rnn.hidden_size
    ins = [x, g.const(W, f"{tag}_W"), g.const(R, f"{tag}_R"), g.const(B, f"{tag}_B"), ""]
    direction = "reverse" if reverse else "forward"
    y = g.name(f"{tag}_Y") if need_y else ""
    yh = g.name(f"{tag}_Yh")
    if cell == "gru":
        if initial is not None:
            ins.append(initial[0])
        g.op("GRU", ins, outputs=[y, yh], hidden_size=H, direction=direction,
             linear_before_reset=0 if isinstance(rnn, TFGRU) else 1)
        finals = [yh]
    else:
        yc = g.name(f"{tag}_Yc")
        if initial is not None:
            ins.extend(initial)  # initial_h, initial_c
        g.op("LSTM", ins, outputs=[y, yh, yc], hidden_size=H, direction=direction)
        finals = [yc, yh]  # auDeep's order: c, h
    axis0 = g.ints([0], "axis0")
    pieces = [g.op1("Squeeze", [f, axis0], base=f"{tag}_final") for f in finals]
    if not need_y:
        return None, pieces
    return g.op1("Squeeze", [y, g.ints([1], "axis1")], base=f"{tag}_out"), pieces


def reverse_axis(g: Graph, x: str, axis: int, base: str) -> str:
    """``x`` reversed along ``axis``."""
    return g.op1("Slice", [x, g.ints([-1], "start"), g.ints([-INT64_MAX], "end"),
                           g.ints([axis], "axes"), g.ints([-1], "steps")], base=base)


def shift_steps(g: Graph, x: str, steps: int, base: str) -> str:
    """``x`` ``(S, B, I)`` delayed by ``steps`` along axis 0, zeros in front, still ``S`` long
    (any ``S``, also shorter than ``steps``)."""
    shape = g.op1("Shape", [x])
    rest = g.op1("Slice", [shape, g.ints([1], "s"), g.ints([3], "e")])
    zshape = g.op1("Concat", [g.ints([steps], "k"), rest], axis=0)
    from onnx import TensorProto, helper
    zeros = g.op1("ConstantOfShape", [zshape],
                  value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]))
    padded = g.op1("Concat", [zeros, x], axis=0)
    length = g.op1("Slice", [shape, g.ints([0], "s"), g.ints([1], "e")])
    return g.op1("Slice", [padded, g.ints([0], "s"), length, g.ints([0], "axes")], base=base)


def linear(g: Graph, x: str, lin: torch.nn.Linear, tag: str, tanh: bool = True) -> str:
    """``tanh(x W^T + b)`` over the last axis of ``x`` (any rank)."""
    y = g.op1("MatMul", [x, g.const(np_(lin.weight).T, f"{tag}_W")])
    y = g.op1("Add", [y, g.const(np_(lin.bias), f"{tag}_b")], base=tag)
    return g.op1("Tanh", [y], base=f"{tag}_tanh") if tanh else y


def stack_graph(g: Graph, stack, cell: str, x: str, reverse: bool, tag: str,
                initial: Optional[List[Tuple[str, ...]]] = None, need_y: bool = True
                ) -> Tuple[Optional[str], List[List[str]]]:
    """One direction's layers (``initial[l]``: the initial pieces of layer ``l``); returns the
    last layer's outputs (or None) and every layer's final pieces."""
    cur, finals = x, []
    for l, rnn in enumerate(stack):
        last = l == len(stack) - 1
        cur, pieces = rnn_layer(g, rnn, cell, cur, reverse, f"{tag}_l{l}",
                                None if initial is None else initial[l], need_y or not last)
        finals.append(pieces)
    return cur, finals


def concat_finals(g: Graph, per_dir: List[List[List[str]]], num_layers: int, base: str) -> str:
    """Final pieces in auDeep's order (layer-major, forward then backward), concatenated."""
    ordered = [p for l in range(num_layers) for d in range(len(per_dir)) for p in per_dir[d][l]]
    return g.op1("Concat", ordered, axis=1, base=base) if len(ordered) > 1 else ordered[0]


def split_init(g: Graph, state: str, num_layers: int, num_units: int, directions: int,
               cell: str, tag: str) -> List[List[Tuple[str, ...]]]:
    """``state`` ``(batch, size)`` split into initial states ``[direction][layer]`` (each a
    tuple of ``(1, batch, units)`` pieces: ``(h,)`` or ``(h, c)`` as ONNX wants them)."""
    axis0, axis1 = g.ints([0], "axis0"), g.ints([1], "axis1")
    init: List[List[Tuple[str, ...]]] = [[] for _ in range(directions)]
    k = 0
    pieces_per = 2 if cell == "lstm" else 1
    for l in range(num_layers):
        for d in range(directions):
            pieces = []
            for _ in range(pieces_per):
                sl = g.op1("Slice", [state, g.ints([k * num_units], "s"),
                                     g.ints([(k + 1) * num_units], "e"), axis1])
                pieces.append(g.op1("Unsqueeze", [sl, axis0], base=f"{tag}_init_l{l}_d{d}"))
                k += 1
            # ONNX LSTM takes initial_h then initial_c; auDeep's split order is (c, h)
            init[d].append(tuple(pieces) if cell == "gru" else (pieces[1], pieces[0]))
    return init


def decoder_graph(g: Graph, stacks, projections, cell: str, source: str, shift: int,
                  init: List[List[Tuple[str, ...]]], tag: str) -> List[str]:
    """Every direction of one teacher-forced decoder reading ``source`` ``(S, B, I)``: the
    forward direction ``source`` delayed by ``shift`` steps, the backward one auDeep's
    reversed-and-shifted inputs. Returns each direction's outputs ``(S, B, H)``, or
    ``tanh(P_d h)`` with ``projections``."""
    d1 = shift_steps(g, source, 1, f"{tag}_in")
    inputs = [d1 if shift == 1 else shift_steps(g, d1, shift - 1, f"{tag}_in_fw")]
    if len(stacks) == 2:
        inputs.append(shift_steps(g, reverse_axis(g, d1, 0, f"{tag}_rev"), 1, f"{tag}_in_bw"))
    outs = []
    for d, stack in enumerate(stacks):
        y, _ = stack_graph(g, stack, cell, inputs[d], False, f"{tag}_d{d}", init[d])
        outs.append(y if projections is None else linear(g, y, projections[d], f"{tag}_p{d}"))
    return outs


def frame_output(g: Graph, tops: List[str]) -> None:
    """``frame_features`` (B, T, directions * H): the top outputs (T, B, H) of every direction,
    concatenated, batch first."""
    top = g.op1("Concat", tops, axis=2, base="enc_top") if len(tops) > 1 else tops[0]
    g.op("Transpose", [top], outputs=["frame_features"], perm=[1, 0, 2])


def pooled_output(g: Graph, rep: str, tops: List[str]) -> None:
    """``representation`` = the code followed by each top output's mean over time."""
    means = [g.op1("ReduceMean", [t], axes=[0], keepdims=0, base="pooled") for t in tops]
    g.op("Concat", [rep, *means], outputs=["representation"], axis=1)
