"""The work a case does, estimated from its shapes, for its fraction of the
device's ceilings (benchmarks/ceilings.py).

FLOPs: those of the matrix products, 2*m*n*k each; the element-wise work is
left out. Bytes: every input, weight and output read or written once, the least
traffic an implementation can have. Forward+backward: three times the forward, for
both, as the backward computes a gradient for every input and weight (two
products for each product of the forward, and about twice its traffic).
"""

import math

import torch

FORWARD_BACKWARD_FACTOR = 3


def matmul_flops(m, n, k):
    """FLOPs of an (m, k) @ (k, n) product: a multiply and an add per term."""
    return 2 * m * n * k


def element_bytes(dtype, *shapes):
    """Bytes of tensors of these shapes in this dtype."""
    return torch.empty((), dtype=dtype).element_size() * sum(math.prod(shape) for shape in shapes)


def case_costs(flops, bytes_, mode):
    """The case fields ``flops`` and ``bytes`` of one call in this mode."""
    factor = FORWARD_BACKWARD_FACTOR if mode == "fwd+bwd" else 1
    return dict(flops=factor * flops, bytes=factor * bytes_)


def recurrent_costs(cell_type, batch, steps, input_size, hidden, dtype, mode, states_written=None):
    """A recurrent cell (a seq2seq_ext.cell_types.CellType) over ``steps``
    steps, writing ``states_written`` state tensors each step (by default all
    its states: the LSTM cell's h and c, or h): the two gate products of each
    step; reading the inputs, the weights, biases and initial state once."""
    gates, states = cell_type.gates, states_written or cell_type.states
    flops = steps * (
        matmul_flops(batch, gates * hidden, input_size)
        + matmul_flops(batch, gates * hidden, hidden)
    )
    bytes_ = element_bytes(
        dtype,
        (steps, batch, input_size),
        (gates * hidden, input_size + hidden),
        (2, gates * hidden),
        (states, batch, hidden),
        (steps, states, batch, hidden),
    )
    return case_costs(flops, bytes_, mode)
