"""The attention ops (masked_softmax, bahdanau_attention, luong_attention)
against reference.py and a plain composition of torch ops: values, gradients,
gradcheck, opcheck, masks and lengths, edge cases, bad input, autocast, random
property tests."""

import math

import pytest
import torch
from attention_args import (
    ALL_DTYPES,
    OPS,
    Attn,
    compare,
    composed_softmax,
    lengths_mask,
    make,
    random_lengths,
)
from conftest import (
    DEVICES,
    assert_close_scaled,
    assert_ran_in_autocast_dtype,
    assert_same_values_and_gradients,
    grads_of,
    requires_cuda,
    tolerance,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import seq2seq_ext
from seq2seq_ext import functional, reference

# ---------------------------------------------------------------- values and gradients


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("op", OPS)
def test_matches_reference_at_real_size(op, dtype, device):
    """Mixed lengths, one fully masked row."""
    args = make(op, B=16, S=12, A=64, D=48, dtype=dtype, device=device)
    compare(args, "reference", tolerance(dtype, device), "reference")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("op", OPS)
def test_matches_composition_of_torch_ops(op, masked, dtype, device):
    """torch.softmax gives NaN for an all-masked row, so every row keeps a position here.
    Half types: the composition runs on float32 copies (as the kernels accumulate)."""
    args = make(
        op, B=16, S=12, A=64, D=48, dtype=dtype, device=device, masked=masked, empty_row=False
    )
    compare(args, "torch", tolerance(dtype, device), "composition")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("op", OPS)
def test_gradcheck_float64(op, masked, device):
    args = make(op, B=4, S=5, A=3, D=2, device=device, masked=masked)
    names = list(args.tensors)

    def run(*tensors):
        return Attn(op, dict(zip(names, tensors)), args.mask).call("fused")

    assert torch.autograd.gradcheck(run, tuple(args.tensors.values()))


def test_gradcheck_masked_softmax():
    scores = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(3, 4, 5) > 0.4
    mask[1, 2] = False
    for dim in (-1, 0, 1):
        assert torch.autograd.gradcheck(
            lambda s: functional.masked_softmax(s, mask, dim), (scores,)
        )


@pytest.mark.parametrize("device", DEVICES)
def test_only_some_arguments_need_gradients(device):
    """output_mask: frozen keys / values / v; the gradients asked for still match."""
    tol = tolerance(torch.float64, device)
    for op in OPS:
        full = make(op, device=device)
        for name in full.tensors:
            args = full.with_tensors(lambda t: t.detach())
            args.tensors[name].requires_grad_()
            compare(args, "reference", tol, f"{op} grad of {name} alone")


def test_only_one_output_used():
    for op in OPS:
        args = make(op)
        inputs = args.differentiable()
        for k in range(2):
            ours = torch.autograd.grad(args.call("fused")[k].sum(), inputs, allow_unused=True)
            theirs = torch.autograd.grad(args.call("reference")[k].sum(), inputs, allow_unused=True)
            for a, b in zip(ours, theirs):
                b = torch.zeros_like(a) if b is None else b
                torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@requires_cuda
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("op", OPS)
def test_cuda_sizes_beyond_one_block(op, dtype):
    """S, A and D above the CUDA kernels' 256 threads per block, and not multiples
    of it: every block-stride loop runs a second, partial pass."""
    args = make(op, B=5, S=300, A=290, D=310, dtype=dtype, device="cuda")
    compare(args, "reference", tolerance(dtype, "cuda"), "beyond one block")
    scores = torch.randn(4, 7, 333, dtype=dtype, device="cuda", requires_grad=True)
    mask = torch.rand(4, 7, 333, device="cuda") > 0.3
    weights = functional.masked_softmax(scores, mask)
    expected = reference.masked_softmax(scores.detach().double(), mask).to(dtype)
    assert_close_scaled(weights, expected, tolerance(dtype, "cuda"), "masked_softmax, S = 333")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("steps", [0, 1, 5])
def test_bahdanau_steps_are_separate_queries_on_one_memory(steps, dtype, device):
    """A (B, T, A) query_proj gives, value for value and gradient for gradient,
    what T calls with one (B, A) query each give: the keys' and values'
    gradients are the sums over the T queries."""
    args = make("bahdanau", B=6, S=9, A=16, D=12, dtype=dtype, device=device)
    t = args.tensors
    queries = torch.randn(6, steps, 16, dtype=torch.float64).to(dtype).to(device)
    queries.requires_grad_()
    memory = (t["keys_proj"], t["values"], t["v"])
    context, weights = functional.bahdanau_attention(queries, *memory, mask=args.mask)
    assert context.shape == (6, steps, 12) and weights.shape == (6, steps, 9)
    separate = [
        functional.bahdanau_attention(queries[:, k], *memory, mask=args.mask) for k in range(steps)
    ]
    expected = [torch.stack(parts, 1) if steps else None for parts in zip(*separate)]
    inputs = [queries, *memory]
    grad_out = (torch.randn_like(context), torch.randn_like(weights))
    grads = grads_of((context, weights), inputs, grad_out)
    if steps == 0:  # nothing attends: every gradient is zero
        assert all(not g.any() for g in grads)
        return
    tol = tolerance(dtype, device)
    for ours, theirs, what in zip((context, weights), expected, ("context", "weights")):
        assert_close_scaled(ours, theirs, tol, what)
    for ours, theirs, x in zip(grads, grads_of(expected, inputs, grad_out), inputs):
        assert_close_scaled(ours, theirs, tol, f"grad of a {tuple(x.shape)} argument")


def test_bahdanau_steps_grad_shapes_are_checked():
    args = make("bahdanau_steps", requires_grad=False)  # B=4, T=3, S=7, A=6, D=5
    inputs = op_args(args)[:4]
    context, weights = torch.ops.seq2seq_ext.bahdanau_attention(*inputs, args.mask)
    backward = torch.ops.seq2seq_ext.bahdanau_attention_backward
    with pytest.raises(
        RuntimeError, match=r"expected grad_context of shape \[4, 3, 5\], got \[4, 5\]"
    ):
        backward(context[:, 0], torch.zeros_like(weights), *inputs, weights, [True, True])
    with pytest.raises(RuntimeError, match=r"expected weights of shape \[4, 3, 7\], got \[4, 7\]"):
        backward(context, weights, *inputs, weights[:, 0], [True, True])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["bahdanau", "bahdanau_steps"])
def test_bahdanau_ignores_what_masked_positions_hold(op, device):
    """Padding may hold anything: NaN and Inf in the masked keys and values give
    finite results and gradients, the very ones that zeros there give (the
    kernels skip zero-weight positions, on every device)."""
    args = make(op, B=6, S=9, A=16, D=12, dtype=torch.float32, device=device)
    masked = ~args.mask.unsqueeze(-1)
    assert masked.any() and not masked.all()
    results = []
    for fill in (0.0, float("nan"), float("inf")):
        poisoned = args.with_tensors(lambda t: t.detach().clone())
        for name in ("keys_proj", "values"):
            poisoned.tensors[name].masked_fill_(masked, fill)
        for t in poisoned.tensors.values():
            t.requires_grad_()
        outputs = poisoned.call("fused")
        grad_out = [torch.ones_like(o) for o in outputs]
        grads = grads_of(outputs, poisoned.differentiable(), grad_out)
        results.append([*outputs, *grads])
    for fill, result in zip(("NaN", "Inf"), results[1:]):
        for ours, zeros in zip(result, results[0]):
            assert ours.isfinite().all(), f"not finite with {fill} at masked positions"
            torch.testing.assert_close(ours, zeros, rtol=0, atol=0)


# ---------------------------------------------------------------- opcheck


def op_args(args):
    t = args.tensors
    if args.op.startswith("bahdanau"):
        return (t["query_proj"], t["keys_proj"], t["values"], t["v"], args.mask)
    return (t["query"], t["keys"], t["values"], args.mask, t.get("W"))


def forward_op(op):
    return (
        torch.ops.seq2seq_ext.bahdanau_attention
        if op.startswith("bahdanau")
        else torch.ops.seq2seq_ext.luong_attention
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("op", OPS)
def test_opcheck(op, masked, device):
    args = make(op, device=device, masked=masked)
    torch.library.opcheck(forward_op(op).default, op_args(args))


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck_masked_softmax(device):
    scores = torch.randn(4, 6, dtype=torch.float64, device=device, requires_grad=True)
    mask = lengths_mask(random_lengths(4, 6, 0), 6, device)
    torch.library.opcheck(torch.ops.seq2seq_ext.masked_softmax.default, (scores, mask))
    torch.library.opcheck(torch.ops.seq2seq_ext.masked_softmax.default, (scores, None))
    weights = torch.ops.seq2seq_ext.masked_softmax(scores.detach(), mask)
    torch.library.opcheck(
        torch.ops.seq2seq_ext.masked_softmax_backward.default, (torch.randn_like(weights), weights)
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_opcheck_backward_ops(op, device):
    args = make(op, device=device, requires_grad=False)
    context, weights = forward_op(op)(*op_args(args))
    grads = (torch.randn_like(context), torch.randn_like(weights))
    t = args.tensors
    if op.startswith("bahdanau"):
        backward = torch.ops.seq2seq_ext.bahdanau_attention_backward.default
        inputs = (t["query_proj"], t["keys_proj"], t["values"], t["v"], weights)
        masks = [[True, True], [True, False], [False, True], [False, False]]
    else:
        backward = torch.ops.seq2seq_ext.luong_attention_backward.default
        inputs = (t["query"], t["keys"], t["values"], t.get("W"), weights)
        masks = [
            [True, True, True, True],
            [True, False, False, False],
            [False, True, False, True],
            [False, False, True, False],
        ]
    for output_mask in masks:
        torch.library.opcheck(backward, (*grads, *inputs, output_mask))


def test_backward_computes_only_the_asked_gradients():
    args = make("bahdanau", requires_grad=False)
    t = args.tensors
    context, weights = forward_op("bahdanau")(*op_args(args))
    grads = (torch.randn_like(context), torch.randn_like(weights))
    inputs = (t["query_proj"], t["keys_proj"], t["values"], t["v"], weights)
    backward = torch.ops.seq2seq_ext.bahdanau_attention_backward
    full = backward(*grads, *inputs, [True, True])
    scores_only = backward(*grads, *inputs, [True, False])
    values_only = backward(*grads, *inputs, [False, True])
    for k in (0, 1, 3):
        assert torch.equal(scores_only[k], full[k]) and values_only[k].numel() == 0
    assert torch.equal(values_only[2], full[2]) and scores_only[2].numel() == 0


# ---------------------------------------------------------------- masks, lengths, edge cases


def per_query(output):
    """An output as (B, ...) slices, one per query: itself, or bahdanau_steps' T."""
    return output.unbind(1) if output.dim() == 3 else [output]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("op", OPS)
def test_fully_masked_rows_give_zeros_and_zero_gradients(op, dtype, device):
    args = make(op, B=3, S=4, dtype=dtype, device=device, masked=False)
    args.mask = torch.tensor([[True, False, True, False], [False] * 4, [False] * 4], device=device)
    context, weights = args.call("fused")
    assert not context.isnan().any() and not weights.isnan().any()
    for c, w in zip(per_query(context), per_query(weights)):
        assert not c[1:].any() and not w[1:].any()
        assert not w[0, 1].item() and not w[0, 3].item()
        torch.testing.assert_close(
            w[0].float().sum(), torch.tensor(1.0, device=device), rtol=0, atol=1e-2
        )
    names = [name for name, t in args.tensors.items() if t.requires_grad]
    grads = grads_of(
        (context, weights),
        args.differentiable(),
        (torch.randn_like(context), torch.randn_like(weights)),
    )
    for g, name in zip(grads, names):
        assert g is not None and not g.isnan().any()
        if name in ("keys_proj", "keys", "values"):  # masked rows and positions get nothing
            assert not g[1:].any() and not g[0, 1].any() and not g[0, 3].any()


@pytest.mark.parametrize("device", DEVICES)
def test_masked_softmax_all_masked_row_and_large_scores(device):
    scores = torch.tensor(
        [[1e4, -1e4, 3e4], [5.0, 6.0, 7.0], [88.0, 89.0, 1e38]], device=device, requires_grad=True
    )
    mask = torch.tensor(
        [[True, True, True], [False, False, False], [True, True, False]], device=device
    )
    weights = functional.masked_softmax(scores, mask)
    expected = torch.tensor(
        [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1 / (1 + math.e), math.e / (1 + math.e), 0.0]],
        device=device,
    )
    torch.testing.assert_close(weights, expected)
    weights.backward(torch.randn_like(weights))
    assert not scores.grad.isnan().any() and not scores.grad[1].any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_masked_softmax_matches_torch_softmax(dtype, device):
    scores = (torch.randn(6, 5, 33, dtype=torch.float64) * 10).to(dtype=dtype, device=device)
    for dim in (-1, 0, 1):
        expected = torch.softmax(scores.double(), dim).to(dtype)
        assert_close_scaled(
            functional.masked_softmax(scores, None, dim),
            expected,
            tolerance(dtype, device),
            f"dim {dim}",
        )
    mask = torch.rand(6, 5, 33, device=device) > 0.3
    mask[..., 0] = True
    assert_close_scaled(
        functional.masked_softmax(scores, mask),
        composed_softmax(scores.double(), mask).to(dtype),
        tolerance(dtype, device),
        "masked",
    )
    row_mask = mask[:, :1, :]  # broadcast over the middle dimension
    assert_close_scaled(
        functional.masked_softmax(scores, row_mask),
        reference.masked_softmax(scores, row_mask),
        tolerance(dtype, device),
        "broadcast mask",
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_masked_softmax_masks_along_any_dim(dim, dtype, device):
    """A mask of the scores' shape, and one broadcast along another dim, over any
    dim: values against torch.softmax of the scores with -inf where masked
    (zeros for the slice that keeps nothing), gradients against reference.py."""
    gen = torch.Generator().manual_seed(0)
    # Scores exact in every dtype (rounded to it first): only the softmax's error counts.
    scores64 = (torch.randn(6, 5, 33, generator=gen, dtype=torch.float64) * 10).to(dtype).double()
    full = torch.rand(6, 5, 33, generator=gen) > 0.4
    empty_slice = [0, 0, 0]
    empty_slice[dim] = slice(None)
    full[tuple(empty_slice)] = False  # one slice along dim with nothing to attend to
    other = (dim + 1) % 3
    tol = tolerance(dtype, device)
    for mask in (full, full.narrow(other, 0, 1)):
        scores = scores64.to(dtype=dtype, device=device).requires_grad_()
        weights = functional.masked_softmax(scores, mask.to(device), dim)
        expected = composed_softmax(scores64, mask, dim).nan_to_num(0.0)
        what = f"dim {dim}, mask {list(mask.shape)}"
        assert_close_scaled(weights.cpu(), expected.to(dtype), tol, what)
        grad = torch.randn(weights.shape, generator=gen, dtype=torch.float64)
        (ours,) = torch.autograd.grad(weights, scores, grad.to(dtype=dtype, device=device))
        leaf = scores64.clone().requires_grad_()
        (theirs,) = torch.autograd.grad(reference.masked_softmax(leaf, mask, dim), leaf, grad)
        assert_close_scaled(ours.cpu(), theirs.to(dtype), tol, f"{what}: gradient")


@pytest.mark.parametrize("op", OPS)
def test_large_scores_do_not_overflow(op):
    """Scores in the thousands: exp would overflow without the max subtracted."""
    args = make(op, S=9, A=32, dtype=torch.float32, score_scale=1000.0)
    context, weights = args.call("fused")
    assert weights.isfinite().all() and context.isfinite().all()
    compare(args, "reference", 1e-4, "large scores")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_lengths_give_the_mask(op, device):
    args = make(op, B=5, S=6, device=device)
    lengths = random_lengths(5, 6, 0).to(device)
    t = list(args.tensors.values())
    with_mask = args.call("fused")
    fn = functional.bahdanau_attention if op.startswith("bahdanau") else functional.luong_attention
    extra = {} if op != "luong_general" else {"W": t.pop()}
    with_lengths = fn(*t, lengths=lengths, **extra)
    for a, b in zip(with_lengths, with_mask):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    scores = torch.randn(5, 6, device=device)
    torch.testing.assert_close(
        functional.masked_softmax(scores, lengths=lengths),
        functional.masked_softmax(scores, args.mask),
        rtol=0,
        atol=0,
    )


def test_bad_lengths_give_clear_errors():
    args = make("bahdanau", B=3, S=4)
    t = args.tensors
    call = lambda **kw: functional.bahdanau_attention(
        t["query_proj"],
        t["keys_proj"],
        t["values"],
        t["v"],
        **kw,
    )
    with pytest.raises(ValueError, match=r"expected lengths in \[0, 4\].*from 0 to 5"):
        call(lengths=torch.tensor([0, 5, 2]))
    with pytest.raises(ValueError, match=r"expected lengths in \[0, 4\].*from -1 to 2"):
        call(lengths=torch.tensor([-1, 1, 2]))
    with pytest.raises(ValueError, match=r"expected lengths of dtype int64.*torch.int32"):
        call(lengths=torch.tensor([1, 1, 2], dtype=torch.int32))
    with pytest.raises(
        ValueError,
        match=r"expected lengths of dtype int64 and shape \[3\], got "
        r"torch.int64 of shape \[2\]",
    ):
        call(lengths=torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="mask or lengths, not both"):
        call(lengths=torch.tensor([1, 1, 2]), mask=args.mask)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_source_length_one(op, device):
    args = make(op, B=3, S=1, device=device, masked=False)
    context, weights = args.call("fused")
    torch.testing.assert_close(weights, torch.ones_like(weights))
    for query_context in per_query(context):
        torch.testing.assert_close(query_context, args.tensors["values"][:, 0].detach())
    compare(args, "reference", 1e-10, "S=1")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_empty_batch_and_empty_source(op, device):
    for B, S in ((0, 5), (3, 0)):
        args = make(op, B=B, S=S, device=device, masked=True)
        context, weights = args.call("fused")
        rows = context.shape[:-1]  # (B) or (B, T)
        assert context.shape == (*rows, 5) and weights.shape == (*rows, S) and rows[0] == B
        assert not context.any()
        grads = grads_of(
            (context, weights),
            args.differentiable(),
            (torch.ones_like(context), torch.ones_like(weights)),
        )
        for g, t in zip(grads, args.differentiable()):
            assert g.shape == t.shape and not g.any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_bahdanau_backward_without_source_positions_writes_zeros(dtype, device):
    """S = 0 with B > 0: the outputs over S have no elements (a null data
    pointer) but grad_query_proj and grad_v still need writing, as zeros. The
    allocator first holds NaN in blocks of their sizes, so that memory the
    kernel leaves unwritten shows (the CUDA caching allocator hands them back)."""
    B, A, D = 4, 64, 32
    for _ in range(4):
        torch.full((B, A), float("nan"), dtype=dtype, device=device)
        torch.full((B, A), float("nan"), dtype=torch.float32, device=device)  # grad_v_rows
    args = make("bahdanau", B=B, S=0, A=A, D=D, dtype=dtype, device=device, requires_grad=False)
    t = args.tensors
    grads = torch.ops.seq2seq_ext.bahdanau_attention_backward(
        torch.randn(B, D, dtype=dtype, device=device),
        torch.zeros(B, 0, dtype=dtype, device=device),
        t["query_proj"],
        t["keys_proj"],
        t["values"],
        t["v"],
        torch.zeros(B, 0, dtype=dtype, device=device),
        [True, True],
    )
    grad_query_proj, grad_keys_proj, grad_values, grad_v = grads
    assert grad_keys_proj.shape == (B, 0, A) and grad_values.shape == (B, 0, D)
    assert torch.equal(grad_query_proj, torch.zeros_like(grad_query_proj))
    assert torch.equal(grad_v, torch.zeros_like(grad_v))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_non_contiguous_inputs(op, device):
    args = make(op, B=5, S=6, A=4, D=3, device=device)

    def strided(t):
        """The same values in a non-contiguous layout."""
        if t.dim() == 1:
            view = torch.stack([t.detach(), torch.zeros_like(t)], 1)[:, 0]
        elif t.dim() == 2:
            view = t.detach().t().contiguous().t()
        else:  # (B, S, X) stored as (S, B, X): how an encoder's (seq, batch) output looks
            view = t.detach().transpose(0, 1).contiguous().transpose(0, 1)
        assert not view.is_contiguous()
        return view.requires_grad_()

    strided_args = args.with_tensors(strided)
    strided_args.mask = args.mask.t().contiguous().t()
    assert_same_values_and_gradients(
        strided_args.call("fused"),
        args.call("fused"),
        strided_args.differentiable(),
        args.differentiable(),
    )


# ---------------------------------------------------------------- bad input


def bahdanau_bad_variants():
    """(description, {argument: replacement}, regex). Good shapes: B=4, S=7, A=6, D=5."""
    r = lambda *shape: torch.randn(*shape, dtype=torch.float64)
    return [
        (
            "4-D query_proj",
            dict(query_proj=r(4, 1, 2, 6)),
            r"expected query_proj of shape \(batch, attn_size\) or \(batch, steps, attn_size\),"
            r" got \[4, 1, 2, 6\]",
        ),
        (
            "3-D query_proj of another batch",
            dict(query_proj=r(1, 4, 6)),
            r"expected keys_proj of shape \[1, 7, 6\], got \[4, 7, 6\]",
        ),
        (
            "2-D keys_proj",
            dict(keys_proj=r(4, 6)),
            r"expected keys_proj of shape \(batch, src_len, attn_size\), got a 2-D tensor",
        ),
        (
            "keys_proj attn size",
            dict(keys_proj=r(4, 7, 5)),
            r"expected keys_proj of shape \[4, 7, 6\], got \[4, 7, 5\]",
        ),
        (
            "keys_proj batch",
            dict(keys_proj=r(3, 7, 6)),
            r"expected keys_proj of shape \[4, 7, 6\], got \[3, 7, 6\]",
        ),
        (
            "values source length",
            dict(values=r(4, 6, 5)),
            r"expected values of shape \[4, 7, 5\], got \[4, 6, 5\]",
        ),
        ("v size", dict(v=r(5)), r"expected v of shape \[6\], got \[5\]"),
        ("v rank", dict(v=r(6, 1)), r"expected v of shape \(attn_size\), got a 2-D tensor"),
        (
            "dtype mix",
            dict(values=r(4, 7, 5).float()),
            r"expected values to have dtype Double like query_proj, got Float",
        ),
        (
            "integer query",
            dict(query_proj=torch.ones(4, 6, dtype=torch.long)),
            r"expected a floating-point query_proj, got Long",
        ),
        (
            "mask shape",
            dict(mask=torch.ones(4, 6, dtype=torch.bool)),
            r"expected mask of shape \[4, 7\], got \[4, 6\]",
        ),
        ("mask dtype", dict(mask=torch.ones(4, 7)), r"expected mask of dtype Bool.*got Float"),
    ]


def luong_bad_variants():
    r = lambda *shape: torch.randn(*shape, dtype=torch.float64)
    return [
        ("3-D query", dict(query=r(1, 4, 6)), r"expected query of shape \(batch, query_size\)"),
        (
            "dot with other key size",
            dict(keys=r(4, 7, 5)),
            r"dot attention \(W = None\) needs key_size == query_size: expected keys of shape "
            r"\[4, 7, 6\], got \[4, 7, 5\]",
        ),
        ("W shape", dict(W=r(5, 6)), r"expected W of shape \[6, 6\], got \[5, 6\]"),
        (
            "values batch",
            dict(values=r(3, 7, 5)),
            r"expected values of shape \[4, 7, 5\], got \[3, 7, 5\]",
        ),
        (
            "dtype mix",
            dict(keys=r(4, 7, 6).half()),
            r"expected keys to have dtype Double like query, got Half",
        ),
        (
            "mask shape",
            dict(mask=torch.ones(7, 4, dtype=torch.bool)),
            r"expected mask of shape \[4, 7\], got \[7, 4\]",
        ),
        (
            "mask dtype",
            dict(mask=torch.ones(4, 7, dtype=torch.uint8)),
            r"expected mask of dtype Bool",
        ),
    ]


@pytest.mark.parametrize(
    "op,variants", [("bahdanau", bahdanau_bad_variants()), ("luong_dot", luong_bad_variants())]
)
def test_bad_input_gives_clear_error_and_changes_nothing(op, variants):
    for description, replace, message in variants:
        args = make(op, B=4, S=7, A=6, D=5, requires_grad=False)
        args.mask = replace.pop("mask", args.mask)
        args.tensors.update(replace)
        before = {k: t.clone() for k, t in args.tensors.items()}
        with pytest.raises(RuntimeError, match=message):
            args.call("fused")
        for k, t in args.tensors.items():
            assert torch.equal(t, before[k]), f"{description}: {k} was modified"


def test_masked_softmax_bad_input():
    scores = torch.randn(3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"masked_softmax: expected mask of shape \[3, 4\] "
        r"\(or broadcastable to it\), got \[3, 5\]",
    ):
        functional.masked_softmax(scores, torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(RuntimeError, match=r"expected mask of dtype Bool"):
        functional.masked_softmax(scores, torch.ones(3, 4))
    with pytest.raises(RuntimeError, match=r"expected a floating-point scores, got Long"):
        functional.masked_softmax(scores.long())
    with pytest.raises(
        RuntimeError, match=r"expected grad_weights of shape \[3, 4\], got \[3, 3\]"
    ):
        torch.ops.seq2seq_ext.masked_softmax_backward(scores[:, :3], scores)


@requires_cuda
def test_device_mix_is_rejected():
    args = make("bahdanau", device="cuda")
    args.tensors["values"] = args.tensors["values"].detach().cpu()
    with pytest.raises(
        RuntimeError, match=r"expected values on device cuda:0 like query_proj, got cpu"
    ):
        args.call("fused")
    args = make("bahdanau", device="cuda")
    args.mask = args.mask.cpu()
    with pytest.raises(RuntimeError, match=r"expected mask on device cuda:0, got cpu"):
        args.call("fused")


# ---------------------------------------------------------------- autocast

AUTOCAST = [("cpu", torch.bfloat16), pytest.param("cuda", torch.float16, marks=requires_cuda)]


@pytest.mark.parametrize("device,autocast_dtype", AUTOCAST)
@pytest.mark.parametrize("op", OPS)
def test_autocast_runs_in_the_autocast_dtype(op, device, autocast_dtype):
    args = make(op, B=8, S=10, A=16, D=12, dtype=torch.float32, device=device)
    with torch.autocast(device, dtype=autocast_dtype):
        outputs = args.call("fused")
    expected = args.with_tensors(lambda t: t.detach().to(autocast_dtype)).call("reference")
    assert_ran_in_autocast_dtype(outputs, expected, autocast_dtype, args.differentiable())


# masked_softmax (not among OPS) in both half types on CUDA.
SOFTMAX_AUTOCAST = [*AUTOCAST, pytest.param("cuda", torch.bfloat16, marks=requires_cuda)]


@pytest.mark.parametrize("device,autocast_dtype", SOFTMAX_AUTOCAST)
def test_masked_softmax_runs_in_the_autocast_dtype(device, autocast_dtype):
    """Against the float64 reference on the scores cast to the autocast dtype."""
    scores = (torch.randn(8, 3, 10, dtype=torch.float32) * 3).to(device).requires_grad_()
    mask = lengths_mask(random_lengths(8, 10, 0), 10, device).unsqueeze(1)
    with torch.autocast(device, dtype=autocast_dtype):
        weights = functional.masked_softmax(scores, mask)
    exact = reference.masked_softmax(scores.detach().to(autocast_dtype).double(), mask)
    assert_ran_in_autocast_dtype([weights], [exact.to(autocast_dtype)], autocast_dtype, [scores])


# ---------------------------------------------------------------- property tests


@st.composite
def attention_cases(draw):
    op = draw(st.sampled_from(OPS))
    dtype = draw(st.sampled_from([torch.float64, torch.float32]))
    shape = dict(
        B=draw(st.integers(0, 5)),
        S=draw(st.integers(1, 9)),
        A=draw(st.integers(1, 9)),
        D=draw(st.integers(1, 9)),
    )
    masked = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return op, dtype, shape, masked, seed


@settings(max_examples=100, deadline=None)
@given(attention_cases())
def test_property_random_shapes(case):
    op, dtype, shape, masked, seed = case
    args = make(op, dtype=dtype, masked=masked, seed=seed, **shape)
    compare(args, "reference", tolerance(dtype), "property")


def test_backend_reports_the_attention_ops():
    info = seq2seq_ext.backend_info()
    for op in ("masked_softmax", "bahdanau_attention", "luong_attention"):
        assert info["ops"][op]["cpu"] == "kernel"
