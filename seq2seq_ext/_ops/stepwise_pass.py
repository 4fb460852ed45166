"""The decoder's step-by-step training pass (seq2seq_ext::decoder_stepwise_pass,
csrc/stepwise_pass/stepwise_pass.h): its fake kernel and its autograd formula, which calls
the backward op (the backward through time in C++). Its arguments are a
model's weights, so no autocast: under autocast the model keeps its Python
loop (see seq2seq_ext/models/loop_ops.py)."""

import torch

from ..cell_types import CELL_TYPES, GRU, LSTM
from .registration import new, once_differentiable

# decoder_stepwise_pass(weights, cell, attention, input_feeding, state, values,
# mask, keys_proj, tgt_in, use_truth, dropout, padding_idx, project): the
# positions of the differentiable ones, and of the dropout list.
WEIGHTS, STATE, VALUES, KEYS_PROJ, DROPOUT = 0, 4, 5, 7, 10
# What the cell's backward reads per unit, as the layer ops save it (layers.py's
# fakes; DecoderWeights::workspace_size): the LSTM's activated gates, the GRU's
# r, z, n and W_hn h + b_hn; the Elman RNN reads only h.
WORKSPACE_UNITS = {"lstm": LSTM.gates, "gru": GRU.gates + 1, "rnn_tanh": 0, "rnn_relu": 0}


def _fake(
    weights, cell, attention, feeding, state, values, mask, keys_proj, tgt_in, *rest, project=True
):
    # rest: use_truth, dropout, padding_idx (which no shape depends on), and
    # project if given by position.
    project = rest[3] if len(rest) > 3 else project
    B, S, K = values.shape
    T = tgt_in.shape[1]
    L, _, H = state[0].shape
    rows, V, W = T * B, weights[-1].shape[0], WORKSPACE_UNITS[cell] * H
    attends = attention != "none"

    def sized(wanted, *shape):
        return new(values, *shape) if wanted else new(values, 0)

    return (
        new(values, B, T, V if project else H),
        tgt_in.new_empty(B, T),
        new(values, rows, weights[1].shape[1]),
        new(values, L, rows, H),
        sized(CELL_TYPES[cell].states == 2, L, rows, H),
        sized(W > 0, L, rows, W),
        sized(attends, rows, K),
        sized(attends, rows, S),
        sized(attends, rows, H),
    )


def _setup_context(ctx, inputs, output):
    weights, cell, attention, input_feeding, state, values, mask, keys_proj, _, _, dropout, pad = (
        inputs[:12]
    )
    project = inputs[12] if len(inputs) > 12 else True
    ctx.config = (cell, attention, input_feeding, pad, project)
    ctx.list_lengths = (len(weights), len(state), len(dropout))
    ctx.has_keys_proj = keys_proj is not None
    saved = output[1:]  # tokens and the buffers
    ctx.save_for_backward(*weights, *state, *dropout, values, mask, keys_proj, *saved)
    ctx.mark_non_differentiable(*saved)
    ctx.set_materialize_grads(False)  # no zeros of the buffers' sizes per backward


def _backward(ctx, grad_logits, *_grads_of_saved):
    cell, attention, input_feeding, pad, project = ctx.config
    tensors = ctx.saved_tensors
    lists = []  # weights, state, dropout
    for length in ctx.list_lengths:
        lists.append(list(tensors[:length]))
        tensors = tensors[length:]
    weights, state, dropout = lists
    values, mask, keys_proj, *saved = tensors
    if grad_logits is None:  # autograd may run the backward with no gradient for them
        width = weights[-1].shape[0] if project else state[0].shape[2]
        grad_logits = values.new_zeros(*saved[0].shape, width)
    grad_weights, grad_state, grad_values, grad_keys_proj = (
        torch.ops.seq2seq_ext.decoder_stepwise_pass_backward(
            grad_logits,
            weights,
            cell,
            attention,
            input_feeding,
            state,
            values,
            mask,
            keys_proj,
            dropout,
            pad,
            *saved,
            project,
        )
    )
    if not project:  # the output layer's weights were not used
        grad_weights = [*grad_weights[:-2], None, None]
    grads = [None] * len(ctx.needs_input_grad)
    grads[WEIGHTS], grads[STATE], grads[VALUES] = grad_weights, grad_state, grad_values
    grads[KEYS_PROJ] = grad_keys_proj if ctx.has_keys_proj else None
    grads[DROPOUT] = [None] * len(dropout)  # a list for a list argument
    return tuple(grads)


def _backward_fake(grad_logits, weights, *args, project=True):
    # The backward op's arguments after grad_logits: the forward's up to
    # keys_proj, then dropout, padding_idx, the saved tensors and project.
    _cell, attention, _feeding, state, values, _mask, keys_proj = args[:7]
    project = args[18] if len(args) > 18 else project
    grads = [new(w, *w.shape) for w in weights]
    if not project:
        grads[-2:] = [new(values, 0), new(values, 0)]
    return (
        grads,
        [new(s, *s.shape) for s in state],
        new(values, *values.shape),
        new(values, *keys_proj.shape) if attention == "bahdanau" else new(values, 0),
    )


torch.library.register_fake("seq2seq_ext::decoder_stepwise_pass", _fake)
torch.library.register_autograd(
    "seq2seq_ext::decoder_stepwise_pass",
    once_differentiable("seq2seq_ext::decoder_stepwise_pass", _backward),
    setup_context=_setup_context,
)
torch.library.register_fake("seq2seq_ext::decoder_stepwise_pass_backward", _backward_fake)
