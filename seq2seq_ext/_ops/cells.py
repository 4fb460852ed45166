"""The cell ops (one step of an LSTM, GRU or Elman RNN): for each, its fake
kernel (output shapes, for torch.compile and meta tensors), its autograd
formula (the op's backward kernel) and autocast. The schemas are in
csrc/cells/schema.cpp."""

import torch

from .. import reference
from ..cell_types import GRU, LSTM
from .registration import (
    grad_or_empty,
    new,
    only_needed,
    output_mask,
    register_op,
)

# The forward ops' argument positions, as output_mask groups them: the input,
# the state hx, and the weights and biases (w_ih, w_hh, b_ih, b_hh).
INPUT, HX = (0,), (1,)
LSTM_WEIGHTS = range(3, 7)  # lstm_cell(input, hx, cx, w_ih, w_hh, b_ih, b_hh)
WEIGHTS = range(2, 6)  # gru_cell / rnn_*_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def _fake_cell_grads(output_mask, input, hx, w_ih, w_hh):
    """Fake gradients of a cell backward op: input, hx, w_ih, w_hh and the
    (one) bias, each empty where output_mask = (input, hx, weights) says no."""
    want_input, want_hx, want_weights = output_mask
    return (
        grad_or_empty(want_input, input, input.shape),
        grad_or_empty(want_hx, hx, hx.shape),
        grad_or_empty(want_weights, w_ih, w_ih.shape),
        grad_or_empty(want_weights, w_hh, w_hh.shape),
        grad_or_empty(want_weights, w_hh, w_hh.shape[:1]),
    )


# ---------------------------------------------------------------- lstm_cell


def _lstm_cell_fake(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None):
    B, H = input.shape[0], w_hh.shape[1]
    return new(cx, B, H), new(cx, B, H), new(cx, B, LSTM.gates * H)


def _lstm_cell_setup_context(ctx, inputs, output):
    _, cy, workspace = output
    ctx.save_for_backward(*inputs, cy, workspace)
    ctx.mark_non_differentiable(workspace)


def _lstm_cell_backward(ctx, grad_hy, grad_cy, _grad_workspace):
    input, hx, cx, w_ih, w_hh, _, _, cy, workspace = ctx.saved_tensors
    grad_input, grad_hx, grad_cx, grad_w_ih, grad_w_hh, grad_bias = (
        torch.ops.seq2seq_ext.lstm_cell_backward(
            grad_hy,
            grad_cy,
            input,
            hx,
            cx,
            cy,
            workspace,
            w_ih,
            w_hh,
            output_mask(ctx, INPUT, HX, LSTM_WEIGHTS),
        )
    )
    return only_needed(
        ctx, (grad_input, grad_hx, grad_cx, grad_w_ih, grad_w_hh, grad_bias, grad_bias)
    )


def _lstm_cell_backward_fake(
    grad_hy, grad_cy, input, hx, cx, cy, workspace, w_ih, w_hh, output_mask
):
    grad_input, grad_hx, grad_w_ih, grad_w_hh, grad_bias = _fake_cell_grads(
        output_mask, input, hx, w_ih, w_hh
    )
    return grad_input, grad_hx, new(cx, *cx.shape), grad_w_ih, grad_w_hh, grad_bias


register_op(
    "seq2seq_ext::lstm_cell",
    fake=_lstm_cell_fake,
    setup_context=_lstm_cell_setup_context,
    backward=_lstm_cell_backward,
    backward_fake=_lstm_cell_backward_fake,
    reference=lambda input, hx, cx, *weights: reference.lstm_cell(input, (hx, cx), *weights),
)

# ---------------------------------------------------------------- gru_cell


def _gru_cell_fake(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    B, H = input.shape[0], w_hh.shape[1]
    # The workspace: r, z, n and W_hn h + b_hn for each unit.
    return new(hx, B, H), new(hx, B, (GRU.gates + 1) * H)


def _gru_cell_setup_context(ctx, inputs, output):
    _, workspace = output
    ctx.save_for_backward(*inputs, workspace)
    ctx.mark_non_differentiable(workspace)


def _gru_cell_backward(ctx, grad_hy, _grad_workspace):
    input, hx, w_ih, w_hh, _, _, workspace = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.gru_cell_backward(
        grad_hy, input, hx, workspace, w_ih, w_hh, output_mask(ctx, INPUT, HX, WEIGHTS)
    )
    return only_needed(ctx, grads)  # (input, hx, w_ih, w_hh, b_ih, b_hh)


def _gru_cell_backward_fake(grad_hy, input, hx, workspace, w_ih, w_hh, output_mask):
    grads = _fake_cell_grads(output_mask, input, hx, w_ih, w_hh)
    return (*grads, new(grads[-1], *grads[-1].shape))  # b_ih's and b_hh's differ


register_op(
    "seq2seq_ext::gru_cell",
    fake=_gru_cell_fake,
    setup_context=_gru_cell_setup_context,
    backward=_gru_cell_backward,
    backward_fake=_gru_cell_backward_fake,
    reference=reference.gru_cell,
)

# ---------------------------------------------------------------- rnn_tanh_cell, rnn_relu_cell
# The two Elman cells differ only in their kernels: one fake, one setup_context,
# one backward formula (around each cell's own backward op).


def _rnn_cell_fake(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return new(hx, input.shape[0], w_hh.shape[1])


def _rnn_cell_setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs, output)


def _rnn_cell_backward_through(backward_op):
    def backward(ctx, grad_hy):
        input, hx, w_ih, w_hh, _, _, hy = ctx.saved_tensors
        grad_input, grad_hx, grad_w_ih, grad_w_hh, grad_bias = backward_op(
            grad_hy, input, hx, hy, w_ih, w_hh, output_mask(ctx, INPUT, HX, WEIGHTS)
        )
        return only_needed(ctx, (grad_input, grad_hx, grad_w_ih, grad_w_hh, grad_bias, grad_bias))

    return backward


def _rnn_cell_backward_fake(grad_hy, input, hx, hy, w_ih, w_hh, output_mask):
    return _fake_cell_grads(output_mask, input, hx, w_ih, w_hh)


register_op(
    "seq2seq_ext::rnn_tanh_cell",
    fake=_rnn_cell_fake,
    setup_context=_rnn_cell_setup_context,
    backward=_rnn_cell_backward_through(torch.ops.seq2seq_ext.rnn_tanh_cell_backward),
    backward_fake=_rnn_cell_backward_fake,
    reference=reference.rnn_tanh_cell,
)

register_op(
    "seq2seq_ext::rnn_relu_cell",
    fake=_rnn_cell_fake,
    setup_context=_rnn_cell_setup_context,
    backward=_rnn_cell_backward_through(torch.ops.seq2seq_ext.rnn_relu_cell_backward),
    backward_fake=_rnn_cell_backward_fake,
    reference=reference.rnn_relu_cell,
)
