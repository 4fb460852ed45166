"""The fused cell ops against torch._VF and reference.py: values, gradients,
gradcheck, opcheck, bad input, edge cases, autocast, random property tests."""

import pytest
import torch
from conftest import (
    CELLS,
    DEVICES,
    HALF_TYPES,
    assert_close_scaled,
    assert_ran_in_autocast_dtype,
    assert_same_values_and_gradients,
    grads_of,
    make_args,
    requires_cuda,
    tolerance,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ALL_DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]


def compare_with(cell, args, expected_fn, tol, what, grad_tol=None):
    """Forward and every gradient of the fused op against expected_fn (the
    gradients to grad_tol, by default tol)."""
    inputs = args.differentiable()
    ours = args.call(cell.fused)
    theirs = args.call(expected_fn)
    grad_out = [torch.randn_like(o) for o in ours]
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert_close_scaled(a, b, tol, f"{what} output {k}")
    if cell.name == "rnn_relu_cell":
        # A pre-activation within rounding of 0 can land on either side of it, and
        # relu's derivative jumps there: compare gradients where the signs agree.
        disagree = (ours[0] > 0) != (theirs[0] > 0)
        assert disagree.sum().item() <= 1e-3 * disagree.numel(), "relu signs differ too often"
        grad_out[0] = grad_out[0].masked_fill(disagree, 0)
    for a, b, t in zip(
        grads_of(ours, inputs, grad_out), grads_of(theirs, inputs, grad_out), inputs
    ):
        assert_close_scaled(a, b, grad_tol or tol, f"{what} grad of a {tuple(t.shape)} argument")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_matches_torch_and_reference_at_real_size(cell, dtype, device):
    args = make_args(
        cell, batch=64, input_size=256, hidden=256, dtype=dtype, device=device, requires_grad=True
    )
    tol = tolerance(dtype, device)
    compare_with(cell, args, cell.ref, tol, "reference")
    if dtype not in HALF_TYPES:  # torch._VF rounds half types differently (no float32 gates)
        compare_with(cell, args, cell.vf, tol, "torch._VF")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_gradcheck_float64(cell, bias, device):
    args = make_args(
        cell, batch=3, input_size=4, hidden=5, device=device, bias=bias, requires_grad=True
    )
    present = [t is not None for t in args.tensors()]

    def run(*tensors):
        it = iter(tensors)
        full = [next(it) if p else None for p in present]
        call_args = type(args)(*full)
        return call_args.call(cell.fused)

    assert torch.autograd.gradcheck(run, args.differentiable())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_opcheck(cell, bias, device):
    args = make_args(
        cell, batch=3, input_size=4, hidden=5, device=device, bias=bias, requires_grad=True
    )
    op = getattr(torch.ops.seq2seq_ext, cell.name).default
    op_args = args.tensors()
    if not cell.has_cell_state:
        op_args.pop(2)  # only the LSTM takes a cell state
    torch.library.opcheck(op, tuple(op_args))


def backward_op_args(cell, args, output_mask):
    """Arguments of the op's backward op, from a forward run on args."""
    a = args
    outputs = getattr(torch.ops.seq2seq_ext, cell.name)(*[t for t in a.tensors() if t is not None])
    if cell.name == "lstm_cell":
        hy, cy, workspace = outputs
        return (
            torch.randn_like(hy),
            torch.randn_like(cy),
            a.input,
            a.h,
            a.c,
            cy,
            workspace,
            a.w_ih,
            a.w_hh,
            output_mask,
        )
    if cell.name == "gru_cell":
        hy, workspace = outputs
        return (torch.randn_like(hy), a.input, a.h, workspace, a.w_ih, a.w_hh, output_mask)
    return (torch.randn_like(outputs), a.input, a.h, outputs, a.w_ih, a.w_hh, output_mask)


MASKS = [[True, True, True], [False, True, True], [True, False, False], [False, False, False]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("output_mask", MASKS, ids=str)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_opcheck_backward_ops(cell, output_mask, device):
    args = make_args(cell, batch=3, input_size=4, hidden=5, device=device)
    backward = getattr(torch.ops.seq2seq_ext, f"{cell.name}_backward").default
    torch.library.opcheck(backward, backward_op_args(cell, args, output_mask))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_backward_computes_only_the_asked_gradients(cell, device):
    args = make_args(cell, device=device)
    backward = getattr(torch.ops.seq2seq_ext, f"{cell.name}_backward")
    torch.manual_seed(0)
    full = backward(*backward_op_args(cell, args, [True, True, True]))
    for mask in MASKS:
        torch.manual_seed(0)  # the same random grad_hy (and grad_cy) as above
        grads = backward(*backward_op_args(cell, args, mask))
        wanted = {"input": mask[0], "hx": mask[1], "w": mask[2], "b": mask[2], "cx": True}
        names = (
            ["input", "hx"]
            + (["cx"] if cell.has_cell_state else [])
            + ["w", "w"]
            + ["b"] * (len(full) - (5 if cell.has_cell_state else 4))
        )
        for name, got, expected in zip(names, grads, full):
            if wanted[name]:
                torch.testing.assert_close(got, expected, rtol=0, atol=0)
            else:
                assert got.numel() == 0, f"{name} gradient computed though not asked for"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_gradients_when_only_some_arguments_require_them(cell, device):
    """Frozen weights, an input without grad: autograd asks for fewer gradients."""
    for wanted in ([0], [1], [3, 4], [0, 5]):  # indices into CellArgs.tensors()
        args = make_args(cell, device=device)
        for k in wanted:
            t = args.tensors()[k]
            if t is not None:
                t.requires_grad_()
        inputs = args.differentiable()
        assert_same_values_and_gradients(args.call(cell.fused), args.call(cell.vf), inputs, inputs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_empty_batch(cell, device):
    args = make_args(cell, batch=0, device=device, requires_grad=True)
    outputs = args.call(cell.fused)
    for out in outputs:
        assert out.shape == (0, 6)
    grads = grads_of(outputs, args.differentiable(), [torch.ones_like(o) for o in outputs])
    for g, t in zip(grads, args.differentiable()):
        assert g.shape == t.shape
        assert not g.any(), "an empty batch contributes no gradient"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_non_contiguous_inputs(cell, device):
    contiguous = make_args(cell, batch=6, input_size=5, hidden=4, device=device, requires_grad=True)

    def strided(t):
        """The same values in a non-contiguous layout (every other column of a wider tensor,
        or the transpose of a transposed copy)."""
        if t is None:
            return None
        if t.dim() == 1:
            wide = torch.zeros(t.shape[0], 2, dtype=t.dtype, device=t.device)
            wide[:, 0] = t.detach()
            view = wide[:, 0]
        else:
            view = t.detach().t().contiguous().t()
        assert not view.is_contiguous()
        return view.requires_grad_()

    strided_args = type(contiguous)(*[strided(t) for t in contiguous.tensors()])
    assert_same_values_and_gradients(
        strided_args.call(cell.fused),
        contiguous.call(cell.fused),
        strided_args.differentiable(),
        contiguous.differentiable(),
    )


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_only_some_outputs_used(cell):
    """Backward when only h' (or only c') feeds the loss: the other gradient is zero."""
    args = make_args(cell, requires_grad=True)
    outputs = args.call(cell.fused)
    expected = args.call(cell.vf)
    for k in range(len(outputs)):
        ours = torch.autograd.grad(
            outputs[k].sum(), args.differentiable(), retain_graph=True, allow_unused=True
        )
        theirs = torch.autograd.grad(
            expected[k].sum(), args.differentiable(), retain_graph=True, allow_unused=True
        )
        for a, b in zip(ours, theirs):
            a = torch.zeros_like(b) if a is None and b is not None else a
            b = torch.zeros_like(a) if b is None and a is not None else b
            if a is not None:
                torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- bad input


def bad_variants(cell):
    """(description, mutate(args) -> args, regex the error must match)."""
    G = cell.gates
    return [
        (
            "3-D input",
            lambda a: a.__class__(a.input.unsqueeze(0), *a.tensors()[1:]),
            r"expected input of shape \(batch, input_size\), got a 3-D tensor",
        ),
        (
            "wrong input size",
            lambda a: a.__class__(a.input[:, :6], *a.tensors()[1:]),
            r"expected input of shape \[5, 7\], got \[5, 6\]",
        ),
        (
            "wrong hidden size in h",
            lambda a: a.__class__(a.input, a.h[:, :5], *a.tensors()[2:]),
            r"expected hx of shape \[5, 6\], got \[5, 5\]",
        ),
        (
            "batch mismatch",
            lambda a: a.__class__(a.input, a.h[:4], *a.tensors()[2:]),
            r"expected hx of shape \[5, 6\], got \[4, 6\]",
        ),
        (
            "w_hh not (G*H, H)",
            lambda a: a.__class__(*a.tensors()[:4], a.w_hh[:, :5], *a.tensors()[5:]),
            rf"expected w_hh of shape \({G} \* hidden_size, hidden_size\), got \[{G * 6}, 5\]",
        ),
        (
            "w_ih rows",
            lambda a: a.__class__(*a.tensors()[:3], a.w_ih[1:], *a.tensors()[4:]),
            rf"expected w_ih of shape \[{G * 6}, 7\], got \[{G * 6 - 1}, 7\]",
        ),
        (
            "bias shape",
            lambda a: a.__class__(*a.tensors()[:5], a.b_ih[1:], a.b_hh),
            rf"expected b_ih of shape \[{G * 6}\], got \[{G * 6 - 1}\]",
        ),
        (
            "dtype mix",
            lambda a: a.__class__(a.input, a.h.float(), *a.tensors()[2:]),
            r"expected hx to have dtype Double like input, got Float",
        ),
        (
            "integer input",
            lambda a: a.__class__(a.input.long(), *a.tensors()[1:]),
            r"expected a floating-point input, got Long",
        ),
    ]


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_bad_input_gives_clear_error_and_changes_nothing(cell):
    for description, mutate, message in bad_variants(cell):
        args = mutate(make_args(cell))
        before = [t.clone() if t is not None else None for t in args.tensors()]
        with pytest.raises(RuntimeError, match=message):
            args.call(cell.fused)
        for t, saved in zip(args.tensors(), before):
            if t is not None:
                assert torch.equal(t, saved), f"{description}: an argument was modified"


@requires_cuda
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_device_mix_is_rejected(cell):
    args = make_args(cell, device="cuda")
    mixed = type(args)(args.input, args.h.cpu(), *args.tensors()[2:])
    with pytest.raises(RuntimeError, match=r"expected hx on device cuda:0 like input, got cpu"):
        mixed.call(cell.fused)


def test_backward_op_rejects_mismatched_saved_tensors():
    cell = CELLS[0]
    a = make_args(cell)
    hy, cy, workspace = torch.ops.seq2seq_ext.lstm_cell(*[t for t in a.tensors()])
    with pytest.raises(RuntimeError, match=r"expected workspace of shape \[5, 24\], got \[5, 23\]"):
        torch.ops.seq2seq_ext.lstm_cell_backward(
            hy, cy, a.input, a.h, a.c, cy, workspace[:, 1:], a.w_ih, a.w_hh, [True, True, True]
        )


# ---------------------------------------------------------------- autocast

AUTOCAST = [
    ("cpu", torch.bfloat16),
    pytest.param("cuda", torch.float16, marks=requires_cuda),
    pytest.param("cuda", torch.bfloat16, marks=requires_cuda),
]


@pytest.mark.parametrize("device,autocast_dtype", AUTOCAST)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_autocast_runs_in_the_autocast_dtype(cell, device, autocast_dtype):
    args = make_args(
        cell,
        batch=8,
        input_size=16,
        hidden=16,
        dtype=torch.float32,
        device=device,
        requires_grad=True,
    )
    with torch.autocast(device, dtype=autocast_dtype):
        outputs = args.call(cell.fused)
    half_args = type(args)(
        *[t.to(autocast_dtype) if t is not None else None for t in args.tensors()]
    )
    assert_ran_in_autocast_dtype(
        outputs, half_args.call(cell.ref), autocast_dtype, args.differentiable()
    )


# ---------------------------------------------------------------- property tests


@st.composite
def cell_cases(draw):
    cell = draw(st.sampled_from(CELLS))
    dtype = draw(st.sampled_from([torch.float64, torch.float32]))
    shape = dict(
        batch=draw(st.integers(0, 6)),
        input_size=draw(st.integers(1, 9)),
        hidden=draw(st.integers(1, 9)),
    )
    bias = draw(st.booleans())
    transposed = draw(st.lists(st.booleans(), min_size=7, max_size=7))
    seed = draw(st.integers(0, 2**16))
    return cell, dtype, shape, bias, transposed, seed


@settings(max_examples=150, deadline=None)
@given(cell_cases())
def test_property_random_shapes_dtypes_strides(case):
    cell, dtype, shape, bias, transposed, seed = case
    args = make_args(cell, dtype=dtype, bias=bias, seed=seed, **shape)

    def layout(t, flip):
        if t is None:
            return None
        if flip and t.dim() == 2:
            t = t.t().contiguous().t()  # same values, column-major strides
        return t.detach().requires_grad_()

    args = type(args)(*[layout(t, flip) for t, flip in zip(args.tensors(), transposed)])
    compare_with(cell, args, cell.ref, tolerance(dtype), "property")


SPECIAL_VALUES = [float("inf"), float("-inf"), float("nan")]


@st.composite
def extreme_cell_cases(draw):
    cell = draw(st.sampled_from(CELLS))
    dtype = draw(st.sampled_from([torch.float64, torch.float32]))
    scale = draw(st.sampled_from([1.0, 50.0, 1e3]))
    shape = dict(
        batch=draw(st.integers(1, 6)),
        input_size=draw(st.integers(1, 9)),
        hidden=draw(st.integers(1, 9)),
    )
    # (argument, position in it, value): a few inf and NaN entries, or none.
    where = st.tuples(
        st.sampled_from(["input", "h", "c"]), st.integers(0, 10**6), st.sampled_from(SPECIAL_VALUES)
    )
    specials = draw(st.lists(where, max_size=3))
    seed = draw(st.integers(0, 2**16))
    return cell, dtype, scale, shape, specials, seed


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=150, deadline=None)
@given(case=extreme_cell_cases())
def test_property_extreme_inputs_match_torch(device, case):
    """Inputs and states of scale 50 and 1000 drive the pre-activations far into
    saturation (where float's exp overflows), and inf / NaN entries spread
    through the GEMMs: the same values as torch._VF, NaN where it gives NaN, and
    the same gradients where every argument is finite."""
    cell, dtype, scale, shape, specials, seed = case
    args = make_args(cell, dtype=dtype, device=device, scale=scale, seed=seed, **shape)
    for name, position, value in specials:
        t = getattr(args, name)
        if t is not None:  # only the LSTM has a cell state c
            t.view(-1)[position % t.numel()] = value
    tol = tolerance(dtype, device)
    if any(not t.isfinite().all() for t in args.tensors() if t is not None):
        for k, (a, b) in enumerate(zip(args.call(cell.fused), args.call(cell.vf))):
            assert_close_scaled(a, b, tol, f"scale {scale}, {specials}: output {k}")
        return
    for t in args.tensors():
        if t is not None:
            t.requires_grad_()
    # The pre-activations are sums of products of this scale, added in another
    # order than torch._VF's (x W_ih^T + h W_hh^T + biases): their rounding
    # error grows with the scale, and an output whose pre-activation lands near
    # 0, out of saturation, carries it (|tanh'|, |sigmoid'| <= 1). The weights'
    # gradients are sums of gate gradients times inputs of this scale likewise.
    # So both bounds scale with the inputs.
    torch.manual_seed(seed)  # the upstream gradients compare_with draws
    compare_with(cell, args, cell.vf, tol * scale, f"scale {scale}")
