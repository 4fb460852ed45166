"""Whether a model's decoder loop runs as one C++ op (the decoding ops, the
step-by-step training pass) or in Python, step by step through the modules.
Both compute the same; the op serves only where it computes exactly what
the modules would."""

from typing import Optional

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


def use_loop_op(model, op: str, device, use_ops: Optional[bool]) -> bool:
    """use_ops None: the C++ op wherever it serves; True: it, or an error;
    False: the Python loop."""
    serves = loop_op_serves(model, op, device)
    if use_ops and not serves:
        raise ValueError(
            f"use_ops=True, but the C++ loop ({op}) needs backend='fused', compiled kernels on "
            f"{torch.device(device).type}, no autocast and (decoding) no dropout in training mode"
        )
    return serves if use_ops is None else use_ops
