"""Every copy of the CPU's vector loops (csrc/core/cpu/isa.h: the x86-64
baseline, AVX2, AVX-512) against float64, under the rounding contract of
docs/design.md ("Copies for each instruction set"): the copies need not round
alike, each must stay within the stated bounds.

The machine's best copy runs in every other test; here SEQ2SEQ_EXT_CPU_ISA
caps it, in a fresh process per copy: for the activation bounds, and for the
kernel tests that take every code path of the recurrent steps, the cells and
Bahdanau attention."""

import json

import pytest
import torch
from conftest import assert_passes_under_isa_cap, run_python

import seq2seq_ext  # noqa: F401  (loads the ops)

ISAS = ["baseline", "avx2", "avx512"]

# Largest errors allowed against float64, in units of 2^-24 (float32's half
# ulp of 1): sigmoid relative to its value (where it is a normal float), tanh
# absolute (the contract's, docs/design.md).
SIGMOID_RELATIVE = 4
TANH_ABSOLUTE = 6

# Run in a fresh process under the cap: the activated gates of an LSTM cell
# whose gates are exactly the inputs (one unit, weights 1 and 0), over a dense
# grid and the special values; prints the errors as JSON.
ACTIVATIONS = r"""
import json, torch, seq2seq_ext
x = torch.cat([torch.linspace(-20, 20, 400_001), torch.logspace(-12, 2, 50_001),
               -torch.logspace(-12, 2, 50_001)])
special = torch.tensor([0.0, -0.0, 88.0, -88.0, -89.0, 1e30, -1e30, float("inf"), float("-inf")])
x = torch.cat([x, special, torch.tensor([float("nan")])])
B = x.numel()
ws = torch.ops.seq2seq_ext.lstm_cell(x[:, None], torch.zeros(B, 1), torch.zeros(B, 1),
                                     torch.ones(4, 1), torch.zeros(4, 1), None, None)[2].double()
xd = x.double()
finite = xd.isfinite()
sig, tanh = ws[:, 0], ws[:, 2]
exact_sig, exact_tanh = torch.sigmoid(xd), torch.tanh(xd)
normal = finite & (exact_sig > 2.0 ** -126)
print(json.dumps({
    "isa": torch.ops.seq2seq_ext.cpu_isa(),
    "sigmoid_relative": ((sig - exact_sig).abs() / exact_sig)[normal].max().item() * 2**24,
    "tanh_absolute": (tanh - exact_tanh)[finite].abs().max().item() * 2**24,
    "special_sigmoid": sig[-10:-1].tolist(), "special_tanh": tanh[-10:-1].tolist(),
    "nan": [sig[-1].isnan().item(), tanh[-1].isnan().item()],
}))
"""


def best_isa():
    return torch.ops.seq2seq_ext.cpu_isa()


def require(isa):
    if ISAS.index(isa) > ISAS.index(best_isa()):
        pytest.skip(f"this CPU has no {isa} (its best copy: {best_isa()})")


@pytest.mark.parametrize("isa", ISAS)
def test_activations_within_the_contract(isa):
    require(isa)
    errors = json.loads(
        run_python("-c", ACTIVATIONS, SEQ2SEQ_EXT_CPU_ISA=isa).stdout.splitlines()[-1]
    )
    assert errors["isa"] == isa
    assert errors["sigmoid_relative"] <= SIGMOID_RELATIVE, errors
    assert errors["tanh_absolute"] <= TANH_ABSOLUTE, errors
    # 0, -0, 88, -88, -89, 1e30, -1e30, inf, -inf: exact where float32 can be.
    assert errors["special_sigmoid"][:2] == [0.5, 0.5]
    assert errors["special_sigmoid"][4:] == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert errors["special_tanh"][:2] == [0.0, 0.0]
    assert errors["special_tanh"][2:] == [1.0, -1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    assert errors["nan"] == [True, True]


@pytest.mark.parametrize("isa", ["baseline", "avx2"])
def test_kernel_tests_on_every_copy(isa):
    """The tests of every float32 kernel path again under the cap (the
    machine's best copy runs them in the suite itself)."""
    require(isa)
    assert_passes_under_isa_cap(
        ["test_cpu_recurrent_kernels.py", "test_attention_ops.py", "test_cell_ops.py"],
        "not cuda and (float32 or bahdanau or paths or cell)",
        isa,
    )
