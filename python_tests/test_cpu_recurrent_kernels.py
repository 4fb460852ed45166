"""The CPU's float32 recurrent kernels (csrc/layers/cpu/recurrent_kernels.cpp) in every
shape that picks a different code path: batch 1 (matrix-vector loops on W_hh as
stored), larger batches (packed weights, blocks of 32 hidden units), hidden sizes
that leave a partial block, packed batches whose last steps have one row, and
the LSTM's projection. Each is checked, values and every gradient, against
torch.nn in float64 with the same weights: float64 takes the ATen path, so the
two share no kernel code."""

import pytest
import torch
from conftest import assert_close_scaled, tolerance
from test_rnn_layers import MODULES, as_list, pair
from torch.nn.utils.rnn import pack_sequence

# (batch lengths, hidden size, proj_size). Lengths are those of a packed batch
# (one per sequence); all equal means every step has that many rows.
SHAPES = {
    "batch 1": ([9], 64, 0),
    "batch 1, partial block": ([7], 45, 0),
    "batch 1, 3 units": ([5], 3, 0),
    "padded batch": ([6] * 8, 96, 0),
    "packed, partial block, one-row tail": ([9, 6, 6, 3, 1], 45, 0),
    "batch 33, odd sizes": ([4] * 33, 70, 0),
}
PROJECTED = {
    "projection, batch 1": ([8], 40, 24),
    "projection, packed": ([8, 5, 2], 40, 24),
}


def run(module, sequences, dtype):
    """Outputs and the gradients of a fixed random loss over them, for the input
    sequences, the initial states and every parameter."""
    module = module.to(dtype)
    xs = [s.to(dtype).requires_grad_() for s in sequences]
    states = [
        torch.randn(
            1, len(xs), size, dtype=torch.float64, generator=torch.Generator().manual_seed(k)
        )
        .to(dtype)
        .requires_grad_()
        for k, size in enumerate(state_sizes(module))
    ]
    hx = tuple(states) if len(states) == 2 else states[0]
    out, hidden = module(pack_sequence(xs), hx)
    results = [out.data, *as_list(hidden)]
    generator = torch.Generator().manual_seed(1)
    upstream = [torch.randn(r.shape, generator=generator, dtype=torch.float64) for r in results]
    loss = sum((r * u.to(dtype)).sum() for r, u in zip(results, upstream))
    grads = torch.autograd.grad(loss, xs + states + list(module.parameters()))
    return results, grads


def state_sizes(module):
    real = module.proj_size or module.hidden_size
    return [real, module.hidden_size] if isinstance(module, torch.nn.LSTM) else [real]


def check_shape(mode, lengths, hidden, proj_size):
    extra = {"proj_size": proj_size} if proj_size else {}
    theirs, ours = pair(mode, 11, hidden, **extra)
    torch.manual_seed(2)
    sequences = [torch.randn(length, 11, dtype=torch.float64) for length in lengths]
    expected_out, expected_grads = run(theirs, sequences, torch.float64)
    actual_out, actual_grads = run(ours, sequences, torch.float32)
    tol = tolerance(torch.float32)
    for k, (a, b) in enumerate(zip(actual_out, expected_out)):
        assert_close_scaled(a.double(), b, tol, f"output {k}")
    for k, (a, b) in enumerate(zip(actual_grads, expected_grads)):
        assert_close_scaled(a.double(), b, tol, f"gradient {k}")


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("mode", list(MODULES))
def test_float32_paths_match_torch_float64(mode, shape):
    check_shape(mode, *SHAPES[shape])


@pytest.mark.parametrize("shape", list(PROJECTED))
def test_lstm_projection_paths_match_torch_float64(shape):
    check_shape("lstm", *PROJECTED[shape])
