"""Drop-in replacements for torch.nn.LSTMCell, GRUCell and RNNCell.

They subclass ``torch.nn.RNNCellBase`` exactly as torch's cells do, so the
constructor, parameters, initialisation, ``state_dict`` keys and repr are
torch's own; only ``forward`` differs: it calls the fused ops in
``seq2seq_ext.functional``.
"""

from typing import Optional

import torch
from torch import Tensor, nn

from .. import functional


def _as_batch(cell_name: str, input: Tensor, hx: tuple):
    """torch's handling of unbatched input: checks the ranks of input and of the
    given states, adds a batch dimension of 1 to 1-D ones. Returns
    (input, hx, is_batched)."""
    if input.dim() not in (1, 2):
        raise ValueError(f"{cell_name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
    for index, state in enumerate(hx):
        if state.dim() not in (1, 2):
            name = f"hx[{index}]" if len(hx) > 1 else "hidden"
            raise ValueError(
                f"{cell_name}: Expected {name} to be 1D or 2D, got {state.dim()}D instead"
            )
    is_batched = input.dim() == 2
    if not is_batched:
        input = input.unsqueeze(0)
        hx = tuple(state.unsqueeze(0) for state in hx)
    return input, hx, is_batched


def _zeros_state(cell: nn.RNNCellBase, input: Tensor) -> Tensor:
    return torch.zeros(input.size(0), cell.hidden_size, dtype=input.dtype, device=input.device)


class FusedLSTMCell(nn.RNNCellBase):
    """torch.nn.LSTMCell on the fused ``lstm_cell`` op. Same arguments, weights
    (``weight_ih (4H, I)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh``) and results."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[tuple[Tensor, Tensor]] = None):
        input, states, is_batched = _as_batch(
            "LSTMCell", input, tuple(hx) if hx is not None else ()
        )
        if hx is None:
            zeros = _zeros_state(self, input)
            states = (zeros, zeros)
        h, c = functional.lstm_cell(
            input, states, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class FusedGRUCell(nn.RNNCellBase):
    """torch.nn.GRUCell on the fused ``gru_cell`` op. Same arguments, weights
    (``weight_ih (3H, I)``, ``weight_hh (3H, H)``, ``bias_ih``, ``bias_hh``) and results."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, states, is_batched = _as_batch("GRUCell", input, (hx,) if hx is not None else ())
        h = states[0] if hx is not None else _zeros_state(self, input)
        h = functional.gru_cell(
            input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return h if is_batched else h.squeeze(0)


class FusedRNNCell(nn.RNNCellBase):
    """torch.nn.RNNCell (``nonlinearity`` ``"tanh"`` or ``"relu"``) on the fused
    ``rnn_tanh_cell`` / ``rnn_relu_cell`` ops. Same arguments, weights and results."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, states, is_batched = _as_batch("RNNCell", input, (hx,) if hx is not None else ())
        h = states[0] if hx is not None else _zeros_state(self, input)
        if self.nonlinearity == "tanh":
            cell = functional.rnn_tanh_cell
        elif self.nonlinearity == "relu":
            cell = functional.rnn_relu_cell
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h if is_batched else h.squeeze(0)
