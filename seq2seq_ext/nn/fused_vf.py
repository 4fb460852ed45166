"""This module is the fused twin of ``torch._VF`` for torch.nn's recurrent
modules: ``lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu`` (a whole stack of
layers, over padded or packed input) and the four cells, with ``_VF``'s
arguments and results, computed by this package's ops.

The Fused modules subclass torch.nn's and run torch.nn's own ``forward`` code
with the name ``_VF`` in it bound to this module (``torch_forward_on_fused_ops``):
every argument check and error message, the unbatched and PackedSequence
handling, are torch's, whatever its version; only the computation is ours.

A stack runs layer by layer, each direction one layer op over the packed layout
(``functional.lstm_layer`` & co.); the reverse direction runs on the sequences
reversed within their lengths (``packed.reverser``). torch.nn drops out between
layers, never after the last one, with the same random draws as here.
"""

import sys
import types

import torch
import torch.nn.functional as F

from .. import functional
from ..cell_types import CELL_TYPES
from ..onnx import traced_modules
from ..onnx.tracing import exporting_to_onnx
from .packed import StaticPacking, reverser

# The per-layer op of each stack; the LSTM's also takes c0 and w_hr.
_LAYER_OPS = {
    "lstm": functional.lstm_layer,
    "gru": functional.gru_layer,
    "rnn_tanh": functional.rnn_tanh_layer,
    "rnn_relu": functional.rnn_relu_layer,
}


# ---------------------------------------------------------------- cells
# functional's cells have _VF's arguments and results; these add the checks
# _VF's cells make, with their messages (the ops' own name the op's arguments).


def _check_cell(input, states, w_ih, w_hh):
    if input.size(1) != w_ih.size(1):
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.size(1)} expected {w_ih.size(1)}"
        )
    for label, hx in enumerate(states):
        if input.size(0) != hx.size(0):
            raise RuntimeError(
                f"Input batch size {input.size(0)} doesn't match hidden{label} batch size "
                f"{hx.size(0)}"
            )
        if hx.size(1) != w_hh.size(1):
            raise RuntimeError(
                f"hidden{label} has inconsistent hidden_size: got {hx.size(1)}, expected "
                f"{w_hh.size(1)}"
            )


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell(input, hx, w_ih, w_hh)
    return functional.lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell(input, (hx,), w_ih, w_hh)
    return functional.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell(input, (hx,), w_ih, w_hh)
    return functional.rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell(input, (hx,), w_ih, w_hh)
    return functional.rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


# ---------------------------------------------------------------- stacks


def lstm(*args):
    """_VF.lstm(input, (h0, c0), params, has_biases, num_layers, dropout, train,
    bidirectional, batch_first) -> (output, h_n, c_n); or, packed,
    _VF.lstm(data, batch_sizes, (h0, c0), params, ...) -> (output data, h_n, c_n)."""
    return _stack("lstm", args)


def gru(*args):
    """_VF.gru(input, h0, params, ...) -> (output, h_n), padded or packed as lstm."""
    return _stack("gru", args)


def rnn_tanh(*args):
    """_VF.rnn_tanh(input, h0, params, ...) -> (output, h_n), as gru."""
    return _stack("rnn_tanh", args)


def rnn_relu(*args):
    """_VF.rnn_relu(input, h0, params, ...) -> (output, h_n), as gru."""
    return _stack("rnn_relu", args)


def _stack(cell, args):
    """A stack of layers with _VF's arguments: padded (input, hx, params,
    has_biases, num_layers, dropout, train, bidirectional, batch_first) or packed
    (data, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
    bidirectional); hx is (h0, c0) for the LSTM, h0 otherwise, each
    (layers * directions, B, size)."""
    second = args[1]
    packed = isinstance(second, torch.Tensor) and second.dim() == 1 and second.dtype == torch.int64
    if exporting_to_onnx():  # ONNX has no op of this package: standard ONNX nodes instead
        return traced_modules.stack(cell, args, packed)
    if packed:
        data, batch_sizes, hx, params, *options = args
        _check_devices(data, hx, params)
        output, states = _run_layers(cell, data, batch_sizes, hx, params, *options)
        return (output, *states)
    input, hx, params, *options, batch_first = args  # options as in the packed case
    _check_devices(input, hx, params)
    time_major = input.transpose(0, 1) if batch_first else input
    steps, batch = time_major.shape[:2]
    data = time_major.reshape(steps * batch, time_major.shape[2])
    batch_sizes = torch.full((steps,), batch, dtype=torch.long)
    output, states = _run_layers(
        cell, data, batch_sizes, hx, params, *options, padded=(steps, batch)
    )
    output = output.view(steps, batch, output.shape[-1])
    return (output.transpose(0, 1) if batch_first else output, *states)


def _check_devices(input, hx, params):
    """_VF's check that everything is on the input's device, with its message."""
    for kind, tensors in (
        ("hidden", hx if isinstance(hx, tuple) else (hx,)),
        ("parameter", params),
    ):
        for t in tensors:
            if t.device != input.device:
                raise RuntimeError(
                    f"Input and {kind} tensors are not at the same device, found input tensor "
                    f"at {input.device} and {kind} tensor at {t.device}"
                )


def _run_layers(
    cell,
    data,
    batch_sizes,
    hx,
    params,
    has_biases,
    num_layers,
    dropout,
    train,
    bidirectional,
    padded=None,
):
    """Every layer and direction over packed data (padded: the (steps, batch) of
    a padded batch); -> (output, final states, each (layers * directions, B, size))."""
    directions = 2 if bidirectional else 1
    states = list(hx) if cell == "lstm" else [hx]
    per_layer = len(params) // (num_layers * directions)  # w_ih, w_hh[, b_ih, b_hh][, w_hr]
    has_projection = per_layer == 2 + 2 * has_biases + 1
    if bidirectional:
        reverse = reverser(batch_sizes, states[0].shape[1], data.shape[0], data.device, padded)
    finals = [[] for _ in states]
    layer_input = data
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            weights = params[index * per_layer : (index + 1) * per_layer]
            w_ih, w_hh = weights[:2]
            biases = weights[2:4] if has_biases else [None, None]
            extra = [weights[-1] if has_projection else None] if cell == "lstm" else []
            x = reverse(layer_input) if direction == 1 else layer_input
            out, *final = _LAYER_OPS[cell](
                x, batch_sizes, *(s[index] for s in states), w_ih, w_hh, *biases, *extra
            )
            outputs.append(reverse(out) if direction == 1 else out)
            for collected, state in zip(finals, final):
                collected.append(state)
        layer_input = torch.cat(outputs, 1) if directions == 2 else outputs[0]
        if dropout > 0 and train and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, training=True)
    return layer_input, [torch.stack(collected) for collected in finals]


def run_with_lengths(module, input, lengths):
    """What a Fused LSTM / GRU / RNN gives for padded `input` whose sequences
    have `lengths` (B,), from zero initial states: module(pack_padded_sequence(
    input, lengths, module.batch_first, enforce_sorted=False)), its output
    unpacked with zeros past each length, and its final states. Its shapes
    depend on input's alone (``packed.StaticPacking``), so torch.export can
    trace it, where pack_padded_sequence's rows depend on the lengths' values.
    Under ONNX export the lengths become the ONNX nodes' sequence_lens."""
    cell = _CELL_OF_MODE[module.mode]
    if exporting_to_onnx():
        return traced_modules.with_lengths(module, cell, input, lengths)
    x = input.transpose(0, 1) if module.batch_first else input
    steps, batch = x.shape[:2]
    packing = StaticPacking(lengths, steps, batch)
    layers = module.num_layers * (2 if module.bidirectional else 1)
    h0 = x.new_zeros(layers, packing.sequences, module.proj_size or module.hidden_size)
    hx = (h0, x.new_zeros(layers, packing.sequences, module.hidden_size)) if cell == "lstm" else h0
    output, states = _run_layers(
        cell,
        packing.pack(x),
        packing.batch_sizes,
        hx,
        module._flat_weights,
        module.bias,
        module.num_layers,
        module.dropout,
        module.training,
        module.bidirectional,
    )
    output = packing.unpack(output)
    final = [packing.final_states(state) for state in states]
    return (output.transpose(0, 1) if module.batch_first else output), (
        tuple(final) if cell == "lstm" else final[0]
    )


_CELL_OF_MODE = {cell.torch_mode: cell.name for cell in CELL_TYPES.values()}


def torch_forward_on_fused_ops(torch_class):
    """torch_class.forward, the very code of torch.nn's module, with the name
    ``_VF`` it calls bound to this module instead of torch's."""
    forward = torch_class.forward
    fused = types.FunctionType(
        forward.__code__,
        {**forward.__globals__, "_VF": sys.modules[__name__]},
        forward.__name__,
        forward.__defaults__,
        forward.__closure__,
    )
    fused.__kwdefaults__ = forward.__kwdefaults__
    fused.__doc__ = forward.__doc__
    return fused
