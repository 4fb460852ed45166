"""Loads the compiled kernels (``seq2seq_ext._C``) and registers what torch
needs beyond them, op family by op family (cells.py, layers.py, attention.py):
a fake implementation (shapes only, for ``torch.compile`` and meta tensors),
the autograd formula (it calls the op's backward kernel) and autocast.

If ``_C`` cannot be loaded, the package still imports: it warns once and
``functional`` runs ``reference`` instead. ``SEQ2SEQ_EXT_FORCE_REFERENCE=1``
does the same on purpose (for debugging and for the fallback's own tests);
``SEQ2SEQ_EXT_REQUIRE_COMPILED=1`` makes the import fail instead (the tests'
subprocesses set it, so that a run on the reference cannot pass unnoticed).
"""

import os
import warnings

import torch

from .registration import DEVICE_TYPES

# The forward ops; each has a *_backward op next to it.
OPS = (
    "lstm_cell",
    "gru_cell",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "lstm_layer",
    "gru_layer",
    "rnn_tanh_layer",
    "rnn_relu_layer",
    "masked_softmax",
    "bahdanau_attention",
    "luong_attention",
)
# A Seq2Seq decoder's whole loop (no backward op: decoding is not differentiated),
# its scoring of a step, and the product with reduced-precision weights that
# decoding may use.
DECODING_OPS = ("greedy_decode", "beam_search", "top_log_probs", "reduced_linear")
# The decoder's step-by-step training pass (it has a *_backward op).
TRAINING_OPS = ("decoder_stepwise_pass",)
# The output layer and cross-entropy in one (its gradients come with the loss).
LOSS_OPS = ("output_cross_entropy",)
COMPILED_OPS = OPS + DECODING_OPS + TRAINING_OPS + LOSS_OPS
# The ops compiled for the CPU only: on other devices they run the reference.
CPU_ONLY_OPS = LOSS_OPS


def _load_compiled():
    if os.environ.get("SEQ2SEQ_EXT_FORCE_REFERENCE") == "1":
        return None, "SEQ2SEQ_EXT_FORCE_REFERENCE=1"
    try:
        from .. import _C
    except ImportError as error:
        reason = f"{type(error).__name__}: {error}"
        package = os.path.dirname(os.path.dirname(__file__))
        if os.path.exists(os.path.join(package, os.pardir, "setup.py")):
            reason += (
                f"; this is the source checkout at {package}, which has no built library: "
                "build it in place with `pip install --no-build-isolation -e .`, or run "
                "from outside the checkout"
            )
        return None, reason
    return _C, None


_C, LOAD_ERROR = _load_compiled()
if _C is None and os.environ.get("SEQ2SEQ_EXT_REQUIRE_COMPILED") == "1":
    raise ImportError(
        f"seq2seq_ext: SEQ2SEQ_EXT_REQUIRE_COMPILED=1, but the compiled kernels are unavailable "
        f"({LOAD_ERROR})"
    )
if _C is None:
    warnings.warn(
        f"seq2seq_ext: compiled kernels unavailable ({LOAD_ERROR}); "
        "running the pure-PyTorch reference implementation",
        RuntimeWarning,
        stacklevel=2,
    )
else:
    from . import attention, cells, decoding, layers, loss, stepwise_pass  # noqa: F401  (each registers its ops on import)


def _has_kernel(op: str, device_type: str) -> bool:
    if _C is None:
        return False
    key = torch._C._dispatch_key_for_device(device_type).upper()
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"seq2seq_ext::{op}", key)


# (op, device type) -> whether a compiled kernel serves it. A plain dict, so
# that torch.compile traces the lookup in functional.py without a graph break.
KERNELS = {(op, device): _has_kernel(op, device) for op in COMPILED_OPS for device in DEVICE_TYPES}


def backend_info() -> dict:
    """Which implementation serves each op on each device type, and why."""
    return {
        "compiled": _C is not None,
        "load_error": LOAD_ERROR,
        "cpu_kernels": all(KERNELS[(op, "cpu")] for op in COMPILED_OPS),
        "cuda_kernels": all(KERNELS[(op, "cuda")] for op in COMPILED_OPS if op not in CPU_ONLY_OPS),
        "cuda_available": torch.cuda.is_available(),
        "ops": {
            op: {
                device: "kernel" if KERNELS[(op, device)] else "reference"
                for device in DEVICE_TYPES
            }
            for op in COMPILED_OPS
        },
    }


def backend_summary(device) -> dict:
    """What serves the ops on `device` (a torch.device or its name), for the
    record of a run: whether compiled kernels serve them all, and the ops that
    run the pure-PyTorch reference instead (none when they do)."""
    device_type = torch.device(device).type
    reference_ops = [op for op in OPS if not KERNELS.get((op, device_type), False)]
    return {
        "device_type": device_type,
        "compiled_kernels": not reference_ops,
        "reference_ops": reference_ops,
    }
