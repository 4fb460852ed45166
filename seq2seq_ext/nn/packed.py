"""The packed layout of torch.nn.utils.rnn.PackedSequence, as the layer ops take
it (rows of step s at [offset_s, offset_s + batch_sizes[s]), the sequences
sorted longest first):

- reversing every sequence within its own length, for the reverse direction of
  a bidirectional layer;
- packing a padded batch of sequences of given lengths with static shapes: what
  pack_padded_sequence does, but with a number of rows and sequences that
  depends on the batch's shape alone, never on the lengths' values, so that
  torch.export can trace it (``StaticPacking``).

Everything here reads shapes, not values, of batch_sizes and lengths.
"""

import torch
from torch import Tensor


def reversed_order(batch_sizes: Tensor, batch: int, rows: int) -> Tensor:
    """The row permutation of a packed batch of `batch` sequences and `rows`
    rows that reverses every sequence within its own length (row of step t of
    a sequence of length L <-> row of step L - 1 - t). It is its own inverse."""
    step = torch.arange(batch_sizes.shape[0]).unsqueeze(0)  # (1, T)
    sequence = torch.arange(batch).unsqueeze(1)  # (B, 1)
    lengths = (batch_sizes.unsqueeze(0) > sequence).sum(1, keepdim=True)
    offsets = torch.cumsum(batch_sizes, 0) - batch_sizes  # first row of each step
    present = step < lengths
    source_step = (lengths - 1 - step).clamp(min=0)
    # Absent (step, sequence) pairs write to a spare slot past the end.
    target = torch.where(present, offsets[step] + sequence, rows)
    source = torch.where(present, offsets[source_step] + sequence, 0)
    order = torch.zeros(rows + 1, dtype=torch.long)
    return order.scatter_(0, target.flatten(), source.flatten())[:rows]


def reverser(batch_sizes, batch, rows, device, padded=None):
    """A function that reverses every sequence of packed data of `batch`
    sequences and `rows` rows. A padded batch, `padded` = (steps, batch),
    reverses as a whole along time; a packed one, sequence by sequence."""
    if padded is not None:
        steps, batch = padded
        return lambda x: x.view(steps, batch, x.shape[-1]).flip(0).reshape(x.shape)
    order = reversed_order(batch_sizes, batch, rows).to(device)
    return lambda x: x.index_select(0, order)


class StaticPacking:
    """A padded time-major batch (T, B, ·) of sequences of `lengths` (B,) in the
    packed layout, with shapes fixed by T and B alone: the B sequences, sorted
    longest first, and after them one single-step sequence for every padding
    position (T*B - sum(lengths) of them; enough empty ones to make T*B in all).
    So the layer ops run on T*B rows of B + T*B sequences whatever the lengths,
    and the padding positions give rows that ``unpack`` drops."""

    def __init__(self, lengths: Tensor, steps: int, batch: int) -> None:
        lengths = lengths.cpu()
        self.steps, self.batch = steps, batch
        self.order = torch.argsort(lengths, descending=True, stable=True)
        step = torch.arange(steps).unsqueeze(1)  # (T, 1)
        self.valid = step < lengths[self.order].unsqueeze(0)  # (T, B), sorted sequences
        padding = steps * batch - self.valid.sum()
        self.batch_sizes = self.valid.sum(1)
        self.batch_sizes[0] += padding  # the single-step sequences run at step 0 only
        # The packed position of each (step, sequence) of the sorted grid: step
        # major; at step 0 the real sequences, then the padding positions.
        sequences = batch + steps * batch
        grid = step * sequences + torch.arange(batch).unsqueeze(0)
        padding_key = batch + torch.arange(steps * batch).view(steps, batch)
        self.rows = torch.argsort(torch.where(self.valid, grid, padding_key).flatten())

    @property
    def sequences(self) -> int:
        return self.batch + self.steps * self.batch

    def pack(self, padded: Tensor) -> Tensor:
        """(T, B, I) -> (T*B, I) packed rows."""
        sorted_batch = padded.index_select(1, self.order.to(padded.device))
        return sorted_batch.reshape(self.steps * self.batch, -1)[self.rows.to(padded.device)]

    def unpack(self, packed: Tensor) -> Tensor:
        """(T*B, D) packed rows -> (T, B, D) padded, zeros past each length."""
        device = packed.device
        grid = torch.zeros_like(packed).index_copy(0, self.rows.to(device), packed)
        grid = grid.view(self.steps, self.batch, -1) * self.valid.unsqueeze(2).to(
            device, grid.dtype
        )
        return grid.index_select(1, self.inverse_order().to(device))

    def final_states(self, states: Tensor) -> Tensor:
        """(L, B + T*B, H) final states -> (L, B, H), in the batch's order."""
        return states[:, : self.batch].index_select(1, self.inverse_order().to(states.device))

    def inverse_order(self) -> Tensor:
        return torch.argsort(self.order)
