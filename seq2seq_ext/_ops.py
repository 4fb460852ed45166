"""Loads the compiled kernels (``seq2seq_ext._C``) and registers what torch
needs beyond them, per op: a fake implementation (shapes only, for
``torch.compile`` and meta tensors), the autograd formula (it calls the op's
backward kernel) and autocast.

If ``_C`` cannot be loaded, the package still imports: it warns once and
``functional`` runs ``reference`` instead. ``SEQ2SEQ_EXT_FORCE_REFERENCE=1``
does the same on purpose (for debugging and for the fallback's own tests).
"""
import os
import warnings

import torch

OPS = ("lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
       "lstm_layer", "gru_layer", "rnn_tanh_layer", "rnn_relu_layer",
       "masked_softmax", "bahdanau_attention", "luong_attention")
DEVICE_TYPES = ("cpu", "cuda")


def _load_compiled():
    if os.environ.get("SEQ2SEQ_EXT_FORCE_REFERENCE") == "1":
        return None, "SEQ2SEQ_EXT_FORCE_REFERENCE=1"
    try:
        from . import _C
    except ImportError as error:
        reason = f"{type(error).__name__}: {error}"
        if os.path.exists(os.path.join(os.path.dirname(__file__), os.pardir, "setup.py")):
            reason += (f"; this is the source checkout at {os.path.dirname(__file__)}, which has no "
                       "built library: build it in place with `pip install --no-build-isolation -e .`, "
                       "or run from outside the checkout")
        return None, reason
    return _C, None


_C, LOAD_ERROR = _load_compiled()
if _C is None:
    warnings.warn(
        f"seq2seq_ext: compiled kernels unavailable ({LOAD_ERROR}); "
        "running the pure-PyTorch reference implementation",
        RuntimeWarning,
        stacklevel=2,
    )


def _has_kernel(op: str, device_type: str) -> bool:
    if _C is None:
        return False
    key = torch._C._dispatch_key_for_device(device_type).upper()
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"seq2seq_ext::{op}", key)


# (op, device type) -> whether a compiled kernel serves it. A plain dict, so
# that torch.compile traces the lookup in functional.py without a graph break.
KERNELS = {(op, device): _has_kernel(op, device) for op in OPS for device in DEVICE_TYPES}


def backend_info() -> dict:
    """Which implementation serves each op on each device type, and why."""
    return {
        "compiled": _C is not None,
        "load_error": LOAD_ERROR,
        "cpu_kernels": all(KERNELS[(op, "cpu")] for op in OPS),
        "cuda_kernels": all(KERNELS[(op, "cuda")] for op in OPS),
        "cuda_available": torch.cuda.is_available(),
        "ops": {
            op: {device: "kernel" if KERNELS[(op, device)] else "reference" for device in DEVICE_TYPES}
            for op in OPS
        },
    }


# ---------------------------------------------------------------- fake kernels

def _rows_hidden(input, w_hh):
    return input.shape[0], w_hh.shape[1]


def _new(like, *shape):
    return like.new_empty(shape)  # contiguous, like every kernel output


def _masked_grads(output_mask, input, hx, w_ih, w_hh, bias_size):
    """Fake gradients (input, hx, w_ih, w_hh, bias) of a backward op: the shape
    of their argument, or empty where output_mask = (input, hx, weights) says no."""
    want_input, want_hx, want_weights = output_mask

    def grad(want, like, *shape):
        return _new(like, *shape) if want else _new(like, 0)

    return (grad(want_input, input, *input.shape), grad(want_hx, hx, *hx.shape),
            grad(want_weights, w_ih, *w_ih.shape), grad(want_weights, w_hh, *w_hh.shape),
            grad(want_weights, w_hh, bias_size))


def _register_fakes():
    @torch.library.register_fake("seq2seq_ext::lstm_cell")
    def _(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None):
        B, H = _rows_hidden(input, w_hh)
        return _new(cx, B, H), _new(cx, B, H), _new(cx, B, 4 * H)

    @torch.library.register_fake("seq2seq_ext::lstm_cell_backward")
    def _(grad_hy, grad_cy, input, hx, cx, cy, workspace, w_ih, w_hh, output_mask):
        grad_input, grad_hx, grad_w_ih, grad_w_hh, grad_bias = _masked_grads(
            output_mask, input, hx, w_ih, w_hh, w_hh.shape[0])
        return grad_input, grad_hx, _new(cx, *cx.shape), grad_w_ih, grad_w_hh, grad_bias

    @torch.library.register_fake("seq2seq_ext::gru_cell")
    def _(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
        B, H = _rows_hidden(input, w_hh)
        return _new(hx, B, H), _new(hx, B, 4 * H)

    @torch.library.register_fake("seq2seq_ext::gru_cell_backward")
    def _(grad_hy, input, hx, workspace, w_ih, w_hh, output_mask):
        grads = _masked_grads(output_mask, input, hx, w_ih, w_hh, w_hh.shape[0])
        return (*grads, grads[-1].new_empty(grads[-1].shape))

    for name in ("rnn_tanh_cell", "rnn_relu_cell"):
        @torch.library.register_fake(f"seq2seq_ext::{name}")
        def _(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
            return _new(hx, *_rows_hidden(input, w_hh))

        @torch.library.register_fake(f"seq2seq_ext::{name}_backward")
        def _(grad_hy, input, hx, hy, w_ih, w_hh, output_mask):
            return _masked_grads(output_mask, input, hx, w_ih, w_hh, w_hh.shape[0])

    def grad_like(want, like):
        return _new(like, *like.shape) if want and like is not None else _new(like, 0)

    @torch.library.register_fake("seq2seq_ext::masked_softmax")
    def _(scores, mask=None):
        return _new(scores, *scores.shape)

    @torch.library.register_fake("seq2seq_ext::masked_softmax_backward")
    def _(grad_weights, weights):
        return _new(weights, *weights.shape)

    @torch.library.register_fake("seq2seq_ext::bahdanau_attention")
    def _(query_proj, keys_proj, values, v, mask=None):
        B, S, D = values.shape
        return _new(query_proj, B, D), _new(query_proj, B, S)

    @torch.library.register_fake("seq2seq_ext::bahdanau_attention_backward")
    def _(grad_context, grad_weights, query_proj, keys_proj, values, v, weights, output_mask):
        want_scores, want_values = output_mask
        return (grad_like(want_scores, query_proj), grad_like(want_scores, keys_proj),
                grad_like(want_values, values), grad_like(want_scores, v))

    @torch.library.register_fake("seq2seq_ext::luong_attention")
    def _(query, keys, values, mask=None, W=None):
        B, S, D = values.shape
        return _new(query, B, D), _new(query, B, S)

    @torch.library.register_fake("seq2seq_ext::luong_attention_backward")
    def _(grad_context, grad_weights, query, keys, values, W, weights, output_mask):
        want_query, want_keys, want_values, want_W = output_mask
        return (grad_like(want_query, query), grad_like(want_keys, keys),
                grad_like(want_values, values),
                _new(query, *W.shape) if want_W and W is not None else _new(query, 0))


def _register_layer_fakes():
    """Output shapes of the layer ops depend on shapes only (N rows, batch B),
    never on the values in batch_sizes."""
    @torch.library.register_fake("seq2seq_ext::lstm_layer")
    def _(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
        N, H = input.shape[0], c0.shape[1]
        return (_new(h0, N, h0.shape[1]), _new(h0, *h0.shape), _new(c0, *c0.shape),
                _new(c0, N, H), _new(c0, N, 4 * H), _new(c0, N if w_hr is not None else 0, H))

    @torch.library.register_fake("seq2seq_ext::lstm_layer_backward")
    def _(grad_output, grad_hy, grad_cy, input, batch_sizes, h0, c0, w_ih, w_hh, w_hr, output,
          cells, gates, unprojected, output_mask):
        grad_input, _, grad_w_ih, grad_w_hh, grad_bias = _masked_grads(
            [output_mask[0], False, output_mask[2]], input, h0, w_ih, w_hh, w_hh.shape[0])
        want_w_hr = w_hr is not None and output_mask[2]
        grad_w_hr = _new(h0, *w_hr.shape) if want_w_hr else _new(h0, 0)
        return (grad_input, _new(h0, *h0.shape), _new(c0, *c0.shape), grad_w_ih, grad_w_hh,
                grad_bias, grad_w_hr)

    @torch.library.register_fake("seq2seq_ext::gru_layer")
    def _(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        N, H = input.shape[0], h0.shape[1]
        return _new(h0, N, H), _new(h0, *h0.shape), _new(h0, N, 4 * H)

    @torch.library.register_fake("seq2seq_ext::gru_layer_backward")
    def _(grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, output, workspace, output_mask):
        grad_input, _, grad_w_ih, grad_w_hh, grad_b_ih = _masked_grads(
            [output_mask[0], False, output_mask[2]], input, h0, w_ih, w_hh, w_hh.shape[0])
        return (grad_input, _new(h0, *h0.shape), grad_w_ih, grad_w_hh, grad_b_ih,
                grad_b_ih.new_empty(grad_b_ih.shape))

    for name in ("rnn_tanh_layer", "rnn_relu_layer"):
        @torch.library.register_fake(f"seq2seq_ext::{name}")
        def _(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
            return _new(h0, input.shape[0], h0.shape[1]), _new(h0, *h0.shape)

        @torch.library.register_fake(f"seq2seq_ext::{name}_backward")
        def _(grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, output, output_mask):
            grad_input, _, grad_w_ih, grad_w_hh, grad_bias = _masked_grads(
                [output_mask[0], False, output_mask[2]], input, h0, w_ih, w_hh, w_hh.shape[0])
            return grad_input, _new(h0, *h0.shape), grad_w_ih, grad_w_hh, grad_bias


# ---------------------------------------------------------------- autograd

def _output_mask(ctx, first_weight):
    """(input, hx, weights and biases): which gradients the backward op computes.
    first_weight: the index of w_ih among the op's inputs."""
    needs = ctx.needs_input_grad
    return [needs[0], needs[1], any(needs[first_weight:])]


def _only_needed(ctx, grads):
    """The gradients autograd asked for; None for the others."""
    return tuple(g if need else None for g, need in zip(grads, ctx.needs_input_grad))


def _lstm_setup_context(ctx, inputs, output):
    input, hx, cx, w_ih, w_hh, _, _ = inputs
    _, cy, workspace = output
    ctx.save_for_backward(input, hx, cx, w_ih, w_hh, cy, workspace)
    ctx.mark_non_differentiable(workspace)


def _lstm_backward(ctx, grad_hy, grad_cy, _grad_workspace):
    input, hx, cx, w_ih, w_hh, cy, workspace = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.lstm_cell_backward(
        grad_hy, grad_cy, input, hx, cx, cy, workspace, w_ih, w_hh, _output_mask(ctx, 3))
    grad_input, grad_hx, grad_cx, grad_w_ih, grad_w_hh, grad_bias = grads
    return _only_needed(ctx, (grad_input, grad_hx, grad_cx, grad_w_ih, grad_w_hh,
                              grad_bias, grad_bias))


def _gru_setup_context(ctx, inputs, output):
    input, hx, w_ih, w_hh, _, _ = inputs
    _, workspace = output
    ctx.save_for_backward(input, hx, w_ih, w_hh, workspace)
    ctx.mark_non_differentiable(workspace)


def _gru_backward(ctx, grad_hy, _grad_workspace):
    input, hx, w_ih, w_hh, workspace = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.gru_cell_backward(
        grad_hy, input, hx, workspace, w_ih, w_hh, _output_mask(ctx, 2))
    return _only_needed(ctx, grads)


def _rnn_setup_context(ctx, inputs, output):
    input, hx, w_ih, w_hh, _, _ = inputs
    ctx.save_for_backward(input, hx, w_ih, w_hh, output)


def _rnn_backward_for(name):
    backward_op = getattr(torch.ops.seq2seq_ext, f"{name}_backward")

    def backward(ctx, grad_hy):
        input, hx, w_ih, w_hh, hy = ctx.saved_tensors
        grads = backward_op(grad_hy, input, hx, hy, w_ih, w_hh, _output_mask(ctx, 2))
        return _only_needed(ctx, (*grads, grads[4]))

    return backward


# Layer ops take (input, batch_sizes, h0[, c0], w_ih, ...): the backward op's
# mask is (input, -, weights); the state gradients come for free.
def _layer_output_mask(ctx, first_weight):
    needs = ctx.needs_input_grad
    return [needs[0], False, any(needs[first_weight:])]


def _lstm_layer_setup_context(ctx, inputs, output):
    input, batch_sizes, h0, c0, w_ih, w_hh, _, _, w_hr = inputs
    out, _, _, cells, gates, unprojected = output
    ctx.save_for_backward(input, batch_sizes, h0, c0, w_ih, w_hh, w_hr, out, cells, gates,
                          unprojected)
    ctx.mark_non_differentiable(cells, gates, unprojected)


def _lstm_layer_backward(ctx, grad_output, grad_hy, grad_cy, *_saved_grads):
    input, batch_sizes, h0, c0, w_ih, w_hh, w_hr, out, cells, gates, unprojected = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.lstm_layer_backward(
        grad_output, grad_hy, grad_cy, input, batch_sizes, h0, c0, w_ih, w_hh, w_hr, out, cells,
        gates, unprojected, _layer_output_mask(ctx, 4))
    grad_input, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_bias, grad_w_hr = grads
    return _only_needed(ctx, (grad_input, None, grad_h0, grad_c0, grad_w_ih, grad_w_hh,
                              grad_bias, grad_bias, grad_w_hr))


def _gru_layer_setup_context(ctx, inputs, output):
    input, batch_sizes, h0, w_ih, w_hh, _, _ = inputs
    out, _, workspace = output
    ctx.save_for_backward(input, batch_sizes, h0, w_ih, w_hh, out, workspace)
    ctx.mark_non_differentiable(workspace)


def _gru_layer_backward(ctx, grad_output, grad_hy, _grad_workspace):
    input, batch_sizes, h0, w_ih, w_hh, out, workspace = ctx.saved_tensors
    grads = torch.ops.seq2seq_ext.gru_layer_backward(
        grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, out, workspace,
        _layer_output_mask(ctx, 3))
    grad_input, grad_h0, *weight_grads = grads
    return _only_needed(ctx, (grad_input, None, grad_h0, *weight_grads))


def _rnn_layer_setup_context(ctx, inputs, output):
    input, batch_sizes, h0, w_ih, w_hh, _, _ = inputs
    ctx.save_for_backward(input, batch_sizes, h0, w_ih, w_hh, output[0])


def _rnn_layer_backward_for(name):
    backward_op = getattr(torch.ops.seq2seq_ext, f"{name}_backward")

    def backward(ctx, grad_output, grad_hy):
        input, batch_sizes, h0, w_ih, w_hh, out = ctx.saved_tensors
        grad_input, grad_h0, grad_w_ih, grad_w_hh, grad_bias = backward_op(
            grad_output, grad_hy, input, batch_sizes, h0, w_ih, w_hh, out,
            _layer_output_mask(ctx, 3))
        return _only_needed(ctx, (grad_input, None, grad_h0, grad_w_ih, grad_w_hh,
                                  grad_bias, grad_bias))

    return backward
def _softmax_setup_context(ctx, inputs, output):
    ctx.save_for_backward(output)


def _softmax_backward(ctx, grad_weights):
    (weights,) = ctx.saved_tensors
    return torch.ops.seq2seq_ext.masked_softmax_backward(grad_weights, weights), None


def _needs_grad(ctx, num_inputs):
    """ctx.needs_input_grad, padded to num_inputs: it leaves out trailing
    arguments left at their default (None)."""
    needs = tuple(ctx.needs_input_grad)
    return needs + (False,) * (num_inputs - len(needs))


def _bahdanau_setup_context(ctx, inputs, output):
    query_proj, keys_proj, values, v, _mask = inputs
    # Only the (B, S) weights beyond the inputs: the backward recomputes tanh.
    ctx.save_for_backward(query_proj, keys_proj, values, v, output[1])


def _bahdanau_backward(ctx, grad_context, grad_weights):
    query_proj, keys_proj, values, v, weights = ctx.saved_tensors
    needs = _needs_grad(ctx, 5)
    output_mask = [needs[0] or needs[1] or needs[3], needs[2]]
    grads = torch.ops.seq2seq_ext.bahdanau_attention_backward(
        _zeros_if_none(grad_context, values, values.shape[0], values.shape[2]),
        _zeros_if_none(grad_weights, weights, *weights.shape),
        query_proj, keys_proj, values, v, weights, output_mask)
    return _only_needed(ctx, (*grads, None))


def _luong_setup_context(ctx, inputs, output):
    query, keys, values, _mask, W = inputs
    ctx.save_for_backward(query, keys, values, W, output[1])


def _luong_backward(ctx, grad_context, grad_weights):
    query, keys, values, W, weights = ctx.saved_tensors
    needs = _needs_grad(ctx, 5)
    output_mask = [needs[0], needs[1], needs[2], needs[4]]
    grad_query, grad_keys, grad_values, grad_W = torch.ops.seq2seq_ext.luong_attention_backward(
        _zeros_if_none(grad_context, values, values.shape[0], values.shape[2]),
        _zeros_if_none(grad_weights, weights, *weights.shape),
        query, keys, values, W, weights, output_mask)
    return _only_needed(ctx, (grad_query, grad_keys, grad_values, None, grad_W))


def _zeros_if_none(grad, like, *shape):
    """Gradient of an output nobody used: autograd may hand None."""
    return like.new_zeros(shape) if grad is None else grad


def _register_autograd():
    register = torch.library.register_autograd
    register("seq2seq_ext::lstm_cell", _lstm_backward, setup_context=_lstm_setup_context)
    register("seq2seq_ext::gru_cell", _gru_backward, setup_context=_gru_setup_context)
    for name in ("rnn_tanh_cell", "rnn_relu_cell"):
        register(f"seq2seq_ext::{name}", _rnn_backward_for(name), setup_context=_rnn_setup_context)
    register("seq2seq_ext::lstm_layer", _lstm_layer_backward,
             setup_context=_lstm_layer_setup_context)
    register("seq2seq_ext::gru_layer", _gru_layer_backward, setup_context=_gru_layer_setup_context)
    for name in ("rnn_tanh_layer", "rnn_relu_layer"):
        register(f"seq2seq_ext::{name}", _rnn_layer_backward_for(name),
                 setup_context=_rnn_layer_setup_context)
    register("seq2seq_ext::masked_softmax", _softmax_backward, setup_context=_softmax_setup_context)
    register("seq2seq_ext::bahdanau_attention", _bahdanau_backward,
             setup_context=_bahdanau_setup_context)
    register("seq2seq_ext::luong_attention", _luong_backward, setup_context=_luong_setup_context)


# ---------------------------------------------------------------- autocast
# Like torch's RNN cells, the ops run in the autocast dtype (float16 or
# bfloat16, whichever the autocast region asks for). torch.library's own
# register_autocast fixes one dtype per device, hence this small version of it.

_LIBRARY = torch.library.Library("seq2seq_ext", "IMPL")


def _register_autocast(op_name, device_type):
    op = getattr(torch.ops.seq2seq_ext, op_name).default
    key_name = "Autocast" + torch._C._dispatch_key_for_device(device_type)
    excluded = torch._C.DispatchKeySet(getattr(torch._C.DispatchKey, key_name))

    def cast(value, dtype):
        if isinstance(value, torch.Tensor) and value.is_floating_point() \
                and value.device.type == device_type:
            return value.to(dtype)
        return value

    @op.py_impl(getattr(torch._C.DispatchKey, key_name))
    def run_in_autocast_dtype(*args):
        dtype = torch.get_autocast_dtype(device_type)
        with torch._C._ExcludeDispatchKeyGuard(excluded):
            return op(*(cast(arg, dtype) for arg in args))

    _LIBRARY.impl(op_name, lambda _keyset, *args: run_in_autocast_dtype(*args), key_name,
                  with_keyset=True)


if _C is not None:
    _register_fakes()
    _register_layer_fakes()
    _register_autograd()
    for _op in OPS:
        for _device in DEVICE_TYPES:
            _register_autocast(_op, _device)
