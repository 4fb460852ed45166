"""Attention cases: the fused ``bahdanau_attention`` op against the same
computation as a composition of torch ops (eager), and that composition under
``torch.compile``, with a mask of mixed source lengths. Forward only (under
``torch.no_grad``) and forward+backward (``.backward()`` of the sum of context
and weights, gradients for query_proj, keys_proj, values and v)."""
from functools import partial

import torch

from seq2seq_ext import functional

SUITE = "attention"
BASELINE = "eager"
SIZES = [(64, 12, 256), (64, 50, 512), (128, 100, 1024)]  # (B, S, A); value size D = A


def eager_bahdanau(query_proj, keys_proj, values, v, mask):
    """What a model without the fused op runs (every row keeps a position here,
    so torch.softmax gives no NaN)."""
    scores = torch.tanh(query_proj.unsqueeze(1) + keys_proj) @ v
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    sizes = SIZES[:1] if quick else SIZES
    dtypes = [torch.float32] if torch.device(device).type == "cpu" else [torch.float32, torch.bfloat16]
    for dtype in dtypes:
        for B, S, A in sizes:
            for mode in ("fwd", "fwd+bwd"):
                params = dict(label="Bahdanau", shape=f"B={B} S={S} A={A} D={A}", mode=mode,
                              B=B, S=S, A=A, D=A, dtype=str(dtype).removeprefix("torch."))
                yield params, partial(_make_impls, B, S, A, A, mode, dtype, device)


def _make_impls(B, S, A, D, mode, dtype, device):
    gen = torch.Generator().manual_seed(0)
    requires_grad = mode == "fwd+bwd"

    def rand(*shape, scale=1.0):
        t = torch.randn(*shape, generator=gen) * scale
        return t.to(device=device, dtype=dtype).requires_grad_(requires_grad)

    lengths = torch.randint(1, S + 1, (B,), generator=gen)
    mask = (torch.arange(S) < lengths[:, None]).to(device)
    args = (rand(B, A), rand(B, S, A), rand(B, S, D), rand(A, scale=A ** -0.5), mask)
    timed = _forward if mode == "fwd" else _forward_backward
    return {
        "fused": partial(timed, functional.bahdanau_attention, args),
        "eager": partial(timed, eager_bahdanau, args),
        "torch.compile": partial(timed, torch.compile(eager_bahdanau), args),
    }


def _forward(fn, args):
    with torch.no_grad():
        return fn(*args)


def _forward_backward(fn, args):
    for t in args[:4]:
        t.grad = None  # fresh gradients each call, as after zero_grad(set_to_none=True)
    context, weights = fn(*args)
    (context.sum() + weights.sum()).backward()
