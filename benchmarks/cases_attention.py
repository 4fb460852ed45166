"""Attention cases: the fused ``bahdanau_attention`` op against the same
computation as a composition of torch ops (eager), and that composition under
``torch.compile`` (on CUDA also with mode="reduce-overhead"), with a mask of
mixed source lengths. Forward only (under ``torch.no_grad``) and
forward+backward (``.backward()`` of the sum of context and weights, gradients
for query_proj, keys_proj, values and v)."""

from functools import partial

import torch

from seq2seq_ext import functional

from .calls import timed_call
from .costs import case_costs, element_bytes, matmul_flops
from .peers import compiled_peers

SUITE = "attention"
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
    dtypes = (
        [torch.float32] if torch.device(device).type == "cpu" else [torch.float32, torch.bfloat16]
    )
    for dtype in dtypes:
        for B, S, A in sizes:
            for mode in ("fwd", "fwd+bwd"):
                params = dict(
                    label="Bahdanau",
                    shape=f"B={B} S={S} A={A} D={A}",
                    mode=mode,
                    B=B,
                    S=S,
                    A=A,
                    D=A,
                    dtype=str(dtype).removeprefix("torch."),
                    **_costs(B, S, A, A, dtype, mode),
                )
                yield params, partial(_make_impls, B, S, A, A, mode, dtype, device)


def _costs(B, S, A, D, dtype, mode):
    """Scores: (B, S, A) @ (A); context: (B, 1, S) @ (B, S, D). Reads query_proj,
    keys_proj, values, v and the (bool) mask; writes context and weights."""
    flops = matmul_flops(B * S, 1, A) + B * matmul_flops(1, D, S)
    bytes_ = element_bytes(dtype, (B, A), (B, S, A), (B, S, D), (A,), (B, D), (B, S)) + B * S
    return case_costs(flops, bytes_, mode)


def _make_impls(B, S, A, D, mode, dtype, device):
    gen = torch.Generator().manual_seed(0)
    requires_grad = mode == "fwd+bwd"

    def rand(*shape, scale=1.0):
        t = torch.randn(*shape, generator=gen) * scale
        return t.to(device=device, dtype=dtype).requires_grad_(requires_grad)

    lengths = torch.randint(1, S + 1, (B,), generator=gen)
    mask = (torch.arange(S) < lengths[:, None]).to(device)
    args = (rand(B, A), rand(B, S, A), rand(B, S, D), rand(A, scale=A**-0.5), mask)
    fns = {
        "fused": functional.bahdanau_attention,
        "eager": eager_bahdanau,
        **compiled_peers("torch.compile", eager_bahdanau, device),
    }
    return {name: timed_call(mode, partial(fn, *args), args[:4]) for name, fn in fns.items()}
