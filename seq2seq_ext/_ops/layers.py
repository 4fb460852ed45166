"""The layer ops (one direction of one LSTM, GRU or Elman RNN layer over every
step of a packed batch): for each, its fake kernel, its autograd formula and
autocast. Output shapes depend on the shapes of the arguments (N rows, batch
B), never on the values in batch_sizes, so the fakes need no data."""

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from .. import reference
from ..cell_types import GRU, LSTM
from .registration import (
    grad_or_empty,
    new,
    only_needed,
    output_mask,
    register_op,
    zeros_where_missing,
)

# The CPU keeps packed copies of W_hh while a weight's version counter says it
# is unchanged (csrc/layers/cpu/packed_weights.h). torch's fused optimizers
# (Adam(fused=True), ...) update weights in place without bumping their
# version: so every torch.optim step empties that cache.
register_optimizer_step_post_hook(
    lambda optimizer, args, kwargs: torch.ops.seq2seq_ext.clear_packed_weights()
)

# The forward ops' argument positions, as output_mask groups them: (input,
# nothing, weights and biases). The state gradients come with the time loop,
# so no GEMM is asked for them.
INPUT, NO_GEMM = (0,), ()
LSTM_WEIGHTS = range(4, 9)  # lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
WEIGHTS = range(3, 7)  # gru_layer / rnn_*_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)


def _fake_layer_grads(output_mask, input, h0, w_ih, w_hh):
    """Fake gradients of a layer backward op: input, h0, w_ih, w_hh and the
    (one) bias; input and weights empty where output_mask says no."""
    want_input, _, want_weights = output_mask
    return (
        grad_or_empty(want_input, input, input.shape),
        new(h0, *h0.shape),
        grad_or_empty(want_weights, w_ih, w_ih.shape),
        grad_or_empty(want_weights, w_hh, w_hh.shape),
        grad_or_empty(want_weights, w_hh, w_hh.shape[:1]),
    )


# ---------------------------------------------------------------- lstm_layer


def _lstm_layer_fake(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    N, H = input.shape[0], c0.shape[1]
    unprojected_rows = N if w_hr is not None else 0
    return (
        new(h0, N, h0.shape[1]),
        new(h0, *h0.shape),
        new(c0, *c0.shape),
        new(c0, N, H),
        new(c0, N, LSTM.gates * H),
        new(c0, unprojected_rows, H),
    )


def _lstm_layer_setup_context(ctx, inputs, output):
    out, _, _, cells, workspace, unprojected = output
    ctx.save_for_backward(*inputs, out, cells, workspace, unprojected)
    ctx.mark_non_differentiable(cells, workspace, unprojected)
    ctx.set_materialize_grads(False)  # no zeros of the saved tensors' size per backward


def _lstm_layer_backward(ctx, grad_output, grad_hy, grad_cy, *_saved_grads):
    (input, batch_sizes, h0, c0, w_ih, w_hh, _, _, w_hr, out, cells, workspace, unprojected) = (
        ctx.saved_tensors
    )
    grad_output, grad_hy, grad_cy = zeros_where_missing(
        (grad_output, grad_hy, grad_cy), (out, h0, c0)
    )
    grad_input, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_bias, grad_w_hr = (
        torch.ops.seq2seq_ext.lstm_layer_backward(
            grad_output,
            grad_hy,
            grad_cy,
            input,
            batch_sizes,
            h0,
            c0,
            w_ih,
            w_hh,
            w_hr,
            out,
            cells,
            workspace,
            unprojected,
            output_mask(ctx, INPUT, NO_GEMM, LSTM_WEIGHTS),
        )
    )
    return only_needed(
        ctx,
        (grad_input, None, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_bias, grad_bias, grad_w_hr),
    )


def _lstm_layer_backward_fake(
    grad_output,
    grad_hy,
    grad_cy,
    input,
    batch_sizes,
    h0,
    c0,
    w_ih,
    w_hh,
    w_hr,
    output,
    cells,
    workspace,
    unprojected,
    output_mask,
):
    grad_input, grad_h0, grad_w_ih, grad_w_hh, grad_bias = _fake_layer_grads(
        output_mask, input, h0, w_ih, w_hh
    )
    want_w_hr = w_hr is not None and output_mask[2]
    grad_w_hr = grad_or_empty(want_w_hr, h0, w_hr.shape if w_hr is not None else ())
    return grad_input, grad_h0, new(c0, *c0.shape), grad_w_ih, grad_w_hh, grad_bias, grad_w_hr


register_op(
    "seq2seq_ext::lstm_layer",
    fake=_lstm_layer_fake,
    setup_context=_lstm_layer_setup_context,
    backward=_lstm_layer_backward,
    backward_fake=_lstm_layer_backward_fake,
    reference=reference.lstm_layer,
)

# ---------------------------------------------------------------- gru_layer


def _gru_layer_fake(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    N, H = input.shape[0], h0.shape[1]
    # The workspace: r, z, n and W_hn h + b_hn for each unit of each row.
    return new(h0, N, H), new(h0, *h0.shape), new(h0, N, (GRU.gates + 1) * H)


def _gru_layer_setup_context(ctx, inputs, output):
    out, _, workspace = output
    ctx.save_for_backward(*inputs, out, workspace)
    ctx.mark_non_differentiable(workspace)
    ctx.set_materialize_grads(False)  # no zeros of the workspace's size per backward


def _gru_layer_backward(ctx, grad_output, grad_hy, _grad_workspace):
    input, batch_sizes, h0, w_ih, w_hh, _, _, out, workspace = ctx.saved_tensors
    grad_output, grad_hy = zeros_where_missing((grad_output, grad_hy), (out, h0))
    grad_input, grad_h0, *weight_grads = torch.ops.seq2seq_ext.gru_layer_backward(
        grad_output,
        grad_hy,
        input,
        batch_sizes,
        h0,
        w_ih,
        w_hh,
        out,
        workspace,
        output_mask(ctx, INPUT, NO_GEMM, WEIGHTS),
    )
    return only_needed(ctx, (grad_input, None, grad_h0, *weight_grads))


def _gru_layer_backward_fake(
    grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, output, workspace, output_mask
):
    grads = _fake_layer_grads(output_mask, input, h0, w_ih, w_hh)
    return (*grads, new(grads[-1], *grads[-1].shape))  # b_ih's and b_hh's differ


register_op(
    "seq2seq_ext::gru_layer",
    fake=_gru_layer_fake,
    setup_context=_gru_layer_setup_context,
    backward=_gru_layer_backward,
    backward_fake=_gru_layer_backward_fake,
    reference=reference.gru_layer,
)

# ---------------------------------------------------------------- rnn_tanh_layer, rnn_relu_layer
# The two Elman layers differ only in their kernels (see cells.py).


def _rnn_layer_fake(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    return new(h0, input.shape[0], h0.shape[1]), new(h0, *h0.shape)


def _rnn_layer_setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs, output[0])


def _rnn_layer_backward_through(backward_op):
    def backward(ctx, grad_output, grad_hy):
        input, batch_sizes, h0, w_ih, w_hh, _, _, out = ctx.saved_tensors
        grad_input, grad_h0, grad_w_ih, grad_w_hh, grad_bias = backward_op(
            grad_output,
            grad_hy,
            input,
            batch_sizes,
            h0,
            w_ih,
            w_hh,
            out,
            output_mask(ctx, INPUT, NO_GEMM, WEIGHTS),
        )
        return only_needed(
            ctx, (grad_input, None, grad_h0, grad_w_ih, grad_w_hh, grad_bias, grad_bias)
        )

    return backward


def _rnn_layer_backward_fake(
    grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, output, output_mask
):
    return _fake_layer_grads(output_mask, input, h0, w_ih, w_hh)


register_op(
    "seq2seq_ext::rnn_tanh_layer",
    fake=_rnn_layer_fake,
    setup_context=_rnn_layer_setup_context,
    backward=_rnn_layer_backward_through(torch.ops.seq2seq_ext.rnn_tanh_layer_backward),
    backward_fake=_rnn_layer_backward_fake,
    reference=reference.rnn_tanh_layer,
)

register_op(
    "seq2seq_ext::rnn_relu_layer",
    fake=_rnn_layer_fake,
    setup_context=_rnn_layer_setup_context,
    backward=_rnn_layer_backward_through(torch.ops.seq2seq_ext.rnn_relu_layer_backward),
    backward_fake=_rnn_layer_backward_fake,
    reference=reference.rnn_relu_layer,
)
