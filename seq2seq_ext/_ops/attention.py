"""The attention ops (masked softmax, fused Bahdanau, Luong): for each, its
fake kernel, its autograd formula and autocast."""

import torch

from .. import reference
from .registration import grad_or_empty, new, only_needed, output_mask, register_op, zeros_if_none


def _context_and_weights(query, values):
    """Fake outputs of an attention op: context (rows, D) and weights (rows, S),
    where rows are the query's leading dimensions, (B) or (B, T)."""
    _, S, D = values.shape
    rows = query.shape[:-1]
    return new(query, *rows, D), new(query, *rows, S)


def _output_grads(grad_context, grad_weights, values, weights):
    """The gradients of an attention op's two outputs, (rows, D) and (rows, S),
    zeros for an output nobody used."""
    rows = weights.shape[:-1]
    return zeros_if_none(grad_context, values, *rows, values.shape[2]), zeros_if_none(
        grad_weights, weights, *weights.shape
    )


# ---------------------------------------------------------------- masked_softmax


def _masked_softmax_fake(scores, mask=None):
    return new(scores, *scores.shape)


def _masked_softmax_setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs, output)


def _masked_softmax_backward(ctx, grad_weights):
    _, _, weights = ctx.saved_tensors
    return torch.ops.seq2seq_ext.masked_softmax_backward(grad_weights, weights), None


def _masked_softmax_backward_fake(grad_weights, weights):
    return new(weights, *weights.shape)


register_op(
    "seq2seq_ext::masked_softmax",
    fake=_masked_softmax_fake,
    setup_context=_masked_softmax_setup_context,
    backward=_masked_softmax_backward,
    backward_fake=_masked_softmax_backward_fake,
    reference=reference.masked_softmax,
)

# ---------------------------------------------------------------- bahdanau_attention
# bahdanau_attention(query_proj, keys_proj, values, v, mask): the backward op's
# output_mask is (the score gradients: query_proj, keys_proj, v; values).
SCORE_ARGUMENTS, VALUES = (0, 1, 3), (2,)


def _bahdanau_attention_fake(query_proj, keys_proj, values, v, mask=None):
    return _context_and_weights(query_proj, values)


def _bahdanau_attention_setup_context(ctx, inputs, output):
    # Only the (B, S) weights beyond the inputs: the backward recomputes tanh.
    ctx.save_for_backward(*inputs, output[1])


def _bahdanau_attention_backward(ctx, grad_context, grad_weights):
    query_proj, keys_proj, values, v, _, weights = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.bahdanau_attention_backward(
        *_output_grads(grad_context, grad_weights, values, weights),
        query_proj,
        keys_proj,
        values,
        v,
        weights,
        output_mask(ctx, SCORE_ARGUMENTS, VALUES),
    )
    return only_needed(ctx, (*grads, None))


def _bahdanau_attention_backward_fake(
    grad_context, grad_weights, query_proj, keys_proj, values, v, weights, output_mask
):
    want_scores, want_values = output_mask
    return (
        grad_or_empty(want_scores, query_proj, query_proj.shape),
        grad_or_empty(want_scores, keys_proj, keys_proj.shape),
        grad_or_empty(want_values, values, values.shape),
        grad_or_empty(want_scores, v, v.shape),
    )


register_op(
    "seq2seq_ext::bahdanau_attention",
    fake=_bahdanau_attention_fake,
    setup_context=_bahdanau_attention_setup_context,
    backward=_bahdanau_attention_backward,
    backward_fake=_bahdanau_attention_backward_fake,
    reference=reference.bahdanau_attention,
)

# ---------------------------------------------------------------- luong_attention
# luong_attention(query, keys, values, mask, W): the backward op's output_mask
# is (query, keys, values, W).
QUERY, KEYS, W_ARGUMENT = (0,), (1,), (4,)


def _luong_attention_fake(query, keys, values, mask=None, W=None):
    return _context_and_weights(query, values)


def _luong_attention_setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs, output[1])


def _luong_attention_backward(ctx, grad_context, grad_weights):
    query, keys, values, _, W, weights = ctx.saved_tensors
    grad_query, grad_keys, grad_values, grad_W = torch.ops.seq2seq_ext.luong_attention_backward(
        *_output_grads(grad_context, grad_weights, values, weights),
        query,
        keys,
        values,
        W,
        weights,
        output_mask(ctx, QUERY, KEYS, VALUES, W_ARGUMENT),
    )
    return only_needed(ctx, (grad_query, grad_keys, grad_values, None, grad_W))


def _luong_attention_backward_fake(
    grad_context, grad_weights, query, keys, values, W, weights, output_mask
):
    want_query, want_keys, want_values, want_W = output_mask
    return (
        grad_or_empty(want_query, query, query.shape),
        grad_or_empty(want_keys, keys, keys.shape),
        grad_or_empty(want_values, values, values.shape),
        grad_or_empty(want_W and W is not None, query, W.shape if W is not None else ()),
    )


register_op(
    "seq2seq_ext::luong_attention",
    fake=_luong_attention_fake,
    setup_context=_luong_attention_setup_context,
    backward=_luong_attention_backward,
    backward_fake=_luong_attention_backward_fake,
    reference=reference.luong_attention,
)
