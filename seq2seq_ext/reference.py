"""Pure-PyTorch definition of every op: the specification the C++ and CUDA
kernels are tested against, and what runs when the kernels are unavailable.

Arguments and results of the cells match ``torch._VF.lstm_cell`` & co. Half
types (float16, bfloat16) are computed in float32 and rounded once at the end,
as the kernels accumulate in float32.
"""

import functools

import torch
import torch.nn.functional as F

_HALF_TYPES = (torch.float16, torch.bfloat16)


def _map_tensors(fn, value):
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(fn, v) for v in value)
    return value


def computed_in_float32_for_half_types(op):
    """Runs `op` on float32 copies of half-type arguments (masks stay bool);
    casts results back."""

    @functools.wraps(op)
    def wrapper(input, *args, **kwargs):
        dtype = input.dtype
        if dtype not in _HALF_TYPES:
            return op(input, *args, **kwargs)
        to_float = functools.partial(
            _map_tensors, lambda t: t.float() if t.is_floating_point() else t
        )
        result = op(to_float(input), *to_float(args), **{k: to_float(v) for k, v in kwargs.items()})
        return _map_tensors(lambda t: t.to(dtype), result)

    return wrapper


@computed_in_float32_for_half_types
def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """hx = (h, c). i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh);
    c' = σ(f) c + σ(i) tanh(g); h' = σ(o) tanh(c'). Returns (h', c')."""
    h, c = hx
    gates = F.linear(input, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_next.tanh(), c_next


@computed_in_float32_for_half_types
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r h_n),
    h' = (1 - z) n + z h, where x_* = x W_i*^T + b_i*, h_* = h W_h*^T + b_h*."""
    x_r, x_z, x_n = F.linear(input, w_ih, b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = F.linear(hx, w_hh, b_hh).chunk(3, dim=1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * hx


@computed_in_float32_for_half_types
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return (F.linear(input, w_ih, b_ih) + F.linear(hx, w_hh, b_hh)).tanh()


@computed_in_float32_for_half_types
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return (F.linear(input, w_ih, b_ih) + F.linear(hx, w_hh, b_hh)).relu()


# ---------------------------------------------------------------- whole layers
# One direction of one layer over a packed batch: input (N, I) holds the rows of
# step s at [offset_s, offset_s + batch_sizes[s]); the first batch_sizes[s]
# sequences run at step s (batch_sizes non-increasing). Returns the output in the
# same layout and each sequence's final state (its state after its last step).


def _run_layer(step, input, batch_sizes, states):
    """Runs step(x, states) -> (output_rows, new_states) over the packed steps;
    states is a tuple of (B, ·) tensors, updated in their first rows each step."""
    outputs, offset = [], 0
    for rows in batch_sizes.tolist():
        x = input[offset : offset + rows]
        offset += rows
        out, new = step(x, tuple(s[:rows] for s in states))
        outputs.append(out)
        states = tuple(torch.cat([n, s[rows:]]) for n, s in zip(new, states))
    output = torch.cat(outputs) if outputs else input.new_empty(0, states[0].shape[1])
    return output, states


def lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """LSTM over a packed batch -> (output (N, P), h_n (B, P), c_n (B, H)). With
    w_hr (proj_size P), h = (o * tanh(c)) W_hr^T."""

    def step(x, states):
        h, c = lstm_cell(x, states, w_ih, w_hh, b_ih, b_hh)
        if w_hr is not None:
            h = h @ w_hr.t()
        return h, (h, c)

    output, (h_n, c_n) = _run_layer(step, input, batch_sizes, (h0, c0))
    return output, h_n, c_n


def _single_state_layer(cell):
    def layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        def step(x, states):
            h = cell(x, states[0], w_ih, w_hh, b_ih, b_hh)
            return h, (h,)

        output, (h_n,) = _run_layer(step, input, batch_sizes, (h0,))
        return output, h_n

    layer.__doc__ = f"{cell.__name__} over a packed batch -> (output (N, H), h_n (B, H))."
    return layer


gru_layer = _single_state_layer(gru_cell)
rnn_tanh_layer = _single_state_layer(rnn_tanh_cell)
rnn_relu_layer = _single_state_layer(rnn_relu_cell)
# ---------------------------------------------------------------- attention
# Masks are bool, True = a real (attendable) position.


@computed_in_float32_for_half_types
def masked_softmax(scores, mask=None, dim=-1):
    """Softmax over `dim`, only over positions where `mask` (broadcastable to
    scores) is True. A row with no such position gives zeros, not NaN, and a
    zero gradient."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    max = scores.amax(dim, keepdim=True).detach()
    max = torch.where(max.isfinite(), max, torch.zeros_like(max))
    exp = (scores - max).exp()  # exp(-inf) = 0 where masked
    total = exp.sum(dim, keepdim=True)
    return exp / torch.where(total > 0, total, torch.ones_like(total))


@computed_in_float32_for_half_types
def bahdanau_attention(query_proj, keys_proj, values, v, mask=None):
    """score[b,s] = v . tanh(query_proj[b] + keys_proj[b,s]);
    weights = masked_softmax(score, mask); context[b] = sum_s weights[b,s] values[b,s].
    query_proj (B, A), keys_proj (B, S, A), values (B, S, D), v (A,), mask (B, S).
    Returns (context (B, D), weights (B, S)).

    query_proj (B, T, A) holds T queries per row, each attending as above to the
    row's keys and values: context (B, T, D), weights (B, T, S)."""
    if query_proj.dim() == 3:
        scores = torch.tanh(query_proj.unsqueeze(2) + keys_proj.unsqueeze(1)) @ v  # (B, T, S)
        weights = masked_softmax(scores, mask.unsqueeze(1) if mask is not None else None)
        return torch.bmm(weights, values), weights
    scores = torch.tanh(query_proj.unsqueeze(1) + keys_proj) @ v
    weights = masked_softmax(scores, mask)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


@computed_in_float32_for_half_types
def luong_attention(query, keys, values, mask=None, W=None):
    """score[b,s] = query[b] . keys[b,s] (dot, W None) or query[b] @ W @ keys[b,s]
    (general, W (query_size, key_size)); then as bahdanau_attention."""
    if W is not None:
        query = query @ W
    scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
    weights = masked_softmax(scores, mask)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


@computed_in_float32_for_half_types
def output_cross_entropy(hidden, weight, bias, target, ignore_index=-100):
    """The summed cross-entropy of the logits ``hidden weight^T + bias`` against
    ``target``, rows whose target is ``ignore_index`` left out: hidden (N, H),
    weight (V, H), bias (V,) or None, target (N,) int64. An output layer
    followed by torch's cross-entropy, which the op fuses."""
    logits = F.linear(hidden, weight, bias)
    return F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="sum")
