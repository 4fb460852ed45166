"""The recurrent cells this package runs, in one table: how they are spelled,
how many gate blocks their weights have, and what torch.nn calls them.

``name`` is the spelling everywhere in this package (configs, the op names
``lstm_cell`` / ``lstm_layer``, FLOP counts); ``torch_mode`` is torch.nn's
``RNNBase.mode``, which the layer modules keep as their ``mode`` attribute.
"""

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class CellType:
    name: str
    gates: int  # G: weight_ih is (G*H, I), weight_hh (G*H, H)
    states: int  # state tensors: 2 for the LSTM's (h, c), else 1 (h)
    torch_mode: str  # torch.nn.RNNBase.mode
    nonlinearity: Optional[str]  # the Elman RNN's, as torch.nn.RNN takes it


LSTM = CellType("lstm", gates=4, states=2, torch_mode="LSTM", nonlinearity=None)
GRU = CellType("gru", gates=3, states=1, torch_mode="GRU", nonlinearity=None)
RNN_TANH = CellType("rnn_tanh", gates=1, states=1, torch_mode="RNN_TANH", nonlinearity="tanh")
RNN_RELU = CellType("rnn_relu", gates=1, states=1, torch_mode="RNN_RELU", nonlinearity="relu")

CELL_TYPES = {cell.name: cell for cell in (LSTM, GRU, RNN_TANH, RNN_RELU)}
