"""The fused output layer and cross-entropy (seq2seq_ext::output_cross_entropy,
csrc/loss/loss_ops.h): its fake kernel and its autograd formula. The op
computes the loss's gradients with the loss, so the backward scales them by
the loss's gradient and runs no GEMM; it has no double backward (a clear
error). Under autocast it runs in the arguments' dtype, as torch's
cross_entropy runs in float32."""

import torch

from .registration import new, once_differentiable, register_autocast

OP = "seq2seq_ext::output_cross_entropy"
ARGUMENTS = 6  # hidden, weight, bias, target, ignore_index, compute_grads


def _fake(hidden, weight, bias, target, ignore_index, compute_grads):
    if not compute_grads:
        return new(hidden), new(hidden, 0), new(hidden, 0), new(hidden, 0)
    grad_bias = new(hidden, *bias.shape) if bias is not None else new(hidden, 0)
    return new(hidden), new(hidden, *hidden.shape), new(hidden, *weight.shape), grad_bias


def _setup_context(ctx, inputs, output):
    hidden, weight, bias, target, ignore_index, compute_grads = inputs
    ctx.compute_grads = compute_grads
    ctx.save_for_backward(*output[1:])  # the gradients the forward computed
    ctx.mark_non_differentiable(*output[1:])
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_loss, *_grads_of_gradients):
    needs = ctx.needs_input_grad
    if grad_loss is None or not any(needs[:3]):
        return (None,) * ARGUMENTS
    if not ctx.compute_grads:
        raise RuntimeError(
            "output_cross_entropy: called with compute_grads=False, so it has no gradients"
            " (seq2seq_ext.functional.output_cross_entropy sets it when one is needed)"
        )
    grads = ctx.saved_tensors
    return (
        *(grad_loss * grad if need else None for grad, need in zip(grads, needs[:3])),
        None,
        None,
        None,
    )


torch.library.register_fake(OP, _fake)
torch.library.register_autograd(
    OP, once_differentiable(OP, _backward), setup_context=_setup_context
)
register_autocast(OP, cast_inputs=False)
