"""Cell cases: FusedLSTMCell / FusedGRUCell against torch.nn.LSTMCell / GRUCell
with identical weights, as (a) one cell step and (b) a T-step Python loop over
the cell (how a decoder uses it), forward only (under ``torch.no_grad``) and
forward+backward (the sum of everything the cell returned, ``.backward()``)."""

from functools import partial

import torch
from torch import nn

from seq2seq_ext import FusedGRUCell, FusedLSTMCell
from seq2seq_ext.cell_types import GRU, LSTM

from .calls import timed_call
from .costs import recurrent_costs

SUITE = "cells"
# label: (cell type, fused module, torch.nn module)
CELLS = {"LSTM": (LSTM, FusedLSTMCell, nn.LSTMCell), "GRU": (GRU, FusedGRUCell, nn.GRUCell)}
LOOP_STEPS = 50
BATCH = 64


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    sizes = [256] if quick else [256, 512]  # input size = hidden size
    dtypes = (
        [torch.float32] if torch.device(device).type == "cpu" else [torch.float32, torch.bfloat16]
    )
    for dtype in dtypes:
        for size in sizes:
            for cell in CELLS:
                for case, steps in (("step", 1), ("loop", LOOP_STEPS)):
                    for mode in ("fwd", "fwd+bwd"):
                        params = dict(
                            label=f"{cell} {case}",
                            shape=f"B={BATCH} I={size} H={size} T={steps}",
                            case=case,
                            cell=cell,
                            mode=mode,
                            B=BATCH,
                            I=size,
                            H=size,
                            T=steps,
                            dtype=str(dtype).removeprefix("torch."),
                            **recurrent_costs(
                                CELLS[cell][0], BATCH, steps, size, size, dtype, mode
                            ),
                        )
                        yield (
                            params,
                            partial(
                                _make_impls, cell, BATCH, size, size, steps, mode, dtype, device
                            ),
                        )


def _make_impls(cell, batch, input_size, hidden_size, steps, mode, dtype, device):
    _, fused_class, torch_class = CELLS[cell]
    torch_cell = torch_class(input_size, hidden_size, device=device, dtype=dtype)
    fused_cell = fused_class(input_size, hidden_size, device=device, dtype=dtype)
    fused_cell.load_state_dict(torch_cell.state_dict())
    inputs = torch.randn(
        steps, batch, input_size, device=device, dtype=dtype, requires_grad=mode == "fwd+bwd"
    )
    zeros = torch.zeros(batch, hidden_size, device=device, dtype=dtype)
    initial_state = (zeros, zeros) if cell == "LSTM" else zeros
    return {
        name: timed_call(
            mode,
            partial(_step_through, module, inputs, initial_state),
            [*module.parameters(), inputs],
        )
        for name, module in (("fused", fused_cell), ("torch.nn", torch_cell))
    }


def _step_through(cell, inputs, state):
    """Runs the cell over inputs (T, B, I); returns every tensor it returned."""
    outputs = []
    for x in inputs:
        state = cell(x, state)
        outputs.extend(state if isinstance(state, tuple) else [state])
    return outputs
