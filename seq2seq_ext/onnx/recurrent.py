"""A stack of recurrent layers as standard ONNX nodes: what the Fused LSTM,
GRU and RNN compute (fused_vf.py) when torch.onnx.export traces them.

Each layer becomes one ONNX ``LSTM``, ``GRU`` or ``RNN`` node, both directions
of a bidirectional layer in one node, written into the traced graph with
``torch.onnx.ops.symbolic_multi_out`` (torch's public way to emit an ONNX
operator from a model's forward, honoured by ``torch.onnx.export(dynamo=True)``
with nothing passed to it). The weights keep torch.nn's layout in the model and
are reordered into ONNX's in the graph, where the exporter folds them into
initializers:

- gate blocks: torch's LSTM (i, f, g, o) -> ONNX (i, o, f, c); GRU (r, z, n)
  -> ONNX (z, r, h), with ``linear_before_reset=1``, torch's
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; the Elman RNN, one block,
  ``activations`` Tanh or Relu;
- ``W`` (D, G*H, I), ``R`` (D, G*H, H), ``B`` (D, 2*G*H) = [b_ih; b_hh] per
  direction D;
- sequences of given lengths (the Seq2Seq encoder): ``sequence_lens``, so each
  sequence stops at its length, its reverse direction starts there, its final
  states are those of its last step, and its outputs past it are zeros.

ONNX's LSTM has no projection (proj_size): its recurrence multiplies R by the
H-wide o * tanh(c), where torch's multiplies W_hh by the P-wide projection of
it. A projected LSTM is therefore written as plain ops (MatMul, Sigmoid, Tanh,
Mul, Add, Where) inside an ONNX ``Scan`` over the steps, one per layer
(``torch._higher_order_ops.scan``, which the exporter writes as ``Scan``).
"""

import torch
import torch.nn.functional as F
from torch._higher_order_ops.scan import scan

from ..cell_types import CELL_TYPES

ONNX_OPS = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}
# torch.nn's gate blocks, listed in ONNX's order.
GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


def recurrent_stack(
    cell,
    input,
    states,
    params,
    has_biases,
    num_layers,
    dropout,
    train,
    bidirectional,
    lengths=None,
):
    """The stack of fused_vf._stack as ONNX nodes. input (T, B, I), time-major;
    states [h0] or [h0, c0], each (L*D, B, size); params in torch.nn's
    _flat_weights order; lengths (B,) int64, or None for all T steps.
    -> (output (T, B, D*P), zeros past each length; [final states, each (L*D, B, size)])."""
    directions = 2 if bidirectional else 1
    per_direction = len(params) // (num_layers * directions)
    projected = per_direction == 2 + 2 * has_biases + 1
    layer_input, finals = input, [[] for _ in states]
    for layer in range(num_layers):
        first = layer * directions
        weights = [
            params[(first + d) * per_direction : (first + d + 1) * per_direction]
            for d in range(directions)
        ]
        initial = [state[first : first + directions] for state in states]
        if projected:
            layer_input, layer_finals = _projected_lstm_layer(
                layer_input, initial, weights, has_biases, lengths
            )
        else:
            layer_input, layer_finals = _layer_node(
                cell, layer_input, initial, weights, has_biases, lengths
            )
        for collected, final in zip(finals, layer_finals):
            collected.append(final)
        if dropout > 0 and train and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, training=True)
    if lengths is not None:
        # ONNX leaves Y past sequence_lens undefined (onnxruntime writes zeros,
        # other runtimes may repeat the last state): zeros, as torch unpacks.
        layer_input = layer_input * _valid_steps(lengths, layer_input)
    return layer_input, [torch.cat(collected) for collected in finals]


def _layer_node(cell, input, initial, weights, has_biases, lengths):
    """One layer, all its directions, as one ONNX node. -> (output (T, B, D*H),
    final states, each (D, B, H))."""
    steps, batch = input.shape[0], input.shape[1]
    directions, hidden = len(weights), initial[0].shape[2]
    W = torch.stack([_onnx_gate_order(cell, w[0]) for w in weights])
    R = torch.stack([_onnx_gate_order(cell, w[1]) for w in weights])
    B = None
    if has_biases:
        B = torch.stack(
            [
                torch.cat([_onnx_gate_order(cell, w[2]), _onnx_gate_order(cell, w[3])])
                for w in weights
            ]
        )
    sequence_lens = lengths.to(torch.int32) if lengths is not None else None
    output, *finals = torch.onnx.ops.symbolic_multi_out(
        ONNX_OPS[cell],
        [input, W, R, B, sequence_lens, *initial],
        _attributes(cell, hidden, directions),
        dtypes=[input.dtype] * (1 + len(initial)),
        shapes=[(steps, directions, batch, hidden)] + [(directions, batch, hidden)] * len(initial),
    )
    # Y (T, D, B, H) -> (T, B, D*H): each step's directions side by side, as torch.nn's.
    return output.permute(0, 2, 1, 3).reshape(steps, batch, directions * hidden), finals


def _attributes(cell, hidden, directions):
    attributes = dict(
        hidden_size=hidden,
        direction="bidirectional" if directions == 2 else "forward",
        layout=0,  # time-major
    )
    if cell == "gru":
        attributes["linear_before_reset"] = 1
    nonlinearity = CELL_TYPES[cell].nonlinearity
    if nonlinearity is not None:
        attributes["activations"] = [nonlinearity.capitalize()] * directions
    return attributes


def _onnx_gate_order(cell, tensor):
    """A weight or bias of torch's gate blocks (G*H, ...) with its blocks in ONNX's order."""
    size = tensor.shape[0] // len(GATE_ORDER[cell])
    return torch.cat([tensor[i * size : (i + 1) * size] for i in GATE_ORDER[cell]])


def _valid_steps(lengths, like):
    """(T, B, 1) of like's dtype: 1 where step t < the sequence's length, else 0."""
    steps = torch.arange(like.shape[0], device=like.device).unsqueeze(1)
    return (steps < lengths.unsqueeze(0)).unsqueeze(2).to(like.dtype)


# ---------------------------------------------------------------- proj_size


def _projected_lstm_layer(input, initial, weights, has_biases, lengths):
    """A projected LSTM layer (per direction its weights w_ih, w_hh[, b_ih,
    b_hh], w_hr) as plain ops in one ONNX Scan over the steps, for all its
    directions (the reverse one on the sequences reversed within their
    lengths). -> (output (T, B, D*P), [h_n (D, B, P), c_n (D, B, H)])."""
    steps, batch = input.shape[0], input.shape[1]
    if lengths is None:
        lengths = torch.full((batch,), steps, dtype=torch.long, device=input.device)
    inputs = [input, _reverse_within_lengths(input, lengths)]
    input_gates = [  # x W_ih^T + b_ih + b_hh of each direction, all steps at once
        F.linear(x, w[0], w[2] + w[3] if has_biases else None) for x, w in zip(inputs, weights)
    ]
    # Detached: the graph is for inference, and a Scan over tensors that need
    # gradients is traced with its backward too (seconds per layer). Each
    # direction's tensors apart, all (T, B, ·) or (B, ·): Scan's body then runs
    # 2-D products only; the initial states copied: Scan takes no views.
    states = [(h0.detach().clone(), c0.detach().clone()) for h0, c0 in zip(*initial)]
    finals, outputs = scan(
        _projected_lstm_step([(w[1].detach(), w[-1].detach()) for w in weights]),
        states,
        ([gates.detach() for gates in input_gates], _valid_steps(lengths, input).bool()),
    )
    if len(outputs) == 2:
        outputs = [outputs[0], _reverse_within_lengths(outputs[1], lengths)]
    h_n, c_n = (torch.stack([state[k] for state in finals]) for k in (0, 1))
    return torch.cat(outputs, 2), [h_n, c_n]


def _projected_lstm_step(weights):
    """One step of torch.nn.LSTM with proj_size for each direction, its
    weights (w_hh, w_hr): state [(h (B, P), c (B, H))] per direction. A
    sequence past its length keeps its state and outputs zeros."""

    def step(states, inputs):
        input_gates, valid = inputs  # [(B, 4H) per direction], (B, 1)
        next_states, outputs = [], []
        for (h, c), x_gates, (w_hh, w_hr) in zip(states, input_gates, weights):
            i, f, g, o = (x_gates + F.linear(h, w_hh)).chunk(4, 1)
            c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_next = F.linear(torch.sigmoid(o) * torch.tanh(c_next), w_hr)
            h_next, c_next = torch.where(valid, h_next, h), torch.where(valid, c_next, c)
            next_states.append((h_next, c_next))
            outputs.append(h_next * valid)
        return next_states, outputs

    return step


def _reverse_within_lengths(x, lengths):
    """x (T, B, F) with each sequence's first `length` steps reversed; the
    steps past it stay. Its own inverse."""
    steps = torch.arange(x.shape[0], device=x.device).unsqueeze(1)  # (T, 1)
    source = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (T, B)
    return x.gather(0, source.unsqueeze(2).expand_as(x))
