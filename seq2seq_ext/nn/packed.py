"""The packed layout of torch.nn.utils.rnn.PackedSequence, as the layer ops
take it: reversing every sequence within its own length, for the reverse
direction of a bidirectional layer."""

import torch
from torch import Tensor


def reversed_order(batch_sizes: Tensor) -> Tensor:
    """The row permutation of a packed batch that reverses every sequence within
    its own length (row of step t of a sequence of length L <-> row of step
    L - 1 - t). It is its own inverse."""
    steps, batch = len(batch_sizes), int(batch_sizes[0]) if len(batch_sizes) else 0
    step = torch.arange(steps).unsqueeze(0)  # (1, T)
    sequence = torch.arange(batch).unsqueeze(1)  # (B, 1)
    lengths = (batch_sizes.unsqueeze(0) > sequence).sum(1, keepdim=True)
    offsets = torch.cumsum(batch_sizes, 0) - batch_sizes  # first row of each step
    present = step < lengths
    source_step = (lengths - 1 - step).clamp(min=0)
    order = torch.empty(int(batch_sizes.sum()), dtype=torch.long)
    order[(offsets[step.expand(batch, -1)] + sequence)[present]] = (
        offsets[source_step] + sequence
    )[present]
    return order


def reverser(batch_sizes, device, padded=None):
    """A function that reverses every sequence of packed data. A padded batch,
    `padded` = (steps, batch), reverses as a whole along time, from its shape
    alone (no value of batch_sizes is read, so export and compile need none); a
    packed one, sequence by sequence."""
    if padded is not None:
        steps, batch = padded
        return lambda x: x.view(steps, batch, x.shape[-1]).flip(0).reshape(x.shape)
    order = reversed_order(batch_sizes).to(device)
    return lambda x: x.index_select(0, order)
