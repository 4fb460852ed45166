"""Whether a model's decoder loop runs as one C++ op (the decoding ops, the
step-by-step training pass) or in Python, step by step through the modules.
Both compute the same; the op serves only where it computes exactly what
the modules would."""

import torch

from .._ops import KERNELS, TRAINING_OPS


def loop_op_serves(model, op: str, device) -> bool:
    """Whether the C++ op `op` can run `model`'s decoder loop on `device`: the
    fused backend with compiled kernels there, no dropout active unless the op
    takes dropout masks (the training pass does; the decoding ops' steps have
    no dropout), and no autocast region (the op takes the weights as they are,
    the modules would run in the autocast dtype)."""
    device_type = torch.device(device).type
    dropout_active = model.training and model.config.dropout > 0
    return (
        model.config.backend == "fused"
        and KERNELS.get((op, device_type), False)
        and (op in TRAINING_OPS or not dropout_active)
        and not torch.is_autocast_enabled(device_type)
    )


LOOPS = ("auto", "cpp", "python")


def check_loop(loop: str) -> None:
    if loop not in LOOPS:
        raise ValueError(f"loop must be one of {', '.join(map(repr, LOOPS))}, got {loop!r}")


def use_loop_op(model, op: str, device, loop: str) -> bool:
    """Whether to run the C++ op `op`: loop "auto" wherever it serves, "cpp"
    always (an error where it cannot serve), "python" never."""
    check_loop(loop)
    serves = loop_op_serves(model, op, device)
    if loop == "cpp" and not serves:
        raise ValueError(
            f"loop='cpp', but the C++ loop ({op}) needs backend='fused', compiled kernels on "
            f"{torch.device(device).type}, no autocast and (decoding) no dropout in training mode"
        )
    return serves if loop == "auto" else loop == "cpp"
