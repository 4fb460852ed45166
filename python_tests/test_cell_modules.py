"""FusedLSTMCell / FusedGRUCell / FusedRNNCell as drop-ins for torch.nn's cells."""

import pytest
import torch
from conftest import CELLS, DEVICES, assert_close_scaled, tolerance

# One module per class (the tanh and relu ops share FusedRNNCell).
MODULE_CELLS = CELLS


def pair(cell, *args, seed=0, **kwargs):
    """A torch.nn cell and the fused one, built from the same seed (so the same init)."""
    kwargs = {**dict(cell.module_kwargs), **kwargs}
    torch.manual_seed(seed)
    theirs = cell.torch_module(*args, **kwargs)
    torch.manual_seed(seed)
    ours = cell.fused_module(*args, **kwargs)
    return theirs, ours


def states(cell, batch_shape, hidden, **kw):
    make = lambda: torch.randn(*batch_shape, hidden, **kw)
    return (make(), make()) if cell.has_cell_state else make()


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_same_attributes_init_and_state_dict(cell):
    theirs, ours = pair(cell, 10, 20, bias=True)
    for name in ("input_size", "hidden_size", "bias"):
        assert getattr(ours, name) == getattr(theirs, name)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert torch.equal(a, b), f"{name} initialised differently"
    assert repr(ours).replace("Fused", "") == repr(theirs)
    fresh = cell.fused_module(10, 20, **dict(cell.module_kwargs))
    fresh.load_state_dict(theirs.state_dict())
    back = cell.torch_module(10, 20, **dict(cell.module_kwargs))
    back.load_state_dict(fresh.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(back.parameters(), theirs.parameters()))


@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_no_bias_has_no_bias_parameters(cell):
    theirs, ours = pair(cell, 4, 3, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight_ih", "weight_hh"]
    x = torch.randn(2, 4)
    for a, b in zip(as_tuple(ours(x)), as_tuple(theirs(x))):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def run_pair(cell, batched, given_state, dtype, device):
    theirs, ours = pair(cell, 32, 48, device=device, dtype=dtype)
    batch_shape = (16,) if batched else ()
    x = torch.randn(*batch_shape, 32, device=device, dtype=dtype)
    hx = states(cell, batch_shape, 48, device=device, dtype=dtype) if given_state else None
    out_ours, out_theirs = as_tuple(ours(x, hx)), as_tuple(theirs(x, hx))
    for a, b in zip(out_ours, out_theirs):
        assert a.shape == b.shape == (*batch_shape, 48)
    return theirs, ours, out_theirs, out_ours


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("given_state", [True, False], ids=["hx", "no-hx"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_outputs_and_gradients_match_torch(cell, batched, given_state, dtype, device):
    theirs, ours, out_theirs, out_ours = run_pair(cell, batched, given_state, dtype, device)
    tol = tolerance(dtype, device)
    for a, b in zip(out_ours, out_theirs):
        assert_close_scaled(a, b, tol, "output")
    # Weight each output differently so that a swapped h/c gradient shows.
    sum((o * (k + 1)).sum() for k, o in enumerate(out_ours)).backward()
    sum((o * (k + 1)).sum() for k, o in enumerate(out_theirs)).backward()
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert_close_scaled(a.grad, b.grad, tol, f"grad of {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_half_type_outputs_match_torch(cell, dtype, device):
    """Half types: torch rounds its gates to the half type, ours stay in float32,
    so the two agree to the half-type tolerance (gradients: test_cell_ops)."""
    _, _, out_theirs, out_ours = run_pair(cell, True, True, dtype, device)
    for a, b in zip(out_ours, out_theirs):
        assert_close_scaled(a, b, 2 * tolerance(dtype, device), "output")


@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_rank_errors_match_torch(cell):
    theirs, ours = pair(cell, 4, 3)
    for x in (torch.randn(2, 2, 4), torch.randn(())):
        with pytest.raises(ValueError) as expected:
            theirs(x)
        with pytest.raises(
            ValueError, match=str(expected.value).replace("(", r"\(").replace(")", r"\)")
        ):
            ours(x)
    x = torch.randn(2, 4)
    bad_h = torch.randn(1, 2, 3)
    bad_hx = (bad_h, bad_h) if cell.has_cell_state else bad_h
    with pytest.raises(ValueError) as expected:
        theirs(x, bad_hx)
    with pytest.raises(
        ValueError, match=str(expected.value).replace("[", r"\[").replace("]", r"\]")
    ):
        ours(x, bad_hx)


def test_unknown_nonlinearity_raises_like_torch():
    theirs = torch.nn.RNNCell(4, 3, nonlinearity="sigmoid")
    ours = CELLS[2].fused_module(4, 3, nonlinearity="sigmoid")
    x = torch.randn(2, 4)
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sigmoid"):
        theirs(x)
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sigmoid"):
        ours(x)


@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_wrong_hidden_size_gives_torch_error(cell):
    """torch's cells check sizes in _VF with their own messages; ours give the
    same (the op's own messages name the op's arguments, test_cell_ops)."""
    theirs, ours = pair(cell, 4, 3)
    x, h = torch.randn(2, 4), torch.randn(2, 5)
    hx = (h, h) if cell.has_cell_state else h
    with pytest.raises(RuntimeError) as expected:
        theirs(x, hx)
    with pytest.raises(RuntimeError) as got:
        ours(x, hx)
    assert (
        str(got.value)
        == str(expected.value)
        == ("hidden0 has inconsistent hidden_size: got 5, expected 3")
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", MODULE_CELLS, ids=str)
def test_compiles_as_one_graph(cell, device):
    """torch.compile(fullgraph=True) of a module step, forward and backward."""
    theirs, ours = pair(cell, 8, 16, device=device)
    x = torch.randn(4, 8, device=device, requires_grad=True)
    hx = states(cell, (4,), 16, device=device)

    def step(module, x, hx):
        out = as_tuple(module(x, hx))
        return sum(o.tanh().sum() for o in out)

    compiled = torch.compile(
        step, fullgraph=True, backend="aot_eager" if device == "cpu" else "inductor"
    )
    expected = step(theirs, x, hx)
    got = compiled(ours, x, hx)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    (grad_got,) = torch.autograd.grad(got, x)
    (grad_expected,) = torch.autograd.grad(expected, x)
    torch.testing.assert_close(grad_got, grad_expected, rtol=1e-5, atol=1e-5)


def test_compiles_with_inductor_on_cpu():
    """The full inductor pipeline (C++ codegen around our op) on one cell."""
    theirs, ours = pair(CELLS[0], 8, 16)
    x = torch.randn(4, 8)
    compiled = torch.compile(lambda m, x: m(x)[0].relu() * 2, fullgraph=True)
    torch.testing.assert_close(compiled(ours, x), theirs(x)[0].relu() * 2, rtol=1e-5, atol=1e-5)
