"""Arguments of the attention ops and what their tests compare them with: a
plain composition of torch ops, and reference.py. Shared by
test_attention_ops.py and test_attention_modules.py."""

import math
from dataclasses import dataclass

import torch
from conftest import HALF_TYPES, assert_close_scaled, grads_of

from seq2seq_ext import functional, reference

ALL_DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]
# bahdanau_steps: Bahdanau with T queries per batch row, query_proj (B, T, A).
OPS = ["bahdanau", "bahdanau_steps", "luong_dot", "luong_general"]
STEPS = 3  # bahdanau_steps' T


@dataclass
class Attn:
    """Arguments of one attention call. `tensors` in the op's argument order;
    the mask (bool (B, S) or None) is kept apart."""

    op: str
    tensors: dict
    mask: torch.Tensor = None

    def call(self, impl):
        """impl: "fused" (functional), "reference" or "torch" (composition)."""
        t = self.tensors
        if self.op.startswith("bahdanau"):
            fn = {
                "fused": functional.bahdanau_attention,
                "reference": reference.bahdanau_attention,
                "torch": composed_bahdanau,
            }[impl]
            return tuple(fn(t["query_proj"], t["keys_proj"], t["values"], t["v"], mask=self.mask))
        fn = {
            "fused": functional.luong_attention,
            "reference": reference.luong_attention,
            "torch": composed_luong,
        }[impl]
        return tuple(fn(t["query"], t["keys"], t["values"], mask=self.mask, W=t.get("W")))

    def call_in_float32(self, impl):
        """impl on float32 copies of the tensors, results rounded back to their dtype."""
        dtype = next(iter(self.tensors.values())).dtype
        outputs = self.with_tensors(lambda t: t.float()).call(impl)
        return tuple(o.to(dtype) for o in outputs)

    def differentiable(self):
        return [x for x in self.tensors.values() if x.requires_grad]

    def with_tensors(self, fn):
        return Attn(self.op, {k: fn(x) for k, x in self.tensors.items()}, self.mask)


def composed_softmax(scores, mask, dim=-1):
    """torch.softmax with -inf at masked positions (NaN for all-masked rows)."""
    return torch.softmax(
        scores.masked_fill(~mask, float("-inf")) if mask is not None else scores, dim
    )


def composed_bahdanau(query_proj, keys_proj, values, v, mask=None):
    if query_proj.dim() == 3:  # each of the T queries on its own
        outputs = [
            composed_bahdanau(query_proj[:, t], keys_proj, values, v, mask)
            for t in range(query_proj.shape[1])
        ]
        return tuple(torch.stack(parts, 1) for parts in zip(*outputs))
    scores = (torch.tanh(query_proj[:, None, :] + keys_proj) * v).sum(-1)
    weights = composed_softmax(scores, mask)
    return (weights[:, :, None] * values).sum(1), weights


def composed_luong(query, keys, values, mask=None, W=None):
    q = query if W is None else query @ W
    weights = composed_softmax((keys * q[:, None, :]).sum(-1), mask)
    return (weights[:, :, None] * values).sum(1), weights


def random_lengths(B, S, seed, empty_row=True):
    gen = torch.Generator().manual_seed(seed)
    lengths = (
        torch.randint(1, S + 1, (B,), generator=gen) if S > 0 else torch.zeros(B, dtype=torch.long)
    )
    if B > 0:
        lengths[0] = S  # at least one full row
    if empty_row and B > 2:
        lengths[2] = 0  # and one with nothing to attend to
    return lengths


def lengths_mask(lengths, S, device):
    return (torch.arange(S) < lengths[:, None]).to(device)


def make(
    op,
    B=4,
    S=7,
    A=6,
    D=5,
    dtype=torch.float64,
    device="cpu",
    masked=True,
    empty_row=True,
    requires_grad=True,
    seed=0,
    score_scale=3.0,
):
    """Random arguments; A is the attention size (Bahdanau) or query and key size (Luong).
    Scores have a standard deviation of about `score_scale` (3: peaked but not one-hot weights)."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        t = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale
        return t.to(dtype=dtype, device=device).requires_grad_(requires_grad)

    mask = lengths_mask(random_lengths(B, S, seed, empty_row), S, device) if masked else None
    if op.startswith("bahdanau"):
        tensors = dict(
            query_proj=rand(B, STEPS, A) if op == "bahdanau_steps" else rand(B, A),
            keys_proj=rand(B, S, A),
            values=rand(B, S, D),
            v=rand(A, scale=score_scale / math.sqrt(A)),
        )
    else:
        tensors = dict(
            query=rand(B, A, scale=score_scale / math.sqrt(A)),
            keys=rand(B, S, A),
            values=rand(B, S, D),
        )
        if op == "luong_general":
            tensors["W"] = rand(A, A + 1, scale=1 / math.sqrt(A))
            tensors["keys"] = rand(B, S, A + 1)
    return Attn(op, tensors, mask)


def compare(args, impl, tol, what, check_grads=True):
    ours = args.call("fused")
    half = ours[0].dtype in HALF_TYPES and impl == "torch"
    theirs = args.call_in_float32(impl) if half else args.call(impl)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert_close_scaled(a, b, tol, f"{what} output {k}")
    if not check_grads or not args.differentiable():
        return
    inputs = args.differentiable()
    # The weights do not depend on the values: the reference's do not require grad then.
    used = [k for k, (a, b) in enumerate(zip(ours, theirs)) if a.requires_grad and b.requires_grad]
    ours, theirs = [ours[k] for k in used], [theirs[k] for k in used]
    grad_out = [torch.randn_like(o) for o in ours]
    for a, b, t in zip(
        grads_of(ours, inputs, grad_out), grads_of(theirs, inputs, grad_out), inputs
    ):
        assert_close_scaled(a, b, tol, f"{what} grad of a {tuple(t.shape)} argument")
