"""The build and the fallback: which kernels are compiled, and that the package
runs the reference when the compiled library is missing."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import run_with_reference_fallback

import seq2seq_ext
from seq2seq_ext._ops import OPS


def test_cpu_kernels_are_compiled():
    info = seq2seq_ext.backend_info()
    assert info["compiled"], f"seq2seq_ext._C did not load: {info['load_error']}"
    assert info["cpu_kernels"]
    for op in OPS:
        assert info["ops"][op]["cpu"] == "kernel"


@pytest.mark.skipif(
    os.environ.get("SEQ2SEQ_EXT_EXPECT_CUDA_KERNELS") != "1" and not torch.cuda.is_available(),
    reason="neither a GPU nor SEQ2SEQ_EXT_EXPECT_CUDA_KERNELS=1 (CI's) asks for the CUDA kernels",
)
def test_cuda_kernels_compiled_when_expected():
    """CI sets SEQ2SEQ_EXT_EXPECT_CUDA_KERNELS=1: it builds with nvcc, so the CUDA
    kernels must be in the library even on a machine without a GPU."""
    assert seq2seq_ext.backend_info()["cuda_kernels"], "no CUDA kernels in seq2seq_ext._C"


FALLBACK_SCRIPT = """
import warnings, torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import seq2seq_ext
    import seq2seq_ext.functional
ours = [w for w in caught if "seq2seq_ext" in str(w.message)]
assert len(ours) == 1, [str(w.message) for w in ours]
info = seq2seq_ext.backend_info()
assert not info["compiled"] and info["ops"]["lstm_cell"]["cpu"] == "reference", info
cell = seq2seq_ext.FusedLSTMCell(3, 4)
torch.manual_seed(0)
x = torch.randn(2, 3)
expected = torch.nn.LSTMCell(3, 4)
expected.load_state_dict(cell.state_dict())
for a, b in zip(cell(x), expected(x)):
    torch.testing.assert_close(a, b)
print("fallback ok")
"""


def test_falls_back_to_reference_with_one_warning():
    assert "fallback ok" in run_with_reference_fallback(FALLBACK_SCRIPT).stdout


def test_required_kernels_fail_the_import_loudly():
    """With SEQ2SEQ_EXT_REQUIRE_COMPILED=1 (the tests' subprocesses set it), a
    package without its compiled library does not import, instead of running
    the reference."""
    env = dict(os.environ, SEQ2SEQ_EXT_FORCE_REFERENCE="1", SEQ2SEQ_EXT_REQUIRE_COMPILED="1")
    result = subprocess.run(
        [sys.executable, "-c", "import seq2seq_ext"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert (
        "ImportError: seq2seq_ext: SEQ2SEQ_EXT_REQUIRE_COMPILED=1, but the compiled kernels "
        "are unavailable (SEQ2SEQ_EXT_FORCE_REFERENCE=1)" in result.stderr
    )
