"""Recurrent building blocks shared by auDeep's three autoencoders (auDeep's ``rnn_base``).

* :class:`TFGRU` -- one GRU layer with TensorFlow's formulation (reset gate applied to the
  state *before* the recurrent matrix product; ONNX ``linear_before_reset=0``), with the same
  parameter names and gate layout as ``torch.nn.GRU`` so that checkpoints and the ONNX export
  treat both alike.
* :func:`make_stack` / :func:`run_stack` -- one direction of ``num_layers`` single-layer RNNs
  with auDeep's dropout (TensorFlow's ``DropoutWrapper(cell, keep, keep)`` on every cell of a
  ``MultiRNNCell``: on each layer's input and output, never on the recurrent state), packed for
  padded batches. auDeep's ``StandardRNN``.
* :func:`teacher_inputs` -- what a decoder reads at each step (auDeep's decoder inputs and
  ``FeedPreviousRNN`` with ``reverse=True`` for the backward direction).
* :func:`decode_stack` -- one decoder direction, teacher-forced in one call or step by step
  feeding back its own projected output with a probability (``FeedPreviousRNN``).

>>> import torch
>>> stack = make_stack(8, 4, 2, "gru", "tensorflow")
>>> out, finals = run_stack(stack, torch.zeros(3, 5, 8), None, False, None, torch.nn.Dropout(0.))
>>> out.shape, finals[1].shape
(torch.Size([3, 5, 4]), torch.Size([1, 3, 4]))
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["TFGRU", "make_stack", "run_stack", "run_layer", "init_stack", "teacher_inputs",
           "shift_right", "decode_stack", "final_pieces", "split_states", "reverse_padded"]

Tensor = torch.Tensor
LayerState = Union[Tensor, Tuple[Tensor, Tensor]]


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of ``x`` ``(batch, time, ...)`` within its own length.

    Padding positions (``t >= lengths[b]``) stay where they are. ``lengths=None`` is a plain
    ``torch.flip`` over time.

    >>> x = torch.arange(6.).reshape(2, 3, 1)
    >>> reverse_padded(x, torch.tensor([2, 3]))[..., 0]
    tensor([[1., 0., 2.],
            [5., 4., 3.]])
    """
    if lengths is None:
        return torch.flip(x, dims=(1,))
    time = x.shape[1]
    t = torch.arange(time, device=x.device).unsqueeze(0)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (batch, time)
    idx = idx.view(idx.shape + (1,) * (x.dim() - 2)).expand_as(x)
    return torch.gather(x, 1, idx)


# ---------------------------------------------------------------------------- TF's GRU

class TFGRU(nn.Module):
    """One GRU layer as TensorFlow's ``GRUCell`` computes it (``batch_first``).

    ``r, z = sigmoid(W_i[r,z] x + b_i[r,z] + W_h[r,z] h + b_h[r,z])``,
    ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)``, ``h' = (1 - z) n + z h`` -- the reset
    gate acts on the state before the recurrent product, where ``torch.nn.GRU`` applies it
    after (``r * (W_hn h + b_hn)``). Parameters ``weight_ih_l0 (3H, I)``, ``weight_hh_l0 (3H,
    H)``, ``bias_ih_l0``, ``bias_hh_l0`` in PyTorch's gate order ``(r, z, n)``. Padded batches
    are handled with ``lengths`` (a state stops changing after its sequence ends; outputs
    there are zero), so no packing is needed.

    >>> m = TFGRU(3, 2)
    >>> out, h = m(torch.zeros(4, 6, 3))
    >>> out.shape, h.shape
    (torch.Size([4, 6, 2]), torch.Size([1, 4, 2]))
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        H = self.hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * H, self.input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * H))
        bound = 1.0 / math.sqrt(H)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, h0: Optional[Tensor] = None, lengths: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        H = self.hidden_size
        gi = torch.nn.functional.linear(x, self.weight_ih_l0, self.bias_ih_l0)  # (B, T, 3H)
        # one unbind (not T slices): slicing a step out of gi would give every step's
        # gradient a full-size zero-filled tensor in the backward pass
        g_rz, g_n = gi.split([2 * H, H], dim=2)
        g_rz, g_n = g_rz.unbind(1), g_n.unbind(1)
        w_rz, w_n = self.weight_hh_l0.split([2 * H, H])
        b_rz, b_n = self.bias_hh_l0.split([2 * H, H])
        h = x.new_zeros(B, H) if h0 is None else h0[0]
        valid = None
        if lengths is not None:
            valid = (torch.arange(T, device=x.device).unsqueeze(1)
                     < lengths.to(x.device).unsqueeze(0)).unsqueeze(-1).unbind(0)  # T x (B, 1)
        outs = []
        for t in range(T):
            r, z = torch.sigmoid(g_rz[t] + torch.nn.functional.linear(h, w_rz, b_rz)).chunk(2, 1)
            n = torch.tanh(g_n[t] + torch.nn.functional.linear(r * h, w_n, b_n))
            new = n + z * (h - n)
            if valid is not None:
                new = torch.where(valid[t], new, h)
                outs.append(new * valid[t])
            else:
                outs.append(new)
            h = new
        return torch.stack(outs, dim=1), h.unsqueeze(0)


# --------------------------------------------------------------------------- stacks

def make_stack(input_size: int, num_units: int, num_layers: int, cell: str,
               gru_variant: str = "pytorch") -> nn.ModuleList:
    """``num_layers`` single-layer RNNs of one direction (layer ``l`` reads layer ``l-1``)."""
    layers = []
    for l in range(num_layers):
        i = input_size if l == 0 else num_units
        if cell == "lstm":
            layers.append(nn.LSTM(i, num_units, batch_first=True))
        elif gru_variant == "tensorflow":
            layers.append(TFGRU(i, num_units))
        else:
            layers.append(nn.GRU(i, num_units, batch_first=True))
    return nn.ModuleList(layers)


def init_stack(stack: nn.ModuleList, cell: str, gru_variant: str = "pytorch") -> None:
    """Initialise one direction as auDeep's TensorFlow cells were.

    GRU (both variants): biases 1 on the reset and update gates and 0 on the candidate (the
    gates start open). ``gru_variant='pytorch'``: Glorot-uniform per gate block and per matrix
    (``W_i`` and ``W_h`` separately). ``'tensorflow'``: Glorot-uniform over TensorFlow's
    concatenated kernels -- ``[input; state] -> 2H`` for the gates and ``[input; state] -> H``
    for the candidate -- which is what ``GRUCell`` draws. LSTM: Glorot-uniform per gate block,
    forget-gate bias 1. Draws from torch's global generator.
    """
    gates = 3 if cell == "gru" else 4
    with torch.no_grad():
        for rnn in stack:
            H = rnn.hidden_size
            w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
            if cell == "gru" and gru_variant == "tensorflow":
                fan_in = w_ih.shape[1] + H
                for rows, fan_out in ((slice(0, 2 * H), 2 * H), (slice(2 * H, 3 * H), H)):
                    bound = math.sqrt(6.0 / (fan_in + fan_out))
                    w_ih[rows].uniform_(-bound, bound)
                    w_hh[rows].uniform_(-bound, bound)
            else:
                for w in (w_ih, w_hh):
                    for k in range(gates):
                        nn.init.xavier_uniform_(w[k * H:(k + 1) * H])
            rnn.bias_ih_l0.zero_()
            rnn.bias_hh_l0.zero_()
            if gates == 3:
                rnn.bias_ih_l0[:2 * H] = 1.0          # reset and update gates
            else:
                rnn.bias_ih_l0[H:2 * H] = 1.0         # forget gate (order i, f, g, o)


def run_layer(rnn: nn.Module, x: Tensor, h0: Optional[LayerState], lengths: Optional[Tensor]
              ) -> Tuple[Tensor, LayerState]:
    """One layer over ``x`` ``(batch, time, I)``; padding (``lengths``) never reaches a state."""
    if isinstance(rnn, TFGRU):
        return rnn(x, h0, lengths)
    if lengths is None:
        return rnn(x, h0)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = rnn(packed, h0)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


def run_stack(stack: nn.ModuleList, x: Tensor, lengths: Optional[Tensor], reverse: bool,
              initial: Optional[Sequence[LayerState]], dropout: nn.Module
              ) -> Tuple[Tensor, List[LayerState]]:
    """One direction's layers: ``(outputs in input time order, final state of every layer)``.

    ``dropout`` acts on every layer's input and output (auDeep's ``DropoutWrapper``); a
    ``reverse`` stack reads each sequence backwards within its length.
    """
    if reverse:
        x = reverse_padded(x, lengths)
    finals: List[LayerState] = []
    for l, rnn in enumerate(stack):
        out, state = run_layer(rnn, dropout(x), None if initial is None else initial[l], lengths)
        x = dropout(out)
        finals.append(state)
    if reverse:
        x = reverse_padded(x, lengths)
    return x, finals


def final_pieces(state: LayerState, cell: str) -> List[Tensor]:
    """Final state of one layer and direction as auDeep concatenates it: ``[h]`` or ``[c, h]``
    (each ``(batch, units)``)."""
    if cell == "lstm":
        h, c = state
        return [c[0], h[0]]
    return [state[0]]


def split_states(state: Tensor, num_layers: int, num_units: int, directions: int, cell: str
                 ) -> List[List[LayerState]]:
    """Split ``(batch, size)`` into initial states ``[direction][layer]`` in auDeep's order
    (layer-major; forward then backward; ``c`` then ``h`` for LSTM); each piece
    ``(1, batch, units)``, LSTM layers get ``(h, c)`` as ``nn.LSTM`` expects."""
    pieces = state.split(num_units, dim=1)
    out: List[List[LayerState]] = [[] for _ in range(directions)]
    k = 0
    for _layer in range(num_layers):
        for d in range(directions):
            if cell == "lstm":
                c, h = pieces[k], pieces[k + 1]
                k += 2
                out[d].append((h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()))
            else:
                out[d].append(pieces[k].unsqueeze(0).contiguous())
                k += 1
    return out


# -------------------------------------------------------------------------- decoders

def shift_right(x: Tensor, steps: int = 1) -> Tensor:
    """``x`` ``(batch, time, ...)`` delayed by ``steps`` along time, zeros in front.

    >>> shift_right(torch.tensor([[1., 2., 3.]]).unsqueeze(-1), 2)[0, :, 0]
    tensor([0., 0., 1.])
    """
    T = x.shape[1]
    zeros = x.new_zeros((x.shape[0], min(steps, T)) + tuple(x.shape[2:]))
    return torch.cat([zeros, x[:, :T - min(steps, T)]], dim=1)


def teacher_inputs(targets: Tensor, lengths: Optional[Tensor], shift: int, bidirectional: bool
                   ) -> Tuple[Tensor, Optional[Tensor]]:
    """Decoder inputs ``(forward, backward)`` for ``targets`` ``(batch, steps, I)``.

    forward: the target ``shift`` steps earlier (zeros before): ``[0, y0, ..., y[T-2]]`` for
    ``shift=1`` (the paper), ``[0, 0, y0, ...]`` for 2 (auDeep's code). backward (else
    ``None``): auDeep's ``FeedPreviousRNN(reverse=True)`` on the one-step-shifted inputs --
    they are reversed, delayed by one step and consumed in that order, ``[0, y[T-2], ...,
    y0]``; its output at step ``s`` joins the forward output at ``s`` without re-alignment.
    With ``lengths`` each instance is reversed within its length (padding must be zero).
    """
    d = shift_right(targets, 1)
    fw = d if shift == 1 else shift_right(d, shift - 1)
    bw = shift_right(reverse_padded(d, lengths), 1) if bidirectional else None
    return fw, bw


def decode_stack(stack: nn.ModuleList, inputs: Tensor, lengths: Optional[Tensor],
                 initial: Sequence[LayerState], dropout: nn.Module,
                 feed_prob: float = 0.0, project: Optional[Callable[[Tensor], Tensor]] = None,
                 feed_mask: Optional[Tensor] = None, step_by_step: bool = False) -> Tensor:
    """One decoder direction over ``inputs`` ``(batch, steps, I)``; returns the last layer's
    (dropped-out) outputs ``(batch, steps, H)``, or ``project`` of them when given (in the loop,
    exactly the values that are fed back).

    ``feed_prob == 0``: teacher forcing, all steps in one call per layer. Otherwise step by
    step: at step ``s >= 1`` the direction reads ``project(its output at s-1)`` instead of
    ``inputs[:, s]`` where ``feed_mask[s]`` ``(steps, batch, 1)`` is true (drawn with
    probability ``feed_prob`` when not given) -- auDeep's ``FeedPreviousRNN``.
    ``step_by_step`` runs the loop even when nothing is fed back (the same network).
    """
    if feed_prob <= 0 and not step_by_step:
        out = run_stack(stack, inputs, lengths, False, initial, dropout)[0]
        return out if project is None else project(out)
    if feed_prob > 0 and project is None:
        raise ValueError("feed_prob > 0 needs a projection of the outputs to the inputs")
    B, S, _ = inputs.shape
    if feed_prob > 0 and feed_mask is None:
        feed_mask = torch.rand(S, B, 1, device=inputs.device) < feed_prob
    states = list(initial)
    steps = inputs.unbind(1)          # one unbind: cheap gradients (see TFGRU.forward)
    inp = steps[0]
    outs = []
    for s in range(S):
        if s > 0:
            inp = torch.where(feed_mask[s], outs[-1], steps[s]) if feed_prob > 0 else steps[s]
        h = inp.unsqueeze(1)
        for l, rnn in enumerate(stack):
            h, states[l] = run_layer(rnn, dropout(h), states[l], None)
            h = dropout(h)
        outs.append(h[:, 0] if project is None else project(h[:, 0]))
    return torch.stack(outs, dim=1)
