"""The ops as functions. The cells take the arguments and give the results of
``torch._VF``'s cells: ``lstm_cell(input, (h, c), w_ih, w_hh, b_ih, b_hh) -> (h', c')``,
``gru_cell`` / ``rnn_tanh_cell`` / ``rnn_relu_cell(input, h, ...) -> h'``. The
attention functions take a bool ``mask`` (True = a real position) or int64
``lengths`` and return ``(context, weights)``.

Each runs the compiled kernel for the tensors' device when there is one, and
``reference`` otherwise (see ``seq2seq_ext.backend_info()``), and under
``torch.onnx.export``, whose ONNX graph can hold torch's ops but not this
package's (docs/onnx.md).
"""

import torch

from . import reference
from ._ops import KERNELS
from .onnx.tracing import exporting_to_onnx


def _use_kernel(op: str, input: torch.Tensor) -> bool:
    # Under ONNX export the reference's torch ops, which export as plain ONNX ops.
    return KERNELS.get((op, input.device.type), False) and not exporting_to_onnx()


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step. input (B, I), hx = (h (B, H), c (B, H)) -> (h', c')."""
    if not _use_kernel("lstm_cell", input):
        return reference.lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    h, c = hx
    hy, cy, _ = torch.ops.seq2seq_ext.lstm_cell(input, h, c, w_ih, w_hh, b_ih, b_hh)
    return hy, cy


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("gru_cell", input):
        return reference.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    hy, _ = torch.ops.seq2seq_ext.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return hy


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with tanh. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("rnn_tanh_cell", input):
        return reference.rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with relu. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("rnn_relu_cell", input):
        return reference.rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


# ---------------------------------------------------------------- whole layers
# One direction of one layer over all steps, in the packed layout of
# torch.nn.utils.rnn.PackedSequence: input (N, I), batch_sizes (T,) int64 on the
# CPU, non-increasing (a padded (T, B, I) input is input.reshape(T * B, I) with
# batch_sizes = [B] * T). Return the output (N, H) and the final states.


def lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """-> (output (N, P), h_n (B, P), c_n (B, H)); P = proj_size with w_hr, else H."""
    if not _use_kernel("lstm_layer", input):
        return reference.lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    output, h_n, c_n, *_ = torch.ops.seq2seq_ext.lstm_layer(
        input, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr
    )
    return output, h_n, c_n


def gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("gru_layer", input):
        return reference.gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    output, h_n, _ = torch.ops.seq2seq_ext.gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return output, h_n


def rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("rnn_tanh_layer", input):
        return reference.rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("rnn_relu_layer", input):
        return reference.rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)


# ---------------------------------------------------------------- attention


def check_lengths(lengths, max_len, batch=None, min_length=0, name="lengths", hint=""):
    """Raises ValueError unless `lengths` is int64 of shape (batch,) (any batch
    if None) with values in [min_length, max_len]. `hint` is said after the
    range, e.g. " (the source length)". The values are checked outside
    torch.compile only: there, the check would need them on the host."""
    if (
        lengths.dtype != torch.int64
        or lengths.dim() != 1
        or (batch is not None and lengths.shape[0] != batch)
    ):
        expected = f"[{batch}]" if batch is not None else "(batch,)"
        raise ValueError(
            f"expected {name} of dtype int64 and shape {expected}, got "
            f"{lengths.dtype} of shape {list(lengths.shape)}"
        )
    if not torch.compiler.is_compiling() and lengths.numel() > 0:
        low, high = int(lengths.min()), int(lengths.max())
        if low < min_length or high > max_len:
            raise ValueError(
                f"expected {name} in [{min_length}, {max_len}]{hint}, got values "
                f"from {low} to {high}"
            )


def lengths_to_mask(lengths, max_len, batch=None):
    """(B,) int64 lengths -> (B, max_len) bool mask, True at positions < length.
    Lengths outside [0, max_len], or not B = batch of them, are an error (see
    check_lengths)."""
    check_lengths(lengths, max_len, batch, hint=" (the source length)")
    return torch.arange(max_len, device=lengths.device) < lengths.unsqueeze(1)


def resolve_mask(mask, lengths, batch, max_len):
    """The mask an attention call uses: `mask`, or the one `lengths` (B,) gives
    for `batch` rows of `max_len` positions (never both)."""
    if lengths is None:
        return mask
    if mask is not None:
        raise ValueError("give mask or lengths, not both")
    return lengths_to_mask(lengths, max_len, batch)


def masked_softmax(scores, mask=None, dim=-1, lengths=None):
    """Softmax over `dim`, only over positions where `mask` (bool, broadcastable
    to scores) is True; a row with no such position gives zeros and a zero
    gradient. `lengths` (int64 (B,)) instead of a mask: for scores (B, S), dim=-1."""
    if lengths is not None:
        if scores.dim() != 2 or dim not in (1, -1):
            raise ValueError(
                "lengths need scores of shape (batch, src_len) and dim=-1, got "
                f"scores of shape {list(scores.shape)} and dim={dim}"
            )
        mask = resolve_mask(mask, lengths, *scores.shape)
    if not _use_kernel("masked_softmax", scores):
        return reference.masked_softmax(scores, mask, dim)
    if mask is not None and mask.shape != scores.shape:
        try:
            mask = mask.expand(scores.shape)
        except RuntimeError:
            raise RuntimeError(
                f"masked_softmax: expected mask of shape {list(scores.shape)} "
                f"(or broadcastable to it), got {list(mask.shape)}"
            ) from None
    last = scores.dim() - 1
    scores = scores.movedim(dim, last)
    mask = mask.movedim(dim, last) if mask is not None else None
    return torch.ops.seq2seq_ext.masked_softmax(scores, mask).movedim(last, dim)


def bahdanau_attention(query_proj, keys_proj, values, v, mask=None, lengths=None):
    """Additive attention, fused. query_proj (B, A) = W_q q, keys_proj (B, S, A)
    = W_k K (compute it once per source), values (B, S, D), v (A,).
    score[b,s] = v . tanh(query_proj[b] + keys_proj[b,s]);
    weights = masked_softmax(score, mask); context[b] = sum_s weights[b,s] values[b,s].
    Returns (context (B, D), weights (B, S)). A query_proj (B, T, A) holds T
    queries per row against the same memory: context (B, T, D), weights (B, T, S)."""
    mask = resolve_mask(mask, lengths, values.shape[0], values.shape[1])
    if not _use_kernel("bahdanau_attention", query_proj):
        return reference.bahdanau_attention(query_proj, keys_proj, values, v, mask)
    return torch.ops.seq2seq_ext.bahdanau_attention(query_proj, keys_proj, values, v, mask)


def luong_attention(query, keys, values, mask=None, W=None, lengths=None):
    """Multiplicative attention. query (B, Q), keys (B, S, K), values (B, S, D);
    score[b,s] = query[b] . keys[b,s] (dot: W None, Q == K) or
    query[b] @ W @ keys[b,s] (general: W (Q, K)). Returns (context (B, D), weights (B, S))."""
    mask = resolve_mask(mask, lengths, values.shape[0], values.shape[1])
    if not _use_kernel("luong_attention", query):
        return reference.luong_attention(query, keys, values, mask, W)
    return torch.ops.seq2seq_ext.luong_attention(query, keys, values, mask, W)


def output_cross_entropy(hidden, weight, bias, target, ignore_index=-100):
    """The summed cross-entropy of an output layer's logits, ``hidden weight^T
    + bias``, against ``target``, rows whose target is ``ignore_index`` (e.g.
    padding) left out: what ``F.cross_entropy(F.linear(hidden, weight, bias),
    target, ignore_index=ignore_index, reduction="sum")`` gives, without
    holding the (rows, V) logits. hidden (..., H), weight (V, H), bias (V,) or
    None, target (...) int64."""
    hidden, target = hidden.reshape(-1, hidden.shape[-1]), target.reshape(-1)
    if not _use_kernel("output_cross_entropy", hidden):
        return reference.output_cross_entropy(hidden, weight, bias, target, ignore_index)
    parameters = (hidden, weight) if bias is None else (hidden, weight, bias)
    compute_grads = torch.is_grad_enabled() and any(t.requires_grad for t in parameters)
    return torch.ops.seq2seq_ext.output_cross_entropy(
        hidden, weight, bias, target, ignore_index, compute_grads
    )[0]
