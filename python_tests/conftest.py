"""Shared helpers: the cells under test, argument factories, tolerances, devices."""

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import seq2seq_ext
from seq2seq_ext import cell_types, functional, reference

CUDA = torch.cuda.is_available()
# float32 on CUDA is compared in full float32: with TF32, cuBLAS and cuDNN (the
# torch.nn peers) round GEMM inputs to 10 bits. Half-type GEMMs likewise
# accumulate in float32: cuBLAS may otherwise reduce in the half type itself.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
NEEDS_CUDA = "needs a CUDA GPU"
# A test or parameter that runs on CUDA: skipped without a GPU, and marked
# "cuda" (pytest_collection_modifyitems), which .ci/gpu selects with -m cuda.
requires_cuda = pytest.mark.skipif(not CUDA, reason=NEEDS_CUDA)
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]


def pytest_collection_modifyitems(items):
    for item in items:
        if any(
            mark.name == "skipif" and mark.kwargs.get("reason") == NEEDS_CUDA
            for mark in item.iter_markers()
        ):
            item.add_marker(pytest.mark.cuda)


HALF_TYPES = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Cell:
    cell_type: cell_types.CellType
    torch_module: type  # the torch.nn cell it replaces
    fused_module: type
    module_kwargs: tuple = ()

    @property
    def name(self):
        """The op's name in torch.ops.seq2seq_ext and functional."""
        return f"{self.cell_type.name}_cell"

    @property
    def gates(self):
        return self.cell_type.gates

    @property
    def has_cell_state(self):
        return self.cell_type.states == 2

    @property
    def fused(self):
        return getattr(functional, self.name)

    @property
    def ref(self):
        return getattr(reference, self.name)

    @property
    def vf(self):
        return getattr(torch._VF, self.name)

    def __str__(self):
        return self.name


CELLS = [
    Cell(cell_types.LSTM, torch.nn.LSTMCell, seq2seq_ext.FusedLSTMCell),
    Cell(cell_types.GRU, torch.nn.GRUCell, seq2seq_ext.FusedGRUCell),
    Cell(
        cell_types.RNN_TANH, torch.nn.RNNCell, seq2seq_ext.FusedRNNCell, (("nonlinearity", "tanh"),)
    ),
    Cell(
        cell_types.RNN_RELU, torch.nn.RNNCell, seq2seq_ext.FusedRNNCell, (("nonlinearity", "relu"),)
    ),
]


@dataclass
class CellArgs:
    """Arguments of one cell call; `hx` is (h, c) for the LSTM, h otherwise."""

    input: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor  # None for cells without a cell state
    w_ih: torch.Tensor
    w_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor

    @property
    def hx(self):
        return (self.h, self.c) if self.c is not None else self.h

    def call(self, fn):
        """Runs fn (a functional / reference / _VF cell); returns a tuple of outputs."""
        out = fn(self.input, self.hx, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    def tensors(self):
        """Every tensor argument, in a fixed order (None for absent ones)."""
        return [self.input, self.h, self.c, self.w_ih, self.w_hh, self.b_ih, self.b_hh]

    def differentiable(self):
        return [t for t in self.tensors() if t is not None and t.requires_grad]


def make_args(
    cell: Cell,
    batch=5,
    input_size=7,
    hidden=6,
    dtype=torch.float64,
    device="cpu",
    bias=True,
    requires_grad=False,
    seed=0,
    scale=1.0,
) -> CellArgs:
    """Random arguments at the scale torch's init uses (weights U(-1/√H, 1/√H));
    the input and the states U(-scale, scale)."""
    gen = torch.Generator().manual_seed(seed)
    bound = 1 / math.sqrt(hidden)

    def rand(*shape, scale=1.0):
        t = (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale
        return t.to(dtype=dtype, device=device).requires_grad_(requires_grad)

    G = cell.gates
    return CellArgs(
        input=rand(batch, input_size, scale=scale),
        h=rand(batch, hidden, scale=scale),
        c=rand(batch, hidden, scale=scale) if cell.has_cell_state else None,
        w_ih=rand(G * hidden, input_size, scale=bound),
        w_hh=rand(G * hidden, hidden, scale=bound),
        b_ih=rand(G * hidden, scale=bound) if bias else None,
        b_hh=rand(G * hidden, scale=bound) if bias else None,
    )


# The largest error the kernels may make, relative to max(1, max|expected|)
# (assert_close_scaled), for values and gradients alike (docs/design.md, Numerics).
TOLERANCES = {
    # The same formulas in the same precision: only the order of summation differs.
    torch.float64: 1e-10,
    # A few float32 ulps (1.2e-7) through the gate math and GEMMs of 256 terms.
    torch.float32: 1e-5,
    # 8 significant bits (ulp 7.8e-3 at 1): the kernels store states and gates in
    # bfloat16 between steps, so a few roundings add up (measured: up to 7e-3).
    torch.bfloat16: 1e-2,
    # 11 significant bits (ulp 9.8e-4): the same roundings (measured: up to 8e-4).
    torch.float16: 1e-2,
}
# cuBLAS picks other GEMM algorithms than the peer's (TF32 off, conftest sets it).
CUDA_FLOAT32_TOLERANCE = 1e-4


def tolerance(dtype, device="cpu"):
    if dtype == torch.float32 and torch.device(device).type == "cuda":
        return CUDA_FLOAT32_TOLERANCE
    return TOLERANCES[dtype]


def assert_close_scaled(actual, expected, tol, what=""):
    """|actual - expected| <= tol * max(1, max|expected|), element-wise max: a
    relative check that does not blow up on elements near zero. Where expected
    is NaN or infinite, actual must be the same (NaN where torch gives NaN); the
    scale is that of the finite elements."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    expected64, actual64 = expected.double(), actual.double()
    finite = expected64.isfinite()
    if not finite.all():
        same_nan = actual64.isnan() == expected64.isnan()
        assert same_nan.all(), f"{what}: NaN at {(~same_nan).sum().item()} other positions"
        infinite = expected64.isinf()
        assert torch.equal(actual64[infinite], expected64[infinite]), f"{what}: infinities differ"
        expected64, actual64 = expected64[finite], actual64[finite]
    scale = max(1.0, expected64.abs().max().item()) if expected64.numel() else 1.0
    error = (actual64 - expected64).abs().max().item() if expected64.numel() else 0.0
    assert error <= tol * scale, f"{what}: max error {error:.3g} > {tol:.1g} * {scale:.3g}"


def flat_tensors(out) -> tuple:
    """Every tensor of a module's result, nested one level as torch's recurrent
    modules return them ((output, (h, c)), or (output, h), or h)."""
    flat = []
    for item in out if isinstance(out, tuple) else (out,):
        flat.extend(item if isinstance(item, tuple) else (item,))
    return tuple(flat)


def grads_of(outputs, inputs, grad_outputs):
    return torch.autograd.grad(outputs, inputs, grad_outputs, allow_unused=True)


def assert_same_values_and_gradients(ours, expected, our_inputs, expected_inputs, atol=1e-12):
    """Two computations of the same function: equal outputs, and equal gradients
    of their inputs for the same random upstream gradients."""
    grad_out = [torch.randn_like(o) for o in ours]
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=atol)
    for a, b in zip(
        grads_of(ours, our_inputs, grad_out), grads_of(expected, expected_inputs, grad_out)
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=atol)


def assert_ran_in_autocast_dtype(outputs, expected, autocast_dtype, float32_leaves):
    """Outputs of a call under autocast: in the autocast dtype, close to the
    reference run on inputs cast to it, and float32 gradients for the float32 leaves."""
    for out, ref in zip(outputs, expected):
        assert out.dtype == autocast_dtype
        assert_close_scaled(out, ref, 1e-2, "autocast output")
    sum(o.float().sum() for o in outputs).backward()
    for t in float32_leaves:
        assert t.grad is not None and t.grad.dtype == torch.float32


def run_with_reference_fallback(script):
    """Runs a Python script in a fresh interpreter with the compiled library
    ignored (SEQ2SEQ_EXT_FORCE_REFERENCE=1); asserts it succeeded."""
    env = dict(os.environ, SEQ2SEQ_EXT_FORCE_REFERENCE="1")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result


REPO = Path(__file__).resolve().parents[1]


def run_python(*args, **env):
    """Runs `python ARGS` from the repository root with the checkout importable
    (and the extra environment variables `env`); asserts it succeeded. The run
    fails if the package it imports has no compiled kernels (a checkout after a
    non-editable install has none): it must not pass on the reference."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "SEQ2SEQ_EXT_REQUIRE_COMPILED": "1",
        **env,
    }
    completed = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


def assert_passes_under_isa_cap(test_files, selection, isa):
    """The tests `selection` (pytest -k) of `test_files` (names in python_tests/)
    pass, none skipped, with SEQ2SEQ_EXT_CPU_ISA capping the instruction-set
    copies in use at `isa` (test_isa_in_use, when selected, checks that the cap
    holds)."""
    completed = run_python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *(REPO / "python_tests" / name for name in test_files),
        "-k",
        selection,
        SEQ2SEQ_EXT_CPU_ISA=isa,
        SEQ2SEQ_EXT_EXPECTED_ISA=isa,
    )
    assert " passed" in completed.stdout and "skipped" not in completed.stdout


def result_of(stdout: str) -> dict:
    """The metrics of the `RESULT {json}` line a script prints last."""
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT "), stdout[-2000:]
    return json.loads(last[len("RESULT ") :])


@pytest.fixture(autouse=True)
def _deterministic_seed():
    torch.manual_seed(0)


def pytest_report_header(config):
    info = seq2seq_ext.backend_info()
    return (
        f"seq2seq_ext backend: compiled={info['compiled']} cpu_kernels={info['cpu_kernels']} "
        f"cuda_kernels={info['cuda_kernels']} cuda_available={info['cuda_available']}; "
        f"torch {torch.__version__}; SEQ2SEQ_EXT_EXPECT_CUDA_KERNELS="
        f"{os.environ.get('SEQ2SEQ_EXT_EXPECT_CUDA_KERNELS', '')}"
    )
